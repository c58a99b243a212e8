"""Open311 GeoReport v2: the keys that integrators post with, and the Open311 side of a case.

A case that arrives through Open311 is an ordinary :class:`~urbangov.cases.models.Case`
(channel "app"); :class:`ServiceRequest` keeps what the spec carries that a case has no field
for — which key sent it, the token the client may poll, the client's account and device ids,
an e-mail address, an address id and a media URL.

Personal data here: ``ServiceRequest.email``, ``device_id`` and ``account_id`` (encrypted at
rest, never returned by GET endpoints, erased with the case).
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from urbangov.cases.models import Case
from urbangov.privacy.fields import EncryptedTextField

KEY_PREFIX = "o311_"

# Fields of this app that hold personal data, for exports and erasure.
PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "ServiceRequest": ("email", "device_id", "account_id"),
}


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def new_request_token() -> str:
    return secrets.token_urlsafe(18)


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def active(self) -> ApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """A key an application posts service requests with; only its hash is stored."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    # The first characters of the key, so that an administrator can tell keys apart.
    prefix = models.CharField(_("key starts with"), max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("Open311 API key")
        verbose_name_plural = _("Open311 API keys")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def is_active(self) -> bool:
        return self.revoked_at is None

    def audit_label(self) -> str:
        return f"open311:{self.name}"


class ServiceRequest(models.Model):
    """The Open311 side of a case that an application submitted."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="open311")
    api_key = models.ForeignKey(
        ApiKey, verbose_name=_("API key"), on_delete=models.PROTECT, related_name="requests"
    )
    token = models.CharField(max_length=40, unique=True, default=new_request_token, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    address_id = models.CharField(_("address id"), max_length=100, blank=True)
    media_url = models.URLField(_("media URL"), max_length=1000, blank=True)
    email = EncryptedTextField(_("e-mail"), blank=True, default="")
    device_id = EncryptedTextField(_("device id"), blank=True, default="")
    account_id = EncryptedTextField(_("account id"), blank=True, default="")

    class Meta:
        verbose_name = _("Open311 service request")
        verbose_name_plural = _("Open311 service requests")

    def __str__(self) -> str:
        return f"{self.case_id} via {self.api_key_id}"
