"""--LOBXFL and --BLFL (SDTMIG 3.4 section 4.5.9 and the Findings class)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..isodates import date_part


def last_observation_before_exposure(
    frame: pd.DataFrame, by: list[str], dtc: str, reference: pd.Series, has_result: pd.Series
) -> pd.Series:
    """--LOBXFL = "Y" on the last record with a result on or before first exposure, per subject and test.

    SDTMIG 3.4: Last Observation Before Exposure Flag; ``reference`` is RFXSTDTC per record. Records
    without a result (--STAT NOT DONE) or with a partial date cannot be flagged. Only the date part is
    compared: samples on the day of first dose are drawn before the injection."""
    when = date_part(frame[dtc])
    eligible = has_result & when.notna() & (when <= date_part(reference))
    candidates = frame.loc[eligible, ["USUBJID", *by]].copy()
    candidates["_when"] = when[eligible]
    candidates["_full"] = frame.loc[eligible, dtc].astype(str)
    candidates = candidates.sort_values(["USUBJID", *by, "_when", "_full"], kind="mergesort")
    # dropna=False: a record whose grouping value is blank (NaN) is still a candidate in its own group
    last = candidates.groupby(["USUBJID", *by], sort=False, dropna=False).tail(1).index
    flag = pd.Series("", index=frame.index, dtype=object)
    flag.loc[last] = "Y"
    return flag.astype(str)


def baseline_flag_from_lobxfl(lobxfl: pd.Series) -> pd.Series:
    """--BLFL = "Y" on the records flagged --LOBXFL, when the mapping declares ``blfl: LOBXFL``.

    SDTMIG 3.4 section 4.5.9 (Baseline Flags): --BLFL is the sponsor-defined baseline and may differ
    from --LOBXFL; the sponsor's definition is declared in the mapping, never assumed here."""
    return pd.Series(np.where(lobxfl == "Y", "Y", ""), index=lobxfl.index, dtype=object).astype(str)
