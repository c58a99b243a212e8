"""Rate limits for public endpoints, counted in the cache (Redis when REDIS_URL is set)."""

from __future__ import annotations

import ipaddress
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'20/m' -> (20, 60). '0/m' switches the limit off."""
    try:
        count, per = rate.split("/")
        return int(count), _UNITS[per.strip()[-1]] * int(per.strip()[:-1] or 1)
    except (ValueError, KeyError):
        raise ValueError(f"a rate looks like '20/m' or '1000/h', not {rate!r}") from None


def client_ip(request: HttpRequest) -> str:
    """The client's address. ``X-Forwarded-For`` is believed only as far as the city says
    proxies of its own stand in front (``URBANGOV_TRUSTED_PROXIES``, a count): each proxy
    appends the address it saw, so the client is that many entries from the right. Anything
    further left was written by the client and could be forged to dodge a limit."""
    remote = str(request.META.get("REMOTE_ADDR", "unknown"))
    proxies = settings.URBANGOV.get("TRUSTED_PROXIES", 0)
    if proxies <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if len(hops) < proxies:
        return hops[0] if hops else remote
    return hops[-proxies]


def _now() -> float:
    return time.time()


def client_key(address: str) -> str:
    """What a limit counts by: the address, or for IPv6 its /64 — one subscriber's network,
    through which one client can rotate freely."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def hit(scope: str, key: str, rate: str) -> bool:
    """Count one hit for ``key`` (an address is counted by :func:`client_key`); True while
    within the rate, False once it is exceeded."""
    limit, window = parse_rate(rate)
    if limit <= 0:
        return True
    key = client_key(key)
    bucket = int(_now() // window)
    name = f"rl:{scope}:{key}:{bucket}"
    cache.add(name, 0, timeout=window + 1)
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.set(name, 1, timeout=window + 1)
        count = 1
    return count <= limit


def peek(scope: str, key: str, rate: str) -> bool:
    """True while ``key`` may still be counted once more within the rate (nothing is counted)."""
    limit, window = parse_rate(rate)
    if limit <= 0:
        return True
    bucket = int(_now() // window)
    count = cache.get(f"rl:{scope}:{client_key(key)}:{bucket}", 0)
    return int(count) < limit


def wait_seconds(rate: str) -> int:
    """Seconds until the current window of ``rate`` closes."""
    _limit, window = parse_rate(rate)
    return window - int(_now()) % window
