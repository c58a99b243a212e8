"""The site header's link to the equity pages, for those who may see them."""

from __future__ import annotations

from typing import Any

from django import template

from urbangov.equity.permissions import can_view

register = template.Library()


@register.simple_tag
def equity_nav(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and can_view(user))


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """``mapping[key]`` in a template (None when absent)."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None
