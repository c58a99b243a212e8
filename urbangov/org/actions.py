"""State changes of the organisation that happen outside the admin."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from urbangov.org.models import ApiToken, Category, Unit, UnitKind, Urgency, hash_token
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


def create_category(
    *,
    actor: Actor,
    code: str,
    name: str,
    name_en: str = "",
    parent: Category | None = None,
    urgency: str = Urgency.ORDINARY,
    description: str = "",
) -> Category:
    """A new case category (outside the admin: an import that meets an unknown type)."""
    with transaction.atomic():
        category = Category(
            code=code,
            name=name,
            name_en=name_en,
            parent=parent,
            urgency=urgency,
            description=description,
        )
        category.full_clean()
        category.save()
        record(actor=actor, action="org.category.create", obj=category, data={"code": code})
    return category


def create_unit(*, actor: Actor, code: str, name: str, kind: str = UnitKind.DEPARTMENT) -> Unit:
    """A new handling unit (outside the admin: an import that meets an unknown agency)."""
    with transaction.atomic():
        unit = Unit(code=code, name=name, kind=kind)
        unit.full_clean()
        unit.save()
        record(actor=actor, action="org.unit.create", obj=unit, data={"code": code})
    return unit
