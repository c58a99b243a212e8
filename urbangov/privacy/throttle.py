"""Sign-in throttling for the staff sign-in, the admin's and the second-factor page.

Failed attempts are counted per account and client address (``URBANGOV_LOGIN_RATE``,
5 per 15 minutes) and per client address over all accounts (``URBANGOV_LOGIN_IP_RATE``);
once either is used up, the next attempt is refused with 429 before the password is even
checked, until the window closes. Successful sign-ins are not counted. When a limit is first
reached, an event goes on the audit log (not every failure: an attacker would flood it).

Per account *and* address, so that someone guessing one staff member's password from one
place is stopped without letting anyone lock that staff member out from elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _

from urbangov.privacy import ratelimit
from urbangov.privacy.actions import record

View = Callable[..., HttpResponseBase]


def _keys(request: HttpRequest, username: str) -> tuple[str, str]:
    address = ratelimit.client_key(ratelimit.client_ip(request))
    return f"{username.strip().lower()[:150]}|{address}", address


def _limits() -> tuple[str, str]:
    return settings.URBANGOV["LOGIN_RATE"], settings.URBANGOV["LOGIN_IP_RATE"]


def blocked(request: HttpRequest, username: str, scope: str = "login") -> int:
    """Seconds to wait before another attempt is allowed; 0 when one is allowed now."""
    account_rate, address_rate = _limits()
    account, address = _keys(request, username)
    if not ratelimit.peek(f"{scope}.account", account, account_rate):
        return ratelimit.wait_seconds(account_rate)
    if not ratelimit.peek(f"{scope}.address", address, address_rate):
        return ratelimit.wait_seconds(address_rate)
    return 0


def count_failure(request: HttpRequest, username: str, scope: str = "login") -> None:
    account_rate, address_rate = _limits()
    account, address = _keys(request, username)
    within_account = ratelimit.hit(f"{scope}.account", account, account_rate)
    within_address = ratelimit.hit(f"{scope}.address", address, address_rate)
    if (within_account and not ratelimit.peek(f"{scope}.account", account, account_rate)) or (
        within_address and not ratelimit.peek(f"{scope}.address", address, address_rate)
    ):
        # This failure used up a limit: log once that the throttle closed.
        record(
            actor=None,
            action=f"auth.{scope}.throttled",
            label=username.strip()[:150] or "anonymous",
            data={"address": address},
        )


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any
) -> None:
    """``user_login_failed`` receiver: count the failure against the account and address."""
    if isinstance(request, HttpRequest):
        count_failure(request, str(credentials.get("username", "")))


def too_many(request: HttpRequest, wait: int) -> HttpResponse:
    response = render(
        request,
        "privacy/throttled.html",
        {
            "wait": wait,
            "message": _(
                "Too many failed sign-in attempts. For your account's safety, please wait "
                "%(n)d seconds before trying again."
            )
            % {"n": wait},
        },
        status=429,
    )
    response["Retry-After"] = str(wait)
    return response


def throttled(view: View) -> View:
    """Wrap a sign-in view: a POST while the account or address is throttled gets 429."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "POST":
            wait = blocked(request, str(request.POST.get("username", "")))
            if wait:
                return too_many(request, wait)
        return view(request, *args, **kwargs)

    return wrapper
