"""The routing table: the most specific rule wins, then the units that answer for the
category there, then rules for any category, then the district's fallback (兜底); places
named in an address locate a case without a point; changes reach the dispatcher at once."""

from __future__ import annotations

import pytest

from tests.conftest import City
from tests.dispatch.test_dispatcher import submit
from urbangov.algorithms.models import AlgorithmVersion, Decision, Kind
from urbangov.dispatch import actions, routing
from urbangov.dispatch.models import DistrictFallback, RoutingRule
from urbangov.org.models import Unit

pytestmark = pytest.mark.django_db


def route(city: City, category: object, area: object) -> routing.Route:
    return routing.current().route(
        category.pk if category else None,  # type: ignore[attr-defined]
        area.pk if area else None,  # type: ignore[attr-defined]
    )


def test_precedence(city: City, fresh_caches: None) -> None:
    leak, grid1, grid2 = city.water_leak, city.grid_d1, city.grid_d2
    first = route(city, leak, grid1)
    assert (first.how, first.unit.code if first.unit else None) == (routing.UNIT, "WATER")
    assert first.area == routing.current().areas[city.city.pk]

    RoutingRule.objects.create(category=city.water, area=city.d1, unit=city.office_d1)
    r = route(city, leak, grid1)
    assert (r.how, r.unit and r.unit.code) == (routing.PARENT_RULE, "D1S1")
    assert route(city, leak, grid2).how == routing.UNIT  # the rule holds in district 1 only

    RoutingRule.objects.create(category=leak, area=city.city, unit=city.dispatch_centre)
    r = route(city, leak, grid1)
    assert (r.how, r.unit and r.unit.code) == (routing.RULE, "12345")

    RoutingRule.objects.create(category=leak, area=grid1, unit=city.office_d1)
    r = route(city, leak, grid1)
    assert (r.how, r.unit and r.unit.code, r.area and r.area.code) == (
        routing.RULE,
        "D1S1",
        grid1.code,
    )


def test_any_category_rule_then_fallback_then_nobody(city: City, fresh_caches: None) -> None:
    assert route(city, city.gas, city.grid_d1).how == routing.NONE
    DistrictFallback.objects.create(district=city.d1, unit=city.office_d1)
    r = route(city, city.gas, city.grid_d1)
    assert (r.how, r.unit and r.unit.code, r.area and r.area.code) == (
        routing.FALLBACK,
        "D1S1",
        "D1",
    )
    assert route(city, city.gas, city.grid_d2).how == routing.NONE
    RoutingRule.objects.create(category=None, area=city.d1, unit=city.dispatch_centre)
    r = route(city, city.gas, city.grid_d1)
    assert (r.how, r.unit and r.unit.code) == (routing.ANY_RULE, "12345")
    # A unit that answers for the category still comes before a rule for any category.
    assert route(city, city.noise, city.grid_d1).unit.code == "D1S1"  # type: ignore[union-attr]


def test_unlocated_cases_only_follow_citywide_routes(city: City, fresh_caches: None) -> None:
    assert route(city, city.water_leak, None).unit.code == "WATER"  # type: ignore[union-attr]
    assert route(city, city.noise, None).how == routing.NONE  # street offices need a place


def test_inactive_units_are_never_routed_to(city: City, fresh_caches: None) -> None:
    Unit.objects.filter(pk=city.water_dept.pk).update(active=False)
    routing.invalidate()
    assert route(city, city.water_leak, city.grid_d1).how == routing.NONE


def test_place_names_in_the_address(city: City, fresh_caches: None) -> None:
    table = routing.current()
    found = table.locate_text("东区一社区幸福里5号", "")
    assert found is not None and found[0].code == "D1S1C1"
    found = table.locate_text("", "我住在西区一街道，晚上很吵")
    assert found is not None and found[0].code == "D2S1"
    # A short name ("西区一", leaving out 街道) counts in the address only.
    found = table.locate_text("西区一幸福里", "")
    assert found is not None and found[0].code.startswith("D2S1")
    # In the text only the full names count: here the district's.
    in_text = table.locate_text("", "西区一幸福里")
    assert in_text is not None and in_text[0].code == "D2"
    assert table.locate_text("幸福里5号", "没有地名") is None


def test_case_without_a_point_is_routed_by_its_address(
    city: City, model_in_service: AlgorithmVersion
) -> None:
    case = submit(city, "酒吧音乐声半夜还很响，吵得睡不着", where="", address="西区一社区幸福里5号")
    actions.dispatch_submitted()
    decision = Decision.objects.about(case).get(kind=Kind.ALGORITHM)
    located = next(r for r in decision.reasons if r["code"] == "located")
    assert located["how"] == "address" and located["area"] == "D2S1C1"
    assert decision.output["unit"] == city.office_d2.code


def test_a_rule_saved_now_is_used_now(city: City, fresh_caches: None) -> None:
    assert route(city, city.noise, city.grid_d1).unit.code == "D1S1"  # type: ignore[union-attr]
    RoutingRule.objects.create(category=city.noise, area=city.grid_d1, unit=city.dispatch_centre)
    assert route(city, city.noise, city.grid_d1).unit.code == "12345"  # type: ignore[union-attr]
