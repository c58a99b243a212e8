"""Shared personas and a small city to test against.

The city: one city, two districts (D1 east, D2 west), a street and a community each, and two
grid cells per community, all as real polygons. Units: the dispatch centre (whole city), the
water department (whole city), and a street office per district. Personas: resident (no
account), operator, handler (water), handler_d1 (street office D1), supervisor, analyst,
algorithm officer, auditor, admin, and an outsider (handler in the D2 street office).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.test import TestCase

from urbangov.cases.actions import Submission, submit_case, triage_submitted
from urbangov.cases.models import Case, Channel
from urbangov.org.models import Area, Category, Level, Membership, Role, Unit, UnitKind, Urgency

PASSWORD = "correct horse battery staple 42"


def box(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
    }


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # Argon2 is deliberately slow; tests create many accounts.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> None:
    # Rolled-back test data leaves no signal behind; start every test with a fresh area index
    # and SLA table, and no text vectors kept from another test's model.
    from django.core.cache import caches

    from urbangov.dispatch.engine import VECTOR_CACHE
    from urbangov.org import geo, models

    geo.invalidate()
    models.forget_sla()
    caches[VECTOR_CACHE].clear()


@dataclass
class RateClock:
    """The clock the rate limiter counts its fixed windows by, pinned for a test."""

    now: float

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def rate_clock(monkeypatch: pytest.MonkeyPatch) -> RateClock:
    """Pin the rate limiter's clock at a UTC midnight, where every window (second, minute,
    hour, day) opens, so that no window boundary can fall inside a test; counters start empty.
    Only the limiter's clock: the Retry-After a view computes still reads the real time."""
    from django.core.cache import cache

    from urbangov.privacy import ratelimit

    clock = RateClock(now=1_767_225_600.0)  # 2026-01-01T00:00:00Z
    monkeypatch.setattr(ratelimit, "_now", lambda: clock.now)
    cache.clear()
    return clock


@dataclass
class City:
    city: Area
    d1: Area
    d2: Area
    grid_d1: Area
    grid_d2: Area
    water: Category
    water_leak: Category
    noise: Category
    gas: Category
    dispatch_centre: Unit
    water_dept: Unit
    office_d1: Unit
    office_d2: Unit
    users: dict[str, AbstractBaseUser]

    # A point inside each district's first grid cell (lon, lat order is GeoJSON's; these are lat/lon).
    p_d1 = (31.205, 121.405)
    p_d2 = (31.205, 121.305)

    def user(self, role: str) -> AbstractBaseUser:
        return self.users[role]


def _area(code: str, name: str, level: str, parent: Area | None, geometry: dict[str, Any]) -> Area:
    return Area.objects.create(code=code, name=name, level=level, parent=parent, geometry=geometry)


@pytest.fixture
def english(settings: Any) -> None:
    """For tests that read messages in English (``pytest.mark.usefixtures("english")``): the
    city's default language is Chinese, and the message catalogues translate what they check.
    Without it such a test passes or fails by what ran before it in the same process."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def city(db: None) -> City:
    c = _area("C", "示范市", Level.CITY, None, box(121.3, 31.2, 121.5, 31.3))
    areas: dict[str, Area] = {}
    for code, name, x0 in (("D1", "东区", 121.4), ("D2", "西区", 121.3)):
        d = _area(code, name, Level.DISTRICT, c, box(x0, 31.2, x0 + 0.1, 31.3))
        s = _area(f"{code}S1", f"{name}一街道", Level.STREET, d, box(x0, 31.2, x0 + 0.1, 31.3))
        m = _area(f"{code}S1C1", f"{name}一社区", Level.COMMUNITY, s, box(x0, 31.2, x0 + 0.1, 31.3))
        g1 = _area(f"{code}S1C1G1", f"{name}网格1", Level.GRID, m, box(x0, 31.2, x0 + 0.05, 31.3))
        _area(f"{code}S1C1G2", f"{name}网格2", Level.GRID, m, box(x0 + 0.05, 31.2, x0 + 0.1, 31.3))
        areas[code] = d
        areas[f"{code}g"] = g1
    water = Category.objects.create(
        code="water", name="供水", name_en="Water supply", urgency=Urgency.UTILITY
    )
    leak = Category.objects.create(
        code="water.leak",
        name="水管漏水",
        name_en="Water leak",
        parent=water,
        urgency=Urgency.UTILITY,
    )
    noise = Category.objects.create(
        code="noise", name="噪音扰民", name_en="Noise", urgency=Urgency.ORDINARY
    )
    gas = Category.objects.create(
        code="gas", name="燃气泄漏", name_en="Gas leak", urgency=Urgency.EMERGENCY
    )
    centre = Unit.objects.create(code="12345", name="12345热线中心", kind=UnitKind.DISPATCH_CENTRE)
    centre.areas.add(c)
    water_dept = Unit.objects.create(code="WATER", name="市水务局", kind=UnitKind.DEPARTMENT)
    water_dept.areas.add(c)
    water_dept.categories.add(water, leak)
    office_d1 = Unit.objects.create(code="D1S1", name="东区一街道办", kind=UnitKind.STREET_OFFICE)
    office_d1.areas.add(areas["D1"])
    office_d1.categories.add(noise)
    office_d2 = Unit.objects.create(code="D2S1", name="西区一街道办", kind=UnitKind.STREET_OFFICE)
    office_d2.areas.add(areas["D2"])
    office_d2.categories.add(noise)

    User = get_user_model()
    users: dict[str, AbstractBaseUser] = {}
    plan = [
        ("operator", centre, Role.OPERATOR),
        ("handler", water_dept, Role.HANDLER),
        ("handler_d1", office_d1, Role.HANDLER),
        ("supervisor", centre, Role.SUPERVISOR),
        ("analyst", centre, Role.ANALYST),
        ("algorithm_officer", centre, Role.ALGORITHM_OFFICER),
        ("auditor", centre, Role.AUDITOR),
        ("admin", centre, Role.ADMIN),
        ("outsider", office_d2, Role.HANDLER),
    ]
    for username, unit, role in plan:
        user = User.objects.create_user(username=username, password=PASSWORD)
        Membership.objects.create(user=user, unit=unit, role=role)
        users[username] = user
    users["nobody"] = User.objects.create_user(username="nobody", password=PASSWORD)
    return City(
        city=c,
        d1=areas["D1"],
        d2=areas["D2"],
        grid_d1=areas["D1g"],
        grid_d2=areas["D2g"],
        water=water,
        water_leak=leak,
        noise=noise,
        gas=gas,
        dispatch_centre=centre,
        water_dept=water_dept,
        office_d1=office_d1,
        office_d2=office_d2,
        users=users,
    )


def make_case(
    city: City, *, where: str = "d1", text: str = "楼下水管漏水，已经流了一整天", **kw: Any
) -> Case:
    lat, lon = city.p_d1 if where == "d1" else city.p_d2
    sub = Submission(
        channel=kw.pop("channel", Channel.WEB),
        title=kw.pop("title", "水管漏水"),
        text=text,
        reported_category=kw.pop("category", city.water_leak),
        lat=lat,
        lon=lon,
        contact_name=kw.pop("contact_name", "张三"),
        contact_phone=kw.pop("contact_phone", "13800138000"),
        **kw,
    )
    # Run the on-commit work as a real commit would, then the worker's periodic triage.
    with TestCase.captureOnCommitCallbacks(execute=True):
        case = submit_case(actor=None, submission=sub).case
    triage_submitted()
    case.refresh_from_db()
    return case


@pytest.fixture
def case_d1(city: City) -> Case:
    return make_case(city)
