"""The public catalogue API (categories with their SLA, areas, units) and the API's token
authentication (org.auth)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import City
from urbangov.org.actions import create_api_token
from urbangov.org.auth import TOUCH_EVERY, user_for_token
from urbangov.org.models import ApiToken, Category, SlaPolicy, Unit, UnitKind, Urgency

pytestmark = pytest.mark.django_db


def get(url: str, language: str = "en", **query: Any) -> Any:
    return Client(HTTP_ACCEPT_LANGUAGE=language).get(url, query)


# --- categories -------------------------------------------------------------------------------


def test_categories_are_two_levels_with_sla_hours(city: City) -> None:
    r = get("/api/v1/categories")
    assert r.status_code == 200
    top = {c["code"]: c for c in r.json()}
    assert list(top) == ["gas", "noise", "water"]
    # The defaults: emergency 2 h, utilities 24 h, ordinary 7 days; responses 1/4/24 h.
    assert (top["gas"]["resolve_hours"], top["gas"]["response_hours"]) == (2, 1)
    assert (top["water"]["resolve_hours"], top["water"]["response_hours"]) == (24, 4)
    assert (top["noise"]["resolve_hours"], top["noise"]["response_hours"]) == (7 * 24, 24)
    assert [c["code"] for c in top["water"]["children"]] == ["water.leak"]
    leak = top["water"]["children"][0]
    assert leak["urgency"] == "utility" and leak["children"] == []
    assert leak["name"] == "Water leak" and leak["name_zh"] == "水管漏水"


def test_categories_follow_the_citys_sla_and_language(city: City) -> None:
    SlaPolicy.objects.update_or_create(
        urgency=Urgency.ORDINARY, defaults={"resolve_hours": 100, "response_hours": 12}
    )
    Category.objects.filter(code="gas").update(resolve_hours=3)
    Category.objects.create(code="old", name="旧分类", active=False)
    top = {c["code"]: c for c in get("/api/v1/categories", language="zh-hans").json()}
    assert "old" not in top
    assert (top["noise"]["resolve_hours"], top["noise"]["response_hours"]) == (100, 12)
    assert (top["gas"]["resolve_hours"], top["gas"]["response_hours"]) == (3, 1)
    assert top["water"]["name"] == "供水"


# --- areas ------------------------------------------------------------------------------------


def test_areas_filter_by_level_parent_and_within(city: City) -> None:
    body = get("/api/v1/areas").json()
    assert body["count"] == 11  # the city, 2 districts, 2 streets, 2 communities, 4 grid cells
    assert body["items"][0]["code"] == "C" and body["items"][0]["parent"] is None
    assert all(item["geometry"] is None for item in body["items"])
    districts = get("/api/v1/areas", level="district").json()
    assert [a["code"] for a in districts["items"]] == ["D1", "D2"]
    assert {a["parent"] for a in districts["items"]} == {"C"}
    children = get("/api/v1/areas", parent="D1S1C1").json()
    assert [a["code"] for a in children["items"]] == ["D1S1C1G1", "D1S1C1G2"]
    within = get("/api/v1/areas", within="D2").json()
    assert [a["code"] for a in within["items"]] == ["D2", "D2S1", "D2S1C1", "D2S1C1G1", "D2S1C1G2"]
    grids = get("/api/v1/areas", level="grid", within="D2").json()
    assert grids["count"] == 2


def test_area_geometry_only_when_asked(city: City) -> None:
    body = get("/api/v1/areas", level="district", geometry=1).json()
    d1 = body["items"][0]
    assert d1["geometry"] == city.d1.geometry
    assert d1["geometry"]["type"] == "Polygon"


def test_areas_paginate(city: City) -> None:
    pages = [get("/api/v1/areas", limit=4, offset=o).json() for o in (0, 4, 8)]
    codes = [a["code"] for p in pages for a in p["items"]]
    assert [p["count"] for p in pages] == [11, 11, 11]
    assert len(codes) == len(set(codes)) == 11


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ({"level": "planet"}, 400, "planet"),
        ({"parent": "NOPE"}, 400, "NOPE"),
        ({"within": "NOPE"}, 400, "NOPE"),
        ({"limit": 0}, 422, "limit"),
        ({"geometry": "perhaps"}, 422, "geometry"),
    ],
)
def test_bad_area_filters_say_what_is_wrong(
    city: City, query: dict[str, Any], status: int, words: str
) -> None:
    r = get("/api/v1/areas", **query)
    assert r.status_code == status and words in r.json()["detail"]


# --- units ------------------------------------------------------------------------------------


def test_units_with_their_areas_and_categories(city: City) -> None:
    Unit.objects.create(code="OLD", name="撤销的单位", kind=UnitKind.DEPARTMENT, active=False)
    units = {u["code"]: u for u in get("/api/v1/units").json()}
    assert set(units) == {"12345", "WATER", "D1S1", "D2S1"}
    assert units["WATER"] == {
        "code": "WATER",
        "name": "市水务局",
        "kind": "department",
        "parent": None,
        "areas": ["C"],
        "categories": ["water", "water.leak"],
    }
    assert units["D1S1"]["areas"] == ["D1"]
    offices = get("/api/v1/units", kind="street_office").json()
    assert [u["code"] for u in offices] == ["D1S1", "D2S1"]
    r = get("/api/v1/units", kind="ministry")
    assert r.status_code == 400 and "ministry" in r.json()["detail"]


def test_catalogue_needs_no_authentication_and_is_read_only(city: City) -> None:
    for path in ("/api/v1/categories", "/api/v1/areas", "/api/v1/units"):
        assert Client().get(path).status_code == 200
        assert Client().post(path, {}, content_type="application/json").status_code == 405


# --- token authentication -----------------------------------------------------------------------


def test_only_the_hash_of_a_token_is_stored(city: City) -> None:
    token, key = create_api_token(actor=None, user=city.user("operator"), name="hotline")
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM org_apitoken")
        rows = cur.fetchall()
    assert not any(key in str(value) for row in rows for value in row)
    assert user_for_token(key) == city.user("operator")
    assert user_for_token(key + "x") is None
    assert user_for_token("") is None and user_for_token("k" * 10_000) is None


def test_last_used_is_written_at_most_once_a_minute(city: City) -> None:
    token, key = create_api_token(actor=None, user=city.user("operator"), name="hotline")
    assert token.last_used_at is None
    with CaptureQueriesContext(connection) as first:
        user_for_token(key)
    token.refresh_from_db()
    used = token.last_used_at
    assert used is not None and len(first) == 2  # the lookup, and the first use written
    with CaptureQueriesContext(connection) as soon:
        assert user_for_token(key) == city.user("operator")
    assert len(soon) == 1  # the lookup only
    token.refresh_from_db()
    assert token.last_used_at == used
    ApiToken.objects.filter(pk=token.pk).update(
        last_used_at=used - TOUCH_EVERY - timedelta(seconds=1)
    )
    user_for_token(key)
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_at > used - timedelta(seconds=1)
    assert timezone.now() - token.last_used_at < timedelta(seconds=30)


def test_tokens_of_inactive_users_are_refused(city: City) -> None:
    user = city.user("operator")
    _, key = create_api_token(actor=None, user=user, name="hotline")
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert user_for_token(key) is None
    r = Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/cases")
    assert r.status_code == 401
