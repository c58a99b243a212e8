"""Signals the algorithms app sends for the apps above it (it never imports them).

``appeal_decided(sender=Appeal, appeal=…, outcome=Decision)`` is sent after the transaction
that records an appeal's outcome commits: the app that owns the algorithm (dispatch: send the
case to another unit) may act on an overturned decision.
"""

from __future__ import annotations

from django.dispatch import Signal

appeal_decided = Signal()
