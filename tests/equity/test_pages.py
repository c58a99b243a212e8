"""The equity pages, reports and siting plans on a small Demo City, over real HTTP (Django's
test client), with plain form posts (no JavaScript)."""

from __future__ import annotations

import csv
import io
import json
from io import StringIO
from typing import Any

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.urls import reverse

from urbangov.analytics import accessibility, inequality
from urbangov.equity import queries
from urbangov.equity.models import AccessReport, AccessValue, SitingPlan
from urbangov.org.models import Area, Facility, Level
from urbangov.privacy.models import AuditEvent

pytestmark = pytest.mark.django_db

ALLOWED = ["analyst", "supervisor", "admin"]
REFUSED = ["operator", "handler", "auditor", "nobody"]
# The demo's year of cases ends on 2025-06-01: read ten years back from today.
DAYS = "3650"


def client_for(user: Any, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def pages() -> list[str]:
    return [
        reverse("equity:index"),
        reverse("equity:access", args=["clinic"]),
        reverse("equity:digital") + f"?days={DAYS}",
        reverse("equity:service") + f"?days={DAYS}",
        reverse("equity:siting"),
    ]


@pytest.mark.parametrize("role", ALLOWED)
def test_analysts_supervisors_and_admins_see_every_page(
    demo_city: dict[str, Any], role: str
) -> None:
    client = client_for(demo_city[role])
    for url in pages():
        response = client.get(url)
        assert response.status_code == 200, url
    home = client.get(reverse("cases:workbench"))
    assert reverse("equity:index").encode() in home.content


@pytest.mark.parametrize("role", REFUSED)
def test_everyone_else_gets_404_and_no_link(demo_city: dict[str, Any], role: str) -> None:
    client = client_for(demo_city[role])
    for url in pages():
        assert client.get(url).status_code == 404, url
    assert (
        client.post(
            reverse("equity:access", args=["clinic"]), {"method": "2sfca", "threshold": 1000}
        ).status_code
        == 404
    )
    assert not AccessReport.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(demo_city: dict[str, Any]) -> None:
    response = Client().get(reverse("equity:index"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant", "en"])
def test_the_report_page_in_each_language_after_a_form_post(
    demo_city: dict[str, Any], language: str
) -> None:
    client = client_for(demo_city["analyst"], language)
    url = reverse("equity:access", args=["clinic"])
    response = client.post(url, {"method": "e2sfca", "decay": "gaussian", "threshold": "1500"})
    assert response.status_code == 302
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert f'<html lang="{language}">' in html
    assert "<svg" in html and 'role="img"' in html and "<desc" in html  # the map, described
    assert html.count("<path ") == Area.objects.filter(level=Level.GRID).count()
    report = AccessReport.objects.get()
    # a table alternative: every group and district is in a table
    for district in report.summary["districts"]:
        assert district["name"] in html


def test_a_report_keeps_what_the_analytics_compute(demo_city: dict[str, Any]) -> None:
    client = client_for(demo_city["supervisor"])
    client.post(
        reverse("equity:access", args=["elderly_care"]),
        {"method": "2sfca", "threshold": "1000"},
    )
    report = AccessReport.objects.get()
    cells = queries.grid()
    assert report.cells == len(cells) == AccessValue.objects.filter(report=report).count()
    assert report.facilities == Facility.objects.filter(kind="elderly_care").count()
    # Independently: the elderly in each cell compete for the elderly-care centres in reach.
    fac = queries.facilities("elderly_care")
    reach = accessibility.reach_from_points(cells.lonlat(), fac.lonlat(), 1000, metric="haversine")
    expected = accessibility.two_step_fca(cells.pop_elderly, fac.capacity, reach).access
    stored = dict(report.values.values_list("area_id", "access"))
    assert np.allclose([stored[int(i)] for i in cells.ids], expected, rtol=1e-12)
    assert report.summary["gini"] == pytest.approx(inequality.gini(expected, cells.pop_elderly))
    elderly = next(g for g in report.summary["groups"] if g["group"] == "elderly")
    assert elderly["mean"] == pytest.approx(
        np.dot(expected, cells.pop_elderly) / cells.pop_elderly.sum()
    )
    # Theil T between migrants and everyone else, straight from Shorrocks' formula.
    w = cells.pop_elderly
    mig, rest = w * cells.migrant_share, w * (1 - cells.migrant_share)
    mu = np.dot(expected, w) / w.sum()
    between = sum(
        (part.sum() / w.sum()) * (m / mu) * np.log(m / mu)
        for part in (mig, rest)
        for m in [np.dot(expected, part) / part.sum()]
    )
    groups = report.summary["theil_groups"]
    assert groups["migrants"]["between"] == pytest.approx(between, rel=1e-9, abs=1e-15)
    assert groups["migrants"]["total"] == pytest.approx(report.summary["theil_t"], rel=1e-9)
    income = groups["income"]
    assert income["between"] + income["within"] == pytest.approx(income["total"], rel=1e-9)
    event = AuditEvent.objects.get(action="equity.access_report")
    assert event.object_id == str(report.pk) and event.actor_label == "eq_supervisor"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"method": "2sfca", "threshold": "-5"}, "threshold"),
        ({"method": "2sfca", "threshold": "far"}, "threshold"),
        ({"method": "2sfca", "threshold": "900000"}, "threshold"),
        ({"method": "cubic", "threshold": "1000"}, "method"),
        ({"method": "2sfca"}, "threshold"),
    ],
)
def test_bad_report_input_is_explained_and_nothing_is_saved(
    demo_city: dict[str, Any], data: dict[str, str], field: str
) -> None:
    client = client_for(demo_city["analyst"])
    response = client.post(reverse("equity:access", args=["clinic"]), data)
    assert response.status_code == 400
    assert 'class="error-summary"' in response.content.decode()
    assert f'href="#id_{field}"' in response.content.decode()
    assert not AccessReport.objects.exists() and not AccessValue.objects.exists()
    assert not AuditEvent.objects.filter(action="equity.access_report").exists()


def test_an_unknown_kind_is_404(demo_city: dict[str, Any]) -> None:
    assert client_for(demo_city["analyst"]).get("/equity/access/swimming/").status_code == 404


def test_downloads_csv_and_geojson(demo_city: dict[str, Any]) -> None:
    client = client_for(demo_city["analyst"])
    client.post(
        reverse("equity:access", args=["school"]), {"method": "gravity", "threshold": "1000"}
    )
    report = AccessReport.objects.get()
    stored = dict(report.values.values_list("area__code", "access"))
    response = client.get(reverse("equity:report_download", args=[report.pk, "csv"]))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == report.cells
    assert all(float(r["access"]) == stored[r["code"]] for r in rows)
    response = client.get(reverse("equity:report_download", args=[report.pk, "geojson"]))
    body = json.loads(response.content)
    assert body["type"] == "FeatureCollection" and len(body["features"]) == report.cells
    first = body["features"][0]
    assert first["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert first["properties"]["access"] == stored[first["properties"]["code"]]
    assert client.get(f"/equity/reports/{report.pk}.xlsx").status_code == 404
    outsider = client_for(demo_city["handler"])
    assert (
        outsider.get(reverse("equity:report_download", args=[report.pk, "csv"])).status_code == 404
    )


def test_trend_shows_one_point_per_report(demo_city: dict[str, Any]) -> None:
    client = client_for(demo_city["analyst"])
    url = reverse("equity:access", args=["culture"])
    for _ in range(2):
        client.post(url, {"method": "2sfca", "threshold": "1500"})
    # A facility closes: the next report's coverage cannot rise.
    Facility.objects.filter(kind="culture").order_by("id").first().delete()  # type: ignore[union-attr]
    client.post(url, {"method": "2sfca", "threshold": "1500"})
    reports = list(AccessReport.objects.order_by("created_at", "id"))
    assert len(reports) == 3
    assert reports[2].summary["coverage"] <= reports[1].summary["coverage"]
    html = client.get(url).content.decode()
    assert 'class="equity-chart"' in html
    assert html.count("?report=") == 3


def test_digital_divide_page_and_csv(demo_city: dict[str, Any]) -> None:
    client = client_for(demo_city["analyst"])
    html = client.get(reverse("equity:digital") + f"?level=street&days={DAYS}").content.decode()
    streets = Area.objects.filter(level=Level.STREET).count()
    assert html.count("<path ") == streets
    response = client.get(reverse("equity:digital") + f"?level=street&days={DAYS}&format=csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == streets
    assert all(0 <= float(r["index"]) <= 1 for r in rows)
    assert sum(int(r["cases"]) for r in rows) > 1000
    assert client.get(reverse("equity:digital") + "?level=planet").status_code == 400


def test_service_equity_finds_what_the_demo_planted(demo_city: dict[str, Any]) -> None:
    """The demo makes cases from low-income cells take about 1.25 times as long: after
    standardising for the category mix, low-income areas come out slower, significantly."""
    client = client_for(demo_city["analyst"])
    response = client.get(reverse("equity:service") + f"?by=income&days={DAYS}")
    assert response.status_code == 200
    data = queries.service_equity(demo_city["analyst"], by="income", days=int(DAYS))
    low = next(r for r in data["rows"] if r["label"] == "low")
    assert low["hours"]["ratio"] > 1.05 and low["hours"]["significant"] and low["hours"]["worse"]
    assert "worse" in response.content.decode()
    assert client.get(reverse("equity:service") + "?by=nothing").status_code == 400
    assert client.get(reverse("equity:service") + "?days=-3").status_code == 400


@override_settings()
def test_siting_form_post_proposes_sites_and_a_tradeoff_table(
    demo_city: dict[str, Any], settings: Any
) -> None:
    settings.URBANGOV = {**settings.URBANGOV, "EQUITY_SITING_SECONDS": 8.0}
    client = client_for(demo_city["analyst"])
    response = client.post(
        reverse("equity:siting"),
        {"kind": "clinic", "k": "2", "objective": "max_min_coverage", "radius": "1500"},
    )
    assert response.status_code == 302
    plan = SitingPlan.objects.get()
    assert response["Location"] == reverse("equity:plan", args=[plan.pk])
    assert len(plan.sites) == 2
    assert {row["plan"] for row in plan.table} == {
        "before",
        "p_median",
        "max_cover",
        "max_min_coverage",
        "min_gini",
    }
    before = plan.table[0]
    after = next(r for r in plan.table if r["plan"] == "max_min_coverage")
    assert after["worst_coverage"] >= before["worst_coverage"]
    assert plan.solutions["max_cover"]["bound"] is not None
    html = client.get(response["Location"]).content.decode()
    assert html.count('class="marker proposed"') == 2
    for site in plan.sites:
        assert site["name"] in html
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(reverse("equity:plan_download", args=[plan.pk, "csv"])).content.decode()
            )
        )
    )
    assert [r["code"] for r in rows] == [s["code"] for s in plan.sites]
    geo = json.loads(client.get(reverse("equity:plan_download", args=[plan.pk, "geojson"])).content)
    assert [f["properties"]["code"] for f in geo["features"]] == [s["code"] for s in plan.sites]
    assert AuditEvent.objects.filter(action="equity.siting_plan").count() == 1
    assert client_for(demo_city["operator"]).get(response["Location"]).status_code == 404


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "clinic", "k": "0", "objective": "max_cover"}, "k"),
        ({"kind": "clinic", "k": "500", "objective": "max_cover"}, "k"),
        ({"kind": "zoo", "k": "2", "objective": "max_cover"}, "kind"),
        ({"kind": "clinic", "k": "2", "objective": "luck"}, "objective"),
        ({"kind": "clinic", "k": "2", "objective": "max_cover", "radius": "-1"}, "radius"),
        (
            {"kind": "clinic", "k": "2", "objective": "max_cover", "new_capacity": "-4"},
            "new_capacity",
        ),
    ],
)
def test_bad_siting_input_is_explained_and_nothing_is_saved(
    demo_city: dict[str, Any], data: dict[str, str], field: str
) -> None:
    response = client_for(demo_city["analyst"]).post(reverse("equity:siting"), data)
    assert response.status_code == 400
    assert 'class="error-summary"' in response.content.decode()
    assert field in response.context["form"].errors
    assert not SitingPlan.objects.exists()


def test_more_sites_than_candidates_is_refused_by_the_action(demo_city: dict[str, Any]) -> None:
    from django.core.exceptions import ValidationError

    from urbangov.equity import actions

    with pytest.raises(ValidationError) as caught:
        actions.create_siting_plan(actor=None, kind="clinic", k=51, objective="max_cover")
    assert "between 1 and 50" in " ".join(caught.value.messages)
    assert not SitingPlan.objects.exists()


def test_more_sites_than_grid_cells_to_place_them_in_is_refused(
    demo_city: dict[str, Any],
) -> None:
    """k larger than the candidates: with the elderly in three cells only and a 50 m catchment,
    only those three cells are candidate sites."""
    from django.core.exceptions import ValidationError

    from urbangov.equity import actions

    cells = Area.objects.filter(level=Level.GRID, geometry__isnull=False).order_by("code")
    keep = list(cells.values_list("pk", flat=True)[:3])
    cells.exclude(pk__in=keep).update(pop_elderly=0)
    cells.filter(pk__in=keep).update(pop_elderly=100)
    with pytest.raises(ValidationError) as caught:
        actions.create_siting_plan(
            actor=None, kind="elderly_care", k=5, objective="p_median", radius=50
        )
    assert "Only 3 grid cells" in " ".join(caught.value.messages)
    assert not SitingPlan.objects.exists()
    assert not AuditEvent.objects.filter(action="equity.siting_plan").exists()


def test_report_command_keeps_a_report(demo_city: dict[str, Any]) -> None:
    out = StringIO()
    call_command("equity", "report", "employment", "--method", "2sfca", stdout=out)
    body = json.loads(out.getvalue().strip().splitlines()[-1])
    report = AccessReport.objects.get()
    assert body["report"] == report.pk and report.threshold_m == 3000
    assert body["gini"] == pytest.approx(report.summary["gini"])
    with pytest.raises(CommandError, match="between 50 and 50000"):
        call_command("equity", "report", "employment", "--threshold", "5", stdout=StringIO())
    assert AccessReport.objects.count() == 1
