"""Reading the CSV files that the platform's file verbs take, by one set of rules.

Cities hand over what their systems export: UTF-8 with or without a byte-order mark, the
GBK/GB18030 that Chinese Excel writes, UTF-16 from some report tools, Windows line ends,
semicolons or tabs instead of commas, header names with stray spaces, texts of many
kilobytes. :func:`read_table` reads all of them the same way for every verb (case import,
dispatch evaluation, hot-spot detection, accessibility files) and says in one line what is
wrong with a file it cannot read. No Django.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

AUTO = "auto"
DELIMITERS = (",", ";", "\t", "|")


class TableError(ValueError):
    """A file that cannot be read as asked; the message says why, in one line."""


class DecodeError(TableError):
    def __init__(self, codec: str, line: int, byte: int) -> None:
        self.codec, self.line, self.byte = codec, line, byte
        super().__init__(f"not valid {codec} text (line {line}, byte {byte})")


class UnknownEncoding(TableError):
    def __init__(self, codec: str) -> None:
        self.codec = codec
        super().__init__(f"unknown encoding {codec!r}")


class BadRecord(TableError):
    def __init__(self, line: int, error: str) -> None:
        self.line, self.error = line, error
        super().__init__(f"line {line}: the CSV cannot be read: {error}")


def decode(data: bytes, encoding: str = AUTO) -> tuple[str, str]:
    """The file's text and the encoding it was read with.

    ``auto``: a byte-order mark decides (UTF-8, UTF-16); otherwise UTF-8, then GB18030 (a
    superset of GBK and GB2312, what Chinese Excel writes), then Windows-1252. A named
    encoding is used as it is (a UTF-8 byte-order mark is dropped).
    """

    def named(codec: str) -> tuple[str, str]:
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError as exc:
            raise DecodeError(codec, data[: exc.start].count(b"\n") + 1, exc.start) from None
        except LookupError:
            raise UnknownEncoding(codec) from None

    if encoding and encoding != AUTO:
        text, used = named(encoding)
        return text.lstrip("\ufeff"), used
    if data.startswith(b"\xef\xbb\xbf"):
        return named("utf-8-sig")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return named("utf-16")
    for codec in ("utf-8", "gb18030"):
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            continue
    return named("cp1252")


def sniff_delimiter(text: str) -> str:
    """The delimiter the first non-blank line uses most (comma, semicolon, tab or bar)."""
    first = next((line for line in text[:65536].splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first line of the record, its fields) for each record that is not an empty line.

    Line numbers are physical lines of the file, so a quoted field spanning lines moves the
    numbers of the records after it, as an editor shows them.
    """
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    last = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise BadRecord(last + 1, str(exc)) from None
        start, last = last + 1, reader.line_num
        if fields:
            yield start, fields


@dataclass(frozen=True)
class Table:
    path: Path
    header: list[str]
    # (line of the file, {column: value}) per data row, in file order; a short row's
    # missing columns are empty strings.
    rows: list[tuple[int, dict[str, str]]]
    encoding: str
    delimiter: str

    def column(self, name: str) -> list[str]:
        return [row.get(name, "") for _line, row in self.rows]


def read_table(
    path: str | Path,
    required: Sequence[str] = (),
    *,
    encoding: str = AUTO,
    delimiter: str = AUTO,
) -> Table:
    """A CSV file with a header row. TableError, naming the file, when it does not exist,
    cannot be decoded or parsed, or lacks a ``required`` column (the message lists the
    columns it has). Header names are taken without surrounding spaces."""
    file = Path(path)
    if not file.is_file():
        raise TableError(f"{file}: no such file")
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise TableError(f"{file}: cannot be read: {exc.strerror or exc}") from None
    try:
        text, used = decode(data, encoding)
        sep = sniff_delimiter(text) if delimiter == AUTO else delimiter
        found = records(text, sep)
        first = next(found, None)
        header = [h.strip() for h in first[1]] if first else []
        missing = [c for c in required if c not in header]
        if missing:
            raise TableError(
                f"no column {', '.join(repr(m) for m in missing)}; the columns are "
                + (", ".join(repr(h) for h in header[:40]) or "(none)")
            )
        width = len(header)
        rows = [
            (line, dict(zip(header, [*fields, *[""] * (width - len(fields))], strict=False)))
            for line, fields in found
        ]
    except TableError as exc:
        raise TableError(f"{file}: {exc}") from None
    return Table(file, header, rows, used, sep)
