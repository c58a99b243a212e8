"""Learning from the city's own cases: ``urbangov dispatch train``.

The examples are the cases that were resolved: the text (title and description), and as the
label the category they were finally handled as — after every operator's correction and
every unit's sending back. The unit that resolved them checks the whole route (category,
then the routing table). The newest fifth (by date) is held out; a candidate trained on the
rest and the model in service are both measured on it, and the candidate is put in service
only if it is at least as good on both the categories (macro-F1) and the units (accuracy).
The version registered is then trained again on every example; its record keeps the held-out
figures and what it was trained on.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from django.utils import timezone

from urbangov.algorithms.models import AlgorithmVersion
from urbangov.analytics import textclf
from urbangov.cases.models import Case, Status
from urbangov.dispatch import classifier, routing
from urbangov.dispatch.engine import RELATIONS, evidence_row, relation
from urbangov.dispatch.routing import Table

Say = Callable[[str], None]


@dataclass(frozen=True)
class Example:
    title: str
    text: str
    category: str
    unit: str
    area_id: int | None
    reported_id: int | None
    created_at: datetime


def examples(limit: int) -> list[Example]:
    """The newest ``limit`` resolved cases with their final category and unit, oldest first."""
    rows = (
        Case.objects.filter(
            status__in=(Status.RESOLVED, Status.CLOSED),
            category__isnull=False,
            unit__isnull=False,
        )
        .order_by("-created_at", "-id")
        .values_list(
            "title",
            "text",
            "category__code",
            "unit__code",
            "area_id",
            "reported_category_id",
            "created_at",
        )[:limit]
    )
    return [Example(*row) for row in reversed(list(rows))]


def reported_shares(table: Table, items: Sequence[Example]) -> dict[str, float]:
    """How the category residents chose stood to the final one (exact, its parent, a sibling,
    …), as shares, with one pseudo-count each so that no relation is ruled out."""
    counts = Counter(
        relation(table, e.reported_id, table.category_by_code[e.category].id)
        for e in items
        if e.reported_id is not None and e.category in table.category_by_code
    )
    total = sum(counts.values()) + len(RELATIONS)
    return {rel: (counts[rel] + 1) / total for rel in RELATIONS}


@dataclass
class Measured:
    """How a model did on a slice of examples."""

    macro_f1: float
    accuracy: float
    unit_accuracy: float
    calibration_error: float
    # Share of cases it would dispatch by itself at the thresholds, and how many of those
    # would have reached the unit that finally resolved them.
    automatic_share: float
    automatic_unit_accuracy: float | None
    n: int
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "macro_f1": round(self.macro_f1, 4),
            "accuracy": round(self.accuracy, 4),
            "unit_accuracy": round(self.unit_accuracy, 4),
            "calibration_error": round(self.calibration_error, 4),
            "automatic_share": round(self.automatic_share, 4),
            "automatic_unit_accuracy": (
                None
                if self.automatic_unit_accuracy is None
                else round(self.automatic_unit_accuracy, 4)
            ),
            "n": self.n,
        }


def measure(
    model: textclf.Model, items: Sequence[Example], table: Table, default_threshold: float
) -> Measured:
    """Category macro-F1 and accuracy, unit accuracy through the routing table, calibration,
    and what the thresholds would let through, on ``items``."""
    shares = model.info.get("reported_shares")
    evidence = np.vstack([evidence_row(table, model.classes, e.reported_id, shares) for e in items])
    predictions = model.explain(
        [e.title for e in items], [e.text for e in items], top=1, features=0, evidence=evidence
    )
    predicted = [p.label for p in predictions]
    scores = textclf.score([e.category for e in items], predicted, model.classes)
    unit_right = []
    automatic = []
    confidences = []
    for e, p in zip(items, predictions, strict=True):
        cat = table.category_by_code.get(p.label)
        route = table.route(cat.id, e.area_id) if cat else None
        right = route is not None and route.unit is not None and route.unit.code == e.unit
        unit_right.append(right)
        threshold, allowed = table.policy(cat.id, default_threshold) if cat else (1.0, False)
        automatic.append(
            allowed and p.probability >= threshold and route is not None and route.unit is not None
        )
        confidences.append(p.probability)
    unit_right_a = np.asarray(unit_right)
    automatic_a = np.asarray(automatic)
    correct = np.asarray([p == e.category for p, e in zip(predicted, items, strict=True)])
    conf = np.asarray(confidences)
    # Calibration of the top probability, from (confidence, correct) pairs.
    ece = 0.0
    edges = np.linspace(0, 1, 16)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, 14)
    for b in range(15):
        sel = which == b
        if sel.any():
            ece += sel.mean() * abs(conf[sel].mean() - correct[sel].mean())
    return Measured(
        macro_f1=scores.macro_f1,
        accuracy=scores.accuracy,
        unit_accuracy=float(unit_right_a.mean()),
        calibration_error=float(ece),
        automatic_share=float(automatic_a.mean()),
        automatic_unit_accuracy=(
            float(unit_right_a[automatic_a].mean()) if automatic_a.any() else None
        ),
        n=len(items),
        per_class={
            label: {"f1": round(c.f1, 4), "support": c.support}
            for label, c in scores.per_class.items()
        },
    )


def fit(
    items: Sequence[Example], table: Table, config: textclf.Config | None = None
) -> textclf.Model:
    model = textclf.fit(
        [e.title for e in items],
        [e.text for e in items],
        [e.category for e in items],
        config=config,
        lexicon=classifier.lexicon(),
    )
    model.info["reported_shares"] = reported_shares(table, items)
    return model


def summary(items: Sequence[Example]) -> dict[str, Any]:
    return {
        "source": "resolved cases of this city",
        "n": len(items),
        "from": items[0].created_at.isoformat() if items else None,
        "to": items[-1].created_at.isoformat() if items else None,
        "labels": dict(Counter(e.category for e in items).most_common()),
    }


@dataclass
class Result:
    version: AlgorithmVersion | None
    candidate: Measured
    active: Measured | None
    active_version: str | None
    better: bool
    dropped: dict[str, int]
    seconds: float
    n_train: int
    n_holdout: int
    trained_on: dict[str, Any]
    metrics: dict[str, Any]


class NotEnough(ValueError):
    """Too few resolved cases to learn from."""


def train(
    *,
    limit: int = 40_000,
    holdout: float = 0.2,
    min_per_class: int = 5,
    config: textclf.Config | None = None,
    default_threshold: float = 0.9,
    say: Say = lambda _text: None,
) -> tuple[textclf.Model, Result]:
    """Train, measure against the model in service on the newest ``holdout`` share, and
    refit on everything. Registers nothing (the command does, through the actions)."""
    started = time.monotonic()
    table = routing.current()
    items = examples(limit)
    counts = Counter(e.category for e in items)
    dropped = {c: n for c, n in counts.items() if n < min_per_class}
    items = [e for e in items if e.category not in dropped]
    if len({e.category for e in items}) < 2 or len(items) < 20:
        raise NotEnough(
            f"{len(items)} resolved cases in {len({e.category for e in items})} categories with "
            f"at least {min_per_class} cases each; at least 20 cases in 2 categories are needed"
        )
    cut = round(len(items) * (1 - holdout))
    older, newest = items[:cut], items[cut:]
    # Every held-out case counts, those of a category the older cases never had too: a
    # candidate that cannot place them is worse there, and so may be the model in service.
    newest_known = newest
    say(f"training on {len(older):,} older cases, holding out the newest {len(newest_known):,}")
    candidate_model = fit(older, table, config)
    candidate = measure(candidate_model, newest_known, table, default_threshold)
    say(
        f"candidate: category macro-F1 {candidate.macro_f1:.4f}, unit accuracy "
        f"{candidate.unit_accuracy:.4f}"
    )
    active: Measured | None = None
    active_label: str | None = None
    loaded = classifier.current()
    if loaded is not None:
        active = measure(loaded.model, newest_known, table, default_threshold)
        active_label = loaded.version.version
        say(
            f"in service (version {active_label}): category macro-F1 {active.macro_f1:.4f}, "
            f"unit accuracy {active.unit_accuracy:.4f}"
        )
    better = active is None or (
        candidate.macro_f1 >= active.macro_f1 and candidate.unit_accuracy >= active.unit_accuracy
    )
    say(f"refitting on all {len(items):,} cases")
    model = fit(items, table, config)
    trained_on = summary(items)
    trained_on["dropped_rare_categories"] = dropped
    trained_on["holdout"] = {
        "n": len(newest_known),
        "from": newest[0].created_at.isoformat() if newest else None,
    }
    metrics = {
        "holdout": candidate.as_dict(),
        "holdout_per_class": candidate.per_class,
        "compared_with": (
            {"version": active_label, **active.as_dict()} if active is not None else None
        ),
        "at_least_as_good": better,
        "default_threshold": default_threshold,
        "measured_at": timezone.now().isoformat(),
    }
    result = Result(
        version=None,
        candidate=candidate,
        active=active,
        active_version=active_label,
        better=better,
        dropped=dropped,
        seconds=time.monotonic() - started,
        n_train=len(older),
        n_holdout=len(newest_known),
        trained_on=trained_on,
        metrics=metrics,
    )
    return model, result
