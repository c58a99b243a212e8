"""The whole life of a case in a real browser (Debian's Chromium driven by Playwright).

A resident on a phone switches on the elder-friendly mode, reports a problem through the
one-question-per-page wizard (putting the pin on the map and using "my location"), gets the
tracking code and follows it. The operator signs in and dispatches the case, the handler
accepts and resolves it, and the resident sees the reply on the tracking page and rates it.
axe-core checks every page for serious or critical accessibility violations.

Needs the system's Chromium (Debian: apt-get install chromium). Without it the test is skipped
with a note, so the README's test command works on a machine with nothing but Python; CI
installs Chromium and sets URBANGOV_REQUIRE_BROWSER=1, under which a missing browser fails.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections

from tests.conftest import PASSWORD, City
from urbangov.cases.actions import triage_submitted
from urbangov.cases.models import Case, Status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = (
            "Chromium is not installed, so the browser tests cannot run. Install Debian's "
            "chromium (apt-get install chromium; .ci/run does)."
        )
        if os.environ.get("URBANGOV_REQUIRE_BROWSER") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the test's own ORM
    # reads are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()
            # The test's own ORM reads ran while Playwright's event loop was current, so their
            # connection lives in that context; close it here, or PostgreSQL refuses to drop
            # the test database ("being accessed by other users").
            connections.close_all()


def check_accessibility(page: Any, where: str) -> None:
    """axe-core on the page as it is: no violation of impact serious or critical."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(str(n.get("target")) for n in v["nodes"][:5])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"accessibility violations on {where}:\n" + "\n".join(bad)


def check_fits(page: Any, where: str) -> None:
    """Nothing wider than the screen: no horizontal scrolling outside table wrappers."""
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{where} scrolls sideways by {overflow}px at this width"


def check_page(page: Any, where: str) -> None:
    check_accessibility(page, where)
    check_fits(page, where)
    # URBANGOV_SCREENSHOTS=DIR keeps a full-page picture of each checked page for review.
    folder = os.environ.get("URBANGOV_SCREENSHOTS")
    if folder:
        name = re.sub(r"[^a-z0-9]+", "-", where.lower()).strip("-")
        width = page.viewport_size["width"] if page.viewport_size else 0
        page.screenshot(path=os.path.join(folder, f"{name}-{width}.png"), full_page=True)


def sign_in(browser: Any, base: str, username: str) -> Any:
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/accounts/login/")
    check_page(page, "the sign-in page")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form.narrow button[type=submit]")
    page.wait_for_url(re.compile(r"/cases/workbench/"))
    return page


def test_case_from_elder_friendly_report_to_resolution(
    city: City, live_server: Any, browser: Any
) -> None:
    from django.core.cache import cache

    cache.clear()  # rate-limit counters from other tests
    base = live_server.url
    lat_d1, lon_d1 = city.p_d1

    # --- the resident, on a phone -------------------------------------------------------------
    resident_context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        geolocation={"latitude": lat_d1, "longitude": lon_d1},
        permissions=["geolocation"],
    )
    resident = resident_context.new_page()
    resident.set_default_timeout(15_000)
    resident.goto(base + "/")
    assert resident.locator("html").get_attribute("lang") == "zh-hans"
    check_page(resident, "the home page")
    resident.click("button.elder-toggle")
    resident.wait_for_selector("body.elder")
    assert resident.locator("button.elder-toggle").get_attribute("aria-pressed") == "true"
    check_page(resident, "the home page in elder-friendly mode")

    resident.click("header nav a[href='/cases/new/']")
    resident.wait_for_url(re.compile(r"/cases/new/step/1/$"))
    check_page(resident, "wizard step 1")
    resident.fill("#id_text", "小区东门的水管破了，水一直往外冒，路面都结冰了")
    resident.select_option("#id_category", "water.leak")
    resident.click("button[name=nav][value=next]")

    resident.wait_for_url(re.compile(r"/cases/new/step/2/$"))
    resident.wait_for_selector(".map-canvas svg path")
    check_page(resident, "wizard step 2 with the map")
    resident.fill("#id_address", "东区幸福路 12 号东门")
    # A tap on the middle of the eastern district puts the pin there.
    svg = resident.locator(".map-canvas svg")
    svg.scroll_into_view_if_needed()
    box = svg.bounding_box()
    assert box is not None
    svg.click(position={"x": box["width"] * 0.75, "y": box["height"] * 0.5})
    assert "东区" in resident.locator(".map-status").inner_text()
    lat_tapped = float(resident.input_value("#id_lat"))
    lon_tapped = float(resident.input_value("#id_lon"))
    assert 31.2 < lat_tapped < 31.3 and 121.4 < lon_tapped < 121.5
    # "Use my location" moves the pin to where the phone says it is.
    resident.click("[data-locate]")
    resident.wait_for_function(
        "lat => Math.abs(parseFloat(document.querySelector('#id_lat').value) - lat) < 1e-6",
        arg=lat_d1,
    )
    assert float(resident.input_value("#id_lon")) == pytest.approx(lon_d1, abs=1e-6)
    assert resident.locator(".map-canvas svg circle.pin").count() == 1
    resident.click("button[name=nav][value=next]")

    resident.wait_for_url(re.compile(r"/cases/new/step/3/$"))
    check_page(resident, "wizard step 3")
    resident.fill("#id_contact_name", "王大爷")
    resident.fill("#id_contact_phone", "13800138000")
    resident.click("button[name=nav][value=next]")

    resident.wait_for_url(re.compile(r"/cases/new/step/4/$"))
    check_page(resident, "wizard step 4 (check and send)")
    assert "东区幸福路 12 号东门" in resident.inner_text("dl.summary")
    resident.click("button[name=nav][value=send]")

    resident.wait_for_url(re.compile(r"/cases/new/done/$"))
    check_page(resident, "the page with the tracking code")
    code = resident.inner_text("#tracking-code").strip()
    assert re.fullmatch(r"[2-9A-Z]{5}-[2-9A-Z]{5}", code), code
    case = Case.objects.get(tracking_code=code)
    assert case.area == city.grid_d1 and case.contact_phone == "13800138000"
    assert case.status == Status.SUBMITTED
    # What the worker does every few seconds: move new cases into the operators' queue.
    assert triage_submitted() == 1
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH

    resident.click("header nav a[href='/cases/track/']")
    check_page(resident, "the follow-my-case page")
    resident.fill("#id_code", code.lower())
    resident.click("form.track button[type=submit]")
    resident.wait_for_url(re.compile(rf"/cases/track/{code}/$"))
    check_page(resident, "the tracking page")
    assert resident.locator(".status-awaiting_dispatch").count() == 1

    # --- staff, at their desks -------------------------------------------------------------------
    operator = sign_in(browser, base, "operator")
    check_page(operator, "the operator's workbench")
    operator.click(f"text={code}")
    operator.wait_for_url(re.compile(rf"/cases/{case.pk}/$"))
    check_page(operator, "the case page (operator)")
    operator.select_option("#id_dispatch-unit", "WATER")
    operator.fill("#id_dispatch-note", "请尽快安排抢修")
    operator.click("#do-dispatch button[type=submit]")
    operator.wait_for_selector(".messages li.success")
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and case.unit == city.water_dept
    # Staff pages work on a phone too; the case table scrolls inside its wrapper.
    operator.set_viewport_size(PHONE)
    check_page(operator, "the case page on a phone")
    operator.goto(f"{base}/cases/workbench/?view=all")
    check_page(operator, "the workbench on a phone")

    handler = sign_in(browser, base, "handler")
    assert code in handler.inner_text("table.cases")
    handler.goto(f"{base}/cases/{case.pk}/")
    check_page(handler, "the case page (handler)")
    handler.click("#do-accept button[type=submit]")
    handler.wait_for_selector("#do-resolve")
    handler.fill("#id_resolve-resolution", "已更换破损水管，路面已清理。")
    handler.click("#do-resolve button[type=submit]")
    handler.wait_for_selector(".messages li.success")
    case.refresh_from_db()
    assert case.status == Status.RESOLVED

    # --- the resident sees the reply -------------------------------------------------------------
    resident.reload()
    check_page(resident, "the tracking page once resolved")
    assert "已更换破损水管" in resident.inner_text("section.reply")
    timeline = resident.inner_text("ol.timeline")
    assert "市水务局" in timeline
    assert "operator" not in timeline and "handler" not in timeline
    resident.check("input[name=rating][value=satisfied]")
    resident.fill("#id_comment", "修得很快，谢谢")
    resident.click("section.panel button[type=submit]")
    resident.wait_for_selector(".messages li.success")
    check_page(resident, "the tracking page after rating")
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    assert case.feedback.get().rating == "satisfied"
