"""The portal and what every page shares: the three languages (Simplified Chinese by
default, Traditional Chinese, English), the language switch and the elder-friendly switch on
every page, landmarks and the skip link."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.conftest import City, make_case

pytestmark = pytest.mark.django_db

# What the navigation says in each language, written out here rather than read from the
# catalogue, so that a missing or wrong translation fails.
NAV = {
    "zh-hans": ("反映问题", "查询进度", "长者模式"),
    "zh-hant": ("反映問題", "查詢進度", "長者模式"),
    "en": ("Report a problem", "Follow my case", "Elder-friendly mode"),
}


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    cache.clear()


def public_pages(city: City) -> list[str]:
    case = make_case(city)
    return [
        reverse("portal:home"),
        reverse("cases:submit"),
        reverse("cases:submit_step", args=[1]),
        reverse("cases:track"),
        reverse("cases:track_case", args=[case.tracking_code]),
        reverse("login"),
    ]


def test_simplified_chinese_is_the_default(city: City) -> None:
    response = Client().get(reverse("portal:home"))
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    for text in NAV["zh-hans"]:
        assert text in html
    assert "Report a problem" not in html


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant", "en"])
def test_every_public_page_speaks_the_chosen_language(city: City, language: str) -> None:
    client = Client()
    switched = client.post(reverse("set_language"), {"language": language, "next": "/cases/track/"})
    assert switched.status_code == 302 and switched["Location"] == "/cases/track/"
    for url in public_pages(city):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert f'<html lang="{language}">' in html, url
        for text in NAV[language]:
            assert text in html, (url, text)
        others = [t for lang, texts in NAV.items() if lang != language for t in texts[:1]]
        for text in others:
            assert text not in html, (url, text)


def test_page_content_is_translated_not_just_the_menu(city: City) -> None:
    expectations = {
        "zh-hans": ("发生了什么？", "地址或地标", "怎样联系您？"),
        "zh-hant": ("發生了什麼？", "地址或地標", "怎樣聯絡您？"),
        "en": ("What happened?", "Address or landmark", "How can we reach you?"),
    }
    for language, texts in expectations.items():
        client = Client()
        client.cookies["django_language"] = language
        html = client.get(reverse("cases:submit")).content.decode()
        for text in texts:
            assert text in html, (language, text)


def test_error_messages_follow_the_language(city: City) -> None:
    data = {"text": "路灯坏了", "address": "", "lat": "39.9", "lon": "116.4"}
    expected = {
        "zh-hans": "该点位于本市范围之外。",
        "zh-hant": "該點位於本市範圍之外。",
        "en": "The point lies outside the city.",
    }
    for language, message in expected.items():
        client = Client()
        client.cookies["django_language"] = language
        response = client.post(reverse("cases:submit"), data)
        assert response.status_code == 400
        assert message in response.content.decode(), language


def test_browser_language_is_honoured(city: City) -> None:
    taiwan = Client(HTTP_ACCEPT_LANGUAGE="zh-TW,zh;q=0.9").get(reverse("portal:home"))
    assert "反映問題" in taiwan.content.decode()
    english = Client(HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8").get(reverse("portal:home"))
    assert "Report a problem" in english.content.decode()


def test_staff_pages_are_translated_too(city: City) -> None:
    case = make_case(city)
    for language, (workbench, dispatch) in {
        "zh-hans": ("工作台", "派单"),
        "zh-hant": ("工作台", "派單"),
        "en": ("Workbench", "Dispatch"),
    }.items():
        client = Client()
        client.cookies["django_language"] = language
        client.force_login(city.user("operator"))
        assert workbench in client.get(reverse("cases:workbench")).content.decode()
        page = client.get(reverse("cases:case_detail", args=[case.pk])).content.decode()
        assert f'<h3 id="do-dispatch-title">{dispatch}</h3>' in page, language


def _staff_pages(city: City) -> list[str]:
    case = make_case(city)
    return [
        reverse("cases:workbench"),
        reverse("cases:intake"),
        reverse("cases:case_detail", args=[case.pk]),
    ]


def test_both_switches_and_the_landmarks_are_on_every_page(city: City) -> None:
    client = Client()
    client.force_login(city.user("operator"))
    pages = public_pages(city) + _staff_pages(city) + ["/no/such/page/"]
    for url in pages:
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code in (200, 404), url
        assert f'action="{reverse("set_language")}"' in html, url
        assert f'action="{reverse("portal:elder_mode")}"' in html, url
        assert '<a class="skip" href="#main">' in html and '<main id="main"' in html, url
        assert "<header" in html and "<nav" in html and "<footer" in html, url
        assert re.search(r'<label for="language-select">', html), url


def test_elder_mode_switches_on_and_off_and_returns_to_the_page(city: City) -> None:
    client = Client()
    on = client.post(reverse("portal:elder_mode"), {"on": "1", "next": "/cases/track/"})
    assert on.status_code == 302 and on["Location"] == "/cases/track/"
    assert on.cookies["ug_elder"].value == "1"
    html = client.get("/cases/track/").content.decode()
    assert '<body class="elder' in html and 'aria-pressed="true"' in html
    off = client.post(reverse("portal:elder_mode"), {"on": "0", "next": "/cases/track/"})
    assert off.cookies["ug_elder"].value == "0"
    html = client.get("/cases/track/").content.decode()
    assert '<body class="elder' not in html and 'aria-pressed="false"' in html


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x"])
def test_elder_switch_never_redirects_off_site(city: Any, target: str) -> None:
    response = Client().post(reverse("portal:elder_mode"), {"on": "1", "next": target})
    assert response.status_code == 302 and response["Location"] == "/"


def test_home_explains_the_service(city: City) -> None:
    client = Client()
    client.cookies["django_language"] = "en"
    html = client.get(reverse("portal:home")).content.decode()
    assert "How it works" in html and "12345" in html
    assert reverse("cases:submit") in html and reverse("cases:track") in html
    assert reverse("cases:workbench") not in html  # not for residents
    client.force_login(city.user("handler"))
    assert reverse("cases:workbench") in client.get(reverse("portal:home")).content.decode()
