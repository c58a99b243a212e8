"""Reading a labelled CSV for ``urbangov dispatch evaluate`` (the one place that reads such
files), and the checks that turn a bad file into a clear message."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from urbangov.analytics import tabular, textclf

# Far longer than any resident writes; a cell beyond it is a broken file, not a message.
MAX_CHARS = 100_000


class BadInput(ValueError):
    """A file the evaluation cannot use; the message says what is wrong and where."""


@dataclass(frozen=True)
class Labelled:
    path: Path
    titles: list[str]
    texts: list[str]
    labels: list[str]


def read(path: Path, text_columns: list[str], label_column: str) -> Labelled:
    """The rows of a CSV: the first text column is read as the title when there are several
    (it gets its own weight), the others joined as the body."""
    try:
        table = tabular.read_table(path, [*text_columns, label_column])
    except tabular.TableError as exc:
        raise BadInput(str(exc)) from None
    titles: list[str] = []
    texts: list[str] = []
    labels: list[str] = []
    for line, row in table.rows:
        values = [row.get(c, "").strip() for c in text_columns]
        label = row.get(label_column, "").strip()
        longest = max((len(v) for v in values), default=0)
        if longest > MAX_CHARS:
            raise BadInput(
                f"{path}, line {line}: a text of {longest:,} characters; at most "
                f"{MAX_CHARS:,} are taken"
            )
        if not any(values):
            raise BadInput(f"{path}, line {line}: the text columns are empty")
        if not label:
            raise BadInput(f"{path}, line {line}: the label column {label_column!r} is empty")
        if len(values) > 1:
            titles.append(values[0])
            texts.append("\n".join(v for v in values[1:] if v))
        else:
            titles.append("")
            texts.append(values[0])
        labels.append(label)
    if not labels:
        raise BadInput(f"{path}: no rows")
    return Labelled(path, titles, texts, labels)


def check_training(data: Labelled, *, cv: int | None) -> None:
    counts: dict[str, int] = {}
    for label in data.labels:
        counts[label] = counts.get(label, 0) + 1
    if len(counts) < 2:
        raise BadInput(
            f"{data.path}: one label only ({next(iter(counts))!r}); nothing to tell apart"
        )
    if cv is not None:
        if cv < 2:
            raise BadInput("--cv needs at least 2 folds")
        groups = len(set(textclf.text_groups(data.titles, data.texts).tolist()))
        if groups < cv:
            raise BadInput(f"{data.path}: {groups} distinct texts cannot make {cv} folds")


def check_test(train: Labelled, test: Labelled) -> None:
    unknown = sorted(set(test.labels) - set(train.labels))
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise BadInput(f"{test.path}: labels the training file does not have: {shown}{more}")
