"""Deployment checks (`urbangov check --deploy`, and at every start) for the keys that protect
personal data and the audit log."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from urbangov.privacy import crypto


@register(Tags.security)
def encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Garbage in URBANGOV_ENCRYPTION_KEYS stops the start (every command, the server), rather
    than the first page that reads a contact."""
    try:
        problems = crypto.key_problems(crypto.configured_keys())
    except ImproperlyConfigured as exc:
        problems = [str(exc)]
    return [Error(problem, id="urbangov.E001") for problem in problems]


@register(Tags.security, deploy=True)
def derived_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.DEBUG:
        return []
    found: list[CheckMessage] = []
    if not (
        os.environ.get("URBANGOV_ENCRYPTION_KEYS")
        or os.environ.get("URBANGOV_ENCRYPTION_KEYS_FILE")
    ):
        found.append(
            Warning(
                "Personal data is encrypted with a key derived from SECRET_KEY.",
                hint="Set URBANGOV_ENCRYPTION_KEYS (or _FILE): rotating SECRET_KEY would "
                "otherwise make every stored contact unreadable.",
                id="urbangov.W001",
            )
        )
    if not settings.URBANGOV_AUDIT_KEY:
        found.append(
            Warning(
                "Audit-log checkpoints are signed with SECRET_KEY.",
                hint="Set URBANGOV_AUDIT_KEY (or _FILE): rotating SECRET_KEY would otherwise "
                "make `urbangov auditlog verify` fail on every checkpoint.",
                id="urbangov.W002",
            )
        )
    if not os.environ.get("URBANGOV_LOOKUP_KEY"):
        found.append(
            Warning(
                "Contact lookups use a key derived from SECRET_KEY.",
                hint="Set URBANGOV_LOOKUP_KEY, so that SECRET_KEY can be rotated.",
                id="urbangov.W003",
            )
        )
    return found
