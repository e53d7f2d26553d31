"""Subject reference dates RFSTDTC, RFENDTC, RFXSTDTC, RFXENDTC, RFICDTC, RFPENDTC (SDTMIG 3.4 DM)."""

from __future__ import annotations

import pandas as pd

from ..isodates import shift_days

REFERENCE_DATES = ("RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC", "RFICDTC", "RFPENDTC")


def pick_per_subject(dtc: pd.Series, usubjid: pd.Series, pick: str = "first", add_days: int = 0) -> pd.Series:
    """The first or last ISO 8601 date of each subject (index USUBJID), optionally moved by days.

    ISO 8601 text sorts chronologically at equal precision; blanks are ignored. SDTMIG 3.4 DM:
    RFXSTDTC is the first and RFXENDTC the last date of exposure to any study treatment (EX)."""
    frame = pd.DataFrame({"USUBJID": usubjid.astype(str).to_numpy(), "DTC": dtc.astype(str).to_numpy()})
    frame = frame[frame["DTC"] != ""]
    grouped = frame.groupby("USUBJID", sort=True)["DTC"]
    picked = grouped.min() if pick == "first" else grouped.max()
    if add_days:
        picked = shift_days(picked, add_days)
    return picked.astype(str)
