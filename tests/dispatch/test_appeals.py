"""An appeal that overturns the dispatcher's routing sends a case still with a unit back to
the operators' queue (a person routes it again), on the case's timeline; a case already
resolved is left as it is and the audit log notes it. Through the real appeal flow: the
resident's appeal, the reviewer's decision on the appeal page, the signal after commit."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import TestCase
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from tests.algorithms.test_appeals import LEAK, NOISE, decision_of, login, submit
from tests.conftest import City
from tests.dispatch.conftest import fresh_caches, model_in_service  # noqa: F401 (fixtures)
from urbangov.algorithms import actions as register
from urbangov.algorithms.models import AlgorithmVersion, Appeal, Decision, Verdict
from urbangov.cases import actions as cases
from urbangov.cases.models import Case, CaseEvent, Status
from urbangov.dispatch import actions as dispatch
from urbangov.privacy.models import AuditEvent

pytestmark = pytest.mark.django_db


def routed(city: City, text: str, where: str = "d1") -> Case:
    """A case with a unit: the dispatcher's own dispatch, or the operator's one click."""
    case = submit(city, text, where)
    if case.status == Status.AWAITING_DISPATCH:
        dispatch.accept_suggestion(case, actor=city.users["operator"])  # type: ignore[arg-type]
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and case.unit is not None
    return case


def decide_on_page(city: City, appeal: Appeal, outcome: str, reason: str) -> None:
    reviewer = login(city, appeal.assignee.get_username())
    with TestCase.captureOnCommitCallbacks(execute=True):
        answer = reviewer.post(
            reverse("algorithms:appeal_decide", args=[appeal.pk]),
            {"outcome": outcome, "reason": reason},
        )
    assert answer.status_code == 302


def test_overturned_routing_sends_an_open_case_back_to_the_operators(
    city: City,
    model_in_service: AlgorithmVersion,  # noqa: F811
) -> None:
    case = routed(city, LEAK)
    cases.accept_case(case, actor=city.users["handler"])  # type: ignore[arg-type]
    unit = case.unit
    decision = decision_of(case)
    appeal = register.submit_appeal(decision=decision, grounds="漏水点在公共管道，应由物业处理")
    decide_on_page(city, appeal, "overturn", "公共管道归物业")

    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH
    assert case.unit is None and case.accepted_at is None and case.resolve_due is None
    event = CaseEvent.objects.filter(case=case).order_by("-at", "-id").first()
    assert event is not None and event.kind == "send_back"
    assert event.from_status == Status.ACCEPTED and event.to_status == Status.AWAITING_DISPATCH
    assert event.actor == appeal.assignee
    # Written in the platform's language, whichever catalogue is compiled.
    with translation.override(settings.LANGUAGE_CODE):
        said = gettext(
            "Appeal upheld: the dispatcher's routing was overturned on appeal (%(reason)s). "
            "Back in the dispatch queue for a person to route it."
        ) % {"reason": "公共管道归物业"}
    assert event.note == said
    assert event.data == {"unit": unit.code}  # type: ignore[union-attr]
    logged = AuditEvent.objects.get(action=dispatch.SENT_BACK_ON_APPEAL)
    assert logged.data["appeal"] == appeal.pk and logged.data["decision"] == decision.pk
    # The dispatcher does not take it again by itself: it waits for a person.
    assert dispatch.dispatch_submitted() == 0
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH
    # The decisions stay as they were: the appealed one and the overturn answering it.
    assert Decision.objects.get(pk=decision.pk).output == decision.output
    assert Decision.objects.filter(refers_to=decision, verdict=Verdict.OVERTURNED).count() == 1
    # The operator's page no longer offers the overturned unit, and says why; a click on it
    # (a stale page) is refused.
    from urbangov.dispatch import queries as dispatch_queries

    panel = dispatch_queries.panel(city.users["operator"], case)
    assert panel is not None and panel.overturned == unit.code  # type: ignore[union-attr]
    assert all(o.unit_code != unit.code for o in panel.options)  # type: ignore[union-attr]
    page = login(city, "operator").get(reverse("dispatch:decision", args=[case.pk]))
    assert page.status_code == 200 and 'class="notice"' in page.content.decode()
    with translation.override("en"), pytest.raises(ValidationError, match="overturned"):
        dispatch.accept_suggestion(case, actor=city.users["operator"], choice=0)  # type: ignore[arg-type]
    # An operator routes it again through the usual page action.
    dispatch.correct_dispatch(
        case,
        actor=city.users["operator"],  # type: ignore[arg-type]
        unit=city.office_d1,
        reason="物业所在街道",
    )
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and case.unit == city.office_d1


def test_a_confirmed_appeal_changes_nothing(
    city: City,
    model_in_service: AlgorithmVersion,  # noqa: F811
) -> None:
    case = routed(city, NOISE)
    appeal = register.submit_appeal(decision=decision_of(case), grounds="不是我们街道的")
    decide_on_page(city, appeal, "confirm", "地点在本街道")
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED
    assert not CaseEvent.objects.filter(case=case, kind="send_back").exists()
    assert not AuditEvent.objects.filter(action__startswith="dispatch.appeal.").exists()


def test_a_resolved_case_is_left_alone_and_noted(
    city: City,
    model_in_service: AlgorithmVersion,  # noqa: F811
) -> None:
    case = routed(city, LEAK)
    cases.accept_case(case, actor=city.users["handler"])  # type: ignore[arg-type]
    cases.resolve_case(case, actor=city.users["handler"], resolution="已修好")  # type: ignore[arg-type]
    appeal = register.submit_appeal(decision=decision_of(case), grounds="派错了单位")
    events = CaseEvent.objects.filter(case=case).count()
    decide_on_page(city, appeal, "overturn", "应由物业处理")
    case.refresh_from_db()
    assert case.status == Status.RESOLVED
    assert CaseEvent.objects.filter(case=case).count() == events
    noted = AuditEvent.objects.get(action=dispatch.CLOSED_BEFORE_APPEAL)
    assert noted.data["appeal"] == appeal.pk and noted.data["status"] == Status.RESOLVED
    assert not AuditEvent.objects.filter(action=dispatch.SENT_BACK_ON_APPEAL).exists()


def test_a_case_still_waiting_for_an_operator_needs_nothing(
    city: City,
    model_in_service: AlgorithmVersion,  # noqa: F811
) -> None:
    case = routed(city, NOISE)
    cases.send_back_case(case, actor=city.users["handler_d1"], reason="不归我们")  # type: ignore[arg-type]
    appeal = register.submit_appeal(decision=decision_of(case), grounds="派错了")
    events = CaseEvent.objects.filter(case=case).count()
    decide_on_page(city, appeal, "overturn", "应由物业处理")
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH
    assert CaseEvent.objects.filter(case=case).count() == events
    assert not AuditEvent.objects.filter(action__startswith="dispatch.appeal.").exists()
