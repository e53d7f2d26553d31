"""The analysis population, one row per subject, with per-subject values gathered from BDS/OCCDS.

ADaMIG 1.3 keeps subject-level facts in ADSL and records in BDS/OCCDS datasets; a report needs both
side by side (e.g. each subject's peak laboratory value beside their best response). ``subject_values``
reduce a dataset's records to one value per subject, vectorized with groupby."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from .select import require, where_mask


def reduce_per_subject(
    records: pd.DataFrame, subject: str, variable: str | None, reduce: str, order_by: list[str] | None = None
) -> pd.Series:
    """One value per subject from its records.

    ``max``/``min``/``sum`` over the numeric ``variable`` (missing values ignored, as SAS does);
    ``first``/``last`` take the variable from the first/last record in ``order_by`` order (ADaM
    datasets are already sorted by their keys when no order is given); ``count`` counts records;
    ``exists`` is "Y" for every subject with at least one record."""
    require(records, subject, variable if reduce not in ("count", "exists") else None, *(order_by or []))
    if reduce in ("count", "exists"):
        counts = records.groupby(subject, sort=True).size()
        return counts if reduce == "count" else pd.Series("Y", index=counts.index, dtype=object)
    if order_by:
        records = records.sort_values(order_by, kind="stable")
    grouped = records.groupby(subject, sort=True)[variable]
    if reduce in ("max", "min", "sum"):
        numbers = pd.to_numeric(records[variable], errors="coerce")
        grouped = numbers.groupby(records[subject], sort=True)
        return getattr(grouped, reduce)(min_count=1) if reduce == "sum" else getattr(grouped, reduce)()
    return grouped.first() if reduce == "first" else grouped.last()


def add_subject_values(
    population: pd.DataFrame, datasets: Mapping[str, pd.DataFrame], values: Mapping[str, Mapping], subject: str
) -> pd.DataFrame:
    """``population`` with one new column per ``values`` entry (joined on the subject key).

    An entry's ``missing`` value fills subjects without records (e.g. 0 for "never detectable",
    "N" for a flag); otherwise they stay missing."""
    out = population.copy()
    for name, rule in values.items():
        records = datasets[rule["dataset"]]
        records = records.loc[where_mask(records, rule.get("where"))]
        reduced = reduce_per_subject(records, subject, rule.get("variable"), rule["reduce"], rule.get("order_by"))
        column = out[subject].map(reduced)
        if rule["reduce"] == "exists":
            column = column.where(column.notna(), rule.get("missing", "N")).astype(object)
        elif "missing" in rule:
            column = column.where(column.notna(), rule["missing"])
        out[name] = column
    return out
