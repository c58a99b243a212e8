"""The ethics board's reviews: outcomes with reasons on the audit log, re-review due by
impact level, and a suspension that stops the dispatcher's automatic decisions at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase
from django.utils import timezone

from tests.algorithms.test_impact import ALL_MITIGATIONS, HIGH_RISK, LOW_RISK
from tests.conftest import City
from tests.dispatch.conftest import fresh_caches, model_in_service  # noqa: F401 (fixtures)
from urbangov.algorithms import actions, queries
from urbangov.algorithms.models import (
    AlgorithmVersion,
    Decision,
    Kind,
    Mode,
    Phase,
    Review,
    ReviewOutcome,
)
from urbangov.cases.actions import Submission, submit_case
from urbangov.cases.models import Case, Channel, Status
from urbangov.dispatch import actions as dispatch
from urbangov.privacy.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def submit(city: City, text: str) -> Case:
    lat, lon = city.p_d1
    sub = Submission(channel=Channel.WEB, title="", text=text, lat=lat, lon=lon)
    with TestCase.captureOnCommitCallbacks(execute=True):
        return submit_case(actor=None, submission=sub).case


def test_review_outcomes_are_logged_with_reasons_and_due_dates(city: City) -> None:
    board = city.users["auditor"]
    a = actions.ensure_algorithm(actor=None, code="x", name="X")
    actions.assess_impact(actor=None, algorithm=a, answers={**LOW_RISK, **ALL_MITIGATIONS})
    before = timezone.now()
    r = actions.record_review(
        actor=board, algorithm=a, outcome=ReviewOutcome.APPROVE, reasons="fine"
    )  # type: ignore[arg-type]
    assert r.level == 1 and r.next_review_due is not None
    assert timedelta(days=729) < r.next_review_due - before < timedelta(days=731)
    event = AuditEvent.objects.get(action="algorithms.review.approve", object_id=str(r.pk))
    assert event.data["reasons"] == "fine" and event.actor_id == board.pk
    # Level IV: re-review within 90 days.
    actions.assess_impact(
        actor=None, algorithm=a, answers={**HIGH_RISK, **dict.fromkeys(ALL_MITIGATIONS, "no")}
    )
    r = actions.record_review(
        actor=board, algorithm=a, outcome=ReviewOutcome.REQUIRE_CHANGES, reasons="bias test missing"
    )  # type: ignore[arg-type]
    assert r.level == 4 and r.next_review_due is not None
    assert timedelta(days=89) < r.next_review_due - before < timedelta(days=91)
    with pytest.raises(ValidationError, match="reasons"):
        actions.record_review(actor=board, algorithm=a, outcome=ReviewOutcome.APPROVE, reasons="  ")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        actions.record_review(actor=board, algorithm=a, outcome="bless", reasons="x")  # type: ignore[arg-type]
    assert Review.objects.filter(algorithm=a).count() == 2


def test_retire_moves_the_register_entry_and_stops_automatic_decisions(city: City) -> None:
    a = actions.ensure_algorithm(actor=None, code="x", name="X")
    actions.record_review(
        actor=city.users["auditor"], algorithm=a, outcome=ReviewOutcome.RETIRE, reasons="replaced"
    )  # type: ignore[arg-type]
    a.refresh_from_db()
    assert a.phase == Phase.RETIRED and not queries.may_decide_automatically(a.pk)
    assert queries.latest_review(a).next_review_due is None  # type: ignore[union-attr]


def test_a_suspended_algorithm_cannot_enter_production_until_approved(city: City) -> None:
    a = actions.ensure_algorithm(actor=None, code="x", name="X")
    actions.assess_impact(actor=None, algorithm=a, answers={**LOW_RISK, **ALL_MITIGATIONS})
    actions.record_review(
        actor=None, algorithm=a, outcome=ReviewOutcome.SUSPEND, reasons="complaints"
    )
    with pytest.raises(ValidationError, match="not been followed by an approval"):
        actions.set_phase(actor=None, algorithm=a, phase=Phase.PRODUCTION)
    actions.record_review(actor=None, algorithm=a, outcome=ReviewOutcome.APPROVE, reasons="fixed")
    assert actions.set_phase(actor=None, algorithm=a, phase=Phase.PRODUCTION).phase == "production"


def test_suspension_stops_automatic_dispatch_at_once(
    city: City,
    model_in_service: AlgorithmVersion,  # noqa: F811
) -> None:
    text = "楼下水管漏水，水流了一地，请尽快处理"
    first = submit(city, text)
    assert dispatch.dispatch_submitted() == 1
    first.refresh_from_db()
    assert first.status == Status.DISPATCHED
    algorithm = model_in_service.algorithm
    actions.record_review(
        actor=city.users["auditor"],  # type: ignore[arg-type]
        algorithm=algorithm,
        outcome=ReviewOutcome.SUSPEND,
        reasons="misrouting in district D1",
    )
    second = submit(city, text)
    assert dispatch.dispatch_submitted() == 1
    second.refresh_from_db()
    assert second.status != Status.DISPATCHED and second.unit is None
    decision = Decision.objects.about(second).get(kind=Kind.ALGORITHM)
    assert decision.mode == Mode.SUGGESTION  # suggested to the operator, not applied
    assert "automatic_off" in held(decision)
    assert "automatic_off" not in held(Decision.objects.about(first).get(kind=Kind.ALGORITHM))
    # Approved again: no longer held for the suspension (this one may still wait as a
    # likely duplicate of the second).
    actions.record_review(
        actor=None, algorithm=algorithm, outcome=ReviewOutcome.APPROVE, reasons="fixed"
    )
    third = submit(city, text)
    dispatch.dispatch_submitted()
    assert "automatic_off" not in held(Decision.objects.about(third).get(kind=Kind.ALGORITHM))


def held(decision: Decision) -> list[str]:
    policy = next(r for r in decision.reasons if r.get("code") == "policy")
    return list(policy["held"])


def test_review_command_needs_the_board(city: City) -> None:
    actions.ensure_algorithm(actor=None, code="x", name="X")
    with pytest.raises(CommandError, match="ethics board"):
        call_command(
            "algorithms",
            "review",
            "x",
            "--outcome",
            "suspend",
            "--reasons",
            "r",
            "--actor",
            "algorithm_officer",
        )
    call_command(
        "algorithms", "review", "x", "--outcome", "suspend", "--reasons", "r", "--actor", "auditor"
    )
    assert queries.is_suspended(queries.algorithm("x"))  # type: ignore[arg-type]
