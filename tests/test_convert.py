"""`sdtmify convert`: XPT <-> Dataset-JSON (.json/.ndjson) <-> CSV by extension; XPT -> Dataset-JSON -> XPT
gives back the SAS-written original byte for byte."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from xpt_reference import CP1252, FILES
from xpt_reference import reference as _reference

from sdtmify import xport
from sdtmify.cli import main
from sdtmify.errors import InputError
from sdtmify.readers import read_dataset
from sdtmify.writers.convert import convert


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("middle", ["json", "ndjson"])
def test_xpt_to_dataset_json_and_back_is_byte_identical(shared, tmp_path, name, middle):
    original = _reference(shared, name)
    encoding = "cp1252" if name in CP1252 else "ascii"
    document = convert(original, tmp_path / f"d.{middle}", encoding=encoding)
    back = convert(document, tmp_path / "back.xpt", encoding=encoding)
    assert back.read_bytes() == original.read_bytes()


def test_cli_convert_round_trip(shared, tmp_path, capsys):
    original = _reference(shared, "sdtm/ts.xpt")
    assert main(["convert", str(original), str(tmp_path / "ts.ndjson")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "ts.ndjson")
    assert main(["convert", "--encoding", "cp1252", str(tmp_path / "ts.ndjson"), str(tmp_path / "ts.xpt")]) == 0
    assert (tmp_path / "ts.xpt").read_bytes() == original.read_bytes()


def test_cli_convert_to_ascii_names_the_unencodable_character(shared, tmp_path, capsys):
    original = _reference(shared, "sdtm/ts.xpt")
    assert main(["convert", str(original), str(tmp_path / "ts.xpt")]) == 2
    error = capsys.readouterr().err
    assert "TS.TSVAL record" in error and "U+2019" in error and "ascii cannot encode" in error
    assert not (tmp_path / "ts.xpt").exists()


def test_cli_convert_refuses_unknown_target(tmp_path, capsys):
    source = tmp_path / "a.csv"
    source.write_text("A\nx\n")
    assert main(["convert", str(source), str(tmp_path / "a.sas7bdat")]) == 2
    assert "cannot write '.sas7bdat' files" in capsys.readouterr().err


def test_xpt_to_csv_keeps_values(shared, tmp_path):
    original = _reference(shared, "adam/adsl.xpt")
    frame, dataset = read_dataset(original)
    csv = convert(original, tmp_path / "adsl.csv")
    back, meta = read_dataset(csv)
    assert list(back.columns) == list(dataset.variable_names)
    assert csv.read_text().splitlines()[1].startswith("CDISCPILOT01,01-701-1015,1015,701,701,Placebo,Placebo,0,")
    for var in dataset.variables:
        if xport.date_kind(xport.SasFormat.parse(var.format)):
            continue  # numeric dates are ISO 8601 text in CSV: tests/test_convert_metadata.py
        if meta.variable(var.name).type == "Num":
            assert np.array_equal(back[var.name], pd.to_numeric(frame[var.name].replace("", np.nan)), equal_nan=True), (
                var.name
            )
        else:
            assert back[var.name].tolist() == frame[var.name].tolist(), var.name
    # CSV states no types: digit-only identifiers such as SUBJID "1015" come back as numbers.
    assert (meta.variable("SUBJID").type, meta.variable("USUBJID").type, meta.variable("AGE").type) == (
        "Num",
        "Char",
        "Num",
    )


def test_csv_to_xpt_uses_longest_value_and_keeps_leading_zero_ids_as_text(tmp_path):
    source = tmp_path / "dm.csv"
    source.write_text("USUBJID,SITEID,AGE\nNCI84-001,007,54\nNCI84-0002,012,\n")
    with pytest.raises(InputError, match="no metadata beside it"):
        convert(source, tmp_path / "dm.xpt")  # guessing types is lossy: refused unless asked
    target = convert(source, tmp_path / "dm.xpt", allow_lossy=True)
    frame, dataset = read_dataset(target)
    assert [(v.name, v.type, v.length) for v in dataset.variables] == [
        ("USUBJID", "Char", 10),
        ("SITEID", "Char", 3),
        ("AGE", "Num", 8),
    ]
    assert frame["SITEID"].tolist() == ["007", "012"]
    assert frame["AGE"].tolist()[0] == 54.0 and np.isnan(frame["AGE"].tolist()[1])
    assert dataset.name == "DM"


def test_convert_refuses_same_file(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("A\n1\n")
    with pytest.raises(InputError, match="same file"):
        convert(path, path)


def test_json_to_json_keeps_study_attributes(tmp_path):
    from sdtmify.metadata.model import Dataset, StudyMetadata, Variable
    from sdtmify.writers.datasetjson import write_dataset_json

    dataset = Dataset(
        name="DM",
        label="Demographics",
        purpose="Tabulation",
        variables=(Variable("AGE", "Age", "Num", 8, "integer", 1),),
    )
    source = write_dataset_json(
        pd.DataFrame({"AGE": [54.0]}), dataset, tmp_path / "dm.json", metadata=StudyMetadata("S.1", "S", "", "P")
    )
    target = convert(source, tmp_path / "dm.ndjson")
    back, meta = read_dataset(target)
    assert back["AGE"].tolist() == [54.0] and meta.label == "Demographics"
    assert back.attrs["dataset_json"]["sourceSystem"]["name"] == "sdtmify"
