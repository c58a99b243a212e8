"""Every change of a case's state: one function per transition.

Each runs in one transaction, locks the case row, checks the transition table, writes the
timeline event and the audit event, and sends its side effects on commit. Callers (pages, the
API, Open311, commands, tasks) authorize first with :mod:`urbangov.cases.permissions`.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Field
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangov import db
from urbangov.algorithms import actions as decisions
from urbangov.cases import signals
from urbangov.cases.models import (
    Attachment,
    Case,
    CaseEvent,
    Channel,
    ExtensionRequest,
    ExtensionStatus,
    Feedback,
    Rating,
    Status,
)
from urbangov.cases.transitions import TRANSITIONS
from urbangov.org import geo
from urbangov.org.models import Category, SlaPolicy, Unit, Urgency
from urbangov.privacy.actions import Actor, actor_label, actor_user, record
from urbangov.privacy.crypto import keyed_hash


class TransitionError(Exception):
    """A transition that the case's current state does not allow; nothing was changed."""

    def __init__(self, case: Case, name: str, status: str) -> None:
        self.case = case
        self.name = name
        self.status = status
        label = TRANSITIONS[name].label if name in TRANSITIONS else name
        super().__init__(
            _("Cannot %(action)s case %(code)s while it is %(status)s.")
            % {"action": label, "code": case.tracking_code, "status": Status(status).label}
        )


# --- intake ------------------------------------------------------------------------------

# Magic numbers of the file types a resident may attach: photos and PDF documents.
_SIGNATURES: list[tuple[bytes, int, str]] = [
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"%PDF-", 0, "application/pdf"),
]


def sniff_type(content: bytes) -> str | None:
    """The file's real type from its first bytes, whatever its name or declared type says."""
    for magic, offset, mime in _SIGNATURES:
        if content[offset : offset + len(magic)] == magic:
            return mime
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    if content[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc"):
        return "image/heic"
    return None


@dataclass(frozen=True)
class Upload:
    name: str
    content: bytes


@dataclass(frozen=True)
class Submission:
    channel: str
    title: str
    text: str
    reported_category: Category | None = None
    lat: float | None = None
    lon: float | None = None
    address: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    attachments: Sequence[Upload] = ()
    idempotency_key: str | None = None


@dataclass(frozen=True)
class SubmitResult:
    case: Case
    created: bool


# Control characters (NUL above all) and lone surrogates: PostgreSQL cannot store NUL in text
# and no database can encode a lone surrogate, so they are refused with a message up front.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

# Notes and reasons staff or residents write on a case; the reply to the resident and the
# description itself may be as long as a case text.
NOTE_MAX = 2000
ATTRIBUTES_MAX_KEYS = 50
ATTRIBUTE_VALUE_MAX = 1000


def text_problem(value: str, limit: int) -> str | None:
    """Why ``value`` cannot be stored as text of at most ``limit`` characters, or None."""
    if _UNSTORABLE.search(value):
        return _("The text contains control characters or invalid characters.")
    if len(value) > limit:
        return _("The text is %(n)d characters long; at most %(max)d are allowed.") % {
            "n": len(value),
            "max": limit,
        }
    return None


def clean_text(value: str, *, field: str, limit: int, required: str | None = None) -> str:
    """The text stripped; a ValidationError naming ``field`` when it is unstorable, too long,
    or empty where ``required`` (the message to give) is set."""
    value = (value or "").strip()
    problem = text_problem(value, limit)
    if problem:
        raise ValidationError({field: [problem]})
    if required and not value:
        raise ValidationError({field: [required]})
    return value


def _attributes_problem(attributes: dict[str, Any]) -> str | None:
    if not isinstance(attributes, dict) or len(attributes) > ATTRIBUTES_MAX_KEYS:
        return _("At most %(n)d answers to extra questions.") % {"n": ATTRIBUTES_MAX_KEYS}
    for key, value in attributes.items():
        values = value if isinstance(value, list) else [value]
        for item in [key, *values]:
            if isinstance(item, bool | int | float) or item is None:
                continue
            if not isinstance(item, str):
                return _("Answers to extra questions are text, numbers or lists of them.")
            problem = text_problem(item, ATTRIBUTE_VALUE_MAX)
            if problem:
                return problem
    return None


def _validate(sub: Submission) -> list[tuple[Upload, str]]:
    """Check a submission; raise one ValidationError naming every bad field."""
    limits = settings.URBANGOV
    errors: dict[str, list[str]] = {}

    def bad(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if sub.channel not in Channel.values:
        bad("channel", _("Unknown channel %(value)r.") % {"value": sub.channel})
    title, text = sub.title.strip(), sub.text.strip()
    if not text:
        bad("text", _("Please describe the problem."))
    elif len(text) > limits["CASE_TEXT_MAX"]:
        bad(
            "text",
            _("The description is %(n)d characters long; at most %(max)d are allowed.")
            % {"n": len(text), "max": limits["CASE_TEXT_MAX"]},
        )
    elif _UNSTORABLE.search(text):
        bad("text", _("The text contains control characters or invalid characters."))
    if len(title) > limits["CASE_TITLE_MAX"]:
        bad(
            "title",
            _("The title may be at most %(max)d characters.") % {"max": limits["CASE_TITLE_MAX"]},
        )
    if len(sub.address) > 300:
        bad("address", _("The address may be at most 300 characters."))
    for name, value in (
        ("title", title),
        ("address", sub.address),
        ("contact_name", sub.contact_name),
        ("contact_phone", sub.contact_phone),
    ):
        if _UNSTORABLE.search(value):
            bad(name, _("The text contains control characters or invalid characters."))
    attributes_problem = _attributes_problem(sub.attributes)
    if attributes_problem:
        bad("attributes", attributes_problem)
    if (sub.lat is None) != (sub.lon is None):
        bad("location", _("Give both latitude and longitude, or neither."))
    elif sub.lat is not None and sub.lon is not None:
        try:
            geo.check_point(float(sub.lat), float(sub.lon))
        except (ValidationError, TypeError, ValueError) as exc:
            bad("location", "; ".join(getattr(exc, "messages", [str(exc)])))
    if sub.contact_phone:
        digits = [c for c in sub.contact_phone if c.isdigit()]
        if not 5 <= len(digits) <= 20 or any(c not in "0123456789+-() " for c in sub.contact_phone):
            bad("contact_phone", _("A phone number has 5 to 20 digits."))
    if len(sub.contact_name) > 100:
        bad("contact_name", _("The name may be at most 100 characters."))
    if sub.idempotency_key is not None and not 1 <= len(sub.idempotency_key) <= 100:
        bad("idempotency_key", _("An idempotency key has 1 to 100 characters."))
    if sub.reported_category is not None and not sub.reported_category.active:
        bad("category", _("This category is no longer in use."))
    checked: list[tuple[Upload, str]] = []
    if len(sub.attachments) > limits["ATTACHMENTS_PER_CASE"]:
        bad(
            "attachments",
            _("At most %(max)d files may be attached.") % {"max": limits["ATTACHMENTS_PER_CASE"]},
        )
    for upload in sub.attachments:
        if len(upload.content) > limits["ATTACHMENT_MAX_BYTES"]:
            bad(
                "attachments",
                _("%(name)s is larger than %(mb)d MB.")
                % {"name": upload.name, "mb": limits["ATTACHMENT_MAX_BYTES"] // (1024 * 1024)},
            )
            continue
        mime = sniff_type(upload.content)
        if mime is None:
            bad(
                "attachments",
                _("%(name)s is not a photo (JPEG, PNG, GIF, WebP, HEIC) or a PDF.")
                % {"name": upload.name},
            )
            continue
        checked.append((upload, mime))
    if errors:
        raise ValidationError(errors)
    return checked


def submit_case(*, actor: Actor, submission: Submission) -> SubmitResult:
    """Take a resident's request from any channel.

    Idempotent on ``submission.idempotency_key``: a retried submission returns the case the
    first one made (``created`` is False) and changes nothing.
    """
    # No lookup of the key up front: a new key is the common case, and the unique index
    # finds a retry at INSERT (handled below) for one SELECT less per case.
    try:
        uploads = _validate(submission)
    except ValidationError:
        # A retry of a request that was valid then (the rules may have changed since)
        # still gets its case back.
        existing = _by_idempotency_key(submission.idempotency_key)
        if existing is not None:
            return _replay(existing, submission)
        raise
    cell = None
    if submission.lat is not None and submission.lon is not None:
        cell = geo.locate_cell(float(submission.lat), float(submission.lon))
    category = submission.reported_category
    try:
        with transaction.atomic():
            case = Case(
                channel=submission.channel,
                title=submission.title.strip() or _summarise(submission.text),
                text=submission.text.strip(),
                reported_category=category,
                urgency=category.urgency if category else Urgency.ORDINARY,
                lat=submission.lat,
                lon=submission.lon,
                address=submission.address.strip(),
                area_id=cell.id if cell else None,
                contact_name=submission.contact_name.strip(),
                contact_phone=submission.contact_phone.strip(),
                contact_lookup=keyed_hash(submission.contact_phone),
                anonymous=not (submission.contact_name.strip() or submission.contact_phone.strip()),
                attributes=submission.attributes,
                idempotency_key=submission.idempotency_key or None,
                submitted_by=actor_user(actor),
            )
            # The intake hot path: a lean INSERT (Case relies on no save() or signals).
            db.insert(case)
            for upload, mime in uploads:
                _attach(case, upload, mime)
            _event(
                case,
                "submit",
                actor=actor,
                from_status="",
                to_status=case.status,
                data={"channel": case.channel},
                label=_actor_name(actor, "resident"),
            )
            record(
                actor=actor,
                action="case.submit",
                obj=case,
                label=_actor_name(actor, "resident"),
                data={
                    "channel": case.channel,
                    "category": category.code if category else None,
                    "area": cell.code if cell else None,
                    "attachments": len(uploads),
                    "anonymous": case.anonymous,
                },
            )
            signals.case_written.send(sender=Case, case=case, created=True)
            # No task is queued here: the case's status is the queue. The worker's periodic
            # triage claims submitted cases in batches, which keeps intake one transaction.
            transaction.on_commit(lambda: signals.case_submitted.send(sender=Case, case=case))
    except IntegrityError:
        # The key is taken (a retry, or two racing): the first request's case is the answer.
        existing = _by_idempotency_key(submission.idempotency_key)
        if existing is not None:
            return _replay(existing, submission)
        raise
    return SubmitResult(case, created=True)


def _by_idempotency_key(key: str | None) -> Case | None:
    return Case.objects.filter(idempotency_key=key).first() if key else None


def _replay(existing: Case, submission: Submission) -> SubmitResult:
    """A retry gets the first case back; a different request reusing the key gets nothing of
    it — not even its tracking code, which lets its holder rate and reopen the case."""
    category = submission.reported_category
    same = (
        existing.channel == submission.channel
        and existing.text == submission.text.strip()
        and existing.reported_category_id == (category.pk if category else None)
        and existing.lat == submission.lat
        and existing.lon == submission.lon
    )
    if not same:
        raise ValidationError(
            {
                "idempotency_key": [
                    _("This idempotency key was already used for a different request.")
                ]
            }
        )
    return SubmitResult(existing, created=False)


def _summarise(text: str, limit: int = 30) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:limit] + ("…" if len(first) > limit else "")


def _attach(case: Case, upload: Upload, mime: str) -> Attachment:
    digest = hashlib.sha256(upload.content).hexdigest()
    extension = {
        "image/jpeg": "jpg",
        "image/png": "png",
        "image/gif": "gif",
        "image/webp": "webp",
        "image/heic": "heic",
        "application/pdf": "pdf",
    }[mime]
    attachment = Attachment(
        case=case,
        name=upload.name[-200:] or f"attachment.{extension}",
        content_type=mime,
        size=len(upload.content),
        sha256=digest,
    )
    # Stored under its digest, never under a name the resident chose.
    attachment.file.save(f"{digest[:32]}.{extension}", ContentFile(upload.content), save=False)
    attachment.save()
    return attachment


# --- the transition machinery --------------------------------------------------------------


def _actor_name(actor: Actor, default: str) -> str:
    return actor_label(actor, default)


def _event(
    case: Case,
    kind: str,
    *,
    actor: Actor,
    from_status: str,
    to_status: str,
    note: str = "",
    data: dict[str, Any] | None = None,
    public: bool | None = None,
    label: str | None = None,
    at: datetime | None = None,
) -> CaseEvent:
    transition = TRANSITIONS.get(kind)
    event = CaseEvent(
        case=case,
        at=at or timezone.now(),
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor=actor_user(actor),
        actor_label=label or _actor_name(actor, "system"),
        note=note,
        public=public if public is not None else (transition.public if transition else True),
        data=data or {},
    )
    db.insert(event)
    return event


def _apply(
    case: Case,
    name: str,
    *,
    actor: Actor,
    changes: dict[str, Any] | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
    label: str | None = None,
    check: Callable[[Case], Extra | None] | None = None,
    locked: Case | None = None,
    inserted: bool = False,
) -> Case:
    """Move ``case`` by transition ``name``; must run inside ``transaction.atomic``.

    ``check`` is called with the locked row before anything changes, for rules beyond the
    table (a reopen window, a pending extension); it raises to refuse, and may return more
    changes and data worked out from the locked row. ``locked``: the row, where the caller
    has already read it with ``select_for_update`` in this transaction. ``inserted``: this
    transaction inserted the case (the dispatcher inside the intake), so it holds the row, as
    ``case`` has it, and has queued it for the evaluation already; the row is not read again.
    """
    transition = TRANSITIONS[name]
    if locked is None:
        locked = _lock(case, inserted)
    if locked.status not in transition.sources:
        raise TransitionError(locked, name, locked.status)
    extra = check(locked) if check is not None else None
    if extra is not None:
        changes = {**(changes or {}), **extra.changes}
        data = {**(data or {}), **extra.data}
    from_status = locked.status
    now = timezone.now()
    fields = {"status": transition.target or locked.status, "updated_at": now, **(changes or {})}
    for attr, value in fields.items():
        setattr(locked, attr, value)
    db.update(locked, list(fields))  # Case has no save() override and no save signals
    if from_status == Status.ACCEPTED and locked.status != Status.ACCEPTED:
        # The unit no longer holds the case: a request for more time has nothing left to ask.
        ExtensionRequest.objects.filter(case=locked, status=ExtensionStatus.PENDING).update(
            status=ExtensionStatus.WITHDRAWN, decided_at=now
        )
    payload = {"from": from_status, "to": locked.status, **(data or {})}
    _event(
        locked,
        name,
        actor=actor,
        from_status=from_status,
        to_status=locked.status,
        note=note,
        data=data,
        label=label,
        at=now,
    )
    record(actor=actor, action=f"case.{name}", obj=locked, data=payload, label=label)
    signals.case_written.send(sender=Case, case=locked, created=False, inserted=inserted)
    transaction.on_commit(
        lambda: signals.case_transitioned.send(sender=Case, case=locked, name=name)
    )
    for attr in fields:
        setattr(case, attr, getattr(locked, attr))
    return locked


def _lock(case: Case, inserted: bool = False) -> Case:
    """The case's row, locked for this transaction. Where this transaction inserted the case
    it holds the row already, as ``case`` has it: a copy of ``case`` then, not read again, so
    that ``case`` takes the transition's changes only once they are all written."""
    return copy.copy(case) if inserted else Case.objects.select_for_update().get(pk=case.pk)


@dataclass
class Extra:
    """What a transition's check adds once it has seen the locked row."""

    changes: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


def _note(value: str, field: str = "note") -> str:
    return clean_text(value, field=field, limit=NOTE_MAX)


def _require(value: str, message: str, field: str = "note", limit: int = NOTE_MAX) -> str:
    return clean_text(value, field=field, limit=limit, required=message)


# --- one action per transition -------------------------------------------------------------


def triage_case(
    case: Case,
    *,
    actor: Actor = None,
    urgency: str | None = None,
    data: dict[str, Any] | None = None,
    inserted: bool = False,
    savepoint: bool = True,
) -> Case:
    """Move a newly submitted case into the operators' dispatch queue; ``urgency`` (the
    dispatcher's emergency flag) sets its class, and so its place in the queue. ``inserted``
    and ``savepoint`` as for :func:`dispatch_case`."""
    if urgency is not None and urgency not in Urgency.values:
        raise ValidationError(_("Unknown urgency %(value)r.") % {"value": urgency})
    with transaction.atomic(savepoint=savepoint):
        return _apply(
            case,
            "triage",
            actor=actor,
            changes={"urgency": urgency} if urgency else None,
            data=data,
            inserted=inserted,
        )


def deadlines_for(
    category: Category | None, urgency: str, start: datetime
) -> tuple[datetime, datetime]:
    """(respond by, resolve by) for a case dispatched at ``start``."""
    if category is not None:
        resolve, respond = category.deadlines(urgency)
    else:
        hours, response_hours = SlaPolicy.hours_for(urgency)
        resolve, respond = timedelta(hours=hours), timedelta(hours=response_hours)
    return start + respond, start + resolve


def dispatch_case(
    case: Case,
    *,
    actor: Actor,
    unit: Unit,
    category: Category | None = None,
    urgency: str | None = None,
    note: str = "",
    via: dict[str, Any] | None = None,
    inserted: bool = False,
    savepoint: bool = True,
) -> Case:
    """Send the case to a handling unit and start its clocks (派单).

    ``via`` names the algorithm's decision when the dispatcher sends the case by itself (it
    goes on the timeline). A person's dispatch of a case an algorithm decided about is logged
    as that person's decision in answer to it (:mod:`urbangov.algorithms`), with ``note`` as
    the reason.

    For the dispatcher inside an intake: ``inserted`` says that the transaction this runs in
    inserted the case (see :func:`_apply`), and ``savepoint=False`` is for a caller whose own
    savepoint is undone as a whole on any failure.
    """
    note = _note(note)
    if not unit.active:
        raise ValidationError(_("%(unit)s is not an active unit.") % {"unit": unit})
    if urgency is not None and urgency not in Urgency.values:
        raise ValidationError(_("Unknown urgency %(value)r.") % {"value": urgency})
    with transaction.atomic(savepoint=savepoint):
        current = _lock(case, inserted)
        # The case's categories are read only when none is given (the dispatcher gives one).
        chosen = category or current.category or current.reported_category
        if urgency:
            level = urgency
        elif category is not None or (chosen is not None and current.category_id is None):
            # A category chosen now (a first dispatch, or a correction) brings its own class.
            level = chosen.urgency if chosen is not None else current.urgency
        else:
            level = current.urgency
        now = timezone.now()
        respond_by, resolve_by = deadlines_for(chosen, level, now)
        decisions.record_human_decision(
            actor=actor,
            subject=current,
            output={"unit": unit.code, "category": chosen.code if chosen else None},
            reason=note,
        )
        return _apply(
            case,
            "dispatch",
            actor=actor,
            locked=current,
            inserted=inserted,
            changes={
                "unit": unit,
                "category": chosen,
                "urgency": level,
                "dispatched_at": now,
                "response_due": respond_by,
                "resolve_due": resolve_by,
            },
            note=note,
            data={
                "unit": unit.code,
                "unit_name": unit.name,
                "category": chosen.code if chosen else None,
                "urgency": level,
                "resolve_due": resolve_by.isoformat(),
                **(via or {}),
            },
        )


def accept_case(case: Case, *, actor: Actor, note: str = "") -> Case:
    """The handling unit takes the case on (签收)."""
    note = _note(note)
    with transaction.atomic():
        return _apply(
            case, "accept", actor=actor, changes={"accepted_at": timezone.now()}, note=note
        )


def send_back_case(case: Case, *, actor: Actor, reason: str) -> Case:
    """The unit says the case is not theirs; it goes back to the dispatch queue (退单)."""
    reason = _require(reason, _("Say why the case is sent back."), "reason")
    with transaction.atomic():
        previous = case.unit
        return _apply(
            case,
            "send_back",
            actor=actor,
            changes={
                "unit": None,
                "dispatched_at": None,
                "response_due": None,
                "resolve_due": None,
                "accepted_at": None,
            },
            note=reason,
            data={"unit": previous.code if previous else None},
        )


def request_extension(case: Case, *, actor: Actor, hours: int, reason: str) -> ExtensionRequest:
    """The handler asks for more time (延期申请)."""
    reason = _require(reason, _("Say why more time is needed."), "reason")
    if not 1 <= int(hours) <= 24 * 90:
        raise ValidationError(_("An extension is between 1 hour and 90 days."))

    def no_pending(locked: Case) -> None:
        if locked.extensions.filter(status=ExtensionStatus.PENDING).exists():
            raise ValidationError(_("An extension request is already waiting for a decision."))

    with transaction.atomic():
        _apply(
            case,
            "request_extension",
            actor=actor,
            note=reason,
            data={"hours": int(hours)},
            check=no_pending,
        )
        return ExtensionRequest.objects.create(
            case=case, requested_by=actor_user(actor), hours=int(hours), reason=reason
        )


def _decide_extension(locked: Case, granted: bool) -> Extra:
    """Lock the pending request with the case, so that one decision settles it."""
    pending = (
        ExtensionRequest.objects.select_for_update()
        .filter(case=locked, status=ExtensionStatus.PENDING)
        .first()
    )
    if pending is None:
        raise ValidationError(_("No extension request is waiting for a decision."))
    extra = Extra(data={"hours": pending.hours, "request": pending.pk})
    if granted:
        new_due = (locked.resolve_due or timezone.now()) + timedelta(hours=pending.hours)
        extra.changes["resolve_due"] = new_due
        extra.data["resolve_due"] = new_due.isoformat()
    return extra


def _settle_extension(case: Case, *, actor: Actor, status: str, note: str) -> None:
    settled = ExtensionRequest.objects.filter(case=case, status=ExtensionStatus.PENDING).update(
        status=status, decided_by=actor_user(actor), decided_at=timezone.now(), decision_note=note
    )
    assert settled == 1, "the pending request was locked with the case"


def grant_extension(case: Case, *, actor: Actor, note: str = "") -> Case:
    note = _note(note)
    with transaction.atomic():
        updated = _apply(
            case,
            "grant_extension",
            actor=actor,
            note=note,
            check=lambda locked: _decide_extension(locked, granted=True),
        )
        _settle_extension(case, actor=actor, status=ExtensionStatus.GRANTED, note=note)
        return updated


def refuse_extension(case: Case, *, actor: Actor, note: str) -> Case:
    note = _require(note, _("Say why the extension is refused."))
    with transaction.atomic():
        updated = _apply(
            case,
            "refuse_extension",
            actor=actor,
            note=note,
            check=lambda locked: _decide_extension(locked, granted=False),
        )
        _settle_extension(case, actor=actor, status=ExtensionStatus.REFUSED, note=note)
        return updated


def resolve_case(case: Case, *, actor: Actor, resolution: str) -> Case:
    """The unit has done what it can and tells the resident how (办结)."""
    resolution = _require(
        resolution,
        _("Write the reply to the resident."),
        "resolution",
        settings.URBANGOV["CASE_TEXT_MAX"],
    )
    with transaction.atomic():
        resolved = _apply(
            case,
            "resolve",
            actor=actor,
            note=resolution,
            changes={"resolved_at": timezone.now(), "resolution": resolution},
        )
        # The real outcome, for the dispatch decision about the case (if any): who resolved
        # it and as what. It teaches the next model and shows where the dispatcher erred.
        decisions.record_outcome(
            actor=actor,
            subject=resolved,
            output={
                "unit": resolved.unit.code if resolved.unit else None,
                "category": resolved.category.code if resolved.category else None,
            },
        )
        return resolved


def close_case(case: Case, *, actor: Actor, note: str = "") -> Case:
    note = _note(note)
    with transaction.atomic():
        return _apply(case, "close", actor=actor, note=note, changes={"closed_at": timezone.now()})


def rate_case(case: Case, *, actor: Actor, rating: str, comment: str = "") -> Feedback:
    """The resident rates the resolution; a satisfied rating closes the case."""
    if rating not in Rating.values:
        raise ValidationError(_("Unknown rating %(value)r.") % {"value": rating})
    comment = _note(comment, "comment")

    def not_rated(locked: Case) -> None:
        if locked.feedback.filter(round=locked.reopen_count).exists():
            raise ValidationError(_("This resolution has already been rated."))

    with transaction.atomic():
        updated = _apply(
            case,
            "rate",
            actor=actor,
            note=comment,
            data={"rating": rating},
            label=_actor_name(actor, "resident"),
            check=not_rated,
        )
        feedback = Feedback.objects.create(
            case=updated, round=updated.reopen_count, rating=rating, comment=comment.strip()
        )
        if rating != Rating.DISSATISFIED:
            _apply(
                case,
                "close",
                actor=actor,
                label=_actor_name(actor, "resident"),
                changes={"closed_at": timezone.now()},
            )
        return feedback


def reopen_case(case: Case, *, actor: Actor, reason: str = "") -> Case:
    """A dissatisfied resident reopens the case within the window (重办)."""
    reason = _note(reason, "reason")

    def dissatisfied_in_window(locked: Case) -> None:
        last = locked.feedback.filter(round=locked.reopen_count).first()
        if last is None or last.rating != Rating.DISSATISFIED:
            raise ValidationError(_("Only a resolution rated dissatisfied can be reopened."))
        deadline = locked.reopen_deadline()
        if deadline is not None and timezone.now() > deadline:
            raise ValidationError(
                _("The case can be reopened until %(date)s; that time has passed.")
                % {"date": timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M")}
            )

    with transaction.atomic():
        current = Case.objects.get(pk=case.pk)
        return _apply(
            case,
            "reopen",
            actor=actor,
            note=reason.strip(),
            label=_actor_name(actor, "resident"),
            check=dissatisfied_in_window,
            changes={
                "reopen_count": current.reopen_count + 1,
                "unit": None,
                "dispatched_at": None,
                "response_due": None,
                "resolve_due": None,
                "accepted_at": None,
                "resolved_at": None,
                "closed_at": None,
            },
            data={"previous_unit": current.unit.code if current.unit else None},
        )


def merge_case(case: Case, *, actor: Actor, into: Case, note: str = "") -> Case:
    """Mark the case a duplicate of ``into``; the resident follows that one instead."""
    note = _note(note)
    if into.pk == case.pk:
        raise ValidationError(_("A case cannot be merged into itself."))

    def survivor_still_stands(locked: Case) -> Extra:
        survivor = Case.objects.get(pk=into.pk)
        if survivor.status in (Status.MERGED, Status.REJECTED):
            raise ValidationError(
                {
                    "into": [
                        _("Merge into the surviving case, not into a duplicate or a rejected case.")
                    ]
                }
            )
        return Extra(changes={"merged_into": survivor}, data={"into": survivor.tracking_code})

    with transaction.atomic():
        # Both rows locked, in id order, before anything is read: merging A into B and B into
        # A at the same moment then runs one after the other, and the second is refused.
        list(Case.objects.select_for_update().filter(pk__in=[case.pk, into.pk]).order_by("pk"))
        return _apply(case, "merge", actor=actor, note=note, check=survivor_still_stands)


def reject_case(case: Case, *, actor: Actor, reason: str) -> Case:
    """Not a matter for the city (不予受理); the reason is shown to the resident."""
    reason = _require(reason, _("Say why the case is out of scope."), "reason")
    with transaction.atomic():
        return _apply(
            case,
            "reject",
            actor=actor,
            note=reason,
            changes={"reject_reason": reason, "closed_at": timezone.now()},
        )


def escalate_case(case: Case, *, actor: Actor, due: datetime, note: str) -> Case:
    """A supervisor's formal escalation (督办): the unit must resolve by ``due``, on the record.

    The status stays; the deadline to resolve becomes ``due`` (the timeline keeps the old one).
    Performance evaluation keeps judging the unit by the deadline set at dispatch (with granted
    extensions), so an escalation never makes a late case count as on time.
    """
    note = _require(note, _("Say why the case is escalated and what is expected."))
    now = timezone.now()
    if due.tzinfo is None:
        raise ValidationError({"due": [_("Give the new deadline with its time zone.")]})
    if not now < due <= now + timedelta(days=90):
        raise ValidationError(
            {"due": [_("The new deadline must lie in the future, at most 90 days from now.")]}
        )

    def previous(locked: Case) -> Extra:
        before = locked.resolve_due.isoformat() if locked.resolve_due else None
        return Extra(changes={"resolve_due": due}, data={"previous_due": before})

    with transaction.atomic():
        return _apply(
            case,
            "escalate",
            actor=actor,
            note=note,
            data={"resolve_due": due.isoformat()},
            check=previous,
        )


# --- periodic work -------------------------------------------------------------------------


def triage_submitted(limit: int = 500) -> int:
    """Move submitted cases into the operators' queue, oldest first; run by the worker every
    few seconds. Two workers may run it at once: each case moves once, the other skips it."""
    moved = 0
    ids = list(
        Case.objects.filter(status=Status.SUBMITTED)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    for case in Case.objects.filter(pk__in=ids).order_by("id"):
        try:
            triage_case(case)
            moved += 1
        except TransitionError:
            continue
    return moved


def close_expired(now: datetime | None = None, limit: int = 1000) -> int:
    """Close resolved cases whose reopen window has passed without a reopen."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.URBANGOV["REOPEN_WINDOW_DAYS"])
    closed = 0
    for case in Case.objects.filter(status=Status.RESOLVED, resolved_at__lt=cutoff)[:limit]:
        try:
            close_case(case, actor=None, note=_("The time to reopen has passed."))
            closed += 1
        except TransitionError:
            continue
    return closed


# --- bulk history ----------------------------------------------------------------------------


@dataclass
class HistoricEvent:
    at: datetime
    kind: str
    from_status: str
    to_status: str
    actor_label: str = "system"
    note: str = ""
    public: bool = True
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class HistoricCase:
    """A case whose whole history happened elsewhere (an import, or the Demo City)."""

    case: Case
    events: list[HistoricEvent] = field(default_factory=list)
    feedback: list[Feedback] = field(default_factory=list)


def load_history(
    items: Iterable[HistoricCase], *, actor: Actor, source: str, batch: int = 2000
) -> int:
    """Write cases with their past timelines in one transaction, and one audit event for all.

    Nothing is half-loaded: any error rolls the whole load back. Imported cases keep their
    original ids in ``source``/``external_id`` so that a second load of the same file fails
    instead of duplicating.
    """
    total = 0
    digest = hashlib.sha256()
    with transaction.atomic():
        chunk: list[HistoricCase] = []
        for item in items:
            chunk.append(item)
            if len(chunk) >= batch:
                total += _load_chunk(chunk, digest)
                chunk = []
        if chunk:
            total += _load_chunk(chunk, digest)
        record(
            actor=actor,
            action="case.load_history",
            data={"source": source, "cases": total, "sha256": digest.hexdigest()},
        )
    return total


def _load_chunk(chunk: list[HistoricCase], digest: Any) -> int:
    for item in chunk:
        c = item.case
        c.contact_lookup = keyed_hash(c.contact_phone or "")
        c.anonymous = not (c.contact_name or c.contact_phone)
        if not c.title:
            c.title = _summarise(c.text)
        digest.update(f"{c.source}:{c.external_id}:{c.created_at.isoformat()}\n".encode())
    cases = Case.objects.bulk_create([item.case for item in chunk])
    _insert_events(
        (case.pk, e) for case, item in zip(cases, chunk, strict=True) for e in item.events
    )
    feedback = []
    for case, item in zip(cases, chunk, strict=True):
        for f in item.feedback:
            f.case = case
            feedback.append(f)
    Feedback.objects.bulk_create(feedback)
    return len(cases)


def _insert_events(rows: Iterable[tuple[int, HistoricEvent]]) -> None:
    """INSERT timeline rows with one ``executemany``.

    ``bulk_create`` prepares every value of every row through the ORM (about 60 µs a row on
    two busy cores), which made a year of a city's cases take minutes to load. Here only the
    two columns whose stored form depends on the database (a datetime, JSON) go through their
    field; the rest are plain strings, integers and booleans.
    """
    meta = CaseEvent._meta
    connection = connections[router.db_for_write(CaseEvent)]
    at_field, data_field = meta.get_field("at"), meta.get_field("data")
    assert isinstance(at_field, Field) and isinstance(data_field, Field)
    columns = (
        "case_id",
        "at",
        "kind",
        "from_status",
        "to_status",
        "actor_id",
        "actor_label",
        "note",
        "public",
        "data",
    )
    quote = connection.ops.quote_name
    # Table and column names are ours (quoted); every value is a parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    values = [
        (
            case_id,
            at_field.get_db_prep_save(e.at, connection),
            e.kind,
            e.from_status,
            e.to_status,
            None,
            e.actor_label,
            e.note,
            e.public,
            data_field.get_db_prep_save(e.data, connection),
        )
        for case_id, e in rows
    ]
    if values:
        with connection.cursor() as cursor:
            cursor.executemany(sql, values)


# --- staff transitions by name ----------------------------------------------------------------

# What each staff transition asks for, beyond the case: field -> required?
STAFF_FIELDS: dict[str, dict[str, bool]] = {
    "dispatch": {"unit": True, "category": False, "urgency": False, "note": False},
    "accept": {"note": False},
    "send_back": {"reason": True},
    "request_extension": {"hours": True, "reason": True},
    "grant_extension": {"note": False},
    "refuse_extension": {"note": True},
    "resolve": {"resolution": True},
    "close": {"note": False},
    "merge": {"into": True, "note": False},
    "reject": {"reason": True},
}


def perform(name: str, case: Case, *, actor: Actor, data: dict[str, Any]) -> Case:
    """Run the staff transition ``name`` with the values a form or an API body gave.

    Codes are resolved here (unit and category by code, ``into`` by tracking code), so pages
    and the API share one path; anything unknown or missing is a ValidationError naming it.
    The caller has already checked :func:`urbangov.cases.permissions.can`.
    """
    from urbangov.cases.models import normalise_tracking_code

    if name not in STAFF_FIELDS:
        raise ValidationError({"transition": [_("Unknown transition %(name)r.") % {"name": name}]})
    wanted = STAFF_FIELDS[name]
    values = {k: ("" if data.get(k) is None else str(data.get(k)).strip()) for k in wanted}
    missing = [k for k, required in wanted.items() if required and not values[k]]
    if missing:
        raise ValidationError({k: [_("This field is required.")] for k in missing})
    if name == "dispatch":
        unit = Unit.objects.filter(code=values["unit"], active=True).first()
        if unit is None:
            raise ValidationError(
                {"unit": [_("No active unit with code %(code)r.") % {"code": values["unit"]}]}
            )
        category = None
        if values["category"]:
            category = Category.objects.filter(code=values["category"], active=True).first()
            if category is None:
                raise ValidationError(
                    {
                        "category": [
                            _("No category with code %(code)r.") % {"code": values["category"]}
                        ]
                    }
                )
        return dispatch_case(
            case,
            actor=actor,
            unit=unit,
            category=category,
            urgency=values["urgency"] or None,
            note=values["note"],
        )
    if name == "accept":
        return accept_case(case, actor=actor, note=values["note"])
    if name == "send_back":
        return send_back_case(case, actor=actor, reason=values["reason"])
    if name == "request_extension":
        try:
            hours = int(values["hours"])
        except ValueError:
            raise ValidationError({"hours": [_("Give the extra time in whole hours.")]}) from None
        request_extension(case, actor=actor, hours=hours, reason=values["reason"])
        return Case.objects.get(pk=case.pk)
    if name == "grant_extension":
        return grant_extension(case, actor=actor, note=values["note"])
    if name == "refuse_extension":
        return refuse_extension(case, actor=actor, note=values["note"])
    if name == "resolve":
        return resolve_case(case, actor=actor, resolution=values["resolution"])
    if name == "close":
        return close_case(case, actor=actor, note=values["note"])
    if name == "merge":
        from urbangov.cases.queries import scoped

        # Only a case the operator may see: a code outside their scope reads as unknown.
        into = (
            scoped(actor, Case.objects.all())
            .filter(tracking_code=normalise_tracking_code(values["into"]))
            .first()
        )
        if into is None:
            raise ValidationError(
                {"into": [_("No case with tracking code %(code)r.") % {"code": values["into"]}]}
            )
        return merge_case(case, actor=actor, into=into, note=values["note"])
    return reject_case(case, actor=actor, reason=values["reason"])
