"""The REST API (django-ninja) under /api/v1/: each app contributes its router."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from urbangov.cases.actions import TransitionError
from urbangov.cases.api import router as cases_router
from urbangov.dispatch.api import router as dispatch_router
from urbangov.org.api import router as org_router
from urbangov.participation.api import router as participation_router
from urbangov.supervision.api import router as supervision_router

logger = logging.getLogger("urbangov.api")

ERRORS_DOC = """Every error answers JSON of one shape, `{"detail": "<what is wrong>", "errors":
{field: [messages]}}` (`errors` only where fields are at fault):

- 400: the body cannot be read (not JSON, broken multipart), or values are well-formed but
  not acceptable (an unknown code, a point outside the city, a file that is not a photo);
- 401: no or a wrong credential; 403: authenticated but not allowed;
- 404: no such object, or not one the caller may see (the same answer for both);
- 409: the object's current state does not allow the request (a transition from the wrong
  status); 413: the body is too large; 415: an unsupported content type;
- 422: the body or query does not match the schema (types, required fields);
- 429: too many requests from this client.
"""


class UnsupportedMediaType(ValueError):
    """A body sent as something other than JSON to an endpoint that reads JSON."""


def is_json(content_type: str) -> bool:
    # Only JSON's own types. text/plain or no type at all is what another site's page can
    # make its visitors' browsers POST without a CORS preflight; reading those as JSON would
    # let it create cases from their browsers.
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


class JsonParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        if not is_json(request.content_type or ""):
            raise UnsupportedMediaType(request.content_type)
        return super().parse_body(request)


api = NinjaAPI(
    title="urbangov API",
    version="1",
    description=(
        "Residents' requests, categories and the city's organisation. Staff and integrations "
        "authenticate with `Authorization: Bearer <token>` (issued with `urbangov api-token "
        "create USERNAME NAME`); the staff pages use their session (with CSRF). Residents may "
        "create cases and follow them by tracking code without authentication (rate-limited).\n\n"
        + ERRORS_DOC
    ),
    urls_namespace="api",
    parser=JsonParser(),
)
api.add_router("/", cases_router)
api.add_router("/", dispatch_router)
api.add_router("/", org_router)
api.add_router("/", participation_router)
api.add_router("/", supervision_router)


def error_response(
    request: HttpRequest, status: int, detail: str, errors: dict[str, list[str]] | None = None
) -> HttpResponse:
    body: dict[str, Any] = {"detail": detail}
    if errors:
        body["errors"] = errors
    return api.create_response(request, body, status=status)


def _body_error(exc: BaseException | None) -> str | None:
    """A reader's explanation of why the body could not be parsed, or None."""
    if isinstance(exc, json.JSONDecodeError):
        return _(
            "The request body is not valid JSON: %(error)s at line %(line)d, column %(column)d."
        ) % {"error": exc.msg, "line": exc.lineno, "column": exc.colno}
    if isinstance(exc, UnicodeDecodeError):
        return _("The request body is not valid UTF-8 text.")
    return None


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, UnsupportedMediaType):
        return error_response(
            request,
            415,
            _("Send the body as application/json, not %(type)s.")
            % {"type": str(exc.__cause__) or "(none)"},
        )
    response = error_response(request, exc.status_code, _body_error(exc.__cause__) or str(exc))
    for name, value in getattr(exc, "headers", {}).items():
        response[name] = value
    return response


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    detail = (
        str(exc)
        if str(exc) != "Unauthorized"
        else _("Authentication required: send 'Authorization: Bearer <token>', or sign in.")
    )
    response = error_response(request, 401, detail)
    response["WWW-Authenticate"] = 'Bearer realm="urbangov"'
    return response


def field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    """'title' from ninja's ('body', 'payload', 'title'); 'limit' from ('query', 'limit')."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "form", "file", "query", "path", "header", "cookie"}:
        source = parts.pop(0)
        if source == "body" and len(parts) > 1:
            parts.pop(0)  # the name of the operation's body parameter
    return ".".join(parts) or "body"


@api.exception_handler(NinjaValidationError)
def _schema_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        errors.setdefault(field_name(error.get("loc", ())), []).append(str(error.get("msg", "")))
    summary = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in errors.items())
    return error_response(
        request,
        422,
        _("The request does not match the schema: %(errors)s") % {"errors": summary},
        errors,
    )


@api.exception_handler(DjangoValidationError)
def _invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        errors = {name: [str(m) for m in msgs] for name, msgs in exc.message_dict.items()}
        summary = " ".join(m for msgs in errors.values() for m in msgs)
        return error_response(request, 400, summary, errors)
    return error_response(request, 400, " ".join(str(m) for m in exc.messages))


@api.exception_handler(TransitionError)
def _wrong_state(request: HttpRequest, exc: TransitionError) -> HttpResponse:
    return error_response(request, 409, str(exc))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, _("Not found."))


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return error_response(request, 413, _("The request body is too large."))


@api.exception_handler(MultiPartParserError)
def _bad_multipart(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    return error_response(
        request, 400, _("The multipart form data could not be read: %(error)s") % {"error": exc}
    )


@api.exception_handler(SuspiciousOperation)
def _suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    logger.warning("refused a suspicious request to %s: %s", request.path, exc)
    return error_response(request, 400, _("The request was refused: %(error)s") % {"error": exc})
