"""The Content-Security-Policy in a real browser: the pages work under it and the browser
reports no violation (an inline script, style or handler anywhere would be one). Also the
second factor's enrolment, done as a person would: the QR code shows, the code is typed.

Needs the system's Chromium, as tests/browser does (skipped without it, except in CI)."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.browser.test_case_flow import DESKTOP, browser, check_page  # noqa: F401 - fixture
from tests.conftest import PASSWORD, City, make_case
from tests.privacy.test_hardening import totp
from urbangov.privacy.actions import publish_open_data, seal_audit_log

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _watch(page: Any) -> list[str]:
    """Collect every CSP violation the page reports."""
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return violations


def _page(browser: Any) -> tuple[Any, list[str]]:  # noqa: F811 - the fixture
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page, _watch(page)


def test_pages_work_under_the_policy(city: City, live_server: Any, browser: Any) -> None:  # noqa: F811
    from django.core.cache import cache

    cache.clear()
    base = live_server.url
    make_case(city)
    seal_audit_log()
    publish_open_data(k=1, now=timezone.now() + timedelta(days=1))

    page, violations = _page(browser)
    for path in (
        "/",
        "/cases/new/",
        "/cases/new/step/2/",
        "/cases/track/",
        "/open-data/",
        "/participation/",
        "/accounts/login/",
    ):
        response = page.goto(base + path)
        assert response is not None and response.status < 400, path
        assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
    # The report form's map is drawn by our script: it ran.
    page.goto(base + "/cases/new/")
    page.wait_for_selector("svg", timeout=10_000)
    page.goto(base + "/open-data/")
    check_page(page, "the open data page")

    page.goto(base + "/accounts/login/")
    page.fill("#id_username", "auditor")
    page.fill("#id_password", PASSWORD)
    page.click("form.narrow button[type=submit]")
    page.wait_for_url(re.compile(r"/cases/workbench/"))
    page.goto(base + "/privacy/audit/?search=1")
    assert "case.submit" in page.inner_text("table")
    check_page(page, "the audit log")
    page.goto(base + "/supervision/")
    assert violations == []


def test_enrolling_the_second_factor(
    city: City,
    live_server: Any,
    browser: Any,  # noqa: F811 - the fixture
    settings: Any,
) -> None:
    from django.core.cache import cache

    cache.clear()
    settings.URBANGOV = {**settings.URBANGOV, "REQUIRE_2FA": True}
    base = live_server.url
    page, violations = _page(browser)
    page.goto(base + "/accounts/login/")
    page.fill("#id_username", "handler")
    page.fill("#id_password", PASSWORD)
    page.click("form.narrow button[type=submit]")
    page.wait_for_url(re.compile(r"/accounts/2fa/setup/"))
    qr = page.locator("img[src^='data:image/svg+xml']")
    assert qr.is_visible() and qr.evaluate("img => img.naturalWidth") > 0
    check_page(page, "the second-factor enrolment")
    secret = page.inner_text(".code.small").replace(" ", "")
    page.fill("#id_code", totp(secret, time.time()))
    page.click("form.narrow button[type=submit]")
    page.wait_for_url(re.compile(r"/cases/workbench/"))
    assert violations == []
