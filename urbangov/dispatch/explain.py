"""The dispatcher's decisions told in words, in the reader's language: one account for the
resident (plain, nothing about other people's cases) and one for staff (every reason, with
the numbers). Both are made from the decision's structured ``reasons``; the record also keeps
the staff account in the platform's default language as written at the time."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from urbangov.algorithms.models import Decision, Mode
from urbangov.dispatch import routing
from urbangov.dispatch.engine import (
    AUTOMATIC_OFF,
    BELOW_THRESHOLD,
    LIKELY_DUPLICATE,
    NO_MODEL,
    NO_UNIT,
    NOTHING_TO_SUGGEST,
    POLICY_OFF,
)
from urbangov.dispatch.routing import ANY_RULE, FALLBACK, PARENT_RULE, PARENT_UNIT, RULE, UNIT


def _reason(decision: Decision, code: str) -> dict[str, Any] | None:
    for item in decision.reasons:
        if item.get("code") == code:
            return item
    return None


def _category(code: str | None) -> str:
    if not code:
        return _("no category")
    found = routing.current().category_by_code.get(code)
    return found.display_name(get_language() or "") if found else code


def _unit(code: str | None) -> str:
    if not code:
        return _("no unit")
    found = routing.current().unit_by_code.get(code)
    return found.name if found else code


def _area(code: str | None) -> str:
    found = routing.current().area_by_code.get(code or "")
    return found.name if found else (code or "")


def _percent(p: float | None) -> str:
    return f"{round(100 * p)}%" if p is not None else "—"


def _quoted(words: list[str]) -> str:
    return _(", ").join(f"“{w}”" for w in words)


def route_sentence(route: dict[str, Any]) -> str:
    """How the routing table placed the case, in one sentence."""
    how = route.get("how")
    unit = _unit(route.get("unit"))
    area = _area(route.get("area"))
    category = _category(route.get("category"))
    if how == RULE:
        return _("The routing table sends %(category)s in %(area)s to %(unit)s.") % {
            "category": category,
            "area": area,
            "unit": unit,
        }
    if how == PARENT_RULE:
        return _(
            "The routing table sends the wider kind of matter %(category)s belongs to in "
            "%(area)s to %(unit)s."
        ) % {"category": category, "area": area, "unit": unit}
    if how in (UNIT, PARENT_UNIT):
        return _("%(unit)s is the unit that answers for %(category)s in %(area)s.") % {
            "unit": unit,
            "category": category,
            "area": area,
        }
    if how == ANY_RULE:
        return _("The routing table sends every kind of matter in %(area)s to %(unit)s.") % {
            "area": area,
            "unit": unit,
        }
    if how == FALLBACK:
        return _(
            "No rule names a unit for %(category)s there, so it goes to %(unit)s, the unit that "
            "takes %(area)s's other cases."
        ) % {"category": category, "unit": unit, "area": area}
    return _("No unit in the routing table answers for %(category)s there.") % {
        "category": category
    }


_HELD = {
    NO_MODEL: lambda: _("no trained model is in service"),
    BELOW_THRESHOLD: lambda: _("it is less sure than this category requires"),
    POLICY_OFF: lambda: _("cases of this category always wait for an operator"),
    AUTOMATIC_OFF: lambda: _("automatic dispatch is switched off"),
    NO_UNIT: lambda: _("the routing table names no unit"),
    LIKELY_DUPLICATE: lambda: _("it may be a duplicate of an open case"),
    NOTHING_TO_SUGGEST: lambda: _("it has nothing to suggest"),
}


def staff(decision: Decision) -> str:
    """Every reason, with the numbers, for the operator."""
    parts: list[str] = []
    classified = _reason(decision, "classified")
    if classified is not None:
        text = _("Read as %(category)s (%(p)s sure).") % {
            "category": _category(classified.get("category")),
            "p": _percent(classified.get("probability")),
        }
        if classified.get("features"):
            text += " " + _("Words that weighed most: %(words)s.") % {
                "words": _quoted(classified["features"])
            }
        parts.append(text)
    only = _reason(decision, "reported_only")
    if only is not None:
        parts.append(
            _("No model in service: the category the resident chose, %(category)s, is suggested.")
            % {"category": _category(only.get("category"))}
        )
    reported = _reason(decision, "reported")
    if reported is not None:
        cat = routing.current().categories.get(int(reported.get("category_id") or 0))
        name = cat.display_name(get_language() or "") if cat else "?"
        parts.append(
            (
                _("The resident chose %(category)s, which agrees.")
                if reported.get("agrees")
                else _("The resident chose %(category)s; the text says otherwise.")
            )
            % {"category": name}
        )
    located = _reason(decision, "located")
    if located is not None:
        how = located.get("how")
        if how == "point":
            parts.append(
                _("Located by its map point in %(area)s.") % {"area": _area(located.get("area"))}
            )
        elif how == "address":
            parts.append(
                _("No map point; located in %(area)s from “%(name)s” in the address or text.")
                % {"area": _area(located.get("area")), "name": located.get("name", "")}
            )
        else:
            parts.append(_("Not located: no map point and no place name found."))
    routed = _reason(decision, "routed")
    if routed is not None:
        parts.append(route_sentence(routed))
    danger = _reason(decision, "emergency")
    if danger is not None:
        if danger.get("terms"):
            parts.append(
                _("Emergency: the text speaks of %(words)s.") % {"words": _quoted(danger["terms"])}
            )
        else:
            parts.append(_("Emergency: the category is one of danger."))
    dup = _reason(decision, "duplicate")
    if dup is not None:
        parts.append(
            _(
                "Likely duplicate of open case %(code)s (text %(similarity)s alike, %(hours)s h "
                "earlier%(distance)s)."
            )
            % {
                "code": dup.get("tracking_code", ""),
                "similarity": _percent(dup.get("similarity")),
                "hours": dup.get("hours", ""),
                "distance": (
                    _(", %(m)s m away") % {"m": dup["distance_m"]}
                    if dup.get("distance_m") is not None
                    else ""
                ),
            }
        )
    policy = _reason(decision, "policy")
    if decision.mode == Mode.AUTOMATIC:
        parts.append(
            _("Dispatched automatically: at least %(t)s sure was needed.")
            % {"t": _percent(policy.get("threshold") if policy else None)}
        )
    elif policy is not None:
        why = [str(_HELD[h]()) for h in policy.get("held", []) if h in _HELD]
        parts.append(
            _("Left for an operator: %(why)s.") % {"why": _("; ").join(why) or _("no reason given")}
        )
    return " ".join(str(p) for p in parts)


def public(decision: Decision) -> str:
    """What the resident is told: what the text was read as, where it went, and by what;
    never another resident's case."""
    output = decision.output or {}
    category = _category(output.get("category"))
    unit = output.get("unit")
    parts: list[str] = []
    classified = _reason(decision, "classified")
    if classified is not None:
        text = _("The city's dispatch system read your report as a matter of %(category)s.") % {
            "category": category
        }
        if classified.get("features"):
            text += " " + _("Words in your report that counted most: %(words)s.") % {
                "words": _quoted(classified["features"][:3])
            }
        parts.append(text)
    else:
        parts.append(
            _("The city's dispatch system suggested a unit from the kind of problem you chose.")
        )
    routed = _reason(decision, "routed")
    if unit and routed is not None:
        parts.append(route_sentence(routed))
    danger = _reason(decision, "emergency")
    if danger is not None:
        parts.append(
            _("Your report describes a danger, so it is handled as an emergency (within 2 hours).")
        )
    if _reason(decision, "duplicate") is not None:
        parts.append(
            _("A report of what may be the same problem nearby is already open; staff will check.")
        )
    if decision.mode == Mode.AUTOMATIC:
        parts.append(
            _("It was sure enough to send the case to %(unit)s by itself.") % {"unit": _unit(unit)}
        )
    else:
        parts.append(_("A dispatch operator decides where the case goes."))
    return " ".join(str(p) for p in parts)
