"""GET requests: the spec's fields and filters, the status mapping, the 90-day window and the
1,000 cap, public data only (never a contact detail, never a tracking code, free text only
when the city publishes it) — over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import xmltodict
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from tests.conftest import City, make_case
from tests.open311.conftest import ENGLISH, Endpoint, as_list, old_case
from urbangov.cases import actions
from urbangov.cases.models import Case, Status
from urbangov.open311.queries import public_text

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The spec's fields of a service request, in its order.
SPEC_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]


@pytest.fixture
def publish_text(settings: Any) -> None:
    """The city publishes the residents' and staff's own words (masked)."""
    settings.URBANGOV = {**settings.URBANGOV, "OPEN311_PUBLISH_TEXT": True}


def rid(case: Case) -> str:
    """A case's public service_request_id: its number."""
    return str(case.pk)


def _get(endpoint: Endpoint, path: str, **params: Any) -> requests.Response:
    return requests.get(endpoint.url(path), params=params, timeout=30)


def _ids(endpoint: Endpoint, **params: Any) -> list[str]:
    response = _get(endpoint, "requests.json", **params)
    assert response.status_code == 200, response.text
    return [r["service_request_id"] for r in response.json()]


@pytest.mark.django_db(transaction=True)
def test_fields_are_the_specs_and_dates_carry_the_offset(endpoint: Endpoint) -> None:
    case = make_case(endpoint.city)
    actions.dispatch_case(case, actor=endpoint.city.user("operator"), unit=endpoint.city.water_dept)
    [shown] = _get(endpoint, f"requests/{case.pk}.json").json()
    assert list(shown) == SPEC_FIELDS
    assert shown["service_request_id"] == rid(case)
    case.refresh_from_db()
    assert shown["agency_responsible"] == "市水务局"
    # No Accept-Language: the city's default language.
    with translation.override("zh-hans"):
        assert shown["status_notes"] == str(Status.DISPATCHED.label)
    assert shown["expected_datetime"] == timezone.localtime(case.resolve_due).isoformat(
        timespec="seconds"
    )
    assert datetime.fromisoformat(shown["requested_datetime"]).utcoffset() == timedelta(hours=8)
    xml = xmltodict.parse(_get(endpoint, f"requests/{case.pk}.xml").content)
    assert list(xml["service_requests"]["request"]) == SPEC_FIELDS


@pytest.mark.django_db(transaction=True)
def test_the_point_is_published_to_the_street_not_the_door(
    endpoint: Endpoint, settings: Any
) -> None:
    """The address keeps the street and drops the house; the point is rounded to match
    (3 decimals: about 100 m), or to what the city chooses."""
    lat, lon = endpoint.city.p_d1
    case = make_case(endpoint.city)
    Case.objects.filter(pk=case.pk).update(lat=lat + 0.000437, lon=lon - 0.000281)
    [shown] = _get(endpoint, f"requests/{case.pk}.json").json()
    assert (shown["lat"], shown["long"]) == (round(lat + 0.000437, 3), round(lon - 0.000281, 3))
    assert shown["lat"] != lat + 0.000437
    settings.URBANGOV = {**settings.URBANGOV, "OPEN311_COORDINATE_DECIMALS": 6}
    [shown] = _get(endpoint, f"requests/{case.pk}.json").json()
    assert (shown["lat"], shown["long"]) == (round(lat + 0.000437, 6), round(lon - 0.000281, 6))


@pytest.mark.django_db(transaction=True)
def test_every_case_status_maps_to_open_or_closed(endpoint: Endpoint) -> None:
    # The mapping the issue fixes: four open states, four closed ones.
    expected = {
        Status.SUBMITTED: "open",
        Status.AWAITING_DISPATCH: "open",
        Status.DISPATCHED: "open",
        Status.ACCEPTED: "open",
        Status.RESOLVED: "closed",
        Status.CLOSED: "closed",
        Status.REJECTED: "closed",
        Status.MERGED: "closed",
    }
    assert set(expected) == set(Status)
    when = timezone.now() - timedelta(days=1)
    codes = {
        status: rid(
            old_case(endpoint.city, created=when, category=endpoint.city.noise, status=status)[0]
        )
        for status in expected
    }
    shown = {
        r["service_request_id"]: r["status"]
        for r in _get(endpoint, "requests.json", service_request_id=",".join(codes.values())).json()
    }
    assert {status: shown[code] for status, code in codes.items()} == expected
    assert _ids(endpoint, status="open") == [
        codes[s] for s in reversed(list(expected)) if expected[s] == "open"
    ]


def _three_outcomes(city: City) -> tuple[Case, Case, Case, Case]:
    """A case kept, its duplicate merged into it, one rejected and one resolved."""
    kept, duplicate, rejected, resolved = (make_case(city) for _ in range(4))
    actions.merge_case(duplicate, actor=city.user("operator"), into=kept)
    actions.reject_case(
        rejected, actor=city.user("operator"), reason="属于物业管理范围，请联系物业"
    )
    actions.dispatch_case(resolved, actor=city.user("operator"), unit=city.water_dept)
    actions.accept_case(resolved, actor=city.user("handler"))
    actions.resolve_case(resolved, actor=city.user("handler"), resolution="已联系张三，修好了")
    return kept, duplicate, rejected, resolved


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("publish_text")
def test_status_notes_give_the_reply_or_the_reason_when_text_is_published(
    endpoint: Endpoint,
) -> None:
    kept, duplicate, rejected, resolved = _three_outcomes(endpoint.city)
    listed = requests.get(endpoint.url("requests.json"), headers=ENGLISH, timeout=30).json()
    notes = {r["service_request_id"]: r["status_notes"] for r in listed}
    # The duplicate names the case it was merged into by its public id, never by its code.
    assert notes[rid(duplicate)] == f"Merged as a duplicate of {kept.pk}."
    assert kept.tracking_code not in notes[rid(duplicate)]
    assert notes[rid(rejected)] == "属于物业管理范围，请联系物业"
    # Names in what staff write are redacted before publishing (the PII detector, issue 4).
    assert notes[rid(resolved)] == "已联系张*，修好了"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_by_default_no_free_text_is_published(endpoint: Endpoint, fmt: str) -> None:
    # URBANGOV_OPEN311_PUBLISH_TEXT is off unless the city turns it on: names and addresses
    # in what residents and staff write are not yet redacted (issue 4).
    kept, duplicate, rejected, resolved = _three_outcomes(endpoint.city)
    body = requests.get(endpoint.url(f"requests.{fmt}"), headers=ENGLISH, timeout=30).text
    for words in ("楼下水管漏水", "物业管理", "张三", "修好了"):
        assert words not in body, words
    if fmt == "json":
        shown = {r["service_request_id"]: r for r in json.loads(body)}
    else:
        items = as_list(xmltodict.parse(body)["service_requests"]["request"])
        shown = {r["service_request_id"]: r for r in items}
    assert {r["description"] for r in shown.values()} == {None}
    # The status in words (the labels in English, as asked for).
    assert shown[rid(kept)]["status_notes"] == "awaiting dispatch"
    assert shown[rid(rejected)]["status_notes"] == "rejected as out of scope"
    assert shown[rid(resolved)]["status_notes"] == "resolved"
    assert shown[rid(duplicate)]["status_notes"] == f"Merged as a duplicate of {kept.pk}."


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("publish_text")
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_contact_details_are_never_published(endpoint: Endpoint, fmt: str) -> None:
    make_case(
        endpoint.city,
        contact_name="王小明",
        contact_phone="13912345678",
        text="水管漏了，请联系我 13912345678 或 wang@example.com",
    )
    posted = endpoint.post(
        params=endpoint.leak(
            first_name="红",
            last_name="李",
            phone="13711112222",
            email="li.hong@example.com",
            device_id="imei-356938035643809",
            account_id="acct-li",
        )
    )
    assert posted.status_code == 200
    for path in ["requests", f"requests/{posted.json()[0]['service_request_id']}"]:
        body = _get(endpoint, f"{path}.{fmt}").text
        for secret in [
            "王小明",
            "13912345678",
            "wang@example.com",
            "李红",
            "13711112222",
            "li.hong@example.com",
            "imei-356938035643809",
            "acct-li",
        ]:
            assert secret not in body, (path, secret)
    assert "水管漏了，请联系我 […] 或 […]" in _get(endpoint, f"requests.{fmt}").text


@pytest.mark.parametrize(
    ("value", "expected"), [(None, "False"), ("", "False"), ("0", "False"), ("1", "True")]
)
def test_publishing_text_is_off_unless_the_environment_turns_it_on(
    value: str | None, expected: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "URBANGOV_OPEN311_PUBLISH_TEXT"}
    if value is not None:
        env["URBANGOV_OPEN311_PUBLISH_TEXT"] = value
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from urbangov import settings as s; print(s.URBANGOV['OPEN311_PUBLISH_TEXT'])",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert shown.stdout.strip() == expected


def test_public_text_masks_numbers_and_addresses_but_keeps_dates() -> None:
    # Hand-written cases: a mobile, a landline with separators, an ID card number ending in X,
    # an e-mail next to Chinese text; a date and short numbers stay.
    assert public_text("电话13800138000") == "电话[…]"
    assert public_text("座机 010-6552 8888 找我") == "座机 […] 找我"
    assert public_text("身份证11010519491231002X") == "身份证[…]"
    assert public_text("邮箱li@example.com。") == "邮箱[…]。"
    assert public_text("2026-11-28起，3号楼12层，约200平米") == "2026-11-28起，3号楼12层，约200平米"


@pytest.mark.django_db(transaction=True)
def test_english_names_for_english_readers(endpoint: Endpoint) -> None:
    make_case(endpoint.city)
    english = {"Accept-Language": "en"}
    [request] = requests.get(endpoint.url("requests.json"), headers=english, timeout=30).json()
    assert request["service_name"] == "Water leak"
    services = requests.get(endpoint.url("services.json"), headers=english, timeout=30).json()
    leak = next(s for s in services if s["service_code"] == "water.leak")
    assert (leak["service_name"], leak["group"]) == ("Water leak", "Water supply")
    # Simplified Chinese is the default.
    [request] = requests.get(endpoint.url("requests.json"), timeout=30).json()
    assert request["service_name"] == "水管漏水"


@pytest.mark.django_db(transaction=True)
def test_default_window_is_the_last_90_days(endpoint: Endpoint) -> None:
    now = timezone.now()
    [inside] = old_case(endpoint.city, created=now - timedelta(days=89), category=endpoint.city.gas)
    old_case(endpoint.city, created=now - timedelta(days=91), category=endpoint.city.gas)
    assert _ids(endpoint) == [rid(inside)]


@pytest.mark.django_db(transaction=True)
def test_date_bounds_follow_the_precision_given(endpoint: Endpoint) -> None:
    at = datetime(2026, 1, 15, 10, 0, tzinfo=SHANGHAI)
    [case] = old_case(endpoint.city, created=at, category=endpoint.city.gas)
    code = [rid(case)]
    # A date as end_date covers that whole day.
    assert _ids(endpoint, start_date="2026-01-15", end_date="2026-01-15") == code
    assert _ids(endpoint, start_date="2026-01-01", end_date="2026-01-15T09:59:59+08:00") == []
    assert _ids(endpoint, start_date="2026-01-01", end_date="2026-01-15T10:00:00+08:00") == code
    assert _ids(endpoint, start_date="2026-01-15T02:00:00Z", end_date="2026-01-16") == code
    assert _ids(endpoint, start_date="2026-01-15T02:00:01Z", end_date="2026-01-16") == []
    # An unencoded "+" arrives as a space; it is read as the offset it was.
    assert _ids(endpoint, start_date="2026-01-15T10:00:00 08:00", end_date="2026-01-16") == code
    # end_date alone: the 90 days before it. 15 January + 90 days = 15 April.
    assert _ids(endpoint, end_date="2026-04-14") == code
    assert _ids(endpoint, end_date="2026-04-15") == []
    # start_date alone: everything since.
    assert _ids(endpoint, start_date="2026-01") == code


@pytest.mark.django_db(transaction=True)
def test_at_most_1000_requests_newest_first(endpoint: Endpoint) -> None:
    cases = old_case(
        endpoint.city,
        created=timezone.now() - timedelta(days=1),
        category=endpoint.city.noise,
        n=1001,
    )
    shown = _ids(endpoint)
    assert len(shown) == 1000
    assert shown == [rid(c) for c in cases[:1000]]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("params", "mentions"),
    [
        ({"start_date": "2026-02-30"}, "start_date"),
        ({"end_date": "yesterday"}, "end_date"),
        ({"start_date": "2026-01-15T25:00:00Z"}, "start_date"),
        ({"start_date": "2026-03-01", "end_date": "2026-02-01"}, "start_date"),
        ({"status": "pending"}, "status"),
        ({"service_code": "noise,potholes"}, "potholes"),
        ({"service_request_id": ",".join(["1"] * 1001)}, "service_request_id"),
        ({"service_request_id": "1,AAAAA-AAAAA"}, "AAAAA-AAAAA"),
        ({"service_request_id": "1e3"}, "service_request_id"),
        ({"service_code": "noise\x00"}, "service_code"),
    ],
    ids=[
        "impossible-date",
        "not-a-date",
        "hour-25",
        "start-after-end",
        "bad-status",
        "unknown-code",
        "too-many-ids",
        "a-tracking-code-is-no-id",
        "not-digits",
        "nul",
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_filters_are_400(
    endpoint: Endpoint, params: dict[str, str], mentions: str, fmt: str
) -> None:
    response = _get(endpoint, f"requests.{fmt}", **params)
    assert response.status_code == 400
    if fmt == "json":
        [error] = response.json()
    else:
        error = xmltodict.parse(response.content)["errors"]["error"]
    assert str(error["code"]) == "400" and mentions in error["description"]


@pytest.mark.django_db(transaction=True)
def test_unknown_request_id_is_404(endpoint: Endpoint) -> None:
    case = make_case(endpoint.city)
    # Not a number (a tracking code among them: it is no public id), a number of no case,
    # one beyond any database integer.
    for wrong in ("NOPE1-NOPE2", case.tracking_code, str(case.pk + 1000), "9" * 30, "-1"):
        response = _get(endpoint, f"requests/{wrong}.xml")
        assert response.status_code == 404, wrong
        error = xmltodict.parse(response.content)["errors"]["error"]
        assert error["code"] == "404" and wrong in error["description"]
    assert _get(endpoint, f"requests/{case.pk}.json").status_code == 200


def _codes_in(text: str, cases: list[Case]) -> list[str]:
    """The tracking codes of ``cases`` found in ``text``, in any spelling a reader could use."""
    found = []
    for case in cases:
        raw = case.tracking_code.replace("-", "")
        for spelling in (case.tracking_code, raw, raw.lower(), case.tracking_code.lower()):
            if spelling in text:
                found.append(case.tracking_code)
    return found


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("published", [False, True], ids=["text-off", "text-on"])
def test_no_tracking_code_in_any_public_answer(
    endpoint: Endpoint, settings: Any, published: bool
) -> None:
    # A tracking code lets its holder rate, close and reopen the case: no GET answer of the
    # public Open311 endpoint may carry one, in either format, in a list or for one request,
    # in the status notes of a merged duplicate either.
    settings.URBANGOV = {**settings.URBANGOV, "OPEN311_PUBLISH_TEXT": published}
    posted = endpoint.post(params=endpoint.leak())
    assert posted.status_code == 200, posted.text
    [answer] = posted.json()
    _three_outcomes(endpoint.city)
    cases = list(Case.objects.all())
    assert len(cases) == 5
    ids = [rid(c) for c in cases]
    paths = [
        "requests",
        f"requests?service_request_id={','.join(ids)}",
        "requests?status=closed",
        *(f"requests/{i}" for i in ids),
        f"tokens/{answer['token']}",
        "services",
        "discovery",
    ]
    for fmt in ("json", "xml"):
        listed = _get(endpoint, f"requests.{fmt}")
        assert listed.status_code == 200
        assert len(as_list(_parsed(listed, fmt))) == 5
        for path in paths:
            base, _sep, query = path.partition("?")
            response = requests.get(endpoint.url(f"{base}.{fmt}?{query}"), timeout=30)
            assert response.status_code == 200, (path, response.text)
            assert _codes_in(response.text, cases) == [], (fmt, path)


def _parsed(response: requests.Response, fmt: str) -> Any:
    if fmt == "json":
        return response.json()
    return xmltodict.parse(response.content)["service_requests"]["request"]


@pytest.mark.django_db(transaction=True)
def test_reads_are_open_to_browsers_and_answer_head(endpoint: Endpoint) -> None:
    response = _get(endpoint, "requests.json")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert requests.head(endpoint.url("services.xml"), timeout=30).status_code == 200


def _queries_for_listing(client: Client, city: City, cases: int) -> int:
    for i in range(cases):
        case = make_case(city, category=city.noise if i % 2 else city.water_leak)
        if i % 3 == 0:
            actions.dispatch_case(case, actor=city.user("operator"), unit=city.water_dept)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/open311/v2/requests.json")
    assert response.status_code == 200 and len(response.json()) >= cases
    return len(captured)


@pytest.mark.django_db
def test_listing_costs_the_same_queries_for_few_or_many(city: City, client: Client) -> None:
    few = _queries_for_listing(client, city, 2)
    many = _queries_for_listing(client, city, 30)
    assert many == few, (few, many)
    # One query for the cases, plus the SLA lookups of the two categories' notices.
    assert few <= 6


def test_xml_lists_one_item_per_element() -> None:
    from urbangov.open311.render import to_xml

    xml = to_xml(
        "services",
        [{"service_code": "a", "metadata": True}, {"service_code": "b\x01", "metadata": None}],
    )
    parsed = as_list(xmltodict.parse(xml)["services"]["service"])
    assert parsed == [
        {"service_code": "a", "metadata": "true"},
        {"service_code": "b", "metadata": None},
    ]
