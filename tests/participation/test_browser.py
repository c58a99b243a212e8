"""The deliberation hall in a real browser (Debian's Chromium through Playwright): a verified
resident on a phone in elder-friendly mode votes on statements and supports a proposal; the
opinion page draws the map with the vendored ECharts and keeps the table; the same vote works
with JavaScript switched off; axe-core finds no serious or critical violation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections

from tests.browser.test_case_flow import CHROMIUM_ARGS, PHONE, _chromium, check_accessibility
from tests.conftest import PASSWORD, City
from tests.participation.conftest import make_resident
from urbangov.participation import actions
from urbangov.participation.models import StatementVote, Support

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()
            connections.close_all()


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/?next=/participation/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()


def test_vote_support_and_opinion_map(city: City, live_server: Any, chromium: Any) -> None:
    topic = actions.open_topic(
        actor=city.user("handler_d1"),
        title="口袋公园改造",
        summary="空地怎么用？",
        area=city.d1,
        unit=city.office_d1,
    )
    statements = [
        actions.add_statement(
            actor=city.user("handler_d1"), topic=topic, text=f"观点{j}", seed=True
        )
        for j in range(6)
    ]
    others = [make_resident(f"o{i}") for i in range(16)]
    for i, r in enumerate(others):
        for j, s in enumerate(statements):
            actions.vote(actor=r.user, statement=s, value=1 if (i < 9) == (j < 3) else -1)
    proposal = actions.submit_proposal(
        actor=others[0].user, topic=topic, title="加座椅", text="给老人"
    )
    me = make_resident("browser1")
    base = live_server.url

    context = chromium.new_context(viewport=PHONE, locale="zh-CN")
    context.add_cookies([{"name": "ug_elder", "value": "1", "url": base}])
    page = context.new_page()
    sign_in(page, base, "browser1")
    page.goto(f"{base}/participation/topics/{topic.pk}/")
    assert page.locator("body.elder").count() == 1
    check_accessibility(page, "topic page")
    page.locator(f"#statement-{statements[0].pk} button[value='1']").click()
    page.wait_for_load_state()
    assert (
        page.locator(f"#statement-{statements[0].pk} button[value='1'][aria-pressed=true]").count()
        == 1
    )
    page.locator(f"#proposal-{proposal.pk} button[type=submit]").click()
    page.wait_for_load_state()
    assert Support.objects.filter(proposal=proposal, user=me.user).count() == 1
    # No horizontal scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    page.goto(f"{base}/participation/topics/{topic.pk}/opinion/")
    page.wait_for_selector("#opinion-map svg")
    assert page.locator("#opinion-map").is_visible()
    assert page.locator("table").count() >= 2  # the groups' tables stay for everyone
    check_accessibility(page, "opinion page")
    context.close()

    # Without JavaScript the vote is a plain form post.
    plain = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = plain.new_page()
    sign_in(page, base, "browser1")
    page.goto(f"{base}/participation/topics/{topic.pk}/")
    page.locator(f"#statement-{statements[1].pk} button[value='-1']").click()
    page.wait_for_load_state()
    assert StatementVote.objects.get(statement=statements[1], user=me.user).value == -1
    page.goto(f"{base}/participation/topics/{topic.pk}/opinion/")
    assert page.locator("#opinion-map").is_hidden()
    assert page.locator("table").count() >= 2
    plain.close()
