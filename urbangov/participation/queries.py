"""Reads of the deliberation hall.

Topics and what they hold are public; management reads go through :func:`managed_topic`, which
answers 404 for staff who may not manage the topic, the same as for a missing one. The opinion
analysis is a small adapter from the votes to :mod:`urbangov.analytics.opinion`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, Prefetch, Q, QuerySet, Sum
from django.http import Http404

from urbangov.analytics import opinion
from urbangov.org.models import Area
from urbangov.participation import permissions
from urbangov.participation.models import (
    Comment,
    Meeting,
    MeetingResult,
    Notification,
    OutcomeRating,
    Petition,
    PetitionStatus,
    Phase,
    Proposal,
    Result,
    Source,
    Statement,
    StatementStatus,
    StatementVote,
    Topic,
    TopicQuerySet,
    Visibility,
)


def public_topics(
    *, area: Area | None = None, phase: str | None = None, q: str | None = None
) -> TopicQuerySet:
    """Topics for the public list; unknown filter values raise ValueError with a message."""
    qs = Topic.objects.select_related("area", "unit")
    if area is not None:
        qs = qs.in_area(area)
    if phase:
        if phase not in Phase.values:
            raise ValueError(f"unknown phase {phase!r}")
        qs = qs.filter(phase=phase)
    if q:
        qs = qs.filter(Q(title__icontains=q.strip()) | Q(summary__icontains=q.strip()))
    return qs


def get_topic(pk: int) -> Topic:
    topic = (
        Topic.objects.select_related("area", "unit", "previous", "petition").filter(pk=pk).first()
    )
    if topic is None:
        raise Http404("No such topic")
    return topic


def managed_topic(user: Any, pk: int) -> Topic:
    """The topic if ``user`` may manage it; 404 for missing and for not-yours alike."""
    topic = get_topic(pk)
    if not permissions.can_manage(user, topic):
        raise Http404("No such topic")
    return topic


def managed_topics(user: Any) -> list[Topic]:
    return [
        t for t in Topic.objects.select_related("area", "unit") if permissions.can_manage(user, t)
    ]


def topics_for_source(source_type: str, source_ref: str) -> TopicQuerySet:
    """The topics opened from a hot-spot, an alert, a petition … — the link read from the other
    side (supervision shows "discussed in topic N" with this)."""
    return Topic.objects.filter(source_type=source_type, source_ref=str(source_ref))


def get_object(model: type[Any], pk: int, **filters: Any) -> Any:
    found = model.objects.filter(pk=pk, **filters).first()
    if found is None:
        raise Http404("Not found")
    return found


# --- tallies ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalTally:
    proposal: Proposal
    online: int
    assisted: int
    meeting_for: int
    meeting_against: int

    @property
    def total(self) -> int:
        """Supports from every source: verified residents online, those recorded for them by
        staff, and hands or ballots for the proposal at meetings."""
        return self.online + self.assisted + self.meeting_for


def proposal_tallies(topic: Topic, *, include_hidden: bool = False) -> list[ProposalTally]:
    qs = topic.proposals.all()
    if not include_hidden:
        qs = qs.filter(visibility=Visibility.VISIBLE)
    qs = qs.annotate(
        online=Count("supports", filter=Q(supports__source=Source.ONLINE), distinct=True),
        assisted=Count("supports", filter=Q(supports__source=Source.ASSISTED), distinct=True),
    ).select_related("response", "response__unit")
    meeting = {
        row["proposal"]: row
        for row in MeetingResult.objects.filter(proposal__topic=topic)
        .values("proposal")
        .annotate(f=Sum("in_favour"), a=Sum("against"))
    }
    out = [
        ProposalTally(
            proposal=p,
            online=p.online,
            assisted=p.assisted,
            meeting_for=int(meeting.get(p.pk, {}).get("f") or 0),
            meeting_against=int(meeting.get(p.pk, {}).get("a") or 0),
        )
        for p in qs
    ]
    return sorted(out, key=lambda t: (-t.total, t.proposal.pk))


@dataclass(frozen=True)
class StatementTally:
    statement: Statement
    agree: int
    disagree: int
    passed: int
    meeting_agree: int
    meeting_disagree: int
    meeting_pass: int
    my_vote: int | None

    @property
    def total(self) -> int:
        return (
            self.agree
            + self.disagree
            + self.passed
            + self.meeting_agree
            + self.meeting_disagree
            + self.meeting_pass
        )


def statement_tallies(topic: Topic, user: Any = None) -> list[StatementTally]:
    """Per statement: online and assisted votes, and counts taken at meetings (shown apart; only
    individual votes enter the opinion analysis)."""
    qs = topic.statements.annotate(
        a=Count("votes", filter=Q(votes__value=1)),
        d=Count("votes", filter=Q(votes__value=-1)),
        p=Count("votes", filter=Q(votes__value=0)),
    )
    meeting = {
        row["statement"]: row
        for row in MeetingResult.objects.filter(statement__topic=topic)
        .values("statement")
        .annotate(f=Sum("in_favour"), a=Sum("against"), s=Sum("abstain"))
    }
    mine: dict[int, int] = {}
    if user is not None and getattr(user, "is_authenticated", False):
        mine = dict(
            StatementVote.objects.filter(statement__topic=topic, user=user).values_list(
                "statement_id", "value"
            )
        )
    return [
        StatementTally(
            statement=s,
            agree=s.a,
            disagree=s.d,
            passed=s.p,
            meeting_agree=int(meeting.get(s.pk, {}).get("f") or 0),
            meeting_disagree=int(meeting.get(s.pk, {}).get("a") or 0),
            meeting_pass=int(meeting.get(s.pk, {}).get("s") or 0),
            my_vote=mine.get(s.pk),
        )
        for s in qs
    ]


def comment_thread(topic: Topic) -> list[dict[str, Any]]:
    """Comments as a flat list in thread order, each with its depth (for indentation without
    JavaScript). Hidden comments stay, showing the public reason instead of the text."""
    comments = list(topic.comments.select_related("proposal").order_by("created_at", "id"))
    children: dict[int | None, list[Comment]] = {}
    for c in comments:
        children.setdefault(c.parent_id, []).append(c)
    rows: list[dict[str, Any]] = []

    def walk(parent: int | None, depth: int) -> None:
        for c in children.get(parent, []):
            rows.append({"comment": c, "depth": min(depth, 6)})
            walk(c.pk, depth + 1)

    walk(None, 0)
    return rows


def results_tree(topic: Topic) -> list[dict[str, Any]]:
    """Results in tree order with their depth, derived progress, milestones and updates."""
    results = list(
        topic.results.select_related("unit", "proposal").prefetch_related(
            "children", "milestones", "updates"
        )
    )
    children: dict[int | None, list[Result]] = {}
    for r in results:
        children.setdefault(r.parent_id, []).append(r)
    rows: list[dict[str, Any]] = []

    def walk(parent: int | None, depth: int) -> None:
        for r in children.get(parent, []):
            rows.append({"result": r, "depth": depth, "progress": round(r.current_progress(), 1)})
            walk(r.pk, depth + 1)

    walk(None, 0)
    return rows


def topic_progress(topic: Topic) -> float | None:
    """The weighted mean progress of the topic's top-level results, or None without results."""
    top = list(topic.results.filter(parent__isnull=True).prefetch_related("children"))
    total = sum(r.weight for r in top)
    if not total:
        return None
    return round(sum(r.weight * r.current_progress() for r in top) / total, 1)


def rating_summary(topic: Topic) -> dict[str, Any]:
    rows = OutcomeRating.objects.filter(topic=topic)
    counts = dict(rows.values_list("score").annotate(n=Count("id")).values_list("score", "n"))
    n = sum(counts.values())
    mean = sum(s * c for s, c in counts.items()) / n if n else None
    return {
        "count": n,
        "mean": round(mean, 2) if mean is not None else None,
        "by_score": [(s, counts.get(s, 0)) for s in range(5, 0, -1)],
    }


def meetings_of(topic: Topic) -> QuerySet[Meeting]:
    return topic.meetings.annotate(registered=Count("registrations")).prefetch_related(
        Prefetch("results", queryset=MeetingResult.objects.select_related("proposal", "statement"))
    )


def open_petitions() -> QuerySet[Petition]:
    return (
        Petition.objects.filter(status=PetitionStatus.OPEN)
        .select_related("area")
        .annotate(supporters=Count("signatures"))
    )


def notifications_for(user: Any) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).select_related("topic")


def unread_count(user: Any) -> int:
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


# --- the opinion analysis adapter -------------------------------------------------------------------


@dataclass(frozen=True)
class TopicVotes:
    votes: opinion.Votes
    moderated_out: frozenset[str]
    statements: dict[str, Statement]


def topic_votes(topic: Topic) -> TopicVotes:
    """The topic's individual votes as a Polis vote matrix: participants in the order of their
    first vote (as Polis orders them), statements by id, moderated-out statements named."""
    statements = {str(s.pk): s for s in topic.statements.order_by("pk")}
    rows = list(
        StatementVote.objects.filter(statement__topic=topic)
        .order_by("at", "pk")
        .values_list("user_id", "assisted_id", "statement_id", "value")
    )
    participants: dict[str, int] = {}
    triples: list[tuple[int, int, int]] = []
    columns = {pk: j for j, pk in enumerate(statements)}
    for user_id, assisted_id, statement_id, value in rows:
        key = f"u{user_id}" if user_id is not None else f"a{assisted_id}"
        row = participants.setdefault(key, len(participants))
        triples.append((row, columns[str(statement_id)], int(value)))
    votes = opinion.Votes.from_triples(list(participants), list(statements), triples)
    moderated = frozenset(
        pk for pk, s in statements.items() if s.status != StatementStatus.ACCEPTED
    )
    return TopicVotes(votes=votes, moderated_out=moderated, statements=statements)


def opinion_for(topic: Topic) -> tuple[opinion.Analysis, TopicVotes]:
    """The topic's opinion groups, computed from its votes; cached until a vote or a
    moderation changes them."""
    stamp = StatementVote.objects.filter(statement__topic=topic).aggregate(
        n=Count("id"), last=Max("at")
    )
    moderated = topic.statements.filter(status=StatementStatus.REJECTED).count()
    state = f"{stamp['n']}|{stamp['last']}|{moderated}|{topic.statements.count()}"
    key = f"participation:opinion:{topic.pk}:{hashlib.sha256(state.encode()).hexdigest()[:32]}"
    data = topic_votes(topic)
    cached = cache.get(key)
    if isinstance(cached, opinion.Analysis):
        return cached, data
    analysis = opinion.analyze(data.votes, moderated_out=data.moderated_out)
    cache.set(key, analysis, timeout=3600)
    return analysis, data
