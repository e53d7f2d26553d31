"""Study days for mapped --DTC variables and baseline flags over blank grouping values (issue 13)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from sdtmify.derive.baseline import last_observation_before_exposure
from sdtmify.mapping.engine import build_sdtm
from sdtmify.study import load_study

sys.path.insert(0, str(Path(__file__).parent / "studies"))
from nci84_mini import write_mini


def test_baseline_is_flagged_in_a_group_whose_value_is_blank():
    frame = pd.DataFrame(
        {
            "USUBJID": ["S1"] * 4,
            "VSTESTCD": ["TEMP"] * 4,
            "VISITNUM": [1.0, 2.0, np.nan, np.nan],
            "VSDTC": ["2021-03-01", "2021-03-02", "2021-02-27", "2021-02-28"],
        }
    )
    reference = pd.Series(["2021-03-05"] * 4)
    flag = last_observation_before_exposure(frame, ["VISITNUM"], "VSDTC", reference, pd.Series([True] * 4))
    assert flag.tolist() == ["Y", "Y", "", "Y"]


def test_a_mapped_dtc_without_a_study_day_in_the_ig_does_not_stop_the_build(tmp_path):
    study = write_mini(tmp_path)
    path = study / "sdtm" / "ae.yaml"
    old = "  AESTDTC:  {iso8601: onset_date"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, "  AEDTC:    {iso8601: onset_date, formats: [dd-mon-yyyy, iso]}\n" + old, 1))
    ae = build_sdtm(load_study(study)).datasets["AE"].frame
    assert "AEDTC" in ae and "AEDY" not in ae  # SDTMIG 3.4 AE lists AEDTC but no AEDY
    assert (ae["AESTDY"].notna()).any()


def test_visitdy_is_the_planned_day_of_the_visit_when_asked(tmp_path):
    study = write_mini(tmp_path)
    path = study / "sdtm" / "rs.yaml"
    old = "  - visit: {from: {column: visit}, date: RSDTC}"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, "  - visit: {from: {column: visit}, date: RSDTC, visitdy: true}"))
    rs = build_sdtm(load_study(study)).datasets["RS"].frame
    planned = rs.drop_duplicates("VISITNUM").set_index("VISITNUM")["VISITDY"].to_dict()
    assert planned[150.0] == 21 and planned[350.0] == 63  # VISITDY of AFTER CYCLE 1 / 3 in study.yaml
    unscheduled = rs["VISITNUM"].notna() & (rs["VISITNUM"] % 1 != 0)
    assert rs.loc[unscheduled, "VISITDY"].isna().all()
