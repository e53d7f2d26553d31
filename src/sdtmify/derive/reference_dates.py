"""Subject reference dates RFSTDTC, RFENDTC, RFXSTDTC, RFXENDTC, RFICDTC, RFPENDTC (SDTMIG 3.4 DM)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..distinct import factorize
from ..isodates import shift_days

REFERENCE_DATES = ("RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC", "RFICDTC", "RFPENDTC")


def pick_per_subject(dtc: pd.Series, usubjid: pd.Series, pick: str = "first", add_days: int = 0) -> pd.Series:
    """The first or last ISO 8601 date of each subject (index USUBJID), optionally moved by days.

    ISO 8601 text sorts chronologically at equal precision; blanks are ignored. SDTMIG 3.4 DM:
    RFXSTDTC is the first and RFXENDTC the last date of exposure to any study treatment (EX)."""
    # Dates ranked once (factorize sorted), then a per-subject min/max of integer ranks: a groupby min of
    # millions of Python strings is an object comparison per record.
    subjects, ids = factorize(usubjid.astype(str).to_numpy(), sort=True)
    text = dtc.astype(str).to_numpy()
    ranks, dates = factorize(text, sort=True)
    kept = (text != "") & (subjects >= 0)  # as groupby: no subject, no group
    rank = pd.Series(np.where(ranks < 0, np.nan, ranks)[kept])  # a missing date (NaN) is skipped, as min/max do
    grouped = rank.groupby(subjects[kept], sort=True)
    chosen = grouped.min() if pick == "first" else grouped.max()
    best = chosen.to_numpy()
    values = np.full(len(best), np.nan, dtype=object)
    found = ~np.isnan(best)
    values[found] = np.asarray(dates, dtype=object)[best[found].astype(np.int64)]
    index = pd.Index(np.asarray(ids, dtype=object)[chosen.index.to_numpy()], name="USUBJID")
    picked = pd.Series(values, index=index, name="DTC", dtype=str)
    if add_days:
        picked = shift_days(picked, add_days)
    return picked.astype(str)
