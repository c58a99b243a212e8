"""GeoReport v2 endpoints (http://wiki.open311.org/GeoReport_v2) under /open311/v2/.

Every endpoint answers in the format its extension names (``.json`` or ``.xml``); errors
come as the spec's list of ``{code, description}`` with the same HTTP status. Reads are
public, as the spec intends; creating a request needs an API key (``urbangov open311
create-key NAME``). ``jurisdiction_id`` is optional: when the city sets
``URBANGOV_OPEN311_JURISDICTION_ID`` a different value is refused with 404, otherwise any
value is accepted and ignored (the endpoint serves one jurisdiction).

A request's ``service_request_id`` is public and grants nothing (the case's number). The
case's tracking code, with which the resident follows, rates and reopens it, is a secret of
the resident's: only the application that posted the request hears it, in the POST answer —
in an extra ``tracking_code`` field and at the end of ``service_notice`` — so that it can hand
it to the resident it acts for. No GET answer ever carries it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, ValidationError
from django.core.validators import URLValidator, validate_email
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from urbangov.cases.actions import Submission, Upload
from urbangov.cases.models import Channel
from urbangov.cases.uploads import declared_too_large, read_uploads
from urbangov.open311 import actions, catalogue, queries, render
from urbangov.open311.models import ServiceRequest

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this implementation of the API last changed (the discovery document's changeset).
CHANGESET = "2026-11-28T00:00:00Z"
ID_MAX = 100
IDEMPOTENCY_KEY_MAX = 80
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

View = Callable[..., HttpResponse]


class Open311Error(Exception):
    """Refuse the request with ``status`` and one spec error per message."""

    def __init__(self, status: int, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.status = status
        self.messages = messages


def _language() -> str:
    return get_language() or settings.LANGUAGE_CODE


def _check_jurisdiction(request: HttpRequest, posted: str = "") -> None:
    served = str(settings.URBANGOV.get("OPEN311_JURISDICTION_ID") or "")
    given = posted or request.GET.get("jurisdiction_id")
    if served and given and given != served:
        raise Open311Error(
            404,
            _("Unknown jurisdiction_id %(given)r; this endpoint serves %(served)r.")
            % {"given": given[:60], "served": served},
        )


def _check_characters(request: HttpRequest, kwargs: dict[str, Any]) -> None:
    for name, value in [*request.GET.lists(), *kwargs.items()]:
        values = value if isinstance(value, list) else [value]
        if any(_CONTROL.search(str(v)) for v in values) or _CONTROL.search(str(name)):
            raise Open311Error(
                400, _("%(name)s: control characters are not allowed.") % {"name": str(name)[:40]}
            )


def endpoint(*methods: str) -> Callable[[View], View]:
    """Format, method and jurisdiction checks, and spec errors, around one endpoint."""
    allowed = tuple(dict.fromkeys((*methods, "HEAD") if "GET" in methods else methods))

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            fmt = fmt.lower()
            if fmt not in render.CONTENT_TYPES:
                return render.errors(
                    "json",
                    404,
                    [_("Unknown format %(fmt)r: ask for .json or .xml.") % {"fmt": fmt[:20]}],
                )
            if request.method not in allowed:
                response = render.errors(
                    fmt,
                    405,
                    [
                        _("%(method)s is not allowed here; use %(allowed)s.")
                        % {"method": request.method, "allowed": ", ".join(allowed)}
                    ],
                )
                response["Allow"] = ", ".join(allowed)
                return response
            try:
                _check_characters(request, kwargs)
                _check_jurisdiction(request)
                response = view(request, fmt, **kwargs)
            except Open311Error as exc:
                response = render.errors(fmt, exc.status, exc.messages)
            if request.method in ("GET", "HEAD"):
                # Public data: browsers' apps may read it from any origin.
                response["Access-Control-Allow-Origin"] = "*"
            return response

        if "POST" not in methods:
            # Read-only: every other method is refused with 405 before anything is read, so
            # there is nothing for CSRF to protect, and a stray POST gets the spec's error.
            return csrf_exempt(wrapper)
        return wrapper

    return decorate


@csrf_exempt  # answers every method with a 404 and changes nothing
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return render.errors(
        "json",
        404,
        [
            _("No such Open311 endpoint: %(path)r. See discovery.json for what this server offers.")
            % {"path": rest[:100]}
        ],
    )


# --- discovery and services ----------------------------------------------------------------


@endpoint("GET")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    services_url = request.build_absolute_uri(reverse("open311:services", kwargs={"fmt": "json"}))
    city = settings.URBANGOV["CITY_NAME"]
    data = {
        "changeset": CHANGESET,
        "contact": str(
            settings.URBANGOV.get("OPEN311_CONTACT")
            or _("Questions about this API: the %(city)s 12345 service centre.") % {"city": city}
        ),
        "key_service": str(
            settings.URBANGOV.get("OPEN311_KEY_SERVICE")
            or _("To post requests, ask the %(city)s urbangov administrators for an API key.")
            % {"city": city}
        ),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": services_url.rsplit("/", 1)[0],
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render.render(fmt, "discovery", data)


@endpoint("GET")
def services(request: HttpRequest, fmt: str) -> HttpResponse:
    language = _language()
    data = [catalogue.service_entry(c, language) for c in catalogue.active_services()]
    return render.render(fmt, "services", data)


@endpoint("GET")
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    category = catalogue.service(code)
    if category is None:
        raise Open311Error(
            404,
            _("No service with service_code %(code)r; see services.%(fmt)s.")
            % {"code": code[:60], "fmt": fmt},
        )
    return render.render(fmt, "service_definition", catalogue.definition(category, _language()))


# --- requests ----------------------------------------------------------------------------


@csrf_exempt  # an API for applications, authenticated by api_key, not by a session cookie
@endpoint("GET", "POST")
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _create(request, fmt)
    try:
        filters = queries.parse_filters(request.GET.dict())
    except ValueError as exc:
        raise Open311Error(400, str(exc)) from None
    language = _language()
    notice = queries.notices()
    data = [queries.as_request(c, language, notice) for c in queries.search(filters)]
    return render.render(fmt, "service_requests", data)


@endpoint("GET")
def request_detail(request: HttpRequest, fmt: str, request_id: str) -> HttpResponse:
    case = queries.by_id(request_id)
    if case is None:
        raise Open311Error(404, _("No service request %(id)r.") % {"id": request_id[:40]})
    data = [queries.as_request(case, _language(), queries.notices())]
    return render.render(fmt, "service_requests", data)


@endpoint("GET")
def token(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    found = ServiceRequest.objects.only("token", "case_id").filter(token=token).first()
    if found is None:
        raise Open311Error(
            404, _("No service request with token %(token)r.") % {"token": token[:40]}
        )
    data = [{"service_request_id": str(found.case_id), "token": found.token}]
    return render.render(fmt, "service_requests", data)


# --- POST requests -------------------------------------------------------------------------

Params = dict[str, list[str]]


def _scalar(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise Open311Error(
        400,
        _("%(name)s: give a single value, not %(type)s.")
        % {"name": name, "type": type(value).__name__},
    )


def _from_json(body: bytes) -> tuple[Params, dict[str, list[str]]]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Open311Error(
            400, _("The body is not valid JSON: %(error)s") % {"error": exc}
        ) from None
    if not isinstance(data, dict):
        raise Open311Error(400, _("The JSON body must be an object of parameters."))
    params: Params = {}
    answers: dict[str, list[str]] = {}
    for name, value in data.items():
        if name == "attribute":
            if not isinstance(value, dict):
                raise Open311Error(
                    400, _("attribute: give an object of question codes and answers.")
                )
            for code, answer in value.items():
                items = answer if isinstance(answer, list) else [answer]
                answers[str(code)] = [_scalar(a, f"attribute[{code}]") for a in items]
        elif match := _ATTRIBUTE.match(name):
            items = value if isinstance(value, list) else [value]
            answers.setdefault(match.group(1), []).extend(_scalar(a, name) for a in items)
        else:
            params[name] = [_scalar(value, name)]
    return params, answers


def _read_body(request: HttpRequest) -> tuple[Params, dict[str, list[str]], list[Upload]]:
    """The posted parameters, the attribute answers and any uploaded media."""
    if declared_too_large(request):
        # Refused by its declared length, before any of it is read.
        raise Open311Error(413, _("The request body is too large."))
    content_type = (request.content_type or "").lower()
    try:
        if content_type == "application/json":
            from_json, json_answers = _from_json(request.body)
            return from_json, json_answers, []
        if content_type not in ("", "application/x-www-form-urlencoded", "multipart/form-data"):
            raise Open311Error(
                400,
                _(
                    "Send the parameters as form data (application/x-www-form-urlencoded or "
                    "multipart/form-data) or as a JSON object, not %(type)s."
                )
                % {"type": content_type[:60]},
            )
        form = request.POST
        limit = settings.URBANGOV["ATTACHMENT_MAX_BYTES"]
        files = request.FILES.getlist("media")
        for upload in files:
            if upload.size is not None and upload.size > limit:
                raise Open311Error(
                    400,
                    _("media: %(name)s is larger than %(mb)d MB.")
                    % {"name": upload.name, "mb": limit // (1024 * 1024)},
                )
        try:
            # Counted before any is read; each read at most one byte past the cap.
            uploads = read_uploads(files)
        except ValidationError as exc:
            raise Open311Error(400, *_messages(exc)) from None
    except (MultiPartParserError, RequestDataTooBig, TooManyFieldsSent) as exc:
        raise Open311Error(
            400, _("The form data cannot be read: %(error)s") % {"error": exc}
        ) from None
    params: Params = {}
    answers: dict[str, list[str]] = {}
    for name, values in form.lists():
        if match := _ATTRIBUTE.match(name):
            answers.setdefault(match.group(1), []).extend(values)
        elif name.startswith("attribute"):
            raise Open311Error(
                400, _("%(name)s: write answers as attribute[CODE]=value.") % {"name": name[:60]}
            )
        else:
            params[name] = values
    return params, answers, uploads


def _one(params: Params, name: str, problems: list[str]) -> str:
    values = list(dict.fromkeys(v.strip() for v in params.get(name, [])))
    if len(values) > 1:
        problems.append(
            _("%(name)s: give one value, not %(n)d.") % {"name": name, "n": len(values)}
        )
    return values[0] if values else ""


def _full_name(first: str, last: str) -> str:
    if first and last:
        # Chinese names are written family name first, without a space.
        if _CJK.search(first) and _CJK.search(last):
            return last + first
        return f"{first} {last}"
    return first or last


# submit_case's field names, as the parameters a GeoReport client sent them.
_PARAM_OF = {
    "text": "description",
    "title": "description",
    "address": "address_string",
    "location": "lat/long",
    "contact_phone": "phone",
    "contact_name": "first_name/last_name",
    "attachments": "media",
    "category": "service_code",
    "idempotency_key": "Idempotency-Key",
}


def _create(request: HttpRequest, fmt: str) -> HttpResponse:
    params, answers, uploads = _read_body(request)
    for name, values in [*params.items(), *answers.items()]:
        if _CONTROL.search(name) or any(_CONTROL.search(v) for v in values):
            raise Open311Error(
                400, _("%(name)s: control characters are not allowed.") % {"name": name[:40]}
            )
    problems: list[str] = []
    _check_jurisdiction(request, _one(params, "jurisdiction_id", problems))
    raw_key = _one(params, "api_key", problems) or request.GET.get("api_key", "").strip()
    if not raw_key:
        raise Open311Error(403, _("api_key was not provided -- can't proceed with create_request."))
    key = actions.key_for(raw_key)
    if key is None:
        raise Open311Error(403, _("Invalid api_key received -- can't proceed with create_request."))

    code = _one(params, "service_code", problems)
    if not code:
        raise Open311Error(400, _("service_code was not provided."))
    category = catalogue.service(code)
    if category is None:
        raise Open311Error(
            400,
            _("service_code %(code)r is not a service of this city; see services.%(fmt)s.")
            % {"code": code[:60], "fmt": fmt},
        )

    lat_text, lon_text = _one(params, "lat", problems), _one(params, "long", problems)
    address = _one(params, "address_string", problems)
    address_id = _one(params, "address_id", problems)
    lat = lon = None
    if bool(lat_text) != bool(lon_text):
        problems.append(_("lat/long: give both latitude and longitude, or neither."))
    elif lat_text:
        try:
            lat, lon = float(lat_text), float(lon_text)
        except ValueError:
            problems.append(
                _("lat/long: %(lat)r, %(long)r are not numbers.")
                % {"lat": lat_text[:30], "long": lon_text[:30]}
            )
    if not (lat_text or lon_text or address or address_id):
        problems.append(_("Give a location: lat and long, or address_string, or address_id."))

    email = _one(params, "email", problems)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            problems.append(_("email: %(value)r is not an e-mail address.") % {"value": email[:60]})
    media_url = _one(params, "media_url", problems)
    if media_url:
        try:
            URLValidator(schemes=["http", "https"])(media_url)
            if len(media_url) > 1000:
                raise ValidationError("too long")
        except ValidationError:
            problems.append(_("media_url: give an http(s) URL of at most 1000 characters."))
    ids = {name: _one(params, name, problems) for name in ("device_id", "account_id")}
    for name, value in [*ids.items(), ("address_id", address_id)]:
        if len(value) > ID_MAX:
            problems.append(
                _("%(name)s: at most %(max)d characters.") % {"name": name, "max": ID_MAX}
            )
    idempotency = request.headers.get("Idempotency-Key", "").strip()
    if len(idempotency) > IDEMPOTENCY_KEY_MAX:
        problems.append(
            _("Idempotency-Key: at most %(max)d characters.") % {"max": IDEMPOTENCY_KEY_MAX}
        )
    try:
        attributes = catalogue.check_answers(category, answers)
    except ValidationError as exc:
        problems.extend(exc.messages)
        attributes = {}
    description = _one(params, "description", problems)
    name = _full_name(_one(params, "first_name", problems), _one(params, "last_name", problems))
    phone = _one(params, "phone", problems)
    if problems:
        raise Open311Error(400, *problems)

    submission = Submission(
        channel=Channel.APP,
        title="",
        # Open311 makes the description optional; a case needs a text, so the service names it.
        text=description or category.name,
        reported_category=category,
        lat=lat,
        lon=lon,
        address=address,
        contact_name=name,
        contact_phone=phone,
        attributes=attributes,
        attachments=uploads,
        idempotency_key=f"open311:{key.pk}:{idempotency}" if idempotency else None,
    )
    extras = actions.Extras(
        email=email,
        device_id=ids["device_id"],
        account_id=ids["account_id"],
        address_id=address_id,
        media_url=media_url,
    )
    try:
        created, _new = actions.submit_request(key=key, submission=submission, extras=extras)
    except ValidationError as exc:
        raise Open311Error(400, *_messages(exc)) from None
    code = created.case.tracking_code
    data = [
        {
            "service_request_id": queries.public_id(created.case),
            "token": created.token,
            # The application acts for the resident: it alone hears the tracking code.
            "service_notice": f"{catalogue.notice(category)} {_('Your tracking code is')} {code}",
            "account_id": ids["account_id"] or None,
            "tracking_code": code,
        }
    ]
    return render.render(fmt, "service_requests", data)


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [
            f"{_PARAM_OF.get(field, field)}: {message}"
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    return list(exc.messages)
