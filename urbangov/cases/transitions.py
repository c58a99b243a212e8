"""The case lifecycle as an explicit table: which transition leads from which states to which.

submitted ─triage→ awaiting dispatch ─dispatch→ dispatched ─accept→ accepted ─resolve→ resolved ─close→ closed
    └──────────────dispatch──────────────┘          │  send back ↑     │ extension requested/granted/refused
reject (submitted, awaiting dispatch) → rejected     └─────────────────┘
merge (any open state) → merged                    reopen (resolved, closed; dissatisfied, in window) → awaiting dispatch
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from urbangov.cases.models import OPEN_STATUSES, Status


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    # None: the status stays as it is (an event on the timeline, not a move).
    target: str | None
    label: Promise
    # Shown on the resident's tracking page.
    public: bool = True


def _t(
    name: str, sources: tuple[str, ...], target: str | None, label: Promise, public: bool = True
) -> Transition:
    return Transition(name, frozenset(sources), target, label, public)


S = Status
TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        _t("triage", (S.SUBMITTED,), S.AWAITING_DISPATCH, _("queued for dispatch")),
        _t("dispatch", (S.SUBMITTED, S.AWAITING_DISPATCH), S.DISPATCHED, _("dispatch")),
        _t("accept", (S.DISPATCHED,), S.ACCEPTED, _("accept")),
        _t("send_back", (S.DISPATCHED, S.ACCEPTED), S.AWAITING_DISPATCH, _("send back"), False),
        _t("request_extension", (S.ACCEPTED,), None, _("request an extension"), False),
        _t("grant_extension", (S.ACCEPTED,), None, _("grant the extension")),
        _t("refuse_extension", (S.ACCEPTED,), None, _("refuse the extension"), False),
        # A supervisor's formal escalation (督办) with a new deadline; the status stays.
        _t("escalate", (S.DISPATCHED, S.ACCEPTED), None, _("escalate")),
        _t("resolve", (S.ACCEPTED,), S.RESOLVED, _("resolve")),
        _t("rate", (S.RESOLVED,), None, _("rate")),
        _t("close", (S.RESOLVED,), S.CLOSED, _("close")),
        _t("reopen", (S.RESOLVED, S.CLOSED), S.AWAITING_DISPATCH, _("reopen")),
        _t("merge", tuple(OPEN_STATUSES), S.MERGED, _("merge as duplicate")),
        _t("reject", (S.SUBMITTED, S.AWAITING_DISPATCH), S.REJECTED, _("reject as out of scope")),
    ]
}

# The transitions staff take on the workbench, in the order the case page offers them.
STAFF_TRANSITIONS = (
    "dispatch",
    "accept",
    "send_back",
    "request_extension",
    "grant_extension",
    "refuse_extension",
    "resolve",
    "close",
    "merge",
    "reject",
)


def allowed_from(status: str) -> list[str]:
    return [name for name, t in TRANSITIONS.items() if status in t.sources]
