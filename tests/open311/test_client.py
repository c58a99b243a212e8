"""The endpoint as the third-party client `georeport` (PyPI) sees it, over real HTTP, in JSON
and in XML. `georeport` reads only (it has no call to post a request), so requests are posted
with plain HTTP as its users would."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
from django.utils import timezone
from georeport import GeoReport

from tests.conftest import make_case
from tests.open311.conftest import Endpoint, as_list, old_case
from urbangov.cases import actions
from urbangov.cases.models import Rating, Status

pytestmark = pytest.mark.django_db(transaction=True)

FORMATS = ["json", "xml"]


def _client(endpoint: Endpoint, fmt: str) -> GeoReport:
    return GeoReport(endpoint.root, output_format=fmt)


def _flag(value: Any) -> bool:
    # JSON gives booleans, XML the strings "true"/"false".
    return value is True or value == "true"


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_list_is_the_active_leaf_categories(endpoint: Endpoint, fmt: str) -> None:
    services = as_list(_client(endpoint, fmt).get_service_list())
    by_code = {s["service_code"]: s for s in services}
    # "water" has a sub-category, so it is a group, not a service.
    assert sorted(by_code) == ["gas", "noise", "water.leak"]
    leak = by_code["water.leak"]
    assert leak["service_name"] == "水管漏水"
    assert leak["group"] == "供水"
    assert leak["type"] == "realtime"
    assert _flag(leak["metadata"]) is True
    assert _flag(by_code["noise"]["metadata"]) is False
    assert by_code["noise"]["keywords"] == "噪音,施工,夜间"
    assert by_code["noise"]["description"] == "夜间施工、广场舞等噪音"
    assert not by_code["noise"]["group"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition_lists_the_questions_in_order(endpoint: Endpoint, fmt: str) -> None:
    definition = _client(endpoint, fmt).get_service_definition("water.leak")
    assert definition["service_code"] == "water.leak"
    attributes = definition["attributes"]
    if fmt == "xml":
        attributes = as_list(attributes["attribute"])
    assert [a["code"] for a in attributes] == ["INFO", "SIZE", "WHERE", "FLOORS", "SINCE", "NOTE"]
    info, size, where = attributes[0], attributes[1], attributes[2]
    assert _flag(info["variable"]) is False and _flag(info["required"]) is False
    assert _flag(size["variable"]) is True and _flag(size["required"]) is True
    assert size["datatype"] == "singlevaluelist"
    assert size["description"] == "漏水有多大？"
    assert str(size["order"]) == "1"
    assert where["datatype"] == "multivaluelist"
    assert [a["datatype"] for a in attributes[3:]] == ["number", "datetime", "text"]
    values = size["values"] if fmt == "json" else as_list(size["values"]["value"])
    assert values == [
        {"key": "drip", "name": "滴水"},
        {"key": "flow", "name": "流水"},
        {"key": "burst", "name": "爆管"},
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_service_code_is_a_404_in_the_spec_error_format(
    endpoint: Endpoint, fmt: str
) -> None:
    with pytest.raises(requests.HTTPError) as info:
        _client(endpoint, fmt).get_service_definition("no-such-thing")
    response = info.value.response
    assert response.status_code == 404
    if fmt == "json":
        [error] = response.json()
    else:
        import xmltodict

        error = xmltodict.parse(response.content)["errors"]["error"]
    assert str(error["code"]) == "404" and "no-such-thing" in error["description"]


def _history(endpoint: Endpoint) -> dict[str, str]:
    """Three requests: an open water leak posted by an app, a noise case handled to closure,
    and a gas case from 100 days ago. Returns their ids by name."""
    city = endpoint.city
    posted = endpoint.post(params=endpoint.leak())
    assert posted.status_code == 200, posted.text
    leak_id = posted.json()[0]["service_request_id"]

    noise = make_case(city, category=city.noise, text="夜里十二点还在施工")
    actions.dispatch_case(noise, actor=city.user("operator"), unit=city.office_d1)
    actions.accept_case(noise, actor=city.user("handler_d1"))
    actions.resolve_case(noise, actor=city.user("handler_d1"), resolution="已责令停止夜间施工")
    actions.rate_case(noise, actor=None, rating=Rating.SATISFIED)

    [gas] = old_case(city, created=timezone.now() - timedelta(days=100), category=city.gas)
    # The public ids are the cases' numbers, not their tracking codes.
    return {"leak": leak_id, "noise": str(noise.pk), "gas": str(gas.pk)}


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_requests_with_filters(endpoint: Endpoint, fmt: str) -> None:
    ids = _history(endpoint)
    client = _client(endpoint, fmt)

    def found(**filters: str) -> list[str]:
        return [r["service_request_id"] for r in as_list(client.get_service_requests(**filters))]

    # No dates: the last 90 days, newest first.
    assert found() == [ids["noise"], ids["leak"]]
    assert found(service_code="noise") == [ids["noise"]]
    assert found(service_code="noise,water.leak") == [ids["noise"], ids["leak"]]
    assert found(status="closed") == [ids["noise"]]
    assert found(status="open") == [ids["leak"]]
    assert found(status="open,closed") == [ids["noise"], ids["leak"]]
    old = (timezone.now() - timedelta(days=100)).date()
    assert found(
        start_date=f"{old - timedelta(days=1)}T00:00:00Z",
        end_date=f"{old + timedelta(days=1)}T00:00:00Z",
    ) == [ids["gas"]]
    # service_request_id overrides every other filter.
    assert sorted(
        found(service_request_id=f"{ids['gas']},{ids['leak']}", status="closed")
    ) == sorted([ids["gas"], ids["leak"]])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("published", [False, True], ids=["text-off", "text-on"])
def test_one_service_request(endpoint: Endpoint, fmt: str, published: bool, settings: Any) -> None:
    settings.URBANGOV = {**settings.URBANGOV, "OPEN311_PUBLISH_TEXT": published}
    ids = _history(endpoint)
    client = _client(endpoint, fmt)
    noise = client.get_service_request(ids["noise"])
    assert noise["service_request_id"] == ids["noise"]
    assert noise["status"] == "closed"
    if published:
        assert noise["status_notes"] == "已责令停止夜间施工"
        assert noise["description"] == "夜里十二点还在施工"
    else:
        # The status in words (Simplified Chinese, the default language); no free text.
        assert noise["status_notes"] == "已关闭"
        assert not noise["description"]
    assert noise["service_code"] == "noise" and noise["service_name"] == "噪音扰民"
    assert noise["agency_responsible"] == "东区一街道办"
    lat, lon = endpoint.city.p_d1
    assert float(noise["lat"]) == lat and float(noise["long"]) == lon
    assert noise["requested_datetime"].endswith("+08:00")
    leak = client.get_service_request(ids["leak"])
    assert leak["status"] == "open" and leak["service_code"] == "water.leak"
    assert "24" in leak["service_notice"]
    with pytest.raises(requests.HTTPError) as info:
        client.get_service_request("ZZZZZ-ZZZZZ")
    assert info.value.response.status_code == 404
    # A tracking code is no public id: it finds nothing.
    from urbangov.cases.models import Case

    code = Case.objects.get(pk=int(ids["noise"])).tracking_code
    with pytest.raises(requests.HTTPError) as info:
        client.get_service_request(code)
    assert info.value.response.status_code == 404


def test_status_of_a_request_follows_the_case(endpoint: Endpoint, settings: Any) -> None:
    settings.URBANGOV = {**settings.URBANGOV, "OPEN311_PUBLISH_TEXT": True}
    ids = _history(endpoint)
    client = _client(endpoint, "json")
    from urbangov.cases.models import Case

    leak = Case.objects.get(pk=int(ids["leak"]))
    assert leak.status == Status.AWAITING_DISPATCH
    actions.reject_case(leak, actor=endpoint.city.user("operator"), reason="属于物业管理范围")
    after = client.get_service_request(ids["leak"])
    assert after["status"] == "closed" and after["status_notes"] == "属于物业管理范围"
