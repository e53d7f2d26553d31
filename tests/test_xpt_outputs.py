"""write_bundle: every dataset of a build as XPT v5 plus Dataset-JSON .json and .ndjson, stamped with the
study's build timestamp so rebuilds are byte-identical."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pandas as pd
import pytest

from sdtmify import xport
from sdtmify.datasets import BuiltDataset, Bundle
from sdtmify.errors import InputError
from sdtmify.metadata.model import Dataset, StudyMetadata, Variable
from sdtmify.readers import read_dataset
from sdtmify.writers.outputs import write_bundle

DM = Dataset(
    name="DM",
    label="Demographics",
    purpose="Tabulation",
    keys=("STUDYID", "USUBJID"),
    variables=(
        Variable("STUDYID", "Study Identifier", "Char", 5, "text", 1),
        Variable("USUBJID", "Unique Subject Identifier", "Char", 9, "text", 2),
        Variable("AGE", "Age", "Num", 8, "integer", 3),
    ),
)
AE = Dataset(
    name="AE",
    label="Adverse Events",
    purpose="Tabulation",
    variables=(
        Variable("STUDYID", "Study Identifier", "Char", 5, "text", 1),
        Variable("AETERM", "Reported Term for the Adverse Event", "Char", 200, "text", 2),
    ),
)


def bundle() -> Bundle:
    return Bundle(
        standard="SDTM",
        metadata=StudyMetadata("S.NCI84", "NCI84", "", "84", datasets=(DM, AE)),
        datasets={
            "DM": BuiltDataset(
                pd.DataFrame({"STUDYID": ["NCI84"] * 2, "USUBJID": ["NCI84-001", "NCI84-002"], "AGE": [54.0, 61.0]}), DM
            ),
            "AE": BuiltDataset(pd.DataFrame({"STUDYID": ["NCI84"], "AETERM": ["Neutropenia"]}), AE),
        },
    )


STUDY = SimpleNamespace(
    timestamp=dt.datetime(2026, 2, 3, 4, 5, 6),
    file="mappings/NCI84/study.yaml",
    xpt_options={"sas_version": "9.4", "os_name": "X64_10PR"},
)


def test_write_bundle_writes_xpt_and_dataset_json_for_every_dataset(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    written = write_bundle(bundle(), tmp_path / "sdtm", STUDY)
    relative = [p.relative_to(tmp_path / "sdtm").as_posix() for p in written]
    assert relative == [
        "ae.xpt",
        "dataset-json/ae.json",
        "dataset-json/ae.ndjson",
        "dataset-json/dm.json",
        "dataset-json/dm.ndjson",
        "dm.xpt",
    ]
    assert written == sorted(written)
    member = xport.read_header(tmp_path / "sdtm" / "dm.xpt")
    assert member.header == xport.XptHeader("9.4", "X64_10PR", STUDY.timestamp, STUDY.timestamp)
    frame, meta = read_dataset(tmp_path / "sdtm" / "dm.xpt")
    assert frame["AGE"].tolist() == [54.0, 61.0] and meta.label == "Demographics"
    document = json.loads((tmp_path / "sdtm" / "dataset-json" / "dm.json").read_text())
    assert document["datasetJSONCreationDateTime"] == "2026-02-03T04:05:06"
    assert document["metaDataVersionOID"] == "MDV.S.NCI84.SDTM" and document["metaDataRef"] == "../define.xml"
    assert [c.get("keySequence") for c in document["columns"]] == [1, 2, None]


def test_rebuild_is_byte_identical_and_source_date_epoch_wins(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first = {p.name: p.read_bytes() for p in write_bundle(bundle(), tmp_path / "a", STUDY)}
    second = {p.name: p.read_bytes() for p in write_bundle(bundle(), tmp_path / "b", STUDY)}
    assert first == second
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    write_bundle(bundle(), tmp_path / "c", STUDY)
    assert xport.read_header(tmp_path / "c" / "ae.xpt").header.created == dt.datetime(1970, 1, 1)


def test_unknown_xpt_option_names_study_yaml(tmp_path):
    study = SimpleNamespace(timestamp=None, file="mappings/NCI84/study.yaml", xpt_options={"version": "9"})
    with pytest.raises(InputError, match=r"mappings/NCI84/study.yaml output.xpt: unknown option\(s\) version"):
        write_bundle(bundle(), tmp_path, study)


def test_dataset_json_originator_is_the_sponsor_as_in_define_xml(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    study = SimpleNamespace(
        timestamp=STUDY.timestamp,
        file=STUDY.file,
        xpt_options={},
        config={"study": {"sponsor": "Example Oncology Group"}},
    )
    write_bundle(bundle(), tmp_path, study)
    for name in ("dm.json", "ae.json"):
        assert json.loads((tmp_path / "dataset-json" / name).read_text())["originator"] == "Example Oncology Group"
    with (tmp_path / "dataset-json" / "dm.ndjson").open() as handle:
        assert json.loads(handle.readline())["originator"] == "Example Oncology Group"


def test_json_and_ndjson_of_a_dataset_hold_the_same_header_and_records(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    write_bundle(bundle(), tmp_path, STUDY)
    whole = json.loads((tmp_path / "dataset-json" / "dm.json").read_text())
    head, *records = (tmp_path / "dataset-json" / "dm.ndjson").read_text().splitlines()
    assert json.loads(head) == {k: v for k, v in whole.items() if k != "rows"}
    assert (
        [json.loads(line) for line in records]
        == whole["rows"]
        == [["NCI84", "NCI84-001", 54], ["NCI84", "NCI84-002", 61]]
    )


def test_transliterate_option_reaches_the_xpt_writer(tmp_path):
    frames = bundle()
    frames.datasets["AE"].frame.loc[0, "AETERM"] = "Patient\u2019s rash"
    study = SimpleNamespace(timestamp=None, file=STUDY.file, xpt_options={"transliterate": True})
    with pytest.warns(UserWarning, match="transliterated"):
        write_bundle(frames, tmp_path, study)
    frame, _ = read_dataset(tmp_path / "ae.xpt")
    assert frame["AETERM"].tolist() == ["Patient's rash"]


def test_transliterate_option_must_be_a_boolean(tmp_path):
    study = SimpleNamespace(timestamp=None, file=STUDY.file, xpt_options={"transliterate": "yes"})
    with pytest.raises(InputError, match=r"study.yaml output.xpt.transliterate: 'yes' should be true or false"):
        write_bundle(bundle(), tmp_path, study)


def test_num_columns_are_converted_once_for_both_dataset_json_files(tmp_path, monkeypatch):
    import sdtmify.writers.datasetjson as datasetjson

    calls = []
    original = datasetjson.sas_numbers
    monkeypatch.setattr(
        datasetjson, "sas_numbers", lambda series, *args: calls.append(series.name) or original(series, *args)
    )
    write_bundle(bundle(), tmp_path, STUDY)
    assert calls == ["AGE"]  # DM.AGE is the bundle's only Num variable
