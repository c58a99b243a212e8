"""The deliberation hall (议事厅): topics and their phases, petitions, proposals and their
support, threaded comments, Polis-style statements and votes, offline and hybrid meetings,
official responses, results with milestones and progress, follows, notifications and ratings.

Models hold data and the invariants that need no outside world; every change goes through
:mod:`urbangov.participation.actions`.

Personal data (declared, as STYLE asks): a resident's phone number
(:attr:`Resident.phone`, encrypted, looked up by keyed hash only) and the name and phone of a
person staff record views for (:attr:`AssistedPerson`, encrypted). Votes, supports and ratings
name an account but are published only as counts and in anonymised exports, where every
participant gets a random id of that export alone. Comments and statements are public text
under the author's public display name (never the account name).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from urbangov.org.models import Area, Unit
from urbangov.privacy.fields import EncryptedTextField


class Phase(models.TextChoices):
    DELIBERATION = "deliberation", _("deliberation")
    DECISION = "decision", _("decision")
    IMPLEMENTATION = "implementation", _("implementation")
    EVALUATION = "evaluation", _("evaluation")
    FEEDBACK = "feedback", _("feedback")


PHASE_ORDER: list[str] = [p.value for p in Phase]


class Origin(models.TextChoices):
    UNIT = "unit", _("opened by a unit")
    PETITION = "petition", _("opened by a residents' petition")
    HOTSPOT = "hotspot", _("opened from a hot-spot")
    ALERT = "alert", _("opened from an alert")
    FOLLOW_UP = "follow_up", _("opened from an earlier topic's feedback")


class Source(models.TextChoices):
    """Where a vote, view or support came from; counted into the same topic, marked."""

    ONLINE = "online", _("online")
    MEETING = "meeting", _("at a meeting")
    ASSISTED = "assisted", _("recorded by staff for a resident")


# --- residents ---------------------------------------------------------------------------------


class VerificationMethod(models.TextChoices):
    PHONE_CODE = "phone_code", _("phone number confirmed with a one-time code")
    COUNTER = "counter", _("identity checked by staff at a service counter")


class Resident(models.Model):
    """A resident's account in the deliberation hall.

    "One verified resident, one vote": an account may vote, support, comment and rate only once
    verified, and a phone number verifies one account at most (``phone_lookup`` is unique among
    verified residents). Verification is a one-time code sent to the phone, or a staff member
    checking the resident's identity document at a counter.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="resident"
    )
    display_name = models.CharField(_("public name"), max_length=40)
    phone = EncryptedTextField(_("phone number"), blank=True, default="")
    phone_lookup = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    home_area = models.ForeignKey(
        Area, verbose_name=_("home area"), null=True, blank=True, on_delete=models.SET_NULL
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verification = models.CharField(
        _("verified by"), max_length=20, choices=VerificationMethod.choices, blank=True
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        constraints = [
            models.UniqueConstraint(
                fields=["phone_lookup"],
                condition=Q(verified_at__isnull=False) & ~Q(phone_lookup=""),
                name="one_verified_account_per_phone",
            )
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class VerificationCode(models.Model):
    """A one-time code sent to a resident's phone; only its hash is kept."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("verification code")
        verbose_name_plural = _("verification codes")

    def __str__(self) -> str:
        return f"code for {self.resident_id}"


class AssistedPerson(models.Model):
    """Someone who does not go online, whose views staff record with their consent (代为参与).

    Identified by a keyed hash of their phone number (or of name and address where there is no
    phone) so that the same person is one participant however many times they come.
    """

    name = EncryptedTextField(_("name"))
    phone = EncryptedTextField(_("phone number"), blank=True, default="")
    lookup = models.CharField(max_length=64, unique=True, editable=False)
    consent_text = models.TextField(_("what the person agreed to"))
    consent_at = models.DateTimeField(_("consent given at"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = _("assisted participant")
        verbose_name_plural = _("assisted participants")

    def __str__(self) -> str:
        return f"assisted #{self.pk}"


# --- topics and petitions ------------------------------------------------------------------------


class PetitionStatus(models.TextChoices):
    OPEN = "open", _("collecting support")
    TOPIC = "topic", _("threshold reached: a topic was opened")
    CLOSED = "closed", _("closed without reaching the threshold")


class Petition(models.Model):
    """Residents asking for a topic; at ``threshold`` supporters a topic opens by itself."""

    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("what should be discussed"))
    area = models.ForeignKey(Area, verbose_name=_("area"), on_delete=models.PROTECT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    threshold = models.PositiveIntegerField(_("supporters needed"))
    status = models.CharField(
        max_length=10, choices=PetitionStatus.choices, default=PetitionStatus.OPEN
    )
    created_at = models.DateTimeField(default=timezone.now)
    closes_at = models.DateTimeField(_("collects support until"))

    class Meta:
        verbose_name = _("petition")
        verbose_name_plural = _("petitions")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class PetitionSignature(models.Model):
    petition = models.ForeignKey(Petition, on_delete=models.CASCADE, related_name="signatures")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("petition signature")
        verbose_name_plural = _("petition signatures")
        constraints = [
            models.UniqueConstraint(fields=["petition", "user"], name="sign_petition_once")
        ]

    def __str__(self) -> str:
        return f"{self.petition_id}:{self.user_id}"


class TopicQuerySet(models.QuerySet["Topic"]):
    def in_area(self, area: Area) -> TopicQuerySet:
        """Topics about the area, anything within it, or any area above it (a city-wide topic
        concerns every community)."""
        codes = area.path.strip("/").split("/")
        return self.filter(Q(area__path__startswith=area.path) | Q(area__code__in=codes))

    def open(self) -> TopicQuerySet:
        return self.filter(closed_at__isnull=True)


class Topic(models.Model):
    """A public question (议题) scoped to an area, moving through its phases."""

    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("what is to be decided"))
    area = models.ForeignKey(Area, verbose_name=_("area"), on_delete=models.PROTECT)
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("organising unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="topics",
    )
    phase = models.CharField(
        _("phase"), max_length=20, choices=Phase.choices, default=Phase.DELIBERATION
    )
    # The phases this topic goes through, in order (the organiser may leave some out), with the
    # dates planned for each: [{"phase": "deliberation", "starts": "2025-05-01", "ends": ...}].
    plan = models.JSONField(_("phase plan"), default=list, blank=True)
    origin = models.CharField(_("opened"), max_length=20, choices=Origin.choices)
    # A generic link to what the topic came from, kept for both sides to follow: ("petition",
    # id), ("hotspot", id), ("alert", id), ("case", tracking code) … Supervision keeps its own
    # link back to the topic; see docs/participation.md.
    source_type = models.CharField(_("source type"), max_length=40, blank=True)
    source_ref = models.CharField(_("source reference"), max_length=80, blank=True)
    petition = models.OneToOneField(
        Petition, null=True, blank=True, on_delete=models.PROTECT, related_name="topic"
    )
    previous = models.ForeignKey(
        "self",
        verbose_name=_("follows up"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="follow_ups",
    )
    lessons = models.TextField(_("what was learned"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    phase_changed_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = TopicQuerySet.as_manager()

    class Meta:
        verbose_name = _("topic")
        verbose_name_plural = _("topics")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["source_type", "source_ref"])]

    def __str__(self) -> str:
        return self.title

    def phases(self) -> list[str]:
        """The phases of this topic, in order."""
        chosen = [p.get("phase") for p in self.plan if isinstance(p, dict)]
        return [p for p in PHASE_ORDER if p in chosen] or list(PHASE_ORDER)

    def next_phase(self) -> str | None:
        phases = self.phases()
        if self.phase not in phases:
            return phases[0] if phases else None
        i = phases.index(self.phase)
        return phases[i + 1] if i + 1 < len(phases) else None

    def planned(self, phase: str) -> dict[str, str]:
        for item in self.plan:
            if isinstance(item, dict) and item.get("phase") == phase:
                return item
        return {}


class PhaseChange(models.Model):
    """The public record of a topic's phases: when each began and why."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="phase_changes")
    from_phase = models.CharField(max_length=20, choices=Phase.choices, blank=True)
    to_phase = models.CharField(max_length=20, choices=Phase.choices)
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.topic_id}: {self.from_phase} → {self.to_phase}"


# --- online deliberation ---------------------------------------------------------------------------


class Visibility(models.TextChoices):
    VISIBLE = "visible", _("visible")
    HIDDEN = "hidden", _("hidden by moderation")


class ResponseVerdict(models.TextChoices):
    ACCEPTED = "accepted", _("accepted")
    PARTLY = "partly", _("partly accepted")
    REJECTED = "rejected", _("not accepted")


class Proposal(models.Model):
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="proposals")
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("the proposal"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.ONLINE)
    meeting = models.ForeignKey(
        "Meeting", null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals"
    )
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.VISIBLE
    )
    moderation_reason = models.TextField(_("reason for hiding"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.title


class Support(models.Model):
    """One verified resident's support for a proposal (online, or recorded by staff)."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    assisted = models.ForeignKey(
        AssistedPerson, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.ONLINE)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("support")
        verbose_name_plural = _("supports")
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "user"], condition=Q(user__isnull=False), name="support_once"
            ),
            models.UniqueConstraint(
                fields=["proposal", "assisted"],
                condition=Q(assisted__isnull=False),
                name="support_once_assisted",
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) ^ Q(assisted__isnull=False),
                name="support_has_one_supporter",
            ),
        ]

    def __str__(self) -> str:
        return f"support {self.proposal_id}"


class Comment(models.Model):
    """A threaded comment on a topic (or one of its proposals). Hidden comments stay in the
    thread as "hidden by moderation: <reason>" so that everyone sees what was removed and why."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="comments")
    proposal = models.ForeignKey(
        Proposal, null=True, blank=True, on_delete=models.CASCADE, related_name="comments"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=40)
    text = models.TextField(_("comment"))
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.VISIBLE
    )
    moderation_reason = models.TextField(_("reason for hiding"), blank=True)
    moderated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment {self.pk}"


class StatementStatus(models.TextChoices):
    ACCEPTED = "accepted", _("accepted")
    REJECTED = "rejected", _("moderated out")


class Statement(models.Model):
    """A short statement participants mark agree / disagree / pass (as in Polis)."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="statements")
    text = models.CharField(_("statement"), max_length=280)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    seed = models.BooleanField(_("written by the organiser"), default=False)
    status = models.CharField(
        max_length=10, choices=StatementStatus.choices, default=StatementStatus.ACCEPTED
    )
    moderation_reason = models.TextField(_("reason for moderating out"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.text


class VoteValue(models.IntegerChoices):
    AGREE = 1, _("agree")
    DISAGREE = -1, _("disagree")
    PASS = 0, _("pass / unsure")


class StatementVote(models.Model):
    """One participant's current vote on a statement; a changed mind replaces it."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    assisted = models.ForeignKey(
        AssistedPerson, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    value = models.SmallIntegerField(choices=VoteValue.choices)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.ONLINE)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("statement vote")
        verbose_name_plural = _("statement votes")
        constraints = [
            models.UniqueConstraint(
                fields=["statement", "user"], condition=Q(user__isnull=False), name="vote_once"
            ),
            models.UniqueConstraint(
                fields=["statement", "assisted"],
                condition=Q(assisted__isnull=False),
                name="vote_once_assisted",
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) ^ Q(assisted__isnull=False),
                name="vote_has_one_voter",
            ),
        ]

    def __str__(self) -> str:
        return f"vote {self.statement_id}"


# --- meetings ---------------------------------------------------------------------------------


class MeetingKind(models.TextChoices):
    OFFLINE = "offline", _("in person")
    ONLINE = "online", _("online")
    HYBRID = "hybrid", _("in person and online")


class MeetingStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("scheduled")
    HELD = "held", _("held")
    CANCELLED = "cancelled", _("cancelled")


class Meeting(models.Model):
    """An offline, online or hybrid meeting (线下议事) on a topic."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="meetings")
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=MeetingKind.choices)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    place = models.CharField(_("place"), max_length=300, blank=True)
    online_url = models.URLField(_("online room"), blank=True)
    agenda = models.TextField(_("agenda"), blank=True)
    capacity = models.PositiveIntegerField(_("places"), null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=MeetingStatus.choices, default=MeetingStatus.SCHEDULED
    )
    attendance = models.PositiveIntegerField(_("people present"), null=True, blank=True)
    minutes = models.TextField(_("minutes"), blank=True)
    cancel_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["starts_at", "id"]

    def __str__(self) -> str:
        return self.title


class Registration(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="registrations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    attended = models.BooleanField(null=True)
    needs = models.CharField(_("help needed to take part"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        constraints = [models.UniqueConstraint(fields=["meeting", "user"], name="register_once")]

    def __str__(self) -> str:
        return f"{self.meeting_id}:{self.user_id}"


class CountMethod(models.TextChoices):
    HANDS = "hands", _("show of hands")
    BALLOTS = "ballots", _("paper ballots")
    VIEWS = "views", _("views gathered")


class MeetingResult(models.Model):
    """A result counted at a meeting and entered by staff: for or against a proposal, agree /
    disagree / pass on a statement, or views gathered. Counted into the topic, marked as such."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="results")
    method = models.CharField(_("how it was counted"), max_length=10, choices=CountMethod.choices)
    proposal = models.ForeignKey(
        Proposal, null=True, blank=True, on_delete=models.CASCADE, related_name="meeting_results"
    )
    statement = models.ForeignKey(
        Statement, null=True, blank=True, on_delete=models.CASCADE, related_name="meeting_results"
    )
    in_favour = models.PositiveIntegerField(_("for / agree"), default=0)
    against = models.PositiveIntegerField(_("against / disagree"), default=0)
    abstain = models.PositiveIntegerField(_("abstain / pass"), default=0)
    note = models.TextField(_("views gathered or note"), blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("meeting result")
        verbose_name_plural = _("meeting results")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"result {self.pk} of meeting {self.meeting_id}"


# --- decision and follow-up ----------------------------------------------------------------------


class OfficialResponse(models.Model):
    """The city's answer to a proposal, with its reasons, public."""

    proposal = models.OneToOneField(Proposal, on_delete=models.CASCADE, related_name="response")
    verdict = models.CharField(_("answer"), max_length=10, choices=ResponseVerdict.choices)
    reasons = models.TextField(_("reasons"))
    unit = models.ForeignKey(Unit, null=True, on_delete=models.PROTECT, related_name="+")
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("official response")
        verbose_name_plural = _("official responses")

    def __str__(self) -> str:
        return f"{self.get_verdict_display()}: {self.proposal_id}"


class ResultStatus(models.TextChoices):
    PLANNED = "planned", _("planned")
    UNDER_WAY = "under_way", _("under way")
    DONE = "done", _("done")
    CANCELLED = "cancelled", _("cancelled")


class Result(models.Model):
    """What the city does (Decidim's "accountability"): an accepted proposal, or a part of one.

    Leaves carry their own progress; a result with children derives its progress as the
    weighted mean of theirs (:meth:`current_progress`), never stored, so it cannot drift.
    """

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="results")
    proposal = models.ForeignKey(
        Proposal, null=True, blank=True, on_delete=models.SET_NULL, related_name="results"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    unit = models.ForeignKey(
        Unit, verbose_name=_("responsible unit"), on_delete=models.PROTECT, related_name="+"
    )
    weight = models.PositiveIntegerField(_("weight"), default=1)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    status = models.CharField(
        max_length=10, choices=ResultStatus.choices, default=ResultStatus.PLANNED
    )
    starts_on = models.DateField(_("starts"), null=True, blank=True)
    ends_on = models.DateField(_("due"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("result")
        verbose_name_plural = _("results")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="progress_at_most_100")
        ]

    def __str__(self) -> str:
        return self.title

    def current_progress(self, _seen: frozenset[int] = frozenset()) -> float:
        """Own progress for a leaf; the weighted mean of the children's for a parent."""
        children = [c for c in self.children.all() if c.pk not in _seen]
        if not children:
            return float(self.progress)
        total = sum(c.weight for c in children)
        if total == 0:
            return 0.0
        seen = _seen | {self.pk}
        return sum(c.weight * c.current_progress(seen) for c in children) / total


class Milestone(models.Model):
    result = models.ForeignKey(Result, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(_("title"), max_length=200)
    due_on = models.DateField(_("due"))
    done_on = models.DateField(_("reached"), null=True, blank=True)

    class Meta:
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return self.title


class ResultUpdate(models.Model):
    """A dated public update on a result's progress."""

    result = models.ForeignKey(Result, on_delete=models.CASCADE, related_name="updates")
    on = models.DateField(_("date"))
    text = models.TextField(_("what happened"))
    progress = models.PositiveSmallIntegerField(_("progress (%)"), null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("result update")
        verbose_name_plural = _("result updates")
        ordering = ["-on", "-id"]

    def __str__(self) -> str:
        return f"update {self.pk}"


class Follow(models.Model):
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="follows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["topic", "user"], name="follow_once")]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.topic_id}"


class NotificationKind(models.TextChoices):
    PHASE = "phase", _("the topic moved to a new phase")
    RESPONSE = "response", _("the city answered a proposal")
    PROGRESS = "progress", _("progress on a result")
    MEETING = "meeting", _("a meeting was scheduled")
    FOLLOW_UP = "follow_up", _("a follow-up topic was opened")


class Notification(models.Model):
    """An in-app notice for a follower; the text is built when shown, in the reader's language."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participation_notices"
    )
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"


class OutcomeRating(models.Model):
    """A resident's rating of how the topic turned out, in its evaluation phase."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="ratings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    score = models.PositiveSmallIntegerField(_("rating"))
    comment = models.TextField(_("comment"), blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("outcome rating")
        verbose_name_plural = _("outcome ratings")
        constraints = [
            models.UniqueConstraint(fields=["topic", "user"], name="rate_outcome_once"),
            models.CheckConstraint(
                condition=Q(score__gte=1) & Q(score__lte=5), name="rating_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.score} for {self.topic_id}"
