"""What the site header shows of supervision: the link for those who supervise, and the
signed-in staff member's unread notices."""

from __future__ import annotations

from typing import Any

from django import template

from urbangov.org.queries import is_staff_member
from urbangov.supervision.models import Notification
from urbangov.supervision.permissions import can_supervise

register = template.Library()


@register.simple_tag
def supervision_nav(user: Any) -> dict[str, Any]:
    if user is None or not getattr(user, "is_authenticated", False) or not is_staff_member(user):
        return {"staff": False, "supervise": False, "unread": 0}
    return {
        "staff": True,
        "supervise": can_supervise(user),
        "unread": Notification.objects.filter(user=user, read_at__isnull=True).count(),
    }
