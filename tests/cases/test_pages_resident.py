"""Resident pages without JavaScript: report a problem in one page, get the tracking code,
follow the case, rate it and reopen it. Bad input is shown next to its field and stores
nothing; the public submit is rate-limited."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import City, RateClock, make_case
from urbangov.cases import actions
from urbangov.cases.models import Attachment, Case, Channel, Feedback, Rating, Status
from urbangov.privacy.models import AuditEvent

pytestmark = pytest.mark.django_db

# The smallest PNG a browser shows: a 1x1 transparent pixel.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    # Rate-limit counters live in the cache, which outlives a test's database.
    cache.clear()


@pytest.fixture
def en() -> Client:
    """A visitor who reads English, so that messages can be compared as written."""
    client = Client()
    client.cookies["django_language"] = "en"
    return client


def report(city: City, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "category": "water.leak",
        "title": "",
        "text": "楼下水管漏水，已经流了一整天",
        "address": "东区幸福路 12 号",
        "lat": "",
        "lon": "",
        "contact_name": "张三",
        "contact_phone": "13800138000",
        "submission_key": "0123456789abcdef0123456789abcdef",
    }
    data.update(changes)
    return data


def errors_of(html: str, field: str) -> str:
    """The text of the error list Django renders next to ``field`` (id_<field>_error)."""
    match = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip() if match else ""


def test_form_renders_labels_catalogue_and_no_js_fallback(city: City, en: Client) -> None:
    response = en.get(reverse("cases:submit"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'enctype="multipart/form-data"' in html and "csrfmiddlewaretoken" in html
    # The two-level catalogue: a group per top category, holding itself and its children.
    assert re.search(
        r'<optgroup label="Water supply">.*?value="water.leak".*?</optgroup>', html, re.S
    )
    assert '<option value="noise">Noise</option>' in html
    # Every visible input has a label pointing at it.
    for field in (
        "category",
        "title",
        "text",
        "address",
        "lat",
        "lon",
        "photos",
        "contact_name",
        "contact_phone",
        "anonymous",
    ):
        assert f'for="id_{field}"' in html, field
    # Latitude/longitude are plain inputs; the map is only drawn by the script.
    assert 'name="lat"' in html and "data-map-lat" in html
    assert re.search(r"<div class=\"map\" data-map [^>]*hidden", html)
    assert "js/map.js" in html


def test_submit_without_javascript_gives_a_tracking_code(
    city: City, en: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = en.post(reverse("cases:submit"), report(city))
    assert response.status_code == 302 and response["Location"] == reverse("cases:submitted")
    case = Case.objects.get()
    assert case.channel == Channel.WEB and case.reported_category == city.water_leak
    assert case.address == "东区幸福路 12 号" and case.lat is None
    assert case.contact_phone == "13800138000" and not case.anonymous
    assert case.status == Status.SUBMITTED  # until the worker's periodic triage
    page = en.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert f'<p class="code" id="tracking-code">{case.tracking_code}</p>' in html
    assert reverse("cases:track_case", args=[case.tracking_code]) in html
    assert "12345" in html  # how to use the code: read it out on the hotline


def test_map_point_locates_the_case_and_photos_are_kept(city: City, en: Client) -> None:
    lat, lon = city.p_d1
    photo = SimpleUploadedFile("leak.png", PNG, content_type="image/png")
    data = report(city, lat=str(lat), lon=str(lon), address="", photos=[photo])
    response = en.post(reverse("cases:submit"), data)
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.area == city.grid_d1 and case.lat == pytest.approx(lat)
    attachment = Attachment.objects.get(case=case)
    assert attachment.content_type == "image/png" and attachment.size == len(PNG)
    assert attachment.file.read() == PNG


def test_anonymous_report_keeps_no_contact(city: City, en: Client) -> None:
    en.post(reverse("cases:submit"), report(city, anonymous="on"))
    case = Case.objects.get()
    assert case.anonymous and case.contact_name == "" and case.contact_phone == ""


def test_same_form_sent_twice_makes_one_case(city: City, en: Client) -> None:
    first = en.post(reverse("cases:submit"), report(city))
    second = en.post(reverse("cases:submit"), report(city))
    assert first.status_code == second.status_code == 302
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"text": "x" * 5001}, "text", "at most 5000 are allowed"),
        ({"text": "   "}, "text", "This field is required"),
        ({"lat": "40.7", "lon": "-74.0"}, "lat", "outside the city"),
        ({"lat": "31.25", "lon": ""}, "lat", "both latitude and longitude"),
        ({"lat": "north", "lon": "121.4"}, "lat", "Enter a number"),
        ({"address": ""}, "address", "type an address or put a pin"),
        ({"contact_phone": "call me"}, "contact_phone", "5 to 20 digits"),
        ({"category": "no.such"}, "category", "Select a valid choice"),
    ],
)
def test_bad_input_is_shown_next_to_its_field_and_stores_nothing(
    city: City, en: Client, changes: dict[str, Any], field: str, message: str
) -> None:
    audits = AuditEvent.objects.count()
    response = en.post(reverse("cases:submit"), report(city, **changes))
    assert response.status_code == 400
    html = response.content.decode()
    assert message in errors_of(html, field), errors_of(html, field)
    assert 'class="error-summary"' in html
    # What the resident typed is still there to correct.
    assert "东区幸福路" in html or changes.get("address") == ""
    assert Case.objects.count() == 0 and AuditEvent.objects.count() == audits


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("photo.jpg", b"MZ\x90\x00 this is a program, not a photo", "is not a photo"),
        ("big.png", PNG + b"\x00" * (10 * 1024 * 1024), "larger than 10 MB"),
    ],
)
def test_bad_file_is_refused_and_nothing_is_stored(
    city: City, en: Client, name: str, content: bytes, message: str
) -> None:
    upload = SimpleUploadedFile(name, content, content_type="image/jpeg")
    response = en.post(reverse("cases:submit"), report(city, photos=[upload]))
    assert response.status_code == 400
    assert message in errors_of(response.content.decode(), "photos")
    assert Case.objects.count() == 0 and Attachment.objects.count() == 0


def test_public_submit_is_rate_limited(
    city: City, en: Client, settings: Any, rate_clock: RateClock
) -> None:
    settings.URBANGOV = {**settings.URBANGOV, "PUBLIC_SUBMIT_RATE": "2/m"}
    for n in range(2):
        response = en.post(reverse("cases:submit"), report(city, submission_key=f"key-number-{n}"))
        assert response.status_code == 302
    blocked = en.post(reverse("cases:submit"), report(city, submission_key="key-number-9"))
    assert blocked.status_code == 429
    assert 1 <= int(blocked["Retry-After"]) <= 60
    assert "Too many reports" in blocked.content.decode()
    assert Case.objects.count() == 2
    # Another connection is not held back.
    other = Client(REMOTE_ADDR="10.1.2.3")
    other.cookies["django_language"] = "en"
    assert (
        other.post(reverse("cases:submit"), report(city, submission_key="other-key-1")).status_code
        == 302
    )


def test_elder_mode_sends_the_form_to_the_wizard(city: City, en: Client) -> None:
    en.cookies["ug_elder"] = "1"
    response = en.get(reverse("cases:submit"))
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:submit_step", args=[1])


def test_done_page_needs_a_submission(city: City, en: Client) -> None:
    response = en.get(reverse("cases:submitted"))
    assert response.status_code == 302 and response["Location"] == reverse("cases:submit")


# --- following a case -------------------------------------------------------------------------


def test_track_form_finds_a_case_by_code_in_any_spelling(city: City, en: Client) -> None:
    case = make_case(city)
    assert en.get(reverse("cases:track")).status_code == 200
    typed = case.tracking_code.lower().replace("-", " ")
    response = en.get(reverse("cases:track"), {"code": typed})
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:track_case", args=[case.tracking_code])
    missing = en.get(reverse("cases:track"), {"code": "ZZZZZ-ZZZZZ"})
    assert missing.status_code == 404
    assert "No case has this tracking code" in errors_of(missing.content.decode(), "code")
    assert en.get(reverse("cases:track_case", args=["ZZZZZ-ZZZZZ"])).status_code == 404


def _resolved(city: City) -> Case:
    case = make_case(city)
    actions.dispatch_case(
        case, actor=city.user("operator"), unit=city.water_dept, note="内部备注：先查阀门"
    )
    actions.accept_case(case, actor=city.user("handler"))
    actions.send_back_case(case, actor=city.user("handler"), reason="内部：不是我们的")
    actions.dispatch_case(case, actor=city.user("operator"), unit=city.water_dept)
    actions.accept_case(case, actor=city.user("handler"))
    actions.resolve_case(case, actor=city.user("handler"), resolution="已派人更换水管，请查看。")
    case.refresh_from_db()
    return case


def test_tracking_page_shows_public_timeline_with_units_never_staff(city: City, en: Client) -> None:
    # Staff with usernames and names no wording could hold by chance ("operator" could: the
    # timeline says "Routed by a dispatch operator."), so finding one can only be a leak.
    staff = {"operator": ("op_wang_7731", "王", "七七"), "handler": ("hd_li_4412", "李", "四四")}
    for role, (username, last, first) in staff.items():
        user = city.user(role)
        user.username, user.last_name, user.first_name = username, last, first  # type: ignore[attr-defined]
        user.save(update_fields=["username", "last_name", "first_name"])
    case = _resolved(city)
    response = en.get(reverse("cases:track_case", args=[case.tracking_code]))
    assert response.status_code == 200
    html = response.content.decode()
    timeline = html[
        html.index('<ol class="timeline">') : html.index(
            "</ol>", html.index('<ol class="timeline">')
        )
    ]
    assert "Sent to 市水务局" in timeline and "市水务局 has taken on the case" in timeline
    assert "市水务局 replied" in timeline and "已派人更换水管" in timeline
    # Internal events and notes stay internal, and no staff username is shown.
    assert "不是我们的" not in html and "先查阀门" not in html
    assert "Routed by a dispatch operator." in timeline  # how it was routed, not by whom
    for username, last, first in staff.values():
        for secret in (username, f"{last}{first}", f"{first} {last}", f"{last} {first}"):
            assert secret not in html, secret
    assert "13800138000" not in html and "张三" not in html
    assert 'class="status status-resolved"' in html
    # Resolved and not yet rated: the rating form is offered.
    assert f'action="{reverse("cases:rate", args=[case.tracking_code])}"' in html
    for value in Rating.values:
        assert f'value="{value}"' in html


def test_deadlines_are_shown_while_in_hands(city: City, en: Client) -> None:
    case = make_case(city)
    actions.dispatch_case(case, actor=city.user("operator"), unit=city.water_dept)
    case.refresh_from_db()
    html = en.get(reverse("cases:track_case", args=[case.tracking_code])).content.decode()
    due = timezone.localtime(case.resolve_due).strftime("%Y-%m-%d %H:%M")
    assert "To be resolved by" in html and due in html and "市水务局" in html


def test_satisfied_rating_closes_the_case(city: City, en: Client) -> None:
    case = _resolved(city)
    url = reverse("cases:rate", args=[case.tracking_code])
    response = en.post(url, {"rating": Rating.SATISFIED, "comment": "修得很快"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    assert Feedback.objects.get(case=case).comment == "修得很快"
    page = en.get(reverse("cases:track_case", args=[case.tracking_code])).content.decode()
    assert "You rated the reply: satisfied" in page and f'action="{url}"' not in page
    again = en.post(url, {"rating": Rating.DISSATISFIED})
    assert again.status_code == 409 and Feedback.objects.filter(case=case).count() == 1


def test_bad_rating_and_rating_too_early_change_nothing(city: City, en: Client) -> None:
    case = _resolved(city)
    bad = en.post(reverse("cases:rate", args=[case.tracking_code]), {"rating": "great"})
    assert bad.status_code == 400 and "Select a valid choice" in errors_of(
        bad.content.decode(), "rating"
    )
    early = make_case(city)
    response = en.post(reverse("cases:rate", args=[early.tracking_code]), {"rating": "satisfied"})
    assert response.status_code == 409
    assert "Cannot rate case" in response.content.decode()
    assert Feedback.objects.count() == 0


def test_dissatisfied_resident_reopens_from_the_tracking_page(city: City, en: Client) -> None:
    case = _resolved(city)
    en.post(
        reverse("cases:rate", args=[case.tracking_code]),
        {"rating": Rating.DISSATISFIED, "comment": "还在漏"},
    )
    case.refresh_from_db()
    assert case.status == Status.RESOLVED
    html = en.get(reverse("cases:track_case", args=[case.tracking_code])).content.decode()
    assert f'action="{reverse("cases:reopen", args=[case.tracking_code])}"' in html
    response = en.post(reverse("cases:reopen", args=[case.tracking_code]), {"reason": "水还在流"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH and case.reopen_count == 1
    html = en.get(reverse("cases:track_case", args=[case.tracking_code])).content.decode()
    assert "Reopened because the reply was not satisfactory" in html and "水还在流" in html


def test_reopen_outside_the_window_is_refused(city: City, en: Client, settings: Any) -> None:
    case = _resolved(city)
    actions.rate_case(case, actor=None, rating=Rating.DISSATISFIED)
    Case.objects.filter(pk=case.pk).update(
        resolved_at=timezone.now() - timedelta(days=settings.URBANGOV["REOPEN_WINDOW_DAYS"] + 1)
    )
    html = en.get(reverse("cases:track_case", args=[case.tracking_code])).content.decode()
    assert reverse("cases:reopen", args=[case.tracking_code]) not in html
    response = en.post(reverse("cases:reopen", args=[case.tracking_code]), {"reason": "x"})
    assert response.status_code == 400 and "that time has passed" in response.content.decode()
    case.refresh_from_db()
    assert case.status == Status.RESOLVED and case.reopen_count == 0


def test_merged_and_rejected_cases_say_why(city: City, en: Client) -> None:
    keep, dup, junk = make_case(city), make_case(city), make_case(city)
    actions.merge_case(dup, actor=city.user("operator"), into=keep)
    actions.reject_case(junk, actor=city.user("operator"), reason="属于私人纠纷，请咨询法律援助")
    html = en.get(reverse("cases:track_case", args=[dup.tracking_code])).content.decode()
    assert "the city follows it up there" in html
    html = en.get(reverse("cases:track_case", args=[junk.tracking_code])).content.decode()
    assert "属于私人纠纷" in html


def _codes(html: str, case: Case) -> bool:
    code = case.tracking_code
    return any(c in html for c in (code, code.replace("-", ""), code.lower()))


def test_a_duplicates_reporter_sees_the_survivor_read_only(city: City, en: Client) -> None:
    survivor = _resolved(city)
    dup = make_case(city, text="同一处水管漏水", contact_phone="13900000002")
    actions.merge_case(dup, actor=city.user("operator"), into=survivor)
    html = en.get(reverse("cases:track_case", args=[dup.tracking_code])).content.decode()
    notice = html[html.index('aria-labelledby="merged-heading"') :]
    notice = notice[: notice.index("</section>")]
    # The survivor's status, unit and reply...
    assert 'class="status status-resolved"' in notice and ">resolved<" in notice
    assert "市水务局" in notice and "已派人更换水管，请查看。" in notice
    # ...and nothing that acts on it: no code, no link to its page, no rating or reopen form.
    assert not _codes(html, survivor)
    assert reverse("cases:rate", args=[survivor.tracking_code]) not in html
    assert 'name="rating"' not in html and 'name="reason"' not in html
    # The public timeline says what happened without the other case's code either.
    assert "reports the same problem as another one" in html
    # Its rating is the survivor's reporter's: the duplicate's code cannot rate it.
    response = en.post(reverse("cases:rate", args=[dup.tracking_code]), {"rating": "satisfied"})
    assert response.status_code == 409 and not _codes(response.content.decode(), survivor)
    survivor.refresh_from_db()
    assert survivor.status == Status.RESOLVED and not survivor.feedback.exists()


def test_rating_and_reopening_are_rate_limited(
    city: City, en: Client, settings: Any, rate_clock: RateClock
) -> None:
    settings.URBANGOV = {**settings.URBANGOV, "PUBLIC_SUBMIT_RATE": "2/d"}
    case = _resolved(city)
    rate, reopen = (
        reverse(name, args=[case.tracking_code]) for name in ("cases:rate", "cases:reopen")
    )
    # Two writes from this connection (a wrong code counts too, so guessing is limited)...
    assert (
        en.post(reverse("cases:rate", args=["ZZZZZ-ZZZZZ"]), {"rating": "basic"}).status_code == 404
    )
    assert en.post(rate, {"rating": Rating.DISSATISFIED, "comment": "还在漏"}).status_code == 302
    # ...and the third is refused, whichever page and code it is for, with nothing changed.
    for url, data in ((reopen, {"reason": "水还在流"}), (rate, {"rating": "basic"})):
        blocked = en.post(url, data)
        assert blocked.status_code == 429
        assert 1 <= int(blocked["Retry-After"]) <= 86400
        assert "Too many requests from your address" in blocked.content.decode()
    guessed = en.post(reverse("cases:reopen", args=["ZZZZZ-ZZZZZ"]), {"reason": "x"})
    assert guessed.status_code == 429
    case.refresh_from_db()
    assert case.status == Status.RESOLVED and case.reopen_count == 0
    assert Feedback.objects.get(case=case).rating == Rating.DISSATISFIED
    # Its own count: reporting a new problem is still open to this connection...
    assert en.post(reverse("cases:submit"), report(city)).status_code == 302
    # ...another connection is not held back...
    other = Client(REMOTE_ADDR="10.9.8.7")
    assert other.post(reverse("cases:reopen", args=["ZZZZZ-ZZZZZ"]), {}).status_code == 404
    # ...nor is an operator acting for the resident (a callback survey), from this address.
    operator = Client()
    operator.force_login(city.user("operator"))
    assert operator.post(reopen, {"reason": "水还在流"}).status_code == 302
    case.refresh_from_db()
    assert case.status == Status.AWAITING_DISPATCH


def test_more_photos_than_a_case_may_carry_are_refused(
    city: City, en: Client, settings: Any
) -> None:
    most = settings.URBANGOV["ATTACHMENTS_PER_CASE"]
    photos = [
        SimpleUploadedFile(f"p{i}.png", b"not a photo at all", content_type="image/png")
        for i in range(most + 1)
    ]
    response = en.post(reverse("cases:submit"), report(city, photos=photos))
    assert response.status_code == 400
    # The count is refused before any file is looked at.
    assert (
        errors_of(response.content.decode(), "photos") == f"At most {most} files may be attached."
    )
    assert Case.objects.count() == 0 and Attachment.objects.count() == 0


def test_an_oversized_page_post_is_413_before_anything_reads_it(city: City, settings: Any) -> None:
    # CSRF would read the whole body to find its token; the cap answers first, so even a
    # post without a token is told that it is too large, not that its token is missing.
    browser = Client(enforce_csrf_checks=True)
    browser.cookies["django_language"] = "en"
    cap = 5 * settings.URBANGOV["ATTACHMENT_MAX_BYTES"] + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = browser.post(reverse("cases:submit"), report(city), CONTENT_LENGTH=str(cap + 1))
    assert response.status_code == 413
    html = response.content.decode()
    assert "The request body is too large." in html and "Up to 5 photos" in html
    # A real body over a small cap, with its token: the same, and nothing stored.
    settings.URBANGOV = {**settings.URBANGOV, "ATTACHMENT_MAX_BYTES": 1000}
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    browser.get(reverse("cases:submit"))
    token = browser.cookies["csrftoken"].value
    big = SimpleUploadedFile("big.png", PNG + b"\0" * 6000, content_type="image/png")
    data = {**report(city), "photos": [big], "csrfmiddlewaretoken": token}
    assert browser.post(reverse("cases:submit"), data).status_code == 413
    # Under the cap a post goes through as before.
    small = SimpleUploadedFile("small.png", PNG, content_type="image/png")
    data = {**report(city), "photos": [small], "csrfmiddlewaretoken": token}
    assert browser.post(reverse("cases:submit"), data).status_code == 302
    assert Case.objects.count() == 1


def test_areas_geojson_feeds_the_map(city: City, en: Client) -> None:
    response = en.get(reverse("cases:areas"))
    assert response.status_code == 200
    data = response.json()
    levels = sorted({f["properties"]["level"] for f in data["features"]})
    assert levels == ["city", "district", "street"]
    d1 = next(f for f in data["features"] if f["properties"]["code"] == "D1")
    xs = [p[0] for p in d1["geometry"]["coordinates"][0]]
    assert min(xs) == pytest.approx(121.4) and max(xs) == pytest.approx(121.5)
