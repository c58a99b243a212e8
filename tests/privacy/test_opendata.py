"""Open data: counts by area level, category and month, small cells suppressed, published as
CSV, JSON and Parquet on a public page; the publication logged with its digest."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import polars as pl
import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import City, make_case
from urbangov.privacy.actions import publish_open_data
from urbangov.privacy.models import AuditEvent, OpenDataRelease, digest_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(city: City) -> None:
    # Water (its leak subcategory counts under it): 3 in D1, 2 in D2. Noise: 1 in D1.
    for _ in range(3):
        make_case(city, where="d1")
    for _ in range(2):
        make_case(city, where="d2")
    make_case(city, where="d1", category=city.noise, text="楼上装修噪音太大")


def _tomorrow() -> Any:
    return timezone.now() + timedelta(days=1)


def _rows(level: str) -> list[dict[str, Any]]:
    release = OpenDataRelease.objects.get(level=level)
    return [(r["area"], r["category"], r["cases"]) for r in release.table]  # type: ignore[misc]


def test_counts_and_suppression_by_hand(cases: None) -> None:
    publish_open_data(k=2, now=_tomorrow())
    # k = 2. Water: D1 3, D2 2 — published at every level (each district has one street and
    # one community). Noise: 1 in D1 — suppressed, and everything under it.
    assert sorted(_rows("district")) == [
        ("D1", "noise", None),
        ("D1", "water", 3),
        ("D2", "water", 2),
    ]
    assert sorted(_rows("street")) == [
        ("D1S1", "noise", None),
        ("D1S1", "water", 3),
        ("D2S1", "water", 2),
    ]
    assert sorted(_rows("community")) == [
        ("D1S1C1", "noise", None),
        ("D1S1C1", "water", 3),
        ("D2S1C1", "water", 2),
    ]
    district = OpenDataRelease.objects.get(level="district")
    assert district.cells == 3 and district.suppressed == 1 and district.k == 2
    assert district.digest == digest_of(district.table)
    row = next(r for r in district.table if r["area"] == "D1" and r["category"] == "water")
    assert row["area_name"] == "东区" and row["parent_area"] == ""
    assert row["month"] == timezone.localtime().strftime("%Y-%m")
    assert row["category_name"] == "供水 / Water supply"


def test_default_k_of_ten_hides_a_small_city_entirely(cases: None) -> None:
    publish_open_data(now=_tomorrow())
    for release in OpenDataRelease.objects.all():
        assert release.k == 10 and all(r["cases"] is None for r in release.table)


def test_todays_cases_wait_for_tomorrow(cases: None) -> None:
    publish_open_data(k=2)
    assert all(r.cells == 0 for r in OpenDataRelease.objects.all())


def test_publication_is_logged_and_not_repeated_when_nothing_changed(cases: None) -> None:
    first = publish_open_data(k=2, now=_tomorrow())
    again = publish_open_data(k=2, now=_tomorrow() + timedelta(minutes=1))
    assert [r.pk for r in again] == [r.pk for r in first]
    events = AuditEvent.objects.filter(action="privacy.opendata.publish")
    assert events.count() == 1
    assert events.get().data["sha256"] == {r.level: r.digest for r in first}


def test_noise_changes_published_counts_only(cases: None, settings: Any) -> None:
    plain = {(r["area"], r["category"]): r["cases"] for r in _publish_district(None)}
    OpenDataRelease.objects.all().delete()
    noisy = {(r["area"], r["category"]): r["cases"] for r in _publish_district(0.1)}
    assert plain.keys() == noisy.keys()
    assert noisy[("D1", "noise")] is None  # suppression is decided on the true counts
    # With epsilon 0.1 the noise's standard deviation is about 14: both water counts staying
    # exact would happen with probability (0.05)² — and the draw is fixed, so this is stable.
    assert (noisy[("D1", "water")], noisy[("D2", "water")]) != (3, 2)
    assert _publish_district(0.1, later=True) == _publish_district(0.1, later=True)


def _publish_district(epsilon: float | None, later: bool = False) -> list[dict[str, Any]]:
    now = _tomorrow() + (timedelta(hours=1) if later else timedelta())
    releases = publish_open_data(k=2, epsilon=epsilon, now=now)
    return next(r for r in releases if r.level == "district").table


def test_page_and_downloads_in_three_formats(cases: None) -> None:
    client = Client()
    page = client.get(reverse("privacy:open_data"))
    assert page.status_code == 200 and "Content-Security-Policy" in page
    assert reverse("privacy:open_data_file", args=["cases", "street", "csv"]) not in page.text
    publish_open_data(k=2, now=_tomorrow())
    page = client.get(reverse("privacy:open_data"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    for fmt in ("csv", "json", "parquet"):
        assert reverse("privacy:open_data_file", args=["cases", "street", fmt]) in page.text
    table = OpenDataRelease.objects.get(level="street").table
    expected = [(r["area"], r["category"], r["month"], r["cases"]) for r in table]

    csv_response = client.get(reverse("privacy:open_data_file", args=["cases", "street", "csv"]))
    assert csv_response["Content-Type"].startswith("text/csv")
    assert "attachment" in csv_response["Content-Disposition"]
    text = csv_response.content.decode("utf-8-sig")
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [
        (r["area"], r["category"], r["month"], int(r["cases"]) if r["cases"] else None)
        for r in parsed
    ] == expected

    body = json.loads(
        client.get(reverse("privacy:open_data_file", args=["cases", "street", "json"])).content
    )
    assert [(r["area"], r["category"], r["month"], r["cases"]) for r in body["rows"]] == expected

    parquet = client.get(reverse("privacy:open_data_file", args=["cases", "street", "parquet"]))
    assert parquet.content[:4] == b"PAR1" and parquet.content[-4:] == b"PAR1"
    frame = pl.read_parquet(io.BytesIO(parquet.content))
    assert (
        list(zip(frame["area"], frame["category"], frame["month"], frame["cases"], strict=True))
        == expected
    )

    assert client.get("/open-data/cases/street.xlsx").status_code == 404
    assert client.get("/open-data/cases/grid.csv").status_code == 404
    assert client.get("/open-data/nothing/street.csv").status_code == 404


def test_command_publishes_and_refuses_bad_parameters(cases: None) -> None:
    out = io.StringIO()
    call_command("opendata", "publish", "--k", "2", stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {line["level"] for line in lines} == {"district", "street", "community"}
    for bad in (["--k", "1"], ["--epsilon", "-1"], ["--epsilon", "0"]):
        with pytest.raises(CommandError) as info:
            call_command("opendata", "publish", *bad)
        assert info.value.returncode == 2
