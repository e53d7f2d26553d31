"""Dataset-JSON 1.1 (.json and .ndjson): valid against the CDISC schema, itemOIDs as define.xml names
them, types/lengths/formats/keys from the metadata, times from the study, records streamed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from sdtmify.errors import WriteError
from sdtmify.metadata import oids
from sdtmify.metadata.model import Dataset, StudyMetadata, Variable
from sdtmify.readers import read_dataset
from sdtmify.writers.convert import convert
from sdtmify.writers.datasetjson import prepare_dataset_json, write_dataset_json, write_forms

STAMP = dt.datetime(2026, 3, 4, 5, 6, 7)


@pytest.fixture(scope="module")
def validator(shared):
    schema = json.loads((shared / "reference" / "schemas" / "dataset-json-1.1.schema.json").read_text())
    return jsonschema.Draft201909Validator(schema)


def load(path: Path) -> dict:
    """A .json document, or an .ndjson file reassembled into one (metadata line + rows)."""
    if path.suffix == ".ndjson":
        lines = path.read_text(encoding="utf-8").splitlines()
        document = json.loads(lines[0])
        assert "rows" not in document
        document["rows"] = [json.loads(line) for line in lines[1:]]
        return document
    return json.loads(path.read_text(encoding="utf-8"))


def assert_valid(validator, path: Path) -> dict:
    document = load(path)
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)]
    assert not errors, errors[:5]
    return document


ADSL = Dataset(
    name="ADSL",
    label="Subject-Level Analysis Dataset",
    purpose="Analysis",
    keys=("STUDYID", "USUBJID"),
    variables=(
        Variable("STUDYID", "Study Identifier", "Char", 8, "text", 1),
        Variable("USUBJID", "Unique Subject Identifier", "Char", 12, "text", 2),
        Variable("AGE", "Age", "Num", 8, "integer", 3),
        Variable("HEIGHTBL", "Baseline Height (cm)", "Num", 8, "float", 4, format="8.1"),
        Variable("TRTSDT", "Date of First Exposure to Treatment", "Num", 8, "integer", 5, format="DATE9."),
        Variable("TRTSDTM", "Datetime of First Exposure to Treatment", "Num", 8, "integer", 6, format="DATETIME20."),
        Variable("SAFFL", "Safety Population Flag", "Char", 1, "text", 7),
    ),
)
METADATA = StudyMetadata(study_oid="STUDY.NCI84", study_name="NCI84", description="", protocol_name="84")


@pytest.fixture(scope="module")
def adsl() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "STUDYID": ["NCI84"] * 4,
            "USUBJID": ["NCI84-001", "NCI84-002", "NCI84-003", "NCI84-\u00e9"],
            "AGE": [54.0, 61.0, np.nan, 70.0],
            "HEIGHTBL": [170.2, np.nan, 0.1, -0.0],
            "TRTSDT": [19725.0, np.nan, 0.0, -1.0],
            "TRTSDTM": [60.0, 19725 * 86400.0 + 3723, np.nan, -1.0],
            "SAFFL": ["Y", "", None, "N"],
        }
    )


@pytest.mark.parametrize("ndjson", [False, True])
def test_dataset_json_is_valid_and_carries_the_metadata(validator, tmp_path, adsl, ndjson):
    path = write_dataset_json(
        adsl,
        ADSL,
        tmp_path / f"adsl.{'ndjson' if ndjson else 'json'}",
        metadata=METADATA,
        ndjson=ndjson,
        created=STAMP,
        modified=STAMP,
        standard="ADaM",
        metadata_ref="../define.xml",
    )
    doc = assert_valid(validator, path)
    assert doc["datasetJSONVersion"] == "1.1.0"
    assert doc["datasetJSONCreationDateTime"] == doc["dbLastModifiedDateTime"] == "2026-03-04T05:06:07"
    assert (doc["studyOID"], doc["metaDataVersionOID"]) == ("STUDY.NCI84", "MDV.STUDY.NCI84.ADAM")
    assert (doc["itemGroupOID"], doc["name"], doc["records"]) == ("IG.ADSL", "ADSL", 4)
    assert doc["metaDataRef"] == "../define.xml"
    columns = {c["name"]: c for c in doc["columns"]}
    assert [c["itemOID"] for c in doc["columns"]] == [oids.item_oid("ADSL", v.name) for v in ADSL.variables]
    assert columns["STUDYID"] == {
        "itemOID": "IT.ADSL.STUDYID",
        "name": "STUDYID",
        "label": "Study Identifier",
        "dataType": "string",
        "length": 8,
        "keySequence": 1,
    }
    assert columns["USUBJID"]["keySequence"] == 2
    assert columns["AGE"]["dataType"] == "integer" and "length" not in columns["AGE"]
    assert (columns["HEIGHTBL"]["dataType"], columns["HEIGHTBL"]["displayFormat"]) == ("double", "8.1")
    assert (columns["TRTSDT"]["dataType"], columns["TRTSDT"]["targetDataType"]) == ("date", "integer")
    assert columns["TRTSDT"]["displayFormat"] == "DATE9."
    assert columns["TRTSDTM"]["dataType"] == "datetime"
    assert doc["rows"] == [
        ["NCI84", "NCI84-001", 54, 170.2, "2014-01-02", "1960-01-01T00:01:00", "Y"],
        ["NCI84", "NCI84-002", 61, None, None, "2014-01-02T01:02:03", ""],
        ["NCI84", "NCI84-003", None, 0.1, "1960-01-01", None, ""],
        ["NCI84", "NCI84-\u00e9", 70, -0.0, "1959-12-31", "1959-12-31T23:59:59", "N"],
    ]


def test_chunked_records_give_identical_files(tmp_path, adsl):
    for ndjson in (False, True):
        one = write_dataset_json(adsl, ADSL, tmp_path / "a.json", ndjson=ndjson, created=STAMP).read_bytes()
        many = write_dataset_json(
            adsl, ADSL, tmp_path / "b.json", ndjson=ndjson, created=STAMP, chunk_rows=1
        ).read_bytes()
        assert one == many


@pytest.mark.parametrize("chunk_rows, rows", [(20_000, 4), (1, 4), (3, 4), (5, 0)])
def test_both_forms_in_one_pass_are_the_files_written_one_by_one(tmp_path, adsl, chunk_rows, rows):
    """The build encodes each record once and writes it to .json and .ndjson together (write_forms)."""
    frame = adsl.iloc[:rows]
    apart = [
        write_dataset_json(frame, ADSL, tmp_path / f"apart.{suffix}", ndjson=suffix == "ndjson", created=STAMP)
        for suffix in ("json", "ndjson")
    ]
    document = prepare_dataset_json(frame, ADSL, created=STAMP)
    together = write_forms(
        document, json_path=tmp_path / "one.json", ndjson_path=tmp_path / "one.ndjson", chunk_rows=chunk_rows
    )
    assert together == [tmp_path / "one.json", tmp_path / "one.ndjson"]
    assert [p.read_bytes() for p in together] == [p.read_bytes() for p in apart]


def test_a_record_that_cannot_be_written_leaves_neither_form(tmp_path, adsl):
    frame = adsl.assign(SAFFL=["Y", 3, "", "N"])
    document = prepare_dataset_json(frame, ADSL, created=STAMP)
    with pytest.raises(WriteError, match=r"one\.json: ADSL\.SAFFL record 2: 3 is not text"):
        write_forms(document, json_path=tmp_path / "one.json", ndjson_path=tmp_path / "one.ndjson", chunk_rows=2)
    assert list(tmp_path.iterdir()) == []


def test_read_back_gives_the_same_values_and_metadata(tmp_path, adsl):
    for suffix in ("json", "ndjson"):
        path = write_dataset_json(adsl, ADSL, tmp_path / f"adsl.{suffix}", ndjson=suffix == "ndjson")
        back, meta = read_dataset(path)
        assert meta.keys == ("STUDYID", "USUBJID") and meta.label == ADSL.label
        assert [(v.name, v.type, v.length, v.format) for v in meta.variables] == [
            (v.name, v.type, v.length, v.format) for v in ADSL.variables
        ]
        expected = adsl.copy()
        expected["SAFFL"] = expected["SAFFL"].fillna("")
        pd.testing.assert_frame_equal(back, expected, check_dtype=False)


def test_whole_numbers_beyond_2_53_or_fractional_dates_fall_back_to_double(tmp_path):
    dataset = Dataset(
        name="T",
        label="",
        purpose="Tabulation",
        variables=(
            Variable("N", "", "Num", 8, "integer", 1),
            Variable("D", "", "Num", 8, "integer", 2, format="DATE9."),
        ),
    )
    doc = load(write_dataset_json(pd.DataFrame({"N": [2.0**60], "D": [0.5]}), dataset, tmp_path / "t.json"))
    assert [c["dataType"] for c in doc["columns"]] == ["double", "double"]
    assert doc["rows"] == [[2.0**60, 0.5]]


def test_infinity_is_refused(tmp_path):
    dataset = Dataset(name="T", label="", purpose="Tabulation", variables=(Variable("N", "", "Num", 8, "float", 1),))
    with pytest.raises(
        WriteError, match=r"t.json: T not written, 1 problem\(s\):\n  T\.N record 1: inf is not a finite number"
    ):
        write_dataset_json(pd.DataFrame({"N": [np.inf]}), dataset, tmp_path / "t.json")
    assert not (tmp_path / "t.json").exists()


@pytest.mark.slow
def test_every_reference_dataset_converts_to_valid_json_and_ndjson(validator, shared, tmp_path):
    files = sorted((shared / "reference" / "xpt").glob("*/*.xpt"))
    assert len(files) == 20
    for source in files:
        for suffix in ("json", "ndjson"):
            doc = assert_valid(validator, convert(source, tmp_path / f"{source.stem}.{suffix}"))
            assert doc["sourceSystem"] == {"name": "SAS", "version": "9.3 X64_7HOM"}
            assert doc["records"] == len(doc["rows"]) > 0


def test_numeric_times_are_iso_times_of_day_and_durations_stay_numbers(tmp_path):
    dataset = Dataset(
        name="T",
        label="",
        purpose="Analysis",
        variables=(
            Variable("ATM", "", "Num", 8, "integer", 1, format="TIME8."),
            Variable("ADURS", "", "Num", 8, "integer", 2, format="TIME8."),
        ),
    )
    doc = load(
        write_dataset_json(
            pd.DataFrame({"ATM": [3723.0, np.nan], "ADURS": [90000.0, 1.0]}), dataset, tmp_path / "t.json"
        )
    )
    assert [(c["dataType"], c.get("targetDataType")) for c in doc["columns"]] == [
        ("time", "integer"),
        ("integer", None),
    ]
    assert doc["rows"] == [["01:02:03", 90000], [None, 1]]
    back, _ = read_dataset(tmp_path / "t.json")
    assert back["ATM"].tolist()[0] == 3723.0 and back["ADURS"].tolist() == [90000.0, 1.0]
