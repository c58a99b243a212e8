"""Masking personal data for readers who may know that it exists but not what it is."""

from __future__ import annotations


def mask_name(name: str) -> str:
    """张三 -> 张*, Li Ming -> L******: enough to address a person, not to identify them."""
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str) -> str:
    """13800138000 -> 138****8000: the first three and last four digits stay."""
    digits = [c for c in phone if c.isdigit()]
    if len(digits) < 8:
        return "*" * len(digits)
    return "".join(digits[:3]) + "*" * (len(digits) - 7) + "".join(digits[-4:])
