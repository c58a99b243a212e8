"""The cases REST API under /api/v1/: resident intake (idempotent, rate-limited, attachments),
the staff list with filters and pages, the case with its timeline and contact masking,
transitions and their error codes, and following a case by tracking code.

Most tests go through Django's test client (full middleware and URL routing); the
``live_server`` tests speak real HTTP with ``requests``.
"""

from __future__ import annotations

import io
import json
import threading
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.conftest import PASSWORD, City, RateClock, make_case
from urbangov.cases import actions
from urbangov.cases.models import Attachment, Case, CaseEvent, Channel, Rating, Status
from urbangov.org.actions import create_api_token, revoke_api_token
from urbangov.org.models import ApiToken, Category
from urbangov.privacy.models import AuditEvent

pytestmark = pytest.mark.django_db

CASES = "/api/v1/cases"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _fresh_rate_counters() -> None:
    # Rate-limit counters live in the cache, which outlives a test's database.
    cache.clear()


def key_for(city: City, username: str) -> str:
    return create_api_token(actor=None, user=city.user(username), name=f"{username} test")[1]


def staff(city: City, username: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {key_for(city, username)}", HTTP_ACCEPT_LANGUAGE="en")


def anon(**extra: Any) -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en", **extra)


def post_json(client: Client, url: str, data: Any = None, **extra: Any) -> Any:
    return client.post(
        url,
        data=json.dumps(data) if data is not None else "",
        content_type="application/json",
        **extra,
    )


def snapshot() -> tuple[int, int, int, int]:
    """What an error must leave as it was."""
    return (
        Case.objects.count(),
        CaseEvent.objects.count(),
        AuditEvent.objects.count(),
        Attachment.objects.count(),
    )


def dispatched(city: City, unit: str = "water", where: str = "d1") -> Case:
    case = make_case(city, where=where)
    target = {"water": city.water_dept, "d1": city.office_d1, "d2": city.office_d2}[unit]
    actions.dispatch_case(case, actor=city.user("operator"), unit=target)
    case.refresh_from_db()
    return case


def resolved(city: City) -> Case:
    case = dispatched(city)
    actions.accept_case(case, actor=city.user("handler"))
    actions.resolve_case(case, actor=city.user("handler"), resolution="已派人修复水管")
    case.refresh_from_db()
    return case


# --- create ------------------------------------------------------------------------------------


def test_resident_creates_a_case_without_an_account(city: City) -> None:
    lat, lon = city.p_d1
    r = post_json(
        anon(),
        CASES,
        {
            "text": "楼下水管漏水，已经流了一整天",
            "category": "water.leak",
            "lat": lat,
            "lon": lon,
            "contact_name": "张三",
            "contact_phone": "13800138000",
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    case = Case.objects.get(pk=body["id"])
    assert body["tracking_code"] == case.tracking_code
    assert body["status"] == Status.SUBMITTED and body["created"] is True
    assert body["tracking_url"] == f"http://testserver/cases/track/{case.tracking_code}/"
    assert body["api_url"] == f"http://testserver/api/v1/track/{case.tracking_code}"
    assert case.channel == Channel.APP and case.submitted_by is None
    assert case.reported_category == city.water_leak and case.urgency == "utility"
    assert case.area == city.grid_d1
    assert case.contact_phone == "13800138000" and not case.anonymous
    # Both links lead to the case: the resident's page and its JSON twin.
    assert case.tracking_code in anon().get(body["tracking_url"]).content.decode()
    assert anon().get(body["api_url"]).json()["tracking_code"] == case.tracking_code


def test_idempotency_key_header_replay_returns_the_same_case(city: City) -> None:
    client = anon()
    first = post_json(client, CASES, {"text": "路灯不亮"}, HTTP_IDEMPOTENCY_KEY="k-1")
    before = snapshot()
    again = post_json(client, CASES, {"text": "路灯不亮"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["created"] is False
    assert snapshot() == before
    assert Case.objects.filter(idempotency_key="k-1").count() == 1


def test_idempotency_key_in_the_body_works_the_same(city: City) -> None:
    client = anon()
    first = post_json(client, CASES, {"text": "路灯不亮", "idempotency_key": "b-1"})
    again = post_json(client, CASES, {"text": "路灯不亮", "idempotency_key": "b-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    # The header and the body naming different keys is a mistake, not a choice.
    before = snapshot()
    r = post_json(
        client, CASES, {"text": "x", "idempotency_key": "b-2"}, HTTP_IDEMPOTENCY_KEY="b-3"
    )
    assert r.status_code == 400 and "idempotency_key" in r.json()["errors"]
    assert snapshot() == before


def test_staff_channels_need_a_staff_token(city: City) -> None:
    nobody = staff(city, "nobody")
    before = snapshot()
    r = post_json(anon(), CASES, {"text": "电话反映噪音", "channel": "phone"})
    assert r.status_code == 401 and "staff" in r.json()["detail"]
    r = post_json(nobody, CASES, {"text": "电话反映噪音", "channel": "counter"})
    assert r.status_code == 403 and "operators, handlers and supervisors" in r.json()["detail"]
    assert snapshot() == before
    r = post_json(staff(city, "operator"), CASES, {"text": "电话反映噪音", "channel": "phone"})
    assert r.status_code == 201
    case = Case.objects.get(pk=r.json()["id"])
    assert case.channel == Channel.PHONE and case.submitted_by == city.user("operator")
    r = post_json(anon(), CASES, {"text": "x", "channel": "other"})
    assert r.status_code == 400 and "channel" in r.json()["errors"]


def test_a_wrong_token_is_refused_not_ignored(city: City) -> None:
    before = snapshot()
    r = post_json(anon(HTTP_AUTHORIZATION="Bearer ugt_not-a-token"), CASES, {"text": "路灯不亮"})
    assert r.status_code == 401 and "not valid" in r.json()["detail"]
    r = post_json(anon(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz"), CASES, {"text": "路灯不亮"})
    assert r.status_code == 401 and "Bearer" in r.json()["detail"]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"text": "x", "category": "no-such"}, "category", "no-such"),
        ({"text": ""}, "text", "describe"),
        ({"text": "漏" * 5001}, "text", "5001"),
        ({"text": "x", "lat": 40.7, "lon": -74.0}, "location", "outside the city"),
        ({"text": "x", "lat": 31.2}, "location", "both"),
        ({"text": "x", "contact_phone": "call me"}, "contact_phone", "digits"),
    ],
)
def test_unacceptable_values_are_400_naming_the_field(
    city: City, body: dict[str, Any], field: str, words: str
) -> None:
    before = snapshot()
    r = post_json(anon(), CASES, body)
    assert r.status_code == 400, r.content
    assert words in " ".join(r.json()["errors"][field])
    assert words in r.json()["detail"]
    assert snapshot() == before


def test_schema_errors_are_422_naming_every_field(city: City) -> None:
    r = post_json(anon(), CASES, {"title": "no text", "lat": "north", "latitude": 31.2})
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert set(errors) == {"text", "lat", "latitude"}
    assert "text" in r.json()["detail"] and "latitude" in r.json()["detail"]
    assert Case.objects.count() == 0


def test_malformed_json_is_400_saying_where(city: City) -> None:
    r = anon().post(CASES, data='{"text": "路灯", }', content_type="application/json")
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert "not valid JSON" in detail and "line 1, column" in detail
    r = anon().post(CASES, data=b"\xff\xfe{", content_type="application/json")
    assert r.status_code == 400 and "not valid" in r.json()["detail"]
    r = anon().post(CASES, data="[1, 2]", content_type="application/json")
    assert r.status_code == 400 and "JSON object" in r.json()["detail"]
    r = anon().post(CASES, data="<case/>", content_type="application/xml")
    assert r.status_code == 415 and "application/json" in r.json()["detail"]
    assert Case.objects.count() == 0


def test_broken_multipart_is_400_saying_so(city: City) -> None:
    r = anon().post(CASES, data=b"--x\r\nnonsense", content_type="multipart/form-data")
    assert r.status_code == 400 and "multipart" in r.json()["detail"]
    assert Case.objects.count() == 0


def test_oversized_bodies_are_413(city: City, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    r = post_json(anon(), CASES, {"text": "漏" * 3000})
    assert r.status_code == 413 and "too large" in r.json()["detail"]
    # A declared length beyond every photo a case may carry is refused before it is read.
    r = anon().post(CASES, data="{}", content_type="application/json", CONTENT_LENGTH=str(10**9))
    assert r.status_code == 413
    assert Case.objects.count() == 0


def test_multipart_submission_with_a_photo(city: City) -> None:
    photo = io.BytesIO(PNG)
    photo.name = "leak.jpg"  # the name lies; the bytes decide
    lat, lon = city.p_d1
    r = anon().post(
        CASES,
        {
            "text": "井盖破损",
            "category": "water",
            "lat": str(lat),
            "lon": str(lon),
            "attributes": '{"floor": 3}',
            "attachments": photo,
        },
    )
    assert r.status_code == 201, r.content
    case = Case.objects.get(pk=r.json()["id"])
    assert case.attributes == {"floor": 3} and case.area == city.grid_d1
    attachment = case.attachments.get()
    assert attachment.content_type == "image/png" and attachment.size == len(PNG)


def test_multipart_refuses_files_that_are_not_photos_or_too_large(
    city: City, settings: Any
) -> None:
    before = snapshot()
    script = io.BytesIO(b"#!/bin/sh\nrm -rf /\n")
    script.name = "photo.jpg"
    r = anon().post(CASES, {"text": "井盖破损", "attachments": script})
    assert r.status_code == 400 and "photo.jpg" in r.json()["errors"]["attachments"][0]
    settings.URBANGOV = {**settings.URBANGOV, "ATTACHMENT_MAX_BYTES": 1024 * 1024}
    big = io.BytesIO(PNG + b"\x00" * (1024 * 1024))
    big.name = "big.png"
    r = anon().post(CASES, {"text": "井盖破损", "attachments": big})
    assert r.status_code == 400 and "larger than 1 MB" in r.json()["errors"]["attachments"][0]
    r = anon().post(CASES, {"text": "井盖破损", "attributes": "{not json"})
    assert r.status_code == 400 and "attributes" in r.json()["errors"]
    assert snapshot() == before


def test_residents_are_rate_limited_per_address_staff_are_not(
    city: City, settings: Any, rate_clock: RateClock
) -> None:
    settings.URBANGOV = {**settings.URBANGOV, "PUBLIC_SUBMIT_RATE": "2/d"}
    here = anon(REMOTE_ADDR="203.0.113.7")
    codes = [post_json(here, CASES, {"text": f"路灯不亮 {i}"}).status_code for i in range(3)]
    assert codes == [201, 201, 429]
    refused = post_json(here, CASES, {"text": "路灯不亮"})
    assert refused.status_code == 429
    assert "try again" in refused.json()["detail"]
    assert 0 < int(refused["Retry-After"]) <= 86400
    assert Case.objects.count() == 2
    assert post_json(anon(REMOTE_ADDR="203.0.113.8"), CASES, {"text": "x"}).status_code == 201
    operator = staff(city, "operator")
    codes = [
        post_json(
            operator, CASES, {"text": "电话", "channel": "phone"}, REMOTE_ADDR="203.0.113.7"
        ).status_code
        for _ in range(3)
    ]
    assert codes == [201, 201, 201]


@pytest.mark.parametrize("role", ["auditor", "analyst", "algorithm_officer"])
def test_staff_roles_that_take_no_cases_in_are_residents_here(
    city: City, settings: Any, rate_clock: RateClock, role: str
) -> None:
    settings.URBANGOV = {**settings.URBANGOV, "PUBLIC_SUBMIT_RATE": "2/d"}
    client = staff(city, role)
    before = snapshot()
    for i, channel in enumerate(("phone", "counter", "assisted")):
        r = post_json(
            client, CASES, {"text": "电话反映噪音", "channel": channel}, REMOTE_ADDR=f"10.0.0.{i}"
        )
        assert r.status_code == 403, (channel, r.content)
        assert "operators, handlers and supervisors" in r.json()["detail"]
    assert snapshot() == before
    # As residents: web or app, within the public limit per address.
    codes = [
        post_json(client, CASES, {"text": f"路灯不亮 {i}"}, REMOTE_ADDR="203.0.113.9").status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 429]
    case = Case.objects.order_by("id").first()
    assert case is not None and case.channel == Channel.APP


@pytest.mark.parametrize("role", ["operator", "handler", "supervisor", "admin"])
def test_roles_that_take_cases_in_use_staff_channels_without_the_limit(
    city: City, settings: Any, rate_clock: RateClock, role: str
) -> None:
    settings.URBANGOV = {**settings.URBANGOV, "PUBLIC_SUBMIT_RATE": "1/d"}
    client = staff(city, role)
    codes = [
        post_json(
            client, CASES, {"text": "电话", "channel": channel}, REMOTE_ADDR="203.0.113.10"
        ).status_code
        for channel in ("phone", "counter", "assisted")
    ]
    assert codes == [201, 201, 201]
    assert set(Case.objects.values_list("submitted_by", flat=True)) == {city.user(role).pk}


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", ""],
    ids=["text-plain", "text-plain-charset", "urlencoded", "none"],
)
def test_bodies_a_cross_site_page_could_send_are_415(city: City, content_type: str) -> None:
    # What another site's page can make its visitors' browsers POST without a CORS preflight
    # (a form, or fetch with a string or Blob body): never read as a case.
    before = snapshot()
    body = json.dumps({"text": "路灯不亮", "address": "幸福路 1 号"})
    r = anon().generic("POST", CASES, body, content_type=content_type)
    assert r.status_code == 415, r.content
    assert "application/json" in r.json()["detail"]
    case = resolved(city)
    mid = snapshot()
    track = f"/api/v1/track/{case.tracking_code}/rating"
    r = anon().generic(
        "POST", track, json.dumps({"rating": "satisfied"}), content_type=content_type
    )
    assert r.status_code == 415, r.content
    assert "application/json" in r.json()["detail"]
    case.refresh_from_db()
    assert case.status == Status.RESOLVED and not case.feedback.exists()
    assert snapshot() == mid and before[0] == 0


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/vnd.x+json"],
)
def test_json_is_read_under_its_own_types(city: City, content_type: str) -> None:
    body = json.dumps({"text": "路灯不亮", "address": "幸福路 1 号"})
    r = anon().generic("POST", CASES, body, content_type=content_type)
    assert r.status_code == 201, r.content


def test_more_files_than_a_case_may_carry_are_refused_unread(city: City, settings: Any) -> None:
    most = settings.URBANGOV["ATTACHMENTS_PER_CASE"]
    before = snapshot()
    files = []
    for i in range(most + 1):
        # Not one of them is a photo: counted first, so the count is what is refused.
        junk = io.BytesIO(b"#!/bin/sh\n" * 10)
        junk.name = f"photo{i}.jpg"
        files.append(junk)
    r = anon().post(CASES, {"text": "井盖破损", "address": "幸福路 1 号", "attachments": files})
    assert r.status_code == 400
    assert r.json()["errors"]["attachments"] == [f"At most {most} files may be attached."]
    assert snapshot() == before


# --- staff: list ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [CASES, f"{CASES}/1", f"{CASES}/1/transitions/accept"])
def test_staff_endpoints_refuse_anonymous_callers_with_401(city: City, url: str) -> None:
    make_case(city)
    client = anon()
    r = client.get(url) if "transitions" not in url else post_json(client, url, {})
    assert r.status_code == 401
    assert "Bearer" in r.json()["detail"] and r["WWW-Authenticate"].startswith("Bearer")


def test_accounts_without_a_staff_role_get_403(city: City) -> None:
    case = make_case(city)
    nobody = staff(city, "nobody")
    for r in (nobody.get(CASES), nobody.get(f"{CASES}/{case.pk}")):
        assert r.status_code == 403 and "staff role" in r.json()["detail"]


def test_revoked_token_is_401(city: City) -> None:
    token, key = create_api_token(actor=None, user=city.user("operator"), name="old")
    client = anon(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get(CASES).status_code == 200
    revoke_api_token(actor=None, token=token)
    r = client.get(CASES)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_list_is_scoped_to_the_callers_units_and_areas(city: City) -> None:
    water = dispatched(city, "water")
    d2 = dispatched(city, "d2", where="d2")
    waiting = make_case(city, where="d2")

    def ids(username: str) -> set[int]:
        return {c["id"] for c in staff(city, username).get(CASES).json()["items"]}

    assert ids("operator") == {water.pk, d2.pk, waiting.pk}
    assert ids("handler") == {water.pk}
    assert ids("outsider") == {d2.pk}
    assert ids("handler_d1") == set()


def test_pagination_counts_all_and_pages_are_disjoint_and_stable(city: City) -> None:
    cases = [make_case(city, title=f"第{i}件") for i in range(7)]
    # Three share one creation time: the id breaks the tie, newest first.
    same = timezone.now() - timedelta(hours=1)
    Case.objects.filter(pk__in=[c.pk for c in cases[2:5]]).update(created_at=same)
    client = staff(city, "operator")
    pages = [client.get(CASES, {"limit": 3, "offset": o}).json() for o in (0, 3, 6)]
    assert [p["count"] for p in pages] == [7, 7, 7]
    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    order = [item["id"] for p in pages for item in p["items"]]
    expected = [
        c.pk
        for c in sorted(
            cases,
            key=lambda c: (same if c.pk in {x.pk for x in cases[2:5]} else c.created_at, c.pk),
            reverse=True,
        )
    ]
    assert order == expected
    assert pages[0]["limit"] == 3 and pages[2]["offset"] == 6
    again = [client.get(CASES, {"limit": 3, "offset": o}).json() for o in (0, 3, 6)]
    assert [item["id"] for p in again for item in p["items"]] == order


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"created_from": "2024-02-30"}, "created_from"),
        ({"overdue": "maybe"}, "overdue"),
    ],
)
def test_bad_query_values_are_422_naming_the_parameter(
    city: City, query: dict[str, Any], field: str
) -> None:
    r = staff(city, "operator").get(CASES, query)
    assert r.status_code == 422 and field in r.json()["errors"]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"status": "lost"}, "lost"),
        ({"category": "nope"}, "nope"),
        ({"area": "ZZ"}, "ZZ"),
        ({"unit": "NOPE"}, "NOPE"),
    ],
)
def test_unknown_filter_codes_are_400_not_an_empty_list(
    city: City, query: dict[str, str], words: str
) -> None:
    make_case(city)
    r = staff(city, "operator").get(CASES, query)
    assert r.status_code == 400 and words in r.json()["detail"]


def test_each_filter(city: City) -> None:
    leak = dispatched(city, "water")
    noise_d2 = make_case(city, where="d2", category=city.noise, title="广场舞噪音")
    actions.dispatch_case(
        noise_d2, actor=city.user("operator"), unit=city.office_d2, category=city.noise
    )
    waiting = make_case(city, title="路灯不亮", category=None)
    old = make_case(city, title="去年的事")
    Case.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))
    Case.objects.filter(pk=leak.pk).update(resolve_due=timezone.now() - timedelta(hours=1))
    client = staff(city, "operator")

    def ids(**query: Any) -> set[int]:
        r = client.get(CASES, query)
        assert r.status_code == 200, r.content
        assert r.json()["count"] == len(r.json()["items"])
        return {c["id"] for c in r.json()["items"]}

    assert ids(status="dispatched") == {leak.pk, noise_d2.pk}
    assert ids(status="awaiting_dispatch") == {waiting.pk, old.pk}
    # Before dispatch sets the category, the one the resident chose stands for it.
    assert ids(category="water.leak") == {leak.pk, old.pk}
    assert ids(category="water") == {leak.pk, old.pk}  # a parent takes its children
    assert ids(category="noise") == {noise_d2.pk}
    assert ids(area="D2") == {noise_d2.pk}
    assert ids(area="D1S1C1G1") == {leak.pk, waiting.pk, old.pk}
    assert ids(unit="D2S1") == {noise_d2.pk}
    assert ids(unit="WATER") == {leak.pk}
    assert ids(overdue="true") == {leak.pk}
    assert [c["overdue"] for c in client.get(CASES, {"overdue": 1}).json()["items"]] == [True]
    cutoff = (timezone.now() - timedelta(days=30)).isoformat()
    assert ids(created_to=cutoff) == {old.pk}
    assert ids(created_from=cutoff) == {leak.pk, noise_d2.pk, waiting.pk}
    # A date without a time is midnight, local time; created_to is exclusive.
    day = timezone.localtime(timezone.now() - timedelta(days=400)).date()
    assert ids(created_from=day.isoformat(), created_to=(day + timedelta(days=1)).isoformat()) == {
        old.pk
    }
    assert ids(q="广场舞") == {noise_d2.pk}
    assert ids(q=waiting.tracking_code.lower()) == {waiting.pk}
    assert ids(status="dispatched", area="D1") == {leak.pk}


# --- staff: one case ----------------------------------------------------------------------------


def test_case_detail_has_timeline_and_the_callers_transitions(city: City) -> None:
    case = make_case(city)
    r = staff(city, "operator").get(f"{CASES}/{case.pk}")
    assert r.status_code == 200
    body = r.json()
    assert body["tracking_code"] == case.tracking_code and body["text"] == case.text
    assert [e["kind"] for e in body["timeline"]] == ["submit", "triage"]
    assert [t["name"] for t in body["transitions"]] == ["dispatch", "merge", "reject"]
    assert body["transitions"][0]["fields"] == {
        "unit": True,
        "category": False,
        "urgency": False,
        "note": False,
    }
    # The handler cannot see it before dispatch; once theirs, they may accept or send back.
    assert staff(city, "handler").get(f"{CASES}/{case.pk}").status_code == 404
    actions.dispatch_case(case, actor=city.user("operator"), unit=city.water_dept)
    body = staff(city, "handler").get(f"{CASES}/{case.pk}").json()
    assert [t["name"] for t in body["transitions"]] == ["accept", "send_back"]
    assert body["unit"] == {"code": "WATER", "name": "市水务局"}
    assert body["timeline"][-1]["actor"] == "operator"
    # The analyst reads but acts on nothing.
    assert staff(city, "analyst").get(f"{CASES}/{case.pk}").json()["transitions"] == []


def test_contact_is_raw_for_handler_and_operator_masked_for_others(city: City) -> None:
    case = dispatched(city, "water")
    seen = {}
    for username in ("operator", "handler", "supervisor", "analyst", "admin"):
        # Raw data needs a role that may and a stated purpose (urbangov.privacy.purpose).
        r = staff(city, username).get(f"{CASES}/{case.pk}", {"purpose": "handling"})
        assert r.status_code == 200, username
        seen[username] = r.json()["contact"]
    raw = {"name": "张三", "phone": "13800138000", "masked": False}
    masked = {"name": "张*", "phone": "138****8000", "masked": True}
    assert seen == {
        "operator": raw,
        "handler": raw,
        "admin": raw,
        "supervisor": masked,
        "analyst": masked,
    }
    # Every raw read of personal data is in the audit log, masked ones are not.
    readers = set(
        AuditEvent.objects.filter(action="case.contact.read", object_id=str(case.pk)).values_list(
            "actor_label", flat=True
        )
    )
    assert readers == {"operator", "handler", "admin"}


def test_anonymous_case_has_no_contact(city: City) -> None:
    case = make_case(city, contact_name="", contact_phone="")
    assert staff(city, "operator").get(f"{CASES}/{case.pk}").json()["contact"] is None


def test_outsider_and_missing_case_get_the_same_404(city: City) -> None:
    case = dispatched(city, "water")
    outsider = staff(city, "outsider")
    hidden = outsider.get(f"{CASES}/{case.pk}")
    missing = outsider.get(f"{CASES}/{case.pk + 1000}")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


# --- staff: transitions -------------------------------------------------------------------------


def url(case: Case, name: str) -> str:
    return f"{CASES}/{case.pk}/transitions/{name}"


def test_transitions_through_the_api_from_dispatch_to_resolution(city: City) -> None:
    case = make_case(city)
    operator, handler = staff(city, "operator"), staff(city, "handler")
    r = post_json(operator, url(case, "dispatch"), {"unit": "WATER", "note": "请尽快"})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "dispatched" and r.json()["unit"]["code"] == "WATER"
    assert r.json()["resolve_due"] is not None
    r = post_json(handler, url(case, "accept"))
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    r = post_json(
        handler, url(case, "request_extension"), {"hours": "48", "reason": "需更换主管道"}
    )
    assert r.status_code == 200 and r.json()["pending_extension_hours"] == 48
    assert "grant_extension" in [
        t["name"] for t in staff(city, "supervisor").get(f"{CASES}/{case.pk}").json()["transitions"]
    ]
    r = post_json(handler, url(case, "resolve"), {"resolution": "已更换水管"})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    case.refresh_from_db()
    assert case.status == Status.RESOLVED and case.resolution == "已更换水管"
    assert list(case.events.values_list("kind", flat=True)) == [
        "submit",
        "triage",
        "dispatch",
        "accept",
        "request_extension",
        "resolve",
    ]
    assert case.events.get(kind="dispatch").actor == city.user("operator")


def test_handing_a_case_away_still_answers_with_its_new_state(city: City) -> None:
    case = dispatched(city, "d1")
    handler = staff(city, "handler_d1")
    read = handler.get(f"{CASES}/{case.pk}", {"purpose": "handling"})
    assert read.json()["contact"]["masked"] is False
    r = post_json(handler, url(case, "send_back"), {"reason": "应由水务局处理"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "awaiting_dispatch" and body["unit"] is None
    # No longer theirs: nothing left to do, and the contact is masked again.
    assert body["transitions"] == [] and body["contact"]["masked"] is True
    assert handler.get(f"{CASES}/{case.pk}").status_code == 404


def test_transition_on_an_unseen_case_is_404_and_changes_nothing(city: City) -> None:
    case = dispatched(city, "water")
    outsider = staff(city, "outsider")
    before = snapshot()
    r = post_json(outsider, url(case, "accept"))
    assert r.status_code == 404
    r = post_json(outsider, f"{CASES}/{case.pk + 1000}/transitions/accept")
    assert r.status_code == 404
    assert snapshot() == before
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED


def test_transition_the_caller_may_not_take_is_403(city: City) -> None:
    case = dispatched(city, "water")
    handler, analyst = staff(city, "handler"), staff(city, "analyst")
    before = snapshot()
    # The handler sees the case but merging is the operators' work.
    r = post_json(handler, url(case, "merge"), {"into": "AAAAA-AAAAA"})
    assert r.status_code == 403 and "merge" in r.json()["detail"]
    r = post_json(analyst, url(case, "accept"))
    assert r.status_code == 403
    assert snapshot() == before


def test_transition_the_status_does_not_allow_is_409(city: City) -> None:
    case = dispatched(city, "water")
    operator, handler = staff(city, "operator"), staff(city, "handler")
    before = snapshot()
    r = post_json(operator, url(case, "dispatch"), {"unit": "D1S1"})
    assert r.status_code == 409
    assert case.tracking_code in r.json()["detail"] and "dispatched" in r.json()["detail"]
    r = post_json(handler, url(case, "resolve"), {"resolution": "done"})
    assert r.status_code == 409
    assert snapshot() == before
    case.refresh_from_db()
    assert case.unit == city.water_dept and case.status == Status.DISPATCHED


@pytest.mark.parametrize(
    ("name", "body", "status", "field"),
    [
        ("dispatch", {}, 400, "unit"),
        ("dispatch", {"unit": "NOPE"}, 400, "unit"),
        ("dispatch", {"unit": "WATER", "category": "nope"}, 400, "category"),
        ("dispatch", {"unit": "WATER", "resolution": "x"}, 400, "resolution"),
        ("reject", {"reason": "   "}, 400, None),
        ("merge", {"into": "ZZZZZ-ZZZZZ"}, 400, "into"),
        ("dispatch", {"unit": "WATER", "colour": "red"}, 422, "colour"),
        ("dispatch", {"unit": ["WATER"]}, 422, "unit"),
    ],
)
def test_bad_transition_bodies_name_the_field_and_change_nothing(
    city: City, name: str, body: dict[str, Any], status: int, field: str | None
) -> None:
    case = make_case(city)
    operator = staff(city, "operator")
    before = snapshot()
    r = post_json(operator, url(case, name), body)
    assert r.status_code == status, r.content
    assert r.json()["detail"]
    if field:
        assert field in r.json()["errors"]
    assert snapshot() == before
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH


def test_unknown_transition_is_404_and_malformed_json_400(city: City) -> None:
    case = make_case(city)
    operator = staff(city, "operator")
    r = post_json(operator, url(case, "teleport"))
    assert r.status_code == 404 and "dispatch" in r.json()["detail"]
    before = snapshot()
    r = operator.post(
        url(case, "dispatch"), data='{"unit": WATER}', content_type="application/json"
    )
    assert r.status_code == 400 and "not valid JSON" in r.json()["detail"]
    r = operator.post(url(case, "dispatch"), {"unit": "WATER"})  # a form, not JSON
    assert r.status_code == 415 and "application/json" in r.json()["detail"]
    assert snapshot() == before


def test_session_auth_needs_csrf_for_writes(city: City) -> None:
    case = make_case(city)
    browser = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    assert browser.login(username="operator", password=PASSWORD)
    assert browser.get(f"{CASES}/{case.pk}").status_code == 200
    r = post_json(browser, url(case, "dispatch"), {"unit": "WATER"})
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH
    browser.get("/accounts/login/")  # sets the csrftoken cookie
    token = browser.cookies["csrftoken"].value
    r = post_json(browser, url(case, "dispatch"), {"unit": "WATER"}, HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 200 and r.json()["status"] == "dispatched"


# --- residents: follow by tracking code ----------------------------------------------------------


def test_tracking_shows_public_fields_only(city: City) -> None:
    # The staff who act get usernames and names no timeline wording could contain by chance
    # ("operator" could: "Routed by a dispatch operator." is the plain account residents get
    # of who routed the case), so that finding one in the answer can only mean a leak.
    staff = {"operator": ("op_wang_7731", "王", "七七"), "handler": ("hd_li_4412", "李", "四四")}
    for role, (username, last, first) in staff.items():
        user = city.user(role)
        user.username, user.last_name, user.first_name = username, last, first  # type: ignore[attr-defined]
        user.save(update_fields=["username", "last_name", "first_name"])
    case = make_case(city)
    actions.dispatch_case(case, actor=city.user("operator"), unit=city.office_d1, note="内部：优先")
    actions.send_back_case(case, actor=city.user("handler_d1"), reason="内部：不归我们管")
    actions.dispatch_case(case, actor=city.user("operator"), unit=city.water_dept)
    actions.accept_case(case, actor=city.user("handler"))
    actions.resolve_case(case, actor=city.user("handler"), resolution="已修复，谢谢反映")
    code = case.tracking_code
    r = anon().get(f"/api/v1/track/{code.lower().replace('-', '')}")
    assert r.status_code == 200
    body = r.json()
    assert body["tracking_code"] == code and body["status"] == "resolved"
    assert body["unit"] == "市水务局" and body["resolution"] == "已修复，谢谢反映"
    assert body["reopen_until"] is not None
    kinds = [e["kind"] for e in body["timeline"]]
    # The send-back is internal: the resident sees the case move on, not why.
    assert kinds == ["submit", "triage", "dispatch", "dispatch", "accept", "resolve"]
    assert [e["who"] for e in body["timeline"]][-2:] == ["市水务局", "市水务局"]
    assert "东区一街道办" in body["timeline"][2]["text"]
    assert body["timeline"][-1]["note"] == "已修复，谢谢反映"
    assert body["category"] == "Water leak"
    text = json.dumps(body, ensure_ascii=False)
    assert "Routed by a dispatch operator." in text  # how, in plain words, without who
    secrets = ["张三", "13800138000", "handler_d1", "内部"]
    for username, last, first in staff.values():
        secrets += [username, f"{last}{first}", f"{first} {last}", f"{last} {first}"]
    for secret in secrets:
        assert secret not in text, secret


def test_a_duplicates_reporter_follows_the_survivor_without_its_code(city: City) -> None:
    duplicate = make_case(city, text="路灯坏了 A", contact_phone="13900000001")
    survivor = make_case(city, text="路灯坏了 B", contact_phone="13900000002")
    actions.merge_case(duplicate, actor=city.user("operator"), into=survivor)
    base = f"/api/v1/track/{duplicate.tracking_code}"
    r = anon().get(base)
    assert r.status_code == 200
    assert r.json()["status"] == "merged"
    assert r.json()["merged_into"] == {
        "status": "awaiting_dispatch",
        "status_label": "awaiting dispatch",
        "unit": None,
        "resolved_at": None,
        "resolution": "",
    }
    assert survivor.tracking_code not in r.content.decode()
    # The survivor is handled and answered: the duplicate's reporter reads along.
    actions.dispatch_case(survivor, actor=city.user("operator"), unit=city.water_dept)
    actions.accept_case(survivor, actor=city.user("handler"))
    actions.resolve_case(survivor, actor=city.user("handler"), resolution="路灯已更换")
    r = anon().get(base)
    followed = r.json()["merged_into"]
    assert (followed["status"], followed["unit"], followed["resolution"]) == (
        "resolved",
        "市水务局",
        "路灯已更换",
    )
    assert followed["resolved_at"] is not None
    assert survivor.tracking_code not in r.content.decode()
    assert survivor.tracking_code.replace("-", "") not in r.content.decode()
    # Only read: the duplicate's code moves neither case.
    r = post_json(anon(), f"{base}/rating", {"rating": "satisfied"})
    assert r.status_code in (400, 409)
    survivor.refresh_from_db()
    assert survivor.status == Status.RESOLVED and not survivor.feedback.exists()


def test_unknown_tracking_code_is_404(city: City) -> None:
    r = anon().get("/api/v1/track/AAAAA-AAAAA")
    assert r.status_code == 404 and "AAAAA-AAAAA" in r.json()["detail"]


def test_resident_rates_and_reopens_by_tracking_code(city: City) -> None:
    case = resolved(city)
    base = f"/api/v1/track/{case.tracking_code}"
    r = post_json(anon(), f"{base}/reopen", {"reason": "还在漏"})
    assert r.status_code == 400 and "dissatisfied" in r.json()["detail"]
    r = post_json(anon(), f"{base}/rating", {"rating": "so-so"})
    assert r.status_code == 400 and "so-so" in r.json()["detail"]
    r = anon().post(f"{base}/rating", data='{"rating": satisfied}', content_type="application/json")
    assert r.status_code == 400 and "not valid JSON" in r.json()["detail"]
    r = post_json(anon(), f"{base}/rating", {"comment": "no rating"})
    assert r.status_code == 422 and "rating" in r.json()["errors"]
    assert not case.feedback.exists()
    r = post_json(anon(), f"{base}/rating", {"rating": "dissatisfied", "comment": "还在漏"})
    assert r.status_code == 200 and r.json()["rating"] == "dissatisfied"
    r = post_json(anon(), f"{base}/rating", {"rating": "satisfied"})
    assert r.status_code == 400 and "already been rated" in r.json()["detail"]
    r = post_json(anon(), f"{base}/reopen", {"reason": "还在漏水"})
    assert r.status_code == 200 and r.json()["status"] == "awaiting_dispatch"
    assert r.json()["rating"] is None  # a new round, not yet rated
    # Rating a case that is not resolved is refused by its state.
    r = post_json(anon(), f"{base}/rating", {"rating": "satisfied"})
    assert r.status_code == 409
    case.refresh_from_db()
    assert case.reopen_count == 1 and case.feedback.get().rating == Rating.DISSATISFIED


def test_satisfied_rating_closes_the_case(city: City) -> None:
    case = resolved(city)
    r = post_json(anon(), f"/api/v1/track/{case.tracking_code}/rating", {"rating": "satisfied"})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert (
        post_json(anon(), "/api/v1/track/AAAAA-AAAAA/rating", {"rating": "satisfied"}).status_code
        == 404
    )


def test_track_writes_are_rate_limited(city: City, settings: Any, rate_clock: RateClock) -> None:
    settings.URBANGOV = {**settings.URBANGOV, "PUBLIC_SUBMIT_RATE": "1/d"}
    case = resolved(city)
    base = f"/api/v1/track/{case.tracking_code}"
    client = anon(REMOTE_ADDR="198.51.100.1")
    assert post_json(client, f"{base}/reopen", {}).status_code == 400
    assert post_json(client, f"{base}/rating", {"rating": "satisfied"}).status_code == 429
    case.refresh_from_db()
    assert case.status == Status.RESOLVED


def test_only_roles_that_take_cases_in_act_for_residents_without_the_limit(
    city: City, settings: Any, rate_clock: RateClock
) -> None:
    settings.URBANGOV = {**settings.URBANGOV, "PUBLIC_SUBMIT_RATE": "1/d"}
    case = resolved(city)
    base = f"/api/v1/track/{case.tracking_code}"
    auditor = staff(city, "auditor")
    here = {"REMOTE_ADDR": "198.51.100.2"}
    assert post_json(auditor, f"{base}/reopen", {}, **here).status_code == 400
    assert post_json(auditor, f"{base}/rating", {"rating": "basic"}, **here).status_code == 429
    assert not case.feedback.exists()
    # An operator's callback survey (回访) from the same address is not held back.
    operator = staff(city, "operator")
    assert post_json(operator, f"{base}/reopen", {}, **here).status_code == 400
    r = post_json(operator, f"{base}/rating", {"rating": "basic"}, **here)
    assert r.status_code == 200 and r.json()["status"] == "closed"


# --- docs ------------------------------------------------------------------------------------------


def test_openapi_schema_and_docs_are_served(city: City) -> None:
    schema = anon().get("/api/v1/openapi.json").json()
    assert {
        "/api/v1/cases",
        "/api/v1/cases/{case_id}",
        "/api/v1/cases/{case_id}/transitions/{name}",
        "/api/v1/track/{code}",
        "/api/v1/categories",
        "/api/v1/areas",
        "/api/v1/units",
    } <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    create = schema["paths"]["/api/v1/cases"]["post"]
    assert {"application/json", "multipart/form-data"} <= set(create["requestBody"]["content"])
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    docs = anon().get("/api/v1/docs")
    assert docs.status_code == 200
    # Swagger UI comes from our own static files: the docs work with no internet.
    assert b"/static/ninja/swagger-ui-bundle.js" in docs.content and b"cdn" not in docs.content


# --- real HTTP ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_over_real_http_create_anonymously_then_read_as_staff(city: City, live_server: Any) -> None:
    base = f"{live_server.url}/api/v1"
    lat, lon = city.p_d1
    body = {
        "text": "小区门口路灯坏了三天",
        "category": "water",
        "lat": lat,
        "lon": lon,
        "contact_name": "李四",
        "contact_phone": "13912345678",
    }
    r = requests.post(
        f"{base}/cases",
        json=body,
        headers={"Idempotency-Key": "live-1", "Accept-Language": "en"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    replay = requests.post(
        f"{base}/cases", json=body, headers={"Idempotency-Key": "live-1"}, timeout=10
    )
    assert replay.status_code == 200 and replay.json()["id"] == created["id"]
    # The same key on a different request gets neither the case nor its tracking code.
    other = requests.post(
        f"{base}/cases",
        json={"text": "另一件事：垃圾没人收"},
        headers={"Idempotency-Key": "live-1", "Accept-Language": "en"},
        timeout=10,
    )
    assert other.status_code == 400 and "idempotency_key" in other.json()["errors"]
    assert created["tracking_code"] not in other.text
    key = key_for(city, "operator")
    r = requests.get(
        f"{base}/cases/{created['id']}",
        params={"purpose": "handling"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert r.status_code == 200
    assert r.json()["contact"] == {"name": "李四", "phone": "13912345678", "masked": False}
    assert r.json()["tracking_code"] == created["tracking_code"]
    listed = requests.get(
        f"{base}/cases",
        params={"q": created["tracking_code"]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    ).json()
    assert [c["id"] for c in listed["items"]] == [created["id"]]
    assert requests.get(f"{base}/cases/{created['id']}", timeout=10).status_code == 401
    outsider = key_for(city, "outsider")
    r = requests.get(
        f"{base}/cases/{created['id']}", headers={"Authorization": f"Bearer {outsider}"}, timeout=10
    )
    assert r.status_code == 404
    bad = requests.post(
        f"{base}/cases", data=b'{"text": ', headers={"Content-Type": "application/json"}, timeout=10
    )
    assert bad.status_code == 400 and "JSON" in bad.json()["detail"]
    assert Case.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_make_one_case(city: City, live_server: Any) -> None:
    if connection.vendor == "sqlite":
        pytest.skip(
            "the live server's threads share one in-memory SQLite connection in tests, so "
            "concurrent requests interleave inside each other's transactions; run on PostgreSQL"
        )
    url_ = f"{live_server.url}/api/v1/cases"
    answers: list[tuple[int, int]] = []
    lock = threading.Lock()

    def send() -> None:
        r = requests.post(
            url_,
            json={"text": "同一次提交，网络重试"},
            headers={"Idempotency-Key": "race-1"},
            timeout=30,
        )
        with lock:
            answers.append((r.status_code, r.json().get("id", -1)))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Case.objects.filter(idempotency_key="race-1").count() == 1
    case_id = Case.objects.get(idempotency_key="race-1").pk
    assert sorted(code for code, _ in answers).count(201) == 1
    assert all(code in (200, 201) and got == case_id for code, got in answers), answers


def test_token_user_model_is_the_auth_user(city: City) -> None:
    # The API acts as the token's user: the timeline and the audit log name them.
    token, key = create_api_token(actor=None, user=city.user("operator"), name="x")
    assert (
        isinstance(token.user, User)
        and ApiToken.objects.filter(pk=token.pk, revoked=False).exists()
    )
    case = make_case(city)
    post_json(
        anon(HTTP_AUTHORIZATION=f"Bearer {key}"), url(case, "reject"), {"reason": "不属于政府职能"}
    )
    assert (
        AuditEvent.objects.get(action="case.reject", object_id=str(case.pk)).actor_label
        == "operator"
    )


def test_intake_adds_no_queries_to_submit_case(city: City) -> None:
    # The benchmark's hot path: the API's own work (authentication, rate limit, the category
    # by code) costs no query once warm.
    from django.test.utils import CaptureQueriesContext

    from urbangov.cases.actions import Submission, submit_case

    lat, lon = city.p_d1
    # Warm: builds the geo index and loads the categories.
    post_json(anon(), CASES, {"text": "预热", "category": "water", "lat": lat, "lon": lon})
    with CaptureQueriesContext(connection) as direct:
        submit_case(
            actor=None,
            submission=Submission(
                channel="app",
                title="",
                text="路灯坏了",
                reported_category=city.water_leak,
                lat=lat,
                lon=lon,
                idempotency_key="direct-1",
            ),
        )
    with CaptureQueriesContext(connection) as api:
        r = post_json(
            anon(),
            CASES,
            {"text": "路灯坏了", "category": "water.leak", "lat": lat, "lon": lon},
            HTTP_IDEMPOTENCY_KEY="api-1",
        )
    assert r.status_code == 201
    assert len(api) == len(direct), [q["sql"][:80] for q in api.captured_queries]


def test_a_category_changed_in_the_admin_is_seen_at_once(city: City) -> None:
    assert post_json(anon(), CASES, {"text": "燃气味", "category": "gas"}).status_code == 201
    city.gas.active = False
    city.gas.save()
    r = post_json(anon(), CASES, {"text": "燃气味", "category": "gas"})
    assert r.status_code == 400 and "no longer in use" in r.json()["errors"]["category"][0]
    Category.objects.create(code="tree", name="树木倒伏")
    assert post_json(anon(), CASES, {"text": "树倒了", "category": "tree"}).status_code == 201
