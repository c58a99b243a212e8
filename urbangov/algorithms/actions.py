"""Every write to the register and the decision log.

Each function runs in one transaction and writes its audit event. Decisions are appended,
never changed: a person's answer to an algorithm's decision, and the real outcome learnt
later, are new rows that point to it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangov import db
from urbangov.algorithms import impact, signals
from urbangov.algorithms.models import (
    Activation,
    Algorithm,
    AlgorithmVersion,
    Appeal,
    AppealStatus,
    Artefact,
    Decision,
    ImpactAssessment,
    Kind,
    Mode,
    Phase,
    Review,
    ReviewOutcome,
    Verdict,
)
from urbangov.privacy.actions import Actor, actor_label, actor_user, record
from urbangov.privacy.models import canonical_json

REASON_MAX = 2000


def digest(inputs: Any) -> str:
    """SHA-256 of the inputs as canonical JSON: the same inputs always give the same digest."""
    return hashlib.sha256(canonical_json(inputs).encode("utf-8")).hexdigest()


def subject_key(obj: models.Model) -> tuple[str, str]:
    return obj._meta.label_lower, str(obj.pk)


# --- the register ---------------------------------------------------------------------------


def ensure_algorithm(
    *, actor: Actor, code: str, name: str, purpose: str = "", owner: Any = None
) -> Algorithm:
    """The algorithm registered under ``code``, registering it the first time."""
    with transaction.atomic():
        found = Algorithm.objects.select_for_update().filter(code=code).first()
        if found is not None:
            return found
        algorithm = Algorithm(code=code, name=name, purpose=purpose, owner=owner)
        algorithm.full_clean()
        algorithm.save()
        record(actor=actor, action="algorithms.register", obj=algorithm, data={"code": code})
    return algorithm


# Register fields a person may edit (the rest: code, activations, phase have their own actions).
REGISTER_FIELDS = (
    "name",
    "purpose",
    "owner",
    "responsible_person",
    "contact_email",
    "supplier",
    "algorithm_type",
    "decisions_made",
    "effect_on_residents",
    "benefits",
    "alternatives_considered",
    "risks",
    "non_discrimination",
    "legal_basis",
    "data_sources",
    "personal_data",
    "sensitive_data",
    "human_oversight",
    "how_to_appeal",
    "error_focus",
    "service_provider",
    "service_form",
    "application_domain",
    "filing_type",
    "self_assessment",
    "public_notice",
    "filing_number",
    "website",
    "plain_language",
)
PLAIN_LANGUAGES = ("en", "zh-hans", "zh-hant")
PLAIN_KEYS = ("summary", "effect", "appeal")


def _check_plain(value: Any) -> None:
    if not isinstance(value, dict) or not all(
        lang in PLAIN_LANGUAGES
        and isinstance(told, dict)
        and all(k in PLAIN_KEYS and isinstance(v, str) for k, v in told.items())
        for lang, told in value.items()
    ):
        raise ValidationError(
            {
                "plain_language": [
                    _("Give {language: {summary, effect, appeal}} for en, zh-hans, zh-hant.")
                ]
            }
        )


def update_register(*, actor: Actor, algorithm: Algorithm, **changes: Any) -> Algorithm:
    """Change the register entry of ``algorithm``; the audit event lists what changed."""
    unknown = sorted(set(changes) - set(REGISTER_FIELDS))
    if unknown:
        raise ValidationError(_("Not a register field: %(f)s") % {"f": ", ".join(unknown)})
    if "plain_language" in changes:
        _check_plain(changes["plain_language"])
    with transaction.atomic():
        row = Algorithm.objects.select_for_update().get(pk=algorithm.pk)
        changed = [f for f, v in changes.items() if getattr(row, f) != v]
        for field_name in changed:
            setattr(row, field_name, changes[field_name])
        if not changed:
            return row
        row.updated_at = timezone.now()
        row.full_clean()
        row.save(update_fields=[*changed, "updated_at"])
        record(
            actor=actor,
            action="algorithms.register.update",
            obj=row,
            data={"algorithm": row.code, "changed": sorted(changed)},
        )
    return row


def set_phase(*, actor: Actor, algorithm: Algorithm, phase: str, reason: str = "") -> Algorithm:
    """Move ``algorithm`` to ``phase``. Production needs an impact assessment; at level III
    and IV also the ethics board's approval (after the newest assessment) and a public
    notice. A suspended algorithm enters production only after a new approval."""
    from urbangov.algorithms import queries

    if phase not in Phase.values:
        raise ValidationError({"phase": [_("Unknown phase %(p)r.") % {"p": phase}]})
    with transaction.atomic():
        row = Algorithm.objects.select_for_update().get(pk=algorithm.pk)
        if row.phase == phase:
            return row
        if phase == Phase.PRODUCTION:
            problems = queries.production_blockers(row)
            if problems:
                raise ValidationError(problems)
        previous = row.phase
        row.phase = phase
        row.updated_at = timezone.now()
        row.save(update_fields=["phase", "updated_at"])
        record(
            actor=actor,
            action="algorithms.phase",
            obj=row,
            data={"algorithm": row.code, "from": previous, "to": phase, "reason": reason.strip()},
        )
    return row


def assess_impact(
    *, actor: Actor, algorithm: Algorithm, answers: Mapping[str, Any]
) -> ImpactAssessment:
    """Score a filled-in questionnaire and keep it; the newest sets the impact level.
    ValidationError naming every unanswered required question (nothing is saved)."""
    try:
        clean = impact.validate(dict(answers))
    except impact.IncompleteError as exc:
        errors: dict[str, list[str]] = {}
        for q in exc.missing:
            errors[q] = [_("This question must be answered.")]
        for q in exc.invalid:
            errors[q] = [_("Not one of the question's answers.")]
        raise ValidationError(errors) from None
    scored = impact.score(clean)
    with transaction.atomic():
        Algorithm.objects.select_for_update().get(pk=algorithm.pk)
        row = ImpactAssessment(
            algorithm=algorithm,
            answers=clean,
            raw_score=scored.raw,
            raw_max=scored.raw_max,
            mitigation_score=scored.mitigation,
            mitigation_max=scored.mitigation_max,
            score=scored.score,
            level=scored.level,
            actor=actor_user(actor),
            actor_label=actor_label(actor),
        )
        row.save()
        record(
            actor=actor,
            action="algorithms.assess",
            obj=row,
            data={
                "algorithm": algorithm.code,
                "level": scored.level,
                "raw": scored.raw,
                "mitigation": scored.mitigation,
                "score": scored.score,
            },
        )
    return row


def record_review(
    *,
    actor: Actor,
    algorithm: Algorithm,
    outcome: str,
    reasons: str,
) -> Review:
    """The ethics board's review: approve, require changes, suspend or retire, with reasons.
    Suspension takes effect at once (the algorithm makes no automatic decision from then on);
    retirement also moves the register entry to the retired phase. The next review falls due
    by the impact level (:data:`urbangov.algorithms.impact.SAFEGUARDS`)."""
    from urbangov.algorithms import queries

    if outcome not in ReviewOutcome.values:
        raise ValidationError({"outcome": [_("Unknown outcome %(o)r.") % {"o": outcome}]})
    reasons = (reasons or "").strip()
    if not reasons:
        raise ValidationError({"reasons": [_("A review gives its reasons.")]})
    if len(reasons) > 4 * REASON_MAX:
        raise ValidationError({"reasons": [_("At most %(n)d characters.") % {"n": 4 * REASON_MAX}]})
    with transaction.atomic():
        row = Algorithm.objects.select_for_update().get(pk=algorithm.pk)
        level = queries.impact_level(row)
        now = timezone.now()
        due = None
        if outcome != ReviewOutcome.RETIRE:
            due = now + impact.safeguards(level).review_every
        review = Review(
            algorithm=row,
            version_id=row.active_version_id,
            outcome=outcome,
            reasons=reasons,
            level=level,
            next_review_due=due,
            created_at=now,
            actor=actor_user(actor),
            actor_label=actor_label(actor),
        )
        review.save()
        record(
            actor=actor,
            action=f"algorithms.review.{outcome}",
            obj=review,
            data={
                "algorithm": row.code,
                "version": row.active_version.version if row.active_version else None,
                "outcome": outcome,
                "reasons": reasons,
                "level": level,
                "next_review_due": due.isoformat() if due else None,
            },
        )
        if outcome == ReviewOutcome.RETIRE and row.phase != Phase.RETIRED:
            set_phase(actor=actor, algorithm=row, phase=Phase.RETIRED, reason=reasons)
    return review


def next_version_label(algorithm: Algorithm) -> str:
    """The next free version number of ``algorithm``: "1", "2", …"""
    numbers = [int(v) for v in algorithm.versions.values_list("version", flat=True) if v.isdigit()]
    return str(max(numbers, default=0) + 1)


def register_version(
    *,
    actor: Actor,
    algorithm: Algorithm,
    version: str | None = None,
    artefact: bytes | None = None,
    artefact_format: str = "",
    trained_on: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    notes: str = "",
) -> AlgorithmVersion:
    """Register a new version (not yet in service) with its artefact and its evidence."""
    with transaction.atomic():
        # Locked, so that two registrations do not take the same number.
        Algorithm.objects.select_for_update().get(pk=algorithm.pk)
        label = version or next_version_label(algorithm)
        if AlgorithmVersion.objects.filter(algorithm=algorithm, version=label).exists():
            raise ValidationError(
                {"version": [_("Version %(v)s is already registered.") % {"v": label}]}
            )
        row = AlgorithmVersion(
            algorithm=algorithm,
            version=label,
            created_by=actor_user(actor),
            created_by_label=actor_label(actor),
            artefact_sha256=hashlib.sha256(artefact).hexdigest() if artefact is not None else "",
            artefact_format=artefact_format,
            artefact_size=len(artefact) if artefact is not None else 0,
            trained_on=dict(trained_on or {}),
            metrics=dict(metrics or {}),
            notes=notes,
        )
        row.save()
        if artefact is not None:
            Artefact(version=row, data=artefact).save()
        record(
            actor=actor,
            action="algorithms.version.register",
            obj=row,
            data={
                "algorithm": algorithm.code,
                "version": label,
                "sha256": row.artefact_sha256,
                "size": row.artefact_size,
            },
        )
    return row


def ensure_version(
    *, actor: Actor, algorithm: Algorithm, version: str, artefact_format: str, notes: str = ""
) -> AlgorithmVersion:
    """The version ``version`` of ``algorithm``, registering it the first time (for methods
    that are code and rules, with no trained artefact: their version is the method's)."""
    found = AlgorithmVersion.objects.filter(algorithm=algorithm, version=version).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return register_version(
                actor=actor,
                algorithm=algorithm,
                version=version,
                artefact_format=artefact_format,
                notes=notes,
            )
    except ValidationError:
        # Another process registered it at the same moment.
        return AlgorithmVersion.objects.get(algorithm=algorithm, version=version)


def artefact_bytes(version: AlgorithmVersion) -> bytes:
    """The version's artefact, checked against the hash registered with it."""
    found = Artefact.objects.filter(version=version).values_list("data", flat=True).first()
    if found is None:
        raise ValidationError(_("Version %(v)s has no stored artefact.") % {"v": version.version})
    data = bytes(found)
    if hashlib.sha256(data).hexdigest() != version.artefact_sha256:
        raise ValidationError(
            _("The stored artefact of version %(v)s does not match its registered SHA-256.")
            % {"v": version.version}
        )
    return data


Verify = Callable[[AlgorithmVersion], None]


def activate_version(
    *, actor: Actor, version: AlgorithmVersion, reason: str = "", verify: Verify | None = None
) -> Activation:
    """Put ``version`` into service. ``verify`` (the owning app's check that it can run the
    version: its artefact loads) is called first; if it raises, nothing changes."""
    return _activate(actor=actor, version=version, reason=reason, verify=verify, rollback=False)


def rollback(
    *, actor: Actor, algorithm: Algorithm, reason: str = "", verify: Verify | None = None
) -> Activation:
    """Go back to the version that was in service before the current one."""
    last = Activation.objects.filter(algorithm=algorithm).order_by("-at", "-id").first()
    if last is None or last.previous is None:
        raise ValidationError(
            _("%(name)s has no earlier version to roll back to.") % {"name": algorithm.name}
        )
    if last.version_id != algorithm.active_version_id:
        raise ValidationError(_("The version in service is not the one last activated."))
    return _activate(
        actor=actor, version=last.previous, reason=reason, verify=verify, rollback=True
    )


def _activate(
    *,
    actor: Actor,
    version: AlgorithmVersion,
    reason: str,
    verify: Verify | None,
    rollback: bool,
) -> Activation:
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [_("At most %(n)d characters.") % {"n": REASON_MAX}]})
    if version.artefact_sha256:
        artefact_bytes(version)
    if verify is not None:
        verify(version)
    with transaction.atomic():
        algorithm = Algorithm.objects.select_for_update().get(pk=version.algorithm_id)
        previous_id = algorithm.active_version_id
        if previous_id == version.pk:
            raise ValidationError(
                _("Version %(v)s is already in service.") % {"v": version.version}
            )
        Algorithm.objects.filter(pk=algorithm.pk).update(active_version=version)
        activation = Activation(
            algorithm=algorithm,
            version=version,
            previous_id=previous_id,
            rollback=rollback,
            actor=actor_user(actor),
            actor_label=actor_label(actor),
            reason=reason,
        )
        activation.save()
        record(
            actor=actor,
            action="algorithms.rollback" if rollback else "algorithms.activate",
            obj=algorithm,
            data={
                "algorithm": algorithm.code,
                "version": version.version,
                "previous": (
                    AlgorithmVersion.objects.get(pk=previous_id).version if previous_id else None
                ),
                "reason": reason,
            },
        )
    return activation


# --- decisions ------------------------------------------------------------------------------


def _insert(decision: Decision) -> None:
    # Every dispatched case writes one: the lean INSERT (Decision relies on no save() logic
    # beyond refusing updates, and has no signals).
    db.insert(decision)


def _write(actor: Actor, decision: Decision) -> Decision:
    """Insert ``decision`` and its audit event, which commit together: in the caller's
    transaction where there is one — no savepoint of their own, as everything that can be
    refused is checked before, and a database error must undo the caller's change too —
    else in a transaction of their own."""
    with transaction.atomic(savepoint=False):
        _insert(decision)
        _decision_audit(actor, decision)
    return decision


def _answer(
    decided: Decision,
    kind: str,
    output: Mapping[str, Any],
    verdict: str,
    reason: str,
    actor: Actor,
    label: str,
) -> Decision:
    """A person's decision or a real outcome answering the algorithm's ``decided``."""
    return Decision(
        algorithm=decided.algorithm,
        version=None,
        kind=kind,
        subject_type=decided.subject_type,
        subject_id=decided.subject_id,
        refers_to=decided,
        output=dict(output),
        verdict=verdict,
        reason=reason,
        actor=actor_user(actor),
        actor_label=label,
        created_at=timezone.now(),
    )


def _decision_audit(actor: Actor, decision: Decision) -> None:
    record(
        actor=actor,
        action=f"algorithms.decision.{decision.kind}",
        obj=decision,
        data={
            "algorithm": decision.algorithm.code,
            "version": decision.version.version if decision.version else None,
            "subject": f"{decision.subject_type}:{decision.subject_id}",
            "refers_to": decision.refers_to_id,
            "mode": decision.mode,
            "verdict": decision.verdict,
            "inputs_digest": decision.inputs_digest,
        },
    )


def record_decision(
    *,
    actor: Actor = None,
    version: AlgorithmVersion,
    subject: models.Model,
    inputs: Any,
    inputs_summary: Mapping[str, Any] | None = None,
    output: Mapping[str, Any],
    alternatives: Sequence[Mapping[str, Any]] = (),
    confidence: float | None = None,
    explanation: str = "",
    reasons: Sequence[Mapping[str, Any]] = (),
    mode: str = Mode.SUGGESTION,
) -> Decision:
    """Log an algorithm's decision about ``subject``. ``inputs`` is everything it read (only
    its digest is kept); ``inputs_summary`` what may be kept as it is (nothing personal)."""
    if mode not in Mode.values:
        raise ValidationError(_("Unknown mode %(m)r.") % {"m": mode})
    if confidence is not None and not 0.0 <= confidence <= 1.0:
        raise ValidationError(_("A confidence lies between 0 and 1."))
    subject_type, subject_id = subject_key(subject)
    decision = Decision(
        algorithm=version.algorithm,
        version=version,
        kind=Kind.ALGORITHM,
        subject_type=subject_type,
        subject_id=subject_id,
        inputs_digest=digest(inputs),
        inputs=dict(inputs_summary or {}),
        output=dict(output),
        alternatives=[dict(a) for a in alternatives],
        confidence=confidence,
        explanation=explanation,
        reasons=[dict(r) for r in reasons],
        mode=mode,
        actor=actor_user(actor),
        actor_label=f"{version.algorithm.code} {version.version}",
    )
    return _write(actor, decision)


def _matches(chosen: Mapping[str, Any], offered: Mapping[str, Any]) -> bool:
    return all(offered.get(key) == value for key, value in chosen.items())


def latest_algorithm_decision(subject: models.Model, keys: Sequence[str]) -> Decision | None:
    """The newest decision by an algorithm about ``subject`` whose output covers ``keys``."""
    candidates = (
        Decision.objects.about(subject)
        .filter(kind=Kind.ALGORITHM)
        .select_related("algorithm", "version")
        .order_by("-created_at", "-id")[:20]
    )
    for found in candidates:
        if all(key in found.output for key in keys):
            return found
    return None


def verdict_for(decision: Decision, chosen: Mapping[str, Any]) -> str:
    """Whether ``chosen`` is what the algorithm decided, one of its alternatives, or neither."""
    if _matches(chosen, decision.output):
        return Verdict.ACCEPTED
    if any(_matches(chosen, alt.get("output", {})) for alt in decision.alternatives):
        return Verdict.ALTERNATIVE
    return Verdict.CORRECTED


def record_human_decision(
    *,
    actor: Actor,
    subject: models.Model,
    output: Mapping[str, Any],
    reason: str = "",
    verdict: str | None = None,
) -> Decision | None:
    """A person decided ``output`` about ``subject``: if an algorithm decided about it before
    (an output with the same keys), log the person's decision as the answer to it — accepted,
    another of its suggestions, or corrected — with the person's reason. Returns None where
    no algorithm had decided. Call it inside the transaction that makes the change."""
    user = actor_user(actor)
    if user is None:
        return None
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [_("At most %(n)d characters.") % {"n": REASON_MAX}]})
    decided = latest_algorithm_decision(subject, list(output))
    if decided is None:
        return None
    found = verdict or verdict_for(decided, output)
    if found not in Verdict.values:
        raise ValidationError(_("Unknown verdict %(v)r.") % {"v": found})
    return _write(
        actor, _answer(decided, Kind.HUMAN, output, found, reason, actor, actor_label(actor))
    )


def record_outcome(
    *, actor: Actor, subject: models.Model, output: Mapping[str, Any], note: str = ""
) -> Decision | None:
    """What really happened to ``subject`` (the unit that resolved a case), as the answer to
    the newest algorithm decision whose output has the same keys; None where there is none."""
    decided = latest_algorithm_decision(subject, list(output))
    if decided is None:
        return None
    verdict = Verdict.ACCEPTED if _matches(output, decided.output) else Verdict.CORRECTED
    return _write(
        actor,
        _answer(
            decided, Kind.OUTCOME, output, verdict, note[:REASON_MAX], actor, actor_label(actor)
        ),
    )


def record_rating(
    *,
    actor: Actor,
    subject: models.Model,
    keys: Sequence[str],
    rating: str,
    satisfied: bool,
    round_no: int = 0,
) -> Decision | None:
    """The person ``subject`` is about rated what came of it (a resident's rating of a
    resolved case, round ``round_no``): a real outcome answering the newest algorithm decision
    whose output has ``keys``, with output ``{"rating", "satisfied", "round"}`` and no verdict
    (a rating says nothing on whether the decision was right). The platform audits read
    ``satisfied``. None where no algorithm decided; a round's rating is recorded once (the
    row already there is returned)."""
    decided = latest_algorithm_decision(subject, list(keys))
    if decided is None:
        return None
    output = {"rating": str(rating), "satisfied": bool(satisfied), "round": int(round_no)}
    with transaction.atomic():
        # Two deliveries of the same rating at once: the second waits, then finds the first.
        Decision.objects.select_for_update().filter(pk=decided.pk).first()
        for earlier in Decision.objects.filter(refers_to=decided, kind=Kind.OUTCOME):
            if "satisfied" in earlier.output and earlier.output.get("round") == output["round"]:
                return earlier
        label = actor_label(actor, "resident")
        return _write(actor, _answer(decided, Kind.OUTCOME, output, "", "", actor, label))


# --- appeals --------------------------------------------------------------------------------

GROUNDS_MAX = 4000


def appeal_days() -> int:
    return int(settings.URBANGOV.get("APPEAL_DAYS", 15))


def submit_appeal(*, actor: Actor = None, decision: Decision, grounds: str) -> Appeal:
    """A resident appeals ``decision`` (an algorithm's). It goes to a person who took no part
    in it (a supervisor, else an operator, the one with the fewest open appeals), due in
    ``APPEAL_DAYS`` days. ValidationError where it cannot be appealed (nothing is saved)."""
    from datetime import timedelta

    from urbangov.algorithms import queries

    grounds = (grounds or "").strip()
    if not grounds:
        raise ValidationError({"grounds": [_("Say why you disagree.")]})
    if len(grounds) > GROUNDS_MAX:
        raise ValidationError({"grounds": [_("At most %(n)d characters.") % {"n": GROUNDS_MAX}]})
    if decision.kind != Kind.ALGORITHM:
        raise ValidationError(_("Only an algorithm's decision can be appealed here."))
    with transaction.atomic():
        Decision.objects.select_for_update().filter(pk=decision.pk).first()
        if Appeal.objects.filter(decision=decision, status=AppealStatus.OPEN).exists():
            raise ValidationError(_("This decision is already under appeal."))
        if Appeal.objects.filter(decision=decision, status=AppealStatus.DECIDED).exists():
            raise ValidationError(_("This decision has already been reviewed on appeal."))
        assignee = queries.appeal_reviewer(decision)
        if assignee is None:
            raise ValidationError(
                _("Nobody is available to review an appeal; please call the city hotline.")
            )
        now = timezone.now()
        appeal = Appeal(
            decision=decision,
            grounds=grounds,
            submitted_at=now,
            due_at=now + timedelta(days=appeal_days()),
            assignee=assignee,
        )
        appeal.save()
        record(
            actor=actor,
            action="algorithms.appeal.submit",
            obj=appeal,
            data={
                "decision": decision.pk,
                "algorithm": decision.algorithm.code,
                "assignee": assignee.get_username(),
                "due_at": appeal.due_at.isoformat(),
            },
        )
    return appeal


def decide_appeal(
    *,
    actor: Actor,
    appeal: Appeal,
    overturn: bool,
    reason: str,
    output: Mapping[str, Any] | None = None,
) -> Decision:
    """The reviewer's outcome, recorded as a decision answering the one appealed: overturned
    (with the decision that replaces it, ``output``) or confirmed, with the reason."""
    from urbangov.algorithms import queries

    user = actor_user(actor)
    if appeal.status != AppealStatus.OPEN:
        raise ValidationError(_("This appeal has already been decided."))
    if user is None or user.pk != appeal.assignee_id:
        raise ValidationError(_("Only the person the appeal is assigned to may decide it."))
    if user.pk in queries.deciders(appeal.decision):
        raise ValidationError(_("You took part in the decision; someone else must review it."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give the reason for the outcome.")]})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [_("At most %(n)d characters.") % {"n": REASON_MAX}]})
    appealed = appeal.decision
    with transaction.atomic():
        now = timezone.now()
        outcome = Decision(
            algorithm=appealed.algorithm,
            version=None,
            kind=Kind.HUMAN,
            subject_type=appealed.subject_type,
            subject_id=appealed.subject_id,
            refers_to=appealed,
            output=dict(output or {}) if overturn else dict(appealed.output),
            verdict=Verdict.OVERTURNED if overturn else Verdict.CONFIRMED,
            reason=reason,
            actor=user,
            actor_label=actor_label(actor),
            created_at=now,
        )
        changed = Appeal.objects.filter(pk=appeal.pk, status=AppealStatus.OPEN).update(
            status=AppealStatus.DECIDED, decided_at=now
        )
        if changed != 1:
            raise ValidationError(_("This appeal has already been decided."))
        _insert(outcome)
        Appeal.objects.filter(pk=appeal.pk).update(outcome=outcome)
        _decision_audit(actor, outcome)
        record(
            actor=actor,
            action="algorithms.appeal.decide",
            obj=appeal,
            data={"decision": appealed.pk, "outcome": outcome.verdict, "reason": reason},
        )
        transaction.on_commit(
            lambda: signals.appeal_decided.send(sender=Appeal, appeal=appeal, outcome=outcome)
        )
    appeal.refresh_from_db()
    return outcome
