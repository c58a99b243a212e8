"""Forms for the case pages: the resident's report (in one page or step by step), following
a case, rating and reopening it, and the staff workbench (filters, intake, transitions).

Forms check the shape of what was typed; the rules about a case (lengths, file types, points
inside the city) belong to :mod:`urbangov.cases.actions`, whose ValidationError is put back
onto the form's fields by :func:`add_action_errors`.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from urbangov.cases.actions import STAFF_FIELDS, Submission
from urbangov.cases.models import Case, Channel, Rating, Status
from urbangov.cases.uploads import check_count, photos_help, read_uploads
from urbangov.org.models import Area, Category, Level, Unit, Urgency

# Which form field shows an error that submit_case raised under a given key.
ACTION_ERROR_FIELDS = {
    "text": "text",
    "title": "title",
    "category": "category",
    "address": "address",
    "location": "lat",
    "contact_name": "contact_name",
    "contact_phone": "contact_phone",
    "attachments": "photos",
    "channel": "channel",
}

_KEY_RE = re.compile(r"^[A-Za-z0-9-]{8,64}$")


def add_action_errors(form: forms.Form, error: ValidationError) -> None:
    """Put an action's ValidationError next to the fields it names (or on top of the form)."""
    if hasattr(error, "error_dict"):
        for key, errors in error.message_dict.items():
            field = ACTION_ERROR_FIELDS.get(key, key)
            target = field if field in form.fields else None
            for message in errors:
                form.add_error(target, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


class Form(forms.Form):
    """A form whose labels carry no trailing colon (it differs between Chinese and English)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


# --- choices from the catalogue ---------------------------------------------------------------


def category_choices(empty_label: Any = None) -> list[Any]:
    """The two-level catalogue as <optgroup>s: a top category with children becomes a group
    holding itself ("other …") and its children; one without children is a plain option."""
    language = get_language() or settings.LANGUAGE_CODE
    rows = list(Category.objects.filter(active=True).order_by("code"))
    children: dict[int, list[Category]] = {}
    for c in rows:
        if c.parent_id is not None:
            children.setdefault(c.parent_id, []).append(c)
    choices: list[Any] = [("", empty_label if empty_label is not None else "—")]
    for c in rows:
        if c.parent_id is not None:
            continue
        name = c.display_name(language)
        kids = children.get(c.pk, [])
        if kids:
            group = [(c.code, _("%(name)s — other") % {"name": name})]
            group += [(k.code, k.display_name(language)) for k in kids]
            choices.append((name, group))
        else:
            choices.append((c.code, name))
    return choices


def suggested_units(case: Case) -> list[Unit]:
    """Units that answer both for the case's category and for the place it is in."""
    category = case.category or case.reported_category
    if category is None:
        return []
    wanted = [category.pk] + ([category.parent_id] if category.parent_id else [])
    units = Unit.objects.filter(active=True, categories__in=wanted).distinct().order_by("code")
    if case.area is None:
        return list(units)
    path = case.area.path
    return [
        u
        for u in units.prefetch_related("areas")
        if any(path.startswith(a.path) for a in u.areas.all())
    ]


def unit_choices(case: Case | None = None) -> list[Any]:
    units = [(u.code, u.name) for u in Unit.objects.filter(active=True).order_by("kind", "code")]
    suggested = suggested_units(case) if case is not None else []
    if not suggested:
        return [("", "—"), *units]
    return [
        ("", "—"),
        (_("Suggested for this category and place"), [(u.code, u.name) for u in suggested]),
        (_("All units"), units),
    ]


def area_choices() -> list[tuple[str, Any]]:
    areas = Area.objects.filter(level__in=[Level.DISTRICT, Level.STREET]).order_by("path")
    return [("", _("Any area"))] + [
        (a.code, ("\u2003" if a.level == Level.STREET else "") + a.name) for a in areas
    ]


def _category_by_code(code: str) -> Category | None:
    if not code:
        return None
    return Category.objects.filter(code=code).first()


def new_submission_key() -> str:
    return uuid.uuid4().hex


def _text_attrs(**extra: Any) -> dict[str, Any]:
    return {"maxlength": settings.URBANGOV["CASE_TEXT_MAX"], "rows": 6, **extra}


# --- the resident's report --------------------------------------------------------------------


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Zero or more files from one <input type=file multiple>."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            MultipleFileInput(attrs={"accept": "image/*,application/pdf", "multiple": True}),
        )
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        if not data:
            return []
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        # Counted before anything is read, so that the error stands next to the field.
        try:
            check_count(len(files))
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["attachments"]) from None
        return [super(PhotosField, self).clean(f, initial) for f in files]


class WhatForm(Form):
    """What happened: the first step of the report."""

    category = forms.ChoiceField(
        label=_("What is it about?"),
        required=False,
        help_text=_("Choose the closest kind of problem, or leave it to us."),
    )
    title = forms.CharField(
        label=_("Short title (optional)"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": 200}),
    )
    text = forms.CharField(
        label=_("What happened?"),
        help_text=_("Describe the problem: what, since when, and how it affects you."),
        widget=forms.Textarea(attrs=_text_attrs()),
        strip=True,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices(_("Not sure — let the city decide"))  # type: ignore[attr-defined]


class WhereForm(Form):
    """Where it is: an address, a point on the map, or both."""

    address = forms.CharField(
        label=_("Address or landmark"),
        required=False,
        help_text=_("For example: building, street and number, or a nearby landmark."),
        widget=forms.TextInput(attrs={"maxlength": 300, "autocomplete": "street-address"}),
    )
    lat = forms.FloatField(
        label=_("Latitude"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "data-map-lat": ""}),
    )
    lon = forms.FloatField(
        label=_("Longitude"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "data-map-lon": ""}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lat, lon = data.get("lat"), data.get("lon")
        if "lat" in self.errors or "lon" in self.errors:
            return data
        if (lat is None) != (lon is None):
            self.add_error("lat", _("Give both latitude and longitude, or neither."))
        elif lat is None and not (data.get("address") or "").strip():
            self.add_error("address", _("Tell us where: type an address or put a pin on the map."))
        elif lat is not None and lon is not None:
            from urbangov.org import geo

            try:
                geo.check_point(lat, lon)
            except ValidationError as exc:
                self.add_error("lat", exc)
        return data


class ContactForm(Form):
    contact_name = forms.CharField(
        label=_("Your name (optional)"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": 100, "autocomplete": "name"}),
    )
    contact_phone = forms.CharField(
        label=_("Phone number (optional)"),
        required=False,
        help_text=_("So that the department can call you back. It is never shown in public."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "maxlength": 30}),
    )
    anonymous = forms.BooleanField(
        label=_("Stay anonymous (no name or phone number is kept)"),
        required=False,
    )

    def contact(self) -> tuple[str, str]:
        data = self.cleaned_data
        if data.get("anonymous"):
            return "", ""
        return data.get("contact_name", ""), data.get("contact_phone", "")


class CaseForm(WhatForm, WhereForm, ContactForm):
    """The whole report on one page."""

    photos = PhotosField(label=_("Photos (optional)"), required=False)
    submission_key = forms.CharField(widget=forms.HiddenInput, required=False)

    field_order = [
        "category",
        "title",
        "text",
        "address",
        "lat",
        "lon",
        "photos",
        "contact_name",
        "contact_phone",
        "anonymous",
        "submission_key",
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["photos"].help_text = photos_help()
        if not self.is_bound:
            self.initial.setdefault("submission_key", new_submission_key())

    def submission(self, channel: str) -> Submission:
        data = self.cleaned_data
        name, phone = self.contact()
        key = data.get("submission_key") or ""
        return Submission(
            channel=channel,
            title=data.get("title", ""),
            text=data.get("text", ""),
            reported_category=_category_by_code(data.get("category", "")),
            lat=data.get("lat"),
            lon=data.get("lon"),
            address=data.get("address", ""),
            contact_name=name,
            contact_phone=phone,
            attachments=read_uploads(data.get("photos") or []),
            idempotency_key=f"{channel}-{key}" if _KEY_RE.match(key) else None,
        )


class IntakeForm(CaseForm):
    """A case that staff enter for a resident at the counter or on the phone."""

    channel = forms.ChoiceField(
        label=_("How did the resident reach us?"),
        choices=[
            (Channel.PHONE, Channel.PHONE.label),
            (Channel.COUNTER, Channel.COUNTER.label),
            (Channel.ASSISTED, Channel.ASSISTED.label),
        ],
    )
    field_order = ["channel", *CaseForm.field_order]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].label = _("What the resident reports")
        self.fields["contact_name"].label = _("Resident's name (optional)")
        self.fields["contact_phone"].label = _("Resident's phone number (optional)")
        self.fields["anonymous"].label = _("The resident wishes to stay anonymous")


# --- the wizard for the elder-friendly mode ---------------------------------------------------

# The steps of the report in elder-friendly mode: one question per page.
WIZARD_STEPS: dict[int, type[forms.Form]] = {1: WhatForm, 2: WhereForm, 3: ContactForm}


class ConfirmForm(Form):
    photos = PhotosField(label=_("Add photos (optional)"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["photos"].help_text = photos_help()


def draft_submission(draft: dict[str, Any], *, photos: list[UploadedFile]) -> Submission:
    anonymous = bool(draft.get("anonymous"))
    return Submission(
        channel=Channel.WEB,
        title=draft.get("title", ""),
        text=draft.get("text", ""),
        reported_category=_category_by_code(draft.get("category", "")),
        lat=draft.get("lat"),
        lon=draft.get("lon"),
        address=draft.get("address", ""),
        contact_name="" if anonymous else draft.get("contact_name", ""),
        contact_phone="" if anonymous else draft.get("contact_phone", ""),
        attachments=read_uploads(photos),
        idempotency_key=f"web-{draft['key']}" if _KEY_RE.match(draft.get("key", "")) else None,
    )


# Which wizard step holds the field that an action's error names.
STEP_OF_FIELD = {
    "category": 1,
    "title": 1,
    "text": 1,
    "address": 2,
    "location": 2,
    "lat": 2,
    "lon": 2,
    "contact_name": 3,
    "contact_phone": 3,
}


# --- following a case -------------------------------------------------------------------------


class TrackForm(Form):
    code = forms.CharField(
        label=_("Tracking code"),
        max_length=20,
        help_text=_("The code you were given when you reported, for example 7KX3M-Q9PTA."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )


class RateForm(Form):
    rating = forms.ChoiceField(
        label=_("How satisfied are you with how the case was handled?"),
        choices=Rating.choices,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
    )


class ReopenForm(Form):
    reason = forms.CharField(
        label=_("What is still wrong?"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
    )


# --- the staff workbench ------------------------------------------------------------------------


class FilterForm(Form):
    view = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[("queue", _("My queue")), ("all", _("All my cases"))],
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)
    area = forms.ChoiceField(label=_("Area"), required=False)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    q = forms.CharField(
        label=_("Search title or tracking code"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("Any status")), *Status.choices]  # type: ignore[attr-defined]
        self.fields["category"].choices = category_choices(_("Any category"))  # type: ignore[attr-defined]
        self.fields["area"].choices = area_choices()  # type: ignore[attr-defined]


_TRANSITION_FIELD_LABELS = {
    "unit": _("Handling unit"),
    "category": _("Category"),
    "urgency": _("Urgency"),
    "note": _("Note"),
    "reason": _("Reason"),
    "hours": _("Extra hours needed"),
    "resolution": _("Reply to the resident"),
    "into": _("Tracking code of the case to keep"),
}


def _transition_field(name: str, required: bool) -> forms.Field:
    label = _TRANSITION_FIELD_LABELS[name]
    if name == "unit":
        return forms.ChoiceField(label=label, required=required)
    if name == "category":
        return forms.ChoiceField(label=label, required=required)
    if name == "urgency":
        return forms.ChoiceField(
            label=label,
            required=required,
            choices=[("", _("As the category says")), *Urgency.choices],
        )
    if name == "hours":
        return forms.IntegerField(label=label, required=required, min_value=1, max_value=24 * 90)
    if name == "into":
        return forms.CharField(label=label, required=required, max_length=20)
    return forms.CharField(
        label=label,
        required=required,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": settings.URBANGOV["CASE_TEXT_MAX"]}),
    )


class TransitionForm(Form):
    """The fields one staff transition asks for (``actions.STAFF_FIELDS``), prefixed with its
    name so that several can share the case page."""

    def __init__(self, name: str, *args: Any, case: Case | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", name)
        super().__init__(*args, **kwargs)
        self.name = name
        for field, required in STAFF_FIELDS[name].items():
            self.fields[field] = _transition_field(field, required)
        if "unit" in self.fields:
            self.fields["unit"].choices = unit_choices(case)  # type: ignore[attr-defined]
        if "category" in self.fields:
            self.fields["category"].choices = category_choices(_("Keep the current category"))  # type: ignore[attr-defined]

    def values(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if v is not None}
