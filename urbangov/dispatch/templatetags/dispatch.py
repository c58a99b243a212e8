"""Template tags the case pages include: the dispatcher's panel on a case, and its hints on
the workbench. They live here so that the cases app's templates only include them and the
cases app never imports dispatch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import template

from urbangov.cases.models import Case
from urbangov.dispatch import queries

register = template.Library()


@register.inclusion_tag("dispatch/_case_panel.html", takes_context=True)
def dispatch_panel(context: dict[str, Any], case: Case) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "case": case,
        "panel": queries.panel(user, case) if user is not None else None,
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag(takes_context=True)
def dispatch_hint(context: Any, case: Case) -> queries.Hint | None:
    """The dispatcher's hint for one workbench row. The hints of every row on the page
    (``rows``) are read in one query, on the first row, and kept on the request."""
    request = context.get("request")
    if request is None:
        return queries.hints([case]).get(case.pk)
    asked: set[int] = getattr(request, "_dispatch_asked", set())
    if case.pk not in asked:
        rows: Sequence[Any] = context.get("rows") or []
        cases = [r["case"] if isinstance(r, dict) else r for r in rows] + [case]
        request._dispatch_hints = {
            **getattr(request, "_dispatch_hints", {}),
            **queries.hints(cases),
        }
        request._dispatch_asked = asked | {c.pk for c in cases}
    found: queries.Hint | None = request._dispatch_hints.get(case.pk)
    return found


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(100 * value)}%"
