"""Dose-limiting toxicity for dose-escalation trials: the DLT flag on ADAE from the protocol's DLT
definition, and the DLT-evaluable population flag on ADSL. The definition (grades, relatedness, body
systems, persistence, window) lives in the YAML; these functions hold only the rules."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .checks import AdamError, assert_columns, assert_positive, filter_rows


def derive_var_dltfl(
    dataset: pd.DataFrame,
    *,
    min_grade: float,
    window_days: float,
    where: dict | None = None,
    grade_var: str = "ATOXGRN",
    always_grade: float | None = None,
    min_duration_days: float | None = None,
    reference: str = "TRTSDT",
    start_date: str = "ASTDT",
    end_date: str = "AENDT",
    new_var: str = "DLTFL",
) -> pd.DataFrame:
    """The dose-limiting toxicity flag is "Y" on an adverse event meeting the protocol's DLT
    definition, else "N" (ADaM OCCDS 1.1: a sponsor-defined occurrence flag): an event meeting
    ``where`` (e.g. drug-related, non-hematologic), of grade ``min_grade`` or worse (CTCAE), starting
    within ``window_days`` of the first dose (day 1 = the reference date, so an onset on day
    ``window_days`` counts); and, below ``always_grade``, lasting at least ``min_duration_days``
    (end - start + 1; an event without an end date is still ongoing, so it lasts). An event without a
    start date or grade is not a DLT."""
    label = f"derive_var_dltfl({new_var})"
    assert_positive(min_grade, "min_grade", label)
    assert_positive(window_days, "window_days", label)
    if (always_grade is None) != (min_duration_days is None):
        raise AdamError(f"{label}: give both 'always_grade' and 'min_duration_days', or neither")
    assert_columns(dataset, [grade_var, reference, start_date, end_date], "the dataset", label)
    rows = filter_rows(dataset, where, "the dataset", label)
    grade = rows[grade_var].astype("float64")
    onset = rows[start_date] - rows[reference] + 1
    flagged = (grade >= min_grade) & (onset >= 1) & (onset <= window_days)
    if always_grade is not None:
        lasted = rows[end_date] - rows[start_date] + 1
        persists = (lasted >= min_duration_days) | rows[end_date].isna()
        flagged &= (grade >= always_grade) | persists
    result = dataset.copy(deep=False)
    result[new_var] = "N"
    result.loc[rows.index[flagged.fillna(False).to_numpy()], new_var] = "Y"
    result[new_var] = result[new_var].astype(str)
    return result


def derive_var_dltevlfl(
    adsl: pd.DataFrame,
    dosed: pd.DataFrame,
    events: pd.DataFrame,
    *,
    window_days: float,
    dosed_where: dict | None = None,
    dose_var: str = "EXDOSE",
    dlt_var: str = "DLTFL",
    reference: str = "TRTSDT",
    observed_until: str = "LSTALVDT",
    new_var: str = "DLTEVLFL",
) -> pd.DataFrame:
    """The DLT-evaluable population flag is "Y" for a subject who received the escalated treatment
    (an exposure record meeting ``dosed_where`` with a dose above zero) and either had a dose-limiting
    toxicity (an ``events`` record with ``dlt_var`` = "Y") or was followed through the DLT window
    (``observed_until`` - ``reference`` + 1 >= ``window_days``); else "N" (sponsor-defined population
    flag, ADaMIG 1.3 section 3.2.4)."""
    label = f"derive_var_dltevlfl({new_var})"
    assert_positive(window_days, "window_days", label)
    assert_columns(adsl, ["USUBJID", reference, observed_until], "ADSL", label)
    assert_columns(dosed, ["USUBJID", dose_var], "the exposure dataset", label)
    assert_columns(events, ["USUBJID", dlt_var], "the adverse event dataset", label)
    given = filter_rows(dosed, dosed_where, "the exposure dataset", label)
    given = set(given.loc[pd.to_numeric(given[dose_var], errors="coerce") > 0, "USUBJID"])
    with_dlt = set(events.loc[events[dlt_var] == "Y", "USUBJID"])
    followed = (adsl[observed_until] - adsl[reference] + 1 >= window_days).fillna(False)
    evaluable = adsl["USUBJID"].isin(given) & (adsl["USUBJID"].isin(with_dlt) | followed)
    result = adsl.copy(deep=False)
    result[new_var] = np.where(evaluable.to_numpy(), "Y", "N").astype(str)
    return result
