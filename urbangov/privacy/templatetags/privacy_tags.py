from typing import Any

from django import template

from urbangov.privacy import permissions, purpose

register = template.Library()


@register.simple_tag
def privacy_nav(user: Any) -> dict[str, bool]:
    """What the navigation offers this user of the privacy pages."""
    return {"audit": permissions.can_read_audit_log(user)}


@register.filter(name="redact")
def redact_filter(text: str | None) -> str:
    """Free text as a reader without a stated purpose sees it: personal data masked."""
    return purpose.redact(text)
