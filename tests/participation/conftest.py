"""Residents and a topic for the deliberation hall's tests, made through the real actions."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache

from tests.conftest import PASSWORD, City
from urbangov.participation import actions
from urbangov.participation.models import Resident, Topic

_phones = itertools.count(13900000001)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    # Rate-limit counters and cached analyses live in the cache, which outlives a database.
    cache.clear()


def make_resident(username: str, *, verified: bool = True, phone: str | None = None) -> Resident:
    resident = actions.register_resident(
        actor=None,
        username=username,
        password=PASSWORD,
        display_name=f"居民{username}",
        phone=phone or str(next(_phones)),
    )
    if verified:
        code = actions.send_verification_code(actor=resident.user, resident=resident)
        actions.verify_phone(actor=resident.user, resident=resident, code=code)
        resident.refresh_from_db()
    return resident


@pytest.fixture
def residents(city: City) -> Callable[..., Resident]:
    return make_resident


@pytest.fixture
def topic(city: City) -> Topic:
    return actions.open_topic(
        actor=city.user("handler_d1"),
        title="东区一社区口袋公园改造",
        summary="社区空地改造成口袋公园，还是停车位？",
        area=city.d1,
        unit=city.office_d1,
    )


def move(topic: Topic, city: City, *phases: str) -> Topic:
    for phase in phases:
        actions.change_phase(actor=city.user("handler_d1"), topic=topic, to_phase=phase)
    return topic


def api_key(user: Any) -> str:
    from urbangov.org.actions import create_api_token

    return create_api_token(actor=None, user=user, name="test")[1]
