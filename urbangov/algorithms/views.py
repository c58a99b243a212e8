"""Public pages about the city's algorithms: the register, and how to contest a decision."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from urbangov.algorithms import actions, explain, impact, permissions, queries
from urbangov.algorithms.models import Algorithm, Appeal, Decision, Kind, Phase, ReviewOutcome


def _public_row(algorithm: Algorithm) -> dict[str, object]:
    level = queries.impact_level(algorithm)
    return {
        "algorithm": algorithm,
        "plain": algorithm.plain(get_language() or settings.LANGUAGE_CODE),
        "level": level,
        "level_roman": ("I", "II", "III", "IV")[level - 1] if level else "",
        "suspended": queries.is_suspended(algorithm),
        "automatic": queries.may_decide_automatically(algorithm.pk),
        "notice": impact.safeguards(level).public_notice,
        "review": queries.latest_review(algorithm),
    }


@require_GET
def register(request: HttpRequest) -> HttpResponse:
    """Every algorithm the city uses in production, in plain language."""
    rows = [_public_row(a) for a in queries.production_algorithms()]
    return render(request, "algorithms/register.html", {"rows": rows})


@require_GET
def register_detail(request: HttpRequest, code: str) -> HttpResponse:
    algorithm = queries.algorithm(code)
    if algorithm is None or algorithm.phase != Phase.PRODUCTION:
        raise Http404("No such algorithm in production")
    return render(request, "algorithms/register_detail.html", _public_row(algorithm))


@require_GET
def register_json(request: HttpRequest) -> JsonResponse:
    """The public register as JSON (production algorithms)."""
    return JsonResponse(
        queries.register_export(), json_dumps_params={"ensure_ascii": False, "indent": 1}
    )


@require_GET
def contest(request: HttpRequest) -> HttpResponse:
    """How to contest a decision an algorithm made about you."""
    return render(
        request,
        "algorithms/contest.html",
        {"hotline": settings.URBANGOV.get("HOTLINE", "12345")},
    )


# --- appeals --------------------------------------------------------------------------------

APPEAL_SALT = "urbangov.algorithms.appeal"


def appeal_token(decision_id: int) -> str:
    """The key to appeal one decision: shown only on the page of the case it is about (which
    needs the case's tracking code), so holding it proves the resident saw that page."""
    return signing.dumps(decision_id, salt=APPEAL_SALT)


def _decision_from(token: str) -> Decision:
    try:
        pk = int(signing.loads(token, salt=APPEAL_SALT))
    except (signing.BadSignature, ValueError, TypeError):
        raise Http404("No such decision") from None
    found = (
        Decision.objects.select_related("algorithm", "version")
        .filter(pk=pk, kind=Kind.ALGORITHM)
        .first()
    )
    if found is None:
        raise Http404("No such decision")
    return found


class AppealForm(forms.Form):
    grounds = forms.CharField(
        label=_("Why do you disagree?"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=actions.GROUNDS_MAX,
    )


def _appeal_page(
    request: HttpRequest, decision: Decision, token: str, form: AppealForm, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "algorithms/appeal.html",
        {
            "decision": decision,
            "explanation": explain.public(decision),
            "appeal": queries.appeal_of(decision),
            "form": form,
            "token": token,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def appeal(request: HttpRequest, token: str) -> HttpResponse:
    """Appeal a decision about your case, and follow the appeal."""
    decision = _decision_from(token)
    if request.method == "GET":
        return _appeal_page(request, decision, token, AppealForm())
    form = AppealForm(request.POST)
    if not form.is_valid():
        return _appeal_page(request, decision, token, form, status=400)
    try:
        actions.submit_appeal(
            actor=request.user,
            decision=decision,
            grounds=form.cleaned_data["grounds"],
        )
    except ValidationError as exc:
        for message in exc.messages:
            form.add_error(None, message)
        return _appeal_page(request, decision, token, form, status=409)
    messages.success(request, _("Your appeal has been received."))
    return redirect("algorithms:appeal", token=token)


class DecideForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[("confirm", _("Confirm the decision")), ("overturn", _("Overturn the decision"))],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 4}), max_length=actions.REASON_MAX
    )


@login_required
@require_GET
def appeals(request: HttpRequest) -> HttpResponse:
    """The appeals assigned to me."""
    return render(
        request, "algorithms/appeals.html", {"appeals": queries.appeals_for(request.user)}
    )


@login_required
@require_http_methods(["GET", "POST"])
def appeal_decide(request: HttpRequest, pk: int) -> HttpResponse:
    found = Appeal.objects.select_related("decision", "decision__algorithm").filter(pk=pk).first()
    # Anyone but the assignee: the same answer as for a missing appeal.
    if found is None or found.assignee_id != request.user.pk:
        raise Http404("No such appeal")
    form = DecideForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.decide_appeal(
                    actor=request.user,
                    appeal=found,
                    overturn=form.cleaned_data["outcome"] == "overturn",
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
                status = 409
            else:
                messages.success(request, _("The outcome of the appeal is recorded."))
                return redirect("algorithms:appeals")
        else:
            status = 400
    return render(
        request,
        "algorithms/appeal_decide.html",
        {
            "appeal": found,
            "explanation": explain.staff(found.decision),
            "form": form,
        },
        status=status,
    )


# --- staff: the register, assessments, reviews ---------------------------------------------


def _may_manage(user: Any) -> bool:
    return permissions.can_edit_register(user) or permissions.can_review(user)


def _managed(request: HttpRequest, code: str) -> Algorithm:
    if not _may_manage(request.user):
        raise Http404("No such page")
    found = queries.algorithm(code)
    if found is None:
        raise Http404("No such algorithm")
    return found


@login_required
@require_GET
def manage(request: HttpRequest) -> HttpResponse:
    """Every registered algorithm with its phase, level, review and audits (staff)."""
    if not _may_manage(request.user):
        raise Http404("No such page")
    rows = [
        {
            "algorithm": a,
            "level": queries.impact_level(a),
            "review": queries.latest_review(a),
            "automatic": queries.may_decide_automatically(a.pk),
            "last_audit": a.audit_reports.order_by("-created_at").first(),
        }
        for a in Algorithm.objects.select_related("owner").order_by("code")
    ]
    return render(request, "algorithms/manage.html", {"rows": rows, "now": timezone.now()})


class ReviewForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=ReviewOutcome.choices)
    reasons = forms.CharField(label=_("Reasons"), widget=forms.Textarea(attrs={"rows": 4}))


class PhaseForm(forms.Form):
    phase = forms.ChoiceField(label=_("Phase"), choices=Phase.choices)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=actions.REASON_MAX)


def _manage_detail(
    request: HttpRequest,
    algorithm: Algorithm,
    *,
    review_form: ReviewForm | None = None,
    phase_form: PhaseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "algorithms/manage_detail.html",
        {
            "algorithm": algorithm,
            "level": queries.impact_level(algorithm),
            "automatic": queries.may_decide_automatically(algorithm.pk),
            "suspended": queries.is_suspended(algorithm),
            "assessments": list(algorithm.assessments.order_by("-created_at")[:10]),
            "reviews": list(algorithm.reviews.order_by("-created_at")[:10]),
            "reports": list(algorithm.audit_reports.order_by("-created_at")[:12]),
            "blockers": queries.production_blockers(algorithm),
            "may_edit": permissions.can_edit_register(request.user),
            "may_review": permissions.can_review(request.user),
            "review_form": review_form or ReviewForm(),
            "phase_form": phase_form or PhaseForm(initial={"phase": algorithm.phase}),
        },
        status=status,
    )


@login_required
@require_GET
def manage_detail(request: HttpRequest, code: str) -> HttpResponse:
    return _manage_detail(request, _managed(request, code))


@login_required
@require_POST
def manage_review(request: HttpRequest, code: str) -> HttpResponse:
    algorithm = _managed(request, code)
    if not permissions.can_review(request.user):
        raise Http404("No such page")
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return _manage_detail(request, algorithm, review_form=form, status=400)
    try:
        actions.record_review(
            actor=request.user,
            algorithm=algorithm,
            outcome=form.cleaned_data["outcome"],
            reasons=form.cleaned_data["reasons"],
        )
    except ValidationError as exc:
        for message in exc.messages:
            form.add_error(None, message)
        return _manage_detail(request, algorithm, review_form=form, status=400)
    messages.success(request, _("The review is recorded."))
    return redirect("algorithms:manage_detail", code=code)


@login_required
@require_POST
def manage_phase(request: HttpRequest, code: str) -> HttpResponse:
    algorithm = _managed(request, code)
    if not permissions.can_edit_register(request.user):
        raise Http404("No such page")
    form = PhaseForm(request.POST)
    if not form.is_valid():
        return _manage_detail(request, algorithm, phase_form=form, status=400)
    try:
        actions.set_phase(
            actor=request.user,
            algorithm=algorithm,
            phase=form.cleaned_data["phase"],
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as exc:
        for message in exc.messages:
            form.add_error(None, message)
        return _manage_detail(request, algorithm, phase_form=form, status=409)
    messages.success(request, _("The phase is changed."))
    return redirect("algorithms:manage_detail", code=code)


def _questionnaire(answers: dict[str, Any], errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [
        {
            "question": q,
            "value": answers.get(q.id, ""),
            "errors": errors.get(q.id, []),
        }
        for q in impact.QUESTIONS
    ]


@login_required
@require_http_methods(["GET", "POST"])
def manage_assess(request: HttpRequest, code: str) -> HttpResponse:
    """The impact questionnaire (algorithm officers). Unanswered required questions are named
    and nothing is saved; the answers given are kept in the form."""
    algorithm = _managed(request, code)
    if not permissions.can_edit_register(request.user):
        raise Http404("No such page")
    if request.method == "GET":
        latest = queries.latest_assessment(algorithm)
        answers = dict(latest.answers) if latest else {}
        return render(
            request,
            "algorithms/assess.html",
            {"algorithm": algorithm, "questions": _questionnaire(answers, {})},
        )
    answers = {q.id: request.POST.get(q.id, "") for q in impact.QUESTIONS}
    try:
        row = actions.assess_impact(actor=request.user, algorithm=algorithm, answers=answers)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        return render(
            request,
            "algorithms/assess.html",
            {
                "algorithm": algorithm,
                "questions": _questionnaire(answers, errors),
                "incomplete": True,
            },
            status=400,
        )
    messages.success(request, _("Assessed: impact level %(level)s.") % {"level": row.level_roman})
    return redirect("algorithms:manage_detail", code=code)
