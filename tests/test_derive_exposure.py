"""EX as one record per constant dosing interval (SDTMIG 3.4 EX structure)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from sdtmify.derive.exposure import constant_dose_intervals
from sdtmify.mapping.engine import build_sdtm
from sdtmify.study import load_study

sys.path.insert(0, str(Path(__file__).parent / "studies"))
from nci84_mini import write_mini


def test_consecutive_days_of_the_same_dose_become_one_interval():
    frame = pd.DataFrame(
        {
            "USUBJID": ["S1"] * 6 + ["S2"],
            "EXTRT": ["D"] * 7,
            "EXDOSE": [10.0, 10.0, 10.0, 20.0, 20.0, 10.0, 10.0],
            "EXSTDTC": ["2021-01-01", "2021-01-02", "2021-01-03", "2021-01-04", "2021-01-05", "2021-01-10", "2021-01"],
            "EXENDTC": ["2021-01-01", "2021-01-02", "2021-01-03", "2021-01-04", "2021-01-05", "2021-01-10", ""],
        }
    )
    kept, start, end = constant_dose_intervals(frame, ["EXTRT", "EXDOSE"], "EXSTDTC", "EXENDTC")
    assert list(kept) == [0, 3, 5, 6]
    assert start.tolist() == ["2021-01-01", "2021-01-04", "2021-01-10", "2021-01"]  # the partial date stays alone
    assert end.tolist() == ["2021-01-03", "2021-01-05", "2021-01-10", ""]
    # a week later at the first dose again: a new interval, since the dose changed in between
    kept, _, end = constant_dose_intervals(frame, ["EXTRT", "EXDOSE"], "EXSTDTC", "EXENDTC", gap_days=7)
    assert list(kept) == [0, 3, 5, 6]
    # without the dose change, the gap rule alone decides
    same = frame.assign(EXDOSE=10.0)
    kept, _, end = constant_dose_intervals(same, ["EXTRT", "EXDOSE"], "EXSTDTC", "EXENDTC", gap_days=5)
    assert list(kept) == [0, 6] and end.tolist() == ["2021-01-10", ""]
    kept, _, _ = constant_dose_intervals(same, ["EXTRT", "EXDOSE"], "EXSTDTC", "EXENDTC", gap_days=4)
    assert list(kept) == [0, 5, 6]


def test_ex_mapping_collapses_weekly_doses_and_keeps_lineage(tmp_path):
    study = write_mini(tmp_path)
    path = study / "sdtm" / "ex.yaml"
    text = path.read_text()
    before = build_sdtm(load_study(study)).datasets["EX"]
    path.write_text(
        text.replace(
            "derive:\n", "derive:\n  - dose_intervals: {by: [EXTRT, EXDOSE, EXDOSU, EXROUTE], gap_days: 7}\n", 1
        )
    )
    after = build_sdtm(load_study(study)).datasets["EX"]
    assert 0 < len(after.frame) < len(before.frame)
    for (subject, treatment), records in after.frame.groupby(["USUBJID", "EXTRT"]):
        original = before.frame[(before.frame["USUBJID"] == subject) & (before.frame["EXTRT"] == treatment)]
        assert records["EXSTDTC"].min() == original["EXSTDTC"].min()
        assert records["EXENDTC"].max() == original["EXENDTC"].max()
    assert after.frame["EXSEQ"].groupby(after.frame["USUBJID"]).max().tolist() == (
        after.frame.groupby("USUBJID").size().tolist()
    )
    assert set(after.lineage["SRCROW"]) <= set(before.lineage["SRCROW"])
