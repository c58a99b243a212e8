"""Satisfaction by group in the platform audits: residents rate their cases through the real
cases actions, the dispatch app records each rating on the dispatcher's decision (an appended
outcome, the decision itself never edited), and the audit reads it from the decision log."""

from __future__ import annotations

import math

import pytest
from django.test import TestCase

from tests.algorithms.test_appeals import LEAK, NOISE, decision_of, submit
from tests.conftest import City
from tests.dispatch.conftest import fresh_caches, model_in_service  # noqa: F401 (fixtures)
from urbangov.algorithms import audits
from urbangov.algorithms.models import AlgorithmVersion, Decision, Kind
from urbangov.cases import actions as cases
from urbangov.cases.models import Case, Channel, Rating, Status
from urbangov.dispatch import actions as dispatch

pytestmark = pytest.mark.django_db

Z = 1.959963984540054


def naive_wilson(k: int, n: int) -> tuple[float, float]:
    """The Wilson score interval written out from Wilson (1927), eq. as in Agresti & Coull."""
    p = k / n
    centre = p + Z * Z / (2 * n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return (centre - half) / (1 + Z * Z / n), (centre + half) / (1 + Z * Z / n)


def resolve(city: City, case: Case) -> Case:
    """Dispatch (where the dispatcher left it to a person), accept and resolve the case."""
    if case.status == Status.AWAITING_DISPATCH:
        dispatch.accept_suggestion(case, actor=city.users["operator"])  # type: ignore[arg-type]
    cases.accept_case(case, actor=city.users["handler"])  # type: ignore[arg-type]
    return cases.resolve_case(case, actor=city.users["handler"], resolution="已处理")  # type: ignore[arg-type]


def rate(case: Case, rating: str) -> None:
    # On commit, as a real request would: the dispatch app hears the rating then.
    with TestCase.captureOnCommitCallbacks(execute=True):
        cases.rate_case(case, actor=None, rating=rating)


def test_platform_audit_reports_satisfaction_by_group(
    city: City,
    model_in_service: AlgorithmVersion,  # noqa: F811
) -> None:
    plan = [
        (LEAK, "d1", Channel.WEB, Rating.SATISFIED),
        (NOISE, "d1", Channel.PHONE, Rating.BASIC),
        ("自来水管爆裂，家里没水了", "d2", Channel.WEB, Rating.DISSATISFIED),
        ("晚上工地施工噪音扰民", "d2", Channel.PHONE, Rating.SATISFIED),
        ("卫生间水管接口滴水不停", "d1", Channel.WEB, Rating.DISSATISFIED),
        ("酒吧音乐声半夜还很响", "d2", Channel.WEB, None),  # resolved, never rated
    ]
    made = []
    for text, where, channel, rating in plan:
        case = resolve(city, submit(city, text, where, channel))
        assert case.status == Status.RESOLVED
        before = Decision.objects.about(case).count()
        if rating is not None:
            rate(case, rating)
            # One row appended: the rating, answering the dispatcher's decision.
            assert Decision.objects.about(case).count() == before + 1
        made.append((case, rating))

    for case, rating in made:
        decision = decision_of(case)
        told = Decision.objects.filter(refers_to=decision, kind=Kind.OUTCOME)
        ratings = [d for d in told if "satisfied" in d.output]
        if rating is None:
            assert ratings == []
            continue
        assert len(ratings) == 1
        assert ratings[0].output == {
            "rating": rating,
            "satisfied": rating != Rating.DISSATISFIED,
            "round": 0,
        }
        assert ratings[0].verdict == "" and ratings[0].actor_label == "resident"
        # The resolution (who resolved it) is still its own outcome, for time to outcome.
        assert any("unit" in d.output for d in told)
        # Heard twice (a retried delivery): still one row.
        assert dispatch.record_rating(Case.objects.get(pk=case.pk)) == ratings[0]
        assert len([d for d in told.all() if "satisfied" in d.output]) == 1

    algorithm = model_in_service.algorithm
    reports = {
        r.dimension: r
        for r in audits.audit_algorithm(actor=city.users["auditor"], algorithm=algorithm)  # type: ignore[arg-type]
    }
    # Hand count, satisfied or basically satisfied among the rated:
    #   D1: satisfied, basic, dissatisfied → 2/3;  D2: dissatisfied, satisfied (+1 unrated) → 1/2
    #   web: satisfied, dissatisfied, dissatisfied (+1 unrated) → 1/3;  phone: basic, sat → 2/2
    #   all: 3/5
    expected = {
        "district": {"D1": (2, 3), "D2": (1, 2)},
        "channel": {"web": (1, 3), "phone": (2, 2)},
        "all": {"all": (3, 5)},
    }
    for dimension, groups in expected.items():
        report = reports[dimension]
        assert report.rows == 6
        for group, (k, n) in groups.items():
            told = report.result["rates"][group]["satisfaction_rate"]
            assert told["n"] == n
            assert told["value"] == pytest.approx(k / n)
            low, high = naive_wilson(k, n)
            assert told["ci"] == pytest.approx([low, high], abs=1e-12)
    # Published Wilson 95 % interval for 2 of 3: 0.208–0.939.
    d1 = reports["district"].result["rates"]["D1"]["satisfaction_rate"]["ci"]
    assert [round(x, 3) for x in d1] == [0.208, 0.939]
    # The same comparison machinery as the other metrics: against the reference group.
    district = reports["district"].result["satisfaction"]
    assert district["reference"] == reports["district"].result["reference"]
    other = "D2" if district["reference"] == "D1" else "D1"
    expected_value = {"D1": 2 / 3, "D2": 1 / 2}
    assert district["disparities"][other]["value"] == pytest.approx(expected_value[other])
    assert district["disparities"][other]["reference"] == pytest.approx(
        expected_value[district["reference"]]
    )
    # Too few to be significant: no finding.
    assert not [f for f in reports["district"].findings if f["metric"] == "satisfaction_rate"]
    # The snapshot carries the rating, and its hash is what the report kept.
    rows = audits.snapshot(algorithm, reports["all"].period_start, reports["all"].period_end)
    assert sorted(r["satisfied"] for r in rows if r["satisfied"] is not None) == [0, 0, 1, 1, 1]
    assert sum(r["satisfied"] is None for r in rows) == 1
    assert reports["all"].snapshot_sha256 == audits.snapshot_hash(rows)
    # Time to outcome still comes from the resolution, not from the later rating.
    assert all(r["hours"] is not None for r in rows)


def test_a_reopened_case_counts_its_newest_rating(
    city: City,
    model_in_service: AlgorithmVersion,  # noqa: F811
) -> None:
    case = resolve(city, submit(city, LEAK, "d1"))
    rate(case, Rating.DISSATISFIED)
    cases.reopen_case(case, actor=None, reason="还在漏")
    case.refresh_from_db()
    dispatch.correct_dispatch(
        case,
        actor=city.users["operator"],  # type: ignore[arg-type]
        unit=city.water_dept,
        reason="再派一次",
    )
    cases.accept_case(case, actor=city.users["handler"])  # type: ignore[arg-type]
    case = cases.resolve_case(case, actor=city.users["handler"], resolution="已修好")  # type: ignore[arg-type]
    rate(case, Rating.SATISFIED)
    decision = decision_of(case)
    rounds = sorted(
        (d.output["round"], d.output["satisfied"])
        for d in Decision.objects.filter(refers_to=decision, kind=Kind.OUTCOME)
        if "satisfied" in d.output
    )
    assert rounds == [(0, False), (1, True)]
    report = audits.audit_algorithm(actor=None, algorithm=model_in_service.algorithm)[0]
    assert report.dimension == "all"
    assert report.result["rates"]["all"]["satisfaction_rate"]["value"] == 1.0


def test_a_satisfaction_gap_is_a_finding() -> None:
    # 60 rated in D1 (57 satisfied), 60 in D2 (30 satisfied): ratio 0.53, far from chance.
    rows = [{"district": "D1", "satisfied": int(i < 57)} for i in range(60)] + [
        {"district": "D2", "satisfied": int(i < 30)} for i in range(60)
    ]
    rows += [{"district": "D2", "satisfied": None}] * 5  # unrated: left out
    told = audits._satisfaction(rows, "district", "D1")
    assert told["reference"] == "D1"
    assert told["disparities"]["D2"]["value"] == pytest.approx(0.5)
    assert told["disparities"]["D2"]["ratio"] == pytest.approx(0.5 / 0.95)
    [finding] = told["findings"]
    assert finding["group"] == "D2" and finding["metric"] == "satisfaction_rate"
    assert finding["text"].startswith("satisfaction_rate of D2 is 0.500 against 0.950")
    # One group rated only: nothing to compare.
    assert audits._satisfaction(rows[:60], "district", "D1")["findings"] == []
