"""Every change in the deliberation hall: one function per action.

Each runs in one transaction and writes its audit event (``participation.*``) there. The rules
that belong to the action itself are checked here for every caller: a vote needs a verified
resident and the topic in the right phase; one resident supports a proposal once and holds one
vote per statement, even when two requests race (a unique index decides, not a prior read).
Staff permissions are checked by the callers with :mod:`urbangov.participation.permissions`.

Errors: :class:`~django.core.exceptions.ValidationError` for values that are not acceptable,
:class:`NotAllowed` for an account that may not take part this way (unverified), and
:class:`Conflict` for a request the current state refuses (wrong phase, already done).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from urbangov.org.models import Area, Unit
from urbangov.participation.models import (
    PHASE_ORDER,
    AssistedPerson,
    Comment,
    CountMethod,
    Follow,
    Meeting,
    MeetingKind,
    MeetingResult,
    MeetingStatus,
    Milestone,
    Notification,
    NotificationKind,
    OfficialResponse,
    Origin,
    OutcomeRating,
    Petition,
    PetitionSignature,
    PetitionStatus,
    Phase,
    PhaseChange,
    Proposal,
    Registration,
    Resident,
    ResponseVerdict,
    Result,
    ResultStatus,
    ResultUpdate,
    Source,
    Statement,
    StatementStatus,
    StatementVote,
    Support,
    Topic,
    VerificationCode,
    VerificationMethod,
    Visibility,
    VoteValue,
)
from urbangov.privacy.actions import Actor, actor_user, record
from urbangov.privacy.crypto import keyed_hash

logger = logging.getLogger("urbangov.participation")
# The development "SMS gateway": one-time codes are written here (the console in dev). A city
# plugs its SMS provider in by handling this logger or replacing :func:`deliver_code`.
sms_logger = logging.getLogger("urbangov.sms")

TITLE_MAX = 200
TEXT_MAX = 5000
COMMENT_MAX = 2000
STATEMENT_MAX = 280
REASON_MAX = 2000
CODE_TTL = timedelta(minutes=10)
CODE_ATTEMPTS = 5
CODE_RESEND_AFTER = timedelta(seconds=60)


class NotAllowed(Exception):
    """The account may not take part this way (not a verified resident, say)."""


class Conflict(Exception):
    """The request is well formed but the current state refuses it; nothing was changed."""


def _config(name: str, default: Any) -> Any:
    return settings.URBANGOV.get(name, default)


def _text(value: str, field: str, limit: int, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError({field: [_("This field is required.")]})
    if len(text) > limit:
        raise ValidationError(
            {
                field: [
                    _("At most %(max)d characters are allowed (%(n)d given).")
                    % {"max": limit, "n": len(text)}
                ]
            }
        )
    return text


def _user(actor: Actor) -> User:
    user = actor_user(actor)
    if user is None:
        raise NotAllowed(_("Sign in first."))
    return user


def _verified(actor: Actor) -> tuple[User, Resident]:
    """The acting account, which must be a verified resident."""
    user = _user(actor)
    resident = Resident.objects.filter(user=user).first()
    if resident is None:
        raise NotAllowed(
            _("Only residents' accounts take part. Create a resident account and verify it.")
        )
    if resident.verified_at is None:
        raise NotAllowed(
            _(
                "Your account is not verified yet. Confirm your phone number with the code we "
                "send, or have your identity checked at a service counter; until then you can "
                "read but not vote."
            )
        )
    return user, resident


def _locked_topic(topic: Topic) -> Topic:
    return (
        Topic.objects.select_for_update(of=("self",))
        .select_related("area", "unit")
        .get(pk=topic.pk)
    )


def _require_phase(topic: Topic, *phases: str) -> None:
    if topic.closed_at is not None:
        raise Conflict(_("This topic is closed."))
    if topic.phase not in phases:
        names = ", ".join(str(Phase(p).label) for p in phases)
        raise Conflict(
            _("This can be done in the %(phases)s phase; the topic is now in the %(phase)s phase.")
            % {"phases": names, "phase": Phase(topic.phase).label}
        )


def _notify(topic: Topic, kind: str, data: dict[str, Any], *, exclude: int | None = None) -> int:
    """An in-app notice for every follower of the topic (written in the same transaction)."""
    followers = Follow.objects.filter(topic=topic).values_list("user_id", flat=True)
    rows = [
        Notification(user_id=uid, topic=topic, kind=kind, data=data)
        for uid in followers
        if uid != exclude
    ]
    Notification.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def _touch(topic: Topic) -> None:
    Topic.objects.filter(pk=topic.pk).update(updated_at=timezone.now())


# --- residents and verification ---------------------------------------------------------------


def _normal_phone(phone: str) -> str:
    digits = [c for c in phone if c.isdigit()]
    if not 5 <= len(digits) <= 20 or any(c not in "0123456789+-() " for c in phone):
        raise ValidationError({"phone": [_("A phone number has 5 to 20 digits.")]})
    return phone.strip()


def register_resident(
    *,
    actor: Actor,
    username: str,
    password: str,
    display_name: str,
    phone: str,
    home_area: Area | None = None,
) -> Resident:
    """A new resident account, not yet verified."""
    username = _text(username, "username", 150)
    display_name = _text(display_name, "display_name", 40)
    phone = _normal_phone(phone)
    UserModel = get_user_model()
    if UserModel.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": [_("This user name is taken.")]})
    candidate = UserModel(username=username)
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    with transaction.atomic():
        user = UserModel.objects.create_user(username=username, password=password)
        resident = Resident.objects.create(
            user=user,
            display_name=display_name,
            phone=phone,
            phone_lookup=keyed_hash(phone),
            home_area=home_area,
        )
        record(
            actor=actor if actor_user(actor) is not None else user,
            action="participation.resident.register",
            obj=resident,
            data={"home_area": home_area.code if home_area else None},
        )
    return resident


def _code_hash(resident: Resident, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{resident.pk}:{code}".encode(), hashlib.sha256).hexdigest()


def deliver_code(resident: Resident, code: str) -> None:
    """Send the code to the resident's phone. In development it is written to the log."""
    masked = resident.phone[:3] + "****" + resident.phone[-2:] if len(resident.phone) > 5 else "***"
    sms_logger.warning("verification code for %s (resident %s): %s", masked, resident.pk, code)


def send_verification_code(*, actor: Actor, resident: Resident) -> str:
    """A fresh one-time code for the resident's phone; returns it (for the gateway and tests)."""
    if resident.verified_at is not None:
        raise Conflict(_("This account is already verified."))
    now = timezone.now()
    recent = VerificationCode.objects.filter(
        resident=resident, created_at__gt=now - CODE_RESEND_AFTER, used_at__isnull=True
    ).exists()
    if recent:
        raise Conflict(_("A code was sent less than a minute ago. Wait a moment and try again."))
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        VerificationCode.objects.filter(resident=resident, used_at__isnull=True).update(used_at=now)
        VerificationCode.objects.create(
            resident=resident, code_hash=_code_hash(resident, code), expires_at=now + CODE_TTL
        )
        record(actor=actor, action="participation.resident.send_code", obj=resident, data={})
        transaction.on_commit(lambda: deliver_code(resident, code))
    return code


def _mark_verified(resident: Resident, method: str, by: User | None) -> None:
    if (
        resident.phone_lookup
        and Resident.objects.filter(phone_lookup=resident.phone_lookup, verified_at__isnull=False)
        .exclude(pk=resident.pk)
        .exists()
    ):
        raise Conflict(
            _(
                "This phone number already verifies another account. One resident has one "
                "verified account."
            )
        )
    try:
        with transaction.atomic():
            Resident.objects.filter(pk=resident.pk).update(
                verified_at=timezone.now(), verification=method, verified_by=by
            )
    except IntegrityError:
        raise Conflict(
            _(
                "This phone number already verifies another account. One resident has one "
                "verified account."
            )
        ) from None
    resident.refresh_from_db()


def verify_phone(*, actor: Actor, resident: Resident, code: str) -> Resident:
    """Confirm the phone number with the code sent to it. A wrong code counts as an attempt
    (kept even though the request fails); after five the code is spent."""
    code = (code or "").strip()
    with transaction.atomic():
        pending = (
            VerificationCode.objects.select_for_update()
            .filter(resident=resident, used_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if pending is None or pending.expires_at < timezone.now():
            raise ValidationError({"code": [_("The code has expired. Ask for a new one.")]})
        if pending.attempts >= CODE_ATTEMPTS:
            raise ValidationError({"code": [_("Too many wrong codes. Ask for a new one.")]})
        right = hmac.compare_digest(pending.code_hash, _code_hash(resident, code))
        if right:
            VerificationCode.objects.filter(pk=pending.pk).update(used_at=timezone.now())
            _mark_verified(resident, VerificationMethod.PHONE_CODE, None)
            record(
                actor=actor,
                action="participation.resident.verify",
                obj=resident,
                data={"method": VerificationMethod.PHONE_CODE},
            )
        else:
            VerificationCode.objects.filter(pk=pending.pk).update(attempts=F("attempts") + 1)
    if not right:
        raise ValidationError(
            {"code": [_("The code is not right. Check the message and try again.")]}
        )
    return resident


def verify_at_counter(*, actor: Actor, resident: Resident, document: str) -> Resident:
    """Staff confirm the resident's identity in person (the document type they saw, not its
    number, is recorded)."""
    staff = _user(actor)
    document = _text(document, "document", 100)
    if resident.verified_at is not None:
        raise Conflict(_("This account is already verified."))
    with transaction.atomic():
        _mark_verified(resident, VerificationMethod.COUNTER, staff)
        record(
            actor=actor,
            action="participation.resident.verify",
            obj=resident,
            data={"method": VerificationMethod.COUNTER, "document": document},
        )
    return resident


def register_assisted_person(
    *, actor: Actor, name: str, phone: str, consent_text: str, unit: Unit | None = None
) -> AssistedPerson:
    """Someone who takes part through staff, with their consent recorded. The same person (by
    phone number, or by name where there is none) is one participant; a person who has a
    verified account of their own takes part through it, so that no one counts twice."""
    staff = _user(actor)
    name = _text(name, "name", 100)
    consent_text = _text(consent_text, "consent_text", REASON_MAX)
    phone = _normal_phone(phone) if phone and phone.strip() else ""
    lookup = keyed_hash(phone) if phone else keyed_hash(f"name:{name}")
    if phone and Resident.objects.filter(phone_lookup=lookup, verified_at__isnull=False).exists():
        raise Conflict(
            _(
                "This phone number belongs to a verified resident account. Record the views "
                "on that account (sign in with the resident at the counter), so that they are "
                "counted once."
            )
        )
    with transaction.atomic():
        existing = AssistedPerson.objects.filter(lookup=lookup).first()
        if existing is not None:
            return existing
        person = AssistedPerson.objects.create(
            name=name,
            phone=phone,
            lookup=lookup,
            consent_text=consent_text,
            consent_at=timezone.now(),
            recorded_by=staff,
            unit=unit,
        )
        record(
            actor=actor,
            action="participation.assisted.register",
            obj=person,
            data={"consent": True, "unit": unit.code if unit else None},
        )
    return person


# --- topics ----------------------------------------------------------------------------------


def _clean_plan(plan: Sequence[dict[str, Any]] | None) -> list[dict[str, str]]:
    if not plan:
        return [{"phase": p} for p in PHASE_ORDER]
    out: list[dict[str, str]] = []
    for item in plan:
        phase = str(item.get("phase", ""))
        if phase not in PHASE_ORDER:
            raise ValidationError({"plan": [_("Unknown phase %(value)r.") % {"value": phase}]})
        if any(p["phase"] == phase for p in out):
            raise ValidationError({"plan": [_("Each phase appears once in the plan.")]})
        entry = {"phase": phase}
        for key in ("starts", "ends"):
            value = item.get(key)
            if value:
                try:
                    entry[key] = date.fromisoformat(str(value)).isoformat()
                except ValueError:
                    raise ValidationError(
                        {"plan": [_("%(value)r is not a date (YYYY-MM-DD).") % {"value": value}]}
                    ) from None
        if "starts" in entry and "ends" in entry and entry["ends"] < entry["starts"]:
            raise ValidationError({"plan": [_("A phase cannot end before it starts.")]})
        out.append(entry)
    out.sort(key=lambda e: PHASE_ORDER.index(e["phase"]))
    if out[0]["phase"] != Phase.DELIBERATION:
        raise ValidationError({"plan": [_("Every topic starts with deliberation.")]})
    return out


def open_topic(
    *,
    actor: Actor,
    title: str,
    summary: str,
    area: Area,
    unit: Unit | None,
    plan: Sequence[dict[str, Any]] | None = None,
    origin: str = Origin.UNIT,
    source_type: str = "",
    source_ref: str = "",
    previous: Topic | None = None,
    petition: Petition | None = None,
) -> Topic:
    """Open a topic in its first phase (deliberation).

    ``origin`` says who opened it: a unit, a residents' petition, a hot-spot or an alert (with
    ``source_type``/``source_ref`` naming the hot-spot or alert), or an earlier topic.
    """
    title = _text(title, "title", TITLE_MAX)
    summary = _text(summary, "summary", TEXT_MAX)
    if origin not in Origin.values:
        raise ValidationError({"origin": [_("Unknown origin %(value)r.") % {"value": origin}]})
    if origin in (Origin.HOTSPOT, Origin.ALERT) and not (source_type and source_ref):
        raise ValidationError(
            {"source_ref": [_("Name the hot-spot or alert the topic comes from.")]}
        )
    if len(source_type) > 40 or len(source_ref) > 80:
        raise ValidationError({"source_ref": [_("The source reference is too long.")]})
    if unit is not None and not unit.active:
        raise ValidationError({"unit": [_("%(unit)s is not an active unit.") % {"unit": unit}]})
    cleaned = _clean_plan(plan)
    now = timezone.now()
    with transaction.atomic():
        topic = Topic.objects.create(
            title=title,
            summary=summary,
            area=area,
            unit=unit,
            plan=cleaned,
            phase=Phase.DELIBERATION,
            origin=origin,
            source_type=source_type.strip(),
            source_ref=source_ref.strip(),
            previous=previous,
            petition=petition,
            created_by=actor_user(actor),
            created_at=now,
            updated_at=now,
            phase_changed_at=now,
        )
        PhaseChange.objects.create(topic=topic, from_phase="", to_phase=Phase.DELIBERATION, at=now)
        record(
            actor=actor,
            action="participation.topic.open",
            obj=topic,
            data={
                "area": area.code,
                "unit": unit.code if unit else None,
                "origin": origin,
                "source": [source_type, source_ref] if source_type else None,
                "previous": previous.pk if previous else None,
            },
        )
        from urbangov.participation import signals

        transaction.on_commit(lambda: signals.topic_opened.send(sender=Topic, topic=topic))
    return topic


def change_phase(*, actor: Actor, topic: Topic, to_phase: str, note: str = "") -> Topic:
    """Move the topic forward to a later phase of its plan; followers are told."""
    if to_phase not in PHASE_ORDER:
        raise ValidationError({"phase": [_("Unknown phase %(value)r.") % {"value": to_phase}]})
    note = _text(note, "note", REASON_MAX, required=False)
    with transaction.atomic():
        locked = _locked_topic(topic)
        if locked.closed_at is not None:
            raise Conflict(_("This topic is closed."))
        phases = locked.phases()
        if to_phase not in phases:
            raise Conflict(
                _("The %(phase)s phase is not in this topic's plan.")
                % {"phase": Phase(to_phase).label}
            )
        if phases.index(to_phase) <= phases.index(locked.phase):
            raise Conflict(
                _("A topic moves forward only: it is in the %(phase)s phase.")
                % {"phase": Phase(locked.phase).label}
            )
        now = timezone.now()
        Topic.objects.filter(pk=locked.pk).update(
            phase=to_phase, phase_changed_at=now, updated_at=now
        )
        PhaseChange.objects.create(
            topic=locked, from_phase=locked.phase, to_phase=to_phase, at=now, note=note
        )
        record(
            actor=actor,
            action="participation.topic.phase",
            obj=locked,
            data={"from": locked.phase, "to": to_phase},
        )
        _notify(locked, NotificationKind.PHASE, {"phase": to_phase})
    topic.refresh_from_db()
    return topic


def close_topic(*, actor: Actor, topic: Topic) -> Topic:
    with transaction.atomic():
        locked = _locked_topic(topic)
        if locked.closed_at is not None:
            raise Conflict(_("This topic is closed."))
        Topic.objects.filter(pk=locked.pk).update(closed_at=timezone.now())
        record(actor=actor, action="participation.topic.close", obj=locked, data={})
    topic.refresh_from_db()
    return topic


def publish_lessons(*, actor: Actor, topic: Topic, lessons: str) -> Topic:
    """The feedback phase: what was learned, published."""
    lessons = _text(lessons, "lessons", TEXT_MAX)
    with transaction.atomic():
        locked = _locked_topic(topic)
        _require_phase(locked, Phase.FEEDBACK)
        Topic.objects.filter(pk=locked.pk).update(lessons=lessons, updated_at=timezone.now())
        record(actor=actor, action="participation.topic.lessons", obj=locked, data={})
    topic.refresh_from_db()
    return topic


def open_follow_up(
    *, actor: Actor, topic: Topic, title: str, summary: str, unit: Unit | None = None
) -> Topic:
    """From the feedback phase, a new topic that follows this one up; followers are told."""
    with transaction.atomic():
        locked = _locked_topic(topic)
        _require_phase(locked, Phase.FEEDBACK)
        new = open_topic(
            actor=actor,
            title=title,
            summary=summary,
            area=locked.area,
            unit=unit or locked.unit,
            origin=Origin.FOLLOW_UP,
            source_type="topic",
            source_ref=str(locked.pk),
            previous=locked,
        )
        _notify(locked, NotificationKind.FOLLOW_UP, {"topic": new.pk, "title": new.title})
    return new


# --- petitions ---------------------------------------------------------------------------------


def start_petition(*, actor: Actor, title: str, text: str, area: Area) -> Petition:
    """A verified resident asks for a topic; they are its first supporter."""
    user, _resident = _verified(actor)
    title = _text(title, "title", TITLE_MAX)
    text = _text(text, "text", TEXT_MAX)
    now = timezone.now()
    with transaction.atomic():
        petition = Petition.objects.create(
            title=title,
            text=text,
            area=area,
            created_by=user,
            threshold=int(_config("PETITION_THRESHOLD", 100)),
            created_at=now,
            closes_at=now + timedelta(days=int(_config("PETITION_DAYS", 60))),
        )
        PetitionSignature.objects.create(petition=petition, user=user)
        record(
            actor=actor,
            action="participation.petition.start",
            obj=petition,
            data={"area": area.code, "threshold": petition.threshold},
        )
        _maybe_open_from_petition(actor, petition)
    return petition


def _responsible_unit(area: Area) -> Unit | None:
    """The active unit that answers for the smallest area containing ``area``."""
    codes = area.path.strip("/").split("/")
    best: tuple[int, Unit] | None = None
    for unit in Unit.objects.filter(active=True, areas__code__in=codes).prefetch_related("areas"):
        depth = max(len(a.path) for a in unit.areas.all() if a.code in codes)
        if best is None or depth > best[0]:
            best = (depth, unit)
    return best[1] if best else None


def _maybe_open_from_petition(actor: Actor, petition: Petition) -> Topic | None:
    count = PetitionSignature.objects.filter(petition=petition).count()
    if count < petition.threshold or petition.status != PetitionStatus.OPEN:
        return None
    Petition.objects.filter(pk=petition.pk).update(status=PetitionStatus.TOPIC)
    petition.status = PetitionStatus.TOPIC
    return open_topic(
        actor=None,
        title=petition.title,
        summary=petition.text,
        area=petition.area,
        unit=_responsible_unit(petition.area),
        origin=Origin.PETITION,
        source_type="petition",
        source_ref=str(petition.pk),
        petition=petition,
    )


def sign_petition(*, actor: Actor, petition: Petition) -> PetitionSignature:
    """One verified resident's support; at the threshold the topic opens in the same
    transaction (the petition row is locked, so the topic opens once)."""
    user, _resident = _verified(actor)
    with transaction.atomic():
        locked = Petition.objects.select_for_update().get(pk=petition.pk)
        if locked.status != PetitionStatus.OPEN:
            raise Conflict(_("This petition no longer collects support."))
        if locked.closes_at < timezone.now():
            raise Conflict(_("This petition has closed."))
        try:
            with transaction.atomic():
                signature = PetitionSignature.objects.create(petition=locked, user=user)
        except IntegrityError:
            raise Conflict(_("You have already supported this petition.")) from None
        record(actor=actor, action="participation.petition.sign", obj=locked, data={})
        _maybe_open_from_petition(actor, locked)
    petition.refresh_from_db()
    return signature


# --- proposals and support ----------------------------------------------------------------------


def submit_proposal(*, actor: Actor, topic: Topic, title: str, text: str) -> Proposal:
    user, _resident = _verified(actor)
    title = _text(title, "title", TITLE_MAX)
    text = _text(text, "text", TEXT_MAX)
    with transaction.atomic():
        locked = _locked_topic(topic)
        _require_phase(locked, Phase.DELIBERATION)
        proposal = Proposal.objects.create(topic=locked, title=title, text=text, author=user)
        record(
            actor=actor,
            action="participation.proposal.submit",
            obj=proposal,
            data={"topic": locked.pk},
        )
        _touch(locked)
    return proposal


def support_proposal(*, actor: Actor, proposal: Proposal) -> Support:
    """One verified resident, one support. A second try, however close in time, is a Conflict
    and adds nothing: the unique index on (proposal, user) decides."""
    user, _resident = _verified(actor)
    with transaction.atomic():
        locked = _locked_topic(proposal.topic)
        _require_phase(locked, Phase.DELIBERATION)
        if Proposal.objects.filter(pk=proposal.pk, visibility=Visibility.HIDDEN).exists():
            raise Conflict(_("This proposal was hidden by moderation."))
        try:
            with transaction.atomic():
                support = Support.objects.create(proposal=proposal, user=user)
        except IntegrityError:
            raise Conflict(
                _("You already support this proposal; each resident counts once.")
            ) from None
        record(
            actor=actor,
            action="participation.proposal.support",
            obj=proposal,
            data={"source": Source.ONLINE},
        )
    return support


def withdraw_support(*, actor: Actor, proposal: Proposal) -> None:
    user, _resident = _verified(actor)
    with transaction.atomic():
        locked = _locked_topic(proposal.topic)
        _require_phase(locked, Phase.DELIBERATION)
        deleted, _rows = Support.objects.filter(proposal=proposal, user=user).delete()
        if not deleted:
            raise Conflict(_("You do not support this proposal."))
        record(actor=actor, action="participation.proposal.withdraw_support", obj=proposal, data={})


def support_for_assisted(*, actor: Actor, proposal: Proposal, person: AssistedPerson) -> Support:
    """Staff record the support of someone who does not go online (with their consent)."""
    _user(actor)
    with transaction.atomic():
        locked = _locked_topic(proposal.topic)
        _require_phase(locked, Phase.DELIBERATION)
        try:
            with transaction.atomic():
                support = Support.objects.create(
                    proposal=proposal, assisted=person, source=Source.ASSISTED
                )
        except IntegrityError:
            raise Conflict(_("This person already supports this proposal.")) from None
        record(
            actor=actor,
            action="participation.proposal.support",
            obj=proposal,
            data={"source": Source.ASSISTED, "assisted": person.pk},
        )
    return support


def hide_proposal(*, actor: Actor, proposal: Proposal, reason: str) -> Proposal:
    reason = _text(reason, "reason", REASON_MAX)
    with transaction.atomic():
        Proposal.objects.filter(pk=proposal.pk).update(
            visibility=Visibility.HIDDEN, moderation_reason=reason
        )
        record(
            actor=actor, action="participation.proposal.hide", obj=proposal, data={"reason": reason}
        )
    proposal.refresh_from_db()
    return proposal


# --- comments -------------------------------------------------------------------------------


def post_comment(
    *,
    actor: Actor,
    topic: Topic,
    text: str,
    parent: Comment | None = None,
    proposal: Proposal | None = None,
) -> Comment:
    """A comment, or a reply to one, by a verified resident (staff answer under their unit)."""
    user = _user(actor)
    from urbangov.org.queries import is_staff_member

    if is_staff_member(user):
        membership = user.memberships.select_related("unit").first()
        name = membership.unit.name[:40] if membership else user.get_username()[:40]
    else:
        _unused, resident = _verified(actor)
        name = resident.display_name
    text = _text(text, "text", COMMENT_MAX)
    if parent is not None and parent.topic_id != topic.pk:
        raise ValidationError({"parent": [_("A reply belongs to the same topic.")]})
    if proposal is not None and proposal.topic_id != topic.pk:
        raise ValidationError({"proposal": [_("That proposal belongs to another topic.")]})
    with transaction.atomic():
        locked = _locked_topic(topic)
        if locked.closed_at is not None:
            raise Conflict(_("This topic is closed."))
        comment = Comment.objects.create(
            topic=locked,
            proposal=proposal or (parent.proposal if parent else None),
            parent=parent,
            author=user,
            author_name=name,
            text=text,
        )
        record(
            actor=actor,
            action="participation.comment.post",
            obj=comment,
            data={"topic": locked.pk, "parent": parent.pk if parent else None},
        )
        _touch(locked)
    return comment


def moderate_comment(*, actor: Actor, comment: Comment, reason: str) -> Comment:
    """Hide a comment; the reason is shown in its place, to everyone."""
    reason = _text(reason, "reason", REASON_MAX)
    with transaction.atomic():
        updated = Comment.objects.filter(pk=comment.pk, visibility=Visibility.VISIBLE).update(
            visibility=Visibility.HIDDEN, moderation_reason=reason, moderated_at=timezone.now()
        )
        if not updated:
            raise Conflict(_("This comment is already hidden."))
        record(
            actor=actor, action="participation.comment.hide", obj=comment, data={"reason": reason}
        )
    comment.refresh_from_db()
    return comment


def restore_comment(*, actor: Actor, comment: Comment, note: str = "") -> Comment:
    with transaction.atomic():
        updated = Comment.objects.filter(pk=comment.pk, visibility=Visibility.HIDDEN).update(
            visibility=Visibility.VISIBLE, moderation_reason="", moderated_at=timezone.now()
        )
        if not updated:
            raise Conflict(_("This comment is not hidden."))
        record(
            actor=actor,
            action="participation.comment.restore",
            obj=comment,
            data={"note": note[:200]},
        )
    comment.refresh_from_db()
    return comment


# --- statements and votes ---------------------------------------------------------------------


def add_statement(*, actor: Actor, topic: Topic, text: str, seed: bool = False) -> Statement:
    """A short statement to vote on: by a verified resident, or seeded by the organiser."""
    user = _user(actor)
    if not seed:
        _verified(actor)
    text = _text(text, "text", STATEMENT_MAX)
    with transaction.atomic():
        locked = _locked_topic(topic)
        _require_phase(locked, Phase.DELIBERATION)
        if Statement.objects.filter(topic=locked, text=text).exists():
            raise Conflict(_("This statement is already there; vote on it instead."))
        statement = Statement.objects.create(topic=locked, text=text, author=user, seed=seed)
        record(
            actor=actor,
            action="participation.statement.add",
            obj=statement,
            data={"topic": locked.pk, "seed": seed},
        )
        _touch(locked)
    return statement


def moderate_statement(*, actor: Actor, statement: Statement, reason: str) -> Statement:
    """Take a statement out of voting and analysis; the reason is public."""
    reason = _text(reason, "reason", REASON_MAX)
    with transaction.atomic():
        updated = Statement.objects.filter(pk=statement.pk, status=StatementStatus.ACCEPTED).update(
            status=StatementStatus.REJECTED, moderation_reason=reason
        )
        if not updated:
            raise Conflict(_("This statement is already moderated out."))
        record(
            actor=actor,
            action="participation.statement.moderate",
            obj=statement,
            data={"reason": reason},
        )
    statement.refresh_from_db()
    return statement


def _vote_value(value: int | str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = {"agree": 1, "disagree": -1, "pass": 0}.get(str(value).strip().lower(), 99)
    if number not in VoteValue.values:
        raise ValidationError(
            {
                "value": [
                    _("A vote is agree (1), disagree (-1) or pass (0), not %(value)r.")
                    % {"value": value}
                ]
            }
        )
    return number


def _cast(
    statement: Statement, value: int, source: str, **voter: Any
) -> tuple[StatementVote, bool]:
    """Insert the vote, or replace the voter's earlier one; returns (vote, created)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            return (
                StatementVote.objects.create(
                    statement=statement, value=value, source=source, at=now, **voter
                ),
                True,
            )
    except IntegrityError:
        vote = StatementVote.objects.select_for_update().get(statement=statement, **voter)
        StatementVote.objects.filter(pk=vote.pk).update(value=value, source=source, at=now)
        vote.value, vote.source, vote.at = value, source, now
        return vote, False


def vote(*, actor: Actor, statement: Statement, value: int | str) -> StatementVote:
    """A verified resident marks a statement agree, disagree or pass. Voting again replaces the
    earlier vote (people change their minds, as in Polis); it never adds a second one."""
    user, _resident = _verified(actor)
    number = _vote_value(value)
    with transaction.atomic():
        locked = _locked_topic(statement.topic)
        _require_phase(locked, Phase.DELIBERATION)
        current = Statement.objects.get(pk=statement.pk)
        if current.status != StatementStatus.ACCEPTED:
            raise Conflict(_("This statement was moderated out and takes no votes."))
        cast, created = _cast(current, number, Source.ONLINE, user=user)
        record(
            actor=actor,
            action="participation.statement.vote",
            obj=current,
            data={"changed": not created},
        )
    return cast


def vote_for_assisted(
    *, actor: Actor, statement: Statement, person: AssistedPerson, value: int | str
) -> StatementVote:
    """Staff record the vote of someone who does not go online, with their consent."""
    _user(actor)
    number = _vote_value(value)
    with transaction.atomic():
        locked = _locked_topic(statement.topic)
        _require_phase(locked, Phase.DELIBERATION)
        current = Statement.objects.get(pk=statement.pk)
        if current.status != StatementStatus.ACCEPTED:
            raise Conflict(_("This statement was moderated out and takes no votes."))
        cast, created = _cast(current, number, Source.ASSISTED, assisted=person)
        record(
            actor=actor,
            action="participation.statement.vote",
            obj=current,
            data={"source": Source.ASSISTED, "assisted": person.pk, "changed": not created},
        )
    return cast


# --- meetings -----------------------------------------------------------------------------------


def schedule_meeting(
    *,
    actor: Actor,
    topic: Topic,
    title: str,
    kind: str,
    starts_at: datetime,
    ends_at: datetime,
    place: str = "",
    online_url: str = "",
    agenda: str = "",
    capacity: int | None = None,
) -> Meeting:
    title = _text(title, "title", TITLE_MAX)
    agenda = _text(agenda, "agenda", TEXT_MAX, required=False)
    place = _text(place, "place", 300, required=False)
    if kind not in MeetingKind.values:
        raise ValidationError({"kind": [_("Unknown kind of meeting %(value)r.") % {"value": kind}]})
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise ValidationError({"starts_at": [_("Give the time with its time zone.")]})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": [_("A meeting ends after it starts.")]})
    if kind in (MeetingKind.OFFLINE, MeetingKind.HYBRID) and not place:
        raise ValidationError({"place": [_("Say where the meeting takes place.")]})
    if kind in (MeetingKind.ONLINE, MeetingKind.HYBRID) and not online_url.strip():
        raise ValidationError({"online_url": [_("Give the link to the online room.")]})
    if online_url and not online_url.startswith(("https://", "http://")):
        raise ValidationError({"online_url": [_("The online room is a web address (https://…).")]})
    if capacity is not None and capacity < 1:
        raise ValidationError({"capacity": [_("A meeting has at least one place.")]})
    with transaction.atomic():
        locked = _locked_topic(topic)
        if locked.closed_at is not None:
            raise Conflict(_("This topic is closed."))
        meeting = Meeting.objects.create(
            topic=locked,
            title=title,
            kind=kind,
            starts_at=starts_at,
            ends_at=ends_at,
            place=place,
            online_url=online_url.strip(),
            agenda=agenda,
            capacity=capacity,
            created_by=actor_user(actor),
        )
        record(
            actor=actor,
            action="participation.meeting.schedule",
            obj=meeting,
            data={"topic": locked.pk, "kind": kind, "starts_at": starts_at.isoformat()},
        )
        _notify(
            locked,
            NotificationKind.MEETING,
            {"meeting": meeting.pk, "title": title, "starts_at": starts_at.isoformat()},
        )
    return meeting


def register_for_meeting(*, actor: Actor, meeting: Meeting, needs: str = "") -> Registration:
    """A resident signs up for a meeting (an account is needed, verification is not)."""
    user = _user(actor)
    needs = _text(needs, "needs", 200, required=False)
    with transaction.atomic():
        locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if locked.status != MeetingStatus.SCHEDULED or locked.ends_at < timezone.now():
            raise Conflict(_("Registration for this meeting is closed."))
        taken = Registration.objects.filter(meeting=locked).count()
        if locked.capacity is not None and taken >= locked.capacity:
            raise Conflict(_("This meeting is full."))
        try:
            with transaction.atomic():
                registration = Registration.objects.create(meeting=locked, user=user, needs=needs)
        except IntegrityError:
            raise Conflict(_("You are already registered for this meeting.")) from None
        record(
            actor=actor,
            action="participation.meeting.register",
            obj=locked,
            data={"needs": bool(needs)},
        )
    return registration


def cancel_meeting(*, actor: Actor, meeting: Meeting, reason: str) -> Meeting:
    reason = _text(reason, "reason", REASON_MAX)
    with transaction.atomic():
        updated = Meeting.objects.filter(pk=meeting.pk, status=MeetingStatus.SCHEDULED).update(
            status=MeetingStatus.CANCELLED, cancel_reason=reason
        )
        if not updated:
            raise Conflict(_("Only a scheduled meeting can be cancelled."))
        record(
            actor=actor, action="participation.meeting.cancel", obj=meeting, data={"reason": reason}
        )
    meeting.refresh_from_db()
    return meeting


def record_attendance(
    *, actor: Actor, meeting: Meeting, present: Iterable[int], total: int | None = None
) -> Meeting:
    """Who of the registered came, and how many people were present in all (walk-ins too)."""
    present_ids = {int(i) for i in present}
    with transaction.atomic():
        locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if locked.status == MeetingStatus.CANCELLED:
            raise Conflict(_("This meeting was cancelled."))
        registered = set(
            Registration.objects.filter(meeting=locked).values_list("user_id", flat=True)
        )
        unknown = present_ids - registered
        if unknown:
            raise ValidationError({"present": [_("Only registered people can be marked present.")]})
        came = len(present_ids)
        if total is not None and total < came:
            raise ValidationError(
                {"total": [_("More registered people came than the total present.")]}
            )
        Registration.objects.filter(meeting=locked).update(attended=False)
        Registration.objects.filter(meeting=locked, user_id__in=present_ids).update(attended=True)
        Meeting.objects.filter(pk=locked.pk).update(
            attendance=total if total is not None else came, status=MeetingStatus.HELD
        )
        record(
            actor=actor,
            action="participation.meeting.attendance",
            obj=locked,
            data={"registered_present": came, "total": total},
        )
    meeting.refresh_from_db()
    return meeting


def record_minutes(*, actor: Actor, meeting: Meeting, minutes: str) -> Meeting:
    minutes = _text(minutes, "minutes", 50_000)
    with transaction.atomic():
        locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if locked.status == MeetingStatus.CANCELLED:
            raise Conflict(_("This meeting was cancelled."))
        if locked.starts_at > timezone.now():
            raise Conflict(_("Minutes are written once the meeting has started."))
        Meeting.objects.filter(pk=locked.pk).update(minutes=minutes, status=MeetingStatus.HELD)
        record(
            actor=actor,
            action="participation.meeting.minutes",
            obj=locked,
            data={"chars": len(minutes)},
        )
    meeting.refresh_from_db()
    return meeting


def record_meeting_result(
    *,
    actor: Actor,
    meeting: Meeting,
    method: str,
    proposal: Proposal | None = None,
    statement: Statement | None = None,
    in_favour: int = 0,
    against: int = 0,
    abstain: int = 0,
    note: str = "",
) -> MeetingResult:
    """A count taken at the meeting (hands or ballots) on a proposal or a statement, or the
    views gathered; it joins the topic's tallies, marked as from this meeting."""
    if method not in CountMethod.values:
        raise ValidationError(
            {"method": [_("Unknown way of counting %(value)r.") % {"value": method}]}
        )
    note = _text(note, "note", TEXT_MAX, required=method == CountMethod.VIEWS)
    counts = {"in_favour": in_favour, "against": against, "abstain": abstain}
    for name, value in counts.items():
        if not isinstance(value, int) or value < 0:
            raise ValidationError({name: [_("A count is a whole number, 0 or more.")]})
    if method != CountMethod.VIEWS and proposal is None and statement is None:
        raise ValidationError({"proposal": [_("Say which proposal or statement was counted.")]})
    if proposal is not None and statement is not None:
        raise ValidationError(
            {"statement": [_("One count is about one proposal or one statement.")]}
        )
    for item in (proposal, statement):
        if item is not None and item.topic_id != meeting.topic_id:
            raise ValidationError({"proposal": [_("That belongs to another topic.")]})
    with transaction.atomic():
        locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if locked.status == MeetingStatus.CANCELLED:
            raise Conflict(_("This meeting was cancelled."))
        if locked.starts_at > timezone.now():
            raise Conflict(_("Results are entered once the meeting has started."))
        if (
            locked.attendance is not None
            and method != CountMethod.VIEWS
            and in_favour + against + abstain > locked.attendance
        ):
            raise ValidationError(
                {
                    "in_favour": [
                        _("More votes than people present (%(n)d).") % {"n": locked.attendance}
                    ]
                }
            )
        result = MeetingResult.objects.create(
            meeting=locked,
            method=method,
            proposal=proposal,
            statement=statement,
            in_favour=in_favour,
            against=against,
            abstain=abstain,
            note=note,
            entered_by=actor_user(actor),
        )
        Meeting.objects.filter(pk=locked.pk).update(status=MeetingStatus.HELD)
        record(
            actor=actor,
            action="participation.meeting.result",
            obj=result,
            data={"meeting": locked.pk, "method": method, **counts},
        )
    return result


# --- decision and follow-up ----------------------------------------------------------------------


def respond_to_proposal(
    *, actor: Actor, proposal: Proposal, verdict: str, reasons: str, unit: Unit | None = None
) -> OfficialResponse:
    """The city's answer (accepted, partly, not accepted) with reasons; an accepted or partly
    accepted proposal becomes a result for the responsible unit. Followers are told."""
    if verdict not in ResponseVerdict.values:
        raise ValidationError({"verdict": [_("The answer is accepted, partly or rejected.")]})
    reasons = _text(reasons, "reasons", TEXT_MAX)
    with transaction.atomic():
        locked = _locked_topic(proposal.topic)
        _require_phase(locked, Phase.DECISION, Phase.IMPLEMENTATION)
        responsible = unit or locked.unit
        if verdict != ResponseVerdict.REJECTED and responsible is None:
            raise ValidationError({"unit": [_("Name the unit responsible for carrying it out.")]})
        try:
            with transaction.atomic():
                response = OfficialResponse.objects.create(
                    proposal=proposal,
                    verdict=verdict,
                    reasons=reasons,
                    unit=responsible,
                    responded_by=actor_user(actor),
                )
        except IntegrityError:
            raise Conflict(_("This proposal has already been answered.")) from None
        if verdict != ResponseVerdict.REJECTED:
            assert responsible is not None
            Result.objects.create(
                topic=locked, proposal=proposal, title=proposal.title[:TITLE_MAX], unit=responsible
            )
        record(
            actor=actor,
            action="participation.proposal.respond",
            obj=proposal,
            data={"verdict": verdict, "unit": responsible.code if responsible else None},
        )
        _notify(
            locked,
            NotificationKind.RESPONSE,
            {"proposal": proposal.pk, "title": proposal.title, "verdict": verdict},
        )
    return response


def add_result(
    *,
    actor: Actor,
    topic: Topic,
    title: str,
    unit: Unit,
    parent: Result | None = None,
    weight: int = 1,
    description: str = "",
    starts_on: date | None = None,
    ends_on: date | None = None,
    proposal: Proposal | None = None,
) -> Result:
    title = _text(title, "title", TITLE_MAX)
    description = _text(description, "description", TEXT_MAX, required=False)
    if not isinstance(weight, int) or weight < 1 or weight > 1000:
        raise ValidationError({"weight": [_("A weight is a whole number from 1 to 1000.")]})
    if parent is not None and parent.topic_id != topic.pk:
        raise ValidationError({"parent": [_("The parent result belongs to another topic.")]})
    if starts_on and ends_on and ends_on < starts_on:
        raise ValidationError({"ends_on": [_("A result cannot be due before it starts.")]})
    with transaction.atomic():
        locked = _locked_topic(topic)
        if locked.closed_at is not None:
            raise Conflict(_("This topic is closed."))
        result = Result.objects.create(
            topic=locked,
            title=title,
            unit=unit,
            parent=parent,
            weight=weight,
            description=description,
            starts_on=starts_on,
            ends_on=ends_on,
            proposal=proposal,
        )
        record(
            actor=actor,
            action="participation.result.add",
            obj=result,
            data={
                "topic": locked.pk,
                "unit": unit.code,
                "parent": parent.pk if parent else None,
                "weight": weight,
            },
        )
    return result


def add_milestone(*, actor: Actor, result: Result, title: str, due_on: date) -> Milestone:
    title = _text(title, "title", TITLE_MAX)
    with transaction.atomic():
        milestone = Milestone.objects.create(result=result, title=title, due_on=due_on)
        record(
            actor=actor,
            action="participation.milestone.add",
            obj=milestone,
            data={"result": result.pk, "due_on": due_on.isoformat()},
        )
    return milestone


def reach_milestone(*, actor: Actor, milestone: Milestone, done_on: date) -> Milestone:
    if done_on > timezone.localdate():
        raise ValidationError({"done_on": [_("A milestone cannot be reached in the future.")]})
    with transaction.atomic():
        updated = Milestone.objects.filter(pk=milestone.pk, done_on__isnull=True).update(
            done_on=done_on
        )
        if not updated:
            raise Conflict(_("This milestone is already reached."))
        record(
            actor=actor,
            action="participation.milestone.reach",
            obj=milestone,
            data={"done_on": done_on.isoformat()},
        )
    milestone.refresh_from_db()
    return milestone


def post_result_update(
    *, actor: Actor, result: Result, on: date, text: str, progress: int | None = None
) -> ResultUpdate:
    """A dated public update; on a result without parts it also sets the progress. Followers
    are told."""
    text = _text(text, "text", TEXT_MAX)
    if on > timezone.localdate():
        raise ValidationError({"on": [_("An update is about something that has happened.")]})
    with transaction.atomic():
        locked = Result.objects.select_for_update().get(pk=result.pk)
        if progress is not None:
            if not isinstance(progress, int) or not 0 <= progress <= 100:
                raise ValidationError({"progress": [_("Progress is a percentage from 0 to 100.")]})
            if locked.children.exists():
                raise ValidationError(
                    {"progress": [_("This result's progress comes from its parts; update those.")]}
                )
            status = ResultStatus.DONE if progress == 100 else ResultStatus.UNDER_WAY
            Result.objects.filter(pk=locked.pk).update(progress=progress, status=status)
        update = ResultUpdate.objects.create(
            result=locked, on=on, text=text, progress=progress, by=actor_user(actor)
        )
        record(
            actor=actor,
            action="participation.result.update",
            obj=locked,
            data={"progress": progress, "on": on.isoformat()},
        )
        _notify(
            locked.topic,
            NotificationKind.PROGRESS,
            {"result": locked.pk, "title": locked.title, "progress": progress},
        )
    result.refresh_from_db()
    return update


# --- following, notifications, ratings ---------------------------------------------------------


def follow_topic(*, actor: Actor, topic: Topic) -> Follow:
    user = _user(actor)
    with transaction.atomic():
        follow, created = Follow.objects.get_or_create(topic=topic, user=user)
        if created:
            record(actor=actor, action="participation.topic.follow", obj=topic, data={})
    return follow


def unfollow_topic(*, actor: Actor, topic: Topic) -> None:
    user = _user(actor)
    with transaction.atomic():
        deleted, _rows = Follow.objects.filter(topic=topic, user=user).delete()
        if deleted:
            record(actor=actor, action="participation.topic.unfollow", obj=topic, data={})


def mark_notifications_read(*, actor: Actor, ids: Iterable[int] | None = None) -> int:
    """Reading one's notices is bookkeeping of the reader's own, not a change anyone acts on:
    no audit event."""
    user = _user(actor)
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())


def rate_outcome(*, actor: Actor, topic: Topic, score: int, comment: str = "") -> OutcomeRating:
    """In the evaluation phase, a verified resident rates how it turned out (1 to 5), once."""
    user, _resident = _verified(actor)
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise ValidationError({"score": [_("A rating is a whole number from 1 to 5.")]})
    comment = _text(comment, "comment", COMMENT_MAX, required=False)
    with transaction.atomic():
        locked = _locked_topic(topic)
        _require_phase(locked, Phase.EVALUATION)
        try:
            with transaction.atomic():
                rating = OutcomeRating.objects.create(
                    topic=locked, user=user, score=score, comment=comment
                )
        except IntegrityError:
            raise Conflict(_("You have already rated this outcome.")) from None
        record(actor=actor, action="participation.topic.rate", obj=locked, data={"score": score})
    return rating
