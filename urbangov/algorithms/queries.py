"""Reads of the register and the decision log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangov import db
from urbangov.algorithms import impact
from urbangov.algorithms.models import (
    Activation,
    Algorithm,
    AlgorithmVersion,
    Appeal,
    AppealStatus,
    Decision,
    ImpactAssessment,
    Kind,
    Phase,
    Review,
    ReviewOutcome,
    Verdict,
)


def decisions_about(obj: models.Model) -> list[Decision]:
    """Every decision about ``obj``, oldest first, with the algorithm and version loaded."""
    return list(
        Decision.objects.about(obj)
        .select_related("algorithm", "version", "refers_to")
        .order_by("created_at", "id")
    )


def algorithm(code: str) -> Algorithm | None:
    return Algorithm.objects.select_related("active_version").filter(code=code).first()


def versions(code: str) -> list[AlgorithmVersion]:
    return list(
        AlgorithmVersion.objects.filter(algorithm__code=code)
        .select_related("algorithm")
        .order_by("-created_at", "-id")
    )


def version(code: str, label: str) -> AlgorithmVersion | None:
    return (
        AlgorithmVersion.objects.select_related("algorithm")
        .filter(algorithm__code=code, version=label)
        .first()
    )


def activations(code: str) -> list[Activation]:
    return list(
        Activation.objects.filter(algorithm__code=code)
        .select_related("version", "previous")
        .order_by("-at", "-id")
    )


@dataclass(frozen=True)
class Thread:
    """An algorithm's decision with what came after it: people's answers and the outcome."""

    decision: Decision
    answers: list[Decision]


def threads_about(obj: models.Model) -> list[Thread]:
    """The algorithms' decisions about ``obj``, newest first, each with its follow-ups."""
    rows = decisions_about(obj)
    answers: dict[int, list[Decision]] = {}
    for row in rows:
        if row.refers_to_id is not None:
            answers.setdefault(row.refers_to_id, []).append(row)
    return [
        Thread(row, answers.get(row.pk, [])) for row in reversed(rows) if row.kind == Kind.ALGORITHM
    ]


# --- impact level, reviews and what they allow ---------------------------------------------


def latest_assessment(algorithm: Algorithm) -> ImpactAssessment | None:
    return (
        ImpactAssessment.objects.filter(algorithm=algorithm).order_by("-created_at", "-id").first()
    )


def impact_level(algorithm: Algorithm) -> int | None:
    """The level (1–4) of the newest impact assessment; None before the first."""
    found = latest_assessment(algorithm)
    return found.level if found else None


def latest_review(algorithm: Algorithm | int) -> Review | None:
    pk = algorithm.pk if isinstance(algorithm, Algorithm) else algorithm
    return Review.objects.filter(algorithm_id=pk).order_by("-created_at", "-id").first()


def is_suspended(algorithm: Algorithm | int) -> bool:
    """Suspended or retired by the ethics board, and not approved again since."""
    found = latest_review(algorithm)
    return found is not None and found.outcome in (ReviewOutcome.SUSPEND, ReviewOutcome.RETIRE)


def may_decide_automatically(algorithm_id: int) -> bool:
    """Whether the algorithm's decisions may take effect without a person: not while it is
    suspended or retired, and never at impact level III or IV (suggestions only). The
    dispatcher asks this before every batch; answered from the database each time, so a
    suspension takes effect at once."""
    # One statement, written out (it runs inside the request when dispatch is inline, and
    # the ORM's compiling of two subqueries costs more than three plain queries): the phase,
    # the ethics board's latest outcome and the latest impact level.
    q = connection.ops.quote_name
    sql = (
        f"SELECT a.{q('phase')}, "  # noqa: S608 (names from our models; the id is a parameter)
        f"(SELECT r.{q('outcome')} FROM {q(Review._meta.db_table)} r "
        f"WHERE r.{q('algorithm_id')} = a.{q('id')} "
        f"ORDER BY r.{q('created_at')} DESC, r.{q('id')} DESC LIMIT 1), "
        f"(SELECT i.{q('level')} FROM {q(ImpactAssessment._meta.db_table)} i "
        f"WHERE i.{q('algorithm_id')} = a.{q('id')} "
        f"ORDER BY i.{q('created_at')} DESC, i.{q('id')} DESC LIMIT 1) "
        f"FROM {q(Algorithm._meta.db_table)} a WHERE a.{q('id')} = %s"
    )
    with db.cursor(connection) as cursor:
        cursor.execute(sql, [algorithm_id])
        found = cursor.fetchone()
    if found is None:
        return True
    phase, last_review, level = found
    if phase == Phase.RETIRED:
        return False
    if last_review in (ReviewOutcome.SUSPEND, ReviewOutcome.RETIRE):
        return False
    return impact.safeguards(level).automatic_allowed


def production_blockers(algorithm: Algorithm) -> list[str]:
    """Why ``algorithm`` may not enter production now (empty: it may)."""
    problems: list[str] = []
    assessment = latest_assessment(algorithm)
    review = latest_review(algorithm)
    if assessment is None:
        problems.append(_("It has no impact assessment."))
    if review is not None and review.outcome != ReviewOutcome.APPROVE:
        problems.append(
            _("The ethics board's last review (%(outcome)s) has not been followed by an approval.")
            % {"outcome": review.get_outcome_display()}
        )
    if assessment is not None and impact.safeguards(assessment.level).approval_before_production:
        approved = (
            review is not None
            and review.outcome == ReviewOutcome.APPROVE
            and review.created_at >= assessment.created_at
        )
        if not approved:
            problems.append(
                _(
                    "At impact level %(level)s the ethics board must approve it after its newest assessment."
                )
                % {"level": assessment.level_roman}
            )
        if not algorithm.public_notice.strip():
            problems.append(
                _("At impact level %(level)s its register entry needs a public notice.")
                % {"level": assessment.level_roman}
            )
    return problems


def next_review_due(algorithm: Algorithm) -> datetime | None:
    found = latest_review(algorithm)
    return found.next_review_due if found else None


def reviews_due(now: datetime | None = None) -> list[Algorithm]:
    """Algorithms in pilot or production whose re-review is due (or that were never reviewed)."""
    now = now or timezone.now()
    out = []
    for row in Algorithm.objects.filter(phase__in=[Phase.PILOT, Phase.PRODUCTION]):
        due = next_review_due(row)
        if due is None or due <= now:
            out.append(row)
    return out


# --- the public register --------------------------------------------------------------------


def production_algorithms() -> list[Algorithm]:
    return list(
        Algorithm.objects.filter(phase=Phase.PRODUCTION)
        .select_related("owner", "active_version")
        .order_by("name")
    )


def register_entry(algorithm: Algorithm) -> dict[str, Any]:
    """One algorithm's register entry as data (the JSON export)."""
    assessment = latest_assessment(algorithm)
    review = latest_review(algorithm)
    version = algorithm.active_version
    return {
        "code": algorithm.code,
        "name": algorithm.name,
        "phase": algorithm.phase,
        "purpose": algorithm.purpose,
        "owner_unit": algorithm.owner.name if algorithm.owner else None,
        "responsible_person": algorithm.responsible_person,
        "contact_email": algorithm.contact_email,
        "supplier": algorithm.supplier,
        "type": algorithm.algorithm_type,
        "decisions": algorithm.decisions_made,
        "effect_on_residents": algorithm.effect_on_residents,
        "benefits": algorithm.benefits,
        "alternatives_considered": algorithm.alternatives_considered,
        "risks": algorithm.risks,
        "non_discrimination": algorithm.non_discrimination,
        "legal_basis": algorithm.legal_basis,
        "data_sources": algorithm.data_sources,
        "personal_data": algorithm.personal_data,
        "sensitive_data": algorithm.sensitive_data,
        "human_oversight": algorithm.human_oversight,
        "how_to_appeal": algorithm.how_to_appeal,
        "error_focus": algorithm.error_focus,
        "filing": {
            "service_provider": algorithm.service_provider,
            "service_form": algorithm.service_form,
            "application_domain": algorithm.application_domain,
            "algorithm_type": algorithm.filing_type,
            "self_assessment": algorithm.self_assessment,
            "public_notice": algorithm.public_notice,
            "filing_number": algorithm.filing_number,
        },
        "website": algorithm.website,
        "plain_language": algorithm.plain_language,
        "impact_level": assessment.level if assessment else None,
        "assessed_at": assessment.created_at.isoformat() if assessment else None,
        "review": (
            {
                "outcome": review.outcome,
                "at": review.created_at.isoformat(),
                "next_due": review.next_review_due.isoformat() if review.next_review_due else None,
            }
            if review
            else None
        ),
        "suspended": is_suspended(algorithm),
        "automatic_decisions": may_decide_automatically(algorithm.pk),
        "version": (
            {
                "version": version.version,
                "artefact_sha256": version.artefact_sha256,
                "registered_at": version.created_at.isoformat(),
                "metrics": version.metrics,
            }
            if version
            else None
        ),
        "updated_at": algorithm.updated_at.isoformat(),
    }


def register_export(*, everything: bool = False) -> dict[str, Any]:
    """The register as data: production algorithms (public), or every one."""
    rows = (
        Algorithm.objects.select_related("owner", "active_version").order_by("code")
        if everything
        else production_algorithms()
    )
    return {
        "generated_at": timezone.now().isoformat(),
        "algorithms": [register_entry(a) for a in rows],
    }


# --- appeals --------------------------------------------------------------------------------


def deciders(decision: Decision) -> set[int]:
    """The people who took part in ``decision``: its actor and everyone who answered it."""
    ids = set(
        Decision.objects.filter(models.Q(pk=decision.pk) | models.Q(refers_to=decision))
        .exclude(actor=None)
        .exclude(verdict__in=[Verdict.OVERTURNED, Verdict.CONFIRMED])
        .values_list("actor_id", flat=True)
    )
    return {int(i) for i in ids}


def appeal_reviewer(decision: Decision) -> Any:
    """Who reviews an appeal against ``decision``: a supervisor (else an operator) who took
    no part in it, the one with the fewest open appeals; None where there is nobody."""
    from django.contrib.auth import get_user_model

    from urbangov.org.models import Membership, Role

    excluded = deciders(decision)
    User = get_user_model()
    for role in (Role.SUPERVISOR, Role.OPERATOR):
        ids = (
            set(
                Membership.objects.filter(role=role, user__is_active=True).values_list(
                    "user_id", flat=True
                )
            )
            - excluded
        )
        if not ids:
            continue
        load = dict(
            Appeal.objects.filter(status=AppealStatus.OPEN, assignee_id__in=ids)
            .values("assignee_id")
            .annotate(n=models.Count("id"))
            .values_list("assignee_id", "n")
        )
        chosen = min(sorted(ids), key=lambda i: load.get(i, 0))
        return User.objects.get(pk=chosen)
    return None


def appeals_for(user: Any) -> list[Appeal]:
    """The open appeals assigned to ``user``, soonest due first."""
    return list(
        Appeal.objects.filter(assignee_id=getattr(user, "pk", None), status=AppealStatus.OPEN)
        .select_related("decision", "decision__algorithm")
        .order_by("due_at", "id")
    )


def appeal_of(decision: Decision) -> Appeal | None:
    return (
        Appeal.objects.filter(decision=decision).select_related("outcome").order_by("-id").first()
    )
