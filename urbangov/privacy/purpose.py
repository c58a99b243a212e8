"""Purpose-bound access to personal data (用途限定).

Raw personal data is shown only to a reader whose role may see it **and** who states why:
handling the case, an appeal, a legal request. Every such read is an audit event carrying the
purpose (:func:`urbangov.privacy.actions.record`). Everyone else, and the same reader without a
purpose, sees the data redacted: contact details masked, free text through the PII detector.
The apps decide who may (their ``permissions.py``); this module says what a purpose is and how
text is redacted, so that every page and API answer does it the same way.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from urbangov.analytics import pii


class Purpose(models.TextChoices):
    HANDLING = "handling", _("handling this case")
    APPEAL = "appeal", _("an appeal")
    LEGAL = "legal", _("a legal request")


class UnknownPurpose(ValueError):
    pass


def stated(value: str | None) -> Purpose | None:
    """The purpose a request states (``?purpose=…``), None when it states none.

    An unknown purpose is refused (:class:`UnknownPurpose`) rather than ignored, so that a
    typing error never looks like a read that was allowed."""
    value = (value or "").strip()
    if not value:
        return None
    if value not in Purpose.values:
        raise UnknownPurpose(
            _("Unknown purpose %(value)r; state one of: %(known)s.")
            % {"value": value[:40], "known": ", ".join(Purpose.values)}
        )
    return Purpose(value)


def redact(text: str | None) -> str:
    """``text`` with the personal data the detector finds masked (张**, 138****5678, [地址])."""
    return pii.redact(text) if text else (text or "")
