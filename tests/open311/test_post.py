"""POST requests as GeoReport v2 describes it: parameters, api_key, location, attributes,
the response, and every way a request is refused — with a 4xx, the spec's error list, and
nothing stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import xmltodict
from django.conf import settings
from django.db import connection

from tests.open311.conftest import ENGLISH, Endpoint
from urbangov.cases.models import Attachment, Case, Channel
from urbangov.open311.actions import revoke_api_key
from urbangov.open311.models import ApiKey, ServiceRequest
from urbangov.privacy.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def _errors(response: requests.Response) -> list[dict[str, object]]:
    if response.headers["Content-Type"].startswith("text/xml"):
        return [
            {"code": int(e["code"]), "description": e["description"]}
            for e in _as_list(xmltodict.parse(response.content)["errors"]["error"])
        ]
    return list(response.json())


def _as_list(value: object) -> list[dict[str, str]]:
    return value if isinstance(value, list) else [value]  # type: ignore[list-item,return-value]


@pytest.fixture
def unchanged(endpoint: Endpoint) -> Iterator[None]:
    """Assert that the test stored nothing: no case, no Open311 record, no audit event."""
    before = (Case.objects.count(), ServiceRequest.objects.count(), AuditEvent.objects.count())
    yield
    after = (Case.objects.count(), ServiceRequest.objects.count(), AuditEvent.objects.count())
    assert after == before


def test_post_creates_one_case_through_the_app_channel(endpoint: Endpoint) -> None:
    params = [
        *endpoint.leak(
            first_name="三",
            last_name="张",
            phone="13800138000",
            email="zhang.san@example.com",
            device_id="device-42",
            account_id="acct-7",
            address_string="示范路1号",
        ),
        ("attribute[WHERE][]", "road"),
        ("attribute[WHERE][]", "meter"),
        ("attribute[FLOORS]", "3"),
        ("attribute[SINCE]", "2026-11-28T08:30:00+08:00"),
    ]
    response = endpoint.post(params=params)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    [body] = response.json()
    assert list(body) == [
        "service_request_id",
        "token",
        "service_notice",
        "account_id",
        "tracking_code",
    ]
    assert body["account_id"] == "acct-7"
    # water.leak is a utilities matter: respond within 4 hours, resolve within 24.
    assert "4" in body["service_notice"] and "24" in body["service_notice"]

    [case] = Case.objects.all()
    # The public id is the case's number; the tracking code, the resident's key to the case,
    # goes to the posting application alone: in its own field and in the notice it shows.
    assert body["service_request_id"] == str(case.pk)
    assert body["tracking_code"] == case.tracking_code
    assert body["service_notice"].endswith(f"Your tracking code is {case.tracking_code}")
    assert case.channel == Channel.APP
    assert case.reported_category == endpoint.city.water_leak
    assert (case.lat, case.lon) == endpoint.city.p_d1
    assert case.area == endpoint.city.grid_d1
    assert case.address == "示范路1号"
    assert case.text == "小区门口水管漏水，路面都是水"
    assert case.attributes == {
        "SIZE": "flow",
        "WHERE": ["road", "meter"],
        "FLOORS": 3,
        "SINCE": "2026-11-28T08:30:00+08:00",
    }
    # Chinese names are family name first.
    assert case.contact_name == "张三" and case.contact_phone == "13800138000"
    extra = ServiceRequest.objects.get(case=case)
    assert extra.token == body["token"] and extra.api_key.name == "street-app"
    assert (extra.email, extra.device_id, extra.account_id) == (
        "zhang.san@example.com",
        "device-42",
        "acct-7",
    )
    assert ApiKey.objects.get(name="street-app").last_used_at is not None

    # Contact details are encrypted at rest.
    with connection.cursor() as cur:
        cur.execute("SELECT contact_name, contact_phone FROM cases_case WHERE id = %s", [case.pk])
        stored_case = " ".join(cur.fetchone())
        cur.execute(
            "SELECT email, device_id, account_id FROM open311_servicerequest WHERE id = %s",
            [extra.pk],
        )
        stored_extra = " ".join(cur.fetchone())
    assert "张三" not in stored_case and "13800138000" not in stored_case
    assert (
        "zhang.san" not in stored_extra
        and "device-42" not in stored_extra
        and "acct-7" not in stored_extra
    )

    # The audit log names the application that brought the case in.
    submitted = AuditEvent.objects.get(action="case.submit", object_id=str(case.pk))
    via = AuditEvent.objects.get(action="open311.request.create", object_id=str(case.pk))
    assert via.actor_label == "open311:street-app" and submitted.actor_id is None
    assert "13800138000" not in json.dumps(via.data, ensure_ascii=False)


def test_post_answers_in_xml(endpoint: Endpoint) -> None:
    response = endpoint.post("xml", params=endpoint.leak())
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/xml")
    request = xmltodict.parse(response.content)["service_requests"]["request"]
    case = Case.objects.get()
    assert request["service_request_id"] == str(case.pk)
    assert request["tracking_code"] == case.tracking_code
    assert request["token"] == ServiceRequest.objects.get().token
    assert request["account_id"] is None


def test_post_as_a_json_object(endpoint: Endpoint) -> None:
    lat, lon = endpoint.city.p_d1
    body = {
        "api_key": endpoint.key,
        "service_code": "water.leak",
        "lat": lat,
        "long": lon,
        "attribute": {"SIZE": "drip", "WHERE": ["wall"]},
    }
    response = requests.post(endpoint.url("requests.json"), json=body, timeout=30)
    assert response.status_code == 200, response.text
    assert Case.objects.get().attributes == {"SIZE": "drip", "WHERE": ["wall"]}


@pytest.mark.parametrize(
    "location",
    [{"address_string": "示范路1号"}, {"address_id": "ADDR-0042"}],
    ids=["address_string", "address_id"],
)
def test_an_address_is_location_enough(endpoint: Endpoint, location: dict[str, str]) -> None:
    params = [(k, v) for k, v in endpoint.leak() if k not in ("lat", "long")] + list(
        location.items()
    )
    response = endpoint.post(params=params)
    assert response.status_code == 200, response.text
    case = Case.objects.get()
    assert case.lat is None and case.area is None
    assert case.address == location.get("address_string", "")
    assert ServiceRequest.objects.get().address_id == location.get("address_id", "")
    shown = requests.get(endpoint.url(f"requests/{case.pk}.json"), timeout=30).json()[0]
    assert shown["address_id"] == (location.get("address_id") or None)


def test_description_is_optional(endpoint: Endpoint) -> None:
    params = [(k, v) for k, v in endpoint.leak() if k != "description"]
    assert endpoint.post(params=params).status_code == 200
    assert Case.objects.get().text == "水管漏水"


def test_media_url_is_kept_and_shown(endpoint: Endpoint) -> None:
    url = "https://photos.example.org/leak/1.jpg"
    response = endpoint.post(params=endpoint.leak(media_url=url))
    assert response.status_code == 200
    code = response.json()[0]["service_request_id"]
    shown = requests.get(endpoint.url(f"requests/{code}.json"), timeout=30).json()[0]
    assert shown["media_url"] == url


def test_media_upload_becomes_an_attachment(endpoint: Endpoint) -> None:
    response = endpoint.post(
        params=endpoint.leak(), files={"media": ("leak.png", PNG, "image/png")}
    )
    assert response.status_code == 200, response.text
    [attachment] = Attachment.objects.all()
    assert attachment.content_type == "image/png" and attachment.size == len(PNG)


def test_a_retry_with_the_same_idempotency_key_makes_one_case(endpoint: Endpoint) -> None:
    headers = {"Idempotency-Key": "phone-7f3a-0001"}
    first = endpoint.post(params=endpoint.leak(), headers=headers)
    second = endpoint.post(params=endpoint.leak(), headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert Case.objects.count() == 1 and ServiceRequest.objects.count() == 1


def test_post_needs_no_csrf_token_but_a_key(endpoint: Endpoint) -> None:
    # requests sends no cookie and no CSRF token: an API key is the only credential.
    session = requests.Session()
    assert (
        session.post(endpoint.url("requests.json"), data=endpoint.leak(), timeout=30).status_code
        == 200
    )


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_missing_api_key_is_403(endpoint: Endpoint, fmt: str) -> None:
    response = endpoint.post(fmt, params=[(k, v) for k, v in endpoint.leak() if k != "api_key"])
    assert response.status_code == 403
    [error] = _errors(response)
    assert error["code"] == 403 and "api_key" in str(error["description"])


@pytest.mark.usefixtures("unchanged")
def test_wrong_api_key_is_403(endpoint: Endpoint) -> None:
    response = endpoint.post(params=endpoint.leak(api_key=endpoint.key + "x"))
    assert response.status_code == 403
    assert "Invalid api_key" in str(_errors(response)[0]["description"])


def test_revoked_api_key_is_403(endpoint: Endpoint) -> None:
    revoke_api_key(actor=None, key=ApiKey.objects.get(name="street-app"))
    response = endpoint.post(params=endpoint.leak())
    assert response.status_code == 403 and not Case.objects.exists()


def _without(endpoint: Endpoint, *names: str, **extra: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in endpoint.leak(**extra) if k not in names]


REFUSALS = {
    "no service_code": (lambda e: _without(e, "service_code"), "service_code"),
    "unknown service_code": (lambda e: _without(e, service_code="potholes"), "potholes"),
    "a group, not a service": (lambda e: _without(e, service_code="water"), "'water'"),
    "no location at all": (lambda e: _without(e, "lat", "long"), "location"),
    "lat without long": (lambda e: _without(e, "long"), "lat/long"),
    "lat not a number": (lambda e: _without(e, lat="north"), "lat/long"),
    "lat not finite": (lambda e: _without(e, lat="nan"), "lat/long"),
    "point outside the city": (lambda e: _without(e, lat="39.9", long="116.4"), "outside the city"),
    "required attribute missing": (lambda e: _without(e, "attribute[SIZE]"), "attribute[SIZE]"),
    "list value not a key": (
        lambda e: _without(e, **{"attribute[SIZE]": "huge"}),
        "attribute[SIZE]",
    ),
    "multivalue not a key": (
        lambda e: [*e.leak(), ("attribute[WHERE][]", "roof")],
        "attribute[WHERE]",
    ),
    "number not a number": (
        lambda e: _without(e, **{"attribute[FLOORS]": "three"}),
        "attribute[FLOORS]",
    ),
    "datetime not a datetime": (
        lambda e: _without(e, **{"attribute[SINCE]": "2026-02-30"}),
        "attribute[SINCE]",
    ),
    "two answers to one question": (
        lambda e: [*e.leak(), ("attribute[SIZE]", "drip")],
        "attribute[SIZE]",
    ),
    "unknown attribute": (
        lambda e: _without(e, **{"attribute[COLOUR]": "red"}),
        "attribute[COLOUR]",
    ),
    "informational attribute answered": (
        lambda e: _without(e, **{"attribute[INFO]": "x"}),
        "attribute[INFO]",
    ),
    "malformed attribute name": (
        lambda e: _without(e, **{"attribute[SIZE": "flow"}),
        "attribute[SIZE",
    ),
    "bad email": (lambda e: _without(e, email="not-an-address"), "email"),
    "media_url not http": (lambda e: _without(e, media_url="javascript:alert(1)"), "media_url"),
    "bad phone": (lambda e: _without(e, phone="call me"), "phone"),
    "description too long": (
        lambda e: _without(e, description="漏" * (settings.URBANGOV["CASE_TEXT_MAX"] + 1)),
        "description",
    ),
    "address too long": (lambda e: _without(e, address_string="路" * 301), "address_string"),
    "device_id too long": (lambda e: _without(e, device_id="d" * 101), "device_id"),
    "NUL in description": (lambda e: _without(e, description="漏水\x00"), "description"),
    "service_code given twice": (lambda e: [*e.leak(), ("service_code", "noise")], "service_code"),
}


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_bad_requests_are_refused_with_400_naming_the_problem(
    endpoint: Endpoint, case: str
) -> None:
    make, mentions = REFUSALS[case]
    response = endpoint.post(params=make(endpoint))
    assert response.status_code == 400, response.text
    errors = _errors(response)
    assert errors and all(e["code"] == 400 for e in errors)
    assert any(mentions in str(e["description"]) for e in errors), errors


@pytest.mark.usefixtures("unchanged")
def test_every_problem_is_reported_at_once(endpoint: Endpoint) -> None:
    params = _without(endpoint, "attribute[SIZE]", email="x", **{"attribute[FLOORS]": "many"})
    response = endpoint.post("xml", params=params)
    assert response.status_code == 400
    described = " ".join(str(e["description"]) for e in _errors(response))
    assert (
        "attribute[SIZE]" in described and "attribute[FLOORS]" in described and "email" in described
    )


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("body", "content_type", "mentions"),
    [
        (b'{"api_key": "x", "service_code": ', "application/json", "JSON"),
        (b'["water.leak"]', "application/json", "object"),
        (b'{"attribute": "SIZE=flow"}', "application/json", "attribute"),
        (b"\xff\xfe{}", "application/json", "JSON"),
        (b"<service_request><service_code>water.leak</service_code>", "text/xml", "form data"),
        (
            b'--b\r\nContent-Disposition: form-data; name="api_key"\r\n\r\nx',
            "multipart/form-data; boundary=b",
            "",
        ),
        (b"--b\r\n", "multipart/form-data", "form data"),
    ],
    ids=[
        "json-truncated",
        "json-array",
        "json-attribute-string",
        "json-not-utf8",
        "xml",
        "multipart-truncated",
        "multipart-no-boundary",
    ],
)
def test_malformed_bodies_are_refused(
    endpoint: Endpoint, body: bytes, content_type: str, mentions: str
) -> None:
    response = requests.post(
        endpoint.url("requests.json"),
        data=body,
        headers={"Content-Type": content_type, **ENGLISH},
        timeout=30,
    )
    assert response.status_code in (400, 403), response.text
    [error] = _errors(response)
    assert mentions in str(error["description"])


@pytest.mark.usefixtures("unchanged")
def test_a_file_that_is_not_a_photo_is_refused(endpoint: Endpoint) -> None:
    response = endpoint.post(
        params=endpoint.leak(),
        files={"media": ("leak.png", b"MZ\x90\x00 not an image", "image/png")},
    )
    assert response.status_code == 400
    assert "media" in str(_errors(response)[0]["description"])


@pytest.mark.usefixtures("unchanged")
def test_more_media_than_a_case_may_carry_is_refused(endpoint: Endpoint) -> None:
    most = settings.URBANGOV["ATTACHMENTS_PER_CASE"]
    files = [("media", (f"leak{i}.png", PNG, "image/png")) for i in range(most + 1)]
    response = endpoint.post(params=endpoint.leak(), files=files)
    assert response.status_code == 400
    [error] = _errors(response)
    assert error["description"] == f"media: At most {most} files may be attached."


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_body_larger_than_a_case_can_need_is_413(
    endpoint: Endpoint, fmt: str, settings: Any
) -> None:
    # One photo of at most 1,000 bytes plus 1,000 bytes of fields: a 3,000-byte photo makes
    # the body too large, and it is refused by its declared length, unread.
    settings.URBANGOV = {
        **settings.URBANGOV,
        "ATTACHMENT_MAX_BYTES": 1000,
        "ATTACHMENTS_PER_CASE": 1,
    }
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = endpoint.post(
        fmt, params=endpoint.leak(), files={"media": ("leak.png", PNG + b"\0" * 3000, "image/png")}
    )
    assert response.status_code == 413
    [error] = _errors(response)
    assert error == {"code": 413, "description": "The request body is too large."}


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(endpoint: Endpoint, method: str) -> None:
    response = requests.request(
        method, endpoint.url("requests.json"), data=endpoint.leak(), timeout=30
    )
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST, HEAD"
    assert _errors(response)[0]["code"] == 405


@pytest.mark.usefixtures("unchanged")
def test_post_to_a_read_only_endpoint_is_405(endpoint: Endpoint) -> None:
    response = requests.post(endpoint.url("services.json"), data=endpoint.leak(), timeout=30)
    assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD"
