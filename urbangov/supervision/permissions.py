"""Who may see and do what in supervision: one predicate per page or action. Callers answer
404 when a predicate says no, the same as for something that does not exist."""

from __future__ import annotations

from typing import Any

from urbangov.cases.models import Case
from urbangov.cases.permissions import can_view
from urbangov.org.models import Role, Unit
from urbangov.org.queries import scope_of

# Roles that see the city's (or their area's) dashboards, evaluation, hot-spots and reports.
SUPERVISE_ROLES = (Role.SUPERVISOR, Role.ANALYST)


def can_supervise(user: Any) -> bool:
    """The dashboards, the evaluation, hot-spots, overdue lists and the monthly report."""
    return scope_of(user).has(*SUPERVISE_ROLES)


def can_view_unit_board(user: Any, unit: Unit) -> bool:
    """A unit's own board: its staff (any role), and those who supervise."""
    scope = scope_of(user)
    if scope.has(*SUPERVISE_ROLES):
        return True
    return any(unit.pk in ids for ids in scope.units.values())


def can_escalate(user: Any, case: Case) -> bool:
    """The formal escalation (督办): administrators, and supervisors whose unit handles the
    case or answers for its area."""
    scope = scope_of(user)
    if scope.is_admin:
        return True
    if Role.SUPERVISOR not in scope.roles or not can_view(user, case):
        return False
    if case.unit_id is not None and case.unit_id in scope.unit_ids(Role.SUPERVISOR):
        return True
    path = case.area.path if case.area_id is not None and case.area is not None else None
    return scope.covers_area(path, Role.SUPERVISOR)


def can_create_task(user: Any) -> bool:
    """Turning a hot-spot or an alert into a proactive task for a unit."""
    scope = scope_of(user)
    return scope.is_admin or Role.SUPERVISOR in scope.roles
