"""Scheduled bias audits of the platform's own decisions, kept as audit reports.

For each algorithm with decisions about cases (the dispatcher), over a window of days: every
algorithm decision is one row, with

- ``automatic``: it took effect without a person (the prediction: auto-dispatch rate is the
  selection rate);
- ``right``: nothing later said it was wrong — no person corrected it, no appeal overturned
  it, and the unit that really resolved the case (the outcome) was the one decided (the label;
  a misrouted case is ``right = 0``);
- ``hours``: hours until the outcome was recorded (time to resolution), where known;
- ``appealed`` / ``overturned``: whether it was appealed, and overturned on appeal;
- ``satisfied``: the resident's rating of the outcome, where they rated it (1: satisfied or
  basically satisfied, 0: dissatisfied, None: not rated; the newest rating where a reopened
  case was rated again). The dispatch app records it on the decision when a case is rated
  (:func:`urbangov.algorithms.actions.record_rating`): this app, below ``cases``, never reads
  cases.

Groups: district, channel (phone/counter against web/app: a proxy for digital skill), and the
area's share of elderly (60+ at least 20 %), migrant share (at least 30 %) and income band.
The fairness audit (:mod:`urbangov.analytics.fairness`) treats it as *punitive*: the error
that matters is an automatic decision that was wrong (FPR = P(automatic | wrong)). The report
keeps the result, the findings, per-group misrouting, appeal and overturn rates, and the
SHA-256 of the rows it was computed from. Satisfaction (among rated decisions) is audited the
same way, as a selection rate: per group with its Wilson interval, against the reference group,
a finding (metric ``satisfaction_rate``) where the ratio lies outside four-fifths and the
difference is significant after Holm.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import timedelta
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from urbangov.algorithms import impact, queries
from urbangov.algorithms.models import (
    Algorithm,
    Appeal,
    AuditReport,
    Decision,
    Kind,
    Mode,
    Verdict,
)
from urbangov.analytics import fairness
from urbangov.privacy.actions import Actor, actor_label, record

DIMENSIONS = ("district", "channel", "elderly_share", "migrant_share", "income_band")
ELDERLY_HIGH = 0.20
MIGRANT_HIGH = 0.30


def _area_groups() -> dict[str, dict[str, str]]:
    """Area code → its district, elderly-share, migrant-share and income-band groups."""
    from urbangov.org.models import Area, Level

    areas = list(
        Area.objects.values(
            "code", "path", "level", "population", "pop_elderly", "migrant_share", "income_band"
        )
    )
    districts = [a for a in areas if a["level"] == Level.DISTRICT]
    out: dict[str, dict[str, str]] = {}
    for a in areas:
        district = next((d["code"] for d in districts if a["path"].startswith(d["path"])), "")
        share = a["pop_elderly"] / a["population"] if a["population"] else None
        out[a["code"]] = {
            "district": district or "unknown",
            "elderly_share": (
                "unknown" if share is None else ("high" if share >= ELDERLY_HIGH else "low")
            ),
            "migrant_share": "high" if a["migrant_share"] >= MIGRANT_HIGH else "low",
            "income_band": a["income_band"] or "unknown",
        }
    return out


def snapshot(algorithm: Algorithm, start: Any, end: Any) -> list[dict[str, Any]]:
    """One row per algorithm decision about a case in ``[start, end)``, oldest first."""
    decisions = list(
        Decision.objects.filter(
            algorithm=algorithm,
            kind=Kind.ALGORITHM,
            subject_type="cases.case",
            created_at__gte=start,
            created_at__lt=end,
        )
        .order_by("created_at", "id")
        .values("id", "created_at", "inputs", "output", "mode")
    )
    ids = [d["id"] for d in decisions]
    follow: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in (
        Decision.objects.filter(refers_to_id__in=ids)
        .order_by("created_at", "id")
        .values("refers_to_id", "kind", "verdict", "created_at", "output")
    ):
        follow[row["refers_to_id"]].append(row)
    appealed = set(Appeal.objects.filter(decision_id__in=ids).values_list("decision_id", flat=True))
    areas = _area_groups()
    rows = []
    for d in decisions:
        answers = follow.get(d["id"], [])
        wrong = any(
            a["verdict"] in (Verdict.CORRECTED, Verdict.OVERTURNED, Verdict.ALTERNATIVE)
            for a in answers
        )
        outcomes = [a for a in answers if a["kind"] == Kind.OUTCOME]
        # The resolution (who resolved it) and the resident's ratings are both real outcomes.
        outcome = next((a for a in outcomes if "satisfied" not in (a["output"] or {})), None)
        ratings = [a for a in outcomes if "satisfied" in (a["output"] or {})]
        area = areas.get((d["inputs"] or {}).get("area") or "", {})
        rows.append(
            {
                "decision": d["id"],
                "automatic": int(d["mode"] == Mode.AUTOMATIC),
                "right": int(not wrong),
                "hours": (
                    round((outcome["created_at"] - d["created_at"]).total_seconds() / 3600, 4)
                    if outcome
                    else None
                ),
                "appealed": int(d["id"] in appealed),
                "overturned": int(any(a["verdict"] == Verdict.OVERTURNED for a in answers)),
                "satisfied": int(bool(ratings[-1]["output"]["satisfied"])) if ratings else None,
                "channel": (d["inputs"] or {}).get("channel") or "unknown",
                "district": area.get("district", "unknown"),
                "elderly_share": area.get("elderly_share", "unknown"),
                "migrant_share": area.get("migrant_share", "unknown"),
                "income_band": area.get("income_band", "unknown"),
            }
        )
    return rows


def snapshot_hash(rows: list[dict[str, Any]]) -> str:
    text = json.dumps(rows, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _rates(rows: list[dict[str, Any]], dimension: str) -> dict[str, dict[str, Any]]:
    """Misrouting, auto-dispatch, appeal and overturn rates per group, and satisfaction among
    the rated decisions, with Wilson intervals."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[str(r[dimension])].append(r)
    out: dict[str, dict[str, Any]] = {}
    for g, members in sorted(groups.items()):
        n = len(members)
        counts = {
            "misrouting_rate": sum(1 - r["right"] for r in members),
            "auto_dispatch_rate": sum(r["automatic"] for r in members),
            "appeal_rate": sum(r["appealed"] for r in members),
            "overturn_rate": sum(r["overturned"] for r in members),
        }
        told: dict[str, Any] = {"n": n}
        for name, k in counts.items():
            low, high = fairness.wilson(np.array([k]), np.array([n]))
            told[name] = {"value": k / n, "ci": [float(low[0]), float(high[0])]}
        rated = [r["satisfied"] for r in members if r["satisfied"] is not None]
        if rated:
            low, high = fairness.wilson(np.array([sum(rated)]), np.array([len(rated)]))
            told["satisfaction_rate"] = {
                "value": sum(rated) / len(rated),
                "ci": [float(low[0]), float(high[0])],
                "n": len(rated),
            }
        else:
            told["satisfaction_rate"] = {"value": None, "ci": [None, None], "n": 0}
        hours = [r["hours"] for r in members if r["hours"] is not None]
        told["mean_hours_to_outcome"] = sum(hours) / len(hours) if hours else None
        out[g] = told
    return out


def _satisfaction(rows: list[dict[str, Any]], dimension: str, reference: str) -> dict[str, Any]:
    """Satisfaction by group among rated decisions, through the same audit as the rest: the
    share satisfied is the selection rate, compared with ``reference`` (the largest group of
    the main audit; the largest rated group where it has no ratings)."""
    rated = [r for r in rows if r["satisfied"] is not None]
    empty: dict[str, Any] = {"reference": None, "disparities": {}, "findings": []}
    if len({r[dimension] for r in rated}) < 2:
        return empty
    groups = [str(r[dimension]) for r in rated]
    satisfied = [r["satisfied"] for r in rated]
    try:
        found = fairness.audit(
            groups,
            satisfied,
            satisfied,
            reference=reference if reference in groups else None,
            focus="selection",
        )
    except fairness.AuditError:
        return empty
    told = found.as_json()
    metric = "selection_rate"
    return {
        "reference": found.reference,
        "disparities": {g: d[metric] for g, d in told["disparities"].items()},
        "findings": [
            {
                **f,
                "metric": "satisfaction_rate",
                "text": "satisfaction_rate" + f["text"][len(metric) :],
            }
            for f in told["findings"]
        ],
    }


def audit_algorithm(
    *, actor: Actor, algorithm: Algorithm, days: int = 30, now: Any = None
) -> list[AuditReport]:
    """Audit ``algorithm``'s decisions of the last ``days`` days: one report over all of
    them, and one per dimension (skipped where all decisions fall in one group). All or
    nothing."""
    end = now or timezone.now()
    start = end - timedelta(days=days)
    rows = snapshot(algorithm, start, end)
    digest = snapshot_hash(rows)
    # The whole window first, so that a report exists even where no dimension splits it.
    overall = {"rates": _rates([{**r, "all": "all"} for r in rows], "all") if rows else {}}
    results: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = [("all", overall, [])]
    for dimension in DIMENSIONS:
        if len({r[dimension] for r in rows}) < 2:
            continue
        try:
            found = fairness.audit(
                [str(r[dimension]) for r in rows],
                [r["right"] for r in rows],
                [r["automatic"] for r in rows],
                outcome_time=[np.nan if r["hours"] is None else r["hours"] for r in rows],
                focus="punitive",
            )
        except fairness.AuditError:
            continue
        result = found.as_json()
        result["rates"] = _rates(rows, dimension)
        result["satisfaction"] = _satisfaction(rows, dimension, found.reference)
        result["findings"] = result["findings"] + result["satisfaction"]["findings"]
        results.append((dimension, result, result["findings"]))
    reports: list[AuditReport] = []
    with transaction.atomic():
        for dimension, result, findings in results:
            report = AuditReport(
                algorithm=algorithm,
                dimension=dimension,
                period_start=start,
                period_end=end,
                rows=len(rows),
                snapshot_sha256=digest,
                result=result,
                findings=findings,
                created_at=end,
                actor_label=actor_label(actor),
            )
            report.save()
            record(
                actor=actor,
                action="algorithms.audit",
                obj=report,
                data={
                    "algorithm": algorithm.code,
                    "dimension": dimension,
                    "rows": len(rows),
                    "snapshot_sha256": digest,
                    "findings": len(findings),
                },
            )
            reports.append(report)
    return reports


def run_platform_audit(*, actor: Actor = None, days: int = 30) -> list[AuditReport]:
    """Audit every algorithm that decides about cases, now."""
    out: list[AuditReport] = []
    codes = (
        Decision.objects.filter(kind=Kind.ALGORITHM, subject_type="cases.case")
        .values_list("algorithm_id", flat=True)
        .distinct()
    )
    for algorithm in Algorithm.objects.filter(pk__in=list(codes)).order_by("code"):
        out.extend(audit_algorithm(actor=actor, algorithm=algorithm, days=days))
    return out


def audits_due(now: Any = None) -> list[Algorithm]:
    """Algorithms deciding about cases whose last audit is older than their impact level
    allows (monthly at level III–IV, quarterly at II, yearly at I)."""
    now = now or timezone.now()
    due = []
    ids = (
        Decision.objects.filter(kind=Kind.ALGORITHM, subject_type="cases.case")
        .values_list("algorithm_id", flat=True)
        .distinct()
    )
    for algorithm in Algorithm.objects.filter(pk__in=list(ids)):
        last = AuditReport.objects.filter(algorithm=algorithm).order_by("-created_at").first()
        every = impact.safeguards(queries.impact_level(algorithm)).audit_every
        if last is None or now - last.created_at >= every:
            due.append(algorithm)
    return due


def audit_due_job() -> int:
    """The worker's periodic job: audit every algorithm whose audit is due, over the period
    its level sets. Idempotent: a report just written makes the algorithm not due."""
    done = 0
    for algorithm in audits_due():
        every = impact.safeguards(queries.impact_level(algorithm)).audit_every
        done += len(audit_algorithm(actor=None, algorithm=algorithm, days=every.days))
    return done
