"""The authorization matrix, writing: every route of the GET matrix (``test_access_matrix``),
asked with the unsafe methods by the same twelve personas against the same two cases.

Pages and the admin site are sent POST; API operations every unsafe method the OpenAPI schema
gives them (POST, PUT, PATCH, DELETE); each once with an empty body and once with a plausible
one. Plausible bodies are not written by hand: page forms are read from the pages themselves
(as the personas who may use them see them), staff transitions from their form's fields, API
bodies from the operation's schema. Parameters name the D1 case (``A``) and the D2 case
(``B``) in turn, as in the GET matrix.

Each request runs in a savepoint that is rolled back after it, so every request meets the same
state. Whether it changed anything is read from the database itself: the SQL it ran is
watched for writes, and where there were any, every row of every table (but the audit log and
the session store, which every visit may touch) is compared with the rows before. A request
fails the test when

- it changed state and the change is not in ``ALLOWED`` below, written out by hand with its
  reason from the personas in ``tests/conftest.py``, not read from the code under test; or it
  touched a row of a case the persona's units do not cover (other than through the case's
  tracking code, the resident's key), whatever ``ALLOWED`` says;
- its answer (error pages and re-rendered forms included) shows raw personal data, or the D2
  case's internal matter to someone whose units do not cover it (as in the GET matrix);
- it answered 5xx.

The deliberation hall's routes are walked a second time with their parameters naming a topic
of the D2 office and what a resident put in it (the first walk names cases there, which are no
topics, so it only meets "not found").

A separate test shows that the client here skipping CSRF is no hole in the real thing: a page
form and an API call sent from a signed-in session without the token are refused 403, and the
same request with the token goes through.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase as fnmatch
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from django import forms
from django.apps import apps
from django.db import connection, transaction
from django.test import Client, TestCase
from django.urls import Resolver404, resolve

from tests.privacy.test_access_matrix import (
    B_NOTE,
    B_PHOTO_MARKER,
    B_TITLE,
    PERSONAS,
    RAW,
    SEES_B,
    Route,
    World,
    _fill,
    all_routes,
    body_text,
    urls_for,
    world,  # noqa: F401 - the GET matrix's fixture, shared
)
from urbangov.api import api
from urbangov.cases.forms import TransitionForm
from urbangov.cases.models import Case
from urbangov.cases.transitions import STAFF_TRANSITIONS
from urbangov.org.models import Membership
from urbangov.privacy.models import AuditEvent

# Personas whose units cover the D1 case: the dispatch centre's roles (whole city), the D1
# street office's handler, and Django's superuser on the admin site.
SEES_A = {"operator", "supervisor", "analyst", "admin", "handler_d1", "superuser"}
COVERS = {"A": SEES_A, "B": SEES_B}

# Route patterns through which a resident acts on their own case by its tracking code: whoever
# holds the code may rate or reopen it, signed in or not, whatever their role.
BY_TRACKING_CODE = {
    "cases/track/<str:code>/rate/",
    "cases/track/<str:code>/reopen/",
    "api/v1/track/<code>/rating",
    "api/v1/track/<code>/reopen",
}

EVERYONE = frozenset(PERSONAS)


@dataclass(frozen=True)
class Allowed:
    personas: frozenset[str]
    method: str
    # The URL, the cases it names spelled {A} and {B}; shell-style wildcards.
    url: str
    why: str
    # A further condition on what changed: a message when it fails.
    check: Callable[[str, list[Change], World], str | None] | None = None


ADMINS = frozenset({"admin", "superuser"})  # administrators act for any unit (is_admin)
INTAKE = frozenset({"operator", "handler", "handler_d1", "outsider", "supervisor"}) | ADMINS
COUNTER = frozenset({"operator", "handler", "handler_d1", "outsider"}) | ADMINS
ORGANISERS = frozenset({"operator", "handler", "handler_d1", "outsider", "supervisor", "analyst"})

# Every state change the walk may see, with the reason it is allowed; a change not listed here
# fails the test. The D1 case (A) has been resolved by the D1 office; the D2 case (B) is
# dispatched to the D2 office and waits there to be accepted.
# Writes of the deliberation hall's staff that both walks meet.
HALL_STAFF: tuple[Allowed, ...] = (
    *(
        Allowed(COUNTER, "POST", url, "counter staff record residents who take part through them")
        for url in ("/participation/counter/", "/api/v1/participation/assisted")
    ),
    Allowed(
        ORGANISERS | ADMINS,
        "POST",
        "/participation/topics/new/",
        "staff organise deliberation for their own unit",
        check=lambda persona, changes, w: _own_unit(persona, changes, w, "participation_topic"),
    ),
)

ALLOWED: tuple[Allowed, ...] = (
    Allowed(EVERYONE, "POST", "/cases/new/", "anyone may submit a request"),
    Allowed(EVERYONE, "POST", "/api/v1/cases", "anyone may submit a request"),
    Allowed(EVERYONE, "POST", "/cases/track/{A}/rate/", "the tracking code is the resident's key"),
    Allowed(
        EVERYONE, "POST", "/api/v1/track/{A}/rating", "the tracking code is the resident's key"
    ),
    Allowed(INTAKE, "POST", "/cases/intake/", "staff enter requests for callers and visitors"),
    *HALL_STAFF,
    # A resolved: whoever oversees it (the dispatch centre's operators and supervisors) closes.
    *(
        Allowed(
            frozenset({"operator", "supervisor"}) | ADMINS, "POST", url, "closing a resolved case"
        )
        for url in ("/cases/{A}/do/close/", "/api/v1/cases/{A}/transitions/close")
    ),
    # B dispatched to the D2 office: its handler accepts it or sends it back.
    *(
        Allowed(frozenset({"outsider"}) | ADMINS, "POST", url, "the D2 office handles B")
        for name in ("accept", "send_back")
        for url in (f"/cases/{{B}}/do/{name}/", f"/api/v1/cases/{{B}}/transitions/{name}")
    ),
    # The dispatch centre's operators merge duplicates (B into A: they see both).
    *(
        Allowed(frozenset({"operator"}) | ADMINS, "POST", url, "operators merge duplicates")
        for url in ("/cases/{B}/do/merge/", "/api/v1/cases/{B}/transitions/merge")
    ),
    # Supervisors escalate (督办) open cases in their areas.
    *(
        Allowed(frozenset({"supervisor"}) | ADMINS, "POST", url, "supervisors escalate")
        for url in ("/supervision/escalate/{B}/", "/api/v1/supervision/cases/{B}/escalate")
    ),
    Allowed(frozenset({"superuser"}), "POST", "/admin/*", "the admin site is the superuser's"),
)


def _own_unit(persona: str, changes: list[Change], w: World, table: str) -> str | None:
    """Rows written to ``table`` belong to one of the persona's own units (administrators:
    any)."""
    if persona in ADMINS:
        return None
    own = set(
        Membership.objects.filter(user=w.city.user(persona)).values_list("unit_id", flat=True)
    )
    for ch in changes:
        if ch.table == table and ch.row.get("unit_id") not in own:
            return f"{ch.kind} in {table} for unit {ch.row.get('unit_id')}, not the persona's"
    return None


# --- watching the database ---------------------------------------------------------------------

_WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+"?(\w+)"?', re.I)


def _unwatched() -> set[str]:
    # The audit log records every request, reads included; sessions change on any visit.
    return {AuditEvent._meta.db_table, "django_session"}


def _tables() -> list[str]:
    names: set[str] = set()
    for model in apps.get_models(include_auto_created=True):
        if not model._meta.managed or model._meta.proxy:
            continue
        names.add(model._meta.db_table)
    return sorted(names - _unwatched())


def _case_columns() -> dict[str, list[str]]:
    """Per table, the columns that point at a case (the case table itself: its id)."""
    out: dict[str, list[str]] = {Case._meta.db_table: [Case._meta.pk.column]}
    for model in apps.get_models(include_auto_created=True):
        for f in model._meta.concrete_fields:
            if f.is_relation and f.related_model is Case:
                out.setdefault(model._meta.db_table, []).append(f.column)
    return out


Rows = dict[str, tuple[list[str], dict[str, tuple[Any, ...]]]]


def snapshot(tables: list[str]) -> Rows:
    state: Rows = {}
    with connection.cursor() as cursor:
        for table in tables:
            # Table names come from the models, not from input.
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            columns = [c[0] for c in cursor.description]
            rows: dict[str, tuple[Any, ...]] = {}
            for row in cursor.fetchall():
                values = tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                key = repr(values[0]) if columns[0] == "id" else repr(values)
                rows[key] = values
            state[table] = (columns, rows)
    return state


@dataclass
class Change:
    table: str
    kind: str  # insert, update, delete
    row: dict[str, Any]


def diff(before: Rows, after: Rows) -> list[Change]:
    out = []
    for table, (columns, rows) in after.items():
        old = before[table][1]
        for key, values in rows.items():
            if key not in old:
                out.append(Change(table, "insert", dict(zip(columns, values, strict=True))))
            elif old[key] != values:
                out.append(Change(table, "update", dict(zip(columns, values, strict=True))))
        for key in old.keys() - rows.keys():
            out.append(Change(table, "delete", dict(zip(columns, old[key], strict=True))))
    return out


@dataclass
class WriteWatch:
    watched: set[str]
    wrote: set[str] = field(default_factory=set)

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, ctx: Any
    ) -> Any:
        m = _WRITE.match(sql)
        if m and m[1] in self.watched:
            self.wrote.add(m[1])
        return execute(sql, params, many, ctx)


# --- plausible bodies --------------------------------------------------------------------------

_NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
_TEXT = "矩阵测试写入内容"
_HINTS: dict[str, Any] = {
    "unit": "D1S1",
    "category": "noise",
    "lat": 31.205,
    "lon": 121.405,
    "long": 121.405,
    "email": "matrix@example.org",
    "stars": 5,
    "rating": "satisfied",
    "score": 5,
    "hours": 24,
    "urgency": "ordinary",
    "service_code": "noise",
}


class FormReader(HTMLParser):
    """The POST forms of a page: their action and the values a browser would send."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._form: tuple[str, dict[str, str]] | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = (
                (a.get("action", ""), {}) if a.get("method", "").lower() == "post" else None
            )
            return
        if self._form is None:
            return
        data = self._form[1]
        name = a.get("name", "")
        if tag == "input" and name and name != "csrfmiddlewaretoken":
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a or name not in data:
                    data[name] = a.get("value", "on")
            elif kind not in ("file", "submit", "button", "image", "reset"):
                data[name] = a.get("value") or _typed(kind, name)
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and a.get("value"):
            if "selected" in a or self._select not in data:
                data[self._select] = a["value"]
        elif tag == "textarea" and name:
            self._textarea = name
            data[name] = _TEXT

    def handle_data(self, text: str) -> None:
        if self._form is not None and self._textarea and text.strip():
            self._form[1][self._textarea] = text.strip()

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _typed(kind: str, name: str) -> str:
    bare = name.rsplit("-", 1)[-1]
    if bare in _HINTS:
        return str(_HINTS[bare])
    if bare.endswith("phone"):
        return "13000000000"
    return {
        "number": "1",
        "email": "matrix@example.org",
        "date": _NOW.date().isoformat(),
        "datetime-local": (_NOW + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        "tel": "13000000000",
        "url": "https://example.org/",
    }.get(kind, _TEXT)


def _clean(data: dict[str, str]) -> dict[str, str]:
    """A body harvested from a page may repeat what the page showed: keep it from carrying a
    case's secrets, so that an answer echoing the body is not mistaken for a leak."""
    secrets = (*RAW, B_NOTE, B_TITLE, B_PHOTO_MARKER, "****")
    return {k: ("x" if any(s in v for s in secrets) else v) for k, v in data.items()}


def form_payload(form: forms.BaseForm) -> dict[str, str]:
    data: dict[str, str] = {}
    for name, f in form.fields.items():
        key = form.add_prefix(name)
        if isinstance(f, forms.ChoiceField):
            choices = [
                str(v)
                for value, label in f.choices  # type: ignore[attr-defined]
                for v, _label in (label if isinstance(label, list | tuple) else [(value, label)])
                if v not in ("", None)
            ]
            if str(_HINTS.get(name)) in choices:
                data[key] = str(_HINTS[name])
            elif choices:
                data[key] = choices[0]
        elif isinstance(f, forms.IntegerField):
            data[key] = str(_HINTS.get(name, 24))
        elif isinstance(f, forms.DateTimeField):
            data[key] = (_NOW + dt.timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
        elif isinstance(f, forms.BooleanField):
            data[key] = "on"
        else:
            data[key] = str(_HINTS.get(name, _TEXT))
    return data


def schema_value(schema: dict[str, Any], components: dict[str, Any], name: str = "") -> Any:
    if "$ref" in schema:
        return schema_value(components[schema["$ref"].rsplit("/", 1)[-1]], components, name)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            if any(s.get("type") == "null" for s in schema[key]):
                # An optional field (a reply's parent, a proposal): left out. A made-up id
                # would name whatever row has it, which depends on what ran before.
                return None
            options = schema[key]
            return schema_value(options[0], components, name) if options else None
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema and schema["default"] not in (None, ""):
        return schema["default"]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: schema_value(v, components, k) for k, v in props.items()}
    if kind == "array":
        return [schema_value(schema.get("items", {}), components, name)]
    if name in _HINTS:
        return _HINTS[name]
    if name.endswith("phone"):
        return "13000000000"
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    fmt = schema.get("format", "")
    if fmt == "date-time":
        return (_NOW + dt.timedelta(days=2)).isoformat()
    if fmt == "date":
        return _NOW.date().isoformat()
    if fmt == "email":
        return "matrix@example.org"
    return _TEXT


def _schema_path(pattern: str) -> str:
    return "/" + re.sub(r"<(?:[^>:]+:)?([^>]+)>", r"{\1}", pattern)


# --- the requests --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    method: str
    url: str
    body: Any  # None: empty
    json: bool  # the body as JSON (the API) or as a form (pages)


def _transition_urls(route: Route, w: World) -> list[str]:
    """The case transition routes, for every staff transition (the GET matrix asks one)."""
    if "name" not in route.params or not {"pk", "case_id"} & set(route.params):
        return []
    out = []
    for url in urls_for(route, w):
        for name in STAFF_TRANSITIONS:
            out.append(re.sub(r"/dispatch(/?)$", rf"/{name}\1", url))
    return out


def _transition(name: str, url: str, w: World) -> dict[str, str]:
    """A staff transition's form, filled; a merge goes into the other case."""
    data = form_payload(TransitionForm(name, case=w.b))
    if f"{name}-into" in data:
        other = w.a if f"/{w.b.pk}/" in url else w.b
        data[f"{name}-into"] = other.tracking_code
    return data


def asks_for(
    route: Route, w: World, harvested: dict[str, list[dict[str, str]]], schema: dict[str, Any]
) -> Iterator[Ask]:
    urls = sorted({*urls_for(route, w), *_transition_urls(route, w)})
    if route.pattern.startswith("api/"):
        ops = schema["paths"].get(_schema_path(route.pattern), {})
        components = schema.get("components", {}).get("schemas", {})
        for method, op in sorted(ops.items()):
            if method == "get":
                continue
            body_schema = (
                op.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema")
            )
            for url in urls:
                yield Ask(method.upper(), url, None, True)
                if body_schema is not None:
                    body = schema_value(body_schema, components)
                    name = url.rstrip("/").rsplit("/", 1)[-1]
                    if name in STAFF_TRANSITIONS and "/transitions/" in url:
                        body = {k.split("-", 1)[1]: v for k, v in _transition(name, url, w).items()}
                    yield Ask(method.upper(), url, body, True)
        return
    for url in urls:
        yield Ask("POST", url, None, False)
        name = url.rstrip("/").rsplit("/", 1)[-1]
        if route.pattern == "cases/<int:pk>/do/<str:name>/" and name in STAFF_TRANSITIONS:
            yield Ask("POST", url, _transition(name, url, w), False)
        for body in harvested.get(url, [])[:3]:
            yield Ask("POST", url, body, False)


def harvest(w: World, routes: list[Route]) -> dict[str, list[dict[str, str]]]:
    """The POST forms of every page, as the staff who may use them (and a visitor) see them."""
    found: dict[str, list[dict[str, str]]] = {}
    # A visitor sees the public forms; an administrator every staff form (administrators may
    # do everything); the D2 handler a unit's own (its units in choices); the superuser the
    # admin site's.
    for persona in ("anonymous", "outsider", "admin", "superuser"):
        client = _client(w, persona)
        for route in routes:
            if route.pattern.startswith(("api/", "open311/")):
                continue
            if route.pattern.startswith("admin/") != (persona == "superuser"):
                continue
            for path in urls_for(route, w):
                response = client.get(path)
                if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                    continue
                reader = FormReader()
                reader.feed(body_text(response))
                for action, data in reader.forms:
                    target = urlsplit(urljoin(path, action or path)).path
                    bodies = found.setdefault(target, [])
                    cleaned = _clean(data)
                    if cleaned not in bodies:
                        bodies.append(cleaned)
    return found


def _client(w: World, persona: str, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    if persona != "anonymous":
        client.force_login(w.city.user(persona))
    return client


def send(client: Client, ask: Ask) -> Any:
    method = getattr(client, ask.method.lower())
    extra = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    if ask.json:
        data = "" if ask.body is None else json.dumps(ask.body)
        return method(ask.url, data, content_type="application/json", **extra)
    if ask.method == "POST":
        return client.post(ask.url, ask.body or {}, **extra)
    return method(ask.url, **extra)


def leaks(persona: str, url: str, response: Any, w: World) -> list[str]:
    """What an answer shows that it may not (the GET matrix's rule)."""
    text = body_text(response)
    found = [f"raw personal data {s!r}" for s in RAW if s in text]
    if persona not in SEES_B:
        # Whoever holds a tracking code may follow that case; its internal matter stays
        # internal even so.
        hidden: tuple[str, ...] = (B_NOTE, B_PHOTO_MARKER)
        if w.b.tracking_code not in url:
            hidden += (B_TITLE,)
        found += [f"the D2 case's {s!r}" for s in hidden if s in text]
    return found


def spelled(route: Route, url: str, w: World) -> str:
    """The URL with the cases it names spelled {A} and {B}."""
    path = urlsplit(url).path
    kwargs = {str(k): str(v) for k, v in resolve(path).kwargs.items()}
    for name in ("pk", "case_id", "code"):
        if name not in kwargs or name not in route.params:
            continue
        for label, case in (("{A}", w.a), ("{B}", w.b)):
            if kwargs[name] in (str(case.pk), case.tracking_code):
                kwargs[name] = label
    return _fill(route.pattern, kwargs) if kwargs else path


def walk(
    w: World,
    plan: list[tuple[Route, list[Ask]]],
    rules: tuple[Allowed, ...],
    *,
    spell: Callable[[Route, str], str],
    guard: Callable[[str, Route, str, Change], str | None],
) -> tuple[list[str], set[Allowed], int]:
    """Send every persona every request of ``plan``, each in a savepoint rolled back after it;
    the failures, the rules that allowed a change, and how many requests were sent."""
    tables = _tables()
    # Signing in writes (the last login): sign everyone in before the state is taken.
    clients = {p: _client(w, p, raise_request_exception=False) for p in PERSONAS}
    before = snapshot(tables)
    failures: list[str] = []
    used: set[Allowed] = set()
    asked = 0
    for persona in PERSONAS:
        client = clients[persona]
        staff = persona != "anonymous" and w.city.user(persona).is_staff
        for route, all_asks in plan:
            asks = all_asks
            if route.pattern.startswith("admin/") and not staff:
                # The admin site turns away whoever is not staff before it reads the body or
                # looks the object up (and the GET matrix asks it every URL): one request a
                # route, the last (with a body if any).
                asks = asks[-1:]
            for ask in asks:
                label = f"{persona} {ask.method} {ask.url} body={'yes' if ask.body else 'no'}"
                watch = WriteWatch(set(tables))
                changes: list[Change] = []
                # A request may sign the persona out (the logout routes) or start a session;
                # the rollback undoes it in the database, the cookies are put back here.
                cookies = copy.deepcopy(client.cookies)
                with transaction.atomic():
                    with (
                        connection.execute_wrapper(watch),
                        TestCase.captureOnCommitCallbacks(execute=True),
                    ):
                        response = send(client, ask)
                    if watch.wrote:
                        # Only tables written to can differ (no trigger of ours writes; the
                        # audit log's refuse).
                        changes = diff(before, snapshot(sorted(watch.wrote)))
                    transaction.set_rollback(True)
                client.cookies = cookies
                asked += 1
                if response.status_code >= 500:
                    failures.append(f"{label}: answered {response.status_code}")
                failures += [f"{label}: {leak}" for leak in leaks(persona, ask.url, response, w)]
                if not changes:
                    continue
                url = spell(route, ask.url)
                failures += [
                    f"{label}: {problem}"
                    for ch in changes
                    if (problem := guard(persona, route, url, ch)) is not None
                ]
                rule = next(
                    (
                        r
                        for r in rules
                        if persona in r.personas and r.method == ask.method and fnmatch(url, r.url)
                    ),
                    None,
                )
                touched = ", ".join(sorted({ch.table for ch in changes}))
                if rule is None:
                    failures.append(
                        f"{label} ({response.status_code}): changed {touched}, not allowed "
                        f"as {ask.method} {url}"
                    )
                    continue
                used.add(rule)
                problem = rule.check(persona, changes, w) if rule.check else None
                if problem:
                    failures.append(f"{label}: {problem}")
    return failures, used, asked


@pytest.mark.django_db(transaction=False)
def test_no_write_changes_what_the_persona_may_not_or_leaks(world: World, settings: Any) -> None:  # noqa: F811
    settings.URBANGOV = {
        **settings.URBANGOV,
        "REQUIRE_2FA": False,
        "PUBLIC_READ_RATE": "0/m",
        "PUBLIC_SUBMIT_RATE": "0/m",
        "OPEN311_PUBLISH_TEXT": True,
    }
    w = world
    # django-ninja registers a path once per router that declares it: walk each path once.
    routes = list({r.pattern: r for r in all_routes()}.values())
    schema = api.get_openapi_schema()
    harvested = harvest(w, routes)
    case_columns = _case_columns()
    case_ids = {str(w.a.pk): "A", str(w.b.pk): "B"}

    def guard(persona: str, route: Route, url: str, ch: Change) -> str | None:
        for column in case_columns.get(ch.table, []):
            which = case_ids.get(str(ch.row.get(column)))
            if which is None or persona in COVERS[which]:
                continue
            if route.pattern in BY_TRACKING_CODE and f"{{{which}}}" in url:
                continue
            return (
                f"{ch.kind} in {ch.table} on case {which}, which the persona's units do not cover"
            )
        return None

    plan = [(route, list(asks_for(route, w, harvested, schema))) for route in routes]
    failures, used, asked = walk(
        w, plan, ALLOWED, spell=lambda route, url: spelled(route, url, w), guard=guard
    )
    assert asked > 5000
    assert not failures, "\n".join(sorted(set(failures)))
    # The walk reached real writes: every allowed change happened at least once (a rule that
    # never fires is stale, or the bodies no longer pass the forms).
    assert not [r for r in ALLOWED if r not in used], [r for r in ALLOWED if r not in used]


def test_a_post_without_the_csrf_token_is_refused(world: World, settings: Any) -> None:  # noqa: F811
    """The walk's client skips CSRF to test authorization itself; the real one does not: a form
    or an API call sent from a signed-in session without the token is refused and changes
    nothing, and the same request with the token goes through."""
    settings.URBANGOV = {**settings.URBANGOV, "REQUIRE_2FA": False}
    w = world
    b = w.b

    def status() -> str:
        b.refresh_from_db()
        return str(b.status)

    before = status()
    # Every persona, on a page form (the staff intake) and on the public submission.
    for persona in PERSONAS:
        client = _client(w, persona, enforce_csrf_checks=True)
        for url in ("/cases/intake/", "/cases/new/"):
            assert client.post(url, {"title": "x"}).status_code == 403, (persona, url)
    client = _client(w, "outsider", enforce_csrf_checks=True)
    page = f"/cases/{b.pk}/do/accept/"
    endpoint = f"/api/v1/cases/{b.pk}/transitions/accept"
    assert client.post(page, {"accept-note": "x"}).status_code == 403
    assert client.post(endpoint, "{}", content_type="application/json").status_code == 403
    assert status() == before == "dispatched"

    assert client.get(f"/cases/{b.pk}/").status_code == 200
    token = client.cookies["csrftoken"].value
    answer = client.post(endpoint, "{}", content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert answer.status_code == 200
    assert status() == "accepted"
    page = f"/cases/{b.pk}/do/send_back/"
    form = {"send_back-reason": "不属于本街道", "csrfmiddlewaretoken": token}
    assert client.post(page, form).status_code == 302
    assert status() == "awaiting_dispatch"


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_no_two_api_schemas_share_a_name_in_the_openapi_document() -> None:
    """The OpenAPI components are named by class: two different bodies of the same name make
    the document describe one of them wrongly (the walk above builds its bodies from it; a
    resident's rating once read as a topic's)."""
    from ninja import Schema

    by_name: dict[str, dict[str, Any]] = {}
    clashes = []
    for model in _subclasses(Schema):
        if not model.__module__.startswith("urbangov."):
            continue
        shape = model.model_json_schema()
        shape.pop("description", None)
        seen = by_name.setdefault(model.__name__, shape)
        if seen != shape:
            clashes.append(f"{model.__module__}.{model.__qualname__}")
    assert len(by_name) > 30
    assert not clashes, clashes


@pytest.mark.parametrize(
    ("persona", "status"),
    [("auditor", 404), ("algorithm_officer", 404), ("analyst", 404), ("operator", 201)],
)
def test_only_counter_staff_register_an_assisted_person_by_the_api(
    world: World,  # noqa: F811
    settings: Any,
    persona: str,
    status: int,
) -> None:
    """Found by the walk: any staff role could store a resident's name and phone number through
    the API, where the counter page lets only operators and handlers (counter staff)."""
    from urbangov.participation.models import AssistedPerson

    settings.URBANGOV = {**settings.URBANGOV, "REQUIRE_2FA": False}
    body = {"name": "王阿姨", "phone": "13700001111", "consent_text": "同意代为记录意见"}
    answer = _client(world, persona).post(
        "/api/v1/participation/assisted", body, content_type="application/json"
    )
    assert answer.status_code == status
    assert AssistedPerson.objects.count() == (1 if status == 201 else 0)


# --- the deliberation hall ---------------------------------------------------------------------

# Personas who organise the D2 office's topic: its own staff (the D2 handler), supervisors whose
# areas cover it (the dispatch centre's, city-wide), administrators.
ORGANISE_T = frozenset({"outsider", "supervisor"}) | ADMINS


def _hall(w: World) -> dict[str, dict[str, str]]:
    """A topic of the D2 office, with a resident's proposal, comment and statement, a meeting
    and a petition: per route parameter, the object's id and how the URL spells it."""
    from tests.participation.conftest import make_resident
    from urbangov.participation import actions as hall
    from urbangov.participation.models import MeetingKind

    c = w.city
    resident = make_resident("matrix_resident")
    topic = hall.open_topic(
        actor=c.user("outsider"), title="西区议题", summary="西区议事", area=c.d2, unit=c.office_d2
    )
    proposal = hall.submit_proposal(actor=resident.user, topic=topic, title="提议", text="提议内容")
    comment = hall.post_comment(actor=resident.user, topic=topic, text="评论内容")
    statement = hall.add_statement(actor=resident.user, topic=topic, text="观点内容")
    starts = _NOW + dt.timedelta(days=7)
    meeting = hall.schedule_meeting(
        actor=c.user("outsider"),
        topic=topic,
        title="议事会",
        kind=MeetingKind.OFFLINE,
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=2),
        place="西区社区中心",
    )
    petition = hall.start_petition(actor=resident.user, title="请愿", text="请愿内容", area=c.d2)
    ids = {
        "topic_id": ("T", topic.pk),
        "proposal_id": ("P", proposal.pk),
        "comment_id": ("C", comment.pk),
        "statement_id": ("S", statement.pk),
        "meeting_id": ("M", meeting.pk),
        "petition_id": ("Q", petition.pk),
        "resident_id": ("R", resident.pk),
    }
    return {name: {"id": str(pk), "label": f"{{{label}}}"} for name, (label, pk) in ids.items()}


def _hall_param(route: Route, name: str) -> str:
    """A page route's ``pk`` names the object its path is about."""
    if name != "pk":
        return name
    for prefix, param in (
        ("participation/topics/", "topic_id"),
        ("participation/meetings/", "meeting_id"),
        ("participation/petitions/", "petition_id"),
    ):
        if route.pattern.startswith(prefix):
            return param
    return name


@pytest.mark.django_db(transaction=False)
def test_no_write_in_the_deliberation_hall_changes_what_the_persona_may_not(
    world: World,  # noqa: F811
    settings: Any,
) -> None:
    """The same walk over the deliberation hall's routes, whose parameters here name the D2
    office's topic and what residents put in it (the walk above names cases there, which are no
    topics): only the topic's organisers manage it, and staff take no resident's part."""
    from urbangov.participation.models import Comment, Meeting, Proposal, Statement

    settings.URBANGOV = {**settings.URBANGOV, "REQUIRE_2FA": False}
    w = world
    objects = _hall(w)
    routes = [
        r
        for r in {r.pattern: r for r in all_routes()}.values()
        if r.pattern.startswith(("participation/", "api/v1/participation/"))
    ]
    schema = api.get_openapi_schema()

    def fill(route: Route, name_value: str) -> str:
        values = {}
        for name in route.params:
            param = _hall_param(route, name)
            values[name] = objects[param]["id"] if param in objects else name_value
        return _fill(route.pattern, values)

    found: dict[str, list[dict[str, str]]] = {}
    for persona in ("outsider", "admin"):
        client = _client(w, persona)
        for route in routes:
            if route.pattern.startswith("api/"):
                continue
            response = client.get(fill(route, "x"))
            if response.status_code != 200:
                continue
            reader = FormReader()
            reader.feed(body_text(response))
            for action, data in reader.forms:
                target = urlsplit(urljoin(response.request["PATH_INFO"], action)).path
                bodies = found.setdefault(target, [])
                if _clean(data) not in bodies:
                    bodies.append(_clean(data))

    components = schema.get("components", {}).get("schemas", {})
    plan: list[tuple[Route, list[Ask]]] = []
    for route in routes:
        urls = {fill(route, "x")}
        for action in found:
            try:
                match = resolve(action)
            except Resolver404:
                continue
            if match.route == route.pattern:
                urls.add(action)
        asks: list[Ask] = []
        if route.pattern.startswith("api/"):
            ops = schema["paths"].get(_schema_path(route.pattern), {})
            for method, op in sorted(ops.items()):
                if method == "get":
                    continue
                content = op.get("requestBody", {}).get("content", {})
                body_schema = content.get("application/json", {}).get("schema")
                for url in sorted(urls):
                    asks.append(Ask(method.upper(), url, None, True))
                    if body_schema is not None:
                        asks.append(
                            Ask(method.upper(), url, schema_value(body_schema, components), True)
                        )
        else:
            for url in sorted(urls):
                asks.append(Ask("POST", url, None, False))
                asks += [Ask("POST", url, body, False) for body in found.get(url, [])[:3]]
        plan.append((route, asks))

    labels = {v["id"]: v["label"] for v in objects.values()}

    def spell(route: Route, url: str) -> str:
        kwargs = {str(k): str(v) for k, v in resolve(urlsplit(url).path).kwargs.items()}
        for name in kwargs:
            if _hall_param(route, name) in objects and kwargs[name] in labels:
                kwargs[name] = objects[_hall_param(route, name)]["label"]
        return _fill(route.pattern, kwargs)

    # What residents and the organisers put in the topic: only its organisers change it (hide,
    # moderate, cancel), whatever ``HALL_ALLOWED`` says.
    content = {
        (model._meta.db_table, objects[param]["id"])
        for model, param in (
            (Proposal, "proposal_id"),
            (Comment, "comment_id"),
            (Statement, "statement_id"),
            (Meeting, "meeting_id"),
        )
    }

    def guard(persona: str, route: Route, url: str, ch: Change) -> str | None:
        if persona in ORGANISE_T or ch.kind == "insert":
            return None
        if (ch.table, str(ch.row.get("id"))) in content:
            return f"{ch.kind} of {ch.table} {ch.row.get('id')} in the D2 office's topic"
        return None

    failures, used, asked = walk(w, plan, HALL_ALLOWED, spell=spell, guard=guard)
    assert asked > 500
    assert not failures, "\n".join(sorted(set(failures)))
    assert not [r for r in HALL_ALLOWED if r not in used], [
        r for r in HALL_ALLOWED if r not in used
    ]


SIGNED_IN = EVERYONE - {"anonymous"}
STAFF = SIGNED_IN - {"nobody"}
# Every state change the hall's walk may see, with its reason.
HALL_ALLOWED: tuple[Allowed, ...] = (
    *(
        Allowed(SIGNED_IN, "POST", url, "anyone signed in follows a public topic, for themselves")
        for url in (
            "/participation/topics/{T}/do/follow/",
            "/api/v1/participation/topics/{T}/follow",
        )
    ),
    *(
        Allowed(SIGNED_IN, "POST", url, "anyone signed in may register for a public meeting")
        for url in (
            "/participation/meetings/{M}/do/register/",
            "/api/v1/participation/meetings/{M}/register",
        )
    ),
    Allowed(
        STAFF,
        "POST",
        "/api/v1/participation/topics/{T}/comments",
        "staff answer in the hall, under their unit's name",
    ),
    *HALL_STAFF,
    # The topic's organisers run it: phases, results, seed statements, moderation, meetings.
    *(
        Allowed(ORGANISE_T, "POST", url, "the topic's organisers manage it")
        for url in (
            "/participation/topics/{T}/manage/*",
            "/participation/meetings/{M}/do/cancel/",
            "/api/v1/participation/topics/{T}/statements",
            "/api/v1/participation/topics/{T}/results",
            "/api/v1/participation/proposals/{P}/hide",
            "/api/v1/participation/comments/{C}/moderate",
            "/api/v1/participation/statements/{S}/moderate",
            "/api/v1/participation/meetings/{M}/attendance",
        )
    ),
)
