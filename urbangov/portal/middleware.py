"""Per-visitor display preferences, kept in cookies so they work without an account or JS."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

ELDER_COOKIE = "ug_elder"


def preferences_middleware(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        request.elder_mode = request.COOKIES.get(ELDER_COOKIE) == "1"  # type: ignore[attr-defined]
        return get_response(request)

    return middleware
