"""The operator's answers to the dispatcher: accept a suggestion, or choose another unit
with a reason. Codes are checked here; the rules are in :mod:`urbangov.dispatch.actions`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from urbangov.cases.actions import NOTE_MAX
from urbangov.cases.forms import Form, category_choices, unit_choices
from urbangov.cases.models import Case
from urbangov.org.models import Category, Unit


class AcceptForm(Form):
    decision = forms.IntegerField(widget=forms.HiddenInput)
    choice = forms.IntegerField(min_value=0, max_value=9, widget=forms.HiddenInput)


class CorrectForm(Form):
    decision = forms.IntegerField(widget=forms.HiddenInput, required=False)
    unit = forms.ChoiceField(label=_("Handling unit"))
    category = forms.ChoiceField(label=_("Category"), required=False)
    reason = forms.CharField(
        label=_("Why this unit and not the suggestion"),
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": NOTE_MAX}),
        help_text=_("Required. Kept with the decision; it teaches the next model."),
    )

    def __init__(self, *args: Any, case: Case | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "correct")
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = unit_choices(case)  # type: ignore[attr-defined]
        self.fields["category"].choices = category_choices(  # type: ignore[attr-defined]
            _("The suggested category")
        )

    def clean_unit(self) -> Unit:
        code = self.cleaned_data["unit"]
        unit = Unit.objects.filter(code=code, active=True).first()
        if unit is None:
            raise forms.ValidationError(_("No active unit with code %(code)r.") % {"code": code})
        return unit

    def clean_category(self) -> Category | None:
        code = self.cleaned_data.get("category") or ""
        if not code:
            return None
        category = Category.objects.filter(code=code, active=True).first()
        if category is None:
            raise forms.ValidationError(_("No category with code %(code)r.") % {"code": code})
        return category
