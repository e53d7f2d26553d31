"""Dates the ADaM way: ISO 8601 text (SDTM --DTC) to numeric SAS dates, and relative days.

ADaMIG 1.3 section 3.1.4: analysis dates (*DT) are numeric, counting days since 1960-01-01, displayed
with a SAS date format (DATE9.); the time part of an --DTC is not carried into *DT."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..distinct import factorize
from ..xport import SAS_EPOCH

DATE_FORMAT = "DATE9."


def iso_to_sas_date(values: pd.Series) -> pd.Series:
    """The numeric SAS date (float days since 1960-01-01) of each complete ISO 8601 date or datetime.

    Partial dates (``2004-03``, ``2004``) and empty text give a missing value: no imputation here
    (ADaMIG 1.3 section 3.1.4 asks imputation to be flagged in *DTF, which this study does not need)."""
    # Parse each distinct value once: a lab transfer repeats the same few thousand dates. A missing
    # value has code -1, which picks the NaN appended after the distinct values' days.
    codes, distinct = factorize(values)
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


IMPUTATION_LEVELS = ("D", "M")  # the highest date part that may be imputed: the day, or the month and day
IMPUTATION_RULES = ("first", "mid", "last")


def impute_iso_dates(values: pd.Series, *, highest: str, rule: str = "first") -> tuple[pd.Series, pd.Series]:
    """Numeric SAS dates of ISO 8601 dates, imputing a missing day (``highest`` "D") or a missing day
    or month (``highest`` "M"), and the imputation flag (ADaMIG 1.3 section 3.1.4, *DTF: "D" when the
    day was imputed, "M" when the month and day were, "" when none).

    ``rule`` "first" imputes the first day of the month (01) and January 1st; "mid" the 15th and June
    30th; "last" the last day of the month and December 31st. A date without a year, with a part
    missing above ``highest`` (a month when only days may be imputed) or not a valid date stays
    missing, with no flag. A complete date or datetime keeps its date part (no flag)."""
    if highest not in IMPUTATION_LEVELS:
        raise ValueError(f"highest imputation must be one of {', '.join(IMPUTATION_LEVELS)}, got {highest!r}")
    if rule not in IMPUTATION_RULES:
        raise ValueError(f"date imputation must be one of {', '.join(IMPUTATION_RULES)}, got {rule!r}")
    codes, distinct = factorize(values)
    text = pd.Series(distinct, dtype=object).astype("string").str.slice(0, 10)
    parts = text.str.extract(r"^(?P<year>\d{4})(?:-(?P<month>\d{2}|-)?(?:-(?P<day>\d{2}|-)?)?)?$")
    year = parts["year"]
    month = parts["month"].where(parts["month"] != "-")
    day = parts["day"].where(parts["day"] != "-")
    month_missing = year.notna() & month.isna()
    day_missing = year.notna() & day.isna()
    allowed = year.notna() & (~month_missing | (highest == "M"))
    # A missing month imputes the day too (its day, if given without a month, is not kept).
    imputed_month = {"first": "01", "mid": "06", "last": "12"}[rule]
    month_value = month.where(~month_missing, imputed_month)
    first_of_month = pd.to_datetime(year + "-" + month_value + "-01", format="%Y-%m-%d", errors="coerce")
    last_day = (first_of_month + pd.offsets.MonthEnd(0)).dt.day.astype("Int64").astype("string").str.zfill(2)
    if rule == "first":
        imputed_day = pd.Series("01", index=text.index, dtype="string")
    elif rule == "mid":
        imputed_day = pd.Series("15", index=text.index, dtype="string").where(~month_missing, "30")
    else:
        imputed_day = last_day
    day_value = day.where(~(day_missing | month_missing), imputed_day)
    parsed = pd.to_datetime(year + "-" + month_value + "-" + day_value, format="%Y-%m-%d", errors="coerce")
    parsed = parsed.where(allowed)
    days = ((parsed - SAS_EPOCH) / pd.Timedelta(days=1)).to_numpy(dtype="float64")
    flag = np.select([month_missing.to_numpy(), day_missing.to_numpy()], ["M", "D"], "").astype(object)
    flag = np.where(np.isnan(days), "", flag)
    dates = pd.Series(np.append(days, np.nan)[codes], index=values.index, dtype="float64")
    flags = pd.Series(np.append(flag, "")[codes], index=values.index, dtype=object).astype(str)
    return dates, flags
