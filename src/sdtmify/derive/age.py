"""AGE and AGEU (SDTMIG 3.4 DM)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..isodates import date_part


def age_in_years(birth_dtc: pd.Series, at_dtc: pd.Series) -> pd.Series:
    """AGE in whole years completed at ``at_dtc`` (e.g. RFICDTC), AGEU = YEARS (SDTMIG 3.4 DM AGE).

    Birthdays not yet reached in the year of ``at_dtc`` do not count; empty when a date is partial."""
    birth, at = date_part(birth_dtc), date_part(at_dtc)
    years = at.dt.year - birth.dt.year
    before_birthday = (at.dt.month < birth.dt.month) | ((at.dt.month == birth.dt.month) & (at.dt.day < birth.dt.day))
    return (years - before_birthday.astype("float64")).where(birth.notna() & at.notna(), np.nan).astype("float64")
