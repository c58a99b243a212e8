"""Who may do what with the privacy app's pages and commands: one predicate per action.

Roles come from the organisation (``org``), read when a page or a command asks; the privacy
app's models and actions, which ``org`` itself uses, never import it."""

from __future__ import annotations

from typing import Any

from urbangov.org.models import Role
from urbangov.org.queries import is_staff_member, scope_of


def can_read_audit_log(user: Any) -> bool:
    """Auditors, and administrators (who answer for the system)."""
    return scope_of(user).has(Role.AUDITOR)


def can_manage_agreements(user: Any) -> bool:
    """Draft, approve and revoke data-sharing agreements: administrators."""
    return scope_of(user).is_admin


def can_export(user: Any) -> bool:
    """Export case-level data under an agreement: administrators."""
    return scope_of(user).is_admin


def can_apply_retention(user: Any) -> bool:
    return scope_of(user).is_admin


def needs_second_factor(user: Any) -> bool:
    """Staff (any role in a unit, administrators, Django staff) sign in with a second factor."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_staff or user.is_superuser or is_staff_member(user))
