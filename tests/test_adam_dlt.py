"""Dose-limiting toxicity on small hand-made adverse events, each expected value derived by hand in
the docstring from the rule the YAML declares: grade >= 3 meeting the filter (drug-related,
non-hematologic), onset on days 1-63 (day 1 = first dose), and below grade 4 lasting >= 15 days."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sdtmify.adam import dlt

D0 = 16000.0  # first dose (a SAS date)
DEFINITION = {
    "where": {"AEREL": "RELATED", "AEBODSYS": {"not": ["Blood and lymphatic system disorders"]}},
    "min_grade": 3,
    "always_grade": 4,
    "min_duration_days": 15,
    "window_days": 63,
}


def adae(events: list[tuple]) -> pd.DataFrame:
    """(subject, grade, onset day, duration in days or None when ongoing, relatedness, body system)."""
    frame = pd.DataFrame(events, columns=["USUBJID", "ATOXGRN", "day", "lasted", "AEREL", "AEBODSYS"])
    frame["TRTSDT"] = D0
    frame["ASTDT"] = D0 + frame["day"] - 1
    frame["AENDT"] = frame["ASTDT"] + frame["lasted"].astype("float64") - 1
    frame["ATOXGRN"] = frame["ATOXGRN"].astype("float64")
    return frame


GENERAL = "General disorders and administration site conditions"
BLOOD = "Blood and lymphatic system disorders"


def test_dlt_flag_follows_the_protocol_definition():
    """1: grade 3 fatigue, day 30, 21 days, related -> DLT (>= 15 days). 2: the same lasting 14 days ->
    not (it resolved within the 2-week rest). 3: grade 4, 2 days -> DLT (grade 4 needs no duration).
    4: grade 3 still ongoing (no end date) -> DLT. 5: grade 4 neutropenia -> not (hematologic).
    6: grade 3 probably related -> not (not clearly related). 7: grade 3, 21 days, onset day 64 -> not
    (after the window); 8: onset day 63 -> DLT. 9: grade 2, 30 days -> not."""
    events = adae(
        [
            ("S1", 3, 30, 21, "RELATED", GENERAL),
            ("S2", 3, 30, 14, "RELATED", GENERAL),
            ("S3", 4, 30, 2, "RELATED", GENERAL),
            ("S4", 3, 30, None, "RELATED", GENERAL),
            ("S5", 4, 30, 21, "RELATED", BLOOD),
            ("S6", 3, 30, 21, "PROBABLY RELATED", GENERAL),
            ("S7", 3, 64, 21, "RELATED", GENERAL),
            ("S8", 3, 63, 21, "RELATED", GENERAL),
            ("S9", 2, 30, 30, "RELATED", GENERAL),
        ]
    )
    flags = dlt.derive_var_dltfl(events, **DEFINITION)["DLTFL"].tolist()
    assert flags == ["Y", "N", "Y", "Y", "N", "N", "N", "Y", "N"]


def test_dlt_evaluable_needs_the_drug_and_a_dlt_or_the_whole_window():
    """S1 received IL-12 and was followed 63 days (day 63 = first dose + 62) -> Y; S2 received it,
    followed 62 days, no DLT -> N; S3 followed 20 days but had a DLT -> Y; S4 followed a year but its
    only IL-12 record has dose 0 -> N."""
    adsl = pd.DataFrame(
        {"USUBJID": ["S1", "S2", "S3", "S4"], "TRTSDT": D0, "LSTALVDT": D0 + np.array([62, 61, 19, 365.0])}
    )
    ex = pd.DataFrame(
        {"USUBJID": ["S1", "S2", "S3", "S4", "S4"], "EXTRT": ["IL-12"] * 4 + ["PACLITAXEL"],
         "EXDOSE": [100.0, 100.0, 100.0, 0.0, 175.0]}
    )  # fmt: skip
    ae = pd.DataFrame({"USUBJID": ["S2", "S3"], "DLTFL": ["N", "Y"]})
    result = dlt.derive_var_dltevlfl(adsl, ex, ae, window_days=63, dosed_where={"EXTRT": "IL-12"})
    assert result["DLTEVLFL"].tolist() == ["Y", "N", "Y", "N"]
