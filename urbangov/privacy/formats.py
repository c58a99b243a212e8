"""Tables as the bytes that leave: CSV, JSON and Parquet.

A table is a list of column names and rows (dicts). Dates and times are written in ISO 8601
(UTC offset included) in CSV and JSON and as timestamps in Parquet. CSV starts with a UTF-8
byte-order mark, so that spreadsheet programs read Chinese text right.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import polars as pl

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def to_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else _plain(row[c]) for c in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_json(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> bytes:
    body = {"columns": list(columns), "rows": [{c: _plain(r[c]) for c in columns} for r in rows]}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def to_parquet(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> bytes:
    data = list(rows)
    frame = pl.DataFrame(
        {c: [r[c] for r in data] for c in columns}, strict=False, nan_to_null=False
    )
    out = io.BytesIO()
    frame.write_parquet(out, statistics=False)
    return out.getvalue()


def render(fmt: str, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> bytes:
    if fmt == "csv":
        return to_csv(columns, rows)
    if fmt == "json":
        return to_json(columns, rows)
    if fmt == "parquet":
        return to_parquet(columns, rows)
    raise ValueError(f"unknown format {fmt!r}: use csv, json or parquet")
