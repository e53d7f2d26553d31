"""The Excel specification: Pinnacle 21 layout, an exact round trip, and errors naming sheet, row and column."""

from __future__ import annotations

import pytest
from define_fixtures import adam_bundle, sdtm_bundle
from openpyxl import load_workbook

from sdtmify.cli import main
from sdtmify.errors import MetadataError
from sdtmify.metadata import serialize
from sdtmify.metadata.spec_xlsx import (
    export_spec,
    import_spec,
    metadata_rows,
    read_workbook,
    workbook_bytes,
    write_workbook,
)


@pytest.fixture(scope="module")
def metadatas():
    return {"SDTM": sdtm_bundle().metadata, "ADaM": adam_bundle().metadata}


@pytest.fixture
def home(tmp_path, monkeypatch, metadatas):
    """A project with study S whose last build left its metadata snapshots."""
    monkeypatch.setenv("SDTMIFY_HOME", str(tmp_path))
    (tmp_path / "specs").mkdir()
    (tmp_path / "mappings" / "S").mkdir(parents=True)
    for model_name, md in metadatas.items():
        serialize.dump(md, tmp_path / "output" / "S" / "metadata" / f"{model_name.lower()}.json")
    return tmp_path


def _contents(path):
    wb = load_workbook(path, read_only=True)
    try:
        return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    finally:
        wb.close()


def _edit(path, sheet, row, column, value):
    wb = load_workbook(path)
    ws = wb[sheet]
    header = [c.value for c in ws[1]]
    ws.cell(row=row, column=header.index(column) + 1, value=value)
    wb.save(path)


def _find_row(path, sheet, **match):
    contents = _contents(path)[sheet]
    header = contents[0]
    for number, row in enumerate(contents[1:], start=2):
        if all(row[header.index(k)] == v for k, v in match.items()):
            return number
    raise AssertionError(f"no {match} on {sheet}")


def test_workbook_has_the_pinnacle_21_sheets_and_headers(tmp_path, metadatas):
    path = write_workbook(metadatas, tmp_path / "spec.xlsx")
    contents = _contents(path)
    assert list(contents) == [
        "Study",
        "Standards",
        "Datasets",
        "Variables",
        "ValueLevel",
        "WhereClauses",
        "Codelists",
        "Dictionaries",
        "Methods",
        "Comments",
        "Documents",
    ]
    assert contents["Variables"][0][:10] == (
        "Order",
        "Dataset",
        "Variable",
        "Label",
        "Data Type",
        "Length",
        "Significant Digits",
        "Format",
        "Mandatory",
        "Codelist",
    )
    ae = [row for row in contents["Variables"] if row[1] == "AE"]
    assert [row[2] for row in ae] == list(sdtm_bundle().datasets["AE"].meta.variable_names)
    header = contents["Datasets"][0]
    ae_row = next(row for row in contents["Datasets"] if row[1] == "AE")
    assert ae_row[header.index("Key Variables")] == "STUDYID, USUBJID, AEDECOD, AESTDTC"
    clauses = [row for row in contents["WhereClauses"] if row[0] == "WC.ADRS.PARAMCD.BOR"]
    assert clauses == [("WC.ADRS.PARAMCD.BOR", None, "PARAMCD", "EQ", "BOR", None)]
    perk = next(row for row in contents["Codelists"] if row[9] == "PERK")
    assert (perk[1], perk[10], perk[12]) == ("CL.LBTESTCD", None, "Yes")
    meddra = next(row for row in contents["Dictionaries"] if row[1] == "CL.MEDDRA")
    assert meddra == ("SDTM", "CL.MEDDRA", "MedDRA", "text", "MedDRA", "12.0")


def test_workbook_reads_back_to_the_same_metadata(tmp_path, metadatas):
    path = write_workbook(metadatas, tmp_path / "spec.xlsx")
    assert read_workbook(path) == metadatas


def test_same_metadata_gives_the_same_workbook_bytes(metadatas):
    import io
    import zipfile

    data = workbook_bytes(metadata_rows(metadatas))
    assert data == workbook_bytes(metadata_rows(metadatas))
    # Nothing in the file depends on the clock: zip member times and document times are fixed.
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert {info.date_time for info in archive.infolist()} == {(2000, 1, 1, 0, 0, 0)}
    core = archive.read("docProps/core.xml").decode()
    assert core.count("2000-01-01T00:00:00Z") == 2


def test_export_import_export_round_trip_through_the_cli(home, tmp_path, metadatas):
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    assert main(["-q", "spec", "export", "--study", "S", "--out", str(first)]) == 0
    assert main(["-q", "spec", "import", str(first), "--study", "S"]) == 0
    written = sorted(p.name for p in (home / "mappings" / "S" / "spec").iterdir())
    assert written == ["adam.json", "sdtm.json"]
    assert serialize.load(home / "mappings" / "S" / "spec" / "sdtm.json") == metadatas["SDTM"]
    assert main(["-q", "spec", "export", "--study", "S", "--out", str(second)]) == 0
    assert _contents(first) == _contents(second)
    assert first.read_bytes() == second.read_bytes()


def test_an_edited_label_lands_in_the_study_spec(home, tmp_path):
    path = export_spec("S", tmp_path / "spec.xlsx")
    row = _find_row(path, "Variables", Dataset="AE", Variable="AETERM")
    _edit(path, "Variables", row, "Label", "Reported Term for the AE")
    import_spec(path, "S")
    spec = serialize.load(home / "mappings" / "S" / "spec" / "sdtm.json")
    assert spec.dataset("AE").variable("AETERM").label == "Reported Term for the AE"
    again = export_spec("S", tmp_path / "again.xlsx")
    assert _contents(again)["Variables"][row - 1][3] == "Reported Term for the AE"


def test_missing_sheet_is_named(tmp_path, metadatas):
    path = write_workbook(metadatas, tmp_path / "spec.xlsx")
    wb = load_workbook(path)
    del wb["WhereClauses"]
    wb.save(path)
    with pytest.raises(MetadataError) as info:
        read_workbook(path)
    assert str(info.value).startswith(
        "spec.xlsx: sheet 'WhereClauses' is missing; a spec workbook has the sheets Study,"
    )


def test_missing_column_is_named(tmp_path, metadatas):
    path = write_workbook(metadatas, tmp_path / "spec.xlsx")
    _edit(path, "Variables", 1, "Label", "Labels")
    with pytest.raises(
        MetadataError, match=r"^spec\.xlsx\[Variables\]:1: column 'Label' is missing from the header row$"
    ):
        read_workbook(path)


def test_unknown_dataset_names_sheet_row_and_column(tmp_path, metadatas):
    path = write_workbook(metadatas, tmp_path / "spec.xlsx")
    row = _find_row(path, "Variables", Dataset="AE", Variable="AESER")
    _edit(path, "Variables", row, "Dataset", "AEX")
    with pytest.raises(MetadataError) as info:
        read_workbook(path)
    assert str(info.value) == (
        f"spec.xlsx[Variables]:{row} column B 'Dataset': dataset 'AEX' is not on the Datasets sheet; add it there first"
    )


def test_duplicate_variable_names_both_rows(tmp_path, metadatas):
    path = write_workbook(metadatas, tmp_path / "spec.xlsx")
    first = _find_row(path, "Variables", Dataset="AE", Variable="AETERM")
    row = _find_row(path, "Variables", Dataset="AE", Variable="AESER")
    _edit(path, "Variables", row, "Variable", "AETERM")
    with pytest.raises(MetadataError) as info:
        read_workbook(path)
    assert str(info.value) == (
        f"spec.xlsx[Variables]:{row} column C 'Variable': variable AE.AETERM is listed twice (first at row {first})"
    )


@pytest.mark.parametrize(
    "sheet, match, column, value, message",
    [
        (
            "Variables",
            {"Dataset": "AE", "Variable": "AESER"},
            "Codelist",
            "CL.NOPE",
            "column J 'Codelist': codelist 'CL.NOPE' is not on the Codelists or Dictionaries sheet of this model",
        ),
        (
            "Variables",
            {"Dataset": "AE", "Variable": "AESER"},
            "Data Type",
            "string",
            "column E 'Data Type': 'string' is not one of: text, integer, float",
        ),
        (
            "Variables",
            {"Dataset": "AE", "Variable": "AESER"},
            "Length",
            "one",
            "column F 'Length': 'Length' should be a whole number, not 'one'",
        ),
        (
            "ValueLevel",
            {"Dataset": "LB", "Variable": "LBORRES"},
            "Where Clause",
            "WC.LB.NOPE",
            "column D 'Where Clause': where clause 'WC.LB.NOPE' is not on the WhereClauses sheet",
        ),
        (
            "Variables",
            {"Dataset": "ADSL", "Variable": "AGE"},
            "Method",
            "MT.AESEQ",
            "column N 'Method': method 'MT.AESEQ' is not on the Methods sheet of this model",
        ),
    ],
)
def test_bad_cells_are_reported_where_they_are(tmp_path, metadatas, sheet, match, column, value, message):
    path = write_workbook(metadatas, tmp_path / "spec.xlsx")
    row = _find_row(path, sheet, **match)
    _edit(path, sheet, row, column, value)
    with pytest.raises(MetadataError) as info:
        read_workbook(path)
    assert str(info.value).startswith(f"spec.xlsx[{sheet}]:{row} {message}")


def test_import_writes_nothing_when_the_workbook_is_bad(home, tmp_path):
    path = export_spec("S", tmp_path / "spec.xlsx")
    _edit(path, "Datasets", _find_row(path, "Datasets", Dataset="DM"), "Repeating", "Maybe")
    with pytest.raises(MetadataError, match=r"\[Datasets\]:\d+ column J 'Repeating': 'Maybe' is not one of: Yes, No"):
        import_spec(path, "S")
    assert not (home / "mappings" / "S" / "spec").exists()


def test_export_without_metadata_says_to_build_first(tmp_path, monkeypatch):
    monkeypatch.setenv("SDTMIFY_HOME", str(tmp_path))
    (tmp_path / "specs").mkdir()
    (tmp_path / "mappings" / "S").mkdir(parents=True)
    with pytest.raises(MetadataError, match=r"run `sdtmify build --study S`"):
        export_spec("S", tmp_path / "spec.xlsx")
