from __future__ import annotations

import pytest
from django.test import RequestFactory

from tests.conftest import RateClock
from urbangov.privacy.ratelimit import client_ip, hit, parse_rate


def test_parse_rate() -> None:
    assert parse_rate("20/m") == (20, 60)
    assert parse_rate("1000/h") == (1000, 3600)
    assert parse_rate("5/10s") == (5, 10)
    with pytest.raises(ValueError):
        parse_rate("lots")


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(settings) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
    settings.URBANGOV = {**settings.URBANGOV, "TRUSTED_PROXIES": 0}
    assert client_ip(request) == "10.0.0.1"
    # Behind one proxy of our own: the client forged "6.6.6.6", the proxy appended the real one.
    settings.URBANGOV = {**settings.URBANGOV, "TRUSTED_PROXIES": 1}
    forged = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4"
    )
    assert client_ip(forged) == "1.2.3.4"


def test_hit_counts_within_the_window(rate_clock: RateClock) -> None:
    results = [hit("test", "client-a", "3/h") for _ in range(5)]
    assert results == [True, True, True, False, False]
    assert hit("test", "client-b", "3/h") is True
    assert all(hit("test", "client-c", "0/m") for _ in range(10))


def test_the_next_window_starts_a_new_count(rate_clock: RateClock) -> None:
    # Fixed windows of an hour from the pinned midnight: 59 minutes on is the same window,
    # 60 minutes on the next one.
    assert [hit("test", "client-d", "2/h") for _ in range(3)] == [True, True, False]
    rate_clock.advance(59 * 60)
    assert hit("test", "client-d", "2/h") is False
    rate_clock.advance(60)
    assert [hit("test", "client-d", "2/h") for _ in range(3)] == [True, True, False]


def test_ipv6_clients_are_counted_by_their_64(rate_clock) -> None:
    from urbangov.privacy.ratelimit import client_key

    assert client_key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert client_key("::ffff:10.0.0.7") == "10.0.0.7"
    assert client_key("10.0.0.7") == "10.0.0.7"
    # Rotating through one /64 does not buy more hits.
    results = [hit("v6", f"2001:db8:1:2::{i:x}", "3/h") for i in range(1, 6)]
    assert results == [True, True, True, False, False]
    assert hit("v6", "2001:db8:1:3::1", "3/h") is True
