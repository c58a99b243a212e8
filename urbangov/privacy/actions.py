"""State changes of the privacy app: the audit log (append, seal, guard), data-sharing
agreements and the exports made under them, open-data publication, retention, and the
rotation of the keys that protect personal data at rest."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connections, models, router, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from urbangov import db
from urbangov.analytics import anonymize, pii
from urbangov.privacy import crypto, formats, guard, registry
from urbangov.privacy.models import (
    GENESIS_HASH,
    AgreementStatus,
    AuditChainLock,
    AuditCheckpoint,
    AuditEvent,
    AuditSeal,
    DataExport,
    ErasedRecord,
    ExportFormat,
    OpenDataRelease,
    RetentionPolicy,
    SharingAgreement,
    chain_hash,
    digest_of,
    iso_utc,
)
from urbangov.privacy.registry import Kind

Actor = User | AnonymousUser | None

SEAL_BATCH = 5000


def actor_user(actor: Actor) -> User | None:
    if actor is None or not actor.is_authenticated:
        return None
    assert isinstance(actor, User)
    return actor


def actor_label(actor: Actor, default: str = "system") -> str:
    user = actor_user(actor)
    return user.get_username() if user is not None else default


def record(
    *,
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    data: dict[str, Any] | None = None,
    purpose: str = "",
    label: str | None = None,
) -> AuditEvent:
    """Append one event to the audit log.

    Called inside the caller's transaction, so the event exists exactly when the change does.
    Appending takes no lock: the chain is sealed later by :func:`seal_audit_log`. ``data``
    must not hold raw personal data — describe the change, do not copy it.
    """
    payload = data or {}
    user = actor_user(actor)
    event = AuditEvent(
        at=timezone.now(),
        actor=user,
        actor_label=label or actor_label(actor),
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        purpose=purpose,
        data=payload,
        digest=digest_of(payload),
    )
    # On every write path of the platform: the lean insert (AuditEvent has no signals).
    db.insert(event)
    return event


def checkpoint_signature(seq: int, head: str, at_iso: str) -> str:
    secret = getattr(settings, "URBANGOV_AUDIT_KEY", "") or None
    return salted_hmac(
        "urbangov.audit.checkpoint", f"{seq}:{head}:{at_iso}", secret=secret, algorithm="sha256"
    ).hexdigest()


def signature_ok(checkpoint: AuditCheckpoint) -> bool:
    expected = checkpoint_signature(checkpoint.seq, checkpoint.hash, iso_utc(checkpoint.at))
    return hmac.compare_digest(expected, checkpoint.signature)


@dataclass(frozen=True)
class SealResult:
    sealed: int
    head_seq: int
    head_hash: str


def seal_audit_log(batch: int = SEAL_BATCH) -> SealResult:
    """Seal every event appended so far into the hash chain, oldest first.

    One sealer at a time: the lock row is taken FOR UPDATE (SQLite serialises writers anyway).
    Safe to run as often as wanted; with nothing to seal it writes nothing.
    """
    total = 0
    while True:
        with transaction.atomic():
            AuditChainLock.objects.get_or_create(id=1)
            AuditChainLock.objects.select_for_update().get(id=1)
            last = AuditSeal.objects.order_by("-seq").first()
            seq = last.seq if last else 0
            head = last.hash if last else GENESIS_HASH
            pending = list(AuditEvent.objects.filter(seal__isnull=True).order_by("id")[:batch])
            if not pending:
                return SealResult(sealed=total, head_seq=seq, head_hash=head)
            now = timezone.now()
            seals = []
            for event in pending:
                seq += 1
                digest = chain_hash(head, seq, event)
                seals.append(
                    AuditSeal(seq=seq, event=event, prev_hash=head, hash=digest, sealed_at=now)
                )
                head = digest
            AuditSeal.objects.bulk_create(seals)
            AuditCheckpoint.objects.create(
                seq=seq,
                hash=head,
                at=now,
                signature=checkpoint_signature(seq, head, iso_utc(now)),
            )
            total += len(pending)


def install_guard(using: str = "default") -> tuple[str, ...]:
    """(Re)install the append-only guard's triggers; returns the tables guarded.

    Only adds protection, so it is safe at any time: after a migration that rebuilt one of the
    log's tables, or when ``urbangov auditlog verify`` reports the guard missing."""
    from django.db import connections

    connection = connections[using]
    vendor = connection.vendor
    if not guard.install_sql(vendor):
        raise NotImplementedError(f"no append-only guard for {vendor} databases")
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for statement in guard.remove_sql(vendor) + guard.install_sql(vendor):
            cursor.execute(statement)
        record(actor=None, action="privacy.auditlog.guard", data={"tables": guard.GUARDED_TABLES})
    return guard.GUARDED_TABLES


# --- refusals --------------------------------------------------------------------------------


class Refused(Exception):
    """A request the privacy rules refuse. The message says why; the refusal is on the log."""


def refuse(
    *, actor: Actor, action: str, reason: str, data: dict[str, Any] | None = None
) -> Refused:
    """Log a refusal (committed on its own, even though the caller then raises) and return
    the exception to raise."""
    with transaction.atomic():
        record(actor=actor, action=action, data={"reason": reason, **(data or {})})
    return Refused(reason)


# --- data-sharing agreements -----------------------------------------------------------------


@dataclass(frozen=True)
class AgreementTerms:
    recipient: str
    legal_basis: str
    purpose: str
    dataset: str
    fields: list[str]
    areas: list[str]
    valid_from: datetime
    valid_until: datetime
    recipient_contact: str = ""
    data_from: datetime | None = None
    data_until: datetime | None = None


def agreement_problems(terms: AgreementTerms) -> dict[str, list[str]]:
    """What is wrong with the terms, by field (empty: nothing)."""
    problems: dict[str, list[str]] = {}

    def bad(name: str, message: str) -> None:
        problems.setdefault(name, []).append(message)

    for name in ("recipient", "legal_basis", "purpose"):
        if not getattr(terms, name).strip():
            bad(name, _("This is required."))
    dataset = registry.get(terms.dataset)
    if dataset is None:
        bad(
            "dataset",
            _("Unknown dataset %(name)r; known: %(known)s.")
            % {"name": terms.dataset, "known": ", ".join(sorted(registry.datasets()))},
        )
    else:
        if not terms.fields:
            bad("fields", _("Name at least one field."))
        unknown = [f for f in terms.fields if f not in dataset.columns]
        if unknown:
            bad(
                "fields",
                _("Unknown fields: %(unknown)s. The fields of %(dataset)s are: %(known)s.")
                % {
                    "unknown": ", ".join(unknown),
                    "dataset": terms.dataset,
                    "known": ", ".join(dataset.columns),
                },
            )
        if len(set(terms.fields)) != len(terms.fields):
            bad("fields", _("A field is named twice."))
        if not terms.areas:
            bad("areas", _("Name at least one area (the city's code for the whole city)."))
        unknown_areas = dataset.unknown_areas(terms.areas)
        if unknown_areas:
            bad("areas", _("Unknown areas: %(codes)s.") % {"codes": ", ".join(unknown_areas)})
    if terms.valid_until <= terms.valid_from:
        bad("valid_until", _("The agreement must end after it starts."))
    if terms.data_from and terms.data_until and terms.data_until <= terms.data_from:
        bad("data_until", _("The period of the data must end after it starts."))
    for name in ("valid_from", "valid_until", "data_from", "data_until"):
        value = getattr(terms, name)
        if value is not None and timezone.is_naive(value):
            bad(name, _("Give a time zone."))
    return problems


def create_agreement(*, actor: Actor, terms: AgreementTerms) -> SharingAgreement:
    """Draft an agreement; it takes effect once another administrator approves it."""
    problems = agreement_problems(terms)
    if problems:
        refuse(
            actor=actor,
            action="privacy.agreement.create.refused",
            reason="; ".join(m for msgs in problems.values() for m in msgs),
        )
        raise ValidationError(problems)
    with transaction.atomic():
        agreement = SharingAgreement.objects.create(
            recipient=terms.recipient.strip(),
            recipient_contact=terms.recipient_contact.strip(),
            legal_basis=terms.legal_basis.strip(),
            purpose=terms.purpose.strip(),
            dataset=terms.dataset,
            fields=list(terms.fields),
            areas=list(terms.areas),
            valid_from=terms.valid_from,
            valid_until=terms.valid_until,
            data_from=terms.data_from,
            data_until=terms.data_until,
            created_by=actor_user(actor),
            created_at=timezone.now(),
        )
        record(
            actor=actor,
            action="privacy.agreement.create",
            obj=agreement,
            data={
                "recipient": agreement.recipient,
                "dataset": agreement.dataset,
                "fields": agreement.fields,
                "areas": agreement.areas,
                "valid_from": iso_utc(agreement.valid_from),
                "valid_until": iso_utc(agreement.valid_until),
            },
        )
    return agreement


def approve_agreement(*, actor: Actor, agreement_id: int) -> SharingAgreement:
    """Approve a draft. Four eyes: the approver is not the administrator who drafted it."""
    user = actor_user(actor)
    with transaction.atomic():
        agreement = SharingAgreement.objects.select_for_update().filter(pk=agreement_id).first()
        if agreement is None:
            raise Refused(_("No agreement %(id)s.") % {"id": agreement_id})
        if agreement.status != AgreementStatus.DRAFT:
            raise Refused(
                _("Agreement %(id)s is %(status)s; only a draft can be approved.")
                % {"id": agreement.pk, "status": agreement.get_status_display()}
            )
        if user is None or user.pk == agreement.created_by_id:
            raise Refused(_("An agreement is approved by another administrator than its author."))
        now = timezone.now()
        SharingAgreement.objects.filter(pk=agreement.pk, status=AgreementStatus.DRAFT).update(
            status=AgreementStatus.APPROVED, approved_by=user, approved_at=now
        )
        agreement.refresh_from_db()
        record(actor=actor, action="privacy.agreement.approve", obj=agreement, data={})
    return agreement


def revoke_agreement(*, actor: Actor, agreement_id: int, reason: str) -> SharingAgreement:
    """Revoke an agreement: from now on every export under it is refused."""
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why the agreement is revoked.")]})
    with transaction.atomic():
        agreement = SharingAgreement.objects.select_for_update().filter(pk=agreement_id).first()
        if agreement is None:
            raise Refused(_("No agreement %(id)s.") % {"id": agreement_id})
        if agreement.status == AgreementStatus.REVOKED:
            raise Refused(_("Agreement %(id)s is already revoked.") % {"id": agreement.pk})
        SharingAgreement.objects.filter(pk=agreement.pk).exclude(
            status=AgreementStatus.REVOKED
        ).update(
            status=AgreementStatus.REVOKED,
            revoked_by=actor_user(actor),
            revoked_at=timezone.now(),
            revoke_reason=reason.strip(),
        )
        agreement.refresh_from_db()
        record(
            actor=actor,
            action="privacy.agreement.revoke",
            obj=agreement,
            data={"reason": agreement.revoke_reason},
        )
    return agreement


# --- exports of case-level data --------------------------------------------------------------


@dataclass(frozen=True)
class ExportResult:
    export: DataExport
    content: bytes


def _export_refused(actor: Actor, reason: str, agreement_id: int | None) -> Refused:
    return refuse(
        actor=actor,
        action="privacy.export.refused",
        reason=reason,
        data={"agreement": agreement_id},
    )


def export_data(
    *, actor: Actor, agreement_id: int | None, fmt: str, now: datetime | None = None
) -> ExportResult:
    """Export the rows an agreement covers, with only its fields, free text redacted.

    Refused (and the refusal logged) without an agreement, or when it is unknown, not
    approved, not yet or no longer in force, revoked, or names a field its dataset no longer
    has. The export is logged with the SHA-256 of the exact bytes returned."""
    now = now or timezone.now()
    if agreement_id is None:
        raise _export_refused(
            actor,
            _("Case-level data leaves only under a data-sharing agreement: name one."),
            None,
        )
    if fmt not in ExportFormat.values:
        raise _export_refused(
            actor,
            _("Unknown format %(fmt)r: use csv, json or parquet.") % {"fmt": fmt},
            agreement_id,
        )
    agreement = SharingAgreement.objects.filter(pk=agreement_id).first()
    if agreement is None:
        raise _export_refused(actor, _("No agreement %(id)s.") % {"id": agreement_id}, None)
    why = agreement.refusal(now)
    if why:
        raise _export_refused(
            actor,
            _("No export under agreement %(id)s: %(why)s.") % {"id": agreement.pk, "why": why},
            agreement.pk,
        )
    dataset = registry.get(agreement.dataset)
    unknown = (
        list(agreement.fields)
        if dataset is None
        else [f for f in agreement.fields if f not in dataset.columns]
    )
    if dataset is None or unknown:
        raise _export_refused(
            actor,
            _("Agreement %(id)s names fields that do not exist: %(fields)s.")
            % {"id": agreement.pk, "fields": ", ".join(unknown)},
            agreement.pk,
        )
    columns = list(agreement.fields)
    text = [c for c in columns if dataset.columns[c].kind == Kind.TEXT]
    rows = []
    for row in dataset.rows(
        columns=columns,
        areas=agreement.areas,
        since=agreement.data_from,
        until=agreement.data_until,
    ):
        for c in text:
            if row[c]:
                row[c] = pii.redact(row[c])
        rows.append(row)
    content = formats.render(fmt, columns, rows)
    digest = hashlib.sha256(content).hexdigest()
    with transaction.atomic():
        export = DataExport.objects.create(
            agreement=agreement,
            actor=actor_user(actor),
            actor_label=actor_label(actor),
            at=now,
            format=fmt,
            fields=columns,
            rows=len(rows),
            size=len(content),
            digest=digest,
        )
        record(
            actor=actor,
            action="privacy.export",
            obj=export,
            purpose=agreement.purpose[:200],
            data={
                "agreement": agreement.pk,
                "recipient": agreement.recipient,
                "format": fmt,
                "fields": columns,
                "rows": len(rows),
                "bytes": len(content),
                "sha256": digest,
            },
        )
    return ExportResult(export=export, content=content)


# --- open data -------------------------------------------------------------------------------


def _noise_key() -> bytes:
    return os.environ.get("URBANGOV_OPEN_DATA_KEY", "").encode() or crypto.derived_key("opendata")


def _table(
    dataset: registry.Dataset,
    level: registry.Level,
    cells: list[anonymize.Cell],
    epsilon: float | None,
    names: tuple[dict[str, str], dict[str, str]],
) -> list[dict[str, Any]]:
    area_names, category_names = names
    key = _noise_key()
    table = []
    for cell in cells:
        category, month = cast(tuple[str, str], cell.group)
        cases: int | None = None
        if not cell.suppressed:
            cases = cell.count
            if epsilon is not None:
                label = f"{dataset.name}|{level.name}|{'/'.join(cell.path)}|{category}|{month}"
                cases = anonymize.noisy(cell.count, epsilon, key=key, label=label)
        code = cell.path[-1]
        table.append(
            {
                "area": code,
                "area_name": area_names.get(code, ""),
                "parent_area": cell.path[-2] if len(cell.path) > 1 else "",
                "category": category,
                "category_name": category_names.get(category, ""),
                "month": month,
                "cases": cases,
            }
        )
    return table


OPEN_DATA_COLUMNS = [
    "area",
    "area_name",
    "parent_area",
    "category",
    "category_name",
    "month",
    "cases",
]


def publish_open_data(
    *,
    actor: Actor = None,
    k: int | None = None,
    epsilon: float | None = None,
    now: datetime | None = None,
) -> list[OpenDataRelease]:
    """Publish every dataset's counts by area level, category and month, protected
    (:mod:`urbangov.analytics.anonymize`): cells under ``k`` and what subtraction would reveal
    suppressed, noise of ``epsilon`` added to the counts when given. Counts rows created
    before today (the city's time zone). Idempotent: when nothing changed since the last
    publication, nothing is written and that publication is returned."""
    k = settings.URBANGOV["OPEN_DATA_K"] if k is None else k
    if epsilon is None:
        epsilon = settings.URBANGOV["OPEN_DATA_EPSILON"]
    if k < 1:
        raise ValueError("k must be at least 1")
    if epsilon is not None:
        anonymize.geometric_alpha(epsilon)  # refuses zero, negative and infinite epsilon
    now = now or timezone.now()
    until = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    out: list[OpenDataRelease] = []
    for dataset in registry.datasets().values():
        if not dataset.levels:
            continue
        depth = max(level.depth for level in dataset.levels)
        leaves = [
            (leaf.path, (leaf.category, leaf.month), leaf.count)
            for leaf in dataset.leaves(until=until)
        ]
        cells = anonymize.protect(leaves, k=k, depth=depth)
        names = dataset.names()
        tables = {
            level.name: _table(
                dataset, level, anonymize.published(cells, level.depth), epsilon, names
            )
            for level in dataset.levels
        }
        digests = {name: digest_of(table) for name, table in tables.items()}
        latest = OpenDataRelease.objects.filter(dataset=dataset.name).first()
        if latest is not None:
            previous = list(
                OpenDataRelease.objects.filter(batch=latest.batch, dataset=dataset.name).order_by(
                    "id"
                )
            )
            if {r.level: r.digest for r in previous} == digests and all(
                r.k == k and r.epsilon == epsilon for r in previous
            ):
                out += previous
                continue
        batch = now.strftime("%Y%m%dT%H%M%S%f")
        with transaction.atomic():
            releases = [
                OpenDataRelease.objects.create(
                    batch=batch,
                    dataset=dataset.name,
                    level=name,
                    published_at=now,
                    data_until=until,
                    k=k,
                    epsilon=epsilon,
                    table=table,
                    cells=len(table),
                    suppressed=sum(1 for row in table if row["cases"] is None),
                    digest=digests[name],
                )
                for name, table in tables.items()
            ]
            record(
                actor=actor,
                action="privacy.opendata.publish",
                data={
                    "dataset": dataset.name,
                    "batch": batch,
                    "k": k,
                    "epsilon": epsilon,
                    "sha256": digests,
                },
            )
        out += releases
    return out


def publish_open_data_job() -> None:
    """The worker's periodic publication (settings.PERIODIC_JOBS)."""
    publish_open_data()


# --- retention -------------------------------------------------------------------------------


def set_retention(*, actor: Actor, dataset: str, category: str, days: int) -> RetentionPolicy:
    """Keep the personal data of ``dataset``'s rows of ``category`` (empty: the default) for
    ``days`` after they are finished."""
    found = registry.get(dataset)
    if found is None:
        raise ValidationError({"dataset": [_("Unknown dataset %(name)r.") % {"name": dataset}]})
    if category and category not in found.categories():
        raise ValidationError({"category": [_("Unknown category %(code)r.") % {"code": category}]})
    if days < 1:
        raise ValidationError({"days": [_("Keep personal data at least one day.")]})
    with transaction.atomic():
        policy, _created = RetentionPolicy.objects.update_or_create(
            dataset=dataset, category=category, defaults={"days": days}
        )
        record(
            actor=actor,
            action="privacy.retention.set",
            obj=policy,
            data={"dataset": dataset, "category": category, "days": days},
        )
    return policy


def retention_days(dataset: registry.Dataset) -> dict[str, int]:
    """Days of retention for every category of ``dataset`` ("" for the default): its own
    policy, else its parent's, else the default."""
    policies = dict(
        RetentionPolicy.objects.filter(dataset=dataset.name).values_list("category", "days")
    )
    default = policies.get("", settings.URBANGOV["RETENTION_DAYS"])
    days = {"": default}
    for code, parent in dataset.categories().items():
        days[code] = policies.get(code, policies.get(parent or "", default))
    return days


@dataclass(frozen=True)
class RetentionReport:
    dataset: str
    anonymised: int
    dry_run: bool


RETENTION_BATCH = 500


def apply_retention(
    *, actor: Actor, dataset: str = "cases", now: datetime | None = None, dry_run: bool = False
) -> RetentionReport:
    """Anonymise the personal data of every finished row past its category's retention, in
    batches (each one transaction with its audit event); says how many. Rows anonymised
    once are not counted again."""
    found = registry.get(dataset)
    if found is None:
        raise ValidationError({"dataset": [_("Unknown dataset %(name)r.") % {"name": dataset}]})
    now = now or timezone.now()
    erased = ErasedRecord.objects.filter(dataset=dataset).values("object_pk")
    pending = (
        found.expired(days_by_category=retention_days(found), now=now)
        .exclude(pk__in=erased)
        .order_by("pk")
    )
    if dry_run:
        return RetentionReport(dataset=dataset, anonymised=pending.count(), dry_run=True)
    total = 0
    while True:
        ids = list(pending.values_list("pk", flat=True)[:RETENTION_BATCH])
        if not ids:
            return RetentionReport(dataset=dataset, anonymised=total, dry_run=False)
        with transaction.atomic():
            changed = found.anonymise(ids)
            ErasedRecord.objects.bulk_create(
                [ErasedRecord(dataset=dataset, object_pk=pk, at=now) for pk in ids]
            )
            record(
                actor=actor,
                action="privacy.retention.apply",
                data={"dataset": dataset, "anonymised": changed, "ids": ids},
            )
        total += changed


# --- encryption keys -------------------------------------------------------------------------


@dataclass(frozen=True)
class RotationReport:
    reencrypted: dict[str, int]
    rehashed: dict[str, int]
    key_fingerprint: str


def _encrypted_columns() -> list[tuple[type[models.Model], list[str]]]:
    from urbangov.privacy.fields import EncryptedTextField

    found = []
    for model in apps.get_models():
        columns = [
            f.column for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)
        ]
        if columns and not model._meta.proxy:
            found.append((model, columns))
    return found


def _raw_rows(
    model: type[models.Model], columns: list[str], after: Any, limit: int
) -> list[tuple[Any, ...]]:
    connection = connections[router.db_for_read(model)]
    quote = connection.ops.quote_name
    pk = quote(model._meta.pk.column)
    cols = ", ".join(quote(c) for c in columns)
    # Names come from our own models, quoted; the values are parameters.
    sql = f"SELECT {pk}, {cols} FROM {quote(model._meta.db_table)}"  # noqa: S608
    if after is not None:
        sql += f" WHERE {pk} > %s"
    sql += f" ORDER BY {pk} LIMIT {int(limit)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [after] if after is not None else [])
        return list(cursor.fetchall())


def _walk(model: type[models.Model], columns: list[str], chunk: int = 2000) -> Any:
    after = None
    while True:
        rows = _raw_rows(model, columns, after, chunk)
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def key_usage() -> dict[str, list[int]]:
    """For every encrypted column ("table.column"), how many stored values each configured key
    opens (index 0: the newest), and last, how many no key opens."""
    keys = crypto.configured_keys()
    usage: dict[str, list[int]] = {}
    for model, columns in _encrypted_columns():
        counts = {c: [0] * (len(keys) + 1) for c in columns}
        for rows in _walk(model, columns):
            for row in rows:
                for column, token in zip(columns, row[1:], strict=True):
                    if token:
                        index = crypto.key_index(token)
                        counts[column][len(keys) if index is None else index] += 1
        for column in columns:
            usage[f"{model._meta.db_table}.{column}"] = counts[column]
    return usage


def rotate_keys(*, actor: Actor) -> RotationReport:
    """Encrypt every stored personal value again under the newest key
    (``URBANGOV_ENCRYPTION_KEYS``' first), then recompute every declared keyed hash under the
    current ``URBANGOV_LOOKUP_KEY``.

    First reads everything: if a key is not a Fernet key, or any value cannot be opened by the
    configured keys, it refuses (logged) and writes nothing. Then rewrites in batches, each
    its own transaction; it only rewrites values not already under the newest key, so a run
    that stopped half-way is finished by running it again."""
    try:
        keys = crypto.configured_keys()
        problems = crypto.key_problems(keys)
    except ImproperlyConfigured as exc:
        problems = [str(exc)]
        keys = []
    if problems:
        raise refuse(actor=actor, action="privacy.keys.rotate.refused", reason="; ".join(problems))
    unreadable = {name: counts[-1] for name, counts in key_usage().items() if counts[-1]}
    if unreadable:
        detail = ", ".join(f"{name}: {n}" for name, n in sorted(unreadable.items()))
        raise refuse(
            actor=actor,
            action="privacy.keys.rotate.refused",
            reason=str(
                _(
                    "Stored values that none of the configured keys opens (%(detail)s): add the "
                    "key they were encrypted with to URBANGOV_ENCRYPTION_KEYS. Nothing was changed."
                )
                % {"detail": detail}
            ),
        )
    newest = Fernet(keys[0].encode())
    reencrypted: dict[str, int] = {}
    for model, columns in _encrypted_columns():
        connection = connections[router.db_for_write(model)]
        quote = connection.ops.quote_name
        pk = quote(model._meta.pk.column)
        for column in columns:
            name = f"{model._meta.db_table}.{column}"
            reencrypted[name] = 0
            # Our own model's names, quoted; the values are parameters.
            sql = f"UPDATE {quote(model._meta.db_table)} SET {quote(column)} = %s WHERE {pk} = %s"  # noqa: S608
            for rows in _walk(model, [column]):
                changes = []
                for row_pk, token in rows:
                    if not token:
                        continue
                    try:
                        newest.decrypt(token.encode("ascii"))
                        continue  # already under the newest key
                    except InvalidToken:
                        changes.append((crypto.reencrypt(token), row_pk))
                if changes:
                    with transaction.atomic(), connection.cursor() as cursor:
                        cursor.executemany(sql, changes)
                    reencrypted[name] += len(changes)
    rehashed: dict[str, int] = {}
    for dataset in registry.datasets().values():
        for lookup in dataset.lookups:
            name = f"{lookup.model._meta.db_table}.{lookup.field}"
            rehashed[name] = 0
            manager = lookup.model._default_manager
            rows = manager.order_by("pk").values_list("pk", lookup.source, lookup.field)
            stale = [
                (pk_value, fresh)
                for pk_value, source, current in rows.iterator(chunk_size=2000)
                if (fresh := crypto.keyed_hash(source or "")) != current
            ]
            for start in range(0, len(stale), 2000):
                with transaction.atomic():
                    for pk_value, fresh in stale[start : start + 2000]:
                        manager.filter(pk=pk_value).update(**{lookup.field: fresh})
            rehashed[name] = len(stale)
    fingerprint = hashlib.sha256(keys[0].encode()).hexdigest()[:16]
    with transaction.atomic():
        record(
            actor=actor,
            action="privacy.keys.rotate",
            data={"reencrypted": reencrypted, "rehashed": rehashed, "key": fingerprint},
        )
    return RotationReport(reencrypted=reencrypted, rehashed=rehashed, key_fingerprint=fingerprint)


# --- the second factor -----------------------------------------------------------------------


def enrol_second_factor(*, actor: Actor, key_hex: str) -> TOTPDevice:
    """Give a member of staff a confirmed TOTP device with this secret (the caller has checked
    a code made from it)."""
    user = actor_user(actor)
    if user is None:
        raise ValidationError(_("Only a signed-in user can enrol a second factor."))
    with transaction.atomic():
        device = TOTPDevice.objects.create(
            user=user, name="authenticator", key=key_hex, step=30, digits=6, confirmed=True
        )
        record(actor=actor, action="auth.2fa.enrol", obj=device, data={"device": device.pk})
    return device
