"""``urbangov import-cases``: CSV exports of other systems, row by row.

Run through the real command line (``urbangov.cli.main``) for exit codes and report lines,
against a real database in transactional tests, so "nothing stored" means nothing committed.
Expected values are worked out by hand from the CSV text (time zones included), or — for the
real NYC sample — counted straight from the file with the csv module.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import City
from urbangov import cli
from urbangov.cases import importer
from urbangov.cases.models import Case, CaseEvent, Channel, Status
from urbangov.org.models import Category, Unit
from urbangov.privacy.models import AuditEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("english")]

# The shared data folder sits beside the repository (CI lays it there too).
NYC_SAMPLE = next(
    (
        p
        for p in (
            Path(__file__).resolve().parents[3] / "shared/data/city_311/nyc_311_sample.csv",
            Path("/work/shared/data/city_311/nyc_311_sample.csv"),
        )
        if p.exists()
    ),
    Path("/work/shared/data/city_311/nyc_311_sample.csv"),
)
NY = ZoneInfo("America/New_York")

HEADER = (
    "Unique Key,Created Date,Closed Date,Agency,Agency Name,Complaint Type,Descriptor,"
    "Incident Address,City,Status,Resolution Description,Open Data Channel Type,Latitude,Longitude"
)
# Line numbers as an editor shows them: the header is line 1, line 4 is blank, and the quoted
# descriptor of line 13 runs on to line 14.
NYC_ROWS = [
    "1001,10/21/18 0:00,10/21/18 2:30,WATER,Water dept,Water Leak,Pipe burst,12 MAIN ST,DEMO,Closed,Fixed the pipe,PHONE,31.205,121.405",
    '1002,03/05/2019 02:15:30 PM,,D1S1,,noise,"Loud music, late",,DEMO,Open,,ONLINE,31.205,121.455',
    "",
    "1003,2/30/2019 10:00,,WATER,,Water Leak,x,,,Open,,PHONE,,",
    "1004,10/21/18 9:00,10/21/18 8:00,WATER,,Water Leak,x,,,Closed,,PHONE,,",
    "1007,10/21/18 9:00,,WATER,,Water Leak,x,,,Frozen,,PHONE,,",
    "1008,10/21/18 9:00,,WATER,,Graffiti,x,,,Open,,PHONE,,",
    "1009,10/21/18 9:00,,WATER,,Water Leak,x,,,Open,,PHONE,abc,121.4",
    "1010,10/21/18 9:00,,WATER,,Water Leak,x,,,Open,,PHONE,95,121.4",
    "1011,10/21/18 9:00,,WATER,,Water Leak,x,,,Open,,PHONE,31.5,121.0",
    "1001,10/21/18 9:00,,WATER,,Water Leak,x,,,Open,,PHONE,,",
    '1005,10/22/18 8:05,,WATER,,Water Leak,"Leak\nnear the gate",,,Assigned,,MOBILE,,',
    "1012,10/21/18 9:00,,NYPD,Police,Water Leak,x,,,Open,,PHONE,,",
    "1006,10/23/18 23:59,,,,Water Leak,Drip,,,Unassigned,,UNKNOWN,,",
]
NYC_BAD = [
    "line 5: Created Date: impossible date '2/30/2019 10:00' (day is out of range for month)",
    "line 6: closed (10/21/18 8:00) before it was created (10/21/18 9:00)",
    "line 7: unknown status 'Frozen' (add it to the mapping's status_map)",
    "line 8: unknown type 'Graffiti' (not in the mapping's categories, no category has that "
    "code or name; --create-missing creates it)",
    "line 9: latitude 'abc' is not a number",
    "line 10: point (95, 121.4): Latitude must be within ±90 and longitude within ±180.",
    "line 11: point (31.5, 121.0): The point lies outside the city.",
    "line 12: id '1001' appears already on line 2",
    "line 15: unknown agency 'NYPD' (not in the mapping's units, no unit has that code or "
    "name; --create-missing creates it)",
]


def nyc_file(tmp_path: Path, rows: list[str] = NYC_ROWS) -> Path:
    path = tmp_path / "export.csv"
    # UTF-8 with a byte-order mark and Windows line ends, as Excel writes it.
    path.write_bytes(("\r\n".join([HEADER, *rows]) + "\r\n").encode("utf-8-sig"))
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    """Run ``urbangov import-cases ARGS``; (exit code, stdout lines, stderr)."""
    code = 0
    try:
        cli.main(["urbangov", "import-cases", *args, "--no-progress"])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_any_bad_row_aborts_the_whole_import(
    city: City, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = nyc_file(tmp_path)
    audits, categories, units = (
        AuditEvent.objects.count(),
        Category.objects.count(),
        Unit.objects.count(),
    )
    code, out, err = run(capsys, str(path), "--mapping", "nyc311")
    assert code == 1
    assert out == NYC_BAD
    assert (
        "13 rows, 4 valid, 9 bad (8 invalid, 1 duplicated in the file, 0 already imported)" in err
    )
    assert "encoding utf-8-sig" in err
    assert "nothing imported" in err and "--skip-bad" in err
    assert Case.objects.count() == 0
    assert (AuditEvent.objects.count(), Category.objects.count(), Unit.objects.count()) == (
        audits,
        categories,
        units,
    )


def test_dry_run_validates_only(
    city: City, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = nyc_file(tmp_path)
    code, out, err = run(capsys, str(path), "--mapping", "nyc311", "--dry-run")
    assert code == 1 and out == NYC_BAD and "nothing imported" in err
    code, out, _err = run(
        capsys, str(path), "--mapping", "nyc311", "--dry-run", "--skip-bad", "--create-missing"
    )
    assert code == 0
    # With --create-missing Graffiti and NYPD are no longer bad: 7 bad rows, 6 would be imported.
    assert out[-1].endswith("dry run: would import 6 cases and create 1 categories and 1 units.")
    assert Case.objects.count() == 0 and not Category.objects.filter(name="Graffiti").exists()
    code, out, _err = run(
        capsys,
        str(path),
        "--mapping",
        "nyc311",
        "--dry-run",
        "--skip-bad",
        "--create-missing",
        "--json",
    )
    summary = json.loads(out[-1])
    assert code == 0 and summary["dry_run"] and summary["imported"] == 0
    assert summary["categories_to_create"] == ["Graffiti"] and summary["units_to_create"] == [
        "Police"
    ]
    assert Case.objects.count() == 0 and not Unit.objects.filter(code="NYPD").exists()


def test_skip_bad_imports_the_good_rows_with_their_history(
    city: City, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = nyc_file(tmp_path)
    code, out, _err = run(capsys, str(path), "--mapping", "nyc311", "--skip-bad")
    assert code == 0
    assert out[: len(NYC_BAD)] == NYC_BAD
    assert out[-1].startswith(f"{path}: 13 rows, 4 valid, 9 bad")
    assert "imported 4 cases from nyc311; created 0 categories and 0 units" in out[-1]
    cases = {c.external_id: c for c in Case.objects.select_related("unit", "category", "area")}
    assert set(cases) == {"1001", "1002", "1005", "1006"}
    assert {c.source for c in cases.values()} == {"nyc311"}

    closed = cases["1001"]
    # 10/21/18 0:00 in New York (EDT, UTC-4) is 04:00 UTC; closed at 2:30 local.
    assert closed.status == Status.CLOSED
    assert closed.created_at == utc(2018, 10, 21, 4, 0)
    assert closed.resolved_at == closed.closed_at == utc(2018, 10, 21, 6, 30)
    assert closed.unit == city.water_dept and closed.category == city.water_leak
    assert closed.channel == Channel.PHONE
    assert closed.area == city.grid_d1
    assert closed.resolution == "Fixed the pipe"
    assert closed.title == "Water Leak: Pipe burst"
    assert closed.address == "12 MAIN ST, DEMO"
    assert closed.dispatched_at == closed.created_at
    # water.leak is a utilities matter: 24 h to resolve from dispatch.
    assert closed.resolve_due == utc(2018, 10, 22, 4, 0)
    events = list(closed.events.values_list("kind", "at", "from_status", "to_status"))
    assert events == [
        ("submit", utc(2018, 10, 21, 4), "", "submitted"),
        ("triage", utc(2018, 10, 21, 4), "submitted", "awaiting_dispatch"),
        ("dispatch", utc(2018, 10, 21, 4), "awaiting_dispatch", "dispatched"),
        ("accept", utc(2018, 10, 21, 4), "dispatched", "accepted"),
        ("resolve", utc(2018, 10, 21, 6, 30), "accepted", "resolved"),
        ("close", utc(2018, 10, 21, 6, 30), "resolved", "closed"),
    ]

    open_case = cases["1002"]
    # 03/05/2019 02:15:30 PM in New York (EST, UTC-5).
    assert open_case.created_at == utc(2019, 3, 5, 19, 15, 30)
    assert open_case.status == Status.DISPATCHED and open_case.unit == city.office_d1
    assert open_case.category == city.noise and open_case.channel == Channel.WEB
    assert open_case.closed_at is None and open_case.resolved_at is None
    assert open_case.area is not None and open_case.area.code == "D1S1C1G2"
    assert open_case.is_overdue()  # seven days for noise, long past
    assert [e.kind for e in open_case.events.all()] == ["submit", "triage", "dispatch"]

    accepted = cases["1005"]
    assert accepted.status == Status.ACCEPTED and accepted.channel == Channel.APP
    assert accepted.text == "Descriptor: Leak\nnear the gate"
    assert accepted.lat is None and accepted.area is None

    waiting = cases["1006"]
    # 10/23/18 23:59 EDT is the next day in UTC; no agency, so nobody has it yet.
    assert waiting.created_at == utc(2018, 10, 24, 3, 59)
    assert waiting.status == Status.AWAITING_DISPATCH and waiting.unit is None
    assert waiting.channel == Channel.OTHER

    assert AuditEvent.objects.filter(action="case.load_history").count() == 1
    audit = AuditEvent.objects.get(action="case.load_history")
    assert audit.data["cases"] == 4 and audit.data["source"] == "nyc311"


def test_reimport_does_not_duplicate(
    city: City, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = nyc_file(tmp_path)
    assert run(capsys, str(path), "--mapping", "nyc311", "--skip-bad")[0] == 0
    codes = dict(Case.objects.values_list("external_id", "tracking_code"))
    events = CaseEvent.objects.count()

    code, out, err = run(capsys, str(path), "--mapping", "nyc311")
    assert code == 1
    assert f"line 2: id '1001' is already imported from nyc311 as case {codes['1001']}" in out
    assert f"line 16: id '1006' is already imported from nyc311 as case {codes['1006']}" in out
    assert "4 already imported" in err

    code, out, _err = run(capsys, str(path), "--mapping", "nyc311", "--skip-bad")
    assert code == 0
    assert "imported 0 cases" in out[-1] and "13 bad" in out[-1] and "4 already imported" in out[-1]
    assert Case.objects.count() == 4 and CaseEvent.objects.count() == events


def test_create_missing_makes_categories_and_units(
    city: City, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = nyc_file(tmp_path)
    code, out, _err = run(
        capsys, str(path), "--mapping", "nyc311", "--skip-bad", "--create-missing", "--json"
    )
    assert code == 0
    summary = json.loads(out[-1])
    assert summary["imported"] == 6 and summary["bad"] == 7
    assert summary["categories_created"] == ["graffiti"] and summary["units_created"] == ["NYPD"]
    assert [e["line"] for e in summary["errors"]] == [5, 6, 7, 9, 10, 11, 12]
    graffiti = Case.objects.get(external_id="1008")
    assert graffiti.category is not None and graffiti.category.name == "Graffiti"
    police = Case.objects.get(external_id="1012")
    assert police.unit is not None and police.unit.code == "NYPD" and police.unit.name == "Police"
    assert AuditEvent.objects.filter(action="org.category.create").count() == 1
    assert AuditEvent.objects.filter(action="org.unit.create").count() == 1


GBK_CSV = (
    "工单编号,受理时间,办结时间,诉求类型,承办单位,工单状态,诉求内容,诉求地址,来源渠道,联系电话,纬度,经度\n"
    "GD-001,2024/03/05 09:30,2024/03/06 17:00,水管漏水,市水务局,已回访,楼下水管漏水，已经流了一整天,东区一街道幸福路1号,12345热线,13800138000,31.205,121.405\n"
    'GD-002,2024年3月7日 08:00,,噪音扰民,东区一街道办,处理中,"晚上施工噪音,\n影响休息",,微信,,31.21,121.41\n'
    "GD-003,2024/02/30 10:00,,噪音扰民,东区一街道办,处理中,日期不对,,微信,,,\n"
)


def test_gbk_export_with_chinese_columns(
    city: City, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "工单.csv"
    path.write_bytes(GBK_CSV.encode("gbk"))
    code, out, _err = run(capsys, str(path), "--mapping", "cn12345", "--skip-bad")
    assert code == 0
    assert (
        out[0]
        == "line 5: 受理时间: impossible date '2024/02/30 10:00' (day is out of range for month)"
    )
    assert "encoding gb18030" in out[-1] and "imported 2 cases" in out[-1]
    first = Case.objects.get(source="cn12345", external_id="GD-001")
    # Shanghai is UTC+8 all year.
    assert first.created_at == utc(2024, 3, 5, 1, 30) and first.closed_at == utc(2024, 3, 6, 9, 0)
    assert first.status == Status.CLOSED and first.unit == city.water_dept
    assert first.category == city.water_leak and first.channel == Channel.PHONE
    assert first.text == "楼下水管漏水，已经流了一整天" and first.address == "东区一街道幸福路1号"
    assert first.contact_phone == "13800138000" and not first.anonymous
    second = Case.objects.get(source="cn12345", external_id="GD-002")
    assert second.created_at == utc(2024, 3, 7, 0, 0)
    assert second.status == Status.ACCEPTED and second.unit == city.office_d1
    assert second.text == "晚上施工噪音,\n影响休息" and second.channel == Channel.APP
    assert second.anonymous


def test_custom_mapping_file(
    city: City, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A JSON mapping by path: semicolons, no id column (the row digest stands in), ISO times
    with offsets, a value map for statuses, and a mapping table for types and agencies."""
    mapping = {
        "source": "oldsys",
        "timezone": "Europe/Berlin",
        "columns": {
            "created": "opened",
            "closed": ["finished", "done_at"],
            "type": "kind",
            "agency": "team",
            "status": "state",
            "point": "where",
            "description": {"first": ["details", "summary"]},
        },
        "date_formats": ["iso", "%d.%m.%Y %H:%M"],
        "status_map": {"OK": "closed", "NEW": "submitted", "NO": "rejected"},
        "categories": {"Leak": "water.leak"},
        "units": {"Team W": "WATER"},
    }
    mapping_path = tmp_path / "oldsys.json"
    mapping_path.write_text(json.dumps(mapping), encoding="utf-8")
    csv_path = tmp_path / "old.csv"
    csv_path.write_text(
        "opened;finished;kind;team;state;where;details;summary\n"
        "2024-05-01T08:00:00+02:00;2024-05-01T10:00:00Z;Leak;Team W;ok;POINT (121.405 31.205);;Wet floor\n"
        "\n"
        "01.05.2024 09:00;;Leak;;NEW;(31.205, 121.305);Dripping tap;\n"
        "02.05.2024 09:00;03.05.2024 09:00;Leak;;NO;;Not ours;\n",
        encoding="utf-8",
    )
    code, out, _err = run(capsys, str(csv_path), "--mapping", str(mapping_path))
    assert code == 0, out
    closed = Case.objects.get(status=Status.CLOSED)
    assert closed.created_at == utc(2024, 5, 1, 6, 0) and closed.closed_at == utc(2024, 5, 1, 10, 0)
    assert closed.unit == city.water_dept and closed.category == city.water_leak
    assert closed.text == "Wet floor" and closed.area == city.grid_d1
    assert closed.external_id.startswith("sha1:")
    new = Case.objects.get(status=Status.SUBMITTED)
    # Berlin is UTC+2 in May.
    assert new.created_at == utc(2024, 5, 1, 7, 0) and new.text == "Dripping tap"
    assert new.area is not None and new.area.code == "D2S1C1G1"
    assert [e.kind for e in new.events.all()] == ["submit"]
    rejected = Case.objects.get(status=Status.REJECTED)
    assert rejected.closed_at == utc(2024, 5, 3, 7, 0) and rejected.reject_reason == "NO"
    assert [e.kind for e in rejected.events.all()] == ["submit", "triage", "reject"]
    # Without an id column the rows' content identifies them: a second run finds them all.
    code, out, _err = run(capsys, str(csv_path), "--mapping", str(mapping_path), "--skip-bad")
    assert code == 0 and "3 already imported" in out[-1] and Case.objects.count() == 3


def test_unusable_mapping_or_file_exits_2(
    city: City, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_mapping = tmp_path / "bad.json"
    bad_mapping.write_text(
        json.dumps(
            {"source": "x", "columns": {"created": "c"}, "status_map": {"Done": "finished"}}
        ),
        encoding="utf-8",
    )
    code, _out, err = run(capsys, str(nyc_file(tmp_path)), "--mapping", str(bad_mapping))
    assert code == 2 and "status_map sends 'done' to 'finished'" in err

    code, _out, err = run(capsys, str(nyc_file(tmp_path)), "--mapping", "no-such-mapping")
    assert code == 2 and "No mapping 'no-such-mapping'" in err and "nyc311" in err

    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,when\n1,2024-01-01\n", encoding="utf-8")
    code, _out, err = run(capsys, str(wrong), "--mapping", "nyc311")
    assert code == 2 and "The header has no column 'Unique Key'" in err

    code, _out, err = run(capsys, str(tmp_path / "missing.csv"), "--mapping", "nyc311")
    assert code == 2 and "Cannot read" in err
    assert Case.objects.count() == 0


def test_ragged_rows_and_progress(
    city: City, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = nyc_file(
        tmp_path,
        [NYC_ROWS[0], "1013,10/21/18 9:00,,WATER", NYC_ROWS[0].replace("1001", "1014") + ",,"],
    )
    code, out, err = run(capsys, str(path), "--mapping", "nyc311")
    assert code == 1
    # Trailing empty fields (as spreadsheets leave them) are fine; missing ones are not.
    assert out == [
        "line 3: the row has 4 fields, the header 14 (a quote or delimiter out of place?)"
    ]
    code = 0
    try:
        cli.main(["urbangov", "import-cases", str(path), "--mapping", "nyc311", "--skip-bad"])
    except SystemExit as exc:
        code = int(exc.code or 0)
    _out, err = capsys.readouterr()
    assert code == 0
    assert "import-cases: 3 rows read and checked (whole file)" in err
    assert "import-cases: 2 cases written" in err


def test_parse_time_tells_impossible_from_unknown() -> None:
    zone = ZoneInfo("UTC")
    with pytest.raises(importer.BadValue, match="impossible date '2/30/2019'"):
        importer.parse_time("2/30/2019", ["%m/%d/%Y"], zone)
    with pytest.raises(importer.BadValue, match="not a date in the known formats"):
        importer.parse_time("yesterday", ["%m/%d/%Y", "iso"], zone)
    assert importer.parse_time("2019-02-28T23:00:00-05:00", ["iso"], zone) == utc(2019, 3, 1, 4)


def test_decode_falls_back_from_utf8_to_gb18030() -> None:
    assert importer.decode("a,b\n".encode("utf-8-sig")) == ("a,b\n", "utf-8-sig")
    assert importer.decode("工单,状态\n".encode("gbk")) == ("工单,状态\n", "gb18030")
    assert importer.decode("工单,状态\n".encode()) == ("工单,状态\n", "utf-8")
    with pytest.raises(importer.ImportFileError, match="not valid ascii"):
        importer.decode("工单".encode(), "ascii")


# --- the real NYC sample -------------------------------------------------------------------


@pytest.mark.skipif(not NYC_SAMPLE.exists(), reason="the NYC 311 sample is not on this machine")
def test_nyc_sample_into_an_empty_city(db: None, capsys: pytest.CaptureFixture[str]) -> None:
    with NYC_SAMPLE.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # No field spans lines, so row i (from 0) is on line i + 2.
    assert sum(1 for _ in NYC_SAMPLE.open(encoding="utf-8-sig")) == len(rows) + 1

    # The file's own ISO columns, parsed independently of the importer, say which are bad.
    def iso(value: str) -> datetime:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=NY)

    bad_lines = [
        i + 2
        for i, r in enumerate(rows)
        if r["closed_at_iso"] and iso(r["closed_at_iso"]) < iso(r["created_at_iso"])
    ]
    good = [r for i, r in enumerate(rows) if i + 2 not in bad_lines]

    code, out, _err = run(
        capsys, str(NYC_SAMPLE), "--mapping", "nyc311", "--create-missing", "--skip-bad", "--json"
    )
    assert code == 0
    summary = json.loads(out[-1])
    assert summary["rows"] == len(rows) == 7765
    assert [e["line"] for e in summary["errors"]] == bad_lines
    assert all("before it was created" in e["reasons"][0] for e in summary["errors"])
    assert summary["imported"] == len(good) == Case.objects.filter(source="nyc311").count()
    assert sorted(summary["categories_created"]) == sorted(
        Category.objects.values_list("code", flat=True)
    )
    assert Category.objects.count() == len({r["Complaint Type"] for r in good})
    assert set(Unit.objects.values_list("code", flat=True)) == {r["Agency"] for r in good}

    cases = {c.external_id: c for c in Case.objects.all()}
    by_status = Counter(c.status for c in cases.values())
    source_status = Counter(r["Status"] for r in good)
    assert by_status[Status.CLOSED] == source_status["Closed"]
    assert by_status[Status.DISPATCHED] == source_status["Open"]
    assert by_status[Status.AWAITING_DISPATCH] == source_status["Unassigned"]
    assert by_status[Status.ACCEPTED] == sum(
        source_status[s] for s in ("Assigned", "Started", "In Progress", "Pending", "Email Sent")
    )
    channels = Counter(c.channel for c in cases.values())
    source_channels = Counter(r["Open Data Channel Type"] for r in good)
    assert channels[Channel.PHONE] == source_channels["PHONE"]
    assert channels[Channel.WEB] == source_channels["ONLINE"]
    assert channels[Channel.APP] == source_channels["MOBILE"]
    assert sum(1 for c in cases.values() if c.has_location()) == sum(
        1 for r in good if r["Latitude"]
    )

    for r in good:
        case = cases[r["Unique Key"]]
        assert case.created_at == iso(r["created_at_iso"]), r["Unique Key"]
        if r["Status"] == "Closed":
            if r["closed_at_iso"]:
                assert case.closed_at == iso(r["closed_at_iso"]), r["Unique Key"]
            else:
                # No closed date: the last update stands in (Excel's M/D/YY H:MM here).
                updated = datetime.strptime(
                    r["Resolution Action Updated Date"], "%m/%d/%y %H:%M"
                ).replace(tzinfo=NY)
                assert case.closed_at == updated
        else:
            assert case.closed_at is None
    closed_kinds = Counter(
        tuple(c.events.values_list("kind", flat=True))
        for c in Case.objects.filter(status=Status.CLOSED)[:50]
    )
    assert list(closed_kinds) == [("submit", "triage", "dispatch", "accept", "resolve", "close")]
    assert AuditEvent.objects.get(action="case.load_history").data["cases"] == len(good)

    code, out, _err = run(capsys, str(NYC_SAMPLE), "--mapping", "nyc311", "--skip-bad", "--json")
    again = json.loads(out[-1])
    assert code == 0 and again["imported"] == 0 and again["already_imported"] == len(good)
    assert Case.objects.count() == len(good)


def test_a_nul_byte_in_a_field_is_a_bad_row_not_a_crash(
    city: City, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [NYC_ROWS[0], NYC_ROWS[0].replace("1000,", "1099,", 1).replace("Leak", "Le\x00ak", 1)]
    code, out, _err = run(capsys, str(nyc_file(tmp_path, rows)), "--mapping", "nyc311")
    assert code == 1
    assert len(out) == 1 and out[0].startswith("line 3: ") and "control characters" in out[0]
    assert Case.objects.count() == 0
