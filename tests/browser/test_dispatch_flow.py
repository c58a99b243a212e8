"""The dispatcher in a real browser: an operator on a phone sees the suggestions on the case
page, opens the dispatch page (why, and the form for another unit), is refused without a
reason, then accepts the suggestion with one click; the resident's tracking page says how
the case was routed, by whom, and how to contest it. No JavaScript is needed for any of it
(the flow runs with it off); axe-core, which needs it, checks each page in a second context,
in normal and elder-friendly mode."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.test_case_flow import PHONE, browser, check_page  # noqa: F401 (fixture)
from tests.conftest import PASSWORD, City
from tests.dispatch.conftest import train_model
from tests.dispatch.test_dispatcher import submit
from urbangov.cases.models import Case, Status
from urbangov.dispatch import actions, classifier, routing
from urbangov.dispatch.models import CategoryPolicy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_answers_the_dispatcher_on_a_phone(
    city: City,
    live_server: Any,
    browser: Any,  # noqa: F811
) -> None:
    classifier.forget()
    routing.invalidate()
    model = train_model()
    version = actions.register_model(
        actor=None, artefact=model.to_bytes(), trained_on={"n": model.info["n"]}, metrics={}
    )
    actions.activate(actor=None, version=version)
    classifier.forget()
    CategoryPolicy.objects.create(category=city.water_leak, threshold=1.0, automatic=False)
    case = submit(city, "楼下水管漏水，水流了一地")
    actions.dispatch_submitted()
    base = live_server.url

    # The flow itself with JavaScript off (the core forms need none). axe-core needs
    # JavaScript to run, so each page is checked again in a second, scripted context.
    context = browser.new_context(viewport=PHONE, locale="zh-CN", java_script_enabled=False)
    scripted = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    axe = scripted.new_page()
    for p in (page, axe):
        p.set_default_timeout(15_000)
        p.goto(f"{base}/accounts/login/")
        p.fill("#id_username", "operator")
        p.fill("#id_password", PASSWORD)
        p.click("form.narrow button[type=submit]")
        p.wait_for_url(re.compile(r"/cases/workbench/"))
    assert "市水务局" in page.content()  # the workbench's hint
    page.goto(f"{base}/cases/{case.pk}/")
    axe.goto(f"{base}/cases/{case.pk}/")
    check_page(axe, "the case page with the dispatcher panel")
    page.click("#dispatch-heading ~ p a")
    page.wait_for_url(re.compile(rf"/dispatch/cases/{case.pk}/"))
    axe.goto(page.url)
    check_page(axe, "the dispatch page")
    # Another unit without a reason is refused: by the browser (the field is required) …
    reason = "#id_correct-reason"
    assert page.locator(reason).get_attribute("required") is not None
    page.select_option("#id_correct-unit", city.office_d1.code)
    page.click("section[aria-labelledby=correct-heading] button[type=submit]")
    assert page.url.endswith(f"/dispatch/cases/{case.pk}/")
    # … and by the server, which says so next to the field, when a browser sends it anyway.
    axe.select_option("#id_correct-unit", city.office_d1.code)
    axe.evaluate("document.querySelector(\"form[action$='/correct/']\").noValidate = true")
    with axe.expect_navigation():
        axe.click("section[aria-labelledby=correct-heading] button[type=submit]")
    assert axe.url.endswith(f"/dispatch/cases/{case.pk}/correct/")
    assert axe.locator(".error-summary").count() == 1
    check_page(axe, "the dispatch page with an error")
    assert Case.objects.get(pk=case.pk).status == Status.AWAITING_DISPATCH
    # One click on the first suggestion.
    page.locator("ol.suggestions li").first.locator("button").click()
    page.wait_for_url(re.compile(rf"/cases/{case.pk}/$"))
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and case.unit == city.water_dept

    resident = browser.new_context(viewport=PHONE, locale="zh-CN", java_script_enabled=False)
    track = resident.new_page()
    track.set_default_timeout(15_000)
    track.goto(f"{base}/cases/track/{case.tracking_code}/")
    assert track.locator("#routing-heading").count() == 1
    track.click("section.decisions a[href$='/algorithms/contest/']")
    track.wait_for_url(re.compile(r"/algorithms/contest/"))
    assert "12345" in track.content()
    looked = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    looked.set_default_timeout(15_000)
    looked.goto(f"{base}/cases/track/{case.tracking_code}/")
    check_page(looked, "the tracking page with how the case was routed")
    looked.goto(f"{base}/algorithms/contest/")
    check_page(looked, "the page on contesting a decision")
    # Elder-friendly mode: the same page, larger.
    looked.goto(f"{base}/cases/track/{case.tracking_code}/")
    looked.click("button.elder-toggle")
    assert "elder" in (looked.locator("body").get_attribute("class") or "")
    check_page(looked, "the tracking page in elder-friendly mode")
    assert Case.objects.get(pk=case.pk).status == Status.DISPATCHED
