"""Open data: topics, proposals, statements and vote matrices, anonymised, in Polis's format.

One export of a topic is a set of CSV files as Polis's own export writes them (so that tools
made for Polis's open data read ours), plus our proposals and meeting counts:

- ``summary.csv`` — key, value pairs: topic, url, voters, voters-in-conv, commenters, comments,
  groups, conversation-description;
- ``comments.csv`` — the statements: timestamp (ms), datetime, comment-id, author-id, agrees,
  disagrees, moderated (1 in, -1 out), comment-body;
- ``votes.csv`` — timestamp, datetime, comment-id, voter-id, vote (1, -1, 0);
- ``participants-votes.csv`` — participant, group-id, n-comments, n-votes, n-agree,
  n-disagree, then one column per comment id;
- ``proposals.csv`` and ``meeting-results.csv`` — proposals with their support by source and the
  city's answer; counts taken at meetings.

Anonymised: every participant gets a random id drawn for this export alone (the same person has
unrelated ids in two exports), no names or account names appear, and vote times are cut to the
day. Meeting counts are totals, never people. :func:`topics_csv` lists every topic.
"""

from __future__ import annotations

import csv
import io
import secrets
import zipfile
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from urbangov.participation import queries
from urbangov.participation.models import MeetingResult, StatementStatus, StatementVote, Topic


def _csv(rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue()


def _day_ms(moment: datetime) -> int:
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return int(day.timestamp() * 1000)


def _datetime_text(moment: datetime) -> str:
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.strftime("%a %b %d %H:%M:%S UTC %Y")


class _Pseudonyms:
    """Random ids for one export: a shuffled numbering, unrelated to account ids."""

    def __init__(self, keys: list[str]) -> None:
        shuffled = list(dict.fromkeys(keys))
        secrets.SystemRandom().shuffle(shuffled)
        self.ids = {k: i for i, k in enumerate(shuffled)}

    def __call__(self, key: str) -> int:
        if key not in self.ids:
            self.ids[key] = len(self.ids)
        return self.ids[key]


def topic_files(topic: Topic) -> dict[str, str]:
    """The export of one topic: file name -> CSV text."""
    analysis, data = queries.opinion_for(topic)
    statements = list(topic.statements.order_by("pk"))
    votes = list(
        StatementVote.objects.filter(statement__topic=topic)
        .order_by("at", "pk")
        .values_list("user_id", "assisted_id", "statement_id", "value", "at")
    )
    authors = [f"u{s.author_id}" for s in statements if s.author_id is not None]
    voters = list(data.votes.participants)
    pseudo = _Pseudonyms(voters + authors)
    group = {
        key: int(g)
        for key, g, c in zip(voters, analysis.labels, analysis.clustered, strict=True)
        if c
    }
    per_statement = Counter((sid, v) for _u, _a, sid, v, _at in votes)

    comments: list[list[Any]] = [
        [
            "timestamp",
            "datetime",
            "comment-id",
            "author-id",
            "agrees",
            "disagrees",
            "moderated",
            "comment-body",
        ]
    ]
    for s in statements:
        comments.append(
            [
                _day_ms(s.created_at),
                _datetime_text(s.created_at),
                s.pk,
                pseudo(f"u{s.author_id}") if s.author_id is not None else "",
                per_statement[(s.pk, 1)],
                per_statement[(s.pk, -1)],
                1 if s.status == StatementStatus.ACCEPTED else -1,
                s.text,
            ]
        )

    vote_rows: list[list[Any]] = [["timestamp", "datetime", "comment-id", "voter-id", "vote"]]
    matrix: dict[str, dict[int, int]] = {}
    for user_id, assisted_id, statement_id, value, at in votes:
        key = f"u{user_id}" if user_id is not None else f"a{assisted_id}"
        vote_rows.append([_day_ms(at), _datetime_text(at), statement_id, pseudo(key), value])
        matrix.setdefault(key, {})[statement_id] = value
    # Rows in a random order too: the order people joined would say who is who.
    vote_rows = [vote_rows[0], *sorted(vote_rows[1:], key=lambda r: (r[0], r[2], r[3]))]

    written = Counter(f"u{s.author_id}" for s in statements if s.author_id is not None)
    header = ["participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree"]
    pv: list[list[Any]] = [[*header, *[s.pk for s in statements]]]
    for key in sorted(matrix, key=pseudo):
        row_votes = matrix[key]
        values = list(row_votes.values())
        pv.append(
            [
                pseudo(key),
                group.get(key, ""),
                written.get(key, 0),
                len(values),
                values.count(1),
                values.count(-1),
                *[row_votes.get(s.pk, "") for s in statements],
            ]
        )

    summary: list[list[Any]] = [
        ["topic", topic.title],
        ["url", f"/participation/topics/{topic.pk}/"],
        ["voters", len(matrix)],
        ["voters-in-conv", int(analysis.clustered.sum())],
        ["commenters", len(written)],
        ["comments", len(statements)],
        ["groups", analysis.k],
        ["conversation-description", topic.summary],
    ]

    proposals: list[list[Any]] = [
        [
            "proposal-id",
            "title",
            "text",
            "supports-online",
            "supports-assisted",
            "supports-at-meetings",
            "against-at-meetings",
            "response",
            "response-reasons",
        ]
    ]
    for tally in queries.proposal_tallies(topic):
        p = tally.proposal
        response = getattr(p, "response", None)
        proposals.append(
            [
                p.pk,
                p.title,
                p.text,
                tally.online,
                tally.assisted,
                tally.meeting_for,
                tally.meeting_against,
                response.verdict if response else "",
                response.reasons if response else "",
            ]
        )

    meeting_rows: list[list[Any]] = [
        [
            "meeting-id",
            "date",
            "method",
            "proposal-id",
            "comment-id",
            "for",
            "against",
            "abstain",
            "note",
        ]
    ]
    for r in MeetingResult.objects.filter(meeting__topic=topic).select_related("meeting"):
        meeting_rows.append(
            [
                r.meeting_id,
                timezone.localtime(r.meeting.starts_at).date().isoformat(),
                r.method,
                r.proposal_id or "",
                r.statement_id or "",
                r.in_favour,
                r.against,
                r.abstain,
                r.note,
            ]
        )

    return {
        "summary.csv": _csv(summary),
        "comments.csv": _csv(comments),
        "votes.csv": _csv(vote_rows),
        "participants-votes.csv": _csv(pv),
        "proposals.csv": _csv(proposals),
        "meeting-results.csv": _csv(meeting_rows),
    }


def topic_zip(topic: Topic) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in topic_files(topic).items():
            archive.writestr(f"topic-{topic.pk}/{name}", text)
    return buffer.getvalue()


def topics_csv() -> str:
    """Every topic: id, title, area, organising unit, phase, origin, dates, counts."""
    rows: list[list[Any]] = [
        [
            "topic-id",
            "title",
            "area-code",
            "area",
            "unit",
            "phase",
            "origin",
            "source-type",
            "source-ref",
            "opened",
            "proposals",
            "statements",
            "meetings",
            "follows-up",
        ]
    ]
    for t in Topic.objects.select_related("area", "unit").order_by("pk"):
        rows.append(
            [
                t.pk,
                t.title,
                t.area.code,
                t.area.name,
                t.unit.name if t.unit else "",
                t.phase,
                t.origin,
                t.source_type,
                t.source_ref,
                timezone.localtime(t.created_at).date().isoformat(),
                t.proposals.count(),
                t.statements.count(),
                t.meetings.count(),
                t.previous_id or "",
            ]
        )
    return _csv(rows)
