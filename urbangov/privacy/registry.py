"""What each app declares about the personal data it holds (house rule: privacy is declared).

The privacy app owns the policies — data-sharing agreements, exports, open data, retention,
key rotation — but sits below the apps that hold the data, so it never imports them. Each app
instead registers a :class:`Dataset` in a module ``<app>/privacy.py``, found at start-up
(:func:`autodiscover`, as the admin finds ``admin.py``): which columns may leave and which of
them are personal, how to read the rows an agreement covers, how to count them for open data,
how to anonymise them when they pass retention, and which keyed hashes it keeps.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from django.db import models
from django.utils.functional import Promise
from django.utils.module_loading import autodiscover_modules


class Kind(StrEnum):
    # Facts about the request: category, area, dates, status.
    PLAIN = "plain"
    # Identifies a person by itself: a name, a phone number, a home address, a precise point.
    PERSONAL = "personal"
    # Free text written by residents or staff: may hold anything, so it leaves only redacted.
    TEXT = "text"


@dataclass(frozen=True)
class Column:
    label: str | Promise
    kind: Kind = Kind.PLAIN


@dataclass(frozen=True)
class LookupHash:
    """A keyed-hash column kept for exact lookup of an encrypted value: ``field`` holds
    ``keyed_hash(source(row))``."""

    model: type[models.Model]
    field: str
    source: str


@dataclass(frozen=True)
class Leaf:
    """One count for open data: the area as a path of codes below the city (district first),
    a category code, a month ("2026-03")."""

    path: tuple[str, ...]
    category: str
    month: str
    count: int


@dataclass(frozen=True)
class Level:
    name: str
    label: str | Promise
    depth: int  # number of codes in a path at this level


@dataclass(frozen=True)
class RetentionResult:
    anonymised: int
    ids: Sequence[int] = field(default=())


class Dataset(Protocol):
    """What an app declares. ``name`` is what agreements and commands call it."""

    name: str
    title: str | Promise
    object_type: str  # the audit log's object_type for its rows ("cases.case")
    columns: Mapping[str, Column]
    levels: Sequence[Level]  # open-data area levels, top down
    lookups: Sequence[LookupHash]

    def unknown_areas(self, codes: Sequence[str]) -> list[str]:
        """The codes in ``codes`` that name no area."""
        ...

    def rows(
        self,
        *,
        columns: Sequence[str],
        areas: Sequence[str],
        since: datetime | None,
        until: datetime | None,
    ) -> Iterator[dict[str, Any]]:
        """The rows in the areas (codes, each with everything below it) and period, with only
        ``columns``, raw: the caller redacts."""
        ...

    def leaves(self, *, until: datetime) -> Iterator[Leaf]:
        """Counts by finest known area, category and month, of rows created before ``until``."""
        ...

    def names(self) -> tuple[dict[str, str], dict[str, str]]:
        """Display names of areas and categories by code."""
        ...

    def categories(self) -> dict[str, str | None]:
        """Every category code with its parent's code (retention is set per category)."""
        ...

    def expired(
        self, *, days_by_category: Mapping[str, int], now: datetime
    ) -> models.QuerySet[Any]:
        """Finished rows whose category's retention has passed and that are not yet
        anonymised."""
        ...

    def anonymise(self, ids: Sequence[int]) -> int:
        """Erase the personal fields of these rows (keeping what statistics need); returns how
        many rows were changed."""
        ...

    def subjects(self, contact: str) -> list[str]:
        """Ids of the rows about the person with this exact contact (by keyed hash)."""
        ...


_registry: dict[str, Dataset] = {}


def register(dataset: Dataset) -> Dataset:
    _registry[dataset.name] = dataset
    return dataset


def autodiscover() -> None:
    autodiscover_modules("privacy")


def datasets() -> dict[str, Dataset]:
    return dict(_registry)


def get(name: str) -> Dataset | None:
    return _registry.get(name)
