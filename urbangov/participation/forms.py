"""Forms of the deliberation hall's pages. They check the shape of what was typed; the rules
belong to :mod:`urbangov.participation.actions`, whose errors go back onto the form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from urbangov.org.models import Area, Level, Unit
from urbangov.participation.models import (
    PHASE_ORDER,
    CountMethod,
    MeetingKind,
    Phase,
    ResponseVerdict,
    VoteValue,
)


class Form(forms.Form):
    """Labels without a trailing colon (it differs between Chinese and English)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _field(form: forms.Form, name: str) -> Any:
    """A form field whose choices are set at run time (the stubs type fields without them)."""
    return form.fields[name]


def add_action_errors(form: forms.Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for key, messages in error.message_dict.items():
            target = key if key in form.fields else None
            for message in messages:
                form.add_error(target, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


def area_choices(empty: Any = None) -> list[tuple[str, Any]]:
    levels = [Level.CITY, Level.DISTRICT, Level.STREET, Level.COMMUNITY]
    indent = {
        Level.CITY: "",
        Level.DISTRICT: "\u2003",
        Level.STREET: "\u2003\u2003",
        Level.COMMUNITY: "\u2003\u2003\u2003",
    }
    rows = [
        (a.code, indent.get(Level(a.level), "") + a.name)
        for a in Area.objects.filter(level__in=levels).order_by("path")
    ]
    return ([("", empty)] if empty is not None else []) + rows


def textarea(rows: int = 4, limit: int = 5000) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "maxlength": limit})


class FilterForm(Form):
    area = forms.ChoiceField(label=_("Area"), required=False)
    phase = forms.ChoiceField(label=_("Phase"), required=False)
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _field(self, "area").choices = area_choices(_("Every area"))
        _field(self, "phase").choices = [("", _("Every phase")), *Phase.choices]


class TopicForm(Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    summary = forms.CharField(label=_("What is to be decided"), widget=textarea(6))
    area = forms.ChoiceField(label=_("Area"))
    unit = forms.ChoiceField(label=_("Organising unit"))
    phases = forms.MultipleChoiceField(
        label=_("Phases"),
        choices=Phase.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=PHASE_ORDER,
        help_text=_("Deliberation always comes first; leave out the phases this topic skips."),
    )
    deliberation_ends = forms.DateField(
        label=_("Deliberation ends (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    origin = forms.ChoiceField(
        label=_("Opened because of"),
        choices=[
            ("unit", _("the unit's own initiative")),
            ("hotspot", _("a hot-spot")),
            ("alert", _("an alert")),
        ],
    )
    source_ref = forms.CharField(
        label=_("Hot-spot or alert reference"), required=False, max_length=80
    )

    def __init__(self, *args: Any, units: list[Unit] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _field(self, "area").choices = area_choices()
        _field(self, "unit").choices = [(u.code, u.name) for u in (units or [])]

    def plan(self) -> list[dict[str, Any]]:
        chosen = set(self.cleaned_data.get("phases") or []) | {Phase.DELIBERATION.value}
        plan: list[dict[str, Any]] = [{"phase": p} for p in PHASE_ORDER if p in chosen]
        ends = self.cleaned_data.get("deliberation_ends")
        if ends:
            plan[0]["ends"] = ends.isoformat()
        return plan


class ProposalForm(Form):
    title = forms.CharField(label=_("Your proposal in one line"), max_length=200)
    text = forms.CharField(label=_("Explain it"), widget=textarea(5))


class CommentForm(Form):
    text = forms.CharField(label=_("Your comment"), widget=textarea(3, 2000))
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)


class StatementForm(Form):
    text = forms.CharField(
        label=_("A short statement others can agree or disagree with"),
        max_length=280,
        widget=textarea(2, 280),
        help_text=_("One idea, at most 280 characters."),
    )


class VoteForm(Form):
    value = forms.TypedChoiceField(
        label=_("Your view"), choices=VoteValue.choices, coerce=int, widget=forms.RadioSelect
    )


class ReasonForm(Form):
    reason = forms.CharField(label=_("Reason (shown to everyone)"), widget=textarea(2, 2000))


class PhaseForm(Form):
    phase = forms.ChoiceField(label=_("Move to phase"), choices=Phase.choices)
    note = forms.CharField(label=_("Note (optional)"), required=False, widget=textarea(2, 2000))


class LessonsForm(Form):
    lessons = forms.CharField(label=_("What was learned"), widget=textarea(6))


class FollowUpForm(Form):
    title = forms.CharField(label=_("Title of the new topic"), max_length=200)
    summary = forms.CharField(label=_("What is to be decided"), widget=textarea(4))


class ResponseForm(Form):
    proposal = forms.IntegerField(widget=forms.HiddenInput)
    verdict = forms.ChoiceField(
        label=_("Answer"), choices=ResponseVerdict.choices, widget=forms.RadioSelect
    )
    reasons = forms.CharField(label=_("Reasons"), widget=textarea(4))


class ResultForm(Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    unit = forms.ChoiceField(label=_("Responsible unit"))
    parent = forms.TypedChoiceField(
        label=_("Part of"), required=False, coerce=int, empty_value=None
    )
    weight = forms.IntegerField(label=_("Weight"), min_value=1, max_value=1000, initial=1)
    ends_on = forms.DateField(
        label=_("Due (optional)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, parents: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _field(self, "unit").choices = [
            (u.code, u.name) for u in Unit.objects.filter(active=True).order_by("code")
        ]
        _field(self, "parent").choices = [("", _("— a result of its own —"))] + [
            (r.pk, r.title) for r in parents or []
        ]


class UpdateForm(Form):
    result = forms.IntegerField(widget=forms.HiddenInput)
    on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    text = forms.CharField(label=_("What happened"), widget=textarea(3))
    progress = forms.IntegerField(
        label=_("Progress (%)"), required=False, min_value=0, max_value=100
    )


class MilestoneForm(Form):
    result = forms.IntegerField(widget=forms.HiddenInput)
    title = forms.CharField(label=_("Milestone"), max_length=200)
    due_on = forms.DateField(label=_("Due"), widget=forms.DateInput(attrs={"type": "date"}))


class MeetingForm(Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=MeetingKind.choices, widget=forms.RadioSelect)
    starts_at = forms.DateTimeField(
        label=_("Starts"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label=_("Ends"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    place = forms.CharField(label=_("Place"), required=False, max_length=300)
    online_url = forms.URLField(
        label=_("Online room (link)"), required=False, assume_scheme="https"
    )
    agenda = forms.CharField(label=_("Agenda"), required=False, widget=textarea(5))
    capacity = forms.IntegerField(label=_("Places (optional)"), required=False, min_value=1)


class RegisterMeetingForm(Form):
    needs = forms.CharField(
        label=_("Do you need help to take part? (optional)"),
        required=False,
        max_length=200,
        help_text=_("For example: wheelchair access, a sign-language interpreter, large print."),
    )


class AttendanceForm(Form):
    present = forms.MultipleChoiceField(
        label=_("Registered people who came"), required=False, widget=forms.CheckboxSelectMultiple
    )
    total = forms.IntegerField(
        label=_("Everyone present, walk-ins included"), required=False, min_value=0
    )

    def __init__(self, *args: Any, registrations: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _field(self, "present").choices = [
            (r.user_id, r.user.get_username()) for r in registrations or []
        ]


class MinutesForm(Form):
    minutes = forms.CharField(label=_("Minutes"), widget=textarea(10, 50000))


class MeetingResultForm(Form):
    method = forms.ChoiceField(
        label=_("How it was counted"), choices=CountMethod.choices, widget=forms.RadioSelect
    )
    item = forms.ChoiceField(label=_("Proposal or statement"), required=False)
    in_favour = forms.IntegerField(label=_("For / agree"), min_value=0, initial=0)
    against = forms.IntegerField(label=_("Against / disagree"), min_value=0, initial=0)
    abstain = forms.IntegerField(label=_("Abstain / pass"), min_value=0, initial=0)
    note = forms.CharField(label=_("Views gathered or note"), required=False, widget=textarea(4))

    def __init__(self, *args: Any, topic: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, Any]] = [("", "—")]
        if topic is not None:
            choices += [
                (f"p{p.pk}", _("Proposal: %(t)s") % {"t": p.title}) for p in topic.proposals.all()
            ]
            choices += [
                (f"s{s.pk}", _("Statement: %(t)s") % {"t": s.text}) for s in topic.statements.all()
            ]
        _field(self, "item").choices = choices


class RatingForm(Form):
    score = forms.TypedChoiceField(
        label=_("How well did it turn out?"),
        coerce=int,
        choices=[(5, _("5 — very well")), (4, "4"), (3, "3"), (2, "2"), (1, _("1 — very badly"))],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment (optional)"), required=False, widget=textarea(3, 2000)
    )


class PetitionForm(Form):
    title = forms.CharField(label=_("What should be discussed?"), max_length=200)
    text = forms.CharField(label=_("Why it matters"), widget=textarea(5))
    area = forms.ChoiceField(label=_("Where"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _field(self, "area").choices = area_choices()


class ResidentForm(Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    display_name = forms.CharField(label=_("Public name (shown with your comments)"), max_length=40)
    phone = forms.CharField(
        label=_("Mobile phone number"),
        max_length=30,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        help_text=_("We send a one-time code to it. It is never shown."),
    )
    password = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    home_area = forms.ChoiceField(label=_("Where you live (optional)"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _field(self, "home_area").choices = area_choices("—")


class CodeForm(Form):
    code = forms.CharField(
        label=_("The 6-digit code"),
        max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class CounterForm(Form):
    username = forms.CharField(label=_("The resident's user name"), max_length=150)
    document = forms.CharField(
        label=_("Document seen (kind only, never its number)"), max_length=100
    )


class AssistedForm(Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    phone = forms.CharField(label=_("Phone number (optional)"), required=False, max_length=30)
    consent_text = forms.CharField(
        label=_("What the person agreed to"),
        widget=textarea(3, 2000),
        initial=_(
            "I agree that staff record my views on this topic for me and count them with the others'."
        ),
    )
    consent = forms.BooleanField(label=_("The person has given this consent"), required=True)


class AssistedVoteForm(Form):
    person = forms.IntegerField(label=_("Participant number"), min_value=1)
    statement = forms.IntegerField(widget=forms.HiddenInput)
    value = forms.TypedChoiceField(
        label=_("Their view"), choices=VoteValue.choices, coerce=int, widget=forms.RadioSelect
    )
