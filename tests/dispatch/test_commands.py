"""``urbangov dispatch``: evaluate on any labelled CSV (the JSON last line, grouped folds, bad
files refused with exit code 2), train on the city's resolved cases with the held-out gate,
activate and roll back, and import/export model files (a corrupt or foreign file refused
with exit code 3, nothing registered, the dispatcher in service unchanged)."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tests.conftest import City
from tests.dispatch.conftest import corpus
from urbangov.algorithms import queries as register
from urbangov.algorithms.models import AlgorithmVersion
from urbangov.cases.actions import HistoricCase, HistoricEvent, load_history
from urbangov.cases.models import Case, Channel, Status
from urbangov.dispatch import classifier
from urbangov.dispatch.models import RoutingRule

pytestmark = pytest.mark.usefixtures("english")


URBANGOV = [sys.executable, "-m", "urbangov.cli"]


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def labelled_rows(n: int = 40, seed: int = 3) -> list[dict[str, str]]:
    titles, texts, labels = corpus(n_per_class=n, seed=seed)
    return [
        {"title": t, "detail": x, "label": y, "other": "x"}
        for t, x, y in zip(titles, texts, labels, strict=True)
    ]


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DEBUG"}}
    env.setdefault("SECRET_KEY", "cli-test-key")
    return subprocess.run(
        [*URBANGOV, "dispatch", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


KEYS = {
    "macro_f1",
    "accuracy",
    "n_train",
    "n_test",
    "per_class",
    "train_seconds",
    "predict_per_second",
}


def test_evaluate_with_grouped_cross_validation(tmp_path: Path) -> None:
    rows = labelled_rows()
    rows += rows[:10]  # reposts: the same texts again
    path = write_csv(tmp_path / "train.csv", rows)
    done = run(
        "evaluate", "--train", str(path), "--cv", "3", "--text", "title,detail", "--label", "label"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(result) >= KEYS
    assert result["n_test"] == len(rows)
    assert set(result["per_class"]) == {"water.leak", "noise", "gas"}
    assert set(result["per_class"]["gas"]) == {"precision", "recall", "f1", "support"}
    assert result["macro_f1"] > 0.9 and result["predict_per_second"] > 0


def test_evaluate_on_a_test_file(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", labelled_rows(seed=1))
    test = write_csv(tmp_path / "test.csv", labelled_rows(n=10, seed=2))
    done = run(
        "evaluate",
        "--train",
        str(train),
        "--test",
        str(test),
        "--text",
        "detail",
        "--label",
        "label",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["n_train"] == 120 and result["n_test"] == 30


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("missing_column", "no column 'body'"),
        ("unknown_label", "labels the training file does not have: 'parking'"),
        ("empty_text", "line 5: the text columns are empty"),
        ("enormous_text", "line 3: a text of 100,001 characters"),
        ("empty_label", "the label column 'label' is empty"),
        ("no_file", "no such file"),
    ],
)
def test_evaluate_refuses_bad_input(tmp_path: Path, change: str, expected: str) -> None:
    train_rows = labelled_rows(n=10)
    test_rows = labelled_rows(n=5, seed=9)
    text = "title,detail"
    if change == "missing_column":
        text = "title,body"
    elif change == "unknown_label":
        test_rows[0]["label"] = "parking"
    elif change == "empty_text":
        train_rows[3]["title"] = train_rows[3]["detail"] = ""
    elif change == "enormous_text":
        train_rows[1]["detail"] = "水" * 100_001
    elif change == "empty_label":
        train_rows[2]["label"] = " "
    train = write_csv(tmp_path / "train.csv", train_rows)
    test = write_csv(tmp_path / "test.csv", test_rows)
    if change == "no_file":
        train = tmp_path / "absent.csv"
    done = run(
        "evaluate", "--train", str(train), "--test", str(test), "--text", text, "--label", "label"
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert expected in done.stderr
    assert "Traceback" not in done.stderr and done.stdout.strip() == ""


def test_evaluate_needs_test_or_cv(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", labelled_rows(n=5))
    done = run("evaluate", "--train", str(train), "--text", "detail", "--label", "label")
    assert done.returncode != 0 and "--test" in done.stderr


# --- training on the city's own cases ---------------------------------------------------------------


def history(city: City, n_per_class: int = 40, seed: int = 5, days_ago: int = 60) -> int:
    """Resolved cases with their final category and unit, spread over the last weeks."""
    titles, texts, labels = corpus(n_per_class=n_per_class, seed=seed)
    order = list(range(len(labels)))
    random.Random(seed).shuffle(order)  # the categories mixed over time
    titles, texts, labels = ([seq[i] for i in order] for seq in (titles, texts, labels))
    # Gas goes to the dispatch centre here (no unit answers for it in the test city).
    RoutingRule.objects.get_or_create(
        category=city.gas, area=city.city, defaults={"unit": city.dispatch_centre}
    )
    units = {"water.leak": city.water_dept, "noise": city.office_d1, "gas": city.dispatch_centre}
    cats = {"water.leak": city.water_leak, "noise": city.noise, "gas": city.gas}
    start = timezone.now() - timedelta(days=days_ago)
    items = []
    for i, (title, text, label) in enumerate(zip(titles, texts, labels, strict=True)):
        at = start + timedelta(minutes=37 * i)
        case = Case(
            channel=Channel.WEB,
            title=title,
            text=text,
            category=cats[label],
            reported_category=cats[label] if i % 3 else None,
            unit=units[label],
            area=city.grid_d1,
            status=Status.CLOSED,
            created_at=at,
            updated_at=at,
            source="test-history",
            external_id=f"{seed}-{i}",
        )
        items.append(
            HistoricCase(case, [HistoricEvent(at, "submit", "", Status.SUBMITTED, "resident")])
        )
    return load_history(items, actor=None, source="test-history")


def command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("dispatch", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def active() -> AlgorithmVersion | None:
    algorithm = register.algorithm(classifier.ALGORITHM)
    return algorithm.active_version if algorithm else None


@pytest.mark.django_db
def test_train_registers_measures_and_activates(city: City, fresh_caches: None) -> None:
    history(city)
    out, _err = command("train")
    result = json.loads(out.strip().splitlines()[-1])
    assert result["activated"] and result["version"] == "1"
    assert result["holdout"]["macro_f1"] > 0.9 and result["n_holdout"] == 24
    assert result["compared_with"] is None
    version = active()
    assert version is not None and version.version == "1"
    assert version.trained_on["n"] == 120 and set(version.trained_on["labels"]) == {
        "water.leak",
        "noise",
        "gas",
    }
    assert version.metrics["holdout"]["unit_accuracy"] > 0.9
    assert classifier.current() is not None
    # Trained again with the same cases: at least as good, so it replaces the first.
    out, _err = command("train", "--reason", "monthly retraining")
    again = json.loads(out.strip().splitlines()[-1])
    assert again["compared_with"] == "1" and again["at_least_as_good"] is True
    assert active().version == "2"  # type: ignore[union-attr]


@pytest.mark.django_db
def test_a_worse_candidate_is_registered_but_not_activated(city: City, fresh_caches: None) -> None:
    history(city)
    command("train")
    # The older cases' labels are then spoilt (every water leak filed as noise), and newer,
    # correct cases come in: a candidate learnt from the spoilt older cases does worse on
    # the newest than the version in service, and must not replace it.
    Case.objects.filter(source="test-history", category=city.water_leak).update(
        category=city.noise, unit=city.office_d1
    )
    history(city, n_per_class=10, seed=11, days_ago=1)
    out, err = command("train")
    result = json.loads(out.strip().splitlines()[-1])
    assert result["compared_with"] == "1" and result["n_holdout"] == 30
    assert result["at_least_as_good"] is False and result["activated"] is False
    assert result["holdout"]["macro_f1"] < result["in_service_on_holdout"]["macro_f1"]
    assert "NOT activated" in err
    assert active().version == "1"  # type: ignore[union-attr]
    assert AlgorithmVersion.objects.filter(version="2").exists()  # registered, with its figures


@pytest.mark.django_db
def test_train_with_too_few_cases_is_refused(city: City, fresh_caches: None) -> None:
    with pytest.raises(CommandError) as info:
        command("train")
    assert info.value.returncode == 2 and "resolved cases" in str(info.value)
    assert active() is None


@pytest.mark.django_db
def test_activate_rollback_export_import(city: City, fresh_caches: None, tmp_path: Path) -> None:
    history(city)
    command("train")
    command("train", "--no-activate")
    assert active().version == "1"  # type: ignore[union-attr]
    out, _ = command("activate", "2", "--reason", "checked by hand")
    assert "version 2 is in service" in out
    out, _ = command("rollback", "--reason", "misroutes gas")
    assert "version 1 is in service again" in out and active().version == "1"  # type: ignore[union-attr]
    out, _ = command("versions")
    assert "*    1" in out

    path = tmp_path / "model.bin"
    command("export", "2", str(path))
    out, _ = command("import", str(path))
    assert "registered version 3" in out
    assert active().version == "1"  # type: ignore[union-attr]

    with pytest.raises(CommandError) as unknown:
        command("activate", "99")
    assert unknown.value.returncode == 2 and "the versions are" in str(unknown.value)


@pytest.mark.django_db
@pytest.mark.parametrize("damage", ["corrupt", "foreign", "other_format", "other_city"])
def test_a_bad_model_file_is_refused_and_nothing_changes(
    city: City, fresh_caches: None, tmp_path: Path, damage: str
) -> None:
    history(city)
    command("train")
    before = active()
    loaded_before = classifier.current()
    path = tmp_path / "model.bin"
    command("export", "1", str(path))
    data = path.read_bytes()
    if damage == "corrupt":
        data = data[:-50] + bytes(b ^ 0x5A for b in data[-50:])
    elif damage == "foreign":
        data = b"\x80\x04\x95 a pickle, not a model"
    elif damage == "other_format":
        data = data.replace(b'{"format": 1', b'{"format": 9', 1)
    else:
        from urbangov.analytics import textclf

        model = textclf.Model.from_bytes(data)
        model.classes = ["parking", "graffiti", "litter"]
        data = model.to_bytes()
    path.write_bytes(data)
    versions_before = AlgorithmVersion.objects.count()
    with pytest.raises(CommandError) as info:
        command("import", str(path), "--activate")
    assert info.value.returncode == 3
    assert AlgorithmVersion.objects.count() == versions_before
    assert active() == before
    classifier.forget()
    after = classifier.current()
    assert after is not None and loaded_before is not None
    assert after.version.pk == loaded_before.version.pk


def test_evaluate_reads_a_gbk_export_as_it_reads_utf8(tmp_path: Path) -> None:
    """What Chinese Excel writes (GBK, CRLF, here with semicolons and Chinese column names)
    gives the same evaluation as the same rows in UTF-8."""
    rows = [{"标题": r["title"], "详情": r["detail"], "类别": r["label"]} for r in labelled_rows()]
    test_rows = [
        {"标题": r["title"], "详情": r["detail"], "类别": r["label"]}
        for r in labelled_rows(n=10, seed=2)
    ]
    utf8 = write_csv(tmp_path / "train.csv", rows)
    test = write_csv(tmp_path / "test.csv", test_rows)
    gbk = tmp_path / "train-gbk.csv"
    lines = [";".join(rows[0])] + [";".join(r.values()) for r in rows]
    assert not any(";" in v for r in rows for v in r.values())
    gbk.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    results = []
    for train in (utf8, gbk):
        done = run(
            "evaluate", "--train", str(train), "--test", str(test),
            "--text", "标题,详情", "--label", "类别",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert results[0]["n_train"] == results[1]["n_train"] == 120
    assert results[0]["macro_f1"] == results[1]["macro_f1"]
    assert results[0]["per_class"] == results[1]["per_class"]


def test_evaluate_refuses_a_file_it_cannot_decode_and_impossible_folds(tmp_path: Path) -> None:
    good = write_csv(tmp_path / "train.csv", labelled_rows(n=5))
    binary = tmp_path / "photo.csv"
    # Not UTF-8, not GB18030, and bytes Windows-1252 leaves undefined (0x81, 0x8d).
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x81\x8d\xff")
    cases = [
        (["--train", str(binary), "--cv", "2"], "not valid cp1252 text (line 3, byte 9)"),
        (["--train", str(good), "--cv", "1"], "--cv needs at least 2 folds"),
        (["--train", str(good), "--cv", "500"], "distinct texts cannot make 500 folds"),
    ]
    for args, expected in cases:
        done = run("evaluate", *args, "--text", "detail", "--label", "label")
        assert done.returncode == 2, (args, done.stderr)
        assert expected in done.stderr and "Traceback" not in done.stderr
        assert done.stdout.strip() == ""


@pytest.mark.django_db
def test_a_version_that_cannot_run_is_never_activated(city: City, fresh_caches: None) -> None:
    """Version 0 (the rules alone) and a registered version whose artefact is not a model of
    this format: `activate` exits 3, the version in service stays, and so does the model
    the running dispatcher holds."""
    from urbangov.algorithms import actions as register_actions
    from urbangov.dispatch import actions as dispatch_actions

    history(city)
    command("train")
    loaded = classifier.current()
    assert loaded is not None and loaded.version.version == "1"
    dispatch_actions.rules_version()
    foreign = register_actions.register_version(
        actor=None,
        algorithm=dispatch_actions.dispatch_algorithm(),
        artefact=b"\x80\x04\x95 a pickle, not a model",
        artefact_format=classifier.ARTEFACT_FORMAT,
    )
    other = register_actions.register_version(
        actor=None,
        algorithm=dispatch_actions.dispatch_algorithm(),
        artefact=classifier.ARTEFACT_FORMAT.encode(),
        artefact_format="urbangov-textclf/9",
    )
    for label, expected in (
        ("0", "rules alone"),
        (foreign.version, "cannot be loaded"),
        (other.version, "urbangov-textclf/9"),
    ):
        with pytest.raises(CommandError) as info:
            command("activate", label)
        assert info.value.returncode == 3, label
        assert expected in str(info.value), (label, str(info.value))
        assert active().version == "1"  # type: ignore[union-attr]
        still = classifier.current()
        assert still is not None and still.version.pk == loaded.version.pk


@pytest.mark.django_db
def test_the_running_dispatcher_keeps_its_model_if_the_next_cannot_load(
    city: City, fresh_caches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version put in service behind the actions' back (by SQL) whose artefact does not
    load: each process keeps the model it runs rather than dispatching with none."""
    from urbangov.algorithms import actions as register_actions
    from urbangov.algorithms.models import Algorithm
    from urbangov.dispatch import actions as dispatch_actions

    history(city)
    command("train")
    loaded = classifier.current()
    assert loaded is not None
    broken = register_actions.register_version(
        actor=None,
        algorithm=dispatch_actions.dispatch_algorithm(),
        artefact=b"URBANGOV-TEXTCLF\n{broken",
        artefact_format=classifier.ARTEFACT_FORMAT,
    )
    Algorithm.objects.filter(code=classifier.ALGORITHM).update(active_version=broken)
    monkeypatch.setattr(classifier, "CHECK_SECONDS", 0.0)  # look at the database every time
    kept = classifier.current()
    assert kept is not None and kept.version.pk == loaded.version.pk
    assert kept.model is loaded.model
