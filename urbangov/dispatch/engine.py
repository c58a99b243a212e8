"""What the dispatcher makes of a case, before anything is written.

:func:`assess` reads a batch of cases and gives, for each, an :class:`Assessment`: the
categories the text is about (calibrated probabilities, with the resident's own choice taken
as evidence, not as the answer), where the case is (its point's grid, or a place named in the
address), the unit the routing table gives for each likely category, words of danger, a
likely duplicate among open cases near in place and time, and whether the case may be
dispatched without a person (the category's confidence threshold). Writing it down and
acting on it is :mod:`urbangov.dispatch.actions`.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

import numpy as np
import scipy.sparse as sp
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.utils import timezone
from numpy.typing import NDArray

from urbangov.algorithms.models import AlgorithmVersion, Mode
from urbangov.analytics import textclf
from urbangov.cases.models import OPEN_STATUSES, Case
from urbangov.dispatch import classifier, emergency, routing
from urbangov.dispatch.routing import AreaInfo, CategoryInfo, Route, Table
from urbangov.org.models import Area, Urgency

logger = logging.getLogger("urbangov.dispatch")

TOP = 3


def setting(name: str, default: Any) -> Any:
    return settings.URBANGOV.get(name, default)


@dataclass(frozen=True)
class Suggestion:
    category: CategoryInfo
    probability: float | None
    route: Route

    def output(self) -> dict[str, Any]:
        return {
            "category": self.category.code,
            "unit": self.route.unit.code if self.route.unit else None,
        }


@dataclass(frozen=True)
class Duplicate:
    case_id: int
    tracking_code: str
    similarity: float
    distance_m: float | None
    hours: float


# Why a case was left for an operator.
NO_MODEL = "no_model"
BELOW_THRESHOLD = "below_threshold"
POLICY_OFF = "policy_off"
AUTOMATIC_OFF = "automatic_off"
NO_UNIT = "no_unit"
LIKELY_DUPLICATE = "likely_duplicate"
NOTHING_TO_SUGGEST = "nothing_to_suggest"


@dataclass
class Assessment:
    case: Case
    version: AlgorithmVersion | None
    suggestions: list[Suggestion]
    features: list[textclf.Feature]
    located: AreaInfo | None
    located_how: str  # "point", "address" or "none"
    located_name: str
    danger: list[str]
    danger_by_category: bool
    duplicate: Duplicate | None
    threshold: float | None
    held: list[str] = field(default_factory=list)

    @property
    def confidence(self) -> float | None:
        return self.suggestions[0].probability if self.suggestions else None

    @property
    def emergency(self) -> bool:
        return bool(self.danger) or self.danger_by_category

    @property
    def mode(self) -> str:
        return Mode.SUGGESTION if self.held else Mode.AUTOMATIC

    @property
    def best(self) -> Suggestion | None:
        return self.suggestions[0] if self.suggestions else None

    def output(self) -> dict[str, Any]:
        best = self.best
        return {
            "category": best.category.code if best else None,
            "unit": best.route.unit.code if best and best.route.unit else None,
            "urgency": Urgency.EMERGENCY
            if self.emergency
            else (best.category.urgency if best else None),
            "emergency": self.emergency,
            "duplicate_of": self.duplicate.case_id if self.duplicate else None,
        }

    def alternatives(self) -> list[dict[str, Any]]:
        return [{"output": s.output(), "score": s.probability} for s in self.suggestions[1:]]

    def inputs(self) -> dict[str, Any]:
        """Everything read (its digest is kept, not the text)."""
        c = self.case
        return {
            "title": c.title,
            "text": c.text,
            "address": c.address,
            "lat": c.lat,
            "lon": c.lon,
            "area": c.area_id,
            "reported_category": c.reported_category_id,
            "channel": c.channel,
            "version": self.version.version if self.version else None,
        }

    def summary(self, table: Table) -> dict[str, Any]:
        """The inputs that are not personal data, kept for audits by group and place."""
        c = self.case
        reported = table.categories.get(c.reported_category_id) if c.reported_category_id else None
        area = table.areas.get(c.area_id) if c.area_id else None
        return {
            "channel": c.channel,
            "area": area.code if area else None,
            "located_by": self.located_how,
            "located_area": self.located.code if self.located else None,
            "reported_category": reported.code if reported else None,
            "has_point": c.lat is not None,
            "text_length": len(c.text),
        }

    def reasons(self) -> list[dict[str, Any]]:
        """Why, as data: :mod:`urbangov.dispatch.explain` tells it in words."""
        out: list[dict[str, Any]] = []
        best = self.best
        if best is not None:
            out.append(
                {
                    "code": "classified" if best.probability is not None else "reported_only",
                    "category": best.category.code,
                    "probability": best.probability,
                    "features": [f.text for f in self.features],
                }
            )
        if self.case.reported_category_id is not None:
            out.append(
                {
                    "code": "reported",
                    "category_id": self.case.reported_category_id,
                    "agrees": best is not None
                    and best.category.id == self.case.reported_category_id,
                }
            )
        out.append(
            {
                "code": "located",
                "how": self.located_how,
                "area": self.located.code if self.located else None,
                "name": self.located_name,
            }
        )
        if best is not None:
            out.append({"code": "routed", "category": best.category.code, **best.route.as_data()})
        if self.danger or self.danger_by_category:
            out.append(
                {"code": "emergency", "terms": self.danger, "by_category": self.danger_by_category}
            )
        if self.duplicate is not None:
            d = self.duplicate
            out.append(
                {
                    "code": "duplicate",
                    "case": d.case_id,
                    "tracking_code": d.tracking_code,
                    "similarity": round(d.similarity, 3),
                    "distance_m": None if d.distance_m is None else round(d.distance_m),
                    "hours": round(d.hours, 1),
                }
            )
        out.append({"code": "policy", "threshold": self.threshold, "held": list(self.held)})
        return out


# --- the resident's own category as evidence -------------------------------------------------

RELATIONS = ("exact", "parent", "sibling", "child", "other")


def relation(table: Table, reported_id: int, category_id: int) -> str:
    """How the category a resident chose stands to the category a case really is."""
    if reported_id == category_id:
        return "exact"
    cat = table.categories.get(category_id)
    rep = table.categories.get(reported_id)
    if cat is None or rep is None:
        return "other"
    if cat.parent_id == reported_id:
        return "parent"
    if rep.parent_id == category_id:
        return "child"
    if cat.parent_id is not None and cat.parent_id == rep.parent_id:
        return "sibling"
    return "other"


def _relation_sizes(table: Table, category_id: int) -> dict[str, int]:
    """How many active categories stand in each relation to ``category_id`` (cached)."""
    cache = table.relation_sizes
    found = cache.get(category_id)
    if found is None:
        found = dict.fromkeys(RELATIONS, 0)
        for other in table.categories.values():
            if other.active:
                found[relation(table, other.id, category_id)] += 1
        cache[category_id] = found
    return found


def evidence_row(
    table: Table, classes: Sequence[str], reported_id: int | None, shares: dict[str, float] | None
) -> NDArray[np.float64]:
    """The likelihood, under each class, of what is known besides the text: 0 for a class
    that is no longer an active category; where the resident chose a category, the share of
    residents whose choice stands in that relation to the truth (learnt at training) spread
    evenly over the categories in that relation."""
    row = np.zeros(len(classes))
    for i, code in enumerate(classes):
        cat = table.category_by_code.get(code)
        if cat is None or not cat.active:
            continue
        if reported_id is None or not shares or reported_id not in table.categories:
            row[i] = 1.0
            continue
        rel = relation(table, reported_id, cat.id)
        row[i] = shares.get(rel, 0.0) / max(1, _relation_sizes(table, cat.id)[rel])
    return row


# --- where ---------------------------------------------------------------------------------


def _located(table: Table, case: Case) -> tuple[AreaInfo | None, str, str]:
    if case.area_id is not None and case.area_id in table.areas:
        area = table.areas[case.area_id]
        return area, "point", area.name
    found = table.locate_text(case.address or "", f"{case.title}\n{case.text}")
    if found is not None:
        return found[0], "address", found[1]
    return None, "none", ""


# --- duplicates ----------------------------------------------------------------------------

_EARTH_M = 6_371_000.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_M * math.asin(min(1.0, math.sqrt(a)))


# The texts' vectors are kept in this cache (the city's Redis where it runs one, else each
# process's memory) for the duplicate window: an open case is compared with every later case
# near it, and turning its text into a vector again each time cost most of the search in a
# busy city. Keyed by the model's artefact and the text itself, so an edited text or another
# model is simply another key.
VECTOR_CACHE = "vectors"


def vector_key(version: AlgorithmVersion, title: str, text: str) -> str:
    """The cache key of a text's vector under a version's model."""
    digest = hashlib.blake2b(f"{title}\x00{text}".encode(), digest_size=16).hexdigest()
    return f"urbangov:simvec2:{version.artefact_sha256[:32]}:{digest}"


# A kept vector is its columns (4-byte integers) then its values (8-byte floats) as one string
# of bytes: read back without copying, where a pair of arrays took twice as long to unpickle
# as the rest of the cache's work (a search reads a few dozen at a time).
_ENTRY = np.dtype(np.int32).itemsize + np.dtype(np.float64).itemsize


def pack_vector(columns: NDArray[Any], data: NDArray[Any]) -> bytes:
    """One vector's columns and values as the cache keeps them."""
    return columns.astype(np.int32).tobytes() + data.astype(np.float64).tobytes()


def unpack_vector(blob: Any) -> tuple[NDArray[np.int32], NDArray[np.float64]] | None:
    """The columns and values :func:`pack_vector` kept; None for anything else."""
    if not isinstance(blob, bytes) or len(blob) % _ENTRY:
        return None
    n = len(blob) // _ENTRY
    return (
        np.frombuffer(blob, np.int32, n),
        np.frombuffer(blob, np.float64, n, n * np.dtype(np.int32).itemsize),
    )


def similarity_vectors(
    loaded: classifier.Loaded | None,
    titles: list[str],
    texts: list[str],
    *,
    first: sp.csr_matrix | None = None,
) -> sp.csr_matrix:
    """Unit-length rows, one per text, whose dot products are the texts' similarity: the
    model's whole-text character block where a model is in service, else plain n-grams.
    ``first``: the first text's row, where already made (it is kept, not made again)."""
    if loaded is None:
        return textclf.plain_vectors([f"{t} {x}" for t, x in zip(titles, texts, strict=True)])
    model = loaded.model
    if not loaded.version.artefact_sha256:
        return model.similarity_vectors(titles, texts)
    keys = [vector_key(loaded.version, t, x) for t, x in zip(titles, texts, strict=True)]
    cache = caches[VECTOR_CACHE]
    # The cache only saves work: where it cannot be reached, the vectors are made here and the
    # dispatcher goes on (a Redis outage must not stop cases being routed).
    try:
        kept: dict[str, Any] = cache.get_many(keys)
    except Exception:  # whatever the backend raises
        logger.warning("dispatch: the vector cache cannot be read", exc_info=True)
        kept = {}
    found: dict[str, tuple[NDArray[Any], NDArray[Any]]] = {}
    for key, blob in kept.items():
        if (vector := unpack_vector(blob)) is not None:
            found[key] = vector
    made: dict[str, bytes] = {}
    if first is not None and keys[0] not in found:
        found[keys[0]] = (first.indices, first.data)
        made[keys[0]] = pack_vector(first.indices, first.data)
    missing = [i for i, key in enumerate(keys) if key not in found]
    if missing:
        fresh = model.similarity_vectors([titles[i] for i in missing], [texts[i] for i in missing])
        for row, i in enumerate(missing):
            start, stop = fresh.indptr[row], fresh.indptr[row + 1]
            found[keys[i]] = (fresh.indices[start:stop], fresh.data[start:stop])
            made[keys[i]] = pack_vector(*found[keys[i]])
    if made:
        try:
            cache.set_many(made, timeout=int(float(setting("DUPLICATE_HOURS", 72)) * 3600))
        except Exception:
            logger.warning("dispatch: the vector cache cannot be written", exc_info=True)
    rows = [found[key] for key in keys]
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(columns) for columns, _data in rows], out=indptr[1:])
    return sp.csr_matrix(
        (
            np.concatenate([data for _columns, data in rows]),
            np.concatenate([columns for columns, _data in rows]),
            indptr,
        ),
        shape=(len(rows), model.blocks[0].size),
    )


# A coarse cell of a point, 0.01 degree a side (about 1.1 km north-south), for the index
# that cases migration 0003 creates on it and the time: the same expression, or neither
# database uses the index. Latitude and longitude are shifted to be never negative.
CELL_SQL = 'CAST((c."lat" + 90) * 100 AS BIGINT) * 100000 + CAST((c."lon" + 180) * 100 AS BIGINT)'
MAX_CELLS = 64


def place_cells(south: float, north: float, west: float, east: float) -> list[int] | None:
    """The cell keys, as :data:`CELL_SQL` computes them, of every point in the box; None
    where the database is neither of the two the index is made for, or the box is so large
    that reading by time is as good."""
    # The databases turn the float into an integer differently: PostgreSQL rounds to the
    # nearest (ties to even, as Python's round does), SQLite cuts the fraction off (the values
    # are never negative, so that is the floor). Either way, monotonic: the cells of the box's
    # corners bound the cells of every point inside it.
    if connection.vendor == "postgresql":
        to_int: Any = round
    elif connection.vendor == "sqlite":
        to_int = math.floor
    else:
        return None
    if not (-90 <= south <= north <= 90 and -180 <= west <= east <= 180):
        return None
    rows = range(to_int((south + 90) * 100), to_int((north + 90) * 100) + 1)
    columns = range(to_int((west + 180) * 100), to_int((east + 180) * 100) + 1)
    if len(rows) * len(columns) > MAX_CELLS:
        return None
    return [r * 100000 + c for r in rows for c in columns]


def candidates_query(case: Case, located: AreaInfo | None) -> tuple[str, list[Any]] | None:
    """The SQL and parameters reading the open cases reported shortly before ``case`` close
    by (at most 200, the latest first); None where the case is nowhere to compare with."""
    hours = float(setting("DUPLICATE_HOURS", 72))
    metres = float(setting("DUPLICATE_METERS", 300))
    # Written out rather than through the ORM: it runs for every case, inside the request
    # when dispatch is inline, and compiling the ORM's query cost more than running it.
    q = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    where = [
        f"c.{q('status')} IN ({', '.join(['%s'] * len(OPEN_STATUSES))})",
        f"c.{q('created_at')} >= %s",
        f"c.{q('created_at')} <= %s",
        f"c.{q('id')} <> %s",
    ]
    params: list[Any] = [
        *OPEN_STATUSES,
        adapt(case.created_at - timedelta(hours=hours)),
        adapt(case.created_at),
        case.pk,
    ]
    if case.lat is not None and case.lon is not None:
        dlat = metres / 111_320.0
        dlon = metres / (111_320.0 * max(0.1, math.cos(math.radians(case.lat))))
        south, north = case.lat - dlat, case.lat + dlat
        west, east = case.lon - dlon, case.lon + dlon
        where += [f"c.{q('lat')} BETWEEN %s AND %s", f"c.{q('lon')} BETWEEN %s AND %s"]
        params += [south, north, west, east]
        cells = place_cells(south, north, west, east)
        if cells is not None:
            # The cells' index (cases migration 0003) instead of every case of those days.
            where.append(f"{CELL_SQL} IN ({', '.join(str(k) for k in cells)})")
    elif located is not None:
        # Everywhere under the area: its path as a prefix, as the ORM's startswith does it.
        prefix = connection.operators["startswith"] % "%s"
        areas = f"SELECT a.{q('id')} FROM {q(Area._meta.db_table)} a WHERE a.{q('path')} {prefix}"  # noqa: S608
        where.append(f"c.{q('area_id')} IN ({areas})")
        params.append(connection.ops.prep_for_like_query(located.path) + "%")
    else:
        return None  # nowhere to compare with
    sql = (
        f"SELECT c.{q('id')}, c.{q('tracking_code')}, c.{q('title')}, c.{q('text')}, "  # noqa: S608 (names from our models; values are parameters)
        f"c.{q('lat')}, c.{q('lon')}, c.{q('created_at')} FROM {q(Case._meta.db_table)} c "
        f"WHERE {' AND '.join(where)} "
        f"ORDER BY c.{q('created_at')} DESC, c.{q('id')} DESC LIMIT 200"
    )
    return sql, params


def find_duplicate(
    case: Case,
    located: AreaInfo | None,
    loaded: classifier.Loaded | None,
    vector: sp.csr_matrix | None = None,
) -> Duplicate | None:
    """The open case most like ``case`` in text among those reported shortly before it
    close by, if it is alike enough. ``vector``: the case's own similarity row, where the
    assessment already made it."""
    query = candidates_query(case, located)
    if query is None:
        return None
    metres = float(setting("DUPLICATE_METERS", 300))
    needed = float(setting("DUPLICATE_SIMILARITY", 0.6))
    # Never kept prepared (db.cursor): planned for its values each time, so that the cells'
    # index is used (a plan for any values reads by time).
    with connection.cursor() as cursor:
        cursor.execute(*query)
        rows = cursor.fetchall()
    if not rows:
        return None
    titles = [case.title] + [r[2] for r in rows]
    texts = [case.text] + [r[3] for r in rows]
    vectors = similarity_vectors(loaded, titles, texts, first=vector)
    similarity = textclf.similarities_to_first(vectors)
    best = int(np.argmax(similarity))
    if similarity[best] < needed:
        return None
    r = rows[best]
    far = (
        distance_m(case.lat, case.lon, r[4], r[5])
        if case.lat is not None and case.lon is not None and r[4] is not None and r[5] is not None
        else None
    )
    if far is not None and far > metres:
        return None
    created = r[6]
    if timezone.is_naive(created):  # SQLite's, stored in UTC
        created = timezone.make_aware(created, UTC)
    return Duplicate(
        case_id=r[0],
        tracking_code=r[1],
        similarity=float(similarity[best]),
        distance_m=far,
        hours=(case.created_at - created).total_seconds() / 3600,
    )


# --- the assessment -------------------------------------------------------------------------


def assess(cases: Sequence[Case]) -> list[Assessment]:
    """Assess a batch of cases (their category, reported category and area may be loaded or
    not; nothing is written)."""
    if not cases:
        return []
    table = routing.current()
    loaded = classifier.current()
    model = loaded.model if loaded else None
    default_threshold = float(setting("DISPATCH_THRESHOLD", 0.9))
    automatic_on = bool(setting("DISPATCH_AUTOMATIC", True))
    # Algorithm governance (issue 5): suspended, retired or impact level III–IV → the ethics
    # board's safeguards allow suggestions only; every case then waits for an operator.
    from urbangov.algorithms.queries import may_decide_automatically

    if loaded is not None and not may_decide_automatically(loaded.version.algorithm_id):
        automatic_on = False
    predictions: list[textclf.Prediction | None] = [None] * len(cases)
    own: sp.csr_matrix | None = None
    if model is not None:
        shares = model.info.get("reported_shares")
        evidence = np.vstack(
            [evidence_row(table, model.classes, c.reported_category_id, shares) for c in cases]
        )
        titles, texts = [c.title for c in cases], [c.text for c in cases]
        parts = model.parts(titles, texts)
        predictions = list(
            model.explain(titles, texts, top=TOP, features=5, evidence=evidence, parts=parts)
        )
        # Each case's own row for the duplicate search: made once, with the prediction's.
        own = model.similarity_vectors(titles, texts, parts=parts)
    out: list[Assessment] = []
    for i, (case, prediction) in enumerate(zip(cases, predictions, strict=True)):
        ranked: list[tuple[CategoryInfo, float | None]] = []
        if prediction is not None:
            ranked = [
                (table.category_by_code[label], p)
                for label, p in prediction.top
                if p > 0 and label in table.category_by_code
            ]
        elif case.reported_category_id in table.categories:
            # No model: the resident's choice is all there is, and it decides nothing alone.
            ranked = [(table.categories[case.reported_category_id], None)]
        located, how, name = _located(table, case)
        area_id = located.id if located else None
        suggestions = [Suggestion(cat, p, table.route(cat.id, area_id)) for cat, p in ranked[:TOP]]
        danger = [
            m.term for m in emergency.find(f"{case.title}\n{case.text}", table.emergency_terms)
        ]
        by_category = bool(
            suggestions
            and suggestions[0].category.urgency == Urgency.EMERGENCY
            and (suggestions[0].probability or 0.0) >= 0.5
        )
        duplicate = find_duplicate(case, located, loaded, own[i] if own is not None else None)
        threshold: float | None = None
        held: list[str] = []
        if model is None:
            held.append(NO_MODEL)
        if not suggestions:
            held.append(NOTHING_TO_SUGGEST)
        else:
            best = suggestions[0]
            threshold, allowed = table.policy(best.category.id, default_threshold)
            if best.probability is not None and best.probability < threshold:
                held.append(BELOW_THRESHOLD)
            if not allowed:
                held.append(POLICY_OFF)
            if best.route.unit is None:
                held.append(NO_UNIT)
        if not automatic_on:
            held.append(AUTOMATIC_OFF)
        if duplicate is not None:
            held.append(LIKELY_DUPLICATE)
        out.append(
            Assessment(
                case=case,
                version=loaded.version if loaded else None,
                suggestions=suggestions,
                features=prediction.features if prediction else [],
                located=located,
                located_how=how,
                located_name=name,
                danger=danger,
                danger_by_category=by_category,
                duplicate=duplicate,
                threshold=threshold,
                held=held,
            )
        )
    return out
