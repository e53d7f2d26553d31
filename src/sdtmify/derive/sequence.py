"""--SEQ (SDTMIG 3.4 section 4.1.5: a sequence number unique within USUBJID for the domain)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..distinct import sort_order


def sequence_number(frame: pd.DataFrame, order: list[str], subject: str = "USUBJID") -> pd.Series:
    """--SEQ: 1, 2, ... per subject in the order of the sort keys (stable, so ties keep source order).

    Values are consecutive integers starting at 1 within each USUBJID (SDTMIG 3.4 4.1.5)."""
    # dict.fromkeys: an order that already names SRCROW (raw record order) lists it once
    columns = [c for c in dict.fromkeys([subject, *order]) if c in frame.columns]
    if subject in frame.columns and len(frame) and not frame[subject].isna().any() and frame.index.is_unique:
        # sorted by subject first, so each subject's records follow one another: number them from
        # where their subject starts
        positions = sort_order(frame, columns)
        subjects = frame[subject].to_numpy(dtype=object)[positions]
        starts = np.flatnonzero(np.r_[True, subjects[1:] != subjects[:-1]])
        numbers = np.arange(len(frame)) - np.repeat(starts, np.diff(np.r_[starts, len(frame)])) + 1
        seq = np.empty(len(frame), dtype="float64")
        seq[positions] = numbers
        return pd.Series(seq, index=frame.index)
    ranked = frame[columns].copy()
    ranked["_position"] = range(len(frame))
    ranked = ranked.sort_values([*columns, "_position"], kind="mergesort")
    seq = ranked.groupby(subject, sort=False).cumcount() + 1
    return seq.reindex(frame.index).astype("float64")
