"""The city's categories seen as Open311 services, their definitions, and answers checked
against them.

A service is an active category with no active sub-category under an active parent; its
code is the category code. Extra questions live in ``Category.attributes`` as a list of
``{"code", "datatype", "required", "description", "order", "values": [{"key", "name"}]}``,
optionally with ``"variable"`` (false: information shown, nothing asked),
``"datatype_description"``, and English texts ``"description_en"`` / value ``"name_en"`` used
when the request's language is English. Malformed entries (no code) are skipped, and an
unknown datatype is read as ``string``, so an admin's typo never breaks the endpoint.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from urbangov.open311 import w3c
from urbangov.org.models import Category

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
LIST_TYPES = ("singlevaluelist", "multivaluelist")
STRING_MAX = 1000
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _english(language: str) -> bool:
    return language.startswith("en")


def _local(item: dict[str, Any], key: str, language: str) -> str:
    if _english(language) and item.get(f"{key}_en"):
        return str(item[f"{key}_en"])
    value = item.get(key)
    return "" if value is None else str(value)


def _flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


@dataclass(frozen=True)
class Choice:
    key: str
    name: str


@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: str
    required: bool
    variable: bool
    order: int
    description: str
    datatype_description: str
    values: tuple[Choice, ...]

    def as_spec(self) -> dict[str, Any]:
        return {
            "variable": self.variable,
            "code": self.code,
            "datatype": self.datatype,
            "required": self.required,
            "datatype_description": self.datatype_description or None,
            "order": self.order,
            "description": self.description,
            "values": [{"key": c.key, "name": c.name} for c in self.values],
        }


def attributes_of(category: Category, language: str) -> list[Attribute]:
    """The category's questions in the order they are asked."""
    raw = category.attributes if isinstance(category.attributes, list) else []
    found: list[tuple[int, int, Attribute]] = []
    seen: set[str] = set()
    for position, item in enumerate(raw):
        if not isinstance(item, dict) or not str(item.get("code") or "").strip():
            continue
        code = str(item["code"]).strip()
        if code in seen:
            continue
        seen.add(code)
        datatype = str(item.get("datatype") or "string").strip().lower()
        if datatype not in DATATYPES:
            datatype = "string"
        values: list[Choice] = []
        if datatype in LIST_TYPES and isinstance(item.get("values"), list):
            for value in item["values"]:
                if isinstance(value, dict) and value.get("key") is not None:
                    name = _local(value, "name", language) or str(value["key"])
                    values.append(Choice(str(value["key"]), name))
        try:
            order = int(item.get("order", position + 1))
        except (TypeError, ValueError):
            order = position + 1
        variable = _flag(item.get("variable"), True)
        attribute = Attribute(
            code=code,
            datatype=datatype,
            required=variable and _flag(item.get("required"), False),
            variable=variable,
            order=order,
            description=_local(item, "description", language),
            datatype_description=_local(item, "datatype_description", language),
            values=tuple(values),
        )
        found.append((order, position, attribute))
    return [a for _, _, a in sorted(found, key=lambda t: (t[0], t[1]))]


def active_services() -> list[Category]:
    """Every category a request can be filed under, by code."""
    rows = list(Category.objects.filter(active=True).select_related("parent").order_by("code"))
    with_children = {c.parent_id for c in rows if c.parent_id is not None}
    return [c for c in rows if c.pk not in with_children and (c.parent is None or c.parent.active)]


def service(code: str) -> Category | None:
    """The service with this code, or None when there is none (or it is a group, or retired)."""
    category = Category.objects.select_related("parent").filter(code=code, active=True).first()
    if category is None or (category.parent is not None and not category.parent.active):
        return None
    if category.children.filter(active=True).exists():
        return None
    return category


def _duration(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    if hours >= 48 and hours % 24 == 0:
        days = hours // 24
        return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}
    return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}


def notice(category: Category, urgency: str | None = None) -> str:
    """What the city commits to for requests of this kind."""
    resolve, respond = category.deadlines(urgency)
    return _(
        "The city aims to respond within %(respond)s and to resolve requests of this kind "
        "within %(resolve)s of dispatch."
    ) % {"respond": _duration(respond), "resolve": _duration(resolve)}


def service_entry(category: Category, language: str) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.display_name(language),
        "description": category.description or None,
        "metadata": bool(attributes_of(category, language)),
        "type": "realtime",
        "keywords": category.keywords or None,
        "group": category.parent.display_name(language) if category.parent else None,
    }


def definition(category: Category, language: str) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "attributes": [a.as_spec() for a in attributes_of(category, language)],
    }


def _answer(attribute: Attribute, values: list[str]) -> Any:
    """One checked answer; ValueError with a message when it does not fit the question."""
    values = [v.strip() for v in values if v.strip()]
    if attribute.datatype == "multivaluelist":
        keys = {c.key for c in attribute.values}
        unknown = [v for v in values if v not in keys]
        if unknown:
            raise ValueError(
                _("%(values)s not among the keys %(keys)s.")
                % {"values": ", ".join(repr(v) for v in unknown), "keys": ", ".join(sorted(keys))}
            )
        return list(dict.fromkeys(values))
    if len(values) > 1:
        raise ValueError(_("takes one value, not %(n)d.") % {"n": len(values)})
    value = values[0]
    if attribute.datatype == "singlevaluelist":
        keys = {c.key for c in attribute.values}
        if value not in keys:
            raise ValueError(
                _("%(value)r is not among the keys %(keys)s.")
                % {"value": value, "keys": ", ".join(sorted(keys))}
            )
        return value
    if attribute.datatype == "number":
        if not _NUMBER.match(value) or not math.isfinite(float(value)):
            raise ValueError(_("%(value)r is not a number.") % {"value": value[:40]})
        number = float(value)
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if attribute.datatype == "datetime":
        return w3c.format_datetime(w3c.parse(value).start)
    limit = settings.URBANGOV["CASE_TEXT_MAX"] if attribute.datatype == "text" else STRING_MAX
    if len(value) > limit:
        raise ValueError(_("is longer than %(max)d characters.") % {"max": limit})
    return value


def check_answers(category: Category, given: dict[str, list[str]]) -> dict[str, Any]:
    """The answers to the service's questions, checked; one ValidationError naming every bad
    ``attribute[CODE]`` otherwise."""
    attributes = {a.code: a for a in attributes_of(category, settings.LANGUAGE_CODE) if a.variable}
    problems: list[str] = []
    answers: dict[str, Any] = {}
    for code in given:
        if code not in attributes:
            problems.append(
                _("attribute[%(code)s]: service %(service)s asks no such question.")
                % {"code": code, "service": category.code}
            )
    for code, attribute in attributes.items():
        values = [v for v in given.get(code, []) if v.strip()]
        if not values:
            if attribute.required:
                problems.append(
                    _("attribute[%(code)s]: required by service %(service)s.")
                    % {"code": code, "service": category.code}
                )
            continue
        try:
            answers[code] = _answer(attribute, values)
        except ValueError as exc:
            problems.append(f"attribute[{code}]: {exc}")
    if problems:
        raise ValidationError(problems)
    return answers
