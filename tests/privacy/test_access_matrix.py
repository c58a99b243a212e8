"""The authorization matrix: every URL pattern and every API operation, for every role, an
anonymous visitor, an outsider (signed in, no role anywhere) and Django's superuser (the admin
site).

The routes are not listed by hand: they are read from the URL resolver (pages, Open311, the
admin, and django-ninja's operations, which register as URL patterns) and cross-checked
against the OpenAPI schema, so a new page or endpoint is walked as soon as it exists. Each
route is asked (GET, no stated purpose) with its parameters filled from two cases: one of the
D1 street office (unit ``D1S1``) and one of the D2 street office (``D2S1``), both carrying
personal data in every field a resident fills in, and in the staff's own reply.

A response fails the test when it shows

- raw personal data of either case: without a stated purpose nobody sees it, whatever their
  role (the contact is masked, free text redacted); or
- the D2 case's internal matter (the dispatch note, the title) to someone whose units do not
  cover it. Who may see it is written out here by hand, from the personas in
  ``tests/conftest.py``, not read from the code under test.

Then the other half of purpose-bound access: with a stated purpose, a role that may sees the
raw data and the read is in the audit log with that purpose; a role that may not still sees
it redacted, and an unknown purpose is refused.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, TestCase
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

from tests.conftest import PASSWORD, City, make_case
from urbangov.api import api
from urbangov.cases import actions
from urbangov.cases.models import Case
from urbangov.privacy.models import AuditEvent

# What residents and staff wrote, planted in every personal field and in free text. Each value
# is one a reader could recognise a person by; none may show unredacted without a purpose.
NAME_A, PHONE_A = "欧阳锦绣", "13912345678"
NAME_B, PHONE_B = "司马青云", "13798765432"
ID_NUMBER = "110101199003074514"  # GB 11643: weighted sum mod 11 = 8, check character 4
ROOM = "幸福路88号3栋1201室"
EMAIL = "jinxiu.ouyang@example.org"
RAW = (NAME_A, PHONE_A, NAME_B, PHONE_B, ID_NUMBER, ROOM, EMAIL, "88号3栋")

# The D2 case's own matter, known only to those whose units cover it.
B_NOTE = "西区内部核查备注"
B_TITLE = "西区专属诉求标题"
# A photo of the D2 case, carrying a marker in its bytes (a PNG as far as sniffing goes).
B_PHOTO_MARKER = "WEST-D2-PHOTO-7731"
B_PHOTO = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + B_PHOTO_MARKER.encode()

# Personas (tests/conftest.py) whose units cover the D2 street office's case: the dispatch
# centre covers the whole city for its operators, supervisors and analysts; the D2 office's
# handler (``outsider`` there, a handler of another unit) handles it; administrators see all,
# and so does Django's superuser, on the admin site.
SEES_B = {"operator", "supervisor", "analyst", "admin", "outsider", "superuser"}
# Personas whose role may see neither case's personal data, whatever purpose they state.
NEVER_RAW = {
    "anonymous",
    "nobody",
    "handler",
    "supervisor",
    "analyst",
    "algorithm_officer",
    "auditor",
}
PERSONAS = (
    "anonymous",
    "nobody",  # the outsider: signed in, no role in any unit
    "operator",
    "handler",
    "handler_d1",
    "supervisor",
    "analyst",
    "algorithm_officer",
    "auditor",
    "admin",
    "outsider",
    "superuser",  # Django's own superuser: the admin site, no role in any unit
)


@dataclass
class World:
    city: City
    a: Case
    b: Case


def _world(city: City) -> World:
    text = f"我叫{NAME_A}，电话{PHONE_A}，身份证号{ID_NUMBER}，邮箱{EMAIL}，住在{ROOM}，楼下噪音。"
    a = make_case(
        city,
        where="d1",
        category=city.noise,
        title=f"噪音 请联系{PHONE_A}",
        text=text,
        address=ROOM,
        contact_name=NAME_A,
        contact_phone=PHONE_A,
    )
    operator = city.user("operator")
    actions.dispatch_case(a, actor=operator, unit=city.office_d1, category=city.noise)
    handler = city.user("handler_d1")
    actions.accept_case(a, actor=handler)
    actions.resolve_case(a, actor=handler, resolution=f"已电话联系{NAME_A}（{PHONE_A}），已处理。")
    b = make_case(
        city,
        where="d2",
        category=city.noise,
        title=B_TITLE,
        text=f"我是{NAME_B}，手机{PHONE_B}，西区夜间施工噪音。",
        contact_name=NAME_B,
        contact_phone=PHONE_B,
        attachments=[actions.Upload("west.png", B_PHOTO)],
    )
    actions.dispatch_case(b, actor=operator, unit=city.office_d2, category=city.noise, note=B_NOTE)
    a.refresh_from_db()
    b.refresh_from_db()
    city.users["superuser"] = get_user_model().objects.create_superuser(
        username="root", password=PASSWORD
    )
    return World(city=city, a=a, b=b)


# --- the routes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    pattern: str  # the full pattern, as the resolver spells it
    callback: Any
    params: tuple[str, ...]


_ROUTE_PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_PARAM = re.compile(r"\(\?P<(?P<name>[^>]+)>(?:[^()]|\([^()]*\))*\)")


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[Route]:
    for p in patterns:
        spelled = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from _routes(p.url_patterns, spelled)
        elif isinstance(p, URLPattern):
            # Regex groups first: (?P<fmt>…) would otherwise read as the route's <fmt>.
            names = [m["name"] for m in _REGEX_PARAM.finditer(spelled)]
            rest = _REGEX_PARAM.sub("", spelled)
            names += [m["name"] for m in _ROUTE_PARAM.finditer(rest)]
            yield Route(spelled, p.callback, tuple(dict.fromkeys(names)))


def all_routes() -> list[Route]:
    return list(_routes(get_resolver().url_patterns))


def _values(name: str, w: World) -> list[str]:
    """Values to put in a route's parameter: each case in turn where it names one."""
    cases = [w.a, w.b]
    ids = [str(c.pk) for c in cases]
    fixed = {
        "fmt": ["json"],
        "app_label": ["cases"],
        "dataset": ["cases"],
        "level": ["district"],
        "step": ["1"],
        "kind": ["school"],
        "name": ["dispatch"],
        "token": ["nope"],
        "rest": ["nope"],
        "url": ["nope"],
    }
    if name in fixed:
        return fixed[name]
    if name == "code":
        # A tracking code, a unit's code and a service code are all "code".
        return [c.tracking_code for c in cases] + ["D2S1", "noise"]
    if name == "file_pk":
        return [str(pk) for c in cases for pk in c.attachments.values_list("pk", flat=True)]
    return ids


def _fill(spelled: str, values: dict[str, str]) -> str:
    def route_sub(m: re.Match[str]) -> str:
        return values[m["name"]]

    def regex_sub(m: re.Match[str]) -> str:
        return values[m["name"]]

    url = _REGEX_PARAM.sub(regex_sub, spelled)
    url = _ROUTE_PARAM.sub(route_sub, url)
    url = url.replace("^", "").replace("$", "").replace("\\.", ".").replace("\\", "")
    return "/" + url


def urls_for(route: Route, w: World) -> list[str]:
    if not route.params:
        return [_fill(route.pattern, {})]
    out = []
    # Vary one parameter at a time over its values, the others at their first value; every
    # parameter that names a case gets both cases.
    first = {name: _values(name, w)[0] for name in route.params}
    for name in route.params:
        for value in _values(name, w):
            out.append(_fill(route.pattern, {**first, name: value}))
    return sorted(set(out))


# --- reading a response --------------------------------------------------------------------


def body_text(response: Any) -> str:
    if getattr(response, "streaming", False):
        raw = b"".join(response.streaming_content)
    else:
        raw = response.content
    text = raw.decode("utf-8", errors="replace")
    if "json" in response.get("Content-Type", ""):
        # JSON may escape every non-ASCII character: compare what it says, not its bytes.
        with contextlib.suppress(ValueError):
            text = json.dumps(json.loads(text), ensure_ascii=False)
    return text


def _client(w: World, persona: str) -> Client:
    client = Client()
    if persona != "anonymous":
        client.force_login(w.city.user(persona))
    return client


@pytest.fixture
def world(city: City) -> World:
    return _world(city)


def test_routes_are_read_from_the_resolver_and_cover_the_openapi_schema() -> None:
    """The walk is not a hand-kept list: every operation in the OpenAPI schema resolves to a
    route the matrix walks, and the resolver yields the pages of every app."""
    routes = all_routes()
    callbacks = {id(r.callback) for r in routes}
    schema = api.get_openapi_schema()
    assert len(schema["paths"]) >= 40
    for path in schema["paths"]:
        url = re.sub(r"\{[^}]+\}", "1", path)
        match = resolve(url)
        assert id(match.func) in callbacks, path
    spelled = {r.pattern for r in routes}
    for expected in ("cases/<int:pk>/", "privacy/audit/", "open-data/", "supervision/"):
        assert expected in spelled


@pytest.mark.django_db(transaction=False)
def test_no_route_leaks_another_units_case_or_raw_personal_data(
    world: World, settings: Any
) -> None:
    settings.URBANGOV = {
        **settings.URBANGOV,
        "REQUIRE_2FA": False,
        "PUBLIC_READ_RATE": "0/m",
        "PUBLIC_SUBMIT_RATE": "0/m",
        "OPEN311_PUBLISH_TEXT": True,
    }
    routes = all_routes()
    assert len(routes) > 100
    audit_before = AuditEvent.objects.filter(action__endswith=".read").count()
    leaks: list[str] = []
    unresolved: set[str] = set()
    saw_b: set[str] = set()
    walked = 0
    for persona in PERSONAS:
        client = _client(world, persona)
        for route in routes:
            for path in urls_for(route, world):
                try:
                    resolve(path)
                except Resolver404:
                    unresolved.add(path)
                    continue
                # Those whose role may not see either case's personal data ask again with a
                # purpose stated: a purpose alone must open nothing.
                asked = [path, f"{path}?purpose=legal"] if persona in NEVER_RAW else [path]
                for url in asked:
                    with TestCase.captureOnCommitCallbacks(execute=True):
                        response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
                    walked += 1
                    if response.status_code >= 500:
                        leaks.append(f"{persona} GET {url}: {response.status_code}")
                        continue
                    text = body_text(response)
                    if B_NOTE in text:
                        saw_b.add(persona)
                    if B_PHOTO_MARKER in text:
                        saw_b.add(f"{persona}:photo")
                    for secret in RAW:
                        if secret in text:
                            leaks.append(f"{persona} GET {url}: raw personal data {secret!r}")
                    if persona not in SEES_B:
                        # Whoever holds a tracking code may follow that case (the code is the
                        # resident's key); its internal matter stays internal even so.
                        by_code = world.b.tracking_code in url
                        hidden = (B_NOTE, B_PHOTO_MARKER)
                        for secret in hidden if by_code else (*hidden, B_TITLE):
                            if secret in text:
                                leaks.append(f"{persona} GET {url}: the D2 case's {secret!r}")
    assert walked > 1000
    # Every route was filled into a URL that reaches it (the filling itself is not broken).
    assert not unresolved, sorted(unresolved)
    assert not leaks, "\n".join(sorted(set(leaks)))
    # The walk reached real content: everyone whose units cover the D2 case saw its note.
    assert SEES_B - {"superuser"} <= saw_b
    assert {"operator:photo", "outsider:photo"} <= saw_b
    # Nobody stated a purpose, so nobody read personal data.
    assert AuditEvent.objects.filter(action__endswith=".read").count() == audit_before


# --- with a stated purpose -------------------------------------------------------------------


def _reads(case: Case) -> list[tuple[str, str, str]]:
    return list(
        AuditEvent.objects.filter(action="case.contact.read", object_id=str(case.pk))
        .order_by("id")
        .values_list("actor_label", "purpose", "data__via")
    )


@pytest.mark.parametrize("via", ["page", "api"])
def test_a_role_that_may_sees_raw_data_only_with_a_stated_purpose_and_each_read_is_logged(
    world: World, via: str
) -> None:
    a = world.a
    client = _client(world, "handler_d1")
    url = f"/cases/{a.pk}/" if via == "page" else f"/api/v1/cases/{a.pk}"

    plain = body_text(client.get(url))
    assert NAME_A not in plain and PHONE_A not in plain and ID_NUMBER not in plain
    assert "138****" not in plain and "139****5678" in plain  # masked, recognisably
    if via == "page":
        assert 'name="purpose"' in plain  # the page offers to state one
    assert _reads(a) == []

    for stated in ("handling", "appeal"):
        raw = body_text(client.get(url, {"purpose": stated}))
        for secret in (NAME_A, PHONE_A, ID_NUMBER, ROOM, EMAIL):
            assert secret in raw, secret
    assert _reads(a) == [("handler_d1", "handling", via), ("handler_d1", "appeal", via)]


def test_a_purpose_gives_nothing_to_a_role_that_may_not(world: World) -> None:
    a = world.a
    # The supervisor sees the case, but not the resident's personal data, whatever the purpose.
    for url in (f"/cases/{a.pk}/", f"/api/v1/cases/{a.pk}"):
        text = body_text(_client(world, "supervisor").get(url, {"purpose": "legal"}))
        assert "139****5678" in text
        assert not [s for s in (NAME_A, PHONE_A, ID_NUMBER, ROOM) if s in text]
    # Another unit's handler does not even learn that the case exists.
    for url in (f"/cases/{a.pk}/", f"/api/v1/cases/{a.pk}"):
        response = _client(world, "outsider").get(url, {"purpose": "handling"})
        assert response.status_code == 404
        assert PHONE_A not in body_text(response)
    assert _reads(a) == []


def test_an_unknown_purpose_is_refused_and_shows_nothing(world: World) -> None:
    a = world.a
    client = _client(world, "handler_d1")
    page = client.get(f"/cases/{a.pk}/", {"purpose": "curiosity"})
    assert page.status_code == 400
    assert PHONE_A not in body_text(page) and "curiosity" in body_text(page)
    answer = client.get(f"/api/v1/cases/{a.pk}", {"purpose": "curiosity"})
    assert answer.status_code == 400
    assert "handling" in answer.json()["detail"] and PHONE_A not in body_text(answer)
    assert _reads(a) == []
