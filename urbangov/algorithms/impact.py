"""The impact questionnaire, its score and the safeguards each level requires.

Modelled on the Government of Canada's Algorithmic Impact Assessment (AIA): risk questions
add to a raw impact score, mitigation questions to a mitigation score; where the mitigation
score reaches 80 % of its maximum, the raw score is lowered by 15 %. The current score as a
share of the highest possible raw score gives the impact level: up to 25 % level I, up to
50 % level II, up to 75 % level III, above that level IV (the AIA's bands).

Each level requires safeguards that the platform enforces (see :data:`SAFEGUARDS`): at level
III and IV an algorithm only ever suggests (a person decides), its decisions are audited
monthly, it enters production only after the ethics board approved it, and its register
entry carries a public notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

MITIGATION_SHARE = 0.8  # mitigation at or above 80 % of its maximum …
MITIGATION_DISCOUNT = 0.15  # … lowers the raw score by 15 %
BANDS = (0.25, 0.50, 0.75)  # upper bounds of levels I, II, III as shares of the raw maximum


@dataclass(frozen=True)
class Option:
    value: str
    label: str | Promise
    points: int


@dataclass(frozen=True)
class Question:
    id: str
    kind: str  # "risk" or "mitigation"
    text: str | Promise
    options: tuple[Option, ...]
    required: bool = True

    @property
    def max_points(self) -> int:
        return max(o.points for o in self.options)


def _yes_no(points: int) -> tuple[Option, ...]:
    return (Option("yes", _("Yes"), points), Option("no", _("No"), 0))


QUESTIONS: tuple[Question, ...] = (
    Question(
        "rights",
        "risk",
        _("Which of residents' rights or interests can its decisions affect?"),
        (
            Option("none", _("None: it only organises internal work"), 0),
            Option("service", _("How fast or where a service is delivered"), 1),
            Option("access", _("Access to a service, benefit or resource"), 3),
            Option("liberty", _("Liberty, health, safety or legal status"), 4),
        ),
    ),
    Question(
        "reversibility",
        "risk",
        _("How easily can an effect of a decision be undone?"),
        (
            Option("easy", _("At once and without cost"), 0),
            Option("effort", _("With some effort or delay"), 1),
            Option("hard", _("Only with difficulty"), 3),
            Option("irreversible", _("Not at all"), 4),
        ),
    ),
    Question(
        "automation",
        "risk",
        _("How automatic is the decision?"),
        (
            Option("information", _("It informs a person, who decides"), 0),
            Option("suggestion", _("It suggests; a person confirms every decision"), 1),
            Option("partial", _("Some decisions take effect without a person"), 3),
            Option("full", _("Its decisions take effect without a person"), 4),
        ),
    ),
    Question(
        "vulnerable",
        "risk",
        _(
            "Are vulnerable groups (elderly, children, migrants, people on low incomes or with disabilities) affected?"
        ),
        (
            Option("no", _("No"), 0),
            Option("possibly", _("Possibly, among others"), 1),
            Option("yes", _("Yes, in significant numbers"), 3),
            Option("mainly", _("Mainly them"), 4),
        ),
    ),
    Question(
        "data",
        "risk",
        _("What data does it use?"),
        (
            Option("none", _("No personal data"), 0),
            Option("personal", _("Personal data"), 2),
            Option(
                "sensitive",
                _("Sensitive personal data (health, ID numbers, location tracks, minors)"),
                4,
            ),
        ),
    ),
    Question(
        "scale",
        "risk",
        _("How many decisions does it make about residents in a year?"),
        (
            Option("small", _("Fewer than 1,000"), 0),
            Option("medium", _("1,000 to 100,000"), 1),
            Option("large", _("More than 100,000"), 2),
            Option("city", _("About every resident"), 4),
        ),
    ),
    Question(
        "opacity",
        "risk",
        _("Can its decisions be explained in plain words?"),
        (
            Option("rules", _("Yes: they follow written rules"), 0),
            Option("partly", _("Partly: the main reasons can be named"), 1),
            Option("no", _("No: it is a black box to us"), 3),
        ),
    ),
    Question(
        "data_quality",
        "mitigation",
        _("Were the data checked for quality and bias before use?"),
        _yes_no(2),
    ),
    Question(
        "bias_tested",
        "mitigation",
        _("Were its outcomes tested for disparities between groups before use?"),
        _yes_no(2),
    ),
    Question(
        "human_review",
        "mitigation",
        _("Can a person review and change any decision before it takes effect?"),
        _yes_no(2),
    ),
    Question(
        "explained",
        "mitigation",
        _("Is every decision explained to the resident it is about?"),
        _yes_no(2),
    ),
    Question(
        "appeal",
        "mitigation",
        _("Can a resident appeal to a person who did not make the decision?"),
        _yes_no(2),
    ),
    Question(
        "logged",
        "mitigation",
        _("Are its inputs, versions and outputs logged for audit?"),
        _yes_no(1),
    ),
    Question(
        "monitored", "mitigation", _("Are its outcomes monitored after it goes live?"), _yes_no(1)
    ),
    Question(
        "staff_trained",
        "mitigation",
        _("Are the staff who use it trained on its limits?"),
        _yes_no(1),
    ),
    Question(
        "notes",
        "mitigation",
        _("Anything else the board should know (optional)"),
        (),
        required=False,
    ),
)

BY_ID = {q.id: q for q in QUESTIONS}


@dataclass(frozen=True)
class Score:
    raw: int
    raw_max: int
    mitigation: int
    mitigation_max: int
    score: float
    level: int

    @property
    def discounted(self) -> bool:
        return self.mitigation >= MITIGATION_SHARE * self.mitigation_max


class IncompleteError(ValueError):
    """Required questions unanswered, or answers that are not among the options."""

    def __init__(self, missing: list[str], invalid: list[str]) -> None:
        self.missing = missing
        self.invalid = invalid
        parts = []
        if missing:
            parts.append("unanswered: " + ", ".join(missing))
        if invalid:
            parts.append("not an option: " + ", ".join(invalid))
        super().__init__("; ".join(parts))


def validate(answers: dict[str, Any]) -> dict[str, str]:
    """The answers, cleaned; IncompleteError naming every unanswered required question and
    every answer that is not one of its question's options."""
    missing: list[str] = []
    invalid: list[str] = []
    clean: dict[str, str] = {}
    for q in QUESTIONS:
        value = answers.get(q.id)
        value = "" if value is None else str(value).strip()
        if not q.options:
            if value:
                clean[q.id] = value[:4000]
            continue
        if not value:
            if q.required:
                missing.append(q.id)
            continue
        if value not in {o.value for o in q.options}:
            invalid.append(q.id)
            continue
        clean[q.id] = value
    unknown = sorted(set(answers) - set(BY_ID))
    invalid.extend(unknown)
    if missing or invalid:
        raise IncompleteError(missing, invalid)
    return clean


def score(answers: dict[str, str]) -> Score:
    """Score validated answers (see the module's description)."""
    raw = raw_max = mitigation = mitigation_max = 0
    for q in QUESTIONS:
        if not q.options:
            continue
        points = next((o.points for o in q.options if o.value == answers.get(q.id)), 0)
        if q.kind == "risk":
            raw += points
            raw_max += q.max_points
        else:
            mitigation += points
            mitigation_max += q.max_points
    current = float(raw)
    if mitigation >= MITIGATION_SHARE * mitigation_max:
        current = raw * (1.0 - MITIGATION_DISCOUNT)
    share = current / raw_max
    level = 1 + sum(share > bound for bound in BANDS)
    return Score(raw, raw_max, mitigation, mitigation_max, current, level)


@dataclass(frozen=True)
class Safeguards:
    automatic_allowed: bool
    audit_every: timedelta
    review_every: timedelta
    approval_before_production: bool
    public_notice: bool


SAFEGUARDS: dict[int, Safeguards] = {
    1: Safeguards(True, timedelta(days=365), timedelta(days=730), False, False),
    2: Safeguards(True, timedelta(days=90), timedelta(days=365), False, False),
    3: Safeguards(False, timedelta(days=30), timedelta(days=180), True, True),
    4: Safeguards(False, timedelta(days=30), timedelta(days=90), True, True),
}
# Before any assessment: as level II, so that nothing unassessed is audited rarely.
UNASSESSED = SAFEGUARDS[2]


def safeguards(level: int | None) -> Safeguards:
    return SAFEGUARDS.get(level or 0, UNASSESSED)
