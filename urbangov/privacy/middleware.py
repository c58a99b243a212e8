"""Security middleware: the Content-Security-Policy, the second factor for staff, and the rate
limit on anonymous reads of public pages and APIs."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from urbangov.privacy import permissions, ratelimit

Handler = Callable[[HttpRequest], HttpResponse]


def csp_header() -> str:
    """No inline script or style anywhere, no plugins, no framing, no other origins: every
    script, style sheet, image and font comes from our own static files. Images may also be
    ``data:`` URLs (the QR code, charts saved as images) and any source the city adds for map
    tiles (``URBANGOV_CSP_IMG_SRC``)."""
    img = " ".join(["'self'", "data:", "blob:", *settings.URBANGOV["CSP_IMG_SRC"]])
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src {img}",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    if settings.URBANGOV["CSP_REPORT_URI"]:
        directives.append(f"report-uri {settings.URBANGOV['CSP_REPORT_URI']}")
    return "; ".join(directives)


def content_security_policy(get_response: Handler) -> Handler:
    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = csp_header()
        return response

    return middleware


# Paths a signed-in member of staff may reach before the second factor: the pages that ask
# for it, signing out, and what those pages need.
_BEFORE_SECOND_FACTOR = ("/accounts/", "/static/", "/i18n/", "/preferences/")


def second_factor(get_response: Handler) -> Handler:
    """Staff who signed in with a password but not yet with their second factor are sent to
    enrol (no device yet) or to verify; an API call on such a session gets 403. Bearer-token
    API calls are not session sign-ins and are not affected. Off when
    ``URBANGOV_REQUIRE_2FA`` is off."""

    def middleware(request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            not settings.URBANGOV["REQUIRE_2FA"]
            or not user.is_authenticated
            or user.is_verified()  # type: ignore[attr-defined]
            or request.path.startswith(_BEFORE_SECOND_FACTOR)
            or not permissions.needs_second_factor(user)
        ):
            return get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"detail": _("Sign in with your second factor (an authenticator code) first.")},
                status=403,
            )
        from django_otp import devices_for_user

        has_device = any(True for _device in devices_for_user(user, confirmed=True))
        target = reverse("privacy:otp_verify" if has_device else "privacy:otp_setup")
        return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")

    return middleware


# Public reads counted per client address: the tracking page and API (whose codes are secrets
# worth guessing), Open311, open data.
_PUBLIC_READS = ("/cases/track/", "/api/v1/track/", "/open311/", "/open-data/")


def public_read_limit(get_response: Handler) -> Handler:
    def middleware(request: HttpRequest) -> HttpResponse:
        rate = settings.URBANGOV["PUBLIC_READ_RATE"]
        if (
            request.method in ("GET", "HEAD")
            and not request.user.is_authenticated
            and request.path.startswith(_PUBLIC_READS)
            and not ratelimit.hit("public.read", ratelimit.client_ip(request), rate)
        ):
            _limit, window = ratelimit.parse_rate(rate)
            wait = window - int(time.time()) % window
            message = _(
                "Too many requests from your address; please try again in %(n)d seconds."
            ) % {"n": wait}
            response: HttpResponse = JsonResponse({"detail": message}, status=429)
            response["Retry-After"] = str(wait)
            return response
        return get_response(request)

    return middleware
