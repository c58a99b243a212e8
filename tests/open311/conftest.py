"""An Open311 endpoint on a live server over the shared test city, with one API key and
questions on the water-leak service."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
import requests

from tests.conftest import City
from urbangov.cases.actions import HistoricCase, HistoricEvent, load_history
from urbangov.cases.models import Case, Channel, Status
from urbangov.open311.actions import create_api_key
from urbangov.org.models import Category

# The service definition of water.leak, as a city would enter it in the admin.
LEAK_ATTRIBUTES: list[dict[str, Any]] = [
    {
        "code": "SIZE",
        "datatype": "singlevaluelist",
        "required": True,
        "description": "漏水有多大？",
        "description_en": "How big is the leak?",
        "order": 1,
        "values": [
            {"key": "drip", "name": "滴水", "name_en": "Dripping"},
            {"key": "flow", "name": "流水", "name_en": "Flowing"},
            {"key": "burst", "name": "爆管", "name_en": "Burst pipe"},
        ],
    },
    {
        "code": "WHERE",
        "datatype": "multivaluelist",
        "required": False,
        "description": "漏在哪里？",
        "order": 2,
        "values": [
            {"key": "road", "name": "路面"},
            {"key": "wall", "name": "墙面"},
            {"key": "meter", "name": "水表"},
        ],
    },
    {
        "code": "FLOORS",
        "datatype": "number",
        "required": False,
        "description": "影响几层楼？",
        "order": 3,
    },
    {
        "code": "SINCE",
        "datatype": "datetime",
        "required": False,
        "description": "从何时开始？",
        "order": 4,
    },
    {"code": "NOTE", "datatype": "text", "required": False, "description": "补充说明", "order": 5},
    # Information only: shown to the resident, nothing asked.
    {
        "code": "INFO",
        "variable": False,
        "datatype": "string",
        "order": 0,
        "description": "燃气泄漏请直接拨打 119",
    },
]


# Error descriptions are checked in English; the default language (Simplified Chinese) is
# what the service names are checked in.
ENGLISH = {"Accept-Language": "en"}


@pytest.fixture(autouse=True)
def _english_in_process() -> Iterable[None]:
    from django.utils import translation

    with translation.override("en"):
        yield


def as_list(value: Any) -> list[Any]:
    """xmltodict gives a dict for one repeated element and a list for several."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@dataclass
class Endpoint:
    city: City
    root: str
    key: str

    def url(self, path: str) -> str:
        return f"{self.root}/{path}"

    def post(
        self, fmt: str = "json", params: Iterable[tuple[str, str]] | None = None, **kw: Any
    ) -> requests.Response:
        kw["headers"] = {**ENGLISH, **kw.get("headers", {})}
        return requests.post(self.url(f"requests.{fmt}"), data=list(params or []), timeout=30, **kw)

    def leak(self, **extra: str) -> list[tuple[str, str]]:
        """A valid water-leak request at a point in district D1."""
        lat, lon = self.city.p_d1
        params = {
            "api_key": self.key,
            "service_code": "water.leak",
            "lat": str(lat),
            "long": str(lon),
            "description": "小区门口水管漏水，路面都是水",
            "attribute[SIZE]": "flow",
            **extra,
        }
        return [(k, v) for k, v in params.items() if v is not None]


@pytest.fixture
def endpoint(city: City, live_server: Any) -> Endpoint:
    Category.objects.filter(pk=city.water_leak.pk).update(attributes=LEAK_ATTRIBUTES)
    Category.objects.filter(pk=city.noise.pk).update(
        description="夜间施工、广场舞等噪音", keywords="噪音,施工,夜间"
    )
    _, raw = create_api_key(actor=None, name="street-app")
    return Endpoint(city=city, root=f"{live_server.url}/open311/v2", key=raw)


def old_case(
    city: City,
    *,
    created: datetime,
    category: Category,
    status: str = Status.CLOSED,
    n: int = 1,
    text: str = "旧诉求",
) -> list[Case]:
    """Cases whose history happened before, loaded through the real bulk action."""
    lat, lon = city.p_d2
    batch = secrets.token_hex(6)
    items = [
        HistoricCase(
            case=Case(
                channel=Channel.PHONE,
                title=text,
                text=text,
                category=category,
                reported_category=category,
                status=status,
                lat=lat,
                lon=lon,
                created_at=created,
                updated_at=created,
                source="test",
                external_id=f"{batch}-{i}",
                contact_phone="13900139000",
                contact_name="李四",
            ),
            events=[HistoricEvent(at=created, kind="submit", from_status="", to_status=status)],
        )
        for i in range(n)
    ]
    load_history(items, actor=None, source="test")
    codes = [item.case.external_id for item in items]
    return list(
        Case.objects.filter(source="test", external_id__in=codes).order_by("-created_at", "-id")
    )
