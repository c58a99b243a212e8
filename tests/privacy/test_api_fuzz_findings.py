"""The server errors the API fuzzer (``.ci/api-fuzz``, schemathesis over the OpenAPI schema)
found, each now a clear 4xx that changes nothing. The fuzzer's baseline of accepted failures
(``.ci/api-fuzz-known.json``) is empty: any 5xx it finds fails CI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.conftest import City, make_case
from urbangov.org.actions import create_api_token
from urbangov.participation import actions as participation
from urbangov.participation.models import Result

pytestmark = pytest.mark.django_db

# Beyond SQLite's 64-bit integers: it used to reach the database and fail there (500).
HUGE = "900000000000000000000000000000000"


def _staff(city: City, username: str) -> Client:
    key = create_api_token(actor=None, user=city.user(username), name="test")[1]
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.parametrize("url", ["/api/v1/cases", "/api/v1/areas", "/api/v1/participation/topics"])
def test_an_offset_beyond_the_bound_is_refused_by_the_schema(city: City, url: str) -> None:
    make_case(city)
    client = _staff(city, "admin")
    for offset in (HUGE, "1000000001"):
        r = client.get(url, {"offset": offset})
        assert r.status_code == 422, (url, offset, r.content)
        assert "offset" in json.dumps(r.json())
    # The bound itself is a valid, empty page.
    r = client.get(url, {"offset": "1000000000"})
    assert r.status_code == 200
    body: Any = r.json()
    assert (body["items"] if isinstance(body, dict) else body) == []


def test_a_result_with_an_empty_unit_is_refused_with_a_400(city: City) -> None:
    topic = participation.open_topic(
        actor=city.user("handler_d1"),
        title="东区一社区口袋公园改造",
        summary="社区空地改造成口袋公园，还是停车位？",
        area=city.d1,
        unit=city.office_d1,
    )
    r = _staff(city, "handler_d1").post(
        f"/api/v1/participation/topics/{topic.pk}/results",
        data=json.dumps({"title": "建成口袋公园", "unit": ""}),
        content_type="application/json",
    )
    assert r.status_code == 400, r.content
    assert "unit" in r.json()["detail"]
    assert not Result.objects.exists()


def test_the_fuzzers_baseline_accepts_no_server_error() -> None:
    known = Path(__file__).resolve().parents[2] / ".ci" / "api-fuzz-known.json"
    assert json.loads(known.read_text(encoding="utf-8"))["entries"] == []
