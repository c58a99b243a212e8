"""Discovery, tokens, jurisdiction, and the endpoint's answers to paths and formats it does not
serve — as the GeoReport v2 spec describes them."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import xmltodict

from tests.open311.conftest import ENGLISH, Endpoint, as_list
from urbangov.open311.models import ServiceRequest

pytestmark = pytest.mark.django_db(transaction=True)


def test_discovery_json_describes_the_endpoint(endpoint: Endpoint) -> None:
    response = requests.get(endpoint.url("discovery.json"), timeout=30)
    assert response.status_code == 200
    doc = response.json()
    assert set(doc) == {"changeset", "contact", "key_service", "endpoints"}
    assert doc["contact"] and doc["key_service"]
    [production] = doc["endpoints"]
    assert production["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert production["type"] == "production"
    assert sorted(production["formats"]) == ["application/json", "text/xml"]
    assert production["url"] == endpoint.root
    assert production["changeset"].endswith("Z")
    # The advertised URL is the base a client appends "/services.json" to.
    assert requests.get(f"{production['url']}/services.json", timeout=30).status_code == 200


def test_discovery_xml_has_the_spec_elements(endpoint: Endpoint) -> None:
    doc = xmltodict.parse(requests.get(endpoint.url("discovery.xml"), timeout=30).content)[
        "discovery"
    ]
    endpoint_doc = doc["endpoints"]["endpoint"]
    assert endpoint_doc["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert as_list(endpoint_doc["formats"]["format"]) == ["text/xml", "application/json"]
    assert doc["changeset"] and doc["contact"] and doc["key_service"]


def test_discovery_contact_is_the_citys(endpoint: Endpoint, settings: Any) -> None:
    settings.URBANGOV = {
        **settings.URBANGOV,
        "OPEN311_CONTACT": "12345 热线 open311@demo.city.gov.cn",
        "OPEN311_KEY_SERVICE": "https://demo.city.gov.cn/open311/keys",
    }
    doc = requests.get(endpoint.url("discovery.json"), timeout=30).json()
    assert doc["contact"] == "12345 热线 open311@demo.city.gov.cn"
    assert doc["key_service"] == "https://demo.city.gov.cn/open311/keys"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_token_leads_to_the_request(endpoint: Endpoint, fmt: str) -> None:
    posted = endpoint.post(params=endpoint.leak()).json()[0]
    token, request_id = posted["token"], posted["service_request_id"]
    assert len(token) >= 24 and token != request_id
    response = requests.get(endpoint.url(f"tokens/{token}.{fmt}"), timeout=30)
    assert response.status_code == 200
    if fmt == "json":
        assert response.json() == [{"service_request_id": request_id, "token": token}]
    else:
        assert xmltodict.parse(response.content)["service_requests"]["request"] == {
            "service_request_id": request_id,
            "token": token,
        }
    # The request's public id (the case's number), never its tracking code.
    case = ServiceRequest.objects.get(token=token).case
    assert str(case.pk) == request_id and case.tracking_code not in response.text


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_token_is_404(endpoint: Endpoint, fmt: str) -> None:
    response = requests.get(endpoint.url(f"tokens/not-a-token.{fmt}"), timeout=30)
    assert response.status_code == 404
    body = (
        response.json()[0]
        if fmt == "json"
        else xmltodict.parse(response.content)["errors"]["error"]
    )
    assert str(body["code"]) == "404" and "not-a-token" in body["description"]


@pytest.mark.parametrize(
    "path",
    ["services.html", "requests.csv", "services/water.leak", "discovery", "nothing/here.json", ""],
)
def test_unknown_paths_and_formats_are_404(endpoint: Endpoint, path: str) -> None:
    response = requests.get(endpoint.url(path), timeout=30)
    assert response.status_code == 404
    [error] = response.json()
    assert error["code"] == 404 and error["description"]


def test_formats_are_case_insensitive(endpoint: Endpoint) -> None:
    response = requests.get(endpoint.url("services.JSON"), timeout=30)
    assert response.status_code == 200 and isinstance(response.json(), list)


def test_jurisdiction_is_accepted_when_none_is_configured(endpoint: Endpoint) -> None:
    response = requests.get(
        endpoint.url("services.json"), params={"jurisdiction_id": "anything"}, timeout=30
    )
    assert response.status_code == 200


def test_configured_jurisdiction_refuses_another(endpoint: Endpoint, settings: Any) -> None:
    settings.URBANGOV = {**settings.URBANGOV, "OPEN311_JURISDICTION_ID": "demo.city.gov.cn"}
    url = endpoint.url("services.json")
    assert (
        requests.get(url, params={"jurisdiction_id": "demo.city.gov.cn"}, timeout=30).status_code
        == 200
    )
    assert requests.get(url, timeout=30).status_code == 200
    other = requests.get(url, params={"jurisdiction_id": "sfgov.org"}, timeout=30)
    assert other.status_code == 404 and "sfgov.org" in other.json()[0]["description"]


def test_configured_jurisdiction_refuses_a_post_for_another(
    endpoint: Endpoint, settings: Any
) -> None:
    settings.URBANGOV = {**settings.URBANGOV, "OPEN311_JURISDICTION_ID": "demo.city.gov.cn"}
    other = endpoint.post(params=endpoint.leak(jurisdiction_id="sfgov.org"))
    assert other.status_code == 404 and not ServiceRequest.objects.exists()
    assert (
        endpoint.post(params=endpoint.leak(jurisdiction_id="demo.city.gov.cn")).status_code == 200
    )


@pytest.mark.parametrize("path", ["services/%00.json", "requests/%01AB.xml", "tokens/a%00b.json"])
def test_control_characters_in_a_path_are_400(endpoint: Endpoint, path: str) -> None:
    response = requests.get(endpoint.url(path), headers=ENGLISH, timeout=30)
    assert response.status_code == 400
    assert "control characters" in (
        response.json()[0]["description"]
        if path.endswith("json")
        else xmltodict.parse(response.content)["errors"]["error"]["description"]
    )
