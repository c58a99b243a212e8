"""``urbangov api-token create USERNAME NAME | list [--user USERNAME] | revoke ID``.

Bearer tokens for staff and integrations calling the REST API under /api/v1/. The key is
printed once, when it is made; only its hash is kept.
"""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangov.org.actions import create_api_token, revoke_api_token
from urbangov.org.models import ApiToken
from urbangov.org.queries import is_staff_member

NAME_MAX = ApiToken._meta.get_field("name").max_length or 100


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"


class Command(BaseCommand):
    help = "Issue, list and revoke the bearer tokens that staff and integrations use on the API."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
        create = sub.add_parser(
            "create", help="make a token for a user and print its key (shown only once)"
        )
        create.add_argument("username", help="the account the token acts as")
        create.add_argument("name", help="what the token is for, e.g. 'hotline-integration'")
        listing = sub.add_parser("list", help="list tokens (never their keys)")
        listing.add_argument("--user", metavar="USERNAME", help="only this user's tokens")
        revoke = sub.add_parser("revoke", help="stop a token working")
        revoke.add_argument("id", type=int, help="the token's id, as `list` shows it")

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        if verb == "create":
            self._create(options["username"], options["name"])
        elif verb == "list":
            self._list(options.get("user"))
        else:
            self._revoke(options["id"])

    def _user(self, username: str) -> Any:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("no user named %(name)r") % {"name": username}, returncode=1)
        return user

    def _create(self, username: str, name: str) -> None:
        name = name.strip()
        if not name:
            raise CommandError(_("give the token a name saying what it is for"), returncode=1)
        if len(name) > NAME_MAX:
            raise CommandError(
                _("a token's name may be at most %(max)d characters") % {"max": NAME_MAX},
                returncode=1,
            )
        user = self._user(username)
        if not user.is_active:
            raise CommandError(
                _("user %(name)r is not active; activate the account first") % {"name": username},
                returncode=1,
            )
        token, key = create_api_token(actor=None, user=user, name=name)
        # The key alone on stdout, so that scripts can capture it; the advice on stderr.
        self.stderr.write(
            _(
                "API token %(id)d (%(name)r) for %(user)s; it is shown only this once, keep it secret:"
            )
            % {"id": token.pk, "name": name, "user": username}
        )
        if not is_staff_member(user):
            self.stderr.write(
                _(
                    "warning: %(user)s holds no role in any unit, so staff endpoints will "
                    "answer 403 until they are given one"
                )
                % {"user": username}
            )
        self.stdout.write(key)

    def _list(self, username: str | None) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("id")
        if username:
            tokens = tokens.filter(user=self._user(username))
        if not tokens.exists():
            self.stdout.write(
                _("no API tokens; make one with: urbangov api-token create USERNAME NAME")
            )
            return
        for token in tokens:
            state = _("revoked") if token.revoked else _("active")
            self.stdout.write(
                f"{token.pk}\t{token.user.get_username()}\t{token.name}\t"
                + _("created %(created)s\tlast used %(used)s\t%(state)s")
                % {
                    "created": _when(token.created_at),
                    "used": _when(token.last_used_at),
                    "state": state,
                }
            )

    def _revoke(self, token_id: int) -> None:
        token = ApiToken.objects.select_related("user").filter(pk=token_id).first()
        if token is None:
            raise CommandError(_("no API token with id %(id)d") % {"id": token_id}, returncode=1)
        if token.revoked:
            self.stdout.write(_("API token %(id)d was already revoked") % {"id": token_id})
            return
        revoke_api_token(actor=None, token=token)
        self.stdout.write(
            _("revoked API token %(id)d (%(name)r) of %(user)s")
            % {"id": token_id, "name": token.name, "user": token.user.get_username()}
        )
