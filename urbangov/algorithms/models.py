"""The city's algorithms and the log of what they decided (算法决策记录).

An :class:`Algorithm` is registered once; each trained or configured form of it is an
:class:`AlgorithmVersion` (with its artefact's hash, what it was trained on and how it
measured), and :class:`Activation` rows say which version ran from when. Every output of an
algorithm about anything — a case, a resident, an area — is a :class:`Decision`, and so is
every human answer to it (accepted, corrected with a reason, overturned on appeal) and the
real outcome learnt later. Decisions are never edited: a correction is a new row that points
to the decision it answers (``refers_to``). Rows are written through
:mod:`urbangov.algorithms.actions` only.

The subject is named as the audit log names objects: ``app_label.model`` and the primary key
as text, so that any model (of any app, above or below this one) can be a subject without a
foreign key to it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """An attempt to edit or delete a row of an append-only log."""


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(f"{self.model._meta.label} rows are never edited; add a new row")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self.model._meta.label} rows are never deleted")


class AppendOnly(models.Model):
    """A model whose rows are written once: saving an existing row or deleting one fails."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{self._meta.label} rows are never edited; add a new row")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self._meta.label} rows are never deleted")


class AlgorithmType(models.TextChoices):
    RULES = "rules", _("rules")
    STATISTICAL = "statistical", _("statistical model")
    OPTIMISATION = "optimisation", _("optimisation")


class Phase(models.TextChoices):
    IDEA = "idea", _("idea")
    PILOT = "pilot", _("pilot")
    PRODUCTION = "production", _("in production")
    RETIRED = "retired", _("retired")


class FilingType(models.TextChoices):
    """算法类型 in China's algorithm filing (互联网信息服务算法备案)."""

    GENERATIVE = "generative", _("generation and synthesis")  # 生成合成类
    PUSH = "push", _("personalised push")  # 个性化推送类
    RANKING = "ranking", _("ranking and selection")  # 排序精选类
    RETRIEVAL = "retrieval", _("retrieval and filtering")  # 检索过滤类
    SCHEDULING = "scheduling", _("scheduling and decision-making")  # 调度决策类
    OTHER = "other", _("other")


class ErrorFocus(models.TextChoices):
    """Which error matters most in a bias audit (Aequitas's fairness tree)."""

    PUNITIVE = "punitive", _("punitive: false positives matter most")
    ASSISTIVE = "assistive", _("assistive: false negatives matter most")
    SELECTION = "selection", _("selection rates")


class Algorithm(models.Model):
    """An algorithm the city runs: what it is for and who answers for it.

    The register's fields cover the UK Algorithmic Transparency Recording Standard (tiers 1
    and 2), the Amsterdam and Helsinki algorithm registers, and China's algorithm filing
    (服务提供者, 服务形式, 应用领域, 算法类型, 自评估报告, 拟公示内容). Changed only through
    :func:`urbangov.algorithms.actions.update_register` and ``set_phase``.
    """

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=150)
    purpose = models.TextField(_("purpose"), blank=True)
    owner = models.ForeignKey(
        "org.Unit",
        verbose_name=_("owner unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Changed only by the activation actions, which log each change as an Activation.
    active_version = models.ForeignKey(
        "AlgorithmVersion",
        verbose_name=_("active version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("registered at"), default=timezone.now)

    # --- the register (登记) ---
    responsible_person = models.CharField(_("responsible person"), max_length=150, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    supplier = models.CharField(
        _("supplier"), max_length=200, blank=True, help_text=_("Empty: built by the city.")
    )
    algorithm_type = models.CharField(
        _("type"), max_length=20, choices=AlgorithmType.choices, default=AlgorithmType.RULES
    )
    decisions_made = models.TextField(_("decisions it makes"), blank=True)
    effect_on_residents = models.TextField(_("effect on residents"), blank=True)
    benefits = models.TextField(_("benefits"), blank=True)
    alternatives_considered = models.TextField(_("alternatives considered"), blank=True)
    risks = models.TextField(_("risks and how they are limited"), blank=True)
    non_discrimination = models.TextField(_("non-discrimination"), blank=True)
    legal_basis = models.TextField(_("legal basis"), blank=True)
    data_sources = models.TextField(_("data sources"), blank=True)
    personal_data = models.BooleanField(_("uses personal data"), default=False)
    sensitive_data = models.BooleanField(_("uses sensitive personal data"), default=False)
    human_oversight = models.TextField(_("human oversight"), blank=True)
    how_to_appeal = models.TextField(_("how to appeal"), blank=True)
    phase = models.CharField(_("phase"), max_length=12, choices=Phase.choices, default=Phase.IDEA)
    error_focus = models.CharField(
        _("error that matters most"),
        max_length=12,
        choices=ErrorFocus.choices,
        default=ErrorFocus.SELECTION,
    )
    # China's filing (算法备案).
    service_provider = models.CharField(_("service provider"), max_length=200, blank=True)
    service_form = models.CharField(_("service form"), max_length=200, blank=True)
    application_domain = models.CharField(_("application domain"), max_length=200, blank=True)
    filing_type = models.CharField(
        _("filing type"), max_length=12, choices=FilingType.choices, blank=True
    )
    self_assessment = models.TextField(_("self-assessment report"), blank=True)
    public_notice = models.TextField(_("content to be made public"), blank=True)
    filing_number = models.CharField(_("filing number"), max_length=80, blank=True)
    website = models.URLField(_("more information"), blank=True)
    # The register's plain-language text per language:
    # {"en": {"summary": …, "effect": …, "appeal": …}, "zh-hans": {…}, "zh-hant": {…}}.
    plain_language = models.JSONField(_("plain-language text"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("register updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("algorithm")
        verbose_name_plural = _("algorithms")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def plain(self, language: str) -> dict[str, str]:
        """The plain-language summary, effect and appeal route in ``language`` (falling back
        to the register's own fields)."""
        told = self.plain_language.get(language.lower()) or {}
        return {
            "summary": told.get("summary") or self.purpose,
            "effect": told.get("effect") or self.effect_on_residents,
            "appeal": told.get("appeal") or self.how_to_appeal,
        }


class AlgorithmVersion(AppendOnly):
    """One form of an algorithm: a trained model or a configuration, with its evidence."""

    algorithm = models.ForeignKey(
        Algorithm, on_delete=models.PROTECT, related_name="versions", verbose_name=_("algorithm")
    )
    version = models.CharField(_("version"), max_length=40)
    created_at = models.DateTimeField(_("registered at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_label = models.CharField(max_length=150, blank=True)
    artefact_sha256 = models.CharField(_("SHA-256 of the artefact"), max_length=64, blank=True)
    artefact_format = models.CharField(_("artefact format"), max_length=60, blank=True)
    artefact_size = models.PositiveBigIntegerField(_("artefact size in bytes"), default=0)
    # What it learnt from: how many examples, from when to when, per label, from where.
    trained_on = models.JSONField(_("trained on"), default=dict, blank=True)
    # How it measured, and against what.
    metrics = models.JSONField(_("evaluation"), default=dict, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("algorithm version")
        verbose_name_plural = _("algorithm versions")
        ordering = ["algorithm", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["algorithm", "version"], name="algorithm_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.algorithm.code} {self.version}"


class Artefact(AppendOnly):
    """The bytes of a version's trained model, kept in the database so that every web node
    and worker reads the same model without a shared file system."""

    version = models.OneToOneField(
        AlgorithmVersion, primary_key=True, on_delete=models.PROTECT, related_name="artefact"
    )
    data = models.BinaryField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("artefact")
        verbose_name_plural = _("artefacts")

    def __str__(self) -> str:
        return f"{self.version} ({len(self.data or b'')} bytes)"


class Activation(AppendOnly):
    """A version put into service (or back into service: a rollback), by whom and why."""

    algorithm = models.ForeignKey(Algorithm, on_delete=models.PROTECT, related_name="activations")
    version = models.ForeignKey(AlgorithmVersion, on_delete=models.PROTECT, related_name="+")
    previous = models.ForeignKey(
        AlgorithmVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rollback = models.BooleanField(default=False)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    reason = models.TextField(blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("activation")
        verbose_name_plural = _("activations")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.version} @ {self.at:%Y-%m-%d %H:%M}"


class Kind(models.TextChoices):
    ALGORITHM = "algorithm", _("algorithm's decision")
    HUMAN = "human", _("human decision")
    OUTCOME = "outcome", _("real outcome")


class Mode(models.TextChoices):
    AUTOMATIC = "automatic", _("automatic")  # the algorithm's output took effect by itself
    SUGGESTION = "suggestion", _("suggestion")  # a person decides


class Verdict(models.TextChoices):
    ACCEPTED = "accepted", _("accepted")
    # One of the other options the algorithm offered.
    ALTERNATIVE = "alternative", _("chose another suggestion")
    CORRECTED = "corrected", _("corrected")
    OVERTURNED = "overturned", _("overturned on appeal")
    CONFIRMED = "confirmed", _("confirmed on appeal")


class DecisionQuerySet(AppendOnlyQuerySet):
    def about(self, obj: models.Model) -> DecisionQuerySet:
        return self.filter(subject_type=obj._meta.label_lower, subject_id=str(obj.pk))


class Decision(AppendOnly):
    """One decision about one subject: the algorithm's (with its version, inputs digest,
    output, alternatives, confidence and explanation), a person's answer to it, or the real
    outcome. Never edited: later rows point to earlier ones through ``refers_to``."""

    algorithm = models.ForeignKey(
        Algorithm, on_delete=models.PROTECT, related_name="decisions", verbose_name=_("algorithm")
    )
    version = models.ForeignKey(
        AlgorithmVersion,
        verbose_name=_("version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decisions",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    subject_type = models.CharField(_("subject type"), max_length=80)
    subject_id = models.CharField(_("subject id"), max_length=64)
    refers_to = models.ForeignKey(
        "self",
        verbose_name=_("answers decision"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="follow_ups",
    )
    created_at = models.DateTimeField(_("decided at"), default=timezone.now)
    # SHA-256 of everything the algorithm read (canonical JSON); the inputs themselves may be
    # personal data and are not copied here.
    inputs_digest = models.CharField(_("digest of the inputs"), max_length=64, blank=True)
    # Inputs that are not personal data, for audits by group and place (channel, area …).
    inputs = models.JSONField(_("inputs (not personal)"), default=dict, blank=True)
    output = models.JSONField(_("output"), default=dict)
    # Other outputs considered, best first: [{"output": {...}, "score": 0.12}, …].
    alternatives = models.JSONField(_("alternatives"), default=list, blank=True)
    confidence = models.FloatField(_("confidence"), null=True, blank=True)
    # In plain words, in the platform's default language at the time of the decision.
    explanation = models.TextField(_("explanation"), blank=True)
    # The same, as data, so that it can be told again in the reader's language.
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    mode = models.CharField(_("mode"), max_length=12, choices=Mode.choices, blank=True)
    verdict = models.CharField(_("verdict"), max_length=12, choices=Verdict.choices, blank=True)
    # A person's reason for their decision (required for a correction).
    reason = models.TextField(_("reason"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(_("decided by"), max_length=150)

    objects = DecisionQuerySet.as_manager()

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["subject_type", "subject_id", "created_at"]),
            models.Index(fields=["algorithm", "kind", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.algorithm_id}:{self.kind} {self.subject_type}:{self.subject_id}"

    def is_by_algorithm(self) -> bool:
        return self.kind == Kind.ALGORITHM


# --- impact assessments, reviews, audits, appeals ----------------------------------------------


class ImpactAssessment(AppendOnly):
    """A filled-in impact questionnaire (modelled on Canada's Algorithmic Impact Assessment)
    and its score; the newest one sets the algorithm's impact level. See ``impact.py``."""

    algorithm = models.ForeignKey(
        Algorithm, on_delete=models.PROTECT, related_name="assessments", verbose_name=_("algorithm")
    )
    answers = models.JSONField(_("answers"), default=dict)
    raw_score = models.PositiveIntegerField(_("raw impact score"))
    raw_max = models.PositiveIntegerField(_("highest possible impact score"))
    mitigation_score = models.PositiveIntegerField(_("mitigation score"))
    mitigation_max = models.PositiveIntegerField(_("highest possible mitigation score"))
    score = models.FloatField(_("current score"))
    level = models.PositiveSmallIntegerField(_("impact level"))
    created_at = models.DateTimeField(_("assessed at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(_("assessed by"), max_length=150)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("impact assessment")
        verbose_name_plural = _("impact assessments")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.algorithm.code}: level {self.level_roman}"

    @property
    def level_roman(self) -> str:
        return ("I", "II", "III", "IV")[self.level - 1]


class ReviewOutcome(models.TextChoices):
    APPROVE = "approve", _("approved")
    REQUIRE_CHANGES = "require_changes", _("changes required")
    SUSPEND = "suspend", _("suspended")
    RETIRE = "retire", _("retired")


class Review(AppendOnly):
    """The ethics board's review of an algorithm (and the version then in service)."""

    algorithm = models.ForeignKey(
        Algorithm, on_delete=models.PROTECT, related_name="reviews", verbose_name=_("algorithm")
    )
    version = models.ForeignKey(
        AlgorithmVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(_("outcome"), max_length=16, choices=ReviewOutcome.choices)
    reasons = models.TextField(_("reasons"))
    level = models.PositiveSmallIntegerField(_("impact level at the review"), null=True)
    next_review_due = models.DateTimeField(_("next review due"), null=True, blank=True)
    created_at = models.DateTimeField(_("reviewed at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(_("reviewed by"), max_length=150)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.algorithm.code}: {self.outcome}"


class AppealStatus(models.TextChoices):
    OPEN = "open", _("open")
    DECIDED = "decided", _("decided")


class Appeal(models.Model):
    """A resident's appeal against an algorithm's decision about them. It goes to a person
    who took no part in the decision, with a deadline; its outcome is a :class:`Decision`
    (overturned or confirmed) answering the decision appealed. Changed only through
    :mod:`urbangov.algorithms.actions` (``submit_appeal``, ``decide_appeal``)."""

    decision = models.ForeignKey(
        Decision, on_delete=models.PROTECT, related_name="appeals", verbose_name=_("decision")
    )
    grounds = models.TextField(_("why you disagree"))
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    due_at = models.DateTimeField(_("to be decided by"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=AppealStatus.choices, default=AppealStatus.OPEN
    )
    outcome = models.ForeignKey(
        Decision,
        verbose_name=_("outcome"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ["due_at", "id"]
        constraints = [
            # One open appeal per decision at a time.
            models.UniqueConstraint(
                fields=["decision"],
                condition=models.Q(status="open"),
                name="appeal_one_open_per_decision",
            )
        ]

    def __str__(self) -> str:
        return f"appeal #{self.pk} on decision #{self.decision_id}"

    def overdue(self, now: Any = None) -> bool:
        return self.status == AppealStatus.OPEN and (now or timezone.now()) > self.due_at


class AuditReport(AppendOnly):
    """A bias audit kept as evidence: what was audited, over which window, the result, and
    the SHA-256 of the exact data it was computed from (so it can be recomputed and checked)."""

    algorithm = models.ForeignKey(
        Algorithm,
        on_delete=models.PROTECT,
        related_name="audit_reports",
        verbose_name=_("algorithm"),
    )
    dimension = models.CharField(_("grouped by"), max_length=40)
    period_start = models.DateTimeField(_("from"))
    period_end = models.DateTimeField(_("until"))
    rows = models.PositiveIntegerField(_("decisions audited"))
    snapshot_sha256 = models.CharField(_("SHA-256 of the data snapshot"), max_length=64)
    result = models.JSONField(_("result"), default=dict)
    findings = models.JSONField(_("findings"), default=list)
    created_at = models.DateTimeField(_("audited at"), default=timezone.now)
    actor_label = models.CharField(_("audited by"), max_length=150)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit report")
        verbose_name_plural = _("audit reports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.algorithm.code} by {self.dimension} @ {self.created_at:%Y-%m-%d}"
