"""State changes of the organisation that happen outside the admin."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from urbangov.org.models import ApiToken, hash_token
from urbangov.privacy.actions import Actor, record


def create_api_token(*, actor: Actor, user: User, name: str) -> tuple[ApiToken, str]:
    """A new bearer token for ``user``; the key is returned once and only its hash kept."""
    key = ApiToken.new_key()
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name, key_hash=hash_token(key))
        record(actor=actor, action="org.api_token.create", obj=token, data={"name": name})
    return token, key


def revoke_api_token(*, actor: Actor, token: ApiToken) -> None:
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk).update(revoked=True)
        record(actor=actor, action="org.api_token.revoke", obj=token, data={})
