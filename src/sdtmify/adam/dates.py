"""Dates the ADaM way: ISO 8601 text (SDTM --DTC) to numeric SAS dates, and relative days.

ADaMIG 1.3 section 3.1.4: analysis dates (*DT) are numeric, counting days since 1960-01-01, displayed
with a SAS date format (DATE9.); the time part of an --DTC is not carried into *DT."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..xport import SAS_EPOCH

DATE_FORMAT = "DATE9."


def iso_to_sas_date(values: pd.Series) -> pd.Series:
    """The numeric SAS date (float days since 1960-01-01) of each complete ISO 8601 date or datetime.

    Partial dates (``2004-03``, ``2004``) and empty text give a missing value: no imputation here
    (ADaMIG 1.3 section 3.1.4 asks imputation to be flagged in *DTF, which this study does not need)."""
    # Parse each distinct value once: a lab transfer repeats the same few thousand dates. A missing
    # value has code -1, which picks the NaN appended after the distinct values' days.
    codes, distinct = pd.factorize(values)
    text = pd.Series(distinct, dtype=object).astype("string").str.slice(0, 10)
    complete = text.str.fullmatch(r"\d{4}-\d{2}-\d{2}").fillna(False).astype(bool)
    parsed = pd.to_datetime(text.where(complete), format="%Y-%m-%d", errors="coerce")
    days = ((parsed - SAS_EPOCH) / pd.Timedelta(days=1)).to_numpy(dtype="float64")
    return pd.Series(np.append(days, np.nan)[codes], index=values.index, dtype="float64")


def relative_day(dates: pd.Series, reference: pd.Series) -> pd.Series:
    """Study day of ``dates`` relative to ``reference`` (both numeric SAS dates), with no day 0.

    ADaMIG 1.3 (ADY) following SDTMIG 3.4 section 4.4.4: the reference date is day 1; a date on or
    after it is ``date - reference + 1``; a date before it is ``date - reference`` (so the day before
    day 1 is day -1). Missing when either date is missing."""
    delta = dates.astype("float64") - reference.astype("float64")
    return pd.Series(np.where(delta >= 0, delta + 1, delta), index=dates.index, dtype="float64")
