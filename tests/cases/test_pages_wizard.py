"""The elder-friendly report: one question per page, the draft kept in the session, back and
next buttons, and nothing but plain form posts."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.cases.test_pages_resident import PNG, errors_of
from tests.conftest import City, RateClock
from urbangov.cases.models import Attachment, Case, Channel

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    cache.clear()


@pytest.fixture
def elder() -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    client.cookies["ug_elder"] = "1"
    return client


def step(n: int) -> str:
    return reverse("cases:submit_step", args=[n])


WHAT = {
    "text": "小区门口路灯坏了三天，晚上看不见路",
    "category": "noise",
    "title": "路灯坏了",
    "nav": "next",
}


def test_pages_are_large_print_and_one_question_each(city: City, elder: Client) -> None:
    response = elder.get(step(1))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<body class="elder' in html
    assert "Step 1 of 4" in html and 'aria-current="step"' in html
    assert (
        'name="text"' in html
        and 'name="address"' not in html
        and 'name="contact_phone"' not in html
    )
    # The switch back to the standard view is on the page.
    assert 'aria-pressed="true"' in html


def test_later_steps_need_the_earlier_ones(city: City, elder: Client) -> None:
    for n in (2, 3, 4):
        response = elder.get(step(n))
        assert response.status_code == 302 and response["Location"] == step(1)
    assert elder.get(reverse("cases:submit_step", args=[5])).status_code == 404


def test_whole_wizard_stores_one_case(
    city: City, elder: Client, django_capture_on_commit_callbacks: Any
) -> None:
    response = elder.post(step(1), WHAT)
    assert response.status_code == 302 and response["Location"] == step(2)
    # A point outside the city is refused on its own page.
    outside = elder.post(step(2), {"address": "", "lat": "39.9", "lon": "116.4", "nav": "next"})
    assert outside.status_code == 400
    assert "outside the city" in errors_of(outside.content.decode(), "lat")
    lat, lon = city.p_d2
    response = elder.post(
        step(2), {"address": "西区光明路 3 号", "lat": lat, "lon": lon, "nav": "next"}
    )
    assert response["Location"] == step(3)
    response = elder.post(
        step(3), {"contact_name": "李大爷", "contact_phone": "139 0000 1111", "nav": "next"}
    )
    assert response["Location"] == step(4)
    review = elder.get(step(4)).content.decode()
    for shown in ("小区门口路灯坏了三天", "西区光明路 3 号", "李大爷", "139 0000 1111", "Noise"):
        assert shown in review, shown
    assert Case.objects.count() == 0  # nothing is stored before "send"
    photo = SimpleUploadedFile("lamp.png", PNG, content_type="image/png")
    with django_capture_on_commit_callbacks(execute=True):
        response = elder.post(step(4), {"nav": "send", "photos": [photo]})
    assert response.status_code == 302 and response["Location"] == reverse("cases:submitted")
    case = Case.objects.get()
    assert case.channel == Channel.WEB and case.title == "路灯坏了"
    assert case.area == city.grid_d2 and case.address == "西区光明路 3 号"
    assert case.contact_name == "李大爷" and case.contact_phone == "139 0000 1111"
    assert case.reported_category == city.noise
    assert Attachment.objects.filter(case=case).count() == 1
    done = elder.get(response["Location"]).content.decode()
    assert case.tracking_code in done
    # A second "send" (a double click) makes no second case and shows the same code.
    again = elder.post(step(4), {"nav": "send"})
    assert again.status_code == 302 and again["Location"] == reverse("cases:submitted")
    assert Case.objects.count() == 1
    # The draft is gone: a new report starts from an empty first page.
    assert elder.get(step(2))["Location"] == step(1)
    assert "小区门口路灯" not in elder.get(step(1)).content.decode()


def test_back_keeps_what_was_typed(city: City, elder: Client) -> None:
    elder.post(step(1), WHAT)
    # "Back" without an address (which would be refused by "next") still goes back.
    response = elder.post(step(2), {"address": "", "lat": "", "lon": "", "nav": "back"})
    assert response["Location"] == step(1)
    page = elder.get(step(1)).content.decode()
    assert "小区门口路灯坏了三天" in page and 'value="noise" selected' in page
    elder.post(step(1), WHAT)
    elder.post(step(2), {"address": "东区一街道 8 号", "nav": "next"})
    response = elder.post(step(3), {"contact_name": "王", "nav": "back"})
    assert response["Location"] == step(2)
    assert 'value="东区一街道 8 号"' in elder.get(step(2)).content.decode()


def test_anonymous_choice_is_respected(city: City, elder: Client) -> None:
    elder.post(step(1), WHAT)
    elder.post(step(2), {"address": "东区一街道 8 号", "nav": "next"})
    elder.post(
        step(3),
        {"contact_name": "王", "contact_phone": "13800000000", "anonymous": "on", "nav": "next"},
    )
    assert "Anonymous" in elder.get(step(4)).content.decode()
    elder.post(step(4), {"nav": "send"})
    case = Case.objects.get()
    assert case.anonymous and case.contact_phone == ""


def test_an_error_found_at_sending_returns_to_its_page(city: City, elder: Client) -> None:
    # The text box allows 5,000 characters; a longer text typed past the browser is caught
    # by the action when sending, and the resident is shown the first page again.
    elder.post(step(1), {**WHAT, "text": "漏" * 5001})
    elder.post(step(2), {"address": "东区一街道 8 号", "nav": "next"})
    elder.post(step(3), {"nav": "next"})
    response = elder.post(step(4), {"nav": "send"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "at most 5000 are allowed" in errors_of(html, "text")
    assert f'action="{step(1)}"' in html
    assert Case.objects.count() == 0


def test_a_bad_photo_is_refused_on_the_last_page(city: City, elder: Client) -> None:
    elder.post(step(1), WHAT)
    elder.post(step(2), {"address": "东区一街道 8 号", "nav": "next"})
    elder.post(step(3), {"nav": "next"})
    bad = SimpleUploadedFile("notes.png", b"just some text", content_type="image/png")
    response = elder.post(step(4), {"nav": "send", "photos": [bad]})
    assert response.status_code == 400
    assert "is not a photo" in errors_of(response.content.decode(), "photos")
    assert Case.objects.count() == 0


def test_sending_is_rate_limited(
    city: City, elder: Client, settings: Any, rate_clock: RateClock
) -> None:
    settings.URBANGOV = {**settings.URBANGOV, "PUBLIC_SUBMIT_RATE": "1/h"}
    for expected in (302, 429):
        elder.post(step(1), WHAT)
        elder.post(step(2), {"address": "东区一街道 8 号", "nav": "next"})
        elder.post(step(3), {"nav": "next"})
        response = elder.post(step(4), {"nav": "send"})
        assert response.status_code == expected
    assert 1 <= int(response["Retry-After"]) <= 3600
    assert Case.objects.count() == 1
