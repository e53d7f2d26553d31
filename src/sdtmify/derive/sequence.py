"""--SEQ (SDTMIG 3.4 section 4.1.5: a sequence number unique within USUBJID for the domain)."""

from __future__ import annotations

import pandas as pd


def sequence_number(frame: pd.DataFrame, order: list[str], subject: str = "USUBJID") -> pd.Series:
    """--SEQ: 1, 2, ... per subject in the order of ``order`` (stable, so ties keep source order).

    Values are consecutive integers starting at 1 within each USUBJID (SDTMIG 3.4 4.1.5)."""
    # dict.fromkeys: an order that already names SRCROW (raw record order) lists it once
    columns = [c for c in dict.fromkeys([subject, *order]) if c in frame.columns]
    ranked = frame[columns].copy()
    ranked["_position"] = range(len(frame))
    ranked = ranked.sort_values([*columns, "_position"], kind="mergesort")
    seq = ranked.groupby(subject, sort=False).cumcount() + 1
    return seq.reindex(frame.index).astype("float64")
