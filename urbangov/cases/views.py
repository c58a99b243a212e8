"""The case pages: residents report and follow cases without an account; staff work their
queue on the workbench. Every form works without JavaScript.

Views are thin: they validate a form, authorize through :mod:`urbangov.cases.permissions`,
read through :mod:`urbangov.cases.queries` (outsiders get 404, as for a missing case) and call
one action.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

import shapely
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from shapely.geometry import mapping, shape

from urbangov.cases import actions, permissions, queries
from urbangov.cases.forms import (
    STEP_OF_FIELD,
    WIZARD_STEPS,
    CaseForm,
    ConfirmForm,
    FilterForm,
    IntakeForm,
    RateForm,
    ReopenForm,
    TrackForm,
    TransitionForm,
    add_action_errors,
    draft_submission,
    new_submission_key,
)
from urbangov.cases.models import (
    Case,
    Channel,
    Rating,
    Status,
    normalise_tracking_code,
)
from urbangov.cases.privacy import personal_view
from urbangov.cases.transitions import STAFF_TRANSITIONS, TRANSITIONS
from urbangov.org.models import Area, Category, Level
from urbangov.org.queries import is_staff_member
from urbangov.privacy import purpose, ratelimit
from urbangov.privacy.purpose import Purpose

PAGE_SIZE = 25
DRAFT_KEY = "case_draft"
SUBMITTED_KEY = "case_submitted"
WIZARD_LAST_STEP = 4


# --- helpers ---------------------------------------------------------------------------------


def _elder(request: HttpRequest) -> bool:
    return bool(getattr(request, "elder_mode", False))


def _within_submit_rate(request: HttpRequest) -> bool:
    rate = settings.URBANGOV["PUBLIC_SUBMIT_RATE"]
    return ratelimit.hit("web.cases.create", ratelimit.client_ip(request), rate)


def _within_track_rate(request: HttpRequest) -> bool:
    """Count one rating or reopening from this client (its own count, at the submit rate);
    staff who take cases in, acting for a resident (a callback survey, 回访), are not
    limited, as in the API."""
    if permissions.can_take_intake(request.user):
        return True
    rate = settings.URBANGOV["PUBLIC_SUBMIT_RATE"]
    return ratelimit.hit("web.track", ratelimit.client_ip(request), rate)


def _rate_limited(request: HttpRequest, *, for_case: bool = False) -> HttpResponse:
    """The 429 page: for a report, or (``for_case``) for rating or reopening a case (which
    is not looked up: the page must not tell whether a guessed code exists)."""
    _limit, window = ratelimit.parse_rate(settings.URBANGOV["PUBLIC_SUBMIT_RATE"])
    # Counters run in fixed windows: the next one opens this many seconds from now.
    wait = window - int(time.time()) % window
    context: dict[str, Any] = {"wait": wait, "for_case": for_case}
    if for_case:
        context["message"] = _(
            "Too many requests from your address; please try again in %(n)d seconds."
        ) % {"n": wait}
    response = render(request, "cases/rate_limited.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response


def _remember_submitted(request: HttpRequest, case: Case) -> None:
    request.session[SUBMITTED_KEY] = case.tracking_code


# --- residents: reporting --------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def submit(request: HttpRequest) -> HttpResponse:
    """Report a problem on one page; in elder-friendly mode, one step per page instead."""
    if request.method == "GET" and _elder(request):
        return redirect("cases:submit_step", step=1)
    if request.method == "POST":
        if not _within_submit_rate(request):
            return _rate_limited(request)
        form = CaseForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                result = actions.submit_case(
                    actor=request.user, submission=form.submission(Channel.WEB)
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                _remember_submitted(request, result.case)
                return redirect("cases:submitted")
        return render(request, "cases/submit.html", {"form": form}, status=400)
    return render(request, "cases/submit.html", {"form": CaseForm()})


def _draft(request: HttpRequest) -> dict[str, Any]:
    draft = request.session.get(DRAFT_KEY)
    if not isinstance(draft, dict) or "key" not in draft:
        draft = {"key": new_submission_key(), "done": []}
    return draft


def _save_draft(request: HttpRequest, draft: dict[str, Any]) -> None:
    request.session[DRAFT_KEY] = draft
    request.session.modified = True


def _step_form_data(draft: dict[str, Any], step: int) -> dict[str, Any]:
    fields = WIZARD_STEPS[step].base_fields
    data = {}
    for name in fields:
        value = draft.get(name)
        if value is None or value is False:
            continue
        data[name] = value
    return data


def _render_step(request: HttpRequest, step: int, form: Any, status: int = 200) -> HttpResponse:
    context = {
        "form": form,
        "step": step,
        "steps": WIZARD_LAST_STEP,
        "step_titles": _step_titles(),
        "previous": step - 1 if step > 1 else None,
    }
    return render(request, "cases/wizard_step.html", context, status=status)


def _step_titles() -> dict[int, str]:
    return {
        1: _("What happened?"),
        2: _("Where is it?"),
        3: _("How can we reach you?"),
        4: _("Check and send"),
    }


@never_cache
@require_http_methods(["GET", "POST"])
def submit_step(request: HttpRequest, step: int) -> HttpResponse:
    """The report as a server-side wizard: what, where, who, then check and send.

    The draft lives in the session, so it needs neither an account nor JavaScript; the
    photos are added on the last page, so no file is ever kept in the session.
    """
    if not 1 <= step <= WIZARD_LAST_STEP:
        raise Http404("No such step")
    draft = _draft(request)
    if draft.get("sent"):
        # Sent already: a second "send" (a double click, a reload) shows the same code;
        # anything else starts a new report.
        if step == WIZARD_LAST_STEP and request.method == "POST":
            return redirect("cases:submitted")
        draft = {"key": new_submission_key(), "done": []}
    for earlier in range(1, step):
        if earlier not in draft["done"]:
            return redirect("cases:submit_step", step=earlier)
    if step == WIZARD_LAST_STEP:
        return _confirm_step(request, draft)
    form_class = WIZARD_STEPS[step]
    if request.method == "POST":
        form = form_class(request.POST)
        going_back = request.POST.get("nav") == "back"
        if form.is_valid():
            draft.update(form.cleaned_data)
            if step not in draft["done"]:
                draft["done"].append(step)
            _save_draft(request, draft)
            return redirect("cases:submit_step", step=max(1, step - 1) if going_back else step + 1)
        if going_back and step > 1:
            # Going back never needs valid answers; what was typed is kept for next time.
            kept = {k: v for k, v in form.data.items() if k in form.fields}
            draft.update({k: v for k, v in kept.items() if k not in ("lat", "lon")})
            _save_draft(request, draft)
            return redirect("cases:submit_step", step=step - 1)
        return _render_step(request, step, form, status=400)
    _save_draft(request, draft)
    data = _step_form_data(draft, step)
    form = form_class(initial=data)
    return _render_step(request, step, form)


def _confirm_step(request: HttpRequest, draft: dict[str, Any]) -> HttpResponse:
    category = Category.objects.filter(code=draft.get("category") or "").first()
    context: dict[str, Any] = {
        "draft": draft,
        "category": category.display_name(get_language()) if category else "",
        "step": WIZARD_LAST_STEP,
        "steps": WIZARD_LAST_STEP,
        "step_titles": _step_titles(),
        "previous": WIZARD_LAST_STEP - 1,
    }
    if request.method != "POST":
        context["form"] = ConfirmForm()
        return render(request, "cases/wizard_confirm.html", context)
    if request.POST.get("nav") == "back":
        return redirect("cases:submit_step", step=WIZARD_LAST_STEP - 1)
    if not _within_submit_rate(request):
        return _rate_limited(request)
    form = ConfirmForm(request.POST, request.FILES)
    context["form"] = form
    if form.is_valid():
        submission = draft_submission(draft, photos=form.cleaned_data["photos"])
        try:
            result = actions.submit_case(actor=request.user, submission=submission)
        except ValidationError as exc:
            # Send the resident back to the page that asked for what is wrong.
            fields = exc.message_dict if hasattr(exc, "error_dict") else {}
            steps = sorted({STEP_OF_FIELD[k] for k in fields if k in STEP_OF_FIELD})
            if steps:
                step = steps[0]
                step_form = WIZARD_STEPS[step](_step_form_data(draft, step))
                step_form.is_valid()
                add_action_errors(step_form, exc)
                return _render_step(request, step, step_form, status=400)
            add_action_errors(form, exc)
        else:
            _save_draft(request, {"key": draft["key"], "done": [], "sent": True})
            _remember_submitted(request, result.case)
            return redirect("cases:submitted")
    return render(request, "cases/wizard_confirm.html", context, status=400)


@never_cache
@require_GET
def submitted(request: HttpRequest) -> HttpResponse:
    """The tracking code, shown large, with what to do with it."""
    code = request.session.get(SUBMITTED_KEY)
    if not code:
        return redirect("cases:submit")
    case = queries.by_tracking_code(code)
    if case is None:
        return redirect("cases:submit")
    return render(request, "cases/submitted.html", {"case": case})


# --- residents: following a case --------------------------------------------------------------


@require_GET
def track(request: HttpRequest) -> HttpResponse:
    """Ask for a tracking code (a GET form, so it works from a bookmark or a text message)."""
    if "code" not in request.GET:
        return render(request, "cases/track.html", {"form": TrackForm()})
    form = TrackForm(request.GET)
    if form.is_valid():
        case = queries.by_tracking_code(form.cleaned_data["code"])
        if case is not None:
            return redirect("cases:track_case", code=case.tracking_code)
        form.add_error("code", _("No case has this tracking code. Check it and try again."))
        return render(request, "cases/track.html", {"form": form}, status=404)
    return render(request, "cases/track.html", {"form": form}, status=400)


def _public_case(code: str) -> Case:
    case = queries.by_tracking_code(code)
    if case is None:
        raise Http404("No such case")
    return case


def _reopen_state(case: Case) -> tuple[bool, bool, datetime | None]:
    """(may rate now, may reopen now, reopen deadline)."""
    feedback = case.feedback.filter(round=case.reopen_count).first()
    may_rate = case.status == Status.RESOLVED and feedback is None
    deadline = case.reopen_deadline()
    may_reopen = (
        case.status in (Status.RESOLVED, Status.CLOSED)
        and feedback is not None
        and feedback.rating == Rating.DISSATISFIED
        and deadline is not None
        and timezone.now() <= deadline
    )
    return may_rate, may_reopen, deadline


def _render_tracking(
    request: HttpRequest,
    case: Case,
    *,
    rate_form: RateForm | None = None,
    reopen_form: ReopenForm | None = None,
    status: int = 200,
) -> HttpResponse:
    may_rate, may_reopen, deadline = _reopen_state(case)
    feedback = case.feedback.filter(round=case.reopen_count).first()
    shown_category = case.category or case.reported_category
    # Whoever holds the code sees the case, never its personal data unredacted: a code can be
    # passed on or overheard, and the resident knows what they wrote.
    personal = personal_view(request.user, case, None, via="track", may=False)
    context = {
        "case": case,
        "personal": personal,
        # A duplicate's reporter sees the surviving case read-only, never its tracking code.
        "survivor": queries.surviving_case(case),
        "category": shown_category.display_name(get_language()) if shown_category else "",
        "timeline": [
            {**row, "note": personal.clean(row.get("note") or "")}
            for row in queries.public_timeline(case)
        ],
        "may_rate": may_rate,
        "may_reopen": may_reopen,
        "reopen_deadline": deadline,
        "feedback": feedback,
        "action_form": rate_form or reopen_form,
        "rate_form": rate_form or RateForm(),
        "reopen_form": reopen_form or ReopenForm(),
        "overdue": case.is_overdue(),
        "in_hands": case.status in (Status.DISPATCHED, Status.ACCEPTED),
    }
    return render(request, "cases/track_case.html", context, status=status)


@never_cache
@require_GET
def track_case(request: HttpRequest, code: str) -> HttpResponse:
    case = _public_case(code)
    if case.tracking_code != code:
        return redirect("cases:track_case", code=case.tracking_code)
    return _render_tracking(request, case)


@require_POST
def rate(request: HttpRequest, code: str) -> HttpResponse:
    # Counted before the code is looked up, so that guessing codes is limited too.
    if not _within_track_rate(request):
        return _rate_limited(request, for_case=True)
    case = _public_case(code)
    form = RateForm(request.POST)
    if not form.is_valid():
        return _render_tracking(request, case, rate_form=form, status=400)
    try:
        actions.rate_case(
            case,
            actor=request.user,
            rating=form.cleaned_data["rating"],
            comment=form.cleaned_data["comment"],
        )
    except actions.TransitionError as exc:
        form.add_error(None, str(exc))
        return _render_tracking(request, case, rate_form=form, status=409)
    except ValidationError as exc:
        add_action_errors(form, exc)
        return _render_tracking(request, case, rate_form=form, status=400)
    messages.success(request, _("Thank you for your rating."))
    return redirect("cases:track_case", code=case.tracking_code)


@require_POST
def reopen(request: HttpRequest, code: str) -> HttpResponse:
    if not _within_track_rate(request):
        return _rate_limited(request, for_case=True)
    case = _public_case(code)
    form = ReopenForm(request.POST)
    if not form.is_valid():
        return _render_tracking(request, case, reopen_form=form, status=400)
    try:
        actions.reopen_case(case, actor=request.user, reason=form.cleaned_data["reason"])
    except actions.TransitionError as exc:
        form.add_error(None, str(exc))
        return _render_tracking(request, case, reopen_form=form, status=409)
    except ValidationError as exc:
        add_action_errors(form, exc)
        return _render_tracking(request, case, reopen_form=form, status=400)
    messages.success(request, _("The case is reopened and goes back to the city."))
    return redirect("cases:track_case", code=case.tracking_code)


# --- the map ------------------------------------------------------------------------------------


@require_GET
def areas(request: HttpRequest) -> JsonResponse:
    """The city, its districts and streets as GeoJSON, simplified, for the report form's map."""
    features = []
    rows = Area.objects.filter(
        level__in=[Level.CITY, Level.DISTRICT, Level.STREET], geometry__isnull=False
    ).values_list("code", "name", "level", "geometry")
    for code, name, level, geometry in rows:
        try:
            geom = shape(geometry)
        except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException):
            continue
        simple = shapely.set_precision(geom.simplify(0.0002, preserve_topology=True), 1e-5)
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code, "name": name, "level": level},
                "geometry": mapping(simple),
            }
        )
    response = JsonResponse({"type": "FeatureCollection", "features": features})
    response["Cache-Control"] = "public, max-age=300"
    return response


# --- staff --------------------------------------------------------------------------------------


def staff_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Signed-in staff only: others are sent to sign in; a signed-in non-member gets 404."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_staff_member(request.user):
            raise Http404("Not a staff member")
        return view(request, *args, **kwargs)

    return wrapper


def _looks_like_code(value: str) -> bool:
    raw = "".join(ch for ch in value.upper() if ch.isalnum())
    return len(raw) == 10 and len(value.strip()) <= 12


@require_GET
@staff_required
def workbench(request: HttpRequest) -> HttpResponse:
    """The staff member's queue (what needs their hand, by role) or all cases in their scope,
    with filters in a GET form and pages of 25."""
    form = FilterForm(request.GET or None)
    view = "queue"
    qs = queries.queue_for(request.user)
    status = 200
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        view = data.get("view") or "queue"
        if view == "all":
            qs = queries.scoped(request.user)
        q = data.get("q") or ""
        if _looks_like_code(q):
            q = normalise_tracking_code(q)
        try:
            qs = queries.filtered(
                qs,
                status=data.get("status") or None,
                category=data.get("category") or None,
                area=data.get("area") or None,
                overdue=bool(data.get("overdue")),
                q=q or None,
            )
        except ValueError as exc:
            form.add_error(None, str(exc))
            qs = qs.none()
            status = 400
    elif form.is_bound:
        qs = qs.none()
        status = 400
    qs = qs.select_related("category", "reported_category", "area", "unit")
    qs = queries.queue_order(qs) if view == "queue" else qs.order_by("-created_at", "-id")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    now = timezone.now()
    language = get_language()
    rows = []
    for case in page.object_list:
        shown = case.category or case.reported_category
        rows.append(
            {
                "case": case,
                "category": shown.display_name(language) if shown else "",
                "overdue": case.is_overdue(now),
            }
        )
    context = {
        "form": form,
        "view": view,
        "page": page,
        "rows": rows,
        "query": query.urlencode(),
        "queue_count": queries.queue_for(request.user).count(),
        "overdue_count": queries.scoped(request.user).overdue(now).count(),
    }
    return render(request, "cases/workbench.html", context, status=status)


def _render_case(
    request: HttpRequest,
    case: Case,
    *,
    bound: TransitionForm | None = None,
    status: int = 200,
    stated: Purpose | None = None,
) -> HttpResponse:
    user = request.user
    # Raw personal data: a role that may, and a stated purpose; the read is logged with it.
    personal = personal_view(
        user, case, stated, via="page", may=permissions.can_see_contact(user, case)
    )
    forms = []
    for name in queries.available_transitions(user, case):
        form = (
            bound if bound is not None and bound.name == name else TransitionForm(name, case=case)
        )
        forms.append({"name": name, "label": TRANSITIONS[name].label, "form": form})
    language = get_language()
    context = {
        "case": case,
        "personal": personal,
        "purposes": Purpose.choices,
        "category": case.category.display_name(language) if case.category else "",
        "reported_category": (
            case.reported_category.display_name(language) if case.reported_category else ""
        ),
        "events": [
            {**row, "note": personal.clean(row["note"])} for row in queries.staff_timeline(case)
        ],
        "attachments": case.attachments.order_by("id"),
        "extensions": case.extensions.order_by("requested_at"),
        "feedback": case.feedback.order_by("round"),
        "transitions": forms,
        "overdue": case.is_overdue(),
        "area_path": case.area.ancestors()[1:] if case.area else [],
    }
    return render(request, "cases/case_detail.html", context, status=status)


@require_GET
@staff_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = queries.get_for(request.user, pk)
    try:
        stated = purpose.stated(request.GET.get("purpose"))
    except purpose.UnknownPurpose as exc:
        messages.error(request, str(exc))
        return _render_case(request, case, status=400)
    return _render_case(request, case, stated=stated)


@require_POST
@staff_required
def transition(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """Run one staff transition from the case page's small form."""
    case = queries.get_for(request.user, pk)
    if name not in STAFF_TRANSITIONS:
        raise Http404("No such transition")
    form = TransitionForm(name, request.POST, case=case)
    if not permissions.can(name, request.user, case):
        form.add_error(None, _("Your role does not allow this on this case."))
        messages.error(request, _("Your role does not allow this on this case."))
        return _render_case(request, case, status=403)
    if not form.is_valid():
        return _render_case(request, case, bound=form, status=400)
    values = form.values()
    if name == "merge":
        into = normalise_tracking_code(values.get("into", ""))
        if not queries.scoped(request.user).filter(tracking_code=into).exists():
            form.add_error("into", _("No case with this tracking code among your cases."))
            return _render_case(request, case, bound=form, status=400)
        values["into"] = into
    try:
        updated = actions.perform(name, case, actor=request.user, data=values)
    except actions.TransitionError as exc:
        messages.error(request, str(exc))
        return _render_case(request, queries.get_for(request.user, pk), status=409)
    except ValidationError as exc:
        add_action_errors(form, exc)
        return _render_case(request, case, bound=form, status=400)
    messages.success(
        request,
        _("Done: %(action)s. The case is now %(status)s.")
        % {"action": TRANSITIONS[name].label, "status": Status(updated.status).label},
    )
    if permissions.can_view(request.user, Case.objects.select_related("area").get(pk=pk)):
        return redirect("cases:case_detail", pk=pk)
    return redirect("cases:workbench")


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
def intake(request: HttpRequest) -> HttpResponse:
    """Staff enter a case for a resident who called or came to the counter: operators,
    handlers, supervisors and administrators; other staff roles get 404."""
    if not permissions.can_take_intake(request.user):
        raise Http404("Not a role that takes cases in")
    if request.method == "POST":
        form = IntakeForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                result = actions.submit_case(
                    actor=request.user, submission=form.submission(form.cleaned_data["channel"])
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                case = result.case
                messages.success(
                    request,
                    _("Case %(code)s is recorded. Give the resident this tracking code.")
                    % {"code": case.tracking_code},
                )
                if permissions.can_view(request.user, case):
                    return redirect("cases:case_detail", pk=case.pk)
                return redirect("cases:workbench")
        return render(request, "cases/intake.html", {"form": form}, status=400)
    return render(request, "cases/intake.html", {"form": IntakeForm()})


@require_GET
@staff_required
def attachment(request: HttpRequest, pk: int, file_pk: int) -> HttpResponseBase:
    """A case's file, for staff who may see the case (media is never served in public)."""
    case = queries.get_for(request.user, pk)
    item = case.attachments.filter(pk=file_pk).first()
    if item is None:
        raise Http404("No such file")
    inline = item.content_type.startswith("image/")
    try:
        handle = item.file.open("rb")
    except OSError:
        raise Http404("The file is missing from storage") from None
    response = FileResponse(
        handle,
        content_type=item.content_type,
        as_attachment=not inline,
        filename=item.name,
    )
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
