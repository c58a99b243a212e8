"""``urbangov algorithms``: the register, impact assessments and the ethics board's reviews.

    urbangov algorithms export [--all]                   the register as JSON (last line)
    urbangov algorithms questions                         the impact questionnaire as JSON
    urbangov algorithms assess CODE --answers FILE.json [--actor USER]
    urbangov algorithms review CODE --outcome approve|require_changes|suspend|retire
                               --reasons TEXT --actor USER
    urbangov algorithms phase CODE idea|pilot|production|retired [--reason TEXT] --actor USER

``export`` prints production algorithms (what the public page shows), ``--all`` every one.
Refusals (unanswered questions, a production move the safeguards forbid) exit with status 2
and say why; nothing is saved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from urbangov.algorithms import actions, impact, permissions, queries
from urbangov.algorithms.models import Phase, ReviewOutcome


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return "; ".join(exc.messages)


class Command(BaseCommand):
    help = "The algorithm register, impact assessments and ethics reviews."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = parser.add_subparsers(
            dest="verb", required=True, metavar="{export,questions,assess,review,phase}"
        )
        export = verbs.add_parser("export", help="the register as JSON")
        export.add_argument("--all", action="store_true", help="every phase, not production only")
        verbs.add_parser("questions", help="the impact questionnaire as JSON")
        assess = verbs.add_parser("assess", help="score an impact questionnaire")
        assess.add_argument("code")
        assess.add_argument("--answers", required=True, metavar="FILE.json")
        assess.add_argument("--actor", required=True)
        review = verbs.add_parser("review", help="record the ethics board's review")
        review.add_argument("code")
        review.add_argument("--outcome", required=True, choices=ReviewOutcome.values)
        review.add_argument("--reasons", required=True)
        review.add_argument("--actor", required=True)
        phase = verbs.add_parser("phase", help="move an algorithm to another phase")
        phase.add_argument("code")
        phase.add_argument("phase", choices=Phase.values)
        phase.add_argument("--reason", default="")
        phase.add_argument("--actor", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        if verb == "export":
            data = queries.register_export(everything=options["all"])
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        if verb == "questions":
            self.stdout.write(
                json.dumps(
                    [
                        {
                            "id": q.id,
                            "kind": q.kind,
                            "text": str(q.text),
                            "required": q.required,
                            "options": [
                                {"value": o.value, "label": str(o.label), "points": o.points}
                                for o in q.options
                            ],
                        }
                        for q in impact.QUESTIONS
                    ],
                    ensure_ascii=False,
                )
            )
            return
        algorithm = queries.algorithm(options["code"])
        if algorithm is None:
            raise CommandError(f"no algorithm {options['code']!r}", returncode=2)
        user = get_user_model().objects.filter(username=options["actor"]).first()
        if user is None:
            raise CommandError(f"no user {options['actor']!r}", returncode=2)
        try:
            if verb == "assess":
                if not permissions.can_assess(user):
                    raise CommandError("only an algorithm officer may assess", returncode=2)
                try:
                    answers = json.loads(Path(options["answers"]).read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise CommandError(f"cannot read the answers: {exc}", returncode=2) from None
                if not isinstance(answers, dict):
                    raise CommandError("the answers are one JSON object", returncode=2)
                row = actions.assess_impact(actor=user, algorithm=algorithm, answers=answers)
                out: dict[str, Any] = {
                    "algorithm": algorithm.code,
                    "level": row.level,
                    "raw_score": row.raw_score,
                    "mitigation_score": row.mitigation_score,
                    "score": row.score,
                }
            elif verb == "review":
                if not permissions.can_review(user):
                    raise CommandError("only the ethics board may review", returncode=2)
                review = actions.record_review(
                    actor=user,
                    algorithm=algorithm,
                    outcome=options["outcome"],
                    reasons=options["reasons"],
                )
                due = review.next_review_due
                out = {
                    "algorithm": algorithm.code,
                    "outcome": review.outcome,
                    "next_review_due": due.isoformat() if due else None,
                }
            else:
                if not permissions.can_edit_register(user):
                    raise CommandError("only an algorithm officer may do this", returncode=2)
                moved = actions.set_phase(
                    actor=user,
                    algorithm=algorithm,
                    phase=options["phase"],
                    reason=options["reason"],
                )
                out = {"algorithm": algorithm.code, "phase": moved.phase}
        except ValidationError as exc:
            raise CommandError(_errors(exc), returncode=2) from None
        self.stdout.write(json.dumps(out, ensure_ascii=False))
