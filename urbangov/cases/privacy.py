"""What cases declare to the privacy app (house rule: privacy is declared): which columns of a
case may leave under a data-sharing agreement and which are personal, how cases are counted
for open data, how a case past retention is anonymised, the keyed hash kept for finding a
resident's cases by phone number, and what a reader sees of a case's personal data (raw only
for a role that may and a stated purpose, see :func:`personal_view`). Registered at start-up by
``urbangov.privacy.registry``."""

from __future__ import annotations

import operator
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from urbangov.analytics import pii
from urbangov.cases.models import (
    FINISHED,
    Attachment,
    Case,
    CaseEvent,
    ExtensionRequest,
    Feedback,
)
from urbangov.org.models import Area, Category
from urbangov.privacy import masking
from urbangov.privacy.actions import record
from urbangov.privacy.crypto import keyed_hash
from urbangov.privacy.purpose import Purpose, redact
from urbangov.privacy.registry import Column, Kind, Leaf, Level, LookupHash, register

# column -> (ORM lookup, declaration). The tracking code is never a column: whoever holds it
# may rate, reopen and follow the case.
_COLUMNS: dict[str, tuple[str, Column]] = {
    "id": ("id", Column(_("case number"))),
    "channel": ("channel", Column(_("channel"))),
    "status": ("status", Column(_("status"))),
    "category": ("category__code", Column(_("category"))),
    "category_name": ("category__name", Column(_("category name"))),
    "urgency": ("urgency", Column(_("urgency"))),
    "area": ("area__code", Column(_("area"))),
    "area_name": ("area__name", Column(_("area name"))),
    "unit": ("unit__code", Column(_("handling unit"))),
    "created_at": ("created_at", Column(_("submitted at"))),
    "dispatched_at": ("dispatched_at", Column(_("dispatched at"))),
    "accepted_at": ("accepted_at", Column(_("accepted at"))),
    "resolved_at": ("resolved_at", Column(_("resolved at"))),
    "closed_at": ("closed_at", Column(_("closed at"))),
    "resolve_due": ("resolve_due", Column(_("resolve by"))),
    "reopen_count": ("reopen_count", Column(_("times reopened"))),
    "anonymous": ("anonymous", Column(_("anonymous"))),
    "lat": ("lat", Column(_("latitude"), Kind.PERSONAL)),
    "lon": ("lon", Column(_("longitude"), Kind.PERSONAL)),
    "address": ("address", Column(_("address"), Kind.PERSONAL)),
    "contact_name": ("contact_name", Column(_("contact name"), Kind.PERSONAL)),
    "contact_phone": ("contact_phone", Column(_("contact phone"), Kind.PERSONAL)),
    "title": ("title", Column(_("title"), Kind.TEXT)),
    "text": ("text", Column(_("description"), Kind.TEXT)),
    "resolution": ("resolution", Column(_("reply to the resident"), Kind.TEXT)),
    "reject_reason": ("reject_reason", Column(_("reason for rejection"), Kind.TEXT)),
}

# Decimal places a point keeps after anonymisation: 0.001° is about 100 m, the grid cell is
# kept as well, so maps and hot-spots by area stay right without pointing at a building.
_KEEP_DECIMALS = 3


def _label(value: str, kind: pii.PiiType) -> str:
    """Anonymisation replaces personal data by its kind, not by a readable mask: 张* would
    still carry the surname."""
    return {
        pii.PiiType.PERSON: "[姓名]",
        pii.PiiType.PHONE: "[电话]",
        pii.PiiType.ID_NUMBER: "[证件号]",
        pii.PiiType.BANK_CARD: "[银行卡]",
        pii.PiiType.EMAIL: "[邮箱]",
        pii.PiiType.PLATE: "[车牌]",
        pii.PiiType.ADDRESS: "[地址]",
    }[kind]


def scrub(text: str) -> str:
    return pii.redact(text, masker=_label) if text else text


class CaseData:
    name: str = "cases"
    title: str | Promise = _("Residents' requests")
    object_type: str = "cases.case"
    columns: Mapping[str, Column] = {name: column for name, (_lookup, column) in _COLUMNS.items()}
    levels: Sequence[Level] = (
        Level("district", _("district"), 1),
        Level("street", _("street"), 2),
        Level("community", _("community"), 3),
    )
    lookups: Sequence[LookupHash] = (LookupHash(Case, "contact_lookup", "contact_phone"),)

    def unknown_areas(self, codes: Sequence[str]) -> list[str]:
        found = set(Area.objects.filter(code__in=codes).values_list("code", flat=True))
        return [c for c in codes if c not in found]

    def _in_areas(self, qs: QuerySet[Case], codes: Sequence[str]) -> QuerySet[Case]:
        areas = list(Area.objects.filter(code__in=codes).values_list("path", "parent_id"))
        if any(parent is None for _path, parent in areas):
            return qs  # the whole city, unlocated cases included
        if not areas:
            return qs.none()
        return qs.filter(reduce(operator.or_, (Q(area__path__startswith=p) for p, _ in areas)))

    def rows(
        self,
        *,
        columns: Sequence[str],
        areas: Sequence[str],
        since: datetime | None,
        until: datetime | None,
    ) -> Iterator[dict[str, Any]]:
        qs = self._in_areas(Case.objects.all(), areas)
        if since is not None:
            qs = qs.filter(created_at__gte=since)
        if until is not None:
            qs = qs.filter(created_at__lt=until)
        lookups = [_COLUMNS[c][0] for c in columns]
        for values in qs.order_by("id").values_list(*lookups).iterator(chunk_size=2000):
            yield dict(zip(columns, values, strict=True))

    def leaves(self, *, until: datetime) -> Iterator[Leaf]:
        rows = (
            Case.objects.filter(created_at__lt=until)
            .annotate(month=TruncMonth("created_at"))
            .values(
                "area__path",
                "category__code",
                "category__parent__code",
                "reported_category__code",
                "reported_category__parent__code",
                "month",
            )
            .annotate(n=Count("id"))
            .order_by()
        )
        for row in rows:
            path = tuple(row["area__path"].strip("/").split("/")[1:]) if row["area__path"] else ()
            # The category the city settled on; until dispatch, the one the resident chose.
            category = (
                row["category__parent__code"]
                or row["category__code"]
                or row["reported_category__parent__code"]
                or row["reported_category__code"]
                or ""
            )
            month = timezone.localtime(row["month"]).strftime("%Y-%m")
            yield Leaf(path=path, category=category, month=month, count=row["n"])

    def names(self) -> tuple[dict[str, str], dict[str, str]]:
        areas = dict(Area.objects.values_list("code", "name"))
        categories = {
            code: f"{name} / {name_en}" if name_en else name
            for code, name, name_en in Category.objects.values_list("code", "name", "name_en")
        }
        return areas, categories

    def categories(self) -> dict[str, str | None]:
        return dict(Category.objects.values_list("code", "parent__code"))

    def expired(self, *, days_by_category: Mapping[str, int], now: datetime) -> QuerySet[Case]:
        """Finished cases whose retention, counted from when they were finished (closed,
        resolved, or last changed), has passed. Categories missing from the mapping use its
        ``""`` entry (the default); open cases never expire."""
        finished = Case.objects.filter(status__in=FINISHED).annotate(
            finished=Coalesce("closed_at", "resolved_at", "updated_at")
        )
        default = days_by_category[""]
        clauses = [
            Q(category__code=code, finished__lt=now - timedelta(days=days))
            for code, days in days_by_category.items()
            if code
        ]
        named = [code for code in days_by_category if code]
        clauses.append(
            (Q(category__isnull=True) | ~Q(category__code__in=named))
            & Q(finished__lt=now - timedelta(days=default))
        )
        return finished.filter(reduce(operator.or_, clauses))

    def anonymise(self, ids: Sequence[int]) -> int:
        """Erase what identifies the resident and keep what statistics read (status, dates,
        category, area, unit, channel, urgency, ratings): contact details, the address and
        the resident's account go; the point is rounded to about 100 m; free text (title,
        description, replies, timeline notes, comments, reasons) keeps its words with the
        personal data in it replaced by its kind ([姓名], [电话], [地址] …); photos are
        deleted. Runs inside the caller's transaction."""
        changed = 0
        for case in Case.objects.filter(pk__in=ids).only(
            "title", "text", "resolution", "reject_reason", "lat", "lon"
        ):
            Case.objects.filter(pk=case.pk).update(
                contact_name="",
                contact_phone="",
                contact_lookup="",
                address="",
                submitted_by=None,
                idempotency_key=None,
                attributes={},
                title=scrub(case.title),
                text=scrub(case.text),
                resolution=scrub(case.resolution),
                reject_reason=scrub(case.reject_reason),
                lat=None if case.lat is None else round(case.lat, _KEEP_DECIMALS),
                lon=None if case.lon is None else round(case.lon, _KEEP_DECIMALS),
            )
            changed += 1
        for event in CaseEvent.objects.filter(case_id__in=ids).exclude(note="").only("note"):
            CaseEvent.objects.filter(pk=event.pk).update(note=scrub(event.note))
        for feedback in Feedback.objects.filter(case_id__in=ids).exclude(comment=""):
            Feedback.objects.filter(pk=feedback.pk).update(comment=scrub(feedback.comment))
        for extension in ExtensionRequest.objects.filter(case_id__in=ids):
            ExtensionRequest.objects.filter(pk=extension.pk).update(
                reason=scrub(extension.reason), decision_note=scrub(extension.decision_note)
            )
        files = list(Attachment.objects.filter(case_id__in=ids))
        Attachment.objects.filter(case_id__in=ids).delete()

        def remove_files() -> None:
            for attachment in files:
                attachment.file.delete(save=False)

        transaction.on_commit(remove_files)
        return changed

    def subjects(self, contact: str) -> list[str]:
        lookup = keyed_hash(contact)
        if not lookup:
            return []
        return [
            str(pk)
            for pk in Case.objects.filter(contact_lookup=lookup).values_list("pk", flat=True)
        ]


CASES = register(CaseData())


# --- purpose-bound reading (用途限定) ---------------------------------------------------------


@dataclass(frozen=True)
class PersonalView:
    """A case's personal data as one reader may see it now: raw when the reader's role may
    and a purpose was stated (and the read was logged), otherwise redacted."""

    raw: bool
    # Whether this reader could see the raw data by stating a purpose.
    may: bool
    purpose: str
    contact_name: str
    contact_phone: str
    address: str
    title: str
    text: str
    resolution: str
    reject_reason: str

    @property
    def purpose_label(self) -> str:
        return str(Purpose(self.purpose).label) if self.purpose else ""

    def clean(self, value: str) -> str:
        """Other free text about the case (timeline notes, comments, reasons)."""
        return value if self.raw else redact(value)


def personal_view(
    user: Any, case: Case, stated: Purpose | None, *, via: str, may: bool
) -> PersonalView:
    """What ``user`` sees of ``case``'s personal data, given the purpose they stated.

    ``may`` is the caller's answer from its permissions (the handling unit, the operators
    who call residents back, administrators). A raw read is recorded in the audit log with
    its purpose and where it was made (``via``: "page", "api"), inside the caller's request.
    """
    if may and stated is not None:
        if case.contact_name or case.contact_phone or case.address or case.text:
            record(
                actor=user,
                action="case.contact.read",
                obj=case,
                purpose=stated.value,
                data={"via": via},
            )
        return PersonalView(
            raw=True,
            may=True,
            purpose=stated.value,
            contact_name=case.contact_name,
            contact_phone=case.contact_phone,
            address=case.address,
            title=case.title,
            text=case.text,
            resolution=case.resolution,
            reject_reason=case.reject_reason,
        )
    return PersonalView(
        raw=False,
        may=may,
        purpose="",
        contact_name=masking.mask_name(case.contact_name),
        contact_phone=masking.mask_phone(case.contact_phone),
        address=redact(case.address),
        title=redact(case.title),
        text=redact(case.text),
        resolution=redact(case.resolution),
        reject_reason=redact(case.reject_reason),
    )
