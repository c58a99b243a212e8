"""The dispatcher over REST, for staff: a case's dispatch decision with its suggestions and
reasons, and the operator's answers (accept a suggestion; another unit with a reason).

404 when the caller may not see the case (as for a missing one), 403 when they may not
dispatch it, 409 when the case is no longer waiting to be dispatched; nothing changes on
any error.
"""

from __future__ import annotations

from datetime import datetime

import pydantic
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.errors import HttpError

from urbangov.cases import queries as case_queries
from urbangov.cases.actions import TransitionError
from urbangov.cases.models import Case, Status
from urbangov.dispatch import actions, permissions, queries
from urbangov.org.auth import STAFF_AUTH, staff_user
from urbangov.org.models import Category, Unit

router = Router(tags=["dispatch"])


class Error(Schema):
    detail: str
    errors: dict[str, list[str]] | None = None


ERRORS: dict[int, type[Schema]] = dict.fromkeys((400, 401, 403, 404, 409, 422), Error)


class OptionOut(Schema):
    index: int
    category: str = Field(description="Category code.")
    category_name: str
    unit: str | None = Field(description="Unit code the routing table gives; null: none.")
    unit_name: str
    probability: float | None = Field(description="Calibrated; null where no model ran.")


class AnswerOut(Schema):
    at: datetime
    kind: str = Field(description="human (a person's decision) or outcome (what really happened).")
    verdict: str
    output: dict[str, object]
    reason: str
    by: str


class DispatchOut(Schema):
    decision: int
    version: str | None
    at: datetime
    mode: str = Field(description="automatic (took effect by itself) or suggestion.")
    confidence: float | None
    output: dict[str, object]
    suggestions: list[OptionOut]
    explanation: str = Field(description="Why, in the request's language.")
    features: list[str] = Field(description="Words of the text that weighed most.")
    routing: str = Field(description="The routing rule applied, in words.")
    emergency_terms: list[str]
    duplicate_of: str | None = Field(
        description="Tracking code of the likely duplicate, where the caller may see it."
    )
    held: list[str] = Field(description="Why it did not dispatch by itself.")
    answers: list[AnswerOut]


def _case_for(request: HttpRequest, case_id: int) -> tuple[User, Case]:
    user = staff_user(request)
    return user, case_queries.get_for(user, case_id)


def _out(user: User, case: Case) -> DispatchOut:
    found = queries.panel(user, case)
    if found is None:
        raise Http404("No decision")
    d = found.decision
    thread = next((t for t in found.threads if t.decision.pk == d.pk), None)
    return DispatchOut(
        decision=d.pk,
        version=d.version.version if d.version else None,
        at=d.created_at,
        mode=d.mode,
        confidence=d.confidence,
        output=d.output,
        suggestions=[
            OptionOut(
                index=o.index,
                category=o.category_code,
                category_name=o.category,
                unit=o.unit_code,
                unit_name=o.unit,
                probability=o.probability,
            )
            for o in found.options
        ],
        explanation=found.explanation,
        features=found.features,
        routing=found.route,
        emergency_terms=found.danger,
        duplicate_of=(
            str(found.duplicate.get("tracking_code"))
            if found.duplicate and found.duplicate_visible
            else None
        ),
        held=found.held,
        answers=[
            AnswerOut(
                at=a.created_at,
                kind=a.kind,
                verdict=a.verdict,
                output=a.output,
                reason=a.reason,
                by=a.actor_label,
            )
            for a in (thread.answers if thread else [])
        ],
    )


@router.get(
    "/cases/{int:case_id}/dispatch",
    response={200: DispatchOut, **{k: v for k, v in ERRORS.items() if k in (401, 403, 404)}},
    auth=STAFF_AUTH,
    summary="The dispatcher's decision about a case (staff)",
)
def read_dispatch(request: HttpRequest, case_id: int) -> DispatchOut:
    """The dispatcher's latest decision about the case: its suggestions with calibrated
    probabilities, why (words, routing rule, emergency, duplicate), and the answers to it.
    404 when it has decided nothing about the case."""
    user, case = _case_for(request, case_id)
    return _out(user, case)


def _may_decide(user: User, case: Case) -> None:
    if not permissions.can_decide(user, case):
        raise HttpError(403, _("You may not dispatch this case."))
    if case.status not in (Status.SUBMITTED, Status.AWAITING_DISPATCH):
        raise HttpError(
            409,
            _("The case is %(status)s; it is not waiting to be dispatched.")
            % {"status": Status(case.status).label},
        )


class AcceptIn(Schema):
    model_config = pydantic.ConfigDict(extra="forbid")

    choice: int = Field(0, ge=0, le=9, description="Which suggestion: 0 is the first.")
    decision: int | None = Field(
        None, description="The decision answered; refused (400) if a newer one exists."
    )


@router.post(
    "/cases/{int:case_id}/dispatch/accept",
    response={200: DispatchOut, **ERRORS},
    auth=STAFF_AUTH,
    summary="Accept a suggestion (staff)",
)
def accept(request: HttpRequest, case_id: int, payload: AcceptIn) -> DispatchOut:
    """Send the case where the dispatcher suggested; logged as the operator's decision."""
    user, case = _case_for(request, case_id)
    _may_decide(user, case)
    try:
        actions.accept_suggestion(
            case, actor=user, choice=payload.choice, decision_id=payload.decision
        )
    except TransitionError as exc:
        raise HttpError(409, str(exc)) from None
    return _out(user, Case.objects.get(pk=case.pk))


class CorrectIn(Schema):
    model_config = pydantic.ConfigDict(extra="forbid")

    unit: str = Field(description="The unit's code.")
    category: str | None = Field(None, description="A category code; default: the suggested one.")
    reason: str = Field(description="Why not the suggestion (required).")


@router.post(
    "/cases/{int:case_id}/dispatch/correct",
    response={200: DispatchOut, **ERRORS},
    auth=STAFF_AUTH,
    summary="Send to another unit, with a reason (staff)",
)
def correct(request: HttpRequest, case_id: int, payload: CorrectIn) -> DispatchOut:
    """Send the case to a unit the operator chooses; the reason is required and logged."""
    user, case = _case_for(request, case_id)
    _may_decide(user, case)
    unit = Unit.objects.filter(code=payload.unit, active=True).first()
    if unit is None:
        raise ValidationError(
            {"unit": [_("No active unit with code %(code)r.") % {"code": payload.unit}]}
        )
    category = None
    if payload.category:
        category = Category.objects.filter(code=payload.category, active=True).first()
        if category is None:
            raise ValidationError(
                {"category": [_("No category with code %(code)r.") % {"code": payload.category}]}
            )
    try:
        actions.correct_dispatch(
            case, actor=user, unit=unit, category=category, reason=payload.reason
        )
    except TransitionError as exc:
        raise HttpError(409, str(exc)) from None
    return _out(user, Case.objects.get(pk=case.pk))
