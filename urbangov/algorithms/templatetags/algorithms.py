"""Template tags for pages that show decisions about an object (the resident's tracking
page, staff case pages)."""

from __future__ import annotations

from typing import Any

from django import template
from django.db import models
from django.utils.translation import gettext as _

from urbangov.algorithms import explain
from urbangov.algorithms.models import Kind, Mode, Verdict
from urbangov.algorithms.queries import appeal_of, threads_about
from urbangov.algorithms.views import appeal_token

register = template.Library()


def _human(verdict: str) -> str:
    if verdict == Verdict.ACCEPTED:
        return _("A member of staff checked the algorithm's suggestion and confirmed it.")
    if verdict == Verdict.ALTERNATIVE:
        return _("A member of staff chose another of the algorithm's suggestions.")
    if verdict == Verdict.OVERTURNED:
        return _("The decision was overturned on appeal.")
    if verdict == Verdict.CONFIRMED:
        return _("The decision was confirmed on appeal.")
    return _("A member of staff decided differently from the algorithm, with a recorded reason.")


@register.simple_tag
def resident_account(obj: models.Model) -> list[dict[str, Any]]:
    """The algorithms' decisions about ``obj`` told for the person they are about: what was
    decided and why, whether it took effect by itself or a person decided, newest first."""
    told = []
    for thread in threads_about(obj):
        decision = thread.decision
        people = [a for a in thread.answers if a.kind == Kind.HUMAN]
        told.append(
            {
                "at": decision.created_at,
                "algorithm": decision.algorithm.name,
                "version": decision.version.version if decision.version else "",
                "automatic": decision.mode == Mode.AUTOMATIC,
                "text": explain.public(decision),
                "people": [
                    {"at": p.created_at, "text": _human(p.verdict), "reason": p.reason}
                    for p in people
                    if p.verdict in (Verdict.OVERTURNED, Verdict.CONFIRMED)
                ]
                + [
                    {"at": p.created_at, "text": _human(p.verdict), "reason": ""}
                    for p in people
                    if p.verdict not in (Verdict.OVERTURNED, Verdict.CONFIRMED)
                ],
                "appeal": appeal_of(decision),
                "appeal_token": appeal_token(decision.pk),
            }
        )
    return told


@register.simple_tag
def algorithms_nav(user: Any) -> dict[str, bool]:
    """Which of the algorithms app's staff pages go in the main menu for ``user``."""
    from urbangov.algorithms import permissions
    from urbangov.org.models import Role
    from urbangov.org.queries import scope_of

    return {
        "manage": permissions.can_edit_register(user) or permissions.can_review(user),
        "appeals": scope_of(user).has(Role.SUPERVISOR, Role.OPERATOR),
    }
