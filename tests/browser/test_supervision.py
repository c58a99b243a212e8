"""The supervision overview in a real browser: the charts draw from our own ECharts, a click
on a bar opens the cases behind it, and the page passes axe, fits a phone and works in the
elder-friendly mode; the report prints."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import TestCase

from tests.browser.test_case_flow import PHONE, browser, check_page, sign_in  # noqa: F401
from tests.conftest import City, make_case
from urbangov.cases import actions
from urbangov.supervision.actions import fold

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_overview_charts_drill_down_and_fit_a_phone(
    city: City,
    live_server: Any,
    browser: Any,  # noqa: F811
) -> None:
    for k in range(3):
        case = make_case(city, title=f"水管漏水{k}")
        with TestCase.captureOnCommitCallbacks(execute=True):
            actions.dispatch_case(case, actor=city.user("operator"), unit=city.water_dept)
            actions.accept_case(case, actor=city.user("handler"))
    make_case(city, category=city.noise, text="夜里施工太吵")
    fold()
    base = live_server.url
    page = sign_in(browser, base, "supervisor")
    page.goto(f"{base}/supervision/")
    page.wait_for_selector("#chart-categories.ready svg")
    page.wait_for_selector("#chart-map.ready svg path")
    check_page(page, "the supervision overview")
    # The figure's caption says it in words; the table says every value.
    caption = page.inner_text("#chart-categories-caption")
    assert "供水" in caption or "水管漏水" in caption or "Water" in caption
    # A click on the first bar opens exactly the cases behind it.
    box = page.locator("#chart-categories svg").bounding_box()
    assert box is not None
    bars = page.locator("#chart-categories svg path[fill='#0b5cad']")
    assert bars.count() >= 1
    bars.first.click()
    page.wait_for_url(re.compile(r"/supervision/cases/\?"))
    assert "metric=volume" in page.url
    assert page.locator("table.cases tbody tr").count() in (3, 1)

    # On a phone, in the elder-friendly mode
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    mobile = phone.new_page()
    mobile.goto(f"{base}/accounts/login/")
    mobile.fill("#id_username", "supervisor")
    from tests.conftest import PASSWORD

    mobile.fill("#id_password", PASSWORD)
    mobile.click("form.narrow button[type=submit]")
    mobile.wait_for_url(re.compile(r"/cases/workbench/"))
    mobile.goto(f"{base}/supervision/")
    mobile.click("button.elder-toggle")
    mobile.wait_for_selector("body.elder")
    mobile.wait_for_selector("#chart-trend.ready svg")
    check_page(mobile, "the supervision overview on a phone in elder mode")
    mobile.goto(f"{base}/supervision/performance/")
    check_page(mobile, "the performance table on a phone in elder mode")
    mobile.goto(f"{base}/supervision/report/")
    check_page(mobile, "the monthly report on a phone in elder mode")
    # Printing hides the site's header, the filters and the charts.
    mobile.emulate_media(media="print")
    assert not mobile.locator("header.site").is_visible()
    assert mobile.locator("h1").is_visible()
