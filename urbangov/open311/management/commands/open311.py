"""``urbangov open311 create-key NAME | list-keys | revoke-key NAME``."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from urbangov.open311.actions import create_api_key, revoke_api_key
from urbangov.open311.models import ApiKey


def _when(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"


class Command(BaseCommand):
    help = "Manage the API keys that applications post Open311 service requests with."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
        create = sub.add_parser(
            "create-key", help="make a key for an application and print it (shown only once)"
        )
        create.add_argument("name", help="who the key is for, e.g. 'street-app'")
        sub.add_parser("list-keys", help="list keys: name, first characters, use, revocation")
        revoke = sub.add_parser("revoke-key", help="stop a key working")
        revoke.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        if verb == "create-key":
            try:
                key, raw = create_api_key(actor=None, name=options["name"])
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages), returncode=1) from None
            # The key alone on stdout, so that scripts can capture it; the advice on stderr.
            self.stderr.write(
                f"Open311 API key for {key.name!r}; it is shown only this once, keep it secret:"
            )
            self.stdout.write(raw)
            return
        if verb == "list-keys":
            keys = list(ApiKey.objects.all())
            if not keys:
                self.stdout.write(
                    "no Open311 API keys yet; make one with: urbangov open311 create-key NAME"
                )
            for key in keys:
                state = f"revoked {_when(key.revoked_at)}" if key.revoked_at else "active"
                self.stdout.write(
                    f"{key.name}\t{key.prefix}…\tcreated {_when(key.created_at)}\t"
                    f"last used {_when(key.last_used_at)}\t{state}"
                )
            return
        key_or_none = ApiKey.objects.filter(name=options["name"]).first()
        if key_or_none is None:
            raise CommandError(f"no Open311 API key named {options['name']!r}", returncode=1)
        try:
            revoke_api_key(actor=None, key=key_or_none)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages), returncode=1) from None
        self.stdout.write(f"revoked the Open311 API key {key_or_none.name!r}")
