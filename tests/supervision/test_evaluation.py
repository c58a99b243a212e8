"""The evaluation's numbers: each rate counted by hand over cases moved through the real
actions, the rollups equal to a recount of their items (daily and monthly), kept up to date
incrementally (signals, the watermark for bulk loads, deadlines passing), and idempotent."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db.models import Sum
from django.test import TestCase
from django.utils import timezone

from tests.conftest import City, make_case
from urbangov.cases import actions
from urbangov.cases.models import Case, Rating
from urbangov.supervision import queries
from urbangov.supervision.actions import fold, fold_all, rebuild
from urbangov.supervision.models import (
    DirtyCase,
    Grain,
    Item,
    Metric,
    PendingDeadline,
    Rollup,
    State,
)

pytestmark = pytest.mark.django_db

R, S, SAT = Metric.RESPONSE, Metric.RESOLUTION, Metric.SATISFACTION


class Clock:
    """The time the actions see, set by hand (timezone.now is what they call)."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.now = start

    def at(self, hours: float) -> datetime:
        self.now = self.start + timedelta(hours=hours)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    real = timezone.now
    c = Clock(real().replace(microsecond=0) - timedelta(days=10))
    c.now = real()
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    yield c


def _committed(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run an action as a request would: its on-commit signals are sent."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return fn(*args, **kwargs)


def _scenario(city: City, clock: Clock) -> dict[str, Case]:
    """Cases whose every rate is known by hand (water.leak: 4 h to respond, 24 h to resolve;
    noise: 24 h and 7 days)."""
    op, handler, hd1, sup = (
        city.user("operator"),
        city.user("handler"),
        city.user("handler_d1"),
        city.user("supervisor"),
    )
    water, d1 = city.water_dept, city.office_d1
    c = {k: make_case(city, title=k) for k in "ABCDEFGH"}
    c["H"] = make_case(city, title="H", category=city.noise, text="楼下夜里施工太吵")
    do = _committed

    # A: everything on time, satisfied.
    clock.at(0)
    do(actions.dispatch_case, c["A"], actor=op, unit=water)
    clock.at(1)
    do(actions.accept_case, c["A"], actor=handler)
    clock.at(10)
    do(actions.resolve_case, c["A"], actor=handler, resolution="修好了")
    clock.at(12)
    do(actions.rate_case, c["A"], actor=None, rating=Rating.SATISFIED)
    # B: accepted late, resolved late, basically satisfied.
    clock.at(0)
    do(actions.dispatch_case, c["B"], actor=op, unit=water)
    clock.at(5)
    do(actions.accept_case, c["B"], actor=handler)
    clock.at(30)
    do(actions.resolve_case, c["B"], actor=handler, resolution="修好了")
    clock.at(31)
    do(actions.rate_case, c["B"], actor=None, rating=Rating.BASIC)
    # C: wrong unit sends it back in time; water answers in time and resolves in time, the
    # resident rejects it and reopens; the second dispatch is accepted late.
    clock.at(0)
    do(actions.dispatch_case, c["C"], actor=op, unit=d1)
    clock.at(2)
    do(actions.send_back_case, c["C"], actor=hd1, reason="不归我们")
    clock.at(3)
    do(actions.dispatch_case, c["C"], actor=op, unit=water)
    clock.at(4)
    do(actions.accept_case, c["C"], actor=handler)
    clock.at(20)
    do(actions.resolve_case, c["C"], actor=handler, resolution="处理了")
    clock.at(21)
    do(actions.rate_case, c["C"], actor=None, rating=Rating.DISSATISFIED)
    clock.at(22)
    do(actions.reopen_case, c["C"], actor=None, reason="还在漏")
    clock.at(23)
    do(actions.dispatch_case, c["C"], actor=op, unit=water)
    clock.at(40)
    do(actions.accept_case, c["C"], actor=handler)
    # D: never answered; escalated after its deadline (the evaluation keeps the old one).
    clock.at(0)
    do(actions.dispatch_case, c["D"], actor=op, unit=water)
    clock.at(30)
    do(
        actions.escalate_case,
        c["D"],
        actor=sup,
        due=clock.start + timedelta(hours=60),
        note="请立即处理",
    )
    # E merged, F rejected: in no rate.
    clock.at(1)
    do(actions.merge_case, c["E"], actor=op, into=c["A"])
    do(actions.reject_case, c["F"], actor=op, reason="不属于政府职责")
    # G: 48 hours more granted; resolved within the extended deadline.
    clock.at(0)
    do(actions.dispatch_case, c["G"], actor=op, unit=water)
    clock.at(1)
    do(actions.accept_case, c["G"], actor=handler)
    clock.at(2)
    do(actions.request_extension, c["G"], actor=handler, hours=48, reason="需更换主管道")
    clock.at(3)
    do(actions.grant_extension, c["G"], actor=sup)
    clock.at(50)
    do(actions.resolve_case, c["G"], actor=handler, resolution="已更换")
    # H: noise to the street office, sent back after its 24-hour response deadline.
    clock.at(0)
    do(actions.dispatch_case, c["H"], actor=op, unit=d1)
    clock.at(30)
    do(actions.send_back_case, c["H"], actor=hd1, reason="应由城管处理")
    # back to the present
    clock.now = clock.start + timedelta(days=10)
    return c


def _period() -> queries.Filters:
    today = queries.today()
    return queries.parse_filters(
        {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat()}
    )


def _by(metric: int, unit: Any) -> tuple[int, int]:
    items = Item.objects.filter(metric=metric, unit=unit)
    return items.count(), items.filter(ok=True).count()


def test_each_rate_counted_as_defined(city: City, clock: Clock) -> None:
    c = _scenario(city, clock)
    fold()
    water, d1 = city.water_dept, city.office_d1
    # response: A ok, B late, C's second dispatch ok and third late, D unanswered, G ok;
    # the street office: C sent back in time (left out), H sent back late.
    assert _by(R, water) == (6, 3)
    assert _by(R, d1) == (1, 0)
    # resolution: A ok, B late, C rejected by the resident, D unresolved, G within extension
    assert _by(S, water) == (5, 2)
    assert not Item.objects.filter(metric=S, unit=d1).exists()
    # satisfaction: first ratings of A (satisfied), B (basic), C (dissatisfied)
    assert _by(SAT, water) == (3, 2)
    # merged and rejected count in no rate, but every case came in
    assert not Item.objects.filter(case__in=[c["E"], c["F"]]).exclude(metric=Metric.VOLUME)
    assert Item.objects.filter(metric=Metric.VOLUME).count() == 9
    missed = set(
        Item.objects.filter(metric=R, unit=water, ok=False).values_list("case_id", flat=True)
    )
    assert missed == {c["B"].pk, c["C"].pk, c["D"].pk}

    # The table and the overview read the same numbers from the rollups …
    filters = _period()
    rows = {r.code: r for r in queries.performance(city.user("supervisor"), filters)}
    w = rows["WATER"]
    assert (w.rates[R].n, w.rates[R].ok, w.rates[S].n, w.rates[S].ok) == (6, 3, 5, 2)
    assert (w.rates[SAT].n, w.rates[SAT].ok) == (3, 2)
    # composite = (30 × 50 + 35 × 40 + 35 × 66.67) / 100
    assert w.composite == pytest.approx((30 * 50 + 35 * 40 + 35 * 200 / 3) / 100)
    assert w.rank == 1
    assert rows["D1S1"].composite is None and rows["D1S1"].rank is None
    # … and every number links to exactly the cases behind it.
    listed = queries.evidence(city.user("supervisor"), filters, metric=R, ok=False)
    assert set(listed.values_list("pk", flat=True)) == {
        c["B"].pk,
        c["C"].pk,
        c["D"].pk,
        c["H"].pk,
    }
    over = queries.overview(city.user("supervisor"), filters)
    assert (over.rates[R].n, over.rates[R].ok) == (7, 3)
    assert over.volume == 9


def test_other_weights_change_the_composite(city: City, clock: Clock) -> None:
    _scenario(city, clock)
    fold()
    today = queries.today()
    filters = queries.parse_filters(
        {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat(), "w": "100,0,0"}
    )
    (water,) = [r for r in queries.performance(city.user("analyst"), filters) if r.code == "WATER"]
    assert water.composite == pytest.approx(50.0)


def _recount() -> tuple[Counter[tuple[Any, ...]], Counter[tuple[Any, ...]]]:
    """Items summed naively by the rollup's own key."""
    n: Counter[tuple[Any, ...]] = Counter()
    ok: Counter[tuple[Any, ...]] = Counter()
    for metric, day, unit, street, district, category, good in Item.objects.values_list(
        "metric", "day", "unit_id", "street_id", "district_id", "category_id", "ok"
    ):
        key = (
            day,
            metric,
            None if metric == Metric.VOLUME else unit,
            street,
            district,
            category if metric == Metric.VOLUME else None,
        )
        n[key] += 1
        ok[key] += int(good)
    return n, ok


def _rollups(grain: int) -> tuple[Counter[tuple[Any, ...]], Counter[tuple[Any, ...]]]:
    n: Counter[tuple[Any, ...]] = Counter()
    ok: Counter[tuple[Any, ...]] = Counter()
    for row in Rollup.objects.filter(grain=grain).values_list(
        "day", "metric", "unit_id", "street_id", "district_id", "category_id", "n", "ok"
    ):
        n[row[:6]] += row[6]
        ok[row[:6]] += row[7]
    return n, ok


def _assert_rollups_match_items() -> None:
    n, ok = _recount()
    assert _rollups(Grain.DAY) == (n, ok)
    # months: the same sums with the day cut to the month
    mn: Counter[tuple[Any, ...]] = Counter()
    mok: Counter[tuple[Any, ...]] = Counter()
    for key, value in n.items():
        month = (key[0].replace(day=1), *key[1:])
        mn[month] += value
        mok[month] += ok[key]
    assert _rollups(Grain.MONTH) == (mn, mok)


def test_rollups_equal_a_recount_and_stay_so_as_cases_move(city: City, clock: Clock) -> None:
    c = _scenario(city, clock)
    fold()
    _assert_rollups_match_items()
    assert not DirtyCase.objects.exists()
    before = list(Rollup.objects.order_by("grain", "day", "metric").values_list("n", "ok"))
    # Folding again with nothing new changes nothing (idempotent).
    assert fold().cases == 0
    assert list(Rollup.objects.order_by("grain", "day", "metric").values_list("n", "ok")) == before
    # G's resident rates it dissatisfied: only the signal tells the fold, which moves the
    # resolution of G from met to missed and adds a satisfaction item.
    _committed(actions.rate_case, c["G"], actor=None, rating=Rating.DISSATISFIED)
    assert DirtyCase.objects.filter(case_id=c["G"].pk).exists()
    result = fold()
    assert result.cases == 1
    assert _by(S, city.water_dept) == (5, 1)
    assert _by(SAT, city.water_dept) == (4, 2)
    _assert_rollups_match_items()
    # A full rebuild gives the same rollups as the incremental path.
    incremental = _rollups(Grain.DAY)
    rebuild(actor=None)
    assert _rollups(Grain.DAY) == incremental


def test_a_deadline_passing_is_folded_without_any_transition(city: City, clock: Clock) -> None:
    case = make_case(city)
    clock.now = clock.start + timedelta(days=10)
    _committed(actions.dispatch_case, case, actor=city.user("operator"), unit=city.water_dept)
    fold()
    case.refresh_from_db()
    assert not Item.objects.filter(case=case, metric=R).exists()
    pending = PendingDeadline.objects.get(case_id=case.pk)
    assert pending.due == case.response_due
    # Five hours on, the response deadline has passed: the next fold counts the miss.
    clock.now += timedelta(hours=5)
    assert fold().cases == 1
    assert list(Item.objects.filter(case=case, metric=R).values_list("ok", flat=True)) == [False]
    assert PendingDeadline.objects.get(case_id=case.pk).due == case.resolve_due
    _assert_rollups_match_items()


def test_bulk_loaded_history_is_folded_by_the_watermark(city: City) -> None:
    """load_history sends no signal: the fold still finds the new cases by their ids."""
    from urbangov.cases.actions import HistoricCase, HistoricEvent, load_history

    now = timezone.now()
    t0 = now - timedelta(days=3)
    items = []
    for k in range(5):
        case = Case(
            channel="phone",
            title=f"历史{k}",
            text="历史诉求",
            status="closed",
            unit=city.water_dept,
            area=city.grid_d1,
            category=city.water_leak,
            created_at=t0,
            dispatched_at=t0,
            response_due=t0 + timedelta(hours=4),
            resolve_due=t0 + timedelta(hours=24),
            accepted_at=t0 + timedelta(hours=k + 1),
            resolved_at=t0 + timedelta(hours=10),
            closed_at=t0 + timedelta(hours=11),
            source="test",
            external_id=f"H{k}",
        )
        data = {"unit": "WATER", "resolve_due": (t0 + timedelta(hours=24)).isoformat()}
        events = [
            HistoricEvent(t0, "submit", "", "submitted"),
            HistoricEvent(t0, "dispatch", "submitted", "dispatched", data=data),
            HistoricEvent(t0 + timedelta(hours=k + 1), "accept", "dispatched", "accepted"),
            HistoricEvent(t0 + timedelta(hours=10), "resolve", "accepted", "resolved"),
            HistoricEvent(t0 + timedelta(hours=11), "close", "resolved", "closed"),
        ]
        items.append(HistoricCase(case=case, events=events))
    load_history(items, actor=None, source="test")
    assert not DirtyCase.objects.exists()
    fold_all()
    # accepted after 1, 2, 3, 4 and 5 hours against 4 hours to respond
    assert _by(R, city.water_dept) == (5, 4)
    assert _by(S, city.water_dept) == (5, 5)
    assert State.objects.get().watermark == Case.objects.order_by("-pk").first().pk  # type: ignore[union-attr]
    _assert_rollups_match_items()


def test_period_reads_months_and_days_alike(city: City, clock: Clock) -> None:
    """A range read as whole months plus days equals the sum of its days."""
    _scenario(city, clock)
    fold()
    day = Rollup.objects.filter(grain=Grain.DAY, metric=Metric.VOLUME)
    total = day.aggregate(n=Sum("n"))["n"]
    today = queries.today()
    wide = queries.parse_filters(
        {
            "from": (today - timedelta(days=400)).isoformat(),
            "to": (today + timedelta(days=60)).isoformat(),
        }
    )
    q = queries.rollups(queries.View(None), wide, (Metric.VOLUME,))
    assert q.filter(grain=Grain.MONTH).exists()
    assert q.aggregate(n=Sum("n"))["n"] == total == 9
