"""State changes of the Open311 app: API keys, and service requests taken in through them."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangov.cases.actions import Submission, submit_case
from urbangov.open311.models import ApiKey, ServiceRequest, new_key
from urbangov.org.models import hash_token
from urbangov.privacy.actions import Actor, record

NAME_MAX = 100


def create_api_key(*, actor: Actor, name: str) -> tuple[ApiKey, str]:
    """A new key for the application ``name``; the key is returned once and only its hash kept."""
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise ValidationError(_("A key's name has 1 to %(max)d characters.") % {"max": NAME_MAX})
    if any(not ch.isprintable() for ch in name):
        raise ValidationError(_("A key's name cannot hold control characters."))
    raw = new_key()
    try:
        with transaction.atomic():
            key = ApiKey.objects.create(name=name, prefix=raw[:12], key_hash=hash_token(raw))
            record(actor=actor, action="open311.key.create", obj=key, data={"name": name})
    except IntegrityError:
        raise ValidationError(
            _("A key named %(name)r already exists (names stay taken after revocation).")
            % {"name": name}
        ) from None
    return key, raw


def revoke_api_key(*, actor: Actor, key: ApiKey) -> ApiKey:
    """Stop the key working; requests it made stay as they are."""
    with transaction.atomic():
        changed = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if not changed:
            raise ValidationError(_("The key %(name)r is already revoked.") % {"name": key.name})
        record(actor=actor, action="open311.key.revoke", obj=key, data={"name": key.name})
    key.refresh_from_db(fields=["revoked_at"])
    return key


def key_for(raw: str) -> ApiKey | None:
    """The active key whose hash matches ``raw``, or None."""
    if not raw or len(raw) > 200:
        return None
    return ApiKey.objects.active().filter(key_hash=hash_token(raw)).first()


@dataclass(frozen=True)
class Extras:
    """What a GeoReport v2 request carries that a case has no field for."""

    email: str = ""
    device_id: str = ""
    account_id: str = ""
    address_id: str = ""
    media_url: str = ""


def submit_request(
    *, key: ApiKey, submission: Submission, extras: Extras
) -> tuple[ServiceRequest, bool]:
    """Take in a service request posted with ``key``: the case through ``submit_case``, and
    its Open311 record (token, ids, e-mail) in the same transaction.

    The case's own audit event names no one (the submitter is a resident without an account);
    this action adds one labelled with the key's name, so the log says which application
    brought the case in. A retry with the same idempotency key returns the first request and
    ``created`` False.
    """
    with transaction.atomic():
        result = submit_case(actor=None, submission=submission)
        if not result.created:
            existing = ServiceRequest.objects.filter(case=result.case, api_key=key).first()
            if existing is not None:
                return existing, False
        request = ServiceRequest.objects.create(
            case=result.case,
            api_key=key,
            email=extras.email,
            device_id=extras.device_id,
            account_id=extras.account_id,
            address_id=extras.address_id,
            media_url=extras.media_url,
        )
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
        record(
            actor=None,
            action="open311.request.create",
            obj=result.case,
            label=key.audit_label(),
            data={
                "key": key.name,
                "tracking_code": result.case.tracking_code,
                "service_code": submission.reported_category.code
                if submission.reported_category
                else None,
            },
        )
    return request, True
