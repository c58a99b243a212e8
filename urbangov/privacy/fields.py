from __future__ import annotations

from typing import Any

from django.db import models

from urbangov.privacy import crypto


class EncryptedTextField(models.TextField[str, str]):
    """Text stored encrypted (Fernet); the Python value is the plain text.

    Encrypted values cannot be filtered on; pair the field with a keyed-hash column where
    exact lookup is needed (see :func:`urbangov.privacy.crypto.keyed_hash`).
    """

    description = "Text encrypted at rest"

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return crypto.encrypt(str(value))

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None:
            return None
        return crypto.decrypt(value)
