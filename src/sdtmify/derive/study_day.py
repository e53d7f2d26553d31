"""--DY, --STDY, --ENDY (SDTMIG 3.4 section 4.4.4)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..isodates import date_part


def study_day(dtc: pd.Series, rfstdtc: pd.Series) -> pd.Series:
    """Study day of ``dtc`` relative to RFSTDTC: (date - RFSTDTC) + 1 on or after RFSTDTC, else
    (date - RFSTDTC); the reference date is day 1, the day before is -1, there is no day 0.

    SDTMIG 3.4 section 4.4.4. Empty when either date is partial or missing."""
    days = (date_part(dtc) - date_part(rfstdtc)).dt.days
    return pd.Series(np.where(days >= 0, days + 1, days), index=dtc.index, dtype="float64")
