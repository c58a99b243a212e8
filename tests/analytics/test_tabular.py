"""The CSV reading rules every file verb shares (urbangov.analytics.tabular)."""

from __future__ import annotations

from pathlib import Path

import pytest

from urbangov.analytics import tabular

ROWS = '工单,内容\r\n1,路灯不亮\r\n2,"楼道\r\n漏水"\r\n3,噪音\r\n'


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (ROWS.encode("utf-8"), "utf-8"),
        (ROWS.encode("utf-8-sig"), "utf-8-sig"),
        (ROWS.encode("utf-16"), "utf-16"),
        (ROWS.encode("gbk"), "gb18030"),
        ("id,text\r\n1,café crème\r\n".encode("cp1252"), "cp1252"),
    ],
)
def test_decode_follows_the_documented_order(data: bytes, encoding: str) -> None:
    text, used = tabular.decode(data)
    assert used == encoding
    assert text.lstrip("\ufeff") == data.decode(encoding).lstrip("\ufeff")


def test_named_encodings_and_undecodable_bytes() -> None:
    assert tabular.decode("\ufeffa,b".encode("utf-8"), "utf-8") == ("a,b", "utf-8")
    with pytest.raises(tabular.DecodeError, match=r"not valid ascii text \(line 2, byte 4\)"):
        tabular.decode("a,b\n工".encode(), "ascii")
    with pytest.raises(tabular.UnknownEncoding, match="unknown encoding 'klingon'"):
        tabular.decode(b"a", "klingon")
    # 0x81 is undefined in Windows-1252, and 0xff ends no GB18030 sequence.
    with pytest.raises(tabular.DecodeError, match="cp1252"):
        tabular.decode(b"a\n\x81\x8d\xff")


@pytest.mark.parametrize(
    ("first", "expected"),
    [("a,b,c", ","), ("a;b;c", ";"), ("a\tb\tc", "\t"), ("a|b", "|"), ("single", ",")],
)
def test_sniffing_the_delimiter(first: str, expected: str) -> None:
    assert tabular.sniff_delimiter(f"\n\n{first}\n1,2;3\n") == expected


def test_read_table_lines_header_and_short_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(
        (' 工单 ; 内容 ;备注\r\n1;路灯不亮;\r\n\r\n2;"楼道\r\n漏水"\r\n3;噪音;夜间\r\n').encode(
            "gbk"
        )
    )
    table = tabular.read_table(path, ["工单", "内容"])
    assert table.header == ["工单", "内容", "备注"]
    assert (table.encoding, table.delimiter) == ("gb18030", ";")
    # Physical line numbers; the empty line is skipped, the short row padded.
    assert [line for line, _row in table.rows] == [2, 4, 6]
    assert table.rows[1][1] == {"工单": "2", "内容": "楼道\r\n漏水", "备注": ""}
    assert table.column("备注") == ["", "", "夜间"]


def test_read_table_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,text\n1,a\n", encoding="utf-8")
    with pytest.raises(
        tabular.TableError, match=r"t\.csv: no column 'label'; the columns are 'id', 'text'"
    ):
        tabular.read_table(path, ["text", "label"])
    with pytest.raises(tabular.TableError, match=r"absent\.csv: no such file"):
        tabular.read_table(tmp_path / "absent.csv")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert tabular.read_table(empty).rows == []
