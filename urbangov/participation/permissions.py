"""Who may do what in the deliberation hall: one predicate per action.

Everything a topic shows is public; these predicates guard changes. Staff who may not manage a
topic get 404 from its management pages and endpoints, the same as for a missing topic.
"""

from __future__ import annotations

from typing import Any

from urbangov.org.models import Role, Unit
from urbangov.org.queries import scope_of

# Roles that may organise deliberation in their unit (not auditors or algorithm officers,
# whose work is to watch, not to run things).
ORGANISER_ROLES = (Role.OPERATOR, Role.HANDLER, Role.SUPERVISOR, Role.ANALYST)


def resident_of(user: Any) -> Any:
    """The user's resident profile, or None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.resident
    except Exception:  # RelatedObjectDoesNotExist
        return None


def is_verified_resident(user: Any) -> bool:
    resident = resident_of(user)
    return resident is not None and resident.verified_at is not None


def can_open_topic(user: Any, unit: Unit | None) -> bool:
    scope = scope_of(user)
    if scope.is_admin:
        return True
    return unit is not None and unit.pk in scope.unit_ids(*ORGANISER_ROLES)


def can_manage(user: Any, topic: Any) -> bool:
    """Organise the topic: its unit's staff, supervisors whose areas cover it, admins."""
    scope = scope_of(user)
    if scope.is_admin:
        return True
    if topic.unit_id is not None and topic.unit_id in scope.unit_ids(*ORGANISER_ROLES):
        return True
    area = topic.area
    return scope.covers_area(area.path if area is not None else None, Role.SUPERVISOR)


def can_moderate(user: Any, topic: Any) -> bool:
    return can_manage(user, topic)


def can_respond(user: Any, proposal: Any) -> bool:
    return can_manage(user, proposal.topic)


def can_update_result(user: Any, result: Any) -> bool:
    """The responsible unit's staff report progress, as do the topic's organisers."""
    scope = scope_of(user)
    if result.unit_id in scope.unit_ids(*ORGANISER_ROLES):
        return True
    return can_manage(user, result.topic)


def can_verify_residents(user: Any) -> bool:
    """Counter staff: anyone who holds an operator or handler role (or an admin)."""
    scope = scope_of(user)
    return scope.has(Role.OPERATOR, Role.HANDLER)


def can_assist(user: Any, topic: Any) -> bool:
    """Record views for residents who do not go online: the organisers, and operators and
    handlers of units that answer for the topic's area (the street office, the counter)."""
    if can_manage(user, topic):
        return True
    scope = scope_of(user)
    return scope.covers_area(topic.area.path, Role.OPERATOR, Role.HANDLER)
