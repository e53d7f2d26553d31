"""SV (SDTMIG 3.4 section 5.4): one record per subject and visit seen in any domain, from its first
to its last day, traced to the visit's first record; vectorized (no per-subject work)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sdtmify.derive import visits

SCHEDULE = pd.DataFrame({"VISITNUM": [1.0, 2.0], "VISIT": ["SCREENING", "CYCLE 1"]})


def frame(usubjid, visitnum, visit, dtc, table, rows, date="LBDTC") -> pd.DataFrame:
    return pd.DataFrame(
        {"USUBJID": usubjid, "VISITNUM": visitnum, "VISIT": visit, date: dtc, "SRCTABLE": table, "SRCROW": rows}
    )


def test_a_visit_spans_its_first_to_last_day_across_domains():
    lb = frame(
        ["S2", "S1", "S1", "S1"],
        [1.0, 2.0, 2.0, 1.0],
        ["SCREENING", "CYCLE 1", "CYCLE 1", "SCREENING"],
        ["2020-01-03T10:00", "2020-02-05", "2020-02-01T08:30", "2020-01-01"],
        "labs",
        [4, 3, 2, 1],
    )
    ex = frame(
        ["S1", "S1"],
        [2.0, 2.01],
        ["CYCLE 1", "UNSCHEDULED 2.01"],
        ["2020-02-01", "2020-02-09"],
        "dosing",
        [7, 8],
        "EXSTDTC",
    )
    sv = visits.subject_visits({"LB": lb, "EX": ex}, SCHEDULE)
    assert sv.to_dict("records") == [
        {"USUBJID": "S1", "VISITNUM": 1.0, "VISIT": "SCREENING", "SVSTDTC": "2020-01-01", "SVENDTC": "2020-01-01",
         "SVUPDES": "", "SRCTABLE": "labs", "SRCROW": 1},
        # seen on 2020-02-01 in dosing and labs: the first record by day, then table, then row
        {"USUBJID": "S1", "VISITNUM": 2.0, "VISIT": "CYCLE 1", "SVSTDTC": "2020-02-01", "SVENDTC": "2020-02-05",
         "SVUPDES": "", "SRCTABLE": "dosing", "SRCROW": 7},
        {"USUBJID": "S1", "VISITNUM": 2.01, "VISIT": "UNSCHEDULED 2.01", "SVSTDTC": "2020-02-09",
         "SVENDTC": "2020-02-09", "SVUPDES": "Unscheduled assessment", "SRCTABLE": "dosing", "SRCROW": 8},
        {"USUBJID": "S2", "VISITNUM": 1.0, "VISIT": "SCREENING", "SVSTDTC": "2020-01-03", "SVENDTC": "2020-01-03",
         "SVUPDES": "", "SRCTABLE": "labs", "SRCROW": 4},
    ]  # fmt: skip


def test_records_without_a_visit_or_a_complete_date_are_not_visits():
    lb = frame(
        ["S1", "S1", "S1"],
        [1.0, np.nan, 2.0],
        ["SCREENING", "", "CYCLE 1"],
        ["2020-01", "2020-01-02", ""],
        "labs",
        [1, 2, 3],
    )
    tv = frame(["S1"], [1.0], ["SCREENING"], ["2020-01-01"], "study.yaml", [1], "TVDTC")
    sv = visits.subject_visits({"LB": lb, "TV": tv}, SCHEDULE)
    assert sv.empty and list(sv.columns) == ["USUBJID", "VISITNUM", "VISIT", "SVSTDTC", "SVENDTC", "SRCTABLE", "SRCROW"]
