"""Who may see the equity pages and run reports and siting plans: analysts, supervisors and
administrators. Everyone else is answered 404, the same as for a page that does not exist."""

from __future__ import annotations

from typing import Any

from urbangov.org.models import Role
from urbangov.org.queries import scope_of

EQUITY_ROLES = (Role.ANALYST, Role.SUPERVISOR)


def can_view(user: Any) -> bool:
    """The equity reports, the digital divide, service-level equity and siting plans."""
    return scope_of(user).has(*EQUITY_ROLES)


def can_run(user: Any) -> bool:
    """Compute and keep a new access report or siting plan."""
    return scope_of(user).has(*EQUITY_ROLES)
