"""The equity pages' forms: each works as a plain HTML form, without JavaScript."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from urbangov.equity.actions import MAX_NEW_SITES, MAX_THRESHOLD_M, MIN_THRESHOLD_M
from urbangov.equity.models import Decay, Method, Objective
from urbangov.org.models import FacilityKind


class ReportForm(forms.Form):
    method = forms.ChoiceField(label=_("Method"), choices=Method.choices, initial=Method.ENHANCED)
    decay = forms.ChoiceField(
        label=_("Distance decay (enhanced 2SFCA)"),
        choices=Decay.choices,
        initial=Decay.GAUSSIAN,
        required=False,
    )
    threshold = forms.FloatField(
        label=_("Catchment (metres)"),
        min_value=MIN_THRESHOLD_M,
        max_value=MAX_THRESHOLD_M,
        help_text=_("How far residents may go: facilities farther than this do not count."),
    )


class SitingForm(forms.Form):
    kind = forms.ChoiceField(label=_("Facility kind"), choices=FacilityKind.choices)
    k = forms.IntegerField(
        label=_("New facilities"), min_value=1, max_value=MAX_NEW_SITES, initial=3
    )
    objective = forms.ChoiceField(
        label=_("Objective"),
        choices=Objective.choices,
        initial=Objective.MAX_MIN,
        widget=forms.RadioSelect,
    )
    radius = forms.FloatField(
        label=_("Catchment (metres)"),
        min_value=MIN_THRESHOLD_M,
        max_value=MAX_THRESHOLD_M,
        required=False,
        help_text=_("Leave empty for the usual catchment of this kind of facility."),
    )
    new_capacity = forms.IntegerField(
        label=_("Capacity of each new facility"),
        min_value=1,
        required=False,
        help_text=_("Leave empty for the median capacity of the existing ones."),
    )


LEVELS = (
    ("district", _("district")),
    ("street", _("street")),
    ("community", _("community")),
)


class DigitalForm(forms.Form):
    level = forms.ChoiceField(label=_("Areas"), choices=LEVELS, initial="community", required=False)
    days = forms.IntegerField(
        label=_("Days of cases"), min_value=7, max_value=3650, initial=365, required=False
    )


class ServiceForm(forms.Form):
    by = forms.ChoiceField(
        label=_("Compare"),
        choices=(
            *LEVELS,
            ("income", _("areas by income band")),
            ("migrants", _("areas by migrant share")),
            ("elderly", _("areas by share of elderly")),
        ),
        initial="district",
        required=False,
    )
    days = forms.IntegerField(
        label=_("Days of cases"), min_value=7, max_value=3650, initial=365, required=False
    )
