"""Explanations told in the reader's language.

A decision keeps its explanation twice: as plain text in the platform's default language
(the record), and as structured ``reasons``. The app that owns an algorithm registers a
teller here (``register("dispatch", tell)``, from its ``AppConfig.ready``) that turns the
reasons into words in the active language — one for residents, one for staff. Without a
teller, the recorded text is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from urbangov.algorithms.models import Decision

Teller = Callable[[Decision], str]


@dataclass(frozen=True)
class Tellers:
    public: Teller
    staff: Teller


_registry: dict[str, Tellers] = {}


def register(code: str, *, public: Teller, staff: Teller) -> None:
    _registry[code] = Tellers(public, staff)


def public(decision: Decision) -> str:
    """What a resident is told about the decision, in the active language."""
    tellers = _registry.get(decision.algorithm.code)
    return tellers.public(decision) if tellers else decision.explanation


def staff(decision: Decision) -> str:
    tellers = _registry.get(decision.algorithm.code)
    return tellers.staff(decision) if tellers else decision.explanation
