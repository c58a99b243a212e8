"""The Demo City generator on its own (no database): determinism, the map, the people, and a
year of cases whose timelines follow the lifecycle table."""

from __future__ import annotations

import math
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import shapely
from shapely.geometry import Point, shape

from urbangov.cases.models import CODE_ALPHABET, OPEN_STATUSES, Status
from urbangov.cases.transitions import TRANSITIONS
from urbangov.demo import catalogue, texts
from urbangov.demo import generator as g
from urbangov.org.models import DEFAULT_SLA_HOURS, FacilityKind, IncomeBand, Level, UnitKind

TZ = ZoneInfo("Asia/Shanghai")
END = g.end_of_history(date(2025, 6, 1), TZ)
N = 2500
SEED = 11


def sla_for(city: g.City) -> dict[str, tuple[timedelta, timedelta]]:
    """The default SLA by urgency (org.models), per category, as deadlines_for gives it."""
    out = {}
    for c in city.categories:
        resolve, respond = DEFAULT_SLA_HOURS[c.urgency]
        out[c.code] = (timedelta(hours=respond), timedelta(hours=resolve))
    return out


@pytest.fixture(scope="module")
def city() -> g.City:
    return g.build_city(SEED)


@pytest.fixture(scope="module")
def cases(city: g.City) -> list[g.CaseRec]:
    return list(g.generate_cases(city, count=N, seed=SEED, end=END, sla=sla_for(city)))


# --- determinism ----------------------------------------------------------------------------


def test_same_seed_and_anchor_give_identical_data(city: g.City, cases: list[g.CaseRec]) -> None:
    again = g.build_city(SEED)
    again_cases = g.generate_cases(again, count=N, seed=SEED, end=END, sla=sla_for(again))
    assert g.digest(city, cases) == g.digest(again, again_cases)


def test_another_seed_or_anchor_gives_other_data(city: g.City, cases: list[g.CaseRec]) -> None:
    reference = g.digest(city, cases)
    other = g.build_city(SEED + 1)
    assert g.digest(other) != g.digest(city)
    other_cases = g.generate_cases(other, count=N, seed=SEED + 1, end=END, sla=sla_for(other))
    assert g.digest(other, other_cases) != reference
    later = g.end_of_history(date(2025, 6, 2), TZ)
    shifted = g.generate_cases(city, count=N, seed=SEED, end=later, sla=sla_for(city))
    assert g.digest(city, shifted) != reference


def test_history_ends_at_the_start_of_the_anchor_day() -> None:
    end = g.end_of_history(date(2025, 6, 1), TZ)
    assert end == datetime(2025, 6, 1, 0, 0, tzinfo=TZ)
    with pytest.raises(ValueError, match="timezone-aware"):
        next(
            g.generate_cases(
                g.build_city(1),
                count=1,
                seed=1,
                end=datetime(2025, 6, 1),  # naive: the point of the test
                sla={},
            )
        )


# --- the map ---------------------------------------------------------------------------------


def test_levels_and_counts(city: g.City) -> None:
    levels = Counter(a.level for a in city.areas)
    assert levels[Level.CITY] == 1
    assert levels[Level.DISTRICT] == 6
    assert 36 <= levels[Level.STREET] <= 44
    assert 180 <= levels[Level.COMMUNITY] <= 220
    # several grid cells per community
    per_community = Counter(a.parent for a in city.by_level(Level.GRID))
    assert min(per_community.values()) >= 3
    assert len(per_community) == levels[Level.COMMUNITY]
    codes = [a.code for a in city.areas]
    assert len(codes) == len(set(codes))
    # names a resident would recognise, unique within their level
    for level in (Level.DISTRICT, Level.STREET, Level.COMMUNITY):
        names = [a.name for a in city.by_level(level)]
        assert len(names) == len(set(names)), level
    assert all(a.name.endswith("街道") for a in city.by_level(Level.STREET))
    assert all(a.name.endswith(("社区", "村")) for a in city.by_level(Level.COMMUNITY))


def test_every_area_lies_inside_its_parent_and_siblings_tile_it(city: g.City) -> None:
    children: dict[str, list[g.AreaRec]] = {}
    for a in city.areas:
        geom = shape(a.geometry)
        assert geom.is_valid and geom.geom_type == "Polygon", a.code
        if a.parent:
            children.setdefault(a.parent, []).append(a)
    assert len(children) == len([a for a in city.areas if a.level != Level.GRID])
    for parent_code, kids in children.items():
        parent = shape(city.area(parent_code).geometry)
        parts = [shape(k.geometry) for k in kids]
        for kid, part in zip(kids, parts, strict=True):
            assert kid.code.startswith(parent_code)
            outside = part.difference(parent).area
            assert outside <= 1e-12 * max(parent.area, 1e-12), kid.code
        # the children cover the parent without overlapping
        total = sum(p.area for p in parts)
        assert math.isclose(total, parent.area, rel_tol=1e-9), parent_code
        assert math.isclose(shapely.union_all(parts).area, parent.area, rel_tol=1e-9)


def test_coordinates_are_a_plausible_chinese_city(city: g.City) -> None:
    minx, miny, maxx, maxy = shape(city.areas[0].geometry).bounds
    assert 73 < minx < maxx < 135 and 18 < miny < maxy < 54
    # about 30 km across: a city, not a province
    width_km = (maxx - minx) * 111.32 * math.cos(math.radians((miny + maxy) / 2))
    assert 20 < width_km < 45


def test_population_adds_up_and_varies_by_district(city: g.City) -> None:
    grids = city.by_level(Level.GRID)
    for cell in grids:
        assert cell.population == cell.pop_children + cell.pop_working + cell.pop_elderly
        assert 0 < cell.migrant_share < 1
        assert cell.income_band in IncomeBand.values
    for area in city.areas:
        if area.level == Level.GRID:
            continue
        inside = [c for c in grids if c.code.startswith(area.code)]
        assert area.population == sum(c.population for c in inside)
        assert area.pop_elderly == sum(c.pop_elderly for c in inside)
    by_character = {d.character: d for d in city.by_level(Level.DISTRICT)}

    def elderly(d: g.AreaRec) -> float:
        return d.pop_elderly / d.population

    old, new = by_character[catalogue.OLD_TOWN], by_character[catalogue.NEW_TOWN]
    industrial = by_character[catalogue.INDUSTRIAL]
    assert elderly(old) > 1.8 * elderly(new)
    assert industrial.migrant_share > 2 * old.migrant_share
    assert industrial.income_band == IncomeBand.LOW and new.income_band == IncomeBand.HIGH
    # density: the old town is far denser than the suburbs
    suburban = by_character[catalogue.SUBURBAN]

    def density(d: g.AreaRec) -> float:
        return d.population / shape(d.geometry).area

    assert density(old) > 5 * density(suburban)


def test_units_answer_for_areas_and_every_sub_category(city: g.City) -> None:
    kinds = Counter(u.kind for u in city.units)
    assert kinds[UnitKind.DISPATCH_CENTRE] == 1
    assert kinds[UnitKind.STREET_OFFICE] == len(city.by_level(Level.STREET))
    assert kinds[UnitKind.DEPARTMENT] >= 12
    names = {u.name for u in city.units}
    for wanted in (
        "市水务局",
        "市住房和城乡建设局",
        "市城市管理局",
        "市生态环境局",
        "市燃气集团有限公司",
    ):
        assert wanted in names
    subs = {c.code for c in city.categories if c.parent}
    answered = {c for u in city.units for c in u.categories}
    assert subs <= answered
    codes = {a.code for a in city.areas}
    assert all(set(u.areas) <= codes for u in city.units)
    offices = [u for u in city.units if u.kind == UnitKind.STREET_OFFICE]
    assert all(city.area(u.areas[0]).level == Level.STREET for u in offices)


def test_category_catalogue_has_two_levels_and_all_urgencies(city: g.City) -> None:
    tops = [c for c in city.categories if c.parent is None]
    subs = [c for c in city.categories if c.parent is not None]
    assert len(tops) >= 10 and len(subs) >= 40
    assert {c.name for c in tops} >= {
        "城乡建设",
        "环境保护",
        "交通运输",
        "劳动和社会保障",
        "教育文体",
        "卫生计生",
        "商贸旅游",
        "市场监管",
        "公共安全",
        "民政",
    }
    assert {c.urgency for c in subs} == set(DEFAULT_SLA_HOURS)
    top_codes = {c.code for c in tops}
    assert all(c.parent in top_codes for c in subs)


def test_facilities_lie_in_their_cells_with_capacities(city: g.City) -> None:
    kinds = Counter(f.kind for f in city.facilities)
    assert set(kinds) == set(FacilityKind.values)
    for f in city.facilities:
        assert shape(city.area(f.area).geometry).contains(Point(f.lon, f.lat)), f.name
        assert f.capacity > 0
    # coverage is uneven as in real cities: clinics per resident, old town against suburbs
    per_district: Counter[str] = Counter(
        f.area[:4] for f in city.facilities if f.kind == FacilityKind.CLINIC
    )
    districts = {d.character: d for d in city.by_level(Level.DISTRICT)}
    old, industrial = districts[catalogue.OLD_TOWN], districts[catalogue.INDUSTRIAL]
    assert (
        per_district[old.code] / old.population
        > per_district[industrial.code] / industrial.population
    )


# --- the cases ---------------------------------------------------------------------------------


def test_count_order_codes_and_places(city: g.City, cases: list[g.CaseRec]) -> None:
    assert len(cases) == N
    assert [c.created_at for c in cases] == sorted(c.created_at for c in cases)
    assert all(END - timedelta(days=365) <= c.created_at < END for c in cases)
    codes = [c.tracking_code for c in cases]
    assert len(set(codes)) == N
    assert all(len(code) == 11 and code[5] == "-" for code in codes)
    assert set("".join(codes).replace("-", "")) <= set(CODE_ALPHABET)
    for c in cases:
        assert g.point_in_cell(city, c), c.external_id
        assert city.area(c.area).level == Level.GRID


def test_every_timeline_follows_the_transition_table(cases: list[g.CaseRec]) -> None:
    for c in cases:
        first, *rest = c.events
        assert (first.kind, first.from_status, first.to_status) == ("submit", "", Status.SUBMITTED)
        assert first.at == c.created_at
        status = Status.SUBMITTED
        previous = first.at
        for e in rest:
            t = TRANSITIONS[e.kind]
            assert e.from_status == status, (c.external_id, e.kind)
            assert status in t.sources, (c.external_id, e.kind, status)
            assert e.to_status == (t.target or status), (c.external_id, e.kind)
            assert previous <= e.at <= END
            status, previous = e.to_status, e.at
        assert c.status == status
        assert c.updated_at == c.events[-1].at


def test_case_fields_agree_with_the_timeline(city: g.City, cases: list[g.CaseRec]) -> None:
    sla = sla_for(city)
    for c in cases:
        kinds = [e.kind for e in c.events]
        if c.status in (Status.DISPATCHED, Status.ACCEPTED):
            assert c.unit and c.category and c.dispatched_at and c.resolve_due
            last_dispatch = max(e.at for e in c.events if e.kind == "dispatch")
            assert c.dispatched_at == last_dispatch
            # deadlines from the category's SLA, plus any extension granted since
            respond, resolve = sla[c.category]
            granted = sum(
                e.data["hours"]
                for e in c.events
                if e.kind == "grant_extension" and e.at >= last_dispatch
            )
            assert c.response_due == c.dispatched_at + respond
            assert c.resolve_due == c.dispatched_at + resolve + timedelta(hours=granted)
            assert (c.accepted_at is not None) == (c.status == Status.ACCEPTED)
        elif c.status in (Status.SUBMITTED, Status.AWAITING_DISPATCH):
            assert c.unit is None and c.resolve_due is None
        if c.status == Status.CLOSED:
            assert c.closed_at == c.events[-1].at and c.resolved_at is not None
        if c.status == Status.REJECTED:
            assert c.reject_reason and c.closed_at is not None
        if c.status == Status.MERGED:
            assert c.merged_into is not None and c.merged_into < c.external_id
        assert c.reopen_count == kinds.count("reopen")
        assert [f.round for f in c.feedback] == sorted(f.round for f in c.feedback)
        assert len(c.feedback) == kinds.count("rate")
        for f in c.feedback:
            assert f.rating in ("satisfied", "basic", "dissatisfied")
        # every reopen follows a dissatisfied rating within the reopen window
        for i, e in enumerate(c.events):
            if e.kind == "reopen":
                assert c.events[i - 1].kind == "rate"
                assert c.events[i - 1].data["rating"] == "dissatisfied"
                resolved = max(x.at for x in c.events[:i] if x.kind == "resolve")
                assert e.at - resolved <= timedelta(days=15)


def test_the_year_has_queues_overdue_dissatisfied_and_reopened_cases(
    cases: list[g.CaseRec],
) -> None:
    statuses = Counter(c.status for c in cases)
    assert sum(statuses[s] for s in OPEN_STATUSES) > 0
    assert statuses[Status.AWAITING_DISPATCH] + statuses[Status.SUBMITTED] > 0
    assert statuses[Status.DISPATCHED] + statuses[Status.ACCEPTED] > 0
    assert statuses[Status.REJECTED] > 0 and statuses[Status.MERGED] > 0
    overdue_now = [
        c for c in cases if c.status in ("dispatched", "accepted") and c.resolve_due < END
    ]
    assert overdue_now
    # resolved late at some point of their life
    late = [c for c in cases if c.resolved_at and c.resolve_due and c.resolved_at > c.resolve_due]
    assert len(late) > N * 0.02
    ratings = Counter(f.rating for c in cases for f in c.feedback)
    assert ratings["dissatisfied"] > 0 and ratings["satisfied"] > ratings["dissatisfied"]
    assert any(c.reopen_count for c in cases)
    kinds = Counter(e.kind for c in cases for e in c.events)
    for kind in ("send_back", "request_extension", "grant_extension", "refuse_extension", "close"):
        assert kinds[kind] > 0, kind
    # a system close after the reopen window, and a resident's close after a good rating
    closers = Counter(e.actor_label for c in cases for e in c.events if e.kind == "close")
    assert closers["system"] > 0 and closers["resident"] > 0


def test_texts_are_varied_and_realistic(cases: list[g.CaseRec]) -> None:
    texts_ = [c.text for c in cases]
    assert len(set(texts_)) / len(texts_) > 0.97
    assert len({c.template for c in cases}) > 150
    assert len({c.title for c in cases}) / len(cases) > 0.5
    assert all(0 < len(c.title) <= 200 and len(c.text) >= 15 for c in cases)
    languages = Counter(c.language for c in cases)
    assert languages["zh"] > 0.9 * N and languages["en"] + languages["mixed"] > 0
    # operators write calls in the third person; residents write in the first
    phone = [c.text for c in cases if c.channel == "phone" and c.language == "zh"]
    web = [c.text for c in cases if c.channel in ("web", "app") and c.language == "zh"]
    assert sum("来电人" in t or "市民来电" in t for t in phone) > 0.8 * len(phone)
    assert sum("来电人" in t for t in web) == 0
    # no slot left unfilled
    assert not any("{" in t or "}" in t for t in texts_)
    assert any("老人" in t or "岁" in t for t in texts_)  # elderly phrasing
    assert any("反映" in t and ("次" in t) for t in texts_)  # repeat complaints


def test_seasons_places_and_channels_differ(city: g.City, cases: list[g.CaseRec]) -> None:
    big = list(g.generate_cases(city, count=12000, seed=5, end=END, sla=sla_for(city)))
    heating = [
        c.created_at.month
        for c in big
        if c.category == "construction.heating" or c.template.startswith("construction.heating")
    ]
    winter = sum(m in (11, 12, 1, 2) for m in heating)
    summer = sum(m in (6, 7, 8) for m in heating)
    assert winter > 8 * max(summer, 1)
    character = {a.code: a.character for a in city.by_level(Level.GRID)}

    def share(pred: object, where: str) -> float:
        inside = [c for c in big if character[c.area] == where]
        return sum(bool(pred(c)) for c in inside) / len(inside)  # type: ignore[operator]

    def wages(c: g.CaseRec) -> bool:
        return c.template.startswith("labour.wages")

    assert share(wages, catalogue.INDUSTRIAL) > 3 * share(wages, catalogue.OLD_TOWN)

    def by_phone(c: g.CaseRec) -> bool:
        return c.channel in ("phone", "counter")

    assert share(by_phone, catalogue.OLD_TOWN) > share(by_phone, catalogue.NEW_TOWN) + 0.1

    # service is worse where migrants live: dissatisfied share, development zone vs new town
    def dissatisfied(c: g.CaseRec) -> bool:
        return any(f.rating == "dissatisfied" for f in c.feedback)

    assert share(dissatisfied, catalogue.INDUSTRIAL) > share(dissatisfied, catalogue.NEW_TOWN)

    # units differ too: the housing bureau takes longer, against its deadline, than the gas
    # company (time to resolve as a share of the time allowed, median over first rounds)
    def pace(unit: str) -> float:
        ratios = sorted(
            (c.resolved_at - c.dispatched_at) / (c.resolve_due - c.dispatched_at)
            for c in big
            if c.unit == unit
            and c.resolved_at
            and c.dispatched_at
            and c.resolve_due
            and not c.extensions
        )
        return ratios[len(ratios) // 2]

    assert pace("HOUSING") > 1.5 * pace("GAS")


DATA = Path("/work/shared/data/teddy_cup_2020c")


@pytest.mark.skipif(not DATA.exists(), reason="the teddy_cup data set is not on this machine")
def test_no_text_is_copied_from_the_teddy_cup_data(cases: list[g.CaseRec]) -> None:
    """Our clauses of 14+ characters never appear as clauses of the public data set."""
    theirs: set[str] = set()
    for path in DATA.glob("*.csv"):
        with path.open(encoding="utf-8", errors="ignore") as fh:
            for line in fh:
                theirs.update(texts.clauses(line, 14))
    ours = {clause for c in cases[:800] for clause in texts.clauses(c.text, 14)}
    assert ours
    copied = sorted(ours & theirs)
    assert not copied, copied[:5]


def test_generation_imports_nothing_of_django() -> None:
    code = (
        "import sys, urbangov.demo.generator, urbangov.demo.texts, urbangov.demo.catalogue\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
