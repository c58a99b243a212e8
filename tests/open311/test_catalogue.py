"""Categories as services: which are offered, definitions that survive an admin's typos, and
W3C date-times read as the note at https://www.w3.org/TR/NOTE-datetime defines them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import City
from urbangov.open311 import catalogue, w3c
from urbangov.org.models import Category

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.django_db
def test_retired_categories_and_their_children_are_not_offered(city: City) -> None:
    assert [c.code for c in catalogue.active_services()] == ["gas", "noise", "water.leak"]
    Category.objects.filter(pk=city.water.pk).update(active=False)
    Category.objects.filter(pk=city.gas.pk).update(active=False)
    assert [c.code for c in catalogue.active_services()] == ["noise"]
    assert catalogue.service("water.leak") is None and catalogue.service("gas") is None
    # A group whose only child retires becomes a service itself.
    Category.objects.filter(pk=city.water.pk).update(active=True)
    Category.objects.filter(pk=city.water_leak.pk).update(active=False)
    assert [c.code for c in catalogue.active_services()] == ["noise", "water"]
    assert catalogue.service("water") == city.water


@pytest.mark.django_db
def test_a_malformed_definition_is_read_as_far_as_it_makes_sense(city: City) -> None:
    city.noise.attributes = [
        "not an object",
        {"description": "no code"},
        {"code": "WHEN", "datatype": "Datetime", "required": "true", "order": "2"},
        {"code": "KIND", "datatype": "colour", "order": "first"},
        {"code": "WHEN", "datatype": "number"},
        {
            "code": "LEVEL",
            "datatype": "singlevaluelist",
            "values": [{"key": 1, "name": "低"}, {"name": "x"}],
        },
    ]
    attributes = catalogue.attributes_of(city.noise, "zh-hans")
    assert [(a.code, a.datatype, a.required, a.order) for a in attributes] == [
        ("WHEN", "datetime", True, 2),
        ("KIND", "string", False, 4),
        ("LEVEL", "singlevaluelist", False, 6),
    ]
    assert attributes[2].values == (catalogue.Choice("1", "低"),)
    city.noise.attributes = {"not": "a list"}
    assert catalogue.attributes_of(city.noise, "en") == []


@pytest.mark.django_db
def test_answers_are_checked_against_the_definition(city: City) -> None:
    from django.core.exceptions import ValidationError

    from tests.open311.conftest import LEAK_ATTRIBUTES

    city.water_leak.attributes = LEAK_ATTRIBUTES
    answers = catalogue.check_answers(
        city.water_leak,
        {
            "SIZE": ["burst"],
            "WHERE": ["wall", "wall", "road"],
            "FLOORS": ["2.5"],
            "SINCE": ["2026-11-28T08:00Z"],
        },
    )
    # Duplicate list values fold; the datetime is restated in the city's offset
    # (08:00Z = 16:00+08:00).
    assert answers == {
        "SIZE": "burst",
        "WHERE": ["wall", "road"],
        "FLOORS": 2.5,
        "SINCE": "2026-11-28T16:00:00+08:00",
    }
    for bad in (["1e999"], ["0x10"], ["NaN"], [""]):
        with pytest.raises(ValidationError):
            catalogue.check_answers(
                city.water_leak, {"SIZE": bad if bad == [""] else ["drip"], "FLOORS": bad}
            )


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("2026", datetime(2026, 1, 1, tzinfo=SHANGHAI), datetime(2027, 1, 1, tzinfo=SHANGHAI)),
        ("2026-12", datetime(2026, 12, 1, tzinfo=SHANGHAI), datetime(2027, 1, 1, tzinfo=SHANGHAI)),
        ("2024-02", datetime(2024, 2, 1, tzinfo=SHANGHAI), datetime(2024, 3, 1, tzinfo=SHANGHAI)),
        (
            "2024-02-29",
            datetime(2024, 2, 29, tzinfo=SHANGHAI),
            datetime(2024, 3, 1, tzinfo=SHANGHAI),
        ),
        (
            "1997-07-16T19:20+01:00",
            datetime(1997, 7, 16, 18, 20, tzinfo=UTC),
            datetime(1997, 7, 16, 18, 21, tzinfo=UTC),
        ),
        (
            "1997-07-16T19:20:30.45+01:00",
            datetime(1997, 7, 16, 18, 20, 30, 450000, tzinfo=UTC),
            datetime(1997, 7, 16, 18, 20, 30, 450001, tzinfo=UTC),
        ),
        (
            "2010-01-01T00:00:00Z",
            datetime(2010, 1, 1, tzinfo=UTC),
            datetime(2010, 1, 1, 0, 0, 1, tzinfo=UTC),
        ),
        (
            "2010-01-01T00:00:00-0530",
            datetime(2010, 1, 1, 5, 30, tzinfo=UTC),
            datetime(2010, 1, 1, 5, 30, 1, tzinfo=UTC),
        ),
    ],
)
def test_w3c_values_name_a_period(value: str, start: datetime, end: datetime) -> None:
    period = w3c.parse(value)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize(
    "value",
    [
        "2026-02-29",
        "2026-13",
        "2026-00-10",
        "2026-01-01T24:00Z",
        "2026-01-01T10:00+15:00",
        "26-01-01",
        "2026-01-01 10:00",
        "2026-1-1",
        "",
        "now",
        "2026-01-01T10:00:00+08:00junk",
    ],
)
def test_w3c_refuses_what_is_not_a_date_time(value: str) -> None:
    with pytest.raises(ValueError, match=r"W3C|real date"):
        w3c.parse(value)


def test_w3c_output_has_the_citys_offset() -> None:
    moment = datetime(2026, 1, 1, 0, 0, tzinfo=timezone(timedelta(0)))
    assert w3c.format_datetime(moment) == "2026-01-01T08:00:00+08:00"
    assert w3c.format_datetime(None) is None
