"""``urbangov agreement create|approve|revoke|list``: data-sharing agreements."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand
from django.utils import timezone

from urbangov.privacy import permissions, queries
from urbangov.privacy.actions import (
    AgreementTerms,
    Refused,
    approve_agreement,
    create_agreement,
    revoke_agreement,
)
from urbangov.privacy.management.commands._common import acting_user, explain, fail, moment


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class Command(BaseCommand):
    help = (
        "Data-sharing agreements: who receives which fields of which areas' cases, on what "
        "legal basis, for what purpose, until when; approved by a second administrator."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        create = sub.add_parser("create", help="draft an agreement")
        create.add_argument("--recipient", required=True)
        create.add_argument("--recipient-contact", default="")
        create.add_argument("--legal-basis", required=True)
        create.add_argument("--purpose", required=True)
        create.add_argument("--dataset", default="cases")
        create.add_argument("--fields", required=True, help="comma-separated column names")
        create.add_argument("--areas", required=True, help="comma-separated area codes")
        create.add_argument("--valid-from", required=True, help="date or ISO date and time")
        create.add_argument("--valid-until", required=True)
        create.add_argument("--data-from", help="only cases received from then")
        create.add_argument("--data-until", help="only cases received before then")
        create.add_argument("--user", required=True, help="the administrator drafting it")
        approve = sub.add_parser("approve", help="approve a draft (not its author)")
        approve.add_argument("id", type=int)
        approve.add_argument("--user", required=True)
        revoke = sub.add_parser("revoke", help="revoke an agreement; its exports stop at once")
        revoke.add_argument("id", type=int)
        revoke.add_argument("--reason", required=True)
        revoke.add_argument("--user", required=True)
        sub.add_parser("list", help="every agreement, one JSON object a line")

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        if verb == "list":
            now = timezone.now()
            for a in queries.agreements():
                self.stdout.write(
                    json.dumps(
                        {
                            "id": a.pk,
                            "recipient": a.recipient,
                            "dataset": a.dataset,
                            "fields": a.fields,
                            "areas": a.areas,
                            "valid_from": a.valid_from.isoformat(),
                            "valid_until": a.valid_until.isoformat(),
                            "state": a.state(now),
                        },
                        ensure_ascii=False,
                    )
                )
            return
        user = acting_user(
            options["user"], permissions.can_manage_agreements, f"{verb} data-sharing agreements"
        )
        try:
            if verb == "create":
                valid_from = moment(options["valid_from"], "--valid-from")
                valid_until = moment(options["valid_until"], "--valid-until")
                assert valid_from is not None and valid_until is not None
                agreement = create_agreement(
                    actor=user,
                    terms=AgreementTerms(
                        recipient=options["recipient"],
                        recipient_contact=options["recipient_contact"],
                        legal_basis=options["legal_basis"],
                        purpose=options["purpose"],
                        dataset=options["dataset"],
                        fields=_list(options["fields"]),
                        areas=_list(options["areas"]),
                        valid_from=valid_from,
                        valid_until=valid_until,
                        data_from=moment(options["data_from"], "--data-from"),
                        data_until=moment(options["data_until"], "--data-until"),
                    ),
                )
                self.stdout.write(
                    f"agreement {agreement.pk} drafted; another administrator approves it with "
                    f"`urbangov agreement approve {agreement.pk} --user NAME`"
                )
            elif verb == "approve":
                agreement = approve_agreement(actor=user, agreement_id=options["id"])
                self.stdout.write(f"agreement {agreement.pk} approved")
            elif verb == "revoke":
                agreement = revoke_agreement(
                    actor=user, agreement_id=options["id"], reason=options["reason"]
                )
                self.stdout.write(f"agreement {agreement.pk} revoked")
            else:  # pragma: no cover - argparse refuses other verbs
                raise fail(f"unknown verb {verb}")
        except (ValidationError, Refused) as exc:
            raise explain(exc) from exc
