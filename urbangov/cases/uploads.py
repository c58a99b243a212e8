"""Uploads and request bodies: counted and capped before anything is read.

A case carries at most ``ATTACHMENTS_PER_CASE`` files of at most ``ATTACHMENT_MAX_BYTES``
each. Files are counted before any is read, and each is read only one byte past the cap, so
that :func:`urbangov.cases.actions.submit_case` sees an oversized file as oversized without a
huge one being copied into memory.

A body larger than every file a case may carry plus the form fields
(:func:`request_cap`) is refused by its declared length before it is parsed at all: by
:class:`RequestBodyCap` for the pages, and by the REST and Open311 endpoints themselves (their
views are CSRF-exempt, so nothing reads their body before they do).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from urbangov.cases.actions import Upload

SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


def request_cap() -> int:
    """The largest request body a case submission can need: every file a case may carry,
    plus room for the form fields."""
    limits = settings.URBANGOV
    return int(limits["ATTACHMENTS_PER_CASE"]) * int(limits["ATTACHMENT_MAX_BYTES"]) + int(
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    )


def declared_too_large(request: HttpRequest) -> bool:
    """Whether the body's declared length (Content-Length) is beyond :func:`request_cap`."""
    length = str(request.META.get("CONTENT_LENGTH") or "")
    return length.isascii() and length.isdigit() and int(length) > request_cap()


def photos_help() -> str:
    limits = settings.URBANGOV
    return _("Up to %(n)d photos (JPEG, PNG, GIF, WebP, HEIC) or PDF files, %(mb)d MB each.") % {
        "n": limits["ATTACHMENTS_PER_CASE"],
        "mb": limits["ATTACHMENT_MAX_BYTES"] // 2**20,
    }


def check_count(count: int) -> None:
    """Refuse more files than a case may carry, before any of them is read."""
    most = int(settings.URBANGOV["ATTACHMENTS_PER_CASE"])
    if count > most:
        raise ValidationError(
            {"attachments": [_("At most %(max)d files may be attached.") % {"max": most}]}
        )


def read_uploads(files: Sequence[UploadedFile]) -> list[Upload]:
    """The uploaded files as :class:`Upload`s: counted first (ValidationError on
    ``attachments`` when there are too many, nothing read), then each read at most one byte
    past the size cap."""
    check_count(len(files))
    cap = int(settings.URBANGOV["ATTACHMENT_MAX_BYTES"]) + 1
    uploads = []
    for f in files:
        f.seek(0)
        uploads.append(Upload(name=f.name or "attachment", content=f.read(cap)))
    return uploads


class RequestBodyCap:
    """Answer a page POST whose declared body is too large with a 413 page, unread.

    It must run before ``CsrfViewMiddleware``, whose ``process_view`` reads ``request.POST``
    (and with it every uploaded file, spooled to disk) before any view or view decorator
    runs; so it stands above that middleware and does its check in ``process_view`` too.
    CSRF-exempt views (the REST API, Open311) are left to refuse in their own format.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if request.method in SAFE_METHODS or getattr(view, "csrf_exempt", False):
            return None
        if not declared_too_large(request):
            return None
        return render(request, "cases/too_large.html", {"help": photos_help()}, status=413)
