"""Table builders: ``summary`` (demographics), ``listing`` (one row per subject), ``worst_grade``
(subjects by worst toxicity grade, % of the population). Each returns a :class:`Table` of cells."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .categories import as_category, category_label, category_mask
from .cells import MISSING_TEXT, Cell, Table, format_number, is_missing, percent, plain
from .select import lookup, require, where_mask

# --- summary ---------------------------------------------------------------------------------


def describe_continuous(values: pd.Series, statistic: str) -> tuple[object, str]:
    """One descriptive statistic of a continuous variable, missing values excluded.

    ``median`` uses the midpoint of the two middle values for even n (the usual definition, as
    SAS PROC MEANS/UNIVARIATE); ``range`` is "min–max"."""
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if statistic == "n":
        return int(numbers.size), str(int(numbers.size))
    if numbers.empty:
        return None, MISSING_TEXT
    if statistic in ("min", "max"):
        value = plain(getattr(numbers, statistic)())
        return value, format_number(value)
    if statistic == "range":
        low, high = plain(numbers.min()), plain(numbers.max())
        return f"{low}–{high}", f"{format_number(low)}–{format_number(high)}"
    value = plain(getattr(numbers, statistic)())
    return value, format_number(value)


STATISTIC_LABELS = {
    "n": "n",
    "median": "Median",
    "mean": "Mean",
    "min": "Minimum",
    "max": "Maximum",
    "range": "Range",
    "std": "SD",
}


def summary_table(table_id: str, spec: Mapping, subjects: pd.DataFrame) -> Table:
    """Rows of descriptive statistics and category counts over the population (a demographics table).

    Subjects falling in none of a row's categories are counted in an extra "Not categorised" line
    so that a gap in the cut points shows instead of silently shrinking the total."""
    lines: list[tuple[str, str, str]] = []
    cells: dict[str, Cell] = {}
    for row in spec["rows"]:
        label, variable = row["label"], row["variable"]
        frame = subjects.loc[where_mask(subjects, row.get("where"))]
        first = True
        for item in row.get("statistics", []):
            statistic = item["statistic"] if isinstance(item, Mapping) else item
            value, display = describe_continuous(lookup(frame, variable), statistic)
            name = STATISTIC_LABELS[statistic]
            key = f"{table_id}/{label}/{name}"
            cells[key] = Cell(key, value, display)
            if statistic == "range":  # the ends, compared one by one with the published min/max
                for end in ("min", "max"):
                    end_value, end_display = describe_continuous(lookup(frame, variable), end)
                    cells[f"{key}/{end}"] = Cell(f"{key}/{end}", end_value, end_display)
            lines.append((label if first else "", name, display))
            first = False
        covered = pd.Series(False, index=frame.index)
        n = len(subjects)
        for category in map(as_category, row.get("categories", [])):
            mask = category_mask(frame, variable, category)
            covered |= mask
            count = int(mask.sum())
            name = category_label(category)
            display = str(count)
            if row.get("percent"):
                display += f" ({format_number(percent(count, n))}%)"
            key = f"{table_id}/{label}/{name}"
            cells[key] = Cell(key, count, display, count=count, n=n)
            lines.append((label if first else "", name, display))
            first = False
        if row.get("categories") and row.get("exhaustive", True):
            left = int((~covered).sum())
            if left:
                lines.append(("", "Not categorised", str(left)))
    frame = pd.DataFrame(lines, columns=["Characteristic", "Category", spec.get("value_label", "Value")], dtype=object)
    return Table(table_id, spec["title"], frame, cells, list(spec.get("notes", [])))


# --- listing ---------------------------------------------------------------------------------


def _display_column(values: pd.Series, column: Mapping, subjects: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """A listing column's compared values and display strings (value map, censoring mark, missing)."""
    if "divide_by" in column:  # a unit change for display, e.g. days to weeks (7)
        values = pd.to_numeric(values, errors="coerce") / float(column["divide_by"])
    raw = values.map(plain).astype(object)
    mapped = raw.map(lambda v: column.get("map", {}).get(v, v) if v is not None else None)
    digits = column.get("digits")
    shown = mapped.map(lambda v: MISSING_TEXT if is_missing(v) else format_number(v, digits)).astype(object)
    if "missing" in column:
        shown = shown.where(mapped.notna(), str(column["missing"]))
    if "censored" in column:
        censored = where_mask(subjects, column["censored"]) & mapped.notna()
        shown = shown.where(~censored, shown + column.get("censored_mark", "+"))
    return mapped, shown


def listing_table(table_id: str, spec: Mapping, subjects: pd.DataFrame) -> Table:
    """One row per subject of the population, columns from ADSL or per-subject values (a patient listing).

    A column may map coded values to the published wording (``map``), change unit (``divide_by``,
    with ``digits`` for the decimals shown), show a censored value with
    a mark (``censored: {CNSRVAR: 1}`` shows 1643 as "1643+", ADaMIG BDS-TTE CNSR=1) and show a
    missing value as written (``missing: "—"``)."""
    key_var = spec["key"]
    require(subjects, key_var, *spec.get("sort_by", []))
    ordered = subjects.sort_values(spec.get("sort_by", [key_var]), kind="stable").reset_index(drop=True)
    display = pd.DataFrame(index=ordered.index)
    cells: dict[str, Cell] = {}
    keys = ordered[key_var].map(plain).astype(str)
    for column in spec["columns"]:
        label = column["label"]
        values, shown = _display_column(lookup(ordered, column["variable"]), column, ordered)
        display[label] = shown.to_numpy()
        censored = (
            where_mask(ordered, column["censored"]) if "censored" in column else pd.Series(False, index=ordered.index)
        )
        for key, value, text, flag in zip(keys, values, shown, censored, strict=True):
            cell_key = f"{table_id}/{key}/{label}"
            cells[cell_key] = Cell(cell_key, plain(value), text, censored=bool(flag))
    return Table(table_id, spec["title"], display.astype(object), cells, list(spec.get("notes", [])))


# --- worst grade -----------------------------------------------------------------------------


def worst_grade_per_subject(records: pd.DataFrame, subject: str, term: str, grade: str) -> pd.DataFrame:
    """Each subject's highest grade per term (CTCAE convention: a subject counts once, at the worst grade)."""
    grades = pd.to_numeric(records[grade], errors="coerce")
    frame = pd.DataFrame({subject: records[subject], term: records[term], "GRADE": grades}).dropna()
    return frame.groupby([subject, term], sort=True, as_index=False)["GRADE"].max()


def worst_grade_table(
    table_id: str, spec: Mapping, subjects: pd.DataFrame, records: pd.DataFrame, subject: str
) -> Table:
    """Subjects by worst grade per toxicity, as % of the whole population (a toxicity table).

    Each row gathers one or more coded terms (``terms``); a subject with several of them counts once
    at their worst grade. The total column (``total_label``) counts subjects with any grade (4 and 5
    included even when not shown as columns). Percentages are rounded half up to ``digits``."""
    n = len(subjects)
    term_var, grade_var = spec["term"], spec["grade"]
    require(records, subject, term_var, grade_var)
    records = records.loc[records[subject].isin(subjects[subject]) & where_mask(records, spec.get("where"))]
    row_of_term: dict[str, str] = {}
    for group in spec["groups"]:
        for row in group["rows"]:
            for term in row["terms"]:
                row_of_term[term.casefold()] = row["label"]
    # Coded terms are matched ignoring case: MedDRA terms are stored mixed- or upper-case by sponsors.
    # Fold each distinct term once, then spread by code (millions of records, dozens of terms).
    codes, terms = pd.factorize(records[term_var])
    row_by_code = pd.Series([row_of_term.get(str(t).casefold()) for t in terms], dtype=object)
    rows = row_by_code.to_numpy()[codes] if len(terms) else np.full(len(records), None, dtype=object)
    rows[codes < 0] = None  # a missing term is in no row
    records = records.assign(_ROW=rows)
    worst = worst_grade_per_subject(records.dropna(subset=["_ROW"]), subject, "_ROW", grade_var)
    grade_counts = pd.crosstab(worst["_ROW"], worst["GRADE"].astype(int)) if not worst.empty else pd.DataFrame()
    any_counts = worst.groupby("_ROW")[subject].nunique()
    digits = spec.get("digits", 0)
    grades = spec["grades"]
    total_label = spec.get("total_label", "Total")
    columns = ["Toxicity", *[f"Grade {g} (%)" for g in grades], total_label]
    lines, cells = [], {}
    for group in spec["groups"]:
        lines.append([group["label"], *[""] * (len(columns) - 1)])
        for row in group["rows"]:
            label = row["label"]
            counts = [
                int(grade_counts.at[label, g]) if label in grade_counts.index and g in grade_counts.columns else 0
                for g in grades
            ]
            total = int(any_counts.get(label, 0))
            shown = [label]
            for count, name in zip([*counts, total], columns[1:], strict=True):
                value = percent(count, n, digits)
                key = f"{table_id}/{label}/{name}"
                cells[key] = Cell(key, plain(value), format_number(value, digits), count=count, n=n)
                shown.append(format_number(value, digits))
            lines.append(shown)
    frame = pd.DataFrame(lines, columns=columns, dtype=object)
    precision = "whole percent" if digits == 0 else f"{digits} decimals"
    notes = [*spec.get("notes", []), f"Percentages of N = {n} subjects, rounded half up to {precision}."]
    unlisted = sorted(map(str, records.loc[records["_ROW"].isna(), term_var].dropna().unique()))
    if unlisted:
        notes.append("Terms recorded but not tabulated: " + ", ".join(map(str, unlisted)) + ".")
    return Table(table_id, spec["title"], frame, cells, notes)
