"""EPOCH of an observation from the subject's elements (SDTMIG 3.4 section 4.1.3.1 and SE)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..distinct import factorize
from ..isodates import date_part


def epoch(usubjid: pd.Series, dtc: pd.Series, subject_elements: pd.DataFrame) -> pd.Series:
    """EPOCH = the epoch of the subject's element (SE) that contains the observation's start date.

    SDTMIG 3.4 4.1.3.1: EPOCH is based on the start date/time of the observation; an element
    covers [SESTDTC, next element's SESTDTC). Empty for partial dates and dates before the first element."""
    # A record's epoch follows from its subject and date alone, and records come many to a subject's
    # day (the tests of one draw): each distinct (USUBJID, date) is placed once and spread back.
    subjects, subject_values = factorize(usubjid, use_na_sentinel=False)
    dates = date_part(dtc).to_numpy()
    days, day_values = factorize(dates.view("int64"))
    pairs, pair_values = factorize(subjects.astype("int64") * max(len(day_values), 1) + days)
    subject_of, day_of = np.divmod(np.asarray(pair_values), max(len(day_values), 1))
    placed = _epoch(
        pd.Series(np.asarray(subject_values, dtype=object)[subject_of], dtype=usubjid.dtype),
        pd.Series(np.asarray(day_values)[day_of].view(dates.dtype)),
        subject_elements,
    )
    return placed.take(pairs).set_axis(dtc.index)


def _epoch(usubjid: pd.Series, when: pd.Series, subject_elements: pd.DataFrame) -> pd.Series:
    """:func:`epoch` of records given by subject and date (datetime64, NaT: no complete date)."""
    result = pd.Series("", index=when.index, dtype=object)
    records = pd.DataFrame({"USUBJID": usubjid.astype(str), "WHEN": when})
    records = records.dropna(subset=["WHEN"]).sort_values("WHEN", kind="mergesort")
    starts = pd.DataFrame(
        {
            "USUBJID": subject_elements["USUBJID"].astype(str),
            "WHEN": date_part(subject_elements["SESTDTC"]),
            "EPOCH": subject_elements["EPOCH"].astype(str),
            "END": date_part(subject_elements["SEENDTC"]),
        }
    )
    starts = starts.dropna(subset=["WHEN"]).sort_values("WHEN", kind="mergesort")
    if records.empty or starts.empty:
        return result.astype(str)
    joined = pd.merge_asof(records.reset_index(), starts, on="WHEN", by="USUBJID", direction="backward")
    # after the last element's end nothing is known about the epoch
    after_end = joined["END"].notna() & (joined["WHEN"] > joined["END"])
    values = np.where(joined["EPOCH"].isna() | after_end, "", joined["EPOCH"].astype(object))
    result.loc[joined["index"].to_numpy()] = values
    return result.astype(str)
