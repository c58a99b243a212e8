"""Import cases from other systems' CSV exports (311, Open311, 12345 hotlines).

Two steps, so that nothing is ever half-imported:

1. :func:`validate` reads the whole file, maps each row through a :class:`Mapping` and checks
   it — dates, status, type and agency, coordinates, duplicates in the file and against
   cases already imported. It writes nothing; a row it cannot take is a :class:`BadRow` with
   its CSV line number (the header is line 1) and every reason.
2. :func:`write` stores the good rows: categories and units the file needs (only when asked
   to create missing ones, through :mod:`urbangov.org.actions`) and the cases with their
   timelines through :func:`urbangov.cases.actions.load_history`, all in one transaction.

The ``import-cases`` command decides whether bad rows abort the import or are skipped.
A mapping is a JSON document (see ``docs/import.md``); ``nyc311``, ``open311`` and
``cn12345`` are built in (``urbangov/cases/mappings``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from urbangov.analytics import tabular
from urbangov.cases.actions import (
    HistoricCase,
    HistoricEvent,
    deadlines_for,
    load_history,
    text_problem,
)
from urbangov.cases.models import Case, Channel, Status
from urbangov.cases.transitions import TRANSITIONS
from urbangov.org import actions as org_actions
from urbangov.org import geo
from urbangov.org.models import Area, Category, Unit, UnitKind, Urgency
from urbangov.privacy.actions import Actor

MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"

# Fields a mapping may name columns for. Only ``created`` is required.
FIELDS = (
    "external_id",
    "created",
    "closed",
    "updated",
    "due",
    "type",
    "type_name",
    "subtype",
    "agency",
    "agency_name",
    "status",
    "lat",
    "lon",
    "point",
    "address",
    "title",
    "description",
    "resolution",
    "channel",
    "contact_name",
    "contact_phone",
)
DATE_FIELDS = ("created", "closed", "updated", "due")
# Date formats tried when a mapping names none: ISO 8601, the US portal and Excel forms, and
# the forms Chinese exports use. Month before day: a day-first city lists its own formats.
DEFAULT_DATE_FORMATS = (
    "iso",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%m/%d/%Y",
    "%Y/%m/%d",
)
# Imported statuses: a case merged as a duplicate needs the case it was merged into, which an
# export does not say, so ``merged`` is not offered.
IMPORT_STATUSES = tuple(s for s in Status.values if s != Status.MERGED)
FINISHED = (Status.RESOLVED, Status.CLOSED, Status.REJECTED)
IN_HANDS = (Status.DISPATCHED, Status.ACCEPTED, Status.RESOLVED, Status.CLOSED)
# A timestamp this far past the clock is an error, not a time-zone slip.
FUTURE_SLACK = timedelta(minutes=10)
SOURCE_MAX = 40
EXTERNAL_ID_MAX = 80
ADDRESS_MAX = 300


class ImportFileError(Exception):
    """The file or the mapping cannot be imported at all (as opposed to a bad row)."""


# --- the mapping ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnSpec:
    """Where a field's value comes from, as the mapping says it.

    - ``"Name"`` (kind ``column``): that column, which the header must have;
    - ``["A", "B"]`` (``alternatives``): the first of these the header has; with none of
      them the file simply lacks the field;
    - ``{"join": [parts], "sep": ", ", "labels": false}``: the non-empty values of the parts
      joined by ``sep`` (with ``labels``, each as "Column: value");
    - ``{"first": [parts]}``: the first non-empty value of the parts.

    Parts of a join or first are names or specs themselves, and may be absent from the
    header as long as one of them is there.
    """

    kind: str
    names: tuple[str, ...] = ()
    parts: tuple[ColumnSpec, ...] = ()
    sep: str = ", "
    labels: bool = False

    def combines(self) -> bool:
        return self.kind in ("join", "first")


Getter = Callable[[list[str]], str]


@dataclass(frozen=True)
class Mapping:
    source: str
    columns: dict[str, ColumnSpec]
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS
    timezone: str = ""
    encoding: str = "auto"
    delimiter: str = "auto"
    status_map: dict[str, str] = field(default_factory=dict)
    channel_map: dict[str, str] = field(default_factory=dict)
    channel_default: str = Channel.OTHER
    categories: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    keep: tuple[str, ...] = ()
    name: str = ""


def builtin_mappings() -> list[str]:
    return sorted(p.stem for p in MAPPINGS_DIR.glob("*.json"))


def _fold(value: str) -> str:
    return " ".join(value.strip().casefold().split())


def _header_key(name: str) -> str:
    """Header names compare without case, spacing, underscores or hyphens."""
    return " ".join(re.sub(r"[\s_\-]+", " ", name.replace("\ufeff", "")).casefold().split())


def _spec(fieldname: str, raw: Any) -> ColumnSpec:
    if isinstance(raw, str) and raw.strip():
        return ColumnSpec("column", (raw,))
    if isinstance(raw, list) and raw and all(isinstance(n, str) and n.strip() for n in raw):
        return ColumnSpec("alternatives", tuple(raw))
    if isinstance(raw, dict) and len({"join", "first"} & set(raw)) == 1:
        kind = "join" if "join" in raw else "first"
        unknown = set(raw) - ({"join", "sep", "labels"} if kind == "join" else {"first"})
        if unknown:
            raise ImportFileError(
                _("columns.%(field)s: unknown keys %(keys)s.")
                % {"field": fieldname, "keys": ", ".join(sorted(unknown))}
            )
        parts = raw[kind]
        if not isinstance(parts, list) or not parts:
            raise ImportFileError(
                _("columns.%(field)s: %(kind)s takes a list.") % {"field": fieldname, "kind": kind}
            )
        return ColumnSpec(
            kind,
            parts=tuple(_spec(fieldname, p) for p in parts),
            sep=str(raw.get("sep", ", ")),
            labels=bool(raw.get("labels", False)),
        )
    raise ImportFileError(
        _(
            "columns.%(field)s must be a column name, a list of alternative names, "
            '{"join": [...], "sep": ", "} or {"first": [...]}.'
        )
        % {"field": fieldname}
    )


def _str_map(doc: dict[str, Any], key: str) -> dict[str, str]:
    raw = doc.get(key, {})
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise ImportFileError(_("%(key)s must map strings to strings.") % {"key": key})
    return {_fold(k): v for k, v in raw.items()}


def parse_mapping(doc: Any, *, name: str = "") -> Mapping:
    """A Mapping from its JSON document; ImportFileError says what is wrong with it."""
    if not isinstance(doc, dict):
        raise ImportFileError(_("A mapping is a JSON object."))
    known = {
        "source",
        "description",
        "columns",
        "date_formats",
        "timezone",
        "encoding",
        "delimiter",
        "status_map",
        "channel_map",
        "channel_default",
        "categories",
        "units",
        "keep",
    }
    unknown = set(doc) - known
    if unknown:
        raise ImportFileError(
            _("Unknown keys in the mapping: %(keys)s.") % {"keys": ", ".join(sorted(unknown))}
        )
    source = doc.get("source")
    if not isinstance(source, str) or not source.strip() or len(source) > SOURCE_MAX:
        raise ImportFileError(
            _("The mapping needs a 'source' name of 1 to %(max)d characters.") % {"max": SOURCE_MAX}
        )
    columns_doc = doc.get("columns")
    if not isinstance(columns_doc, dict):
        raise ImportFileError(_("The mapping needs a 'columns' object."))
    bad_fields = set(columns_doc) - set(FIELDS)
    if bad_fields:
        raise ImportFileError(
            _("Unknown fields in columns: %(fields)s (known: %(known)s).")
            % {"fields": ", ".join(sorted(bad_fields)), "known": ", ".join(FIELDS)}
        )
    columns = {k: _spec(k, v) for k, v in columns_doc.items() if v is not None}
    if "created" not in columns:
        raise ImportFileError(
            _("The mapping must name the column of the created time (columns.created).")
        )
    for single in (
        *DATE_FIELDS,
        "external_id",
        "type",
        "agency",
        "status",
        "lat",
        "lon",
        "point",
        "channel",
    ):
        if single in columns and columns[single].kind == "join":
            raise ImportFileError(_("columns.%(field)s cannot join columns.") % {"field": single})
    formats = doc.get("date_formats", list(DEFAULT_DATE_FORMATS))
    if (
        not isinstance(formats, list)
        or not formats
        or not all(isinstance(f, str) and f for f in formats)
    ):
        raise ImportFileError(_("date_formats is a non-empty list of strptime formats or 'iso'."))
    tz_name = doc.get("timezone", "")
    if not isinstance(tz_name, str):
        raise ImportFileError(_("timezone is a time-zone name such as 'America/New_York'."))
    if tz_name:
        _zone(tz_name)
    status_map = _str_map(doc, "status_map")
    for value, status in status_map.items():
        if status not in IMPORT_STATUSES:
            raise ImportFileError(
                _("status_map sends %(value)r to %(status)r; statuses are %(known)s.")
                % {"value": value, "status": status, "known": ", ".join(IMPORT_STATUSES)}
            )
    channel_map = _str_map(doc, "channel_map")
    channel_default = doc.get("channel_default", Channel.OTHER)
    for value, channel in [*channel_map.items(), ("channel_default", channel_default)]:
        if channel not in Channel.values:
            raise ImportFileError(
                _("channel_map sends %(value)r to %(channel)r; channels are %(known)s.")
                % {"value": value, "channel": channel, "known": ", ".join(Channel.values)}
            )
    keep = doc.get("keep", [])
    if not isinstance(keep, list) or not all(isinstance(k, str) for k in keep):
        raise ImportFileError(_("keep is a list of column names."))
    encoding = doc.get("encoding", "auto")
    delimiter = doc.get("delimiter", "auto")
    if not isinstance(encoding, str) or not isinstance(delimiter, str):
        raise ImportFileError(_("encoding and delimiter are strings."))
    if delimiter != "auto" and len(delimiter) != 1:
        raise ImportFileError(_("delimiter is one character, or 'auto'."))
    return Mapping(
        source=source.strip(),
        columns=columns,
        date_formats=tuple(formats),
        timezone=tz_name,
        encoding=encoding,
        delimiter=delimiter,
        status_map=status_map,
        channel_map=channel_map,
        channel_default=channel_default,
        categories=_str_map(doc, "categories"),
        units=_str_map(doc, "units"),
        keep=tuple(keep),
        name=name,
    )


def load_mapping(name_or_path: str) -> Mapping:
    """A built-in mapping by name, or a JSON mapping file by path."""
    path = Path(name_or_path)
    if name_or_path in builtin_mappings():
        path = MAPPINGS_DIR / f"{name_or_path}.json"
    elif not path.is_file():
        raise ImportFileError(
            _(
                "No mapping %(name)r: give a built-in name (%(builtin)s) or the path of a JSON mapping file."
            )
            % {"name": name_or_path, "builtin": ", ".join(builtin_mappings())}
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError(
            _("Cannot read the mapping %(path)s: %(error)s") % {"path": path, "error": exc}
        ) from exc
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            _("The mapping %(path)s is not valid JSON: %(error)s") % {"path": path, "error": exc}
        ) from exc
    try:
        return parse_mapping(doc, name=path.stem)
    except ImportFileError as exc:
        raise ImportFileError(f"{path}: {exc}") from exc


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImportFileError(_("Unknown time zone %(name)r.") % {"name": name}) from None


# --- reading the file ----------------------------------------------------------------------


def decode(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    """The file's text and the encoding it was read with (:func:`tabular.decode`'s rules:
    a byte-order mark, else UTF-8, then GB18030, then Windows-1252)."""
    try:
        return tabular.decode(data, encoding)
    except tabular.DecodeError as exc:
        raise ImportFileError(
            _("The file is not valid %(codec)s (line %(line)d, byte %(byte)d).")
            % {"codec": exc.codec, "line": exc.line, "byte": exc.byte}
        ) from None
    except tabular.UnknownEncoding as exc:
        raise ImportFileError(_("Unknown encoding %(codec)r.") % {"codec": exc.codec}) from None


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, fields) of each CSV record with something in it."""
    try:
        for line, fields in tabular.records(text, delimiter):
            if any(f.strip() for f in fields):
                yield line, fields
    except tabular.BadRecord as exc:
        raise ImportFileError(
            _("line %(line)d: the CSV cannot be read: %(error)s")
            % {"line": exc.line, "error": exc.error}
        ) from None


# --- values --------------------------------------------------------------------------------


class BadValue(Exception):
    pass


def parse_time(value: str, formats: Sequence[str], zone: tzinfo) -> datetime:
    """An aware datetime from ``value`` in the first format that fits.

    A value that fits a format's shape but names no real moment (2/30/2019, 25:00) is
    "impossible"; one that fits no format is "not a date in the known formats".
    """
    impossible: str | None = None
    for fmt in formats:
        try:
            if fmt == "iso":
                parsed = datetime.fromisoformat(
                    value.replace("Z", "+00:00") if value.endswith("Z") else value
                )
            else:
                parsed = datetime.strptime(value, fmt)  # noqa: DTZ007 - made aware below
        except ValueError as exc:
            message = str(exc)
            if not (
                "does not match format" in message
                or "unconverted data remains" in message
                or "Invalid isoformat string" in message
            ):
                impossible = message
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        return parsed
    if impossible is not None:
        raise BadValue(
            _("impossible date %(value)r (%(error)s)") % {"value": value, "error": impossible}
        )
    raise BadValue(
        _("%(value)r is not a date in the known formats (%(formats)s)")
        % {"value": value, "formats": ", ".join(formats)}
    )


def parse_number(value: str, what: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise BadValue(
            _("%(what)s %(value)r is not a number") % {"what": what, "value": value}
        ) from None
    if not math.isfinite(number):
        raise BadValue(_("%(what)s %(value)r is not a number") % {"what": what, "value": value})
    return number


_POINT_WKT = re.compile(r"^\s*POINT\s*\(\s*(\S+)\s+(\S+)\s*\)\s*$", re.IGNORECASE)


def parse_point(value: str) -> tuple[float, float]:
    """(lat, lon) from "(lat, lon)", "lat, lon" or WKT "POINT (lon lat)"."""
    wkt = _POINT_WKT.match(value)
    if wkt:
        lon, lat = wkt.group(1), wkt.group(2)
    else:
        parts = value.strip().strip("()[]").split(",")
        if len(parts) != 2:
            raise BadValue(_("location %(value)r is not a point") % {"value": value})
        lat, lon = parts[0].strip(), parts[1].strip()
    return parse_number(lat, _("latitude")), parse_number(lon, _("longitude"))


# --- validated rows and the report ---------------------------------------------------------


@dataclass
class BadRow:
    line: int
    reasons: list[str]
    kind: str = "invalid"  # or "duplicate" (in the file) or "imported" (already in the database)

    def __str__(self) -> str:
        return _("line %(line)d: %(reasons)s") % {
            "line": self.line,
            "reasons": "; ".join(self.reasons),
        }


@dataclass
class Row:
    """One row's data, checked and converted; category and unit are still names here."""

    line: int
    external_id: str
    created: datetime
    status: str
    channel: str
    title: str
    text: str
    closed: datetime | None = None
    updated: datetime | None = None
    due: datetime | None = None
    type_value: str = ""
    agency: str = ""
    lat: float | None = None
    lon: float | None = None
    area_id: int | None = None
    address: str = ""
    resolution: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Planned:
    """A category or unit the file refers to that does not exist yet."""

    code: str
    name: str


@dataclass
class Plan:
    """What :func:`validate` found: rows to write, rows refused, and what would be created."""

    mapping: Mapping
    source: str
    path: str
    encoding: str
    rows_read: int = 0
    good: list[Row] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    warnings: Counter[str] = field(default_factory=Counter)
    warning_lines: dict[str, list[int]] = field(default_factory=dict)
    # type value / agency value -> existing object, or the Planned one to create
    categories: dict[str, Category | Planned] = field(default_factory=dict)
    units: dict[str, Unit | Planned] = field(default_factory=dict)
    written: int = 0
    created_categories: list[str] = field(default_factory=list)
    created_units: list[str] = field(default_factory=list)
    # The column the external ids come from; empty: each row's digest stands in for an id.
    id_column: str = ""
    seconds: float = 0.0

    def warn(self, message: str, line: int) -> None:
        self.warnings[message] += 1
        lines = self.warning_lines.setdefault(message, [])
        if len(lines) < 5:
            lines.append(line)

    def count(self, kind: str) -> int:
        return sum(1 for b in self.bad if b.kind == kind)

    def planned_categories(self) -> list[Planned]:
        """Categories to create: those the good rows need."""
        used = {r.type_value for r in self.good}
        return [p for v, p in self.categories.items() if isinstance(p, Planned) and v in used]

    def planned_units(self) -> list[Planned]:
        used = {r.agency for r in self.good}
        return [p for v, p in self.units.items() if isinstance(p, Planned) and v in used]

    def summary(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "id_column": self.id_column,
            "mapping": self.mapping.name,
            "source": self.source,
            "encoding": self.encoding,
            "rows": self.rows_read,
            "valid": len(self.good),
            "bad": len(self.bad),
            "invalid": self.count("invalid"),
            "duplicate_in_file": self.count("duplicate"),
            "already_imported": self.count("imported"),
            "imported": self.written,
            "categories_created": self.created_categories,
            "units_created": self.created_units,
            # What an import of the good rows would create (a dry run, or an aborted import).
            "categories_to_create": []
            if self.written
            else sorted(p.name for p in self.planned_categories()),
            "units_to_create": [] if self.written else sorted(p.name for p in self.planned_units()),
            "warnings": [
                {"message": m, "rows": n, "first_lines": self.warning_lines[m]}
                for m, n in self.warnings.most_common()
            ],
            "errors": [{"line": b.line, "kind": b.kind, "reasons": b.reasons} for b in self.bad],
            "seconds": round(self.seconds, 2),
        }


Progress = Callable[[str, int], None]


def _no_progress(stage: str, count: int) -> None:
    return None


# --- step 1: validate ----------------------------------------------------------------------


class _Resolver:
    """Type values to categories and agency values to units: the mapping's table first, then
    an existing code, then an existing name; otherwise a Planned one (or unknown)."""

    def __init__(self, plan: Plan, create_missing: bool) -> None:
        self.plan = plan
        self.create_missing = create_missing
        self.cat_by_code = {c.code: c for c in Category.objects.all()}
        self.cat_by_name: dict[str, Category] = {}
        for c in self.cat_by_code.values():
            for name in (c.name, c.name_en):
                if name:
                    self.cat_by_name.setdefault(_fold(name), c)
        self.unit_by_code = {u.code: u for u in Unit.objects.all()}
        self.unit_by_name = {_fold(u.name): u for u in self.unit_by_code.values()}
        self.codes_taken: dict[str, set[str]] = {
            "category": set(self.cat_by_code),
            "unit": set(self.unit_by_code),
        }

    def _new_code(self, kind: str, value: str, keep_case: bool) -> str:
        plain = value.strip()
        if keep_case and re.fullmatch(r"[A-Za-z0-9_.\-]{1,40}", plain):
            code = plain
        else:
            code = slugify(plain)[:40].strip("-")
        taken = self.codes_taken[kind]
        if not code or code in taken:
            digest = hashlib.sha1(plain.encode()).hexdigest()[:8]  # noqa: S324 - a name, not a secret
            code = f"{(code or kind)[:31]}-{digest}"
        taken.add(code)
        return code

    def category(self, value: str, display: str) -> tuple[Category | Planned | None, str | None]:
        """(category or Planned, None) or (None, reason)."""
        if not value:
            return None, None
        known = self.plan.categories.get(value)
        if known is not None:
            return known, None
        mapped = self.plan.mapping.categories.get(_fold(value))
        if mapped is not None:
            cat = self.cat_by_code.get(mapped)
            if cat is None:
                return None, _(
                    "the mapping sends type %(value)r to category %(code)r, which does not exist"
                ) % {"value": value, "code": mapped}
            self.plan.categories[value] = cat
            return cat, None
        found = self.cat_by_code.get(value) or self.cat_by_name.get(_fold(value))
        if found is not None:
            self.plan.categories[value] = found
            return found, None
        if not self.create_missing:
            return None, _(
                "unknown type %(value)r (not in the mapping's categories, no category has that "
                "code or name; --create-missing creates it)"
            ) % {"value": value}
        planned = Planned(
            self._new_code("category", value, keep_case=False), (display or value)[:100]
        )
        self.plan.categories[value] = planned
        return planned, None

    def unit(self, value: str, display: str) -> tuple[Unit | Planned | None, str | None]:
        if not value:
            return None, None
        known = self.plan.units.get(value)
        if known is not None:
            return known, None
        mapped = self.plan.mapping.units.get(_fold(value))
        if mapped is not None:
            unit = self.unit_by_code.get(mapped)
            if unit is None:
                return None, _(
                    "the mapping sends agency %(value)r to unit %(code)r, which does not exist"
                ) % {"value": value, "code": mapped}
            self.plan.units[value] = unit
            return unit, None
        found = self.unit_by_code.get(value) or self.unit_by_name.get(_fold(value))
        if found is not None:
            self.plan.units[value] = found
            return found, None
        if not self.create_missing:
            return None, _(
                "unknown agency %(value)r (not in the mapping's units, no unit has that code or "
                "name; --create-missing creates it)"
            ) % {"value": value}
        planned = Planned(self._new_code("unit", value, keep_case=True), (display or value)[:100])
        self.plan.units[value] = planned
        return planned, None


def _compile(
    spec: ColumnSpec, index: dict[str, int], header: list[str], *, optional: bool
) -> tuple[Getter | None, str]:
    """A function from a record's fields to the value, and a name for messages; None when
    the header lacks the columns (an ImportFileError where they must be there)."""
    if spec.kind in ("column", "alternatives"):
        for name in spec.names:
            i = index.get(_header_key(name))
            if i is not None:
                return (lambda fields, i=i: fields[i].strip()), header[i].strip()
        if spec.kind == "alternatives" or optional:
            return None, ""
        raise ImportFileError(
            _("The header has no column %(name)r. Columns found: %(header)s.")
            % {"name": spec.names[0], "header": ", ".join(repr(h) for h in header)}
        )
    compiled = [(_compile(part, index, header, optional=True), part) for part in spec.parts]
    getters = [(g, name, part.kind == "column") for (g, name), part in compiled if g is not None]
    if not getters:
        if optional:
            return None, ""
        names = [n for part in spec.parts for n in part.names]
        raise ImportFileError(
            _("The header has none of the columns %(names)s. Columns found: %(header)s.")
            % {
                "names": ", ".join(repr(n) for n in names),
                "header": ", ".join(repr(h) for h in header),
            }
        )
    label = " / ".join(name for _g, name, _c in getters)
    if spec.kind == "first":

        def first(fields: list[str]) -> str:
            for getter, _name, _column in getters:
                value = getter(fields)
                if value:
                    return value
            return ""

        return first, label

    def join(fields: list[str]) -> str:
        values = []
        for getter, name, column in getters:
            value = getter(fields)
            if value:
                values.append(f"{name}: {value}" if spec.labels and column else value)
        return spec.sep.join(values)

    return join, label


def _columns(
    mapping: Mapping, header: list[str]
) -> tuple[dict[str, tuple[Getter, str]], dict[str, int]]:
    """A getter and a display name for each mapped field the file has, and the kept columns."""
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(_header_key(name), i)
    found: dict[str, tuple[Getter, str]] = {}
    for name, spec in mapping.columns.items():
        getter, label = _compile(spec, index, header, optional=False)
        if getter is not None:
            found[name] = (getter, label)
        elif name == "created":
            raise ImportFileError(
                _(
                    "The header has none of the columns %(names)s for the created time. Columns found: %(header)s."
                )
                % {
                    "names": ", ".join(repr(n) for n in spec.names),
                    "header": ", ".join(repr(h) for h in header),
                }
            )
    kept = {name: index[_header_key(name)] for name in mapping.keep if _header_key(name) in index}
    return found, kept


class _RowReader:
    """Turns one CSV record into a Row, or the reasons it cannot be one."""

    def __init__(self, plan: Plan, header: list[str], zone: tzinfo, resolver: _Resolver) -> None:
        self.plan = plan
        self.mapping = plan.mapping
        self.header = header
        self.zone = zone
        self.resolver = resolver
        self.cols, self.kept = _columns(plan.mapping, header)
        if "external_id" in self.cols:
            plan.id_column = self.column_name("external_id")
        self.formats = list(plan.mapping.date_formats)
        self.now = timezone.now()
        self.city_has_geometry = geo.has_geometry()
        self.text_max = settings.URBANGOV["CASE_TEXT_MAX"]
        self.title_max = settings.URBANGOV["CASE_TITLE_MAX"]

    def value(self, fields: list[str], name: str) -> str:
        found = self.cols.get(name)
        return found[0](fields) if found is not None else ""

    def column_name(self, name: str) -> str:
        return self.cols[name][1]

    def time(self, fields: list[str], name: str, reasons: list[str]) -> datetime | None:
        raw = self.value(fields, name)
        if not raw:
            return None
        try:
            parsed = parse_time(raw, self.formats, self.zone)
        except BadValue as exc:
            reasons.append(
                _("%(column)s: %(error)s") % {"column": self.column_name(name), "error": exc}
            )
            return None
        if parsed > self.now + FUTURE_SLACK:
            reasons.append(
                _("%(column)s: %(value)r is in the future")
                % {"column": self.column_name(name), "value": raw}
            )
            return None
        return parsed

    def read(self, line: int, fields: list[str]) -> Row | list[str]:
        reasons: list[str] = []
        if len(fields) != len(self.header):
            surplus = fields[len(self.header) :]
            if len(fields) < len(self.header) or any(f.strip() for f in surplus):
                return [
                    _(
                        "the row has %(n)d fields, the header %(h)d (a quote or delimiter out of place?)"
                    )
                    % {"n": len(fields), "h": len(self.header)}
                ]
            fields = fields[: len(self.header)]
        unstorable = [
            self.header[i] for i, f in enumerate(fields) if text_problem(f, len(f)) is not None
        ]
        if unstorable:
            return [
                _("%(columns)s: control characters or invalid characters")
                % {"columns": ", ".join(unstorable)}
            ]
        plan = self.plan
        external_id = self.value(fields, "external_id")
        if "external_id" not in self.cols:
            # No id column: the row's own content identifies it, so a re-import is recognised.
            external_id = "sha1:" + hashlib.sha1("\x1f".join(fields).encode()).hexdigest()[:32]  # noqa: S324
        elif not external_id:
            reasons.append(_("%(column)s: no id") % {"column": self.column_name("external_id")})
        elif len(external_id) > EXTERNAL_ID_MAX:
            reasons.append(_("the id is longer than %(max)d characters") % {"max": EXTERNAL_ID_MAX})

        created = self.time(fields, "created", reasons)
        if created is None and not self.value(fields, "created"):
            reasons.append(
                _("%(column)s: no created time") % {"column": self.column_name("created")}
            )
        closed = self.time(fields, "closed", reasons)
        updated = self.time(fields, "updated", reasons)
        due = self.time(fields, "due", reasons)
        if created is not None and closed is not None and closed < created:
            reasons.append(
                _("closed (%(closed)s) before it was created (%(created)s)")
                % {"closed": self.value(fields, "closed"), "created": self.value(fields, "created")}
            )

        raw_status = self.value(fields, "status")
        status: str | None
        if raw_status:
            status = self.mapping.status_map.get(_fold(raw_status))
            if status is None and raw_status in IMPORT_STATUSES:
                status = raw_status
            if status is None:
                reasons.append(
                    _("unknown status %(value)r (add it to the mapping's status_map)")
                    % {"value": raw_status}
                )
        else:
            status = Status.CLOSED if closed is not None else Status.DISPATCHED

        raw_channel = self.value(fields, "channel")
        channel = self.mapping.channel_map.get(_fold(raw_channel)) if raw_channel else None
        if channel is None and raw_channel in Channel.values:
            channel = raw_channel
        channel = channel or self.mapping.channel_default

        lat = lon = None
        raw_lat, raw_lon = self.value(fields, "lat"), self.value(fields, "lon")
        try:
            if raw_lat or raw_lon:
                if not (raw_lat and raw_lon):
                    raise BadValue(_("latitude and longitude: give both or neither"))
                lat, lon = (
                    parse_number(raw_lat, _("latitude")),
                    parse_number(raw_lon, _("longitude")),
                )
            elif self.value(fields, "point"):
                lat, lon = parse_point(self.value(fields, "point"))
        except BadValue as exc:
            reasons.append(str(exc))
        area_id = None
        if lat is not None and lon is not None:
            if lat == 0 and lon == 0:
                plan.warn(_("(0, 0) read as no location"), line)
                lat = lon = None
            else:
                try:
                    geo.check_point(lat, lon)
                except ValidationError as exc:
                    reasons.append(
                        _("point (%(lat)s, %(lon)s): %(error)s")
                        % {
                            "lat": raw_lat or lat,
                            "lon": raw_lon or lon,
                            "error": " ".join(exc.messages),
                        }
                    )
                else:
                    if self.city_has_geometry:
                        area = geo.locate(lat, lon)
                        area_id = area.pk if area is not None else None

        type_value = self.value(fields, "type")
        _category, why = self.resolver.category(type_value, self.value(fields, "type_name"))
        if why:
            reasons.append(why)
        agency = self.value(fields, "agency")
        unit, why = self.resolver.unit(agency, self.value(fields, "agency_name"))
        if why:
            reasons.append(why)

        subtype = self.value(fields, "subtype")
        title = self.value(fields, "title")
        if not title:
            title = ": ".join(
                v for v in (self.value(fields, "type_name") or type_value, subtype) if v
            )
        if len(title) > self.title_max:
            title = title[: self.title_max - 1] + "…"
        text = self.value(fields, "description") or title
        if not text:
            reasons.append(_("no description, title or type"))
        elif len(text) > self.text_max:
            reasons.append(
                _("the description is %(n)d characters long; at most %(max)d are allowed")
                % {"n": len(text), "max": self.text_max}
            )
        address = self.value(fields, "address")
        if len(address) > ADDRESS_MAX:
            reasons.append(
                _("the address is longer than %(max)d characters") % {"max": ADDRESS_MAX}
            )

        if reasons or created is None or status is None:
            return reasons

        if status in FINISHED:
            if closed is None and updated is not None:
                if updated < created:
                    return [
                        _(
                            "%(status)s without a closed time, and its last update %(updated)s is before it was created"
                        )
                        % {"status": raw_status or status, "updated": self.value(fields, "updated")}
                    ]
                plan.warn(_("finished without a closed time: the last update time is used"), line)
                closed = updated
            if closed is None:
                if status != Status.REJECTED:
                    return [
                        _("status %(status)r needs a closed time, and the row has none")
                        % {"status": raw_status or status}
                    ]
                closed = created
        elif closed is not None:
            plan.warn(_("a closed time on a case whose status is open: the status is kept"), line)
            closed = None
        if status in (Status.DISPATCHED, Status.ACCEPTED) and unit is None:
            plan.warn(
                _("in a unit's hands but no agency given: imported as awaiting dispatch"), line
            )
            status = Status.AWAITING_DISPATCH
        if due is not None and due < created:
            plan.warn(_("a due time before the created time is ignored"), line)
            due = None
        extra = {name: fields[i].strip() for name, i in self.kept.items() if fields[i].strip()}
        if raw_status:
            extra["status"] = raw_status
        if subtype:
            extra["subtype"] = subtype
        if raw_channel:
            extra["channel"] = raw_channel
        return Row(
            line=line,
            external_id=external_id,
            created=created,
            closed=closed,
            updated=updated if updated is not None and updated >= created else None,
            due=due,
            status=status,
            channel=channel,
            title=title,
            text=text,
            type_value=type_value,
            agency=agency,
            lat=lat,
            lon=lon,
            area_id=area_id,
            address=address,
            resolution=self.value(fields, "resolution")[: self.text_max],
            contact_name=self.value(fields, "contact_name")[:100],
            contact_phone=self.value(fields, "contact_phone")[:40],
            extra=extra,
        )


def validate(
    path: str | Path,
    mapping: Mapping,
    *,
    source: str | None = None,
    encoding: str | None = None,
    time_zone: str | None = None,
    create_missing: bool = False,
    progress: Progress = _no_progress,
) -> Plan:
    """Read and check the whole file; write nothing."""
    started = time.monotonic()
    source = (source or mapping.source).strip()
    if not source or len(source) > SOURCE_MAX:
        raise ImportFileError(_("A source name has 1 to %(max)d characters.") % {"max": SOURCE_MAX})
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ImportFileError(
            _("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc.strerror}
        ) from None
    text, used = decode(data, encoding or mapping.encoding)
    del data
    zone = _zone(time_zone or mapping.timezone or settings.TIME_ZONE)
    delimiter = mapping.delimiter if mapping.delimiter != "auto" else tabular.sniff_delimiter(text)
    plan = Plan(mapping=mapping, source=source, path=str(path), encoding=used)
    records = _records(text, delimiter)
    first = next(records, None)
    if first is None:
        raise ImportFileError(_("The file is empty."))
    header = first[1]
    reader = _RowReader(plan, header, zone, _Resolver(plan, create_missing))
    seen: dict[str, int] = {}
    for line, fields in records:
        plan.rows_read += 1
        result = reader.read(line, fields)
        if isinstance(result, list):
            plan.bad.append(BadRow(line, result))
        elif result.external_id in seen:
            plan.bad.append(
                BadRow(
                    line,
                    [
                        _("id %(id)r appears already on line %(first)d")
                        % {"id": result.external_id, "first": seen[result.external_id]}
                    ],
                    kind="duplicate",
                )
            )
        else:
            seen[result.external_id] = line
            plan.good.append(result)
        if plan.rows_read % 1000 == 0:
            progress("validated", plan.rows_read)
    progress("checked", plan.rows_read)
    _check_already_imported(plan)
    plan.seconds = time.monotonic() - started
    return plan


def _check_already_imported(plan: Plan) -> None:
    ids = [r.external_id for r in plan.good]
    existing: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        existing.update(
            Case.objects.filter(
                source=plan.source, external_id__in=ids[start : start + 500]
            ).values_list("external_id", "tracking_code")
        )
    if not existing:
        return
    keep = []
    for row in plan.good:
        code = existing.get(row.external_id)
        if code is None:
            keep.append(row)
        else:
            plan.bad.append(
                BadRow(
                    row.line,
                    [
                        _("id %(id)r is already imported from %(source)s as case %(code)s")
                        % {"id": row.external_id, "source": plan.source, "code": code}
                    ],
                    kind="imported",
                )
            )
    plan.good = keep
    plan.bad.sort(key=lambda b: b.line)


# --- step 2: write -------------------------------------------------------------------------


def _timeline(row: Row, case: Case, label: str, unit_code: str | None) -> list[HistoricEvent]:
    """A plausible history: submitted; queued; dispatched to the unit and accepted when the
    export names one; resolved and closed (or rejected) at the closed time."""

    def event(
        kind: str,
        at: datetime,
        frm: str,
        to: str,
        note: str = "",
        data: dict[str, Any] | None = None,
    ) -> HistoricEvent:
        t = TRANSITIONS.get(kind)
        return HistoricEvent(
            at=at,
            kind=kind,
            from_status=frm,
            to_status=to,
            actor_label=label,
            note=note,
            public=t.public if t else True,
            data=data or {},
        )

    s = Status
    created, status = row.created, case.status
    events = [
        event(
            "submit",
            created,
            "",
            s.SUBMITTED,
            data={"channel": case.channel, "imported_from": label},
        )
    ]
    if status == s.SUBMITTED:
        return events
    events.append(event("triage", created, s.SUBMITTED, s.AWAITING_DISPATCH))
    current: str = s.AWAITING_DISPATCH
    if status == s.REJECTED:
        assert case.closed_at is not None
        events.append(event("reject", case.closed_at, current, s.REJECTED, note=case.reject_reason))
        return events
    if unit_code is not None and status != s.AWAITING_DISPATCH:
        events.append(event("dispatch", created, current, s.DISPATCHED, data={"unit": unit_code}))
        current = s.DISPATCHED
        if status != s.DISPATCHED:
            events.append(event("accept", created, current, s.ACCEPTED))
            current = s.ACCEPTED
    if status in (s.RESOLVED, s.CLOSED):
        assert case.resolved_at is not None
        events.append(event("resolve", case.resolved_at, current, s.RESOLVED, note=case.resolution))
        if status == s.CLOSED:
            events.append(event("close", case.resolved_at, s.RESOLVED, s.CLOSED))
    return events


def _historic(
    row: Row,
    plan: Plan,
    categories: dict[str, Category],
    units: dict[str, Unit],
    areas: dict[int, Area],
    sla: dict[tuple[int | None, str], tuple[timedelta, timedelta]],
) -> HistoricCase:
    category = categories.get(row.type_value)
    unit = units.get(row.agency)
    urgency = category.urgency if category is not None else Urgency.ORDINARY
    status = row.status
    closed = row.closed
    case = Case(
        channel=row.channel,
        title=row.title,
        text=row.text,
        category=category,
        urgency=urgency,
        lat=row.lat,
        lon=row.lon,
        address=row.address,
        area=areas.get(row.area_id) if row.area_id is not None else None,
        contact_name=row.contact_name,
        contact_phone=row.contact_phone,
        attributes={"imported": row.extra} if row.extra else {},
        status=status,
        unit=unit
        if status not in (Status.SUBMITTED, Status.AWAITING_DISPATCH, Status.REJECTED)
        else None,
        created_at=row.created,
        updated_at=closed or row.updated or row.created,
        source=plan.source,
        external_id=row.external_id,
    )
    if case.unit is not None:
        key = (category.pk if category is not None else None, urgency)
        if key not in sla:
            epoch = row.created
            respond, resolve = deadlines_for(category, urgency, epoch)
            sla[key] = (respond - epoch, resolve - epoch)
        respond_in, resolve_in = sla[key]
        case.dispatched_at = row.created
        case.response_due = row.created + respond_in
        case.resolve_due = row.due or row.created + resolve_in
        if status != Status.DISPATCHED:
            case.accepted_at = row.created
    if status in (Status.RESOLVED, Status.CLOSED):
        case.resolved_at = closed
        case.resolution = row.resolution
        if status == Status.CLOSED:
            case.closed_at = closed
    elif status == Status.REJECTED:
        case.closed_at = closed
        case.reject_reason = (
            row.resolution or row.extra.get("status", "") or _("rejected in the source system")
        )
    return HistoricCase(
        case=case, events=_timeline(row, case, plan.source, case.unit.code if case.unit else None)
    )


def write(plan: Plan, *, actor: Actor, progress: Progress = _no_progress) -> int:
    """Store the plan's good rows, and the categories and units it needs, in one transaction.

    Raises ImportFileError (and stores nothing) when another import wrote the same cases
    since :func:`validate` looked.
    """
    started = time.monotonic()
    try:
        with transaction.atomic():
            categories: dict[str, Category] = {}
            needed = {r.type_value for r in plan.good}
            for value, found in plan.categories.items():
                if value not in needed:
                    continue
                if isinstance(found, Planned):
                    found_cat = org_actions.create_category(
                        actor=actor,
                        code=found.code,
                        name=found.name,
                        name_en=found.name if found.name.isascii() else "",
                        description=_("Created by the import from %(source)s.")
                        % {"source": plan.source},
                    )
                    plan.created_categories.append(found_cat.code)
                    categories[value] = found_cat
                else:
                    categories[value] = found
            units: dict[str, Unit] = {}
            needed = {r.agency for r in plan.good}
            for value, found_unit in plan.units.items():
                if value not in needed:
                    continue
                if isinstance(found_unit, Planned):
                    made = org_actions.create_unit(
                        actor=actor,
                        code=found_unit.code,
                        name=found_unit.name,
                        kind=UnitKind.DEPARTMENT,
                    )
                    plan.created_units.append(made.code)
                    units[value] = made
                else:
                    units[value] = found_unit
            area_ids = {r.area_id for r in plan.good if r.area_id is not None}
            areas = Area.objects.in_bulk(list(area_ids)) if area_ids else {}
            sla: dict[tuple[int | None, str], tuple[timedelta, timedelta]] = {}

            def items() -> Iterator[HistoricCase]:
                for n, row in enumerate(plan.good, start=1):
                    yield _historic(row, plan, categories, units, areas, sla)
                    if n % 2000 == 0:
                        progress("written", n)

            plan.written = load_history(items(), actor=actor, source=plan.source)
            progress("written", plan.written)
    except IntegrityError as exc:
        plan.written = 0
        plan.created_categories.clear()
        plan.created_units.clear()
        raise ImportFileError(
            _(
                "Another import stored some of these cases meanwhile; nothing was imported. Run it again. (%(error)s)"
            )
            % {"error": exc}
        ) from exc
    plan.seconds += time.monotonic() - started
    return plan.written
