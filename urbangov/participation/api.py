"""The deliberation hall over REST, under ``/api/v1/participation/``.

Reading is open to everyone. Residents act with their session or a bearer token (issued like a
staff token); votes, supports, comments and ratings need a verified resident account (403
otherwise). Staff endpoints answer 404 to staff who may not manage the topic, as for a missing
one. A request the topic's state refuses (a vote outside the deliberation phase, a second
support) is a 409 that changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

import pydantic
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja import Status as Reply
from ninja.errors import HttpError

from urbangov.org.auth import STAFF_AUTH, staff_user
from urbangov.org.models import Area, Unit
from urbangov.participation import actions, export, permissions, queries
from urbangov.participation.models import (
    AssistedPerson,
    Comment,
    Meeting,
    Petition,
    Proposal,
    Resident,
    Result,
    Statement,
    Topic,
    Visibility,
)
from urbangov.privacy.ratelimit import client_ip, hit

router = Router(tags=["participation"])
T = TypeVar("T")


class Error(Schema):
    detail: str
    errors: dict[str, list[str]] | None = None


def _run(call: Callable[[], T]) -> T:
    """Run an action; its refusals become 403 and 409 (ValidationError is a 400 upstream)."""
    try:
        return call()
    except actions.NotAllowed as exc:
        raise HttpError(403, str(exc)) from None
    except actions.Conflict as exc:
        raise HttpError(409, str(exc)) from None


def _user(request: HttpRequest) -> Any:
    user = getattr(request, "auth", None)
    if user is None:
        raise HttpError(401, _("Authentication required."))
    return user


def _area(code: str) -> Area:
    area = Area.objects.filter(code=code).first()
    if area is None:
        raise HttpError(400, _("No area with code %(code)r.") % {"code": code})
    return area


def _unit(code: str | None) -> Unit | None:
    if not code:
        return None
    unit = Unit.objects.filter(code=code, active=True).first()
    if unit is None:
        raise HttpError(400, _("No active unit with code %(code)r.") % {"code": code})
    return unit


def _managed(request: HttpRequest, topic_id: int) -> Topic:
    return queries.managed_topic(_user(request), topic_id)


STRICT = pydantic.ConfigDict(extra="forbid")

# --- schemas -------------------------------------------------------------------------------------


class PhasePlanIn(Schema):
    model_config = STRICT
    phase: str
    starts: date | None = None
    ends: date | None = None


class TopicIn(Schema):
    model_config = STRICT
    title: str = Field(max_length=200)
    summary: str = Field(max_length=5000)
    area: str = Field(description="Area code (city, district, street or community).")
    unit: str | None = Field(None, description="Organising unit's code.")
    plan: list[PhasePlanIn] | None = None
    origin: str = "unit"
    source_type: str = ""
    source_ref: str = ""


class TopicOut(Schema):
    id: int
    title: str
    summary: str
    area: str
    area_name: str
    unit: str | None
    phase: str
    phases: list[str]
    origin: str
    source_type: str
    source_ref: str
    previous: int | None
    lessons: str
    created_at: datetime
    closed_at: datetime | None


def _topic_out(t: Topic) -> dict[str, Any]:
    return {
        "id": t.pk,
        "title": t.title,
        "summary": t.summary,
        "area": t.area.code,
        "area_name": t.area.name,
        "unit": t.unit.code if t.unit else None,
        "phase": t.phase,
        "phases": t.phases(),
        "origin": t.origin,
        "source_type": t.source_type,
        "source_ref": t.source_ref,
        "previous": t.previous_id,
        "lessons": t.lessons,
        "created_at": t.created_at,
        "closed_at": t.closed_at,
    }


class PhaseIn(Schema):
    model_config = STRICT
    phase: str
    note: str = ""


class TextIn(Schema):
    model_config = STRICT
    text: str


class ReasonIn(Schema):
    model_config = STRICT
    reason: str


class ProposalIn(Schema):
    model_config = STRICT
    title: str
    text: str


class CommentIn(Schema):
    model_config = STRICT
    text: str
    parent: int | None = None
    proposal: int | None = None


class VoteIn(Schema):
    model_config = STRICT
    value: int | str = Field(description="1 agree, -1 disagree, 0 pass (or the words).")


class ResponseIn(Schema):
    model_config = STRICT
    verdict: str = Field(description="accepted, partly or rejected")
    reasons: str
    unit: str | None = None


class MeetingIn(Schema):
    model_config = STRICT
    title: str
    kind: str = Field(description="offline, online or hybrid")
    starts_at: datetime
    ends_at: datetime
    place: str = ""
    online_url: str = ""
    agenda: str = ""
    capacity: int | None = None


class RegisterIn(Schema):
    model_config = STRICT
    needs: str = ""


class AttendanceIn(Schema):
    model_config = STRICT
    present: list[int] = []
    total: int | None = None


class MinutesIn(Schema):
    model_config = STRICT
    minutes: str


class MeetingResultIn(Schema):
    model_config = STRICT
    method: str = Field(description="hands, ballots or views")
    proposal: int | None = None
    statement: int | None = None
    in_favour: int = 0
    against: int = 0
    abstain: int = 0
    note: str = ""


class ResultIn(Schema):
    model_config = STRICT
    title: str
    unit: str
    parent: int | None = None
    weight: int = 1
    description: str = ""
    starts_on: date | None = None
    ends_on: date | None = None


class UpdateIn(Schema):
    model_config = STRICT
    on: date
    text: str
    progress: int | None = None


class MilestoneIn(Schema):
    model_config = STRICT
    title: str
    due_on: date


# Not ``RatingIn``: the OpenAPI components are named by class, and the case tracking API's
# ``RatingIn`` (a resident's rating of a resolution) would take this one's place there.
class TopicRatingIn(Schema):
    model_config = STRICT
    score: int
    comment: str = ""


class PetitionIn(Schema):
    model_config = STRICT
    title: str
    text: str
    area: str


class ResidentIn(Schema):
    model_config = STRICT
    username: str
    password: str
    display_name: str
    phone: str
    home_area: str | None = None


class CodeIn(Schema):
    model_config = STRICT
    code: str


class CounterIn(Schema):
    model_config = STRICT
    document: str = Field(description="The kind of document seen (never its number).")


class AssistedIn(Schema):
    model_config = STRICT
    name: str
    phone: str = ""
    consent_text: str


class AssistedVoteIn(Schema):
    model_config = STRICT
    person: int
    value: int | str


class AssistedSupportIn(Schema):
    model_config = STRICT
    person: int


class Created(Schema):
    id: int


class Done(Schema):
    ok: bool = True
    id: int | None = None


ERR = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 422: Error, 429: Error}


def _with(*codes: int) -> dict[int, Any]:
    return {c: ERR[c] for c in codes}


# --- topics ---------------------------------------------------------------------------------


@router.get("/participation/topics", response=list[TopicOut], auth=None)
def list_topics(
    request: HttpRequest,
    area: str | None = None,
    phase: str | None = None,
    q: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000_000),
) -> list[dict[str, Any]]:
    """Topics, newest first; filter by area (its own and everything within), phase, words."""
    try:
        qs = queries.public_topics(area=_area(area) if area else None, phase=phase, q=q)
    except ValueError as exc:
        raise HttpError(400, str(exc)) from None
    return [_topic_out(t) for t in qs[offset : offset + limit]]


@router.post(
    "/participation/topics", response={201: TopicOut, **_with(400, 401, 403, 422)}, auth=STAFF_AUTH
)
def create_topic(request: HttpRequest, payload: TopicIn) -> Reply[Any]:
    user = staff_user(request)
    unit = _unit(payload.unit)
    if not permissions.can_open_topic(user, unit):
        raise HttpError(403, _("You may open topics only for your own unit."))
    plan = [p.dict() for p in payload.plan] if payload.plan else None
    topic = _run(
        lambda: actions.open_topic(
            actor=user,
            title=payload.title,
            summary=payload.summary,
            area=_area(payload.area),
            unit=unit,
            plan=plan,
            origin=payload.origin,
            source_type=payload.source_type,
            source_ref=payload.source_ref,
        )
    )
    return Reply(201, _topic_out(topic))


@router.get(
    "/participation/topics/{topic_id}", response={200: dict[str, Any], 404: Error}, auth=None
)
def topic_detail(request: HttpRequest, topic_id: int) -> dict[str, Any]:
    """The topic with its proposals (support by source and the city's answer), statements
    (votes and meeting counts), meetings, results (derived progress), phases and ratings."""
    topic = queries.get_topic(topic_id)
    return {
        **_topic_out(topic),
        "phase_history": [
            {"from": c.from_phase, "to": c.to_phase, "at": c.at.isoformat(), "note": c.note}
            for c in topic.phase_changes.all()
        ],
        "proposals": [
            {
                "id": t.proposal.pk,
                "title": t.proposal.title,
                "text": t.proposal.text,
                "source": t.proposal.source,
                "supports": {
                    "online": t.online,
                    "assisted": t.assisted,
                    "meetings": t.meeting_for,
                    "total": t.total,
                },
                "against_at_meetings": t.meeting_against,
                "response": (
                    {
                        "verdict": t.proposal.response.verdict,
                        "reasons": t.proposal.response.reasons,
                        "unit": t.proposal.response.unit.code if t.proposal.response.unit else None,
                    }
                    if hasattr(t.proposal, "response")
                    else None
                ),
            }
            for t in queries.proposal_tallies(topic)
        ],
        "statements": [
            {
                "id": s.statement.pk,
                "text": s.statement.text,
                "status": s.statement.status,
                "moderation_reason": s.statement.moderation_reason,
                "votes": {"agree": s.agree, "disagree": s.disagree, "pass": s.passed},
                "meetings": {
                    "agree": s.meeting_agree,
                    "disagree": s.meeting_disagree,
                    "pass": s.meeting_pass,
                },
            }
            for s in queries.statement_tallies(topic)
        ],
        "meetings": [
            {
                "id": m.pk,
                "title": m.title,
                "kind": m.kind,
                "status": m.status,
                "starts_at": m.starts_at.isoformat(),
                "ends_at": m.ends_at.isoformat(),
                "place": m.place,
                "online_url": m.online_url,
                "registered": m.registered,  # type: ignore[attr-defined]
                "attendance": m.attendance,
                "minutes": m.minutes,
            }
            for m in queries.meetings_of(topic)
        ],
        "results": [
            {
                "id": row["result"].pk,
                "parent": row["result"].parent_id,
                "title": row["result"].title,
                "unit": row["result"].unit.code,
                "weight": row["result"].weight,
                "progress": row["progress"],
                "status": row["result"].status,
                "milestones": [
                    {"title": m.title, "due_on": m.due_on, "done_on": m.done_on}
                    for m in row["result"].milestones.all()
                ],
                "updates": [
                    {"on": u.on, "text": u.text, "progress": u.progress}
                    for u in row["result"].updates.all()
                ],
            }
            for row in queries.results_tree(topic)
        ],
        "progress": queries.topic_progress(topic),
        "ratings": queries.rating_summary(topic),
    }


@router.post(
    "/participation/topics/{topic_id}/phase",
    response={200: TopicOut, **_with(400, 401, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def move_phase(request: HttpRequest, topic_id: int, payload: PhaseIn) -> dict[str, Any]:
    topic = _managed(request, topic_id)
    _run(
        lambda: actions.change_phase(
            actor=_user(request), topic=topic, to_phase=payload.phase, note=payload.note
        )
    )
    return _topic_out(topic)


@router.post(
    "/participation/topics/{topic_id}/lessons",
    response={200: TopicOut, **_with(400, 401, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def lessons(request: HttpRequest, topic_id: int, payload: TextIn) -> dict[str, Any]:
    topic = _managed(request, topic_id)
    _run(lambda: actions.publish_lessons(actor=_user(request), topic=topic, lessons=payload.text))
    return _topic_out(topic)


@router.post(
    "/participation/topics/{topic_id}/follow-up",
    response={201: TopicOut, **_with(400, 401, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def follow_up(request: HttpRequest, topic_id: int, payload: ProposalIn) -> Reply[Any]:
    topic = _managed(request, topic_id)
    new = _run(
        lambda: actions.open_follow_up(
            actor=_user(request),
            topic=topic,
            title=payload.title,
            summary=payload.text,
        )
    )
    return Reply(201, _topic_out(new))


@router.post(
    "/participation/topics/{topic_id}/follow",
    response={200: Done, **_with(401, 404)},
    auth=STAFF_AUTH,
)
def follow(request: HttpRequest, topic_id: int) -> dict[str, Any]:
    topic = queries.get_topic(topic_id)
    _run(lambda: actions.follow_topic(actor=_user(request), topic=topic))
    return {"ok": True}


@router.delete(
    "/participation/topics/{topic_id}/follow",
    response={200: Done, **_with(401, 404)},
    auth=STAFF_AUTH,
)
def unfollow(request: HttpRequest, topic_id: int) -> dict[str, Any]:
    topic = queries.get_topic(topic_id)
    _run(lambda: actions.unfollow_topic(actor=_user(request), topic=topic))
    return {"ok": True}


@router.get(
    "/participation/topics/{topic_id}/opinion",
    response={200: dict[str, Any], 404: Error},
    auth=None,
)
def opinion_groups(request: HttpRequest, topic_id: int) -> dict[str, Any]:
    """Opinion groups as Polis finds them: the map (anonymous points), the groups with their
    representative statements, and the group-informed consensus."""
    topic = queries.get_topic(topic_id)
    analysis, data = queries.opinion_for(topic)
    return {
        "k": analysis.k,
        "participants": len(analysis.participants),
        "clustered": int(analysis.clustered.sum()),
        "points": [
            {"x": round(float(x), 4), "y": round(float(y), 4), "group": int(g)}
            for (x, y), g, c in zip(
                analysis.projection, analysis.labels, analysis.clustered, strict=True
            )
            if c
        ],
        "groups": [
            {
                "id": g.id,
                "size": len(g.members),
                "representative": [
                    {
                        "statement": int(r.statement),
                        "text": data.statements[r.statement].text,
                        "direction": r.direction,
                        "share": round(r.successes / r.seen, 3) if r.seen else None,
                        "probability": round(r.probability, 3),
                        "ratio": round(r.ratio, 3),
                    }
                    for r in g.representative
                ],
            }
            for g in analysis.groups
        ],
        "consensus": [
            {
                "statement": int(c.statement),
                "text": data.statements[c.statement].text,
                "group_informed_consensus": round(c.agree, 4),
                "group_agree": [round(p, 3) for p in c.group_agree],
            }
            for c in analysis.consensus
        ],
    }


@router.get(
    "/participation/topics/{topic_id}/export.zip", auth=None, response={200: None, 404: Error}
)
def export_topic(request: HttpRequest, topic_id: int) -> HttpResponse:
    """Open data: the topic in Polis's export format, participants anonymised."""
    topic = queries.get_topic(topic_id)
    response = HttpResponse(export.topic_zip(topic), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="topic-{topic.pk}.zip"'
    return response


@router.get("/participation/topics.csv", auth=None, response={200: None})
def export_topics(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(export.topics_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="topics.csv"'
    return response


# --- proposals, comments, statements -------------------------------------------------------------


@router.post(
    "/participation/topics/{topic_id}/proposals",
    response={201: Created, **_with(400, 401, 403, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def create_proposal(request: HttpRequest, topic_id: int, payload: ProposalIn) -> Reply[Any]:
    topic = queries.get_topic(topic_id)
    proposal = _run(
        lambda: actions.submit_proposal(
            actor=_user(request), topic=topic, title=payload.title, text=payload.text
        )
    )
    return Reply(201, {"id": proposal.pk})


@router.post(
    "/participation/proposals/{proposal_id}/support",
    response={201: Done, **_with(401, 403, 404, 409)},
    auth=STAFF_AUTH,
)
def support(request: HttpRequest, proposal_id: int) -> Reply[Any]:
    """One verified resident, one support: a second call is a 409 and adds nothing."""
    proposal = queries.get_object(Proposal, proposal_id, visibility=Visibility.VISIBLE)
    _run(lambda: actions.support_proposal(actor=_user(request), proposal=proposal))
    return Reply(201, {"ok": True, "id": proposal.pk})


@router.delete(
    "/participation/proposals/{proposal_id}/support",
    response={200: Done, **_with(401, 403, 404, 409)},
    auth=STAFF_AUTH,
)
def unsupport(request: HttpRequest, proposal_id: int) -> dict[str, Any]:
    proposal = queries.get_object(Proposal, proposal_id)
    _run(lambda: actions.withdraw_support(actor=_user(request), proposal=proposal))
    return {"ok": True}


@router.post(
    "/participation/proposals/{proposal_id}/hide",
    response={200: Done, **_with(400, 401, 404, 422)},
    auth=STAFF_AUTH,
)
def hide_proposal(request: HttpRequest, proposal_id: int, payload: ReasonIn) -> dict[str, Any]:
    proposal = queries.get_object(Proposal, proposal_id)
    _managed(request, proposal.topic_id)
    _run(
        lambda: actions.hide_proposal(
            actor=_user(request), proposal=proposal, reason=payload.reason
        )
    )
    return {"ok": True}


@router.post(
    "/participation/proposals/{proposal_id}/response",
    response={201: Done, **_with(400, 401, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def respond(request: HttpRequest, proposal_id: int, payload: ResponseIn) -> Reply[Any]:
    proposal = queries.get_object(Proposal, proposal_id)
    _managed(request, proposal.topic_id)
    response = _run(
        lambda: actions.respond_to_proposal(
            actor=_user(request),
            proposal=proposal,
            verdict=payload.verdict,
            reasons=payload.reasons,
            unit=_unit(payload.unit),
        )
    )
    return Reply(201, {"ok": True, "id": response.pk})


@router.get(
    "/participation/topics/{topic_id}/comments",
    response={200: list[dict[str, Any]], 404: Error},
    auth=None,
)
def comments(request: HttpRequest, topic_id: int) -> list[dict[str, Any]]:
    """The thread in order with depth; a hidden comment shows the public reason, not its text."""
    topic = queries.get_topic(topic_id)
    rows = []
    for row in queries.comment_thread(topic):
        c: Comment = row["comment"]
        hidden = c.visibility == Visibility.HIDDEN
        rows.append(
            {
                "id": c.pk,
                "parent": c.parent_id,
                "proposal": c.proposal_id,
                "depth": row["depth"],
                "author": c.author_name,
                "text": "" if hidden else c.text,
                "hidden": hidden,
                "moderation_reason": c.moderation_reason if hidden else "",
                "at": c.created_at.isoformat(),
            }
        )
    return rows


@router.post(
    "/participation/topics/{topic_id}/comments",
    response={201: Created, **_with(400, 401, 403, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def create_comment(request: HttpRequest, topic_id: int, payload: CommentIn) -> Reply[Any]:
    topic = queries.get_topic(topic_id)
    parent = queries.get_object(Comment, payload.parent, topic=topic) if payload.parent else None
    proposal = (
        queries.get_object(Proposal, payload.proposal, topic=topic) if payload.proposal else None
    )
    comment = _run(
        lambda: actions.post_comment(
            actor=_user(request), topic=topic, text=payload.text, parent=parent, proposal=proposal
        )
    )
    return Reply(201, {"id": comment.pk})


@router.post(
    "/participation/comments/{comment_id}/moderate",
    response={200: Done, **_with(400, 401, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def moderate_comment(request: HttpRequest, comment_id: int, payload: ReasonIn) -> dict[str, Any]:
    comment = queries.get_object(Comment, comment_id)
    _managed(request, comment.topic_id)
    _run(
        lambda: actions.moderate_comment(
            actor=_user(request), comment=comment, reason=payload.reason
        )
    )
    return {"ok": True}


@router.post(
    "/participation/topics/{topic_id}/statements",
    response={201: Created, **_with(400, 401, 403, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def create_statement(request: HttpRequest, topic_id: int, payload: TextIn) -> Reply[Any]:
    """A statement to vote on: by a verified resident, or seeded by the topic's organisers."""
    topic = queries.get_topic(topic_id)
    user = _user(request)
    seed = permissions.can_manage(user, topic)
    statement = _run(
        lambda: actions.add_statement(actor=user, topic=topic, text=payload.text, seed=seed)
    )
    return Reply(201, {"id": statement.pk})


@router.post(
    "/participation/statements/{statement_id}/vote",
    response={200: Done, **_with(400, 401, 403, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def vote(request: HttpRequest, statement_id: int, payload: VoteIn) -> dict[str, Any]:
    """Agree (1), disagree (-1) or pass (0). Voting again replaces the earlier vote."""
    statement = queries.get_object(Statement, statement_id)
    cast = _run(
        lambda: actions.vote(actor=_user(request), statement=statement, value=payload.value)
    )
    return {"ok": True, "id": cast.pk}


@router.post(
    "/participation/statements/{statement_id}/moderate",
    response={200: Done, **_with(400, 401, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def moderate_statement(
    request: HttpRequest, statement_id: int, payload: ReasonIn
) -> dict[str, Any]:
    statement = queries.get_object(Statement, statement_id)
    _managed(request, statement.topic_id)
    _run(
        lambda: actions.moderate_statement(
            actor=_user(request), statement=statement, reason=payload.reason
        )
    )
    return {"ok": True}


# --- assisted participation -----------------------------------------------------------------------


@router.post(
    "/participation/assisted",
    response={201: Created, **_with(400, 401, 403, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def assisted_person(request: HttpRequest, payload: AssistedIn) -> Reply[Any]:
    """Register someone whose views staff record, with the consent they gave: counter staff,
    as on the counter page (not every staff role: auditors watch, they do not take part)."""
    user = staff_user(request)
    if not permissions.can_verify_residents(user):
        raise Http404
    person = _run(
        lambda: actions.register_assisted_person(
            actor=user, name=payload.name, phone=payload.phone, consent_text=payload.consent_text
        )
    )
    return Reply(201, {"id": person.pk})


@router.post(
    "/participation/statements/{statement_id}/assisted-vote",
    response={200: Done, **_with(400, 401, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def assisted_vote(
    request: HttpRequest, statement_id: int, payload: AssistedVoteIn
) -> dict[str, Any]:
    statement = queries.get_object(Statement, statement_id)
    user = _user(request)
    if not permissions.can_assist(user, statement.topic):
        raise Http404
    person = queries.get_object(AssistedPerson, payload.person)
    cast = _run(
        lambda: actions.vote_for_assisted(
            actor=user, statement=statement, person=person, value=payload.value
        )
    )
    return {"ok": True, "id": cast.pk}


@router.post(
    "/participation/proposals/{proposal_id}/assisted-support",
    response={201: Done, **_with(401, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def assisted_support(
    request: HttpRequest, proposal_id: int, payload: AssistedSupportIn
) -> Reply[Any]:
    proposal = queries.get_object(Proposal, proposal_id)
    user = _user(request)
    if not permissions.can_assist(user, proposal.topic):
        raise Http404
    person = queries.get_object(AssistedPerson, payload.person)
    _run(lambda: actions.support_for_assisted(actor=user, proposal=proposal, person=person))
    return Reply(201, {"ok": True})


# --- meetings ------------------------------------------------------------------------------------


@router.post(
    "/participation/topics/{topic_id}/meetings",
    response={201: Created, **_with(400, 401, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def create_meeting(request: HttpRequest, topic_id: int, payload: MeetingIn) -> Reply[Any]:
    topic = _managed(request, topic_id)
    meeting = _run(
        lambda: actions.schedule_meeting(actor=_user(request), topic=topic, **payload.dict())
    )
    return Reply(201, {"id": meeting.pk})


def _managed_meeting(request: HttpRequest, meeting_id: int) -> Meeting:
    meeting = queries.get_object(Meeting, meeting_id)
    _managed(request, meeting.topic_id)
    return meeting


@router.post(
    "/participation/meetings/{meeting_id}/register",
    response={201: Done, **_with(400, 401, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def register(request: HttpRequest, meeting_id: int, payload: RegisterIn) -> Reply[Any]:
    meeting = queries.get_object(Meeting, meeting_id)
    _run(
        lambda: actions.register_for_meeting(
            actor=_user(request), meeting=meeting, needs=payload.needs
        )
    )
    return Reply(201, {"ok": True})


@router.post(
    "/participation/meetings/{meeting_id}/attendance",
    response={200: Done, **_with(400, 401, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def attendance(request: HttpRequest, meeting_id: int, payload: AttendanceIn) -> dict[str, Any]:
    meeting = _managed_meeting(request, meeting_id)
    _run(
        lambda: actions.record_attendance(
            actor=_user(request), meeting=meeting, present=payload.present, total=payload.total
        )
    )
    return {"ok": True}


@router.post(
    "/participation/meetings/{meeting_id}/minutes",
    response={200: Done, **_with(400, 401, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def minutes(request: HttpRequest, meeting_id: int, payload: MinutesIn) -> dict[str, Any]:
    meeting = _managed_meeting(request, meeting_id)
    _run(
        lambda: actions.record_minutes(
            actor=_user(request), meeting=meeting, minutes=payload.minutes
        )
    )
    return {"ok": True}


@router.post(
    "/participation/meetings/{meeting_id}/results",
    response={201: Created, **_with(400, 401, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def meeting_result(request: HttpRequest, meeting_id: int, payload: MeetingResultIn) -> Reply[Any]:
    meeting = _managed_meeting(request, meeting_id)
    proposal = queries.get_object(Proposal, payload.proposal) if payload.proposal else None
    statement = queries.get_object(Statement, payload.statement) if payload.statement else None
    result = _run(
        lambda: actions.record_meeting_result(
            actor=_user(request),
            meeting=meeting,
            method=payload.method,
            proposal=proposal,
            statement=statement,
            in_favour=payload.in_favour,
            against=payload.against,
            abstain=payload.abstain,
            note=payload.note,
        )
    )
    return Reply(201, {"id": result.pk})


# --- results and follow-up ---------------------------------------------------------------------


@router.post(
    "/participation/topics/{topic_id}/results",
    response={201: Created, **_with(400, 401, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def create_result(request: HttpRequest, topic_id: int, payload: ResultIn) -> Reply[Any]:
    topic = _managed(request, topic_id)
    unit = _unit(payload.unit)
    if unit is None:
        raise HttpError(400, _("Name the unit that carries out the result."))
    parent = queries.get_object(Result, payload.parent, topic=topic) if payload.parent else None
    result = _run(
        lambda: actions.add_result(
            actor=_user(request),
            topic=topic,
            title=payload.title,
            unit=unit,
            parent=parent,
            weight=payload.weight,
            description=payload.description,
            starts_on=payload.starts_on,
            ends_on=payload.ends_on,
        )
    )
    return Reply(201, {"id": result.pk})


def _updatable(request: HttpRequest, result_id: int) -> Result:
    result = queries.get_object(Result, result_id)
    if not permissions.can_update_result(_user(request), result):
        raise Http404
    return result


@router.post(
    "/participation/results/{result_id}/updates",
    response={201: Created, **_with(400, 401, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def result_update(request: HttpRequest, result_id: int, payload: UpdateIn) -> Reply[Any]:
    result = _updatable(request, result_id)
    update = _run(
        lambda: actions.post_result_update(
            actor=_user(request),
            result=result,
            on=payload.on,
            text=payload.text,
            progress=payload.progress,
        )
    )
    return Reply(201, {"id": update.pk})


@router.post(
    "/participation/results/{result_id}/milestones",
    response={201: Created, **_with(400, 401, 404, 422)},
    auth=STAFF_AUTH,
)
def milestone(request: HttpRequest, result_id: int, payload: MilestoneIn) -> Reply[Any]:
    result = _updatable(request, result_id)
    m = _run(
        lambda: actions.add_milestone(
            actor=_user(request), result=result, title=payload.title, due_on=payload.due_on
        )
    )
    return Reply(201, {"id": m.pk})


@router.post(
    "/participation/topics/{topic_id}/ratings",
    response={201: Done, **_with(400, 401, 403, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def rate(request: HttpRequest, topic_id: int, payload: TopicRatingIn) -> Reply[Any]:
    topic = queries.get_topic(topic_id)
    _run(
        lambda: actions.rate_outcome(
            actor=_user(request), topic=topic, score=payload.score, comment=payload.comment
        )
    )
    return Reply(201, {"ok": True})


@router.get(
    "/participation/notifications",
    response={200: list[dict[str, Any]], 401: Error},
    auth=STAFF_AUTH,
)
def notifications(request: HttpRequest, unread: bool = False) -> list[dict[str, Any]]:
    qs = queries.notifications_for(_user(request))
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return [
        {
            "id": n.pk,
            "topic": n.topic_id,
            "kind": n.kind,
            "data": n.data,
            "at": n.created_at.isoformat(),
            "read": n.read_at is not None,
        }
        for n in qs[:200]
    ]


@router.post("/participation/notifications/read", response={200: Done, 401: Error}, auth=STAFF_AUTH)
def read_notifications(request: HttpRequest) -> dict[str, Any]:
    actions.mark_notifications_read(actor=_user(request))
    return {"ok": True}


# --- petitions and residents -------------------------------------------------------------------------


@router.get("/participation/petitions", response=list[dict[str, Any]], auth=None)
def petitions(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "id": p.pk,
            "title": p.title,
            "text": p.text,
            "area": p.area.code,
            "supporters": p.supporters,  # type: ignore[attr-defined]
            "threshold": p.threshold,
            "closes_at": p.closes_at.isoformat(),
        }
        for p in queries.open_petitions()
    ]


@router.post(
    "/participation/petitions",
    response={201: Created, **_with(400, 401, 403, 422)},
    auth=STAFF_AUTH,
)
def start_petition(request: HttpRequest, payload: PetitionIn) -> Reply[Any]:
    petition = _run(
        lambda: actions.start_petition(
            actor=_user(request), title=payload.title, text=payload.text, area=_area(payload.area)
        )
    )
    return Reply(201, {"id": petition.pk})


@router.post(
    "/participation/petitions/{petition_id}/sign",
    response={201: Done, **_with(401, 403, 404, 409)},
    auth=STAFF_AUTH,
)
def sign(request: HttpRequest, petition_id: int) -> Reply[Any]:
    """Support a petition; at its threshold a topic opens (its id is returned)."""
    petition = queries.get_object(Petition, petition_id)
    _run(lambda: actions.sign_petition(actor=_user(request), petition=petition))
    topic = Topic.objects.filter(petition=petition).first()
    return Reply(201, {"ok": True, "id": topic.pk if topic else None})


@router.post("/participation/residents", response={201: Created, **_with(400, 422, 429)}, auth=None)
def register_resident(request: HttpRequest, payload: ResidentIn) -> Reply[Any]:
    """Create a resident account (not yet verified). Rate-limited per client."""
    rate = settings.URBANGOV.get("PUBLIC_SUBMIT_RATE", "20/m")
    if not hit("api.participation.register", client_ip(request), rate):
        raise HttpError(429, _("Too many requests; wait a minute and try again."))
    home = _area(payload.home_area) if payload.home_area else None
    resident = actions.register_resident(
        actor=None,
        username=payload.username,
        password=payload.password,
        display_name=payload.display_name,
        phone=payload.phone,
        home_area=home,
    )
    return Reply(201, {"id": resident.pk})


def _own_resident(request: HttpRequest) -> Resident:
    resident = permissions.resident_of(_user(request))
    if resident is None:
        raise HttpError(403, _("This account is not a resident's account."))
    return resident


@router.post(
    "/participation/residents/me/code",
    response={200: Done, **_with(401, 403, 409, 429)},
    auth=STAFF_AUTH,
)
def send_code(request: HttpRequest) -> dict[str, Any]:
    """Send a one-time code to the account's phone (in development: to the server log)."""
    resident = _own_resident(request)
    _run(lambda: actions.send_verification_code(actor=_user(request), resident=resident))
    return {"ok": True}


@router.post(
    "/participation/residents/me/verify",
    response={200: Done, **_with(400, 401, 403, 409, 422)},
    auth=STAFF_AUTH,
)
def verify(request: HttpRequest, payload: CodeIn) -> dict[str, Any]:
    resident = _own_resident(request)
    _run(lambda: actions.verify_phone(actor=_user(request), resident=resident, code=payload.code))
    return {"ok": True}


@router.post(
    "/participation/residents/{resident_id}/verify-at-counter",
    response={200: Done, **_with(400, 401, 403, 404, 409, 422)},
    auth=STAFF_AUTH,
)
def verify_counter(request: HttpRequest, resident_id: int, payload: CounterIn) -> dict[str, Any]:
    user = staff_user(request)
    if not permissions.can_verify_residents(user):
        raise HttpError(403, _("Only counter staff verify residents."))
    resident = queries.get_object(Resident, resident_id)
    _run(
        lambda: actions.verify_at_counter(actor=user, resident=resident, document=payload.document)
    )
    return {"ok": True}
