"""Signals the cases app sends for the apps above it (dispatch, supervision) to act on."""

from django.dispatch import Signal

# Sent on commit after a new case is stored; kwargs: case.
case_submitted = Signal()

# Sent on commit after every transition of a case (its action committed); kwargs: case (the
# row as the transition left it) and name (the transition's name in the table).
case_transitioned = Signal()

# Sent inside the transaction of every new case and every transition, before it commits;
# kwargs: case, created (True for a new case, its rows written) and, for a transition,
# inserted (True when the same transaction inserted the case: the dispatcher inside the
# intake, whose case_written(created=True) went out already). For work that must commit with
# the change or not at all (the evaluation's queue of changed cases, inline dispatch of a new
# case); a receiver that raises undoes the change.
case_written = Signal()
