"""Occurrence Data Structure derivations for ADAE (ADaM OCCDS 1.1): analysis dates, treatment
emergence, toxicity grade."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .checks import AdamError, assert_columns, assert_positive
from .merge import as_char


def derive_var_trtemfl(
    dataset: pd.DataFrame,
    *,
    start_date: str = "ASTDT",
    end_date: str = "AENDT",
    trt_start: str = "TRTSDT",
    trt_end: str = "TRTEDT",
    end_window_days: float,
    new_var: str = "TRTEMFL",
) -> pd.DataFrame:
    """TRTEMFL is "Y" for an event starting on or after the first dose (TRTSDT) and no later than
    ``end_window_days`` after the last dose (TRTEDT + window); empty otherwise (ADaM OCCDS 1.1,
    TRTEMFL). An event with no complete start date counts as treatment-emergent unless it ended
    before the first dose (the conservative reading), and a subject never dosed has none."""
    label = f"derive_var_trtemfl({new_var})"
    assert_positive(end_window_days, "end_window_days", label)
    assert_columns(dataset, [start_date, end_date, trt_start, trt_end], "the dataset", label)
    start, end = dataset[start_date], dataset[end_date]
    first, last = dataset[trt_start], dataset[trt_end]
    within = (start >= first) & (start <= last + end_window_days)
    unknown_start = start.isna() & first.notna() & ~(end < first)
    result = dataset.copy(deep=False)
    result[new_var] = np.where((within | unknown_start).to_numpy(), "Y", "").astype(str)
    return result


def derive_var_atoxgrn(dataset: pd.DataFrame, *, source: str = "ATOXGR", new_var: str = "ATOXGRN") -> pd.DataFrame:
    """ATOXGRN is the numeric form of the analysis toxicity grade ATOXGR ("0" to "5", CTCAE), so
    that grades sort and compare as numbers; missing when ATOXGR is empty (ADaMIG 1.3 naming
    conventions: a variable ending in N is the numeric version of its character variable, one to one)."""
    assert_columns(dataset, [source], "the dataset", "derive_var_atoxgrn")
    text = as_char(dataset[source]).str.strip()
    numbers = pd.to_numeric(text.replace("", np.nan), errors="coerce")
    bad = sorted(set(text[numbers.isna() & (text != "")]))
    if bad or ((numbers < 0) | (numbers > 5)).any():
        raise AdamError(
            f"derive_var_atoxgrn: {source} value(s) {', '.join(map(repr, bad)) or 'outside 0-5'} "
            f"are not CTCAE grades 0-5"
        )
    result = dataset.copy(deep=False)
    result[new_var] = numbers.astype("float64")
    return result
