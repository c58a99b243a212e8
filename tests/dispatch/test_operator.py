"""The operator's side: the case page's dispatcher panel, one-click accept, another unit with
a required reason, the dispatch page (why, similar past cases, history), the workbench
hints, the resident's tracking page (how the case was routed, by what, how to contest), and
the REST endpoints. Outsiders get 404; nothing changes on a refused request."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.conftest import City
from tests.dispatch.test_dispatcher import submit
from urbangov.algorithms.models import AlgorithmVersion, Decision, Kind, Verdict
from urbangov.cases import actions as case_actions
from urbangov.cases.models import Case, Status
from urbangov.dispatch import actions
from urbangov.dispatch.models import CategoryPolicy
from urbangov.org.actions import create_api_token
from urbangov.privacy.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_counters() -> None:
    cache.clear()


def as_user(city: City, username: str) -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(city.user(username))
    return client


def waiting_case(city: City, text: str = "楼下水管漏水，水流了一地") -> Case:
    """A case the dispatcher decided about and left for an operator."""
    CategoryPolicy.objects.get_or_create(
        category=city.water_leak, defaults={"threshold": 1.0, "automatic": False}
    )
    case = submit(city, text)
    actions.dispatch_submitted()
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH
    return case


def algorithm_decision(case: Case) -> Decision:
    return Decision.objects.about(case).get(kind=Kind.ALGORITHM)


def test_case_page_shows_suggestions_and_one_click_accept(
    city: City, model_in_service: AlgorithmVersion
) -> None:
    case = waiting_case(city)
    client = as_user(city, "operator")
    page = client.get(reverse("cases:case_detail", args=[case.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Dispatcher" in html and "市水务局" in html
    assert reverse("dispatch:accept", args=[case.pk]) in html
    decision = algorithm_decision(case)
    response = client.post(
        reverse("dispatch:accept", args=[case.pk]), {"decision": decision.pk, "choice": 0}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and case.unit == city.water_dept
    answer = Decision.objects.about(case).get(kind=Kind.HUMAN)
    assert answer.refers_to == decision and answer.verdict == Verdict.ACCEPTED
    assert answer.actor == city.user("operator") and answer.output["unit"] == "WATER"
    assert AuditEvent.objects.filter(
        action="algorithms.decision.human", object_id=str(answer.pk)
    ).exists()


def test_choosing_another_suggestion_is_recorded_as_such(
    city: City, model_in_service: AlgorithmVersion
) -> None:
    case = waiting_case(city)
    decision = algorithm_decision(case)
    second = decision.alternatives[0]["output"]
    client = as_user(city, "operator")
    client.post(reverse("dispatch:accept", args=[case.pk]), {"decision": decision.pk, "choice": 1})
    case.refresh_from_db()
    if second["unit"] is None:
        assert case.status == Status.AWAITING_DISPATCH  # nothing to send it to
    else:
        assert case.unit.code == second["unit"]
        answer = Decision.objects.about(case).get(kind=Kind.HUMAN)
        assert answer.verdict == Verdict.ALTERNATIVE


def test_another_unit_needs_a_reason(city: City, model_in_service: AlgorithmVersion) -> None:
    case = waiting_case(city)
    client = as_user(city, "operator")
    url = reverse("dispatch:correct", args=[case.pk])
    refused = client.post(url, {"correct-unit": city.office_d1.code, "correct-reason": "  "})
    assert refused.status_code == 400
    assert "This field is required" in refused.content.decode()
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH
    assert not Decision.objects.about(case).filter(kind=Kind.HUMAN).exists()

    done = client.post(
        url, {"correct-unit": city.office_d1.code, "correct-reason": "管道在小区内，归街道物业"}
    )
    assert done.status_code == 302
    case.refresh_from_db()
    assert case.unit == city.office_d1
    # The category the dispatcher read stays, unless the operator changes it.
    assert case.category == city.water_leak
    answer = Decision.objects.about(case).get(kind=Kind.HUMAN)
    assert answer.verdict == Verdict.CORRECTED
    assert answer.reason == "管道在小区内，归街道物业"


def test_stale_suggestion_is_refused(city: City, model_in_service: AlgorithmVersion) -> None:
    case = waiting_case(city)
    client = as_user(city, "operator")
    client.post(reverse("dispatch:accept", args=[case.pk]), {"decision": 999999, "choice": 0})
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH


def test_outsiders_get_404_and_handlers_may_not_dispatch(
    city: City, model_in_service: AlgorithmVersion
) -> None:
    case = waiting_case(city)
    decision = algorithm_decision(case)
    outsider = as_user(city, "outsider")
    assert outsider.get(reverse("dispatch:decision", args=[case.pk])).status_code == 404
    assert (
        outsider.post(
            reverse("dispatch:accept", args=[case.pk]), {"decision": decision.pk, "choice": 0}
        ).status_code
        == 404
    )
    # The supervisor sees the case but does not dispatch.
    supervisor = as_user(city, "supervisor")
    page = supervisor.get(reverse("dispatch:decision", args=[case.pk]))
    assert page.status_code == 200
    assert reverse("dispatch:correct", args=[case.pk]) not in page.content.decode()
    supervisor.post(
        reverse("dispatch:accept", args=[case.pk]), {"decision": decision.pk, "choice": 0}
    )
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH


def test_dispatch_page_explains_why_with_similar_past_cases(
    city: City, model_in_service: AlgorithmVersion
) -> None:
    past = waiting_case(city, "幸福路8号楼下水管漏水，水流了一地")
    actions.accept_suggestion(past, actor=city.user("operator"))
    case_actions.accept_case(past, actor=city.user("handler"))
    case_actions.resolve_case(past, actor=city.user("handler"), resolution="已修复")
    case = waiting_case(city, "幸福路9号楼下水管漏水，水流满地")
    page = as_user(city, "operator").get(reverse("dispatch:decision", args=[case.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Words that weighed most" in html and "水管" in html
    assert "Routing rule applied" in html and "answers for" in html
    assert past.tracking_code in html  # a similar past case, resolved by the water department
    assert "Choose another unit" in html


def test_workbench_shows_the_dispatcher_hint_and_emergency_first(
    city: City, model_in_service: AlgorithmVersion
) -> None:
    CategoryPolicy.objects.create(category=city.noise, threshold=1.0, automatic=False)
    waiting_case(city)
    submit(city, "楼道里燃气泄漏了，味道很大")
    actions.dispatch_submitted()
    page = as_user(city, "operator").get(reverse("cases:workbench"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "emergency" in html and "市水务局" in html
    # The emergency (no unit answers for gas here, so it waits) comes first in the queue.
    assert html.index("楼道里燃气泄漏") < html.index("楼下水管漏水")


def test_resolution_by_another_unit_is_the_real_outcome(
    city: City, model_in_service: AlgorithmVersion
) -> None:
    case = submit(city, "楼下水管漏水，水流了一地")
    actions.dispatch_submitted()
    case.refresh_from_db()
    assert case.unit == city.water_dept
    case_actions.send_back_case(case, actor=city.user("handler"), reason="小区内部管道，不归水务局")
    case_actions.dispatch_case(
        case, actor=city.user("operator"), unit=city.office_d1, note="转街道"
    )
    case_actions.accept_case(case, actor=city.user("handler_d1"))
    case_actions.resolve_case(case, actor=city.user("handler_d1"), resolution="已协调物业修复")
    rows = list(Decision.objects.about(case).order_by("id"))
    assert [r.kind for r in rows] == [Kind.ALGORITHM, Kind.HUMAN, Kind.OUTCOME]
    human, outcome = rows[1], rows[2]
    assert human.verdict == Verdict.CORRECTED and human.reason == "转街道"
    assert outcome.refers_to == rows[0] and outcome.verdict == Verdict.CORRECTED
    assert outcome.output == {"unit": city.office_d1.code, "category": "water.leak"}


def test_tracking_page_says_how_and_by_what_with_a_way_to_contest(
    city: City, model_in_service: AlgorithmVersion
) -> None:
    auto = submit(city, "楼下水管漏水，水流了一地")
    actions.dispatch_submitted()
    client = Client()
    client.cookies["django_language"] = "en"
    page = client.get(reverse("cases:track_case", args=[auto.tracking_code]))
    html = page.content.decode()
    assert "How your case was routed" in html
    assert "Decided automatically by the algorithm" in html
    assert "Routed automatically by the city&#x27;s dispatch algorithm" in html
    assert reverse("algorithms:contest") in html
    contest = client.get(reverse("algorithms:contest"))
    assert contest.status_code == 200 and "12345" in contest.content.decode()

    # The operator gets a username and a name no wording could hold by chance: finding
    # either on the page could only be a leak of who they are.
    operator = city.user("operator")
    operator.username, operator.first_name, operator.last_name = "op_zhao_5521", "五五", "赵"  # type: ignore[attr-defined]
    operator.save(update_fields=["username", "first_name", "last_name"])
    human = waiting_case(city)
    actions.accept_suggestion(human, actor=operator)
    html = client.get(reverse("cases:track_case", args=[human.tracking_code])).content.decode()
    assert "a person decides" in html
    assert "checked the algorithm" in html
    assert "Routed by a dispatch operator" in html
    # Never a staff member's username or name, nor another resident's case.
    for secret in ("op_zhao_5521", "赵五五", "五五 赵", auto.tracking_code):
        assert secret not in html, secret


def test_tracking_page_in_chinese(city: City, model_in_service: AlgorithmVersion) -> None:
    auto = submit(city, "楼下水管漏水，水流了一地")
    actions.dispatch_submitted()
    client = Client()
    client.cookies["django_language"] = "zh-hans"
    html = client.get(reverse("cases:track_case", args=[auto.tracking_code])).content.decode()
    assert "市水务局" in html


# --- the API ------------------------------------------------------------------------------------


def api(city: City, username: str) -> Client:
    key = create_api_token(actor=None, user=city.user(username), name="t")[1]
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ACCEPT_LANGUAGE="en")


def post(client: Client, url: str, data: Any) -> Any:
    return client.post(url, data=json.dumps(data), content_type="application/json")


def test_api_reads_and_answers_the_dispatcher(
    city: City, model_in_service: AlgorithmVersion
) -> None:
    case = waiting_case(city)
    op = api(city, "operator")
    read = op.get(f"/api/v1/cases/{case.pk}/dispatch")
    assert read.status_code == 200
    body = read.json()
    assert body["mode"] == "suggestion" and body["suggestions"][0]["unit"] == "WATER"
    assert body["features"] and body["routing"] and body["explanation"]
    assert 0 < body["suggestions"][0]["probability"] <= 1

    assert api(city, "outsider").get(f"/api/v1/cases/{case.pk}/dispatch").status_code == 404
    assert (
        post(api(city, "supervisor"), f"/api/v1/cases/{case.pk}/dispatch/accept", {}).status_code
        == 403
    )
    missing_reason = post(
        op, f"/api/v1/cases/{case.pk}/dispatch/correct", {"unit": city.office_d1.code, "reason": ""}
    )
    assert missing_reason.status_code == 400 and "reason" in missing_reason.json()["errors"]
    unknown_unit = post(
        op, f"/api/v1/cases/{case.pk}/dispatch/correct", {"unit": "NOPE", "reason": "x"}
    )
    assert unknown_unit.status_code == 400
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH

    done = post(op, f"/api/v1/cases/{case.pk}/dispatch/accept", {"choice": 0})
    assert done.status_code == 200
    assert done.json()["answers"][0]["verdict"] == "accepted"
    again = post(op, f"/api/v1/cases/{case.pk}/dispatch/accept", {"choice": 0})
    assert again.status_code == 409
