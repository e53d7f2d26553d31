"""`sdtmify convert` keeps what XPT holds through CSV: the sidecar NAME.meta.json carries types, lengths,
labels, formats, informats and the header; numeric dates are ISO 8601 in the CSV; XPT -> CSV -> XPT is
byte-identical; lossy conversions are refused unless --allow-lossy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from xpt_reference import CP1252, FILES
from xpt_reference import reference as _reference

from sdtmify.cli import main
from sdtmify.metadata.model import Dataset, Variable
from sdtmify.writers.convert import convert_files, sidecar_path
from sdtmify.writers.xpt import write_xpt


@pytest.mark.parametrize("name", FILES)
def test_xpt_to_csv_and_back_is_byte_identical(shared, tmp_path, name):
    original = _reference(shared, name)
    encoding = "cp1252" if name in CP1252 else "ascii"
    csv, meta = convert_files(original, tmp_path / "d.csv", encoding=encoding)
    assert meta == sidecar_path(csv) == tmp_path / "d.meta.json"
    (back,) = convert_files(csv, tmp_path / "back.xpt", encoding=encoding)
    assert back.read_bytes() == original.read_bytes()


def test_csv_has_iso_dates_and_the_sidecar_the_metadata(shared, tmp_path):
    original = _reference(shared, "adam/adsl.xpt")
    frame, meta = pyreadstat.read_xport(str(original), disable_datetime_conversion=True)
    csv, sidecar = convert_files(original, tmp_path / "adsl.csv")
    text = pd.read_csv(csv, dtype=str, keep_default_na=False)
    days = frame["TRTSDT"].iloc[0]
    assert text["TRTSDT"].iloc[0] == (pd.Timestamp("1960-01-01") + pd.Timedelta(days=days)).strftime("%Y-%m-%d")
    assert text["TRTSDT"].iloc[0] == "2014-01-02"
    document = json.loads(sidecar.read_text())
    trtsdt = next(v for v in document["variables"] if v["name"] == "TRTSDT")
    assert trtsdt == {
        "name": "TRTSDT",
        "label": meta.column_names_to_labels["TRTSDT"],
        "type": "Num",
        "length": 8,
        "format": "DATE9.",
        "informat": "",
        "iso8601": "date",
    }
    subjid = next(v for v in document["variables"] if v["name"] == "SUBJID")
    assert subjid["type"] == "Char" and subjid["length"] == 4  # "1015" stays text, as declared
    assert document["xpt"] == {
        "sas_version": "9.3",
        "os_name": "X64_7HOM",
        "created": "2012-10-15T22:56:22",
        "modified": "2012-10-15T22:56:22",
    }


def test_datetimes_times_fractions_and_special_missing_round_trip(tmp_path):
    dataset = Dataset(
        name="XX",
        label="Dates of all kinds",
        purpose="Analysis",
        variables=(
            Variable("ADTM", "Analysis Datetime", "Num", 8, "integer", 1, format="DATETIME20."),
            Variable("ATM", "Analysis Time", "Num", 8, "integer", 2, format="TIME8."),
            Variable("ADT", "Analysis Date", "Num", 8, "float", 3, format="DATE9."),
            Variable("AVAL", "Analysis Value", "Num", 8, "float", 4, format="8.2", informat="BEST12."),
            Variable("NOTE", "Note", "Char", 12, "text", 5),
        ),
    )
    frame = pd.DataFrame(
        {
            "ADTM": [1_684_000_000.0, np.nan],
            "ATM": [36_000.0, 59.0],
            "ADT": [19_480.5, 19_481.0],  # a fraction of a day: kept as a number
            "AVAL": np.array([0.1, ".A"], dtype=object),
            "NOTE": ['café, "x"', ""],
        }
    )
    original = write_xpt(frame, dataset, tmp_path / "xx.xpt", encoding="cp1252")
    csv, sidecar = convert_files(original, tmp_path / "xx.csv", encoding="cp1252")
    rows = pd.read_csv(csv, dtype=str, keep_default_na=False).to_dict("records")
    assert rows[0] == {
        "ADTM": "2013-05-12T17:46:40",
        "ATM": "10:00:00",
        "ADT": "19480.5",
        "AVAL": "0.1",
        "NOTE": 'café, "x"',
    }
    assert rows[1] == {"ADTM": "", "ATM": "00:00:59", "ADT": "19481", "AVAL": ".A", "NOTE": ""}
    kinds = {v["name"]: v.get("iso8601") for v in json.loads(sidecar.read_text())["variables"]}
    assert kinds == {"ADTM": "datetime", "ATM": "time", "ADT": None, "AVAL": None, "NOTE": None}
    (back,) = convert_files(csv, tmp_path / "back.xpt", encoding="cp1252")
    assert back.read_bytes() == original.read_bytes()


def test_csv_without_its_metadata_is_refused_unless_lossy_is_allowed(tmp_path, capsys):
    source = tmp_path / "dm.csv"
    source.write_text("USUBJID,AGE\nX-1,54\n")
    assert main(["convert", str(source), str(tmp_path / "dm.xpt")]) == 2
    err = capsys.readouterr().err
    assert "dm.csv: no metadata beside it (dm.meta.json" in err and "--allow-lossy" in err
    assert not (tmp_path / "dm.xpt").exists()
    assert main(["convert", str(source), str(tmp_path / "dm.xpt"), "--allow-lossy"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(tmp_path / "dm.xpt")
    assert "warning: dm.csv: no dm.meta.json; types and lengths guessed" in captured.err


def test_text_longer_than_xpt_holds_is_refused_unless_lossy_is_allowed(tmp_path, capsys):
    dataset = Dataset(
        name="CO",
        label="Comments",
        purpose="Tabulation",
        variables=(Variable("COVAL", "Comment", "Char", 300, "text", 1),),
    )
    from sdtmify.writers.datasetjson import write_dataset_json

    source = write_dataset_json(pd.DataFrame({"COVAL": ["é" * 150]}), dataset, tmp_path / "co.json")
    assert main(["convert", str(source), str(tmp_path / "co.xpt"), "--encoding", "latin-1"]) == 2
    err = capsys.readouterr().err
    assert "XPT v5 holds at most 200 bytes of text per value; COVAL (300 bytes) would be cut" in err
    assert not (tmp_path / "co.xpt").exists()
    assert main(["convert", str(source), str(tmp_path / "co.xpt"), "--encoding", "latin-1", "--allow-lossy"]) == 0
    assert "warning: cut to 200 bytes: COVAL" in capsys.readouterr().err
    back, meta = pyreadstat.read_xport(str(tmp_path / "co.xpt"), encoding="ISO-8859-1")
    assert back["COVAL"][0] == "é" * 100 and meta.variable_storage_width["COVAL"] == 200


def test_a_csv_target_never_replaces_a_sidecar_without_force(shared, tmp_path, capsys):
    original = _reference(shared, "sdtm/dm.xpt")
    sidecar_path(tmp_path / "dm.csv").write_text("mine")
    assert main(["convert", str(original), str(tmp_path / "dm.csv")]) == 2
    assert f"convert target {tmp_path / 'dm.meta.json'} exists; pass --force" in capsys.readouterr().err
    assert (tmp_path / "dm.meta.json").read_text() == "mine" and not (tmp_path / "dm.csv").exists()
    assert main(["convert", str(original), str(tmp_path / "dm.csv"), "--force"]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "dm.csv"), str(tmp_path / "dm.meta.json")]


def test_a_csv_that_does_not_match_its_sidecar_names_row_and_column(shared, tmp_path, capsys):
    original = _reference(shared, "adam/adsl.xpt")
    csv, _ = convert_files(original, tmp_path / "adsl.csv")
    text = pd.read_csv(csv, dtype=str, keep_default_na=False)
    value = text.loc[2, "TRTSDT"]
    text.loc[2, "TRTSDT"] = value.replace("-", "/", 1)
    text.to_csv(csv, index=False, lineterminator="\n")
    assert main(["convert", str(csv), str(tmp_path / "adsl.xpt")]) == 2
    err = capsys.readouterr().err
    assert f"adsl.csv TRTSDT: row 4: '{value.replace('-', '/', 1)}' is not an ISO 8601 date" in err
