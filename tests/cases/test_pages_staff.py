"""Staff pages: sign-in, the workbench (queues, filters, pages), the case page with contact
shown or masked, the transition forms, intake for a resident, and scoping: an outsider gets
404 on every object endpoint."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.cases.test_pages_resident import PNG, errors_of
from tests.conftest import PASSWORD, City, make_case
from urbangov.cases import actions
from urbangov.cases.actions import STAFF_FIELDS
from urbangov.cases.models import Case, CaseEvent, Channel, ExtensionRequest, Status
from urbangov.cases.transitions import STAFF_TRANSITIONS
from urbangov.privacy.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    cache.clear()


def as_user(city: City, username: str) -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(city.user(username))
    return client


def do(client: Client, case: Case, name: str, **fields: Any) -> Any:
    data = {f"{name}-{k}": v for k, v in fields.items()}
    return client.post(reverse("cases:transition", args=[case.pk, name]), data)


# --- sign-in and who gets in ----------------------------------------------------------------


def test_sign_in_page_and_sign_in(city: City) -> None:
    client = Client()
    client.cookies["django_language"] = "en"
    page = client.get(reverse("login"))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'for="id_username"' in html and 'for="id_password"' in html
    assert 'autocomplete="current-password"' in html
    wrong = client.post(reverse("login"), {"username": "operator", "password": "nope"})
    assert wrong.status_code == 200 and "did not match" in wrong.content.decode()
    right = client.post(reverse("login"), {"username": "operator", "password": PASSWORD})
    assert right.status_code == 302 and right["Location"] == reverse("cases:workbench")
    assert client.get(reverse("cases:workbench")).status_code == 200


def test_workbench_needs_a_staff_member(city: City) -> None:
    anonymous = Client().get(reverse("cases:workbench"))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    assert as_user(city, "nobody").get(reverse("cases:workbench")).status_code == 404
    assert as_user(city, "nobody").get(reverse("cases:intake")).status_code == 404


# --- the workbench ------------------------------------------------------------------------------


def test_queue_per_role(city: City) -> None:
    waiting = make_case(city, title="等待派单")
    in_hands = make_case(city, title="水务在办")
    actions.dispatch_case(in_hands, actor=city.user("operator"), unit=city.water_dept)
    operator = as_user(city, "operator").get(reverse("cases:workbench")).content.decode()
    assert waiting.tracking_code in operator and in_hands.tracking_code not in operator
    handler = as_user(city, "handler").get(reverse("cases:workbench")).content.decode()
    assert in_hands.tracking_code in handler and waiting.tracking_code not in handler
    # "All my cases" is the scope, not the queue: the operator sees both.
    everything = as_user(city, "operator").get(reverse("cases:workbench"), {"view": "all"})
    assert in_hands.tracking_code in everything.content.decode()
    # The outsider (D2 street office) sees neither in either list.
    for view in ("queue", "all"):
        html = (
            as_user(city, "outsider")
            .get(reverse("cases:workbench"), {"view": view})
            .content.decode()
        )
        assert waiting.tracking_code not in html and in_hands.tracking_code not in html


def test_filters_status_category_area_overdue_and_code(city: City) -> None:
    leak = make_case(city, title="漏水")
    noise = make_case(city, title="噪音", category=city.noise, where="d2")
    late = make_case(city, title="超期")
    actions.dispatch_case(late, actor=city.user("operator"), unit=city.water_dept)
    Case.objects.filter(pk=late.pk).update(resolve_due=late.created_at)  # long past
    client = as_user(city, "operator")

    def codes(**params: Any) -> set[str]:
        response = client.get(reverse("cases:workbench"), {"view": "all", **params})
        assert response.status_code == 200
        html = response.content.decode()
        return {c.tracking_code for c in (leak, noise, late) if c.tracking_code in html}

    assert codes() == {leak.tracking_code, noise.tracking_code, late.tracking_code}
    assert codes(status="dispatched") == {late.tracking_code}
    assert codes(category="noise") == {noise.tracking_code}
    assert codes(category="water") == {
        leak.tracking_code,
        late.tracking_code,
    }  # parent covers child
    assert codes(area="D2") == {noise.tracking_code}
    assert codes(overdue="on") == {late.tracking_code}
    assert codes(q=noise.tracking_code.lower().replace("-", "")) == {noise.tracking_code}
    assert codes(q="噪") == {noise.tracking_code}
    html = client.get(reverse("cases:workbench"), {"view": "all"}).content.decode()
    assert html.count('<span class="badge overdue">overdue</span>') == 1
    bad = client.get(reverse("cases:workbench"), {"status": "lost"})
    assert bad.status_code == 400 and "Select a valid choice" in bad.content.decode()


def test_title_search_is_no_oracle_for_personal_data(city: City, english: None) -> None:
    """Titles are searched as written, but shown redacted to most staff: searching them for a
    phone number, part of one, or a name would say which case holds it. Such searches are
    refused with the reason; words and tracking codes still work, also on the API."""
    leak = make_case(city, title="13812345678 家里漏水")
    make_case(city, title="张伟家楼下噪音")
    client = as_user(city, "operator")
    for query in ("13812345678", "812345", "张伟"):
        page = client.get(reverse("cases:workbench"), {"view": "all", "q": query})
        assert page.status_code == 400, query
        assert "not by personal data" in page.content.decode()
        assert leak.tracking_code not in page.content.decode()
        api = client.get("/api/v1/cases", {"q": query})
        assert api.status_code == 400 and "personal data" in api.json()["detail"], query
    ok = client.get(reverse("cases:workbench"), {"view": "all", "q": "漏水"})
    assert ok.status_code == 200 and leak.tracking_code in ok.content.decode()
    by_code = client.get(reverse("cases:workbench"), {"view": "all", "q": leak.tracking_code})
    assert leak.tracking_code in by_code.content.decode()


def test_pagination_keeps_filters(city: City) -> None:
    for n in range(27):
        make_case(city, title=f"第{n}号")
    client = as_user(city, "operator")
    first = client.get(reverse("cases:workbench"), {"view": "all", "category": "water.leak"})
    html = first.content.decode()
    assert "27 cases" in html and "Page 1 of 2" in html
    assert "view=all&amp;category=water.leak&amp;page=2" in html
    second = client.get(
        reverse("cases:workbench"), {"view": "all", "category": "water.leak", "page": 2}
    )
    assert second.content.decode().count('class="code small"') == 2


# --- the case page ------------------------------------------------------------------------------


def test_case_page_shows_everything_and_raw_contact_to_the_operator(city: City) -> None:
    case = make_case(city, attachments=[actions.Upload("leak.png", PNG)])
    actions.dispatch_case(case, actor=city.user("operator"), unit=city.water_dept, note="请尽快")
    actions.accept_case(case, actor=city.user("handler"))
    actions.send_back_case(case, actor=city.user("handler"), reason="内部理由")
    reads = AuditEvent.objects.filter(action="case.contact.read").count()
    # Raw data needs a role that may and a stated purpose (urbangov.privacy.purpose).
    response = as_user(city, "operator").get(
        reverse("cases:case_detail", args=[case.pk]), {"purpose": "handling"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "张三" in html and "13800138000" in html
    assert AuditEvent.objects.filter(action="case.contact.read").count() == reads + 1
    # The full timeline, internal events marked, with who did what.
    assert "内部理由" in html and "internal" in html and "handler" in html
    attachment = case.attachments.get()
    assert reverse("cases:attachment", args=[case.pk, attachment.pk]) in html
    # The operator may dispatch, merge or reject it now; each form has its STAFF_FIELDS.
    assert 'id="do-dispatch"' in html and 'id="do-reject"' in html and 'id="do-merge"' in html
    assert 'id="do-accept"' not in html and 'id="do-resolve"' not in html
    for field in STAFF_FIELDS["dispatch"]:
        assert f'name="dispatch-{field}"' in html
    # The water department answers for leaks everywhere in the city: it is suggested first.
    assert re.search(
        r'<optgroup label="Suggested for this category and place">\s*<option value="WATER">',
        html,
    )


def test_contact_is_masked_for_roles_that_may_not_see_it(city: City) -> None:
    case = make_case(city)
    html = (
        as_user(city, "supervisor")
        .get(reverse("cases:case_detail", args=[case.pk]))
        .content.decode()
    )
    assert "张*" in html and "138****8000" in html
    assert "张三" not in html and "13800138000" not in html
    assert not AuditEvent.objects.filter(action="case.contact.read").exists()


def test_outsider_gets_404_on_every_object_endpoint(city: City) -> None:
    case = make_case(city, attachments=[actions.Upload("leak.png", PNG)])
    attachment = case.attachments.get()
    for username in ("outsider", "nobody"):
        client = as_user(city, username)
        assert client.get(reverse("cases:case_detail", args=[case.pk])).status_code == 404
        url = reverse("cases:attachment", args=[case.pk, attachment.pk])
        assert client.get(url).status_code == 404
        for name in STAFF_TRANSITIONS:
            fields = dict.fromkeys(STAFF_FIELDS[name], "x")
            assert do(client, case, name, **fields).status_code == 404, (username, name)
    # 404 for "not yours" and for "not there" alike.
    operator = as_user(city, "operator")
    assert operator.get(reverse("cases:case_detail", args=[case.pk + 1000])).status_code == 404
    assert do(operator, case, "teleport").status_code == 404
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH
    assert list(case.events.values_list("kind", flat=True)) == ["submit", "triage"]


def test_attachment_download_for_staff_in_scope(city: City) -> None:
    case = make_case(city, attachments=[actions.Upload("leak.png", PNG)])
    attachment = case.attachments.get()
    response = as_user(city, "operator").get(
        reverse("cases:attachment", args=[case.pk, attachment.pk])
    )
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    assert "sandbox" in response["Content-Security-Policy"]


# --- transitions from the case page -----------------------------------------------------------


def test_dispatch_accept_resolve_through_the_forms(city: City) -> None:
    case = make_case(city)
    operator, handler = as_user(city, "operator"), as_user(city, "handler")
    response = do(operator, case, "dispatch", unit="WATER", category="", urgency="", note="")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and case.unit == city.water_dept
    assert case.resolve_due is not None
    html = handler.get(reverse("cases:case_detail", args=[case.pk])).content.decode()
    assert 'id="do-accept"' in html and 'id="do-send_back"' in html
    assert do(handler, case, "accept", note="收到").status_code == 302
    assert do(handler, case, "resolve", resolution="已修复").status_code == 302
    case.refresh_from_db()
    assert case.status == Status.RESOLVED and case.resolution == "已修复"
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds == ["submit", "triage", "dispatch", "accept", "resolve"]
    assert CaseEvent.objects.get(case=case, kind="dispatch").actor == city.user("operator")


def test_dispatch_with_category_and_urgency(city: City) -> None:
    case = make_case(city)
    do(
        as_user(city, "operator"),
        case,
        "dispatch",
        unit="D1S1",
        category="noise",
        urgency="emergency",
    )
    case.refresh_from_db()
    assert (
        case.unit == city.office_d1 and case.category == city.noise and case.urgency == "emergency"
    )


def test_validation_error_is_shown_and_changes_nothing(city: City) -> None:
    case = make_case(city)
    operator = as_user(city, "operator")
    missing = do(operator, case, "dispatch", unit="")
    assert missing.status_code == 400
    assert "This field is required" in errors_of(missing.content.decode(), "dispatch-unit")
    reason = do(operator, case, "reject", reason="   ")
    assert reason.status_code == 400
    unknown = do(operator, case, "merge", into="ZZZZZ-ZZZZZ")
    assert (
        unknown.status_code == 400 and "No case with this tracking code" in unknown.content.decode()
    )
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH
    assert case.events.count() == 2


def test_illegal_transition_is_refused_with_a_message(city: City) -> None:
    case = make_case(city)
    actions.dispatch_case(case, actor=city.user("operator"), unit=city.water_dept)
    handler = as_user(city, "handler")
    assert do(handler, case, "accept").status_code == 302
    again = do(handler, case, "accept")
    assert again.status_code == 409
    assert "Cannot accept case" in again.content.decode()
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED and case.events.filter(kind="accept").count() == 1


def test_role_that_may_see_but_not_act_is_refused(city: City) -> None:
    case = make_case(city)
    analyst = as_user(city, "analyst")
    assert analyst.get(reverse("cases:case_detail", args=[case.pk])).status_code == 200
    response = do(analyst, case, "dispatch", unit="WATER")
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH


def test_send_back_leaves_the_handler_on_the_workbench(city: City) -> None:
    case = make_case(city)
    actions.dispatch_case(case, actor=city.user("operator"), unit=city.water_dept)
    response = do(as_user(city, "handler"), case, "send_back", reason="属于街道管辖")
    assert response.status_code == 302 and response["Location"] == reverse("cases:workbench")
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH and case.unit is None


def test_extension_request_and_decision(city: City) -> None:
    case = make_case(city)
    actions.dispatch_case(case, actor=city.user("operator"), unit=city.water_dept)
    actions.accept_case(case, actor=city.user("handler"))
    handler, supervisor = as_user(city, "handler"), as_user(city, "supervisor")
    bad = do(handler, case, "request_extension", hours="soon", reason="等材料")
    assert bad.status_code == 400 and not ExtensionRequest.objects.exists()
    assert do(handler, case, "request_extension", hours="48", reason="等材料").status_code == 302
    html = supervisor.get(reverse("cases:case_detail", args=[case.pk])).content.decode()
    assert 'id="do-grant_extension"' in html and "等材料" in html
    before = Case.objects.get(pk=case.pk).resolve_due
    assert do(supervisor, case, "grant_extension", note="同意").status_code == 302
    case.refresh_from_db()
    assert (case.resolve_due - before).total_seconds() == 48 * 3600
    html = supervisor.get(reverse("cases:case_detail", args=[case.pk])).content.decode()
    assert 'id="do-grant_extension"' not in html


def test_merge_into_a_case_in_scope(city: City) -> None:
    keep, dup = make_case(city), make_case(city)
    response = do(as_user(city, "operator"), dup, "merge", into=keep.tracking_code.lower(), note="")
    assert response.status_code == 302
    dup.refresh_from_db()
    assert dup.status == Status.MERGED and dup.merged_into == keep


# --- intake for a resident ----------------------------------------------------------------------


def test_staff_enter_a_case_for_a_phone_caller(city: City) -> None:
    operator = as_user(city, "operator")
    page = operator.get(reverse("cases:intake")).content.decode()
    assert 'name="channel"' in page and 'value="phone"' in page
    photo = SimpleUploadedFile("scan.png", PNG, content_type="image/png")
    response = operator.post(
        reverse("cases:intake"),
        {
            "channel": "phone",
            "category": "water.leak",
            "text": "市民来电：楼道水管爆裂",
            "address": "东区一街道 5 号",
            "contact_name": "赵阿姨",
            "contact_phone": "13912345678",
            "photos": [photo],
            "submission_key": "intake-key-0001",
        },
    )
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:case_detail", args=[case.pk])
    assert case.channel == Channel.PHONE and case.submitted_by == city.user("operator")
    assert case.contact_name == "赵阿姨" and case.attachments.count() == 1
    assert case.events.get(kind="submit").actor == city.user("operator")
    bad = operator.post(reverse("cases:intake"), {"channel": "web", "text": "x", "address": "y"})
    assert bad.status_code == 400 and Case.objects.count() == 1


INTAKE = {
    "channel": "counter",
    "category": "water.leak",
    "text": "市民到窗口反映：楼道水管爆裂",
    "address": "东区一街道 5 号",
    "submission_key": "intake-key-0002",
}


@pytest.mark.parametrize("role", ["auditor", "analyst", "algorithm_officer"])
def test_staff_roles_that_take_no_cases_in_get_404_on_intake(city: City, role: str) -> None:
    client = as_user(city, role)
    assert client.get(reverse("cases:intake")).status_code == 404
    assert client.post(reverse("cases:intake"), INTAKE).status_code == 404
    assert Case.objects.count() == 0
    # Nor are they offered it: no link in the menu or on the workbench.
    workbench = client.get(reverse("cases:workbench"))
    assert workbench.status_code == 200
    assert reverse("cases:intake") not in workbench.content.decode()


@pytest.mark.parametrize("role", ["operator", "handler", "supervisor", "admin"])
def test_roles_that_take_cases_in_may_use_intake(city: City, role: str) -> None:
    client = as_user(city, role)
    page = client.get(reverse("cases:intake"))
    assert page.status_code == 200
    assert reverse("cases:intake") in client.get(reverse("cases:workbench")).content.decode()
    assert client.post(reverse("cases:intake"), INTAKE).status_code == 302
    case = Case.objects.get()
    assert case.channel == Channel.COUNTER and case.submitted_by == city.user(role)
