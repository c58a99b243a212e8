"""Who may do what to a case: one predicate per action. Callers answer 404 when a staff
member may not even see the case, the same as for a case that does not exist."""

from __future__ import annotations

from typing import Any

from urbangov.cases.models import Case
from urbangov.org.models import Role
from urbangov.org.queries import Scope, scope_of

# Roles that see cases by area (their units' areas) as well as by unit.
AREA_ROLES = (Role.OPERATOR, Role.SUPERVISOR, Role.ANALYST)
CASE_ROLES = (Role.OPERATOR, Role.HANDLER, Role.SUPERVISOR, Role.ANALYST)
# Roles that take cases in for residents (phone, counter, assisted), without the public rate
# limit; administrators too. Analysts, auditors and algorithm officers submit as residents do.
INTAKE_ROLES = (Role.OPERATOR, Role.HANDLER, Role.SUPERVISOR)


def _area_path(case: Case) -> str | None:
    return case.area.path if case.area_id is not None and case.area is not None else None


def _covers(scope: Scope, case: Case, *roles: str) -> bool:
    if scope.is_admin:
        return True
    if case.unit_id is not None and case.unit_id in scope.unit_ids(*roles):
        return True
    area_roles = [r for r in roles if r in AREA_ROLES]
    return bool(area_roles) and scope.covers_area(_area_path(case), *area_roles)


def can_view(user: Any, case: Case) -> bool:
    return _covers(scope_of(user), case, *CASE_ROLES)


def can_take_intake(user: Any) -> bool:
    """Whether the user may enter cases by the staff channels and skip the public rate limit."""
    return scope_of(user).has(*INTAKE_ROLES)


def can_see_contact(user: Any, case: Case) -> bool:
    """Raw contact details: the handler of the case and operators who may call back."""
    scope = scope_of(user)
    return _covers(scope, case, Role.HANDLER, Role.OPERATOR)


def _operator(user: Any, case: Case) -> bool:
    return _covers(scope_of(user), case, Role.OPERATOR)


def _handler(user: Any, case: Case) -> bool:
    scope = scope_of(user)
    return scope.is_admin or (
        case.unit_id is not None and case.unit_id in scope.unit_ids(Role.HANDLER)
    )


def _overseer(user: Any, case: Case) -> bool:
    return _covers(scope_of(user), case, Role.OPERATOR, Role.SUPERVISOR)


# transition name -> predicate(user, case)
PREDICATES = {
    "dispatch": _operator,
    "merge": _operator,
    "reject": _operator,
    "accept": _handler,
    "send_back": _handler,
    "request_extension": _handler,
    "resolve": _handler,
    "grant_extension": _overseer,
    "refuse_extension": _overseer,
    "close": _overseer,
}


def can(name: str, user: Any, case: Case) -> bool:
    predicate = PREDICATES.get(name)
    return predicate is not None and predicate(user, case)
