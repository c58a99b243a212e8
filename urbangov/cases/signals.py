"""Signals the cases app sends for the apps above it (dispatch, supervision) to act on."""

from django.dispatch import Signal

# Sent on commit after a new case is stored; kwargs: case.
case_submitted = Signal()
