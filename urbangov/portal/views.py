from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from urbangov.portal.middleware import ELDER_COOKIE


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html")


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return "/"
    return target


@require_http_methods(["GET", "POST"])
def elder_mode(request: HttpRequest) -> HttpResponse:
    """Switch the elder-friendly mode (large text, high contrast, one step per page)."""
    on = (request.POST.get("on") or request.GET.get("on")) == "1"
    response = HttpResponseRedirect(_safe_next(request))
    response.set_cookie(
        ELDER_COOKIE, "1" if on else "0", max_age=365 * 24 * 3600, samesite="Lax", httponly=True
    )
    return response
