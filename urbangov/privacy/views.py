"""Pages of the privacy app: the auditors' search of the audit log, agreements and exports,
the public open-data downloads, and staff's second factor (enrolment and verification)."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods
from django_otp import devices_for_user, match_token
from django_otp import login as otp_login
from django_otp.oath import TOTP

from urbangov.privacy import formats, permissions, queries, registry, throttle
from urbangov.privacy.actions import OPEN_DATA_COLUMNS, enrol_second_factor, record
from urbangov.privacy.crypto import keyed_hash

PAGE_SIZE = 50


# --- the auditors' search --------------------------------------------------------------------


class AuditSearchForm(forms.Form):
    actor = forms.CharField(label=gettext_lazy("Who (username)"), required=False, max_length=150)
    action = forms.CharField(
        label=gettext_lazy("Action (or its beginning, e.g. case.)"), required=False, max_length=80
    )
    object_type = forms.CharField(
        label=gettext_lazy("Object type (e.g. cases.case)"), required=False, max_length=80
    )
    object_id = forms.CharField(label=gettext_lazy("Object number"), required=False, max_length=64)
    contact = forms.CharField(
        label=gettext_lazy("Whose data: the resident's phone number"),
        required=False,
        max_length=40,
        help_text=gettext_lazy("Exact number; found by its keyed hash, never stored."),
    )
    purpose = forms.CharField(
        label=gettext_lazy("Why (purpose contains)"), required=False, max_length=200
    )
    since = forms.DateField(label=gettext_lazy("From (date)"), required=False)
    until = forms.DateField(label=gettext_lazy("To (date, inclusive)"), required=False)
    reads_only = forms.BooleanField(
        label=gettext_lazy("Only reads of personal data"), required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            raise forms.ValidationError(_("The end date is before the start date."))
        return data

    def query(self) -> queries.AuditQuery:
        data = self.cleaned_data
        tz = timezone.get_current_timezone()

        def start(day: Any) -> datetime | None:
            return datetime.combine(day, time.min, tzinfo=tz) if day else None

        until = data.get("until")
        return queries.AuditQuery(
            actor=data.get("actor") or "",
            action=data.get("action") or "",
            object_type=data.get("object_type") or "",
            object_id=data.get("object_id") or "",
            purpose=data.get("purpose") or "",
            contact=data.get("contact") or "",
            reads_only=bool(data.get("reads_only")),
            since=start(data.get("since")),
            until=start(until + timedelta(days=1)) if until else None,
        )


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """Search the audit log: who did what — who saw whose data, when, and why."""
    if not permissions.can_read_audit_log(request.user):
        raise Http404
    form = AuditSearchForm(request.GET or None)
    rows: Any = []
    page = None
    searched = bool(request.GET) and form.is_valid()
    if searched:
        query = form.query()
        page = Paginator(queries.search_audit(query), PAGE_SIZE).get_page(request.GET.get("page"))
        # Read before the search itself goes on the log, so that it does not show in itself.
        rows = list(page.object_list)
        filters = {k: v for k, v in form.cleaned_data.items() if v and k != "contact"}
        # The auditors are audited too; a contact searched for is logged as its keyed hash.
        record(
            actor=request.user,
            action="privacy.audit.search",
            data={
                "filters": {k: str(v) for k, v in filters.items()},
                "contact": keyed_hash(query.contact) if query.contact else "",
                "page": page.number,
            },
        )
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "privacy/audit_log.html",
        {
            "form": form,
            "rows": rows,
            "page": page,
            "searched": searched,
            "query": params.urlencode(),
            "head": queries.chain_head(),
        },
    )


@login_required
@require_GET
def sharing(request: HttpRequest) -> HttpResponse:
    """Data-sharing agreements and every export made under them, with its digest."""
    if not (
        permissions.can_read_audit_log(request.user)
        or permissions.can_manage_agreements(request.user)
    ):
        raise Http404
    now = timezone.now()
    agreements = [(a, a.state(now)) for a in queries.agreements()[:200]]
    return render(
        request,
        "privacy/sharing.html",
        {"agreements": agreements, "exports": queries.exports()[:200]},
    )


# --- open data -------------------------------------------------------------------------------


@require_GET
def open_data(request: HttpRequest) -> HttpResponse:
    releases = queries.latest_releases()
    datasets = [(registry.get(name), rows) for name, rows in releases.items() if registry.get(name)]
    return render(
        request,
        "privacy/open_data.html",
        {
            "datasets": datasets,
            "formats": ["csv", "json", "parquet"],
            "k": settings.URBANGOV["OPEN_DATA_K"],
        },
    )


@require_GET
def open_data_file(request: HttpRequest, dataset: str, level: str, fmt: str) -> HttpResponse:
    if fmt not in formats.CONTENT_TYPES:
        raise Http404
    release = queries.latest_release(dataset, level)
    if release is None:
        raise Http404
    content = formats.render(fmt, OPEN_DATA_COLUMNS, release.table)
    response = HttpResponse(content, content_type=formats.CONTENT_TYPES[fmt])
    name = f"{dataset}-{level}-{release.batch}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Access-Control-Allow-Origin"] = "*"
    return response


# --- the second factor -----------------------------------------------------------------------

SETUP_KEY = "otp_setup_key"
DIGITS = 6


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("6-digit code from your authenticator app"),
        min_length=DIGITS,
        max_length=DIGITS + 2,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9 ]*"}
        ),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not code.isdigit() or len(code) != DIGITS:
            raise forms.ValidationError(_("Enter the 6 digits your app shows."))
        return code


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


def _staff(request: HttpRequest) -> None:
    if not permissions.needs_second_factor(request.user):
        raise PermissionDenied(_("Two-factor sign-in is for staff accounts."))


def _qr_data_uri(url: str) -> str:
    return str(segno.make(url, error="m").svg_data_uri(scale=5, border=2))


@login_required
@require_http_methods(["GET", "POST"])
def otp_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: scan the QR code (drawn here, as SVG), enter one code."""
    _staff(request)
    user = request.user
    if any(True for _d in devices_for_user(user, confirmed=True)):
        return render(request, "privacy/otp_done.html", {"next": _next(request)})
    key = request.session.get(SETUP_KEY)
    if not isinstance(key, str) or len(key) != 40:
        key = secrets.token_hex(20)
        request.session[SETUP_KEY] = key
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        wait = throttle.blocked(request, user.get_username(), scope="otp")
        if wait:
            return throttle.too_many(request, wait)
        if form.is_valid() and _totp_matches(key, form.cleaned_data["code"]):
            device = enrol_second_factor(actor=user, key_hex=key)
            del request.session[SETUP_KEY]
            otp_login(request, device)
            messages.success(request, _("Two-factor sign-in is on for your account."))
            return redirect(_next(request))
        if form.is_valid():
            throttle.count_failure(request, user.get_username(), scope="otp")
            form.add_error("code", _("That code is not right; check the time on your phone."))
        status = 400
    secret = base64.b32encode(bytes.fromhex(key)).decode("ascii").rstrip("=")
    issuer = str(settings.OTP_TOTP_ISSUER)
    label = quote(f"{issuer}:{user.get_username()}")
    params = urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": 30}
    )
    url = f"otpauth://totp/{label}?{params}"
    return render(
        request,
        "privacy/otp_setup.html",
        {
            "form": form,
            "qr": _qr_data_uri(url),
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "next": _next(request),
        },
        status=status,
    )


def _totp_matches(key_hex: str, code: str) -> bool:
    """The code is the current one for this key, or the one before or after (clock drift)."""
    totp = TOTP(bytes.fromhex(key_hex), step=30, digits=DIGITS)
    for drift in (-1, 0, 1):
        totp.drift = drift
        if totp.token() == int(code):
            return True
    return False


@login_required
@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    """Sign in with the second factor after the password."""
    _staff(request)
    user = request.user
    if not any(True for _d in devices_for_user(user, confirmed=True)):
        return redirect(f"{reverse('privacy:otp_setup')}?{urlencode({'next': _next(request)})}")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        wait = throttle.blocked(request, user.get_username(), scope="otp")
        if wait:
            return throttle.too_many(request, wait)
        if form.is_valid():
            device = match_token(user, form.cleaned_data["code"])
            if device is not None:
                otp_login(request, device)
                return redirect(_next(request))
            throttle.count_failure(request, user.get_username(), scope="otp")
            form.add_error("code", _("That code is not right; check the time on your phone."))
        status = 400
    return render(
        request, "privacy/otp_verify.html", {"form": form, "next": _next(request)}, status=status
    )
