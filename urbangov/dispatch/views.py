"""The operator's dispatch page: why the dispatcher decided what it did, and the answers —
accept a suggestion with one click, or choose another unit with a reason. Works without
JavaScript; outsiders get 404, as for a missing case."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from urbangov.cases import queries as case_queries
from urbangov.cases.actions import TransitionError
from urbangov.cases.forms import add_action_errors
from urbangov.cases.models import Case, Status
from urbangov.cases.views import staff_required
from urbangov.dispatch import actions, permissions, queries
from urbangov.dispatch.forms import AcceptForm, CorrectForm


def _render(
    request: HttpRequest, case: Case, *, form: CorrectForm | None = None, status: int = 200
) -> HttpResponse:
    found = queries.panel(request.user, case, with_similar=True)
    if found is None:
        raise Http404("The dispatcher has decided nothing about this case")
    context = {
        "case": case,
        "panel": found,
        "form": form or CorrectForm(case=case, initial={"decision": found.decision.pk}),
    }
    return render(request, "dispatch/decision.html", context, status=status)


@require_GET
@staff_required
def decision(request: HttpRequest, pk: int) -> HttpResponse:
    return _render(request, case_queries.get_for(request.user, pk))


def _done(request: HttpRequest, case: Case) -> HttpResponse:
    fresh = Case.objects.select_related("unit", "area").get(pk=case.pk)
    messages.success(
        request,
        _("Done: the case is sent to %(unit)s.") % {"unit": fresh.unit.name if fresh.unit else "—"},
    )
    if permissions.can_see(request.user, fresh):
        return redirect("cases:case_detail", pk=case.pk)
    return redirect("cases:workbench")


def _refuse_if_not_operator(request: HttpRequest, case: Case) -> HttpResponse | None:
    if not permissions.can_decide(request.user, case):
        messages.error(request, _("Your role does not allow this on this case."))
        return redirect("cases:case_detail", pk=case.pk)
    if case.status not in (Status.SUBMITTED, Status.AWAITING_DISPATCH):
        messages.error(
            request,
            _("The case is %(status)s; it is not waiting to be dispatched.")
            % {"status": Status(case.status).label},
        )
        return redirect("cases:case_detail", pk=case.pk)
    return None


@require_POST
@staff_required
def accept(request: HttpRequest, pk: int) -> HttpResponse:
    """One click: send the case where the dispatcher suggested (its first or another of its
    suggestions)."""
    case = case_queries.get_for(request.user, pk)
    refused = _refuse_if_not_operator(request, case)
    if refused is not None:
        return refused
    form = AcceptForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("That suggestion could not be read; try again."))
        return redirect("cases:case_detail", pk=case.pk)
    try:
        actions.accept_suggestion(
            case,
            actor=request.user,
            choice=form.cleaned_data["choice"],
            decision_id=form.cleaned_data["decision"],
        )
    except TransitionError as exc:
        messages.error(request, str(exc))
        return redirect("cases:case_detail", pk=case.pk)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("dispatch:decision", pk=case.pk)
    return _done(request, case)


@require_POST
@staff_required
def correct(request: HttpRequest, pk: int) -> HttpResponse:
    """Another unit than suggested, with the reason why (required)."""
    case = case_queries.get_for(request.user, pk)
    refused = _refuse_if_not_operator(request, case)
    if refused is not None:
        return refused
    form = CorrectForm(request.POST, case=case)
    if not form.is_valid():
        return _render(request, case, form=form, status=400)
    try:
        actions.correct_dispatch(
            case,
            actor=request.user,
            unit=form.cleaned_data["unit"],
            category=form.cleaned_data["category"],
            reason=form.cleaned_data["reason"],
        )
    except TransitionError as exc:
        messages.error(request, str(exc))
        return redirect("cases:case_detail", pk=case.pk)
    except ValidationError as exc:
        add_action_errors(form, exc)
        return _render(request, case, form=form, status=400)
    return _done(request, case)
