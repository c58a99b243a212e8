"""What staff see of the dispatcher's decisions, always through their scope."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.utils.translation import get_language

from urbangov.algorithms import explain as tellers
from urbangov.algorithms.models import Decision, Kind
from urbangov.algorithms.queries import Thread, threads_about
from urbangov.analytics import textclf
from urbangov.cases.models import Case, Status
from urbangov.cases.queries import scoped
from urbangov.dispatch import classifier, engine, explain, permissions, routing
from urbangov.dispatch.actions import options, overturned_unit


@dataclass(frozen=True)
class Option:
    index: int
    category_code: str
    category: str
    unit_code: str | None
    unit: str
    probability: float | None


@dataclass(frozen=True)
class Similar:
    case_id: int
    tracking_code: str
    title: str
    unit: str
    similarity: float


@dataclass
class Panel:
    decision: Decision
    options: list[Option]
    explanation: str
    features: list[str]
    route: str
    danger: list[str]
    danger_by_category: bool
    duplicate: dict[str, Any] | None
    duplicate_visible: bool
    held: list[str]
    threads: list[Thread]
    can_decide: bool
    similar: list[Similar] = field(default_factory=list)
    # An appeal overturned the routing to this unit: its suggestions are not offered again.
    overturned: str | None = None


def _reason(decision: Decision, code: str) -> dict[str, Any] | None:
    return next((r for r in decision.reasons if r.get("code") == code), None)


def latest_decision(case: Case) -> Decision | None:
    return (
        Decision.objects.about(case)
        .filter(kind=Kind.ALGORITHM, algorithm__code=classifier.ALGORITHM)
        .select_related("algorithm", "version")
        .order_by("-created_at", "-id")
        .first()
    )


def panel(user: Any, case: Case, *, with_similar: bool = False) -> Panel | None:
    """The dispatcher's latest decision about ``case`` as the operator sees it; None when it
    decided nothing about it. The caller has checked that ``user`` may see the case."""
    decision = latest_decision(case)
    if decision is None:
        return None
    table = routing.current()
    language = get_language() or ""
    overturned = overturned_unit(decision)
    offered = []
    for i, o in enumerate(options(decision)):
        if overturned and o.get("unit") == overturned:
            continue
        cat = table.category_by_code.get(o["category"])
        unit = table.unit_by_code.get(o.get("unit") or "")
        offered.append(
            Option(
                index=i,
                category_code=o["category"],
                category=cat.display_name(language) if cat else o["category"],
                unit_code=o.get("unit"),
                unit=unit.name if unit else (o.get("unit") or "—"),
                probability=o.get("score"),
            )
        )
    classified = _reason(decision, "classified") or {}
    danger = _reason(decision, "emergency") or {}
    duplicate = _reason(decision, "duplicate")
    duplicate_id = int(duplicate.get("case") or 0) if duplicate else 0
    visible = bool(duplicate_id) and scoped(user, Case.objects.filter(pk=duplicate_id)).exists()
    routed = _reason(decision, "routed")
    policy = _reason(decision, "policy") or {}
    found = Panel(
        decision=decision,
        options=offered,
        explanation=tellers.staff(decision),
        features=list(classified.get("features") or []),
        route=explain.route_sentence(routed) if routed else "",
        danger=list(danger.get("terms") or []),
        danger_by_category=bool(danger.get("by_category")),
        duplicate=duplicate,
        duplicate_visible=visible,
        held=list(policy.get("held") or []),
        threads=threads_about(case),
        can_decide=case.status in (Status.SUBMITTED, Status.AWAITING_DISPATCH)
        and permissions.can_decide(user, case),
        overturned=overturned,
    )
    if with_similar and offered:
        found.similar = similar_cases(user, case, offered[0].category_code)
    return found


def similar_cases(user: Any, case: Case, category: str, limit: int = 3) -> list[Similar]:
    """Resolved cases of ``category`` the user may see whose text is most like this one's."""
    rows = list(
        scoped(user, Case.objects.filter(status__in=(Status.RESOLVED, Status.CLOSED)))
        .filter(category__code=category)
        .exclude(pk=case.pk)
        .order_by("-created_at", "-id")
        .values_list("id", "tracking_code", "title", "text", "unit__name")[:200]
    )
    if not rows:
        return []
    titles = [case.title] + [r[2] for r in rows]
    texts = [case.text] + [r[3] for r in rows]
    vectors = engine.similarity_vectors(classifier.current(), titles, texts)
    similarity = textclf.similarities_to_first(vectors)
    order = np.argsort(-similarity)[:limit]
    return [
        Similar(rows[i][0], rows[i][1], rows[i][2], rows[i][4] or "—", float(similarity[i]))
        for i in (int(j) for j in order)
        if similarity[i] >= 0.2
    ]


@dataclass(frozen=True)
class Hint:
    category: str
    unit: str
    probability: float | None
    automatic: bool
    emergency: bool
    duplicate: bool


def hints(cases: Sequence[Case]) -> dict[int, Hint]:
    """For a page of the workbench: the dispatcher's latest suggestion per case, one query."""
    if not cases:
        return {}
    rows = (
        Decision.objects.filter(
            subject_type=Case._meta.label_lower,
            subject_id__in=[str(c.pk) for c in cases],
            kind=Kind.ALGORITHM,
            algorithm__code=classifier.ALGORITHM,
        )
        .order_by("created_at", "id")
        .values_list("subject_id", "output", "confidence", "mode")
    )
    table = routing.current()
    language = get_language() or ""
    out: dict[int, Hint] = {}
    for subject_id, output, confidence, mode in rows:
        cat = table.category_by_code.get(output.get("category") or "")
        unit = table.unit_by_code.get(output.get("unit") or "")
        out[int(subject_id)] = Hint(
            category=cat.display_name(language) if cat else "",
            unit=unit.name if unit else "",
            probability=confidence,
            automatic=mode == "automatic",
            emergency=bool(output.get("emergency")),
            duplicate=output.get("duplicate_of") is not None,
        )
    return out
