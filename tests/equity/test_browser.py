"""The equity pages in a real browser with JavaScript switched off, on a phone, in
elder-friendly mode: an analyst computes an access report and asks where to build, through
plain form posts; axe-core finds no serious or critical violation and nothing scrolls
sideways. Skips without Chromium (fails instead under URBANGOV_REQUIRE_BROWSER=1).

axe-core cannot run in a page without JavaScript (its promise never settles, and the test
hangs), so each page reached without JavaScript is audited by loading the same address, with
the same cookies, in a twin context that has JavaScript on."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.test_case_flow import (  # noqa: F401
    PHONE,
    browser,
    check_accessibility,
    check_fits,
)
from tests.conftest import PASSWORD, City
from urbangov.equity.models import AccessReport, SitingPlan
from urbangov.org.models import Area, Facility, Level

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _populate(city: City) -> None:
    for i, cell in enumerate(Area.objects.filter(level=Level.GRID).order_by("code")):
        Area.objects.filter(pk=cell.pk).update(
            population=1000 + 500 * i,
            pop_children=150,
            pop_working=700 + 400 * i,
            pop_elderly=150 + 100 * i,
            migrant_share=0.1 * i,
            income_band=["low", "middle", "high", "middle"][i % 4],
        )
    Facility.objects.create(
        kind="clinic",
        name="东区社区卫生服务中心",
        lat=31.25,
        lon=121.43,
        capacity=300,
        area=city.grid_d1,
    )


def check_page(page: Any, where: str) -> None:
    """No sideways scrolling in the page as it is (no JavaScript); axe-core on its twin."""
    check_fits(page, where)
    context = page.context
    twin = context.browser.new_context(
        viewport=PHONE, locale="zh-CN", storage_state=context.storage_state()
    )
    try:
        other = twin.new_page()
        other.set_default_timeout(20_000)
        other.goto(page.url)
        check_accessibility(other, where)
    finally:
        twin.close()


def test_an_analyst_reports_and_plans_without_javascript_on_a_phone(
    city: City,
    live_server: Any,
    browser: Any,  # noqa: F811
) -> None:
    _populate(city)
    context = browser.new_context(viewport=PHONE, locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(20_000)
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "analyst")
    page.fill("#id_password", PASSWORD)
    page.click("form.narrow button[type=submit]")
    page.wait_for_url(re.compile(r"/cases/workbench/"))
    page.click("button.elder-toggle")
    page.wait_for_selector("body.elder")

    page.click("a[href='/equity/']")
    page.wait_for_url(re.compile(r"/equity/$"))
    check_page(page, "the equity overview")
    page.goto(f"{base}/equity/access/clinic/")
    page.select_option("#id_method", "2sfca")
    page.fill("#id_threshold", "5000")
    page.click("form.narrow button[type=submit]")
    page.wait_for_selector("svg.equity-map")
    assert AccessReport.objects.count() == 1
    assert page.locator("svg.equity-map path").count() == 4
    check_page(page, "an access report")

    page.goto(f"{base}/equity/siting/?kind=clinic")
    page.fill("#id_k", "1")
    page.check("input[name=objective][value=max_cover]")
    page.fill("#id_radius", "3000")
    page.click("form.narrow button[type=submit]")
    page.wait_for_url(re.compile(r"/equity/siting/\d+/$"))
    plan = SitingPlan.objects.get()
    assert page.locator("ol.sites li").count() == 1 == len(plan.sites)
    assert page.locator("svg.equity-map .marker.proposed").count() == 1
    check_page(page, "a siting plan")

    page.goto(f"{base}/equity/service/?days=30")
    check_page(page, "service-level equity")
    page.goto(f"{base}/equity/digital/?days=30")
    check_page(page, "the digital divide")
    context.close()
