"""Signals the cases app sends for the apps above it (dispatch, supervision) to act on."""

from django.dispatch import Signal

# Sent on commit after a new case is stored; kwargs: case.
case_submitted = Signal()

# Sent on commit after every transition of a case (its action committed); kwargs: case (the
# row as the transition left it) and name (the transition's name in the table).
case_transitioned = Signal()
