"""The algorithm register and an appeal in a real browser: the public page passes axe and fits
a phone; a resident appeals from their case's page with JavaScript switched off."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from tests.browser.test_case_flow import PHONE, browser, check_page  # noqa: F401
from tests.conftest import City, make_case
from urbangov.algorithms import actions
from urbangov.algorithms.models import Algorithm, Appeal, Mode, Phase

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_register_page_fits_a_phone_and_an_appeal_works_without_javascript(
    city: City,
    live_server: Any,
    browser: Any,  # noqa: F811
) -> None:
    algorithm = actions.ensure_algorithm(actor=None, code="eligibility", name="资格预审")
    actions.update_register(
        actor=None,
        algorithm=algorithm,
        purpose="根据规则预审补贴申请",
        effect_on_residents="决定申请是否先交人工审核",
        how_to_appeal="在诉求页面点击“对此决定提出申诉”",
        owner=city.dispatch_centre,
    )
    Algorithm.objects.filter(pk=algorithm.pk).update(phase=Phase.PRODUCTION)
    version = actions.register_version(actor=None, algorithm=algorithm, artefact=b"rules v1")
    case = make_case(city)
    actions.record_decision(
        version=version,
        subject=case,
        inputs={"text": case.text},
        output={"unit": "WATER"},
        explanation="按规则交给水务部门",
        mode=Mode.AUTOMATIC,
    )
    base = live_server.url

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    page = phone.new_page()
    page.goto(f"{base}/algorithms/")
    assert "资格预审" in page.inner_text("main")
    check_page(page, "the public algorithm register")
    page.click("text=资格预审")
    assert "决定申请是否先交人工审核" in page.inner_text("main")
    check_page(page, "an algorithm's register entry")

    # The resident, with JavaScript off, appeals from the case's page.
    plain = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="zh-CN")
    resident = plain.new_page()
    resident.goto(f"{base}/cases/track/{case.tracking_code}/")
    assert "按规则交给水务部门" in resident.inner_text("main")
    resident.click("a[href^='/algorithms/appeal/']")
    resident.fill("textarea[name=grounds]", "漏水的是公共管道，应由物业处理")
    resident.click("main form button.primary")
    resident.wait_for_load_state()
    assert Appeal.objects.exists(), resident.inner_text("main")[:500]
    appeal = Appeal.objects.get()
    assert appeal.assignee == city.users["supervisor"]
    shown = timezone.localtime(appeal.due_at).strftime("%Y-%m-%d")
    assert shown in resident.inner_text("main")
    phone.close()
    plain.close()
