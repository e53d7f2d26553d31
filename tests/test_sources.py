"""Source tables are read as the text they hold, with a 1-based row id, whatever their format."""

from __future__ import annotations

import csv
import datetime as dt
import io
from unittest import mock

import pandas as pd
import pyreadstat
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sdtmify import readers
from sdtmify.errors import InputError, SourceError
from sdtmify.readers import _lines, csv_field_counts, csv_values_unpadded
from sdtmify.sources import ROW_ID, _all_distinct, read_source
from sdtmify.study import load_study


def test_csv_keeps_text_as_written(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("site,code,result\n001,NA,<10\n002,, 4.20 \n")
    frame = read_source(path)
    assert frame["site"].tolist() == ["001", "002"]
    assert frame["code"].tolist() == ["NA", ""]
    assert frame["result"].tolist() == ["<10", "4.20"]
    assert frame[ROW_ID].tolist() == [1, 2]


def test_xlsx_sheet_dates_and_numbers_as_text(tmp_path):
    path = tmp_path / "w.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="Other", index=False)
        pd.DataFrame(
            {
                "id": ["007", "008"],
                "n": [3, 4.5],
                "when": [dt.datetime(2004, 3, 7), dt.datetime(2004, 3, 8, 14, 5)],
                "blank": ["a", None],
            }
        ).to_excel(writer, sheet_name="Data", index=False)
    frame = read_source(path, sheet="Data")
    assert frame["id"].tolist() == ["007", "008"]
    assert frame["n"].tolist() == ["3", "4.5"]
    assert frame["when"].tolist() == ["2004-03-07", "2004-03-08T14:05:00"]
    assert frame["blank"].tolist() == ["a", ""]
    assert frame[ROW_ID].tolist() == [1, 2]


def test_xlsx_keeps_text_that_looks_missing_as_csv_does(tmp_path):
    rows = {"action": ["None", "NA", "null", "N/A", "", "Dose reduced"], "dose": [1, 2.5, None, 4, 5, 6]}
    pd.DataFrame(rows).to_csv(tmp_path / "t.csv", index=False)
    pd.DataFrame(rows).to_excel(tmp_path / "t.xlsx", index=False)
    assert read_source(tmp_path / "t.csv")["action"].tolist() == rows["action"]
    assert read_source(tmp_path / "t.xlsx")["action"].tolist() == rows["action"]
    assert read_source(tmp_path / "t.xlsx")["dose"].tolist() == ["1", "2.5", "", "4", "5", "6"]  # a blank is empty


def test_missing_sheet_says_what_to_fix(tmp_path):
    path = tmp_path / "w.xlsx"
    pd.DataFrame({"x": [1]}).to_excel(path, sheet_name="Data", index=False)
    with pytest.raises(SourceError) as info:
        read_source(path, sheet="Labs")
    assert str(info.value).endswith("w.xlsx: sheet 'Labs' not found in the workbook; fix 'sheet' in study.yaml")


def test_xpt_source_numbers_become_text(tmp_path):
    path = tmp_path / "src.xpt"
    pyreadstat.write_xport(pd.DataFrame({"SUBJ": ["A", "B"], "DOSE": [4.0, 2.5]}), str(path), table_name="SRC")
    frame = read_source(path)
    assert frame["SUBJ"].tolist() == ["A", "B"] and frame["DOSE"].tolist() == ["4", "2.5"]
    assert frame[ROW_ID].tolist() == [1, 2]


def test_xpt_source_sas_dates_datetimes_and_times_become_iso_text(tmp_path):
    path = tmp_path / "dates.xpt"
    day = 16137.0  # 2004-03-07 in days since 1960-01-01
    frame = pd.DataFrame(
        {
            "DT": [day, -1.0, float("nan")],
            "DTM": [day * 86400 + 50709, day * 86400, float("nan")],
            "TM": [50709.0, 0.0, float("nan")],
        }
    )
    pyreadstat.write_xport(
        frame,
        str(path),
        table_name="SRC",
        file_format_version=5,
        variable_format={"DT": "DATE9.", "DTM": "DATETIME20.", "TM": "TIME8."},
    )
    read = read_source(path)
    assert read["DT"].tolist() == ["2004-03-07", "1959-12-31", ""]
    assert read["DTM"].tolist() == ["2004-03-07T14:05:09", "2004-03-07", ""]
    assert read["TM"].tolist() == ["14:05:09", "00:00:00", ""]


def test_xpt_source_in_windows_1252_is_read_without_losing_a_last_accented_letter(tmp_path):
    path = tmp_path / "sites.xpt"
    pyreadstat.write_xport(
        pd.DataFrame({"SITE": ["CAFX", "MXNCHEN"]}), str(path), table_name="SRC", file_format_version=5
    )
    # Windows-1252 bytes (not UTF-8): a final one is what a lax UTF-8 decoder silently drops
    path.write_bytes(path.read_bytes().replace(b"CAFX", b"CAF\xc9").replace(b"MXNCHEN", b"M\xdcNCHEN"))
    assert read_source(path)["SITE"].tolist() == ["CAF\u00c9", "M\u00dcNCHEN"]
    with pytest.raises(
        SourceError,
        match=r"sites.xpt: cannot read XPT table 'sites.xpt' .*if its text is not "
        r"ascii, set its 'encoding' in study.yaml",
    ):
        read_source(path, encoding="ascii")


def test_missing_source_file(tmp_path):
    with pytest.raises(SourceError) as info:
        read_source(tmp_path / "nope.csv", name="labs")
    assert "source table 'labs' not found; create it or fix 'file' in study.yaml" in str(info.value)


def test_unknown_study_names_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SDTMIFY_HOME", str(tmp_path))
    (tmp_path / "mappings").mkdir()
    (tmp_path / "specs").mkdir()
    with pytest.raises(InputError) as info:
        load_study("NOSUCH")
    assert "study 'NOSUCH' not found" in str(info.value) and str(tmp_path / "mappings" / "NOSUCH") in str(info.value)


def test_study_contract(tmp_path):
    import shutil
    from pathlib import Path

    folder = tmp_path / "studies" / "ONCO2"
    shutil.copytree(Path(__file__).parent / "studies" / "ONCO2", folder)
    study = load_study(folder)
    assert study.name == "ONCO2" and study.studyid == "ONCO2" and study.folder == folder.resolve()
    assert study.timestamp == dt.datetime(2025, 6, 30, 12, 0)
    assert study.xpt_options == {} and not study.has_adam and not study.has_report
    assert study.sources["labs_wide"].sheet == "LabsWide" and study.sources["labs_wide"].format == "xlsx"


def _fields_one_byte_at_a_time(data: bytes) -> tuple[list[int], list[int]]:
    """The RFC 4180 reading csv_field_counts must agree with, spelled out byte by byte: a line end or a
    comma inside quotes belongs to the value; a record that is empty or only "\r" is a blank line."""
    fields, lines = [], []
    quoted, record, commas, line, first_line = False, b"", 0, 1, 1
    for byte in data:
        if byte == ord("\n") and not quoted:
            if record not in (b"", b"\r"):
                fields.append(commas + 1)
                lines.append(first_line)
            record, commas, first_line = b"", 0, line + 1
        else:
            record += bytes([byte])
            quoted ^= byte == ord('"')
            commas += byte == ord(",") and not quoted
        line += byte == ord("\n")
    if record not in (b"", b"\r"):
        fields.append(commas + 1)
        lines.append(first_line)
    return fields, lines


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40).map(lambda raw: bytes(b'a,"\n\r '[x % 6] for x in raw)))
def test_csv_field_counts_follow_quotes_and_line_ends(data):
    fields, lines = csv_field_counts(data)
    assert (fields.tolist(), lines.tolist()) == _fields_one_byte_at_a_time(data)


def test_csv_field_counts_of_quoted_commas_and_line_ends():
    data = b'id,note\n1,"a, b"\n\n2,"two\nlines"\r\n3,x,extra\n'
    fields, lines = csv_field_counts(data)
    assert fields.tolist() == [2, 2, 2, 3]
    assert lines.tolist() == [1, 2, 4, 6]


@pytest.mark.parametrize(
    "text", ["a,b\n1,2\n", "a,b\r\n1,2\r\n", "a,b\r1,2\r", '\ufeffa,"b\nc"\n1,2\n', "", "a,b", "\ufeff", '"a\rb",c\r\n']
)
def test_header_lines_are_cut_as_a_newline_blind_text_file_cuts_them(text):
    assert list(_lines(text)) == list(io.StringIO(text.removeprefix("\ufeff"), newline=""))


# --- the fast paths of the CSV reader agree with a plain reading -----------------------------------------

_VALUES = ["", "a", " a", "a ", "0", "007", "NA", "null", "N A", "\ta", "a\xa0", "\xe9", " ", "x,y", 'q"q', "l\nm"]


def _csv_value(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(_VALUES), min_size=3, max_size=3), max_size=5),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
)
def test_csv_reads_as_the_csv_module_reads_it_stripped(tmp_path_factory, rows, end, bom):
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    text = end.join(",".join(map(_csv_value, row)) for row in [["id", " b", "c "], *rows]) + end
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    expected = [[value.strip() for value in row] for row in csv.reader(io.StringIO(text, newline=""))]
    frame = read_source(path)
    assert list(frame.columns) == [*expected[0], ROW_ID]
    assert frame.drop(columns=ROW_ID).to_numpy().tolist() == expected[1:]


@pytest.mark.parametrize(
    ("data", "unpadded"),
    [
        (b"a,b\n1,2\n", True),
        (b"a , b\r\n1,2 3\r\n4,5", True),  # blanks inside a value or around a header name are no padding
        (b"a,b\n1, 2\n", False),
        (b"a,b\n1 ,2\n", False),
        (b"a,b\n1,2\n 3,4\n", False),
        (b"a,b\n1,2 \r\n", False),
        (b"a,b\n1,2 ", False),
        (b"a,b\n1,2\r3,4\n", False),  # a lone carriage return ends a record for pandas
        (b"a,b\n1,\xc2\xa0\n", False),  # NO-BREAK SPACE
        (b"a,b\n1,\t\n", False),
        (b'a,b\n1,"2"\n', False),
    ],
)
def test_csv_values_unpadded_looks_at_every_value_edge(data, unpadded):
    assert csv_values_unpadded(data) is unpadded


def test_a_csv_header_naming_a_column_twice_is_refused_on_either_path(tmp_path):
    for text in ("id,x, x\n1,2,3\n", '"id",x,x\n1,2,3\n', "id,x,x,\xe9\n1,2,3,4\n", "\ufeffid,x,x\n1,2,3\n"):
        path = tmp_path / "t.csv"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(InputError, match="the header names column 'x' more than once"):
            read_source(path)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["S1", "S2", ""]), st.sampled_from(["A", "B"]), st.integers(0, 2))))
def test_source_keys_are_told_apart_as_pandas_duplicated_does(rows):
    frame = pd.DataFrame(rows, columns=["subject", "test", "n"]).astype({"n": str})
    keys = ["subject", "test", "n"]
    assert _all_distinct(frame, keys) is not bool(frame.duplicated(subset=keys).any())


def test_source_keys_too_many_to_number_together_are_still_told_apart():
    # seven keys of a thousand values each: more combinations than an int64 holds
    frame = pd.DataFrame({f"k{i}": [f"{(row * 7919 + i) % 1000}" for row in range(1000)] for i in range(7)})
    assert _all_distinct(frame, list(frame.columns))
    again = pd.concat([frame, frame.iloc[[417]]], ignore_index=True)
    assert not _all_distinct(again, list(frame.columns))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=30).map(lambda raw: bytes(b'a,\n\r \xa0a,"'[x % 9] for x in raw)), st.integers(1, 4))
@example(b"id,x\nab ,c\n", 2)
@example(b"id,x\r\nab, c\r\n", 2)
def test_csv_byte_checks_agree_with_a_record_by_record_reading_across_blocks(data, columns):
    with mock.patch.object(readers, "_BLOCK", 4):  # blocks of 4 bytes: every record crosses a boundary
        vouched, unpadded = readers.csv_fields_vouched(data, columns), readers.csv_values_unpadded(data)
    fields, _ = csv_field_counts(data)
    assert vouched is (bool(data) and b'"' not in data and data.count(b",") == (columns - 1) * fields.size)
    if unpadded and b"\r" not in data:  # then every value below the header is as the csv module cuts it
        values = [
            value for row in list(csv.reader(io.StringIO(data.decode("latin-1"), newline="")))[1:] for value in row
        ]
        assert all(value == value.strip() for value in values)


def test_a_bad_byte_after_a_byte_order_mark_is_named_by_its_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbfid,x\n1,2\n3,\xff\n")
    with pytest.raises(InputError, match="byte 0xff on line 3 is not utf-8"):
        read_source(path)
