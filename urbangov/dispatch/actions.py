"""Every state change of dispatch.

- :func:`dispatch_submitted`, the worker's periodic job: newly submitted cases are assessed
  in batches; each gets a :class:`~urbangov.algorithms.models.Decision`, and is dispatched by
  the dispatcher itself above its category's threshold, or queued for an operator with the
  suggestions. :func:`dispatch_now` does the same for one case inside the transaction of the
  request that submits it (the ``URBANGOV_DISPATCH_INLINE`` setting).
- :func:`accept_suggestion` and :func:`correct_dispatch`, the operator's answers (one click,
  or another unit with a required reason); both are decisions in the log.
- The routing table's changes from the admin, and registering, activating and rolling back
  model versions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from urbangov.algorithms import actions as register
from urbangov.algorithms.models import (
    Activation,
    Algorithm,
    AlgorithmVersion,
    Appeal,
    Decision,
    Kind,
    Mode,
    Verdict,
)
from urbangov.cases import actions as cases
from urbangov.cases.actions import TransitionError
from urbangov.cases.models import Case, CaseEvent, Feedback, Rating, Status
from urbangov.dispatch import classifier, explain, routing, training
from urbangov.dispatch.engine import Assessment, assess
from urbangov.org.models import Category, Unit, Urgency
from urbangov.privacy.actions import Actor, record

logger = logging.getLogger("urbangov.dispatch")

BATCH = 100
RULES_VERSION = "0"


def dispatch_algorithm(*, actor: Actor = None) -> Algorithm:
    return register.ensure_algorithm(
        actor=actor,
        code=classifier.ALGORITHM,
        name=_("Dispatch"),
        purpose=_(
            "Reads each new case, suggests the category and the handling unit, flags "
            "emergencies and likely duplicates, and dispatches by itself where it is sure "
            "enough for the category."
        ),
    )


def rules_version(*, actor: Actor = None) -> AlgorithmVersion:
    """Version 0: the routing table and the rules alone, with no trained model (what runs
    before a model is trained; it never dispatches by itself)."""
    return register.ensure_version(
        actor=actor,
        algorithm=dispatch_algorithm(actor=actor),
        version=RULES_VERSION,
        artefact_format="rules",
        notes="Routing table, emergency words and duplicate search; no trained model.",
    )


# --- acting on an assessment -----------------------------------------------------------------


def _record(assessment: Assessment) -> Decision:
    table = routing.current()
    version = assessment.version or rules_version()
    decision_data: dict[str, Any] = {
        "version": version,
        "subject": assessment.case,
        "inputs": assessment.inputs(),
        "inputs_summary": assessment.summary(table),
        "output": assessment.output(),
        "alternatives": assessment.alternatives(),
        "confidence": assessment.confidence,
        "reasons": assessment.reasons(),
        "mode": assessment.mode,
    }
    # The record's own words, in the platform's language, as the staff account tells them.
    draft = Decision(
        algorithm=version.algorithm,
        reasons=decision_data["reasons"],
        output=decision_data["output"],
        mode=assessment.mode,
    )
    with translation.override(settings.LANGUAGE_CODE):
        words = explain.staff(draft)
    return register.record_decision(actor=None, explanation=words, **decision_data)


def apply(assessment: Assessment) -> Decision:
    """Log the decision and act on it, in one transaction: dispatch the case (automatic
    mode) or queue it for an operator. TransitionError when the case has moved meanwhile
    (another worker took it); then nothing is written."""
    with transaction.atomic():
        return _act(assessment)


def _act(assessment: Assessment, inserted: bool = False) -> Decision:
    """:func:`apply`'s work, inside a transaction or savepoint the caller opened, which is
    undone as a whole on any failure (so the transition takes no savepoint of its own).
    ``inserted``: this transaction inserted the case."""
    case = assessment.case
    best = assessment.best
    urgency = Urgency.EMERGENCY if assessment.emergency else None
    decision = _record(assessment)
    via = {
        "decision": decision.pk,
        "algorithm": decision.algorithm.code,
        "version": decision.version.version if decision.version else None,
    }
    if assessment.mode == Mode.AUTOMATIC and best is not None and best.route.unit:
        # The rows as the routing table read them (it is at most its cache's age, as old
        # as the route itself); read here only if the table was rebuilt meanwhile.
        table = routing.current()
        unit_id, category_id = best.route.unit.id, best.category.id
        cases.dispatch_case(
            case,
            actor=None,
            unit=table.unit_rows.get(unit_id) or Unit.objects.get(pk=unit_id),
            category=table.category_rows.get(category_id) or Category.objects.get(pk=category_id),
            urgency=urgency,
            via=via,
            inserted=inserted,
            savepoint=False,
        )
    else:
        cases.triage_case(
            case, actor=None, urgency=urgency, data=via, inserted=inserted, savepoint=False
        )
    return decision


def _fallback_triage(cases_: Sequence[Case]) -> None:
    """When assessing fails (a bug, a broken table), cases still reach the operators."""
    for case in cases_:
        try:
            cases.triage_case(case)
        except TransitionError:
            continue


def dispatch_submitted(limit: int = 500) -> int:
    """The worker's periodic job (in place of the plain triage): assess submitted cases,
    oldest first, in batches; log each decision and act on it. Two workers may run it at
    once: each case is decided once, the other's attempt changes nothing."""
    ids = list(
        Case.objects.filter(status=Status.SUBMITTED)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    done = 0
    for start in range(0, len(ids), BATCH):
        batch = list(
            Case.objects.filter(
                pk__in=ids[start : start + BATCH], status=Status.SUBMITTED
            ).order_by("id")
        )
        try:
            assessments = assess(batch)
        except Exception:
            logger.exception(
                "dispatch: assessing %d cases failed; queued for operators", len(batch)
            )
            _fallback_triage(batch)
            continue
        for assessment in assessments:
            try:
                apply(assessment)
                done += 1
            except TransitionError:
                continue
    return done


def dispatch_now(case: Case, *, inserted: bool = False) -> Decision | None:
    """Dispatch one new case at once, in the transaction that stores it (the request that
    submitted it), so that the intake and its dispatch commit together. Never raises: the
    work runs in a savepoint, and on any failure only the dispatch is undone; the case stays
    submitted and the worker's job decides it. Called outside a transaction, it opens one.

    ``inserted``: the case was inserted by the transaction this runs in, which therefore
    holds its row and its every field as ``case`` has them; the row is not read again, and
    ``case`` takes the dispatch's changes once they are written."""
    try:
        if case.status != Status.SUBMITTED:
            return None
        # Should another worker have taken the case meanwhile (a call after the intake
        # committed), the transition locks the row, checks its status and refuses.
        with transaction.atomic():
            return _act(assess([case])[0], inserted=inserted)
    except TransitionError:
        return None
    except Exception:
        logger.exception("dispatch: inline dispatch of case %s failed; the worker will", case.pk)
        return None


def on_written(sender: Any, case: Case, created: bool = False, **kwargs: Any) -> None:
    """Receiver of ``case_written`` when inline dispatch is on: a new case is dispatched
    inside its intake transaction."""
    if created:
        dispatch_now(case, inserted=True)


# --- the operator's answers ------------------------------------------------------------------


def _decision_for(case: Case, decision_id: int | None) -> Decision:
    qs = Decision.objects.about(case).filter(
        kind=Kind.ALGORITHM, algorithm__code=classifier.ALGORITHM
    )
    latest = qs.order_by("-created_at", "-id").first()
    if latest is None:
        raise ValidationError(_("The dispatcher has not decided anything about this case."))
    if decision_id is not None and latest.pk != decision_id:
        raise ValidationError(
            _("The dispatcher's suggestion has changed since the page was loaded; look again.")
        )
    return latest


def options(decision: Decision) -> list[dict[str, Any]]:
    """The suggestions of a decision, best first: [{"category", "unit", "score"}]."""
    out = [{**decision.output, "score": decision.confidence}]
    for alt in decision.alternatives:
        out.append({**alt.get("output", {}), "score": alt.get("score")})
    return [o for o in out if o.get("category")]


def overturned_unit(decision: Decision) -> str | None:
    """The unit a decision routed to, where an appeal overturned that routing: it is not
    offered again."""
    overturned = Decision.objects.filter(refers_to=decision, verdict=Verdict.OVERTURNED).exists()
    return (decision.output.get("unit") or None) if overturned else None


def accept_suggestion(
    case: Case, *, actor: Actor, choice: int = 0, decision_id: int | None = None, note: str = ""
) -> Case:
    """The operator sends the case where the dispatcher suggested (its first suggestion, or
    another of its three): one click. Logged as the operator's decision in answer to it."""
    decision = _decision_for(case, decision_id)
    offered = options(decision)
    if not 0 <= choice < len(offered):
        raise ValidationError({"choice": [_("No such suggestion.")]})
    pick = offered[choice]
    if pick.get("unit") and pick.get("unit") == overturned_unit(decision):
        raise ValidationError(
            {"choice": [_("An appeal overturned this routing; choose another unit.")]}
        )
    unit = Unit.objects.filter(code=pick.get("unit") or "", active=True).first()
    if unit is None:
        raise ValidationError(
            {"choice": [_("This suggestion names no active unit; choose a unit instead.")]}
        )
    category = Category.objects.filter(code=pick["category"], active=True).first()
    if category is None:
        raise ValidationError({"choice": [_("This suggestion's category is no longer in use.")]})
    urgency = Urgency.EMERGENCY if decision.output.get("emergency") else None
    return cases.dispatch_case(
        case, actor=actor, unit=unit, category=category, urgency=urgency, note=note
    )


def correct_dispatch(
    case: Case,
    *,
    actor: Actor,
    unit: Unit,
    category: Category | None = None,
    reason: str,
    urgency: str | None = None,
) -> Case:
    """The operator sends the case to a unit of their choosing; the reason is required and
    logged with their decision (it teaches the next model, and is what an audit reads)."""
    reason = cases.clean_text(
        reason,
        field="reason",
        limit=cases.NOTE_MAX,
        required=_("Say why the case goes to another unit than suggested."),
    )
    decision = (
        Decision.objects.about(case)
        .filter(kind=Kind.ALGORITHM, algorithm__code=classifier.ALGORITHM)
        .order_by("-created_at", "-id")
        .first()
    )
    if decision is not None:
        if urgency is None and decision.output.get("emergency"):
            urgency = Urgency.EMERGENCY
        if category is None:
            # Another unit, the category the dispatcher read (unless the operator changed it).
            category = Category.objects.filter(
                code=decision.output.get("category") or "", active=True
            ).first()
    return cases.dispatch_case(
        case, actor=actor, unit=unit, category=category, urgency=urgency, note=reason
    )


# --- what happens after a decision: ratings and appeals --------------------------------------

SENT_BACK_ON_APPEAL = "dispatch.appeal.sent_back"
CLOSED_BEFORE_APPEAL = "dispatch.appeal.case_no_longer_open"
WITH_OPERATORS = (Status.SUBMITTED, Status.AWAITING_DISPATCH)


def record_rating(case: Case) -> Decision | None:
    """The resident's rating of the case's newest resolution, recorded on the dispatcher's
    decision about it as a real outcome (what the platform audits read for satisfaction by
    group). None where the case is unrated or no algorithm routed it."""
    feedback = (
        Feedback.objects.filter(case_id=case.pk, round=case.reopen_count).order_by("-id").first()
    )
    if feedback is None:
        return None
    rated = (
        CaseEvent.objects.filter(case_id=case.pk, kind="rate")
        .select_related("actor")
        .order_by("-at", "-id")
        .first()
    )
    return register.record_rating(
        actor=rated.actor if rated is not None else None,
        subject=case,
        keys=("unit",),
        rating=feedback.rating,
        satisfied=feedback.rating in (Rating.SATISFIED, Rating.BASIC),
        round_no=feedback.round,
    )


def on_transitioned(sender: Any, case: Case, name: str, **kwargs: Any) -> None:
    """Receiver of ``case_transitioned``: a rated case's rating goes onto its decision. Runs
    after the rating committed; a failure is logged and never undoes the rating."""
    if name != "rate":
        return
    try:
        record_rating(case)
    except Exception:
        logger.exception(
            "dispatch: recording the rating of case %s on its decision failed", case.pk
        )


def send_back_on_appeal(appeal: Appeal, outcome: Decision) -> Case | None:
    """An appeal overturned the dispatcher's routing of a case: if the case is still with a
    unit (dispatched or accepted), it goes back to the operators' queue, with the reviewer as
    the actor and the appeal on its timeline, for a person to route it again. A case already
    resolved, closed, merged or rejected is left as it is, and the audit log notes it; one
    still waiting for an operator needs nothing. Returns the case sent back, else None."""
    decision = appeal.decision
    if (
        outcome.verdict != Verdict.OVERTURNED
        or decision.algorithm.code != classifier.ALGORITHM
        or decision.subject_type != Case._meta.label_lower
        or "unit" not in decision.output
    ):
        return None
    case = Case.objects.filter(pk=decision.subject_id).first()
    if case is None:
        return None
    actor = outcome.actor
    if case.status in (Status.DISPATCHED, Status.ACCEPTED):
        with translation.override(settings.LANGUAGE_CODE):
            note = _(
                "Appeal upheld: the dispatcher's routing was overturned on appeal (%(reason)s). "
                "Back in the dispatch queue for a person to route it."
            ) % {"reason": outcome.reason}
        if len(note) > cases.NOTE_MAX:
            note = note[: cases.NOTE_MAX - 1] + "…"
        try:
            with transaction.atomic():
                sent = cases.send_back_case(case, actor=actor, reason=note)
                record(
                    actor=actor,
                    action=SENT_BACK_ON_APPEAL,
                    obj=sent,
                    data={"appeal": appeal.pk, "decision": decision.pk, "outcome": outcome.pk},
                )
            return sent
        except TransitionError:
            # Moved on meanwhile (resolved, say): treated as below.
            case.refresh_from_db()
    if case.status in WITH_OPERATORS:
        return None  # not routed yet, or already back in the queue: a person routes it
    record(
        actor=actor,
        action=CLOSED_BEFORE_APPEAL,
        obj=case,
        data={
            "appeal": appeal.pk,
            "decision": decision.pk,
            "outcome": outcome.pk,
            "status": case.status,
        },
    )
    return None


def on_appeal_decided(sender: Any, appeal: Appeal, outcome: Decision, **kwargs: Any) -> None:
    """Receiver of ``appeal_decided`` (after the outcome committed)."""
    try:
        send_back_on_appeal(appeal, outcome)
    except Exception:
        logger.exception("dispatch: acting on the outcome of appeal %s failed", appeal.pk)


# --- versions ----------------------------------------------------------------------------------


def register_model(
    *,
    actor: Actor,
    artefact: bytes,
    trained_on: dict[str, Any],
    metrics: dict[str, Any],
    notes: str = "",
) -> AlgorithmVersion:
    """Register a trained model as a new version (not yet in service), after checking that
    the dispatcher can load it."""
    from urbangov.analytics import textclf

    try:
        textclf.Model.from_bytes(artefact)
    except textclf.ModelFormatError as exc:
        raise ValidationError(_("The model cannot be loaded: %(error)s") % {"error": exc}) from exc
    return register.register_version(
        actor=actor,
        algorithm=dispatch_algorithm(actor=actor),
        artefact=artefact,
        artefact_format=classifier.ARTEFACT_FORMAT,
        trained_on=trained_on,
        metrics=metrics,
        notes=notes,
    )


def train_version(
    *,
    actor: Actor,
    limit: int = 40_000,
    holdout: float = 0.2,
    min_per_class: int = 5,
    activate_if_better: bool = True,
    reason: str = "",
    say: Callable[[str], None] = lambda _text: None,
) -> tuple[AlgorithmVersion, training.Result, bool]:
    """Train on the city's resolved cases, register the model with its held-out figures, and
    put it in service if it is at least as good as the version in service (and
    ``activate_if_better``). Returns the version, the figures and whether it was activated.
    training.NotEnough when there is too little to learn from; nothing is written then."""
    model, result = training.train(
        limit=limit,
        holdout=holdout,
        min_per_class=min_per_class,
        default_threshold=float(settings.URBANGOV.get("DISPATCH_THRESHOLD", 0.9)),
        say=say,
    )
    activated = False
    with transaction.atomic():
        version = register_model(
            actor=actor,
            artefact=model.to_bytes(),
            trained_on=result.trained_on,
            metrics=result.metrics,
        )
        if result.better and activate_if_better:
            activate(
                actor=actor,
                version=version,
                reason=reason
                or "trained; at least as good as the version in service on held-out cases",
            )
            activated = True
    return version, result, activated


def activate(*, actor: Actor, version: AlgorithmVersion, reason: str = "") -> Activation:
    """Put a version in service; refused (nothing changes) if it cannot be loaded."""
    if version.algorithm.code != classifier.ALGORITHM:
        raise ValidationError(_("That is not a version of the dispatcher."))
    if version.version == RULES_VERSION:
        raise ValidationError(_("Version 0 is the rules alone; it is never activated."))
    activation = register.activate_version(
        actor=actor, version=version, reason=reason, verify=classifier.verify
    )
    transaction.on_commit(classifier.forget)
    return activation


def rollback(*, actor: Actor, reason: str = "") -> Activation:
    """Put the version that was in service before the current one back."""
    algorithm = dispatch_algorithm(actor=actor)
    activation = register.rollback(
        actor=actor, algorithm=algorithm, reason=reason, verify=classifier.verify
    )
    transaction.on_commit(classifier.forget)
    return activation
