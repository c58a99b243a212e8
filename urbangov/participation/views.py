"""The deliberation hall's pages. Every form posts without JavaScript; the opinion map is drawn
with ECharts where scripts run and is always also a table.

Thin views: a form checks the shape, :mod:`~urbangov.participation.permissions` says who may,
one action changes state, and the page answers. A refused action puts its message back on the
page with a 4xx status and nothing changed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from urbangov.org.models import Area, Unit
from urbangov.org.queries import scope_of
from urbangov.participation import actions, forms, permissions, queries
from urbangov.participation.models import (
    AssistedPerson,
    Comment,
    Follow,
    Meeting,
    NotificationKind,
    OutcomeRating,
    Petition,
    Phase,
    Proposal,
    Resident,
    Result,
    Statement,
    StatementStatus,
    Topic,
    Visibility,
)
from urbangov.participation.permissions import ORGANISER_ROLES

PAGE_SIZE = 20


def _login(request: HttpRequest) -> HttpResponse:
    return redirect_to_login(request.get_full_path())


def _refused(request: HttpRequest, exc: Exception) -> None:
    messages.error(
        request, str(exc) if not isinstance(exc, ValidationError) else " ".join(exc.messages)
    )


# --- lists ---------------------------------------------------------------------------------------


@require_GET
def topic_list(request: HttpRequest) -> HttpResponse:
    form = forms.FilterForm(request.GET or None)
    area = phase = q = None
    if form.is_bound and form.is_valid():
        area = Area.objects.filter(code=form.cleaned_data.get("area") or "").first()
        phase = form.cleaned_data.get("phase") or None
        q = form.cleaned_data.get("q") or None
    elif form.is_bound:
        return render(
            request, "participation/topic_list.html", {"form": form, "page": None}, status=400
        )
    page = Paginator(queries.public_topics(area=area, phase=phase, q=q), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "participation/topic_list.html",
        {
            "form": form,
            "page": page,
            "petitions": queries.open_petitions()[:5],
            "may_open": _may_open_any(request.user),
        },
    )


def _may_open_any(user: Any) -> bool:
    scope = scope_of(user)
    return scope.is_admin or bool(scope.unit_ids(*ORGANISER_ROLES))


def _organiser_units(user: Any) -> list[Unit]:
    scope = scope_of(user)
    if scope.is_admin:
        return list(Unit.objects.filter(active=True).order_by("code"))
    return list(
        Unit.objects.filter(pk__in=scope.unit_ids(*ORGANISER_ROLES), active=True).order_by("code")
    )


@require_http_methods(["GET", "POST"])
def topic_new(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return _login(request)
    units = _organiser_units(request.user)
    if not units:
        raise Http404("No unit to organise for")
    form = forms.TopicForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        unit = Unit.objects.get(code=form.cleaned_data["unit"])
        if not permissions.can_open_topic(request.user, unit):
            raise Http404("Not your unit")
        origin = form.cleaned_data["origin"]
        try:
            topic = actions.open_topic(
                actor=request.user,
                title=form.cleaned_data["title"],
                summary=form.cleaned_data["summary"],
                area=Area.objects.get(code=form.cleaned_data["area"]),
                unit=unit,
                plan=form.plan(),
                origin=origin,
                source_type=origin if origin != "unit" else "",
                source_ref=form.cleaned_data.get("source_ref") or "",
            )
        except ValidationError as exc:
            forms.add_action_errors(form, exc)
        else:
            messages.success(request, _("The topic is open for deliberation."))
            return redirect("participation:topic", pk=topic.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "participation/topic_form.html", {"form": form}, status=status)


# --- the topic page --------------------------------------------------------------------------


def _topic_context(request: HttpRequest, topic: Topic, **bound: Any) -> dict[str, Any]:
    user = request.user
    resident = permissions.resident_of(user)
    phases = topic.phases()
    analysis = None
    try:
        analysis, _data = queries.opinion_for(topic)
    except Exception:  # the page still shows when the analysis cannot run
        analysis = None
    rated = (
        OutcomeRating.objects.filter(topic=topic, user=user).exists()
        if user.is_authenticated
        else False
    )
    return {
        "topic": topic,
        "phases": [
            {
                "value": p,
                "label": Phase(p).label,
                "current": p == topic.phase,
                "done": phases.index(p) < phases.index(topic.phase)
                if topic.phase in phases
                else False,
                "plan": topic.planned(p),
            }
            for p in phases
        ],
        "history": topic.phase_changes.all(),
        "proposals": queries.proposal_tallies(topic),
        "hidden_proposals": topic.proposals.filter(visibility=Visibility.HIDDEN),
        "statements": [
            s
            for s in queries.statement_tallies(topic, user)
            if s.statement.status == StatementStatus.ACCEPTED
        ],
        "moderated_statements": topic.statements.filter(status=StatementStatus.REJECTED),
        "thread": queries.comment_thread(topic),
        "meetings": queries.meetings_of(topic),
        "results": queries.results_tree(topic),
        "progress": queries.topic_progress(topic),
        "ratings": queries.rating_summary(topic),
        "analysis": analysis,
        "groups": _groups(topic, analysis) if analysis is not None else [],
        "resident": resident,
        "verified": resident is not None and resident.verified_at is not None,
        "following": user.is_authenticated
        and Follow.objects.filter(topic=topic, user=user).exists(),
        "may_manage": permissions.can_manage(user, topic),
        "rated": rated,
        "deliberating": topic.phase == Phase.DELIBERATION and topic.closed_at is None,
        "evaluating": topic.phase == Phase.EVALUATION and topic.closed_at is None,
        "proposal_form": bound.get("proposal_form") or forms.ProposalForm(),
        "comment_form": bound.get("comment_form") or forms.CommentForm(),
        "statement_form": bound.get("statement_form") or forms.StatementForm(),
        "rating_form": bound.get("rating_form") or forms.RatingForm(),
        "vote_choices": [(1, _("Agree")), (-1, _("Disagree")), (0, _("Pass / unsure"))],
    }


def _groups(topic: Topic, analysis: Any) -> list[dict[str, Any]]:
    texts = {str(pk): text for pk, text in topic.statements.values_list("pk", "text")}
    return [
        {
            "id": g.id,
            "label": _("Group %(letter)s") % {"letter": chr(ord("A") + g.id)},
            "size": len(g.members),
            "representative": [
                {
                    "text": texts.get(r.statement, ""),
                    "direction": r.direction,
                    "percent": round(100 * r.successes / r.seen) if r.seen else 0,
                }
                for r in g.representative
            ],
        }
        for g in analysis.groups
    ]


@require_GET
def topic_detail(request: HttpRequest, pk: int) -> HttpResponse:
    topic = queries.get_topic(pk)
    return render(request, "participation/topic_detail.html", _topic_context(request, topic))


@require_GET
def opinion(request: HttpRequest, pk: int) -> HttpResponse:
    """The opinion map and groups: a chart where scripts run, always a table as well."""
    topic = queries.get_topic(pk)
    analysis, data = queries.opinion_for(topic)
    points = [
        {"x": round(float(x), 3), "y": round(float(y), 3), "group": int(g)}
        for (x, y), g, c in zip(
            analysis.projection, analysis.labels, analysis.clustered, strict=True
        )
        if c
    ]
    consensus = [
        {
            "text": data.statements[c.statement].text,
            "value": round(c.agree, 3),
            "groups": [round(100 * p) for p in c.group_agree],
        }
        for c in analysis.consensus
    ]
    return render(
        request,
        "participation/opinion.html",
        {
            "topic": topic,
            "analysis": analysis,
            "groups": _groups(topic, analysis),
            "chart": {
                "groups": [{"id": g["id"], "label": g["label"]} for g in _groups(topic, analysis)],
                "points": points,
            },
            "consensus": consensus,
            "clustered": int(analysis.clustered.sum()),
        },
    )


# Topic actions by name: (needs a signed-in user, needs to manage the topic, handler).
Handler = Callable[[HttpRequest, Topic], HttpResponse | None]


def _rerender(request: HttpRequest, topic: Topic, status: int = 400, **bound: Any) -> HttpResponse:
    return render(
        request,
        "participation/topic_detail.html",
        _topic_context(request, topic, **bound),
        status=status,
    )


def _do_follow(request: HttpRequest, topic: Topic) -> HttpResponse | None:
    actions.follow_topic(actor=request.user, topic=topic)
    messages.success(request, _("You follow this topic; you will be told of answers and progress."))
    return None


def _do_unfollow(request: HttpRequest, topic: Topic) -> HttpResponse | None:
    actions.unfollow_topic(actor=request.user, topic=topic)
    messages.success(request, _("You no longer follow this topic."))
    return None


def _do_propose(request: HttpRequest, topic: Topic) -> HttpResponse | None:
    form = forms.ProposalForm(request.POST)
    if not form.is_valid():
        return _rerender(request, topic, proposal_form=form)
    try:
        actions.submit_proposal(actor=request.user, topic=topic, **form.cleaned_data)
    except ValidationError as exc:
        forms.add_action_errors(form, exc)
        return _rerender(request, topic, proposal_form=form)
    messages.success(request, _("Your proposal is published."))
    return None


def _do_support(request: HttpRequest, topic: Topic) -> HttpResponse | None:
    proposal = queries.get_object(Proposal, _int(request.POST.get("proposal")), topic=topic)
    actions.support_proposal(actor=request.user, proposal=proposal)
    messages.success(request, _("Your support is counted."))
    return None


def _do_comment(request: HttpRequest, topic: Topic) -> HttpResponse | None:
    form = forms.CommentForm(request.POST)
    if not form.is_valid():
        return _rerender(request, topic, comment_form=form)
    parent = None
    if form.cleaned_data.get("parent"):
        parent = queries.get_object(Comment, form.cleaned_data["parent"], topic=topic)
    try:
        actions.post_comment(
            actor=request.user, topic=topic, text=form.cleaned_data["text"], parent=parent
        )
    except ValidationError as exc:
        forms.add_action_errors(form, exc)
        return _rerender(request, topic, comment_form=form)
    messages.success(request, _("Your comment is published."))
    return None


def _do_statement(request: HttpRequest, topic: Topic) -> HttpResponse | None:
    form = forms.StatementForm(request.POST)
    if not form.is_valid():
        return _rerender(request, topic, statement_form=form)
    try:
        actions.add_statement(
            actor=request.user,
            topic=topic,
            text=form.cleaned_data["text"],
            seed=permissions.can_manage(request.user, topic),
        )
    except ValidationError as exc:
        forms.add_action_errors(form, exc)
        return _rerender(request, topic, statement_form=form)
    messages.success(request, _("Your statement is added; others can now vote on it."))
    return None


def _do_vote(request: HttpRequest, topic: Topic) -> HttpResponse | None:
    statement = queries.get_object(Statement, _int(request.POST.get("statement")), topic=topic)
    actions.vote(actor=request.user, statement=statement, value=request.POST.get("value", ""))
    messages.success(request, _("Your vote is recorded."))
    return None


def _do_rate(request: HttpRequest, topic: Topic) -> HttpResponse | None:
    form = forms.RatingForm(request.POST)
    if not form.is_valid():
        return _rerender(request, topic, rating_form=form)
    actions.rate_outcome(
        actor=request.user,
        topic=topic,
        score=form.cleaned_data["score"],
        comment=form.cleaned_data.get("comment", ""),
    )
    messages.success(request, _("Thank you for your rating."))
    return None


PUBLIC_ACTIONS: dict[str, Handler] = {
    "follow": _do_follow,
    "unfollow": _do_unfollow,
    "propose": _do_propose,
    "support": _do_support,
    "comment": _do_comment,
    "statement": _do_statement,
    "vote": _do_vote,
    "rate": _do_rate,
}


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404("Not found") from None


@require_POST
def topic_do(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    topic = queries.get_topic(pk)
    handler = PUBLIC_ACTIONS.get(name)
    if handler is None:
        raise Http404("No such action")
    if not request.user.is_authenticated:
        return _login(request)
    try:
        response = handler(request, topic)
    except actions.NotAllowed as exc:
        _refused(request, exc)
        return _rerender(request, topic, status=403)
    except actions.Conflict as exc:
        _refused(request, exc)
        return _rerender(request, topic, status=409)
    except ValidationError as exc:
        _refused(request, exc)
        return _rerender(request, topic, status=400)
    if response is not None:
        return response
    anchor = request.POST.get("anchor", "")
    return redirect(
        reverse("participation:topic", args=[topic.pk])
        + (f"#{anchor}" if anchor.isidentifier() else "")
    )


# --- managing a topic ---------------------------------------------------------------------------


def _manage_context(request: HttpRequest, topic: Topic, **bound: Any) -> dict[str, Any]:
    results = list(topic.results.all())
    return {
        "topic": topic,
        "next_phase": topic.next_phase(),
        "phase_form": bound.get("phase_form")
        or forms.PhaseForm(initial={"phase": topic.next_phase()}),
        "lessons_form": bound.get("lessons_form")
        or forms.LessonsForm(initial={"lessons": topic.lessons}),
        "follow_up_form": bound.get("follow_up_form") or forms.FollowUpForm(),
        "meeting_form": bound.get("meeting_form") or forms.MeetingForm(),
        "result_form": bound.get("result_form") or forms.ResultForm(parents=results),
        "statement_form": forms.StatementForm(),
        "proposals": queries.proposal_tallies(topic, include_hidden=True),
        "statements": topic.statements.all(),
        "thread": queries.comment_thread(topic),
        "results": queries.results_tree(topic),
        "meetings": queries.meetings_of(topic),
        "verdicts": forms.ResponseForm.base_fields["verdict"].choices,  # type: ignore[attr-defined]
        "today": timezone.localdate(),
    }


@require_GET
def manage(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return _login(request)
    topic = queries.managed_topic(request.user, pk)
    return render(request, "participation/manage.html", _manage_context(request, topic))


def _manage_rerender(
    request: HttpRequest, topic: Topic, status: int = 400, **bound: Any
) -> HttpResponse:
    return render(
        request,
        "participation/manage.html",
        _manage_context(request, topic, **bound),
        status=status,
    )


def _m_phase(request: HttpRequest, topic: Topic) -> HttpResponse | None:
    form = forms.PhaseForm(request.POST)
    if not form.is_valid():
        return _manage_rerender(request, topic, phase_form=form)
    actions.change_phase(
        actor=request.user,
        topic=topic,
        to_phase=form.cleaned_data["phase"],
        note=form.cleaned_data.get("note", ""),
    )
    messages.success(request, _("The topic moved to the next phase; followers are told."))
    return None


def _m_lessons(request: HttpRequest, topic: Topic) -> HttpResponse | None:
    form = forms.LessonsForm(request.POST)
    if not form.is_valid():
        return _manage_rerender(request, topic, lessons_form=form)
    actions.publish_lessons(actor=request.user, topic=topic, lessons=form.cleaned_data["lessons"])
    messages.success(request, _("What was learned is published."))
    return None


def _m_follow_up(request: HttpRequest, topic: Topic) -> HttpResponse | None:
    form = forms.FollowUpForm(request.POST)
    if not form.is_valid():
        return _manage_rerender(request, topic, follow_up_form=form)
    new = actions.open_follow_up(
        actor=request.user,
        topic=topic,
        title=form.cleaned_data["title"],
        summary=form.cleaned_data["summary"],
    )
    messages.success(request, _("The follow-up topic is open."))
    return redirect("participation:topic", pk=new.pk)


def _m_hide_proposal(request: HttpRequest, topic: Topic) -> HttpResponse | None:
    proposal = queries.get_object(Proposal, _int(request.POST.get("proposal")), topic=topic)
    actions.hide_proposal(
        actor=request.user, proposal=proposal, reason=request.POST.get("reason", "")
    )
    messages.success(request, _("The proposal is hidden; the reason is public."))
    return None


def _m_moderate_comment(request: HttpRequest, topic: Topic) -> HttpResponse | None:
    comment = queries.get_object(Comment, _int(request.POST.get("comment")), topic=topic)
    actions.moderate_comment(
        actor=request.user, comment=comment, reason=request.POST.get("reason", "")
    )
    messages.success(request, _("The comment is hidden; the reason is shown in its place."))
    return None


def _m_moderate_statement(request: HttpRequest, topic: Topic) -> HttpResponse | None:
    statement = queries.get_object(Statement, _int(request.POST.get("statement")), topic=topic)
    actions.moderate_statement(
        actor=request.user, statement=statement, reason=request.POST.get("reason", "")
    )
    messages.success(request, _("The statement is moderated out; the reason is public."))
    return None


def _m_seed(request: HttpRequest, topic: Topic) -> HttpResponse | None:
    actions.add_statement(
        actor=request.user, topic=topic, text=request.POST.get("text", ""), seed=True
    )
    messages.success(request, _("The statement is added."))
    return None


def _m_respond(request: HttpRequest, topic: Topic) -> HttpResponse | None:
    proposal = queries.get_object(Proposal, _int(request.POST.get("proposal")), topic=topic)
    actions.respond_to_proposal(
        actor=request.user,
        proposal=proposal,
        verdict=request.POST.get("verdict", ""),
        reasons=request.POST.get("reasons", ""),
    )
    messages.success(request, _("The answer is published; followers are told."))
    return None


def _m_result(request: HttpRequest, topic: Topic) -> HttpResponse | None:
    form = forms.ResultForm(request.POST, parents=list(topic.results.all()))
    if not form.is_valid():
        return _manage_rerender(request, topic, result_form=form)
    data = form.cleaned_data
    parent = queries.get_object(Result, data["parent"], topic=topic) if data.get("parent") else None
    actions.add_result(
        actor=request.user,
        topic=topic,
        title=data["title"],
        unit=Unit.objects.get(code=data["unit"]),
        parent=parent,
        weight=data["weight"],
        ends_on=data.get("ends_on"),
    )
    messages.success(request, _("The result is added."))
    return None


def _m_update(request: HttpRequest, topic: Topic) -> HttpResponse | None:
    form = forms.UpdateForm(request.POST)
    if not form.is_valid():
        raise ValidationError(
            " ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items())
        )
    result = queries.get_object(Result, form.cleaned_data["result"], topic=topic)
    actions.post_result_update(
        actor=request.user,
        result=result,
        on=form.cleaned_data["on"],
        text=form.cleaned_data["text"],
        progress=form.cleaned_data.get("progress"),
    )
    messages.success(request, _("The update is published; followers are told."))
    return None


def _m_milestone(request: HttpRequest, topic: Topic) -> HttpResponse | None:
    form = forms.MilestoneForm(request.POST)
    if not form.is_valid():
        raise ValidationError(
            " ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items())
        )
    result = queries.get_object(Result, form.cleaned_data["result"], topic=topic)
    actions.add_milestone(
        actor=request.user,
        result=result,
        title=form.cleaned_data["title"],
        due_on=form.cleaned_data["due_on"],
    )
    messages.success(request, _("The milestone is added."))
    return None


def _m_meeting(request: HttpRequest, topic: Topic) -> HttpResponse | None:
    form = forms.MeetingForm(request.POST)
    if not form.is_valid():
        return _manage_rerender(request, topic, meeting_form=form)
    try:
        meeting = actions.schedule_meeting(
            actor=request.user,
            topic=topic,
            **{k: v for k, v in form.cleaned_data.items() if v is not None},
        )
    except ValidationError as exc:
        forms.add_action_errors(form, exc)
        return _manage_rerender(request, topic, meeting_form=form)
    messages.success(request, _("The meeting is scheduled; followers are told."))
    return redirect("participation:meeting", pk=meeting.pk)


MANAGE_ACTIONS: dict[str, Handler] = {
    "phase": _m_phase,
    "lessons": _m_lessons,
    "follow_up": _m_follow_up,
    "hide_proposal": _m_hide_proposal,
    "moderate_comment": _m_moderate_comment,
    "moderate_statement": _m_moderate_statement,
    "seed": _m_seed,
    "respond": _m_respond,
    "result": _m_result,
    "update": _m_update,
    "milestone": _m_milestone,
    "meeting": _m_meeting,
}


@require_POST
def manage_do(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    if not request.user.is_authenticated:
        return _login(request)
    topic = queries.managed_topic(request.user, pk)
    handler = MANAGE_ACTIONS.get(name)
    if handler is None:
        raise Http404("No such action")
    try:
        response = handler(request, topic)
    except actions.Conflict as exc:
        _refused(request, exc)
        return _manage_rerender(request, topic, status=409)
    except (ValidationError, actions.NotAllowed) as exc:
        _refused(request, exc)
        return _manage_rerender(request, topic, status=400)
    return response or redirect("participation:manage", pk=topic.pk)


# --- meetings ---------------------------------------------------------------------------------


def _meeting_context(request: HttpRequest, meeting: Meeting, **bound: Any) -> dict[str, Any]:
    registrations = list(meeting.registrations.select_related("user"))
    user = request.user
    return {
        "meeting": meeting,
        "topic": meeting.topic,
        "registered": user.is_authenticated and any(r.user_id == user.pk for r in registrations),
        "registrations": registrations,
        "count": len(registrations),
        "results": meeting.results.select_related("proposal", "statement"),
        "may_manage": permissions.can_manage(user, meeting.topic),
        "may_assist": user.is_authenticated and permissions.can_assist(user, meeting.topic),
        "register_form": bound.get("register_form") or forms.RegisterMeetingForm(),
        "attendance_form": bound.get("attendance_form")
        or forms.AttendanceForm(
            registrations=registrations,
            initial={"present": [r.user_id for r in registrations if r.attended]},
        ),
        "minutes_form": bound.get("minutes_form")
        or forms.MinutesForm(initial={"minutes": meeting.minutes}),
        "result_form": bound.get("result_form") or forms.MeetingResultForm(topic=meeting.topic),
        "assisted_form": bound.get("assisted_form") or forms.AssistedVoteForm(),
        "statements": meeting.topic.statements.filter(status=StatementStatus.ACCEPTED),
        "started": meeting.starts_at <= timezone.now(),
    }


@require_GET
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = queries.get_object(Meeting, pk)
    return render(request, "participation/meeting.html", _meeting_context(request, meeting))


@require_POST
def meeting_do(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    meeting = queries.get_object(Meeting, pk)
    if not request.user.is_authenticated:
        return _login(request)
    staff_actions = {"attendance", "minutes", "result", "cancel"}
    if name in staff_actions and not permissions.can_manage(request.user, meeting.topic):
        raise Http404("No such meeting")
    if name == "assisted_vote" and not permissions.can_assist(request.user, meeting.topic):
        raise Http404("No such meeting")
    bound: dict[str, Any] = {}
    try:
        if name == "register":
            form: forms.Form = forms.RegisterMeetingForm(request.POST)
            bound["register_form"] = form
            if not form.is_valid():
                raise ValidationError(_("Check the form."))
            actions.register_for_meeting(
                actor=request.user, meeting=meeting, needs=form.cleaned_data.get("needs", "")
            )
            messages.success(request, _("You are registered."))
        elif name == "attendance":
            registrations = list(meeting.registrations.select_related("user"))
            form = forms.AttendanceForm(request.POST, registrations=registrations)
            bound["attendance_form"] = form
            if not form.is_valid():
                raise ValidationError(_("Check the form."))
            actions.record_attendance(
                actor=request.user,
                meeting=meeting,
                present=[int(i) for i in form.cleaned_data["present"]],
                total=form.cleaned_data.get("total"),
            )
            messages.success(request, _("Attendance is recorded."))
        elif name == "minutes":
            form = forms.MinutesForm(request.POST)
            bound["minutes_form"] = form
            if not form.is_valid():
                raise ValidationError(_("Check the form."))
            actions.record_minutes(
                actor=request.user, meeting=meeting, minutes=form.cleaned_data["minutes"]
            )
            messages.success(request, _("The minutes are published."))
        elif name == "result":
            form = forms.MeetingResultForm(request.POST, topic=meeting.topic)
            bound["result_form"] = form
            if not form.is_valid():
                raise ValidationError(_("Check the form."))
            item = form.cleaned_data.get("item") or ""
            proposal = (
                queries.get_object(Proposal, _int(item[1:]), topic=meeting.topic)
                if item.startswith("p")
                else None
            )
            statement = (
                queries.get_object(Statement, _int(item[1:]), topic=meeting.topic)
                if item.startswith("s")
                else None
            )
            actions.record_meeting_result(
                actor=request.user,
                meeting=meeting,
                method=form.cleaned_data["method"],
                proposal=proposal,
                statement=statement,
                in_favour=form.cleaned_data["in_favour"],
                against=form.cleaned_data["against"],
                abstain=form.cleaned_data["abstain"],
                note=form.cleaned_data.get("note", ""),
            )
            messages.success(request, _("The result is recorded and counted into the topic."))
        elif name == "cancel":
            actions.cancel_meeting(
                actor=request.user, meeting=meeting, reason=request.POST.get("reason", "")
            )
            messages.success(request, _("The meeting is cancelled."))
        elif name == "assisted_vote":
            form = forms.AssistedVoteForm(request.POST)
            bound["assisted_form"] = form
            if not form.is_valid():
                raise ValidationError(_("Check the form."))
            person = queries.get_object(AssistedPerson, form.cleaned_data["person"])
            statement = queries.get_object(
                Statement, form.cleaned_data["statement"], topic=meeting.topic
            )
            actions.vote_for_assisted(
                actor=request.user,
                statement=statement,
                person=person,
                value=form.cleaned_data["value"],
            )
            messages.success(request, _("The view is recorded for this participant."))
        else:
            raise Http404("No such action")
    except actions.Conflict as exc:
        _refused(request, exc)
        return render(
            request,
            "participation/meeting.html",
            _meeting_context(request, meeting, **bound),
            status=409,
        )
    except (ValidationError, actions.NotAllowed) as exc:
        _refused(request, exc)
        return render(
            request,
            "participation/meeting.html",
            _meeting_context(request, meeting, **bound),
            status=400,
        )
    return redirect("participation:meeting", pk=meeting.pk)


# --- petitions -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def petitions(request: HttpRequest) -> HttpResponse:
    form = forms.PetitionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not request.user.is_authenticated:
            return _login(request)
        if form.is_valid():
            try:
                actions.start_petition(
                    actor=request.user,
                    title=form.cleaned_data["title"],
                    text=form.cleaned_data["text"],
                    area=Area.objects.get(code=form.cleaned_data["area"]),
                )
            except (actions.NotAllowed, actions.Conflict) as exc:
                _refused(request, exc)
                status = 403
            except ValidationError as exc:
                forms.add_action_errors(form, exc)
                status = 400
            else:
                messages.success(
                    request,
                    _("Your petition is published; share it so that others can support it."),
                )
                return redirect("participation:petitions")
        else:
            status = 400
    return render(
        request,
        "participation/petitions.html",
        {
            "form": form,
            "petitions": queries.open_petitions(),
            "closed": Petition.objects.exclude(status="open").select_related("topic")[:20],
        },
        status=status,
    )


@require_POST
def petition_sign(request: HttpRequest, pk: int) -> HttpResponse:
    petition = queries.get_object(Petition, pk)
    if not request.user.is_authenticated:
        return _login(request)
    try:
        actions.sign_petition(actor=request.user, petition=petition)
    except (actions.NotAllowed, actions.Conflict) as exc:
        _refused(request, exc)
        return redirect("participation:petitions")
    topic = Topic.objects.filter(petition=petition).first()
    if topic is not None:
        messages.success(request, _("The petition reached its threshold: a topic is open."))
        return redirect("participation:topic", pk=topic.pk)
    messages.success(request, _("Your support is counted."))
    return redirect("participation:petitions")


# --- residents' accounts -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    form = forms.ResidentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            resident = actions.register_resident(
                actor=None,
                username=data["username"],
                password=data["password"],
                display_name=data["display_name"],
                phone=data["phone"],
                home_area=Area.objects.filter(code=data.get("home_area") or "").first(),
            )
        except ValidationError as exc:
            forms.add_action_errors(form, exc)
        else:
            login(request, resident.user, backend="django.contrib.auth.backends.ModelBackend")
            with contextlib.suppress(actions.Conflict):
                actions.send_verification_code(actor=resident.user, resident=resident)
            messages.success(
                request, _("Your account is created. Enter the code we sent to your phone.")
            )
            return redirect("participation:verify")
    status = 400 if request.method == "POST" else 200
    return render(request, "participation/register.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return _login(request)
    resident = permissions.resident_of(request.user)
    if resident is None:
        raise Http404("Not a resident account")
    form = forms.CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if request.POST.get("resend"):
            try:
                actions.send_verification_code(actor=request.user, resident=resident)
                messages.success(request, _("A new code is on its way."))
            except actions.Conflict as exc:
                _refused(request, exc)
            return redirect("participation:verify")
        if form.is_valid():
            try:
                actions.verify_phone(
                    actor=request.user, resident=resident, code=form.cleaned_data["code"]
                )
            except actions.Conflict as exc:
                _refused(request, exc)
                status = 409
            except ValidationError as exc:
                forms.add_action_errors(form, exc)
                status = 400
            else:
                messages.success(
                    request, _("Your account is verified: you can now vote, support and comment.")
                )
                return redirect("participation:topics")
        else:
            status = 400
    return render(
        request, "participation/verify.html", {"form": form, "resident": resident}, status=status
    )


@require_http_methods(["GET", "POST"])
def counter(request: HttpRequest) -> HttpResponse:
    """Staff at a counter verify a resident's account after seeing an identity document, and
    register people whose views they will record (with consent)."""
    if not request.user.is_authenticated:
        return _login(request)
    if not permissions.can_verify_residents(request.user):
        raise Http404("Not counter staff")
    form = forms.CounterForm(request.POST if request.POST.get("form") == "verify" else None)
    assisted_form = forms.AssistedForm(
        request.POST if request.POST.get("form") == "assisted" else None
    )
    status = 200
    created: AssistedPerson | None = None
    if request.method == "POST":
        status = 400
        if form.is_bound and form.is_valid():
            user = get_user_model().objects.filter(username=form.cleaned_data["username"]).first()
            resident = Resident.objects.filter(user=user).first() if user else None
            if resident is None:
                form.add_error("username", _("No resident account has this user name."))
            else:
                try:
                    actions.verify_at_counter(
                        actor=request.user,
                        resident=resident,
                        document=form.cleaned_data["document"],
                    )
                except (actions.Conflict, ValidationError) as exc:
                    form.add_error(
                        None,
                        str(exc) if isinstance(exc, actions.Conflict) else " ".join(exc.messages),
                    )
                else:
                    messages.success(request, _("The account is verified."))
                    return redirect("participation:counter")
        elif assisted_form.is_bound and assisted_form.is_valid():
            data = assisted_form.cleaned_data
            try:
                created = actions.register_assisted_person(
                    actor=request.user,
                    name=data["name"],
                    phone=data.get("phone", ""),
                    consent_text=data["consent_text"],
                )
            except (actions.Conflict, ValidationError) as exc:
                assisted_form.add_error(
                    None, str(exc) if isinstance(exc, actions.Conflict) else " ".join(exc.messages)
                )
            else:
                status = 200
                assisted_form = forms.AssistedForm()
    return render(
        request,
        "participation/counter.html",
        {"form": form, "assisted_form": assisted_form, "created": created},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def notifications(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return _login(request)
    if request.method == "POST":
        actions.mark_notifications_read(actor=request.user)
        return redirect("participation:notifications")
    rows = []
    for n in queries.notifications_for(request.user)[:100]:
        rows.append({"notice": n, "text": notice_text(n.kind, n.data)})
    return render(request, "participation/notifications.html", {"rows": rows})


def notice_text(kind: str, data: dict[str, Any]) -> str:
    """A notification's text, in the reader's language."""
    from urbangov.participation.models import ResponseVerdict

    if kind == NotificationKind.PHASE:
        phase = data.get("phase", "")
        return _("The topic moved to the %(phase)s phase.") % {
            "phase": Phase(phase).label if phase in Phase.values else phase
        }
    if kind == NotificationKind.RESPONSE:
        verdict = data.get("verdict", "")
        label = ResponseVerdict(verdict).label if verdict in ResponseVerdict.values else verdict
        return _("The city answered the proposal “%(title)s”: %(verdict)s.") % {
            "title": data.get("title", ""),
            "verdict": label,
        }
    if kind == NotificationKind.PROGRESS:
        if data.get("progress") is not None:
            return _("Progress on “%(title)s”: %(progress)s%%.") % {
                "title": data.get("title", ""),
                "progress": data.get("progress"),
            }
        return _("News on “%(title)s”.") % {"title": data.get("title", "")}
    if kind == NotificationKind.MEETING:
        return _("A meeting was scheduled: %(title)s.") % {"title": data.get("title", "")}
    if kind == NotificationKind.FOLLOW_UP:
        return _("A follow-up topic was opened: %(title)s.") % {"title": data.get("title", "")}
    return kind
