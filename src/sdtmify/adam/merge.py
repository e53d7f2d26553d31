"""Adding variables to a dataset from another one, admiral's ``derive_vars_merged`` family.

All functions are pure: they return a new frame and leave their inputs alone."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..distinct import by_distinct
from ..mapping.algorithms.base import has_missing
from .checks import AdamError, assert_columns, filter_rows

AGGREGATES = ("count", "count_distinct", "min", "max", "sum", "first", "last")


def as_char(values: pd.Series) -> pd.Series:
    """Text the way datasets hold it: ``str`` with "" for missing (never NaN)."""
    if values.dtype != object and pd.api.types.is_string_dtype(values.dtype):
        # already text: no per-value work; a scan of value types finds missing values more cheaply than isna
        return values.fillna("") if has_missing(values) else values
    return values.astype(object).where(values.notna(), "").astype(str)


def by_subject(frame: pd.DataFrame, variable: str) -> pd.Series:
    """``variable`` indexed by USUBJID, for ``Series.map``. Selects the two columns before indexing:
    ``frame.set_index("USUBJID")`` would copy every other column (all of ADSL) only to drop it."""
    return frame[["USUBJID", variable]].set_index("USUBJID")[variable]


def derive_vars_merged(
    dataset: pd.DataFrame,
    dataset_add: pd.DataFrame,
    *,
    new_vars: dict[str, str],
    by: tuple[str, ...] = ("USUBJID",),
    where: dict | None = None,
    order: tuple[str, ...] = (),
    mode: str = "first",
    add_name: str = "dataset_add",
) -> pd.DataFrame:
    """Variables of one record per ``by`` group of ``dataset_add`` (the first or last by ``order``,
    among records meeting ``where``) copied onto ``dataset`` as ``new_vars`` (NEW: OLD).

    A by group with no such record gets missing values ("" for text). More than one candidate
    record per group without an ``order`` is an error: the choice must be stated, not left to chance.
    ADaMIG 1.3 variable conventions: a variable copied from SDTM or another ADaM dataset keeps its
    values (and, under its own name, its label); its Define-XML 2.1 origin is Predecessor."""
    label = f"derive_vars_merged({add_name})"
    assert_columns(dataset, by, "the dataset", label)
    assert_columns(dataset_add, [*by, *order, *new_vars.values()], add_name, label)
    if mode not in ("first", "last"):
        raise AdamError(f"{label}: mode must be 'first' or 'last', got {mode!r}")
    candidates = filter_rows(dataset_add, where, add_name, label)
    if order:
        candidates = candidates.sort_values(list(order), kind="stable")
    elif candidates.duplicated(list(by)).any():
        dupes = candidates.loc[candidates.duplicated(list(by), keep=False), list(by)].head(2)
        raise AdamError(
            f"{label}: several {add_name} records per {', '.join(by)} "
            f"(e.g. {dupes.iloc[0].tolist()}); add 'where' or 'order' to choose one"
        )
    chosen = candidates.drop_duplicates(list(by), keep="first" if mode == "first" else "last")
    # Look each record's by group up among the chosen records (one per group) and take the values by
    # position: a join without rebuilding the dataset, which may hold millions of records.
    position = _positions(dataset, chosen, list(by))
    found = position >= 0
    merged = dataset.copy(deep=False)
    for name, old in new_vars.items():
        values = chosen[old]
        numeric = pd.api.types.is_numeric_dtype(values)
        if found.all():
            column = values.take(position).set_axis(dataset.index)
        elif not found.any():  # no group matched (possibly nothing to match): all missing
            column = pd.Series(np.nan if numeric else "", index=dataset.index)
        elif numeric:
            column = pd.Series(
                np.where(found, values.to_numpy(dtype="float64", na_value=np.nan)[position], np.nan),
                index=dataset.index,
            )
        else:
            column = pd.Series(np.where(found, values.to_numpy(dtype=object)[position], ""), index=dataset.index)
        merged[name] = column if numeric else as_char(column)
    return merged


def _positions(dataset: pd.DataFrame, chosen: pd.DataFrame, by: list[str]) -> np.ndarray:
    """For each record of ``dataset``, the position in ``chosen`` (unique by ``by``) of the record with
    the same ``by`` values, or -1 when there is none."""
    if len(by) == 1:
        return pd.Index(chosen[by[0]]).get_indexer(dataset[by[0]])
    return pd.MultiIndex.from_frame(chosen[by]).get_indexer(pd.MultiIndex.from_frame(dataset[by]))


def derive_var_merged_exist_flag(
    dataset: pd.DataFrame,
    dataset_add: pd.DataFrame,
    *,
    new_var: str,
    where: dict | None = None,
    by: tuple[str, ...] = ("USUBJID",),
    true_value: str = "Y",
    false_value: str = "N",
    add_name: str = "dataset_add",
) -> pd.DataFrame:
    """``new_var`` is ``true_value`` when ``dataset_add`` has at least one record of the by group
    meeting ``where``, else ``false_value`` (admiral ``derive_var_merged_exist_flag``). ADaMIG 1.3
    flag conventions: a *FL flag is "Y"/"N"; its origin is Derived."""
    label = f"derive_var_merged_exist_flag({new_var})"
    assert_columns(dataset, by, "the dataset", label)
    hits = filter_rows(dataset_add, where, add_name, label)[list(by)].drop_duplicates()
    found = dataset[list(by)].merge(hits.assign(_hit=True), on=list(by), how="left")["_hit"]
    result = dataset.copy(deep=False)
    result[new_var] = np.where(found.notna().to_numpy(), true_value, false_value)
    result[new_var] = result[new_var].astype(str)
    return result


def derive_var_merged_summary(
    dataset: pd.DataFrame,
    dataset_add: pd.DataFrame,
    *,
    new_var: str,
    analysis_var: str,
    function: str,
    where: dict | None = None,
    by: tuple[str, ...] = ("USUBJID",),
    missing: float | None = None,
    pattern: str | None = None,
    add_name: str = "dataset_add",
) -> pd.DataFrame:
    """``new_var`` = ``function`` (count, count_distinct, min, max, sum) of ``analysis_var`` over the
    ``dataset_add`` records of each by group meeting ``where``; ``missing`` where there are none
    (admiral ``derive_var_merged_summary``). With ``pattern`` (a regular expression with one group),
    the function applies to the part of the value the group captures, e.g. the cycle number of
    VISIT "CYCLE 2 DAY 5"; values that do not match are left out."""
    label = f"derive_var_merged_summary({new_var})"
    if function not in AGGREGATES:
        raise AdamError(f"{label}: function must be one of {', '.join(AGGREGATES)}, got {function!r}")
    assert_columns(dataset_add, [*by, analysis_var], add_name, label)
    rows = filter_rows(dataset_add, where, add_name, label)
    values = rows[analysis_var]
    if pattern:
        # matched once per distinct value: a subject's dosing records repeat a few visit names
        values = by_distinct(as_char(values), lambda distinct: distinct.str.extract(pattern, expand=False))
        if function not in ("count", "count_distinct"):
            values = pd.to_numeric(values, errors="coerce")
    if pd.api.types.is_string_dtype(values) or values.dtype == object:
        values = values.where(as_char(values) != "")
    grouped = values.groupby([rows[name] for name in by], sort=False)
    how = {"count": "count", "count_distinct": "nunique"}.get(function, function)
    summary = grouped.agg(how).rename("_summary").reset_index()
    merged = dataset[list(by)].merge(summary, on=list(by), how="left")["_summary"]
    result = dataset.copy(deep=False)
    result[new_var] = pd.to_numeric(merged, errors="coerce").to_numpy(dtype="float64")
    if missing is not None:
        result[new_var] = result[new_var].fillna(float(missing))
    return result


def derive_vars_supp(
    dataset: pd.DataFrame,
    supp: pd.DataFrame,
    *,
    variables: dict[str, str],
    numeric: tuple[str, ...] = (),
    supp_name: str = "SUPPQUAL",
) -> pd.DataFrame:
    """Supplemental qualifiers as variables (SDTMIG 3.4 section 8.4): for each ``NEW: QNAM`` of
    ``variables``, QVAL of the SUPP record whose USUBJID matches and, when IDVAR is given, whose
    IDVARVAL equals the parent record's IDVAR value. Variables in ``numeric`` become numbers.
    ADaMIG 1.3 variable conventions: the qualifier's value is copied, so its Define-XML 2.1 origin is
    Predecessor (SUPPxx.QVAL where QNAM is the variable)."""
    label = f"derive_vars_supp({supp_name})"
    assert_columns(supp, ("USUBJID", "QNAM", "QVAL", "IDVAR", "IDVARVAL"), supp_name, label)
    known = set(supp["QNAM"].unique())
    absent = [qnam for qnam in variables.values() if qnam not in known]
    if absent and len(supp):  # an empty SUPP (a study with no such records) gives blank variables
        raise AdamError(
            f"{label}: no {supp_name} record has QNAM {', '.join(absent)}; QNAMs present: {', '.join(sorted(known))}"
        )
    result = dataset.copy(deep=False)
    wanted = supp[supp["QNAM"].isin(list(variables.values()))]
    for idvar, records in wanted.groupby("IDVAR", sort=True):
        keys = ["USUBJID"]
        if idvar:
            assert_columns(dataset, [idvar], "the parent dataset", label)
            records = records.assign(**{idvar: records["IDVARVAL"].str.strip()})
            result["_idval"] = _id_text(result[idvar])
            records = records.rename(columns={idvar: "_idval"})
            keys.append("_idval")
        wide = records.pivot_table(index=keys, columns="QNAM", values="QVAL", aggfunc="first")
        wide = wide.reset_index()
        for new, qnam in variables.items():
            if qnam not in wide.columns:
                continue
            column = result[keys].merge(wide[[*keys, qnam]], on=keys, how="left")[qnam]
            result[new] = column.to_numpy()
        result = result.drop(columns=["_idval"], errors="ignore")
    for new in variables:
        if new not in result.columns:
            result[new] = ""
        if new in numeric:
            result[new] = pd.to_numeric(as_char(result[new]).replace("", np.nan), errors="raise").astype("float64")
        else:
            result[new] = as_char(result[new])
    return result


def _id_text(values: pd.Series) -> pd.Series:
    """A parent's IDVAR value as IDVARVAL writes it (--SEQ 3.0 as "3")."""
    if pd.api.types.is_numeric_dtype(values):
        whole = values.round().eq(values) | values.isna()
        text = values.astype("Int64").astype(str) if whole.all() else values.astype(str)
        return text.where(values.notna(), "").astype(str)
    return as_char(values).str.strip()


def derive_var_recode(
    dataset: pd.DataFrame, *, source: str, new_var: str, values: dict, numeric: bool = False, where: dict | None = None
) -> pd.DataFrame:
    """``new_var`` = ``values[source]`` (a lookup table kept in the YAML) on the records meeting
    ``where``; a source value absent from the table is an error naming it, so no value is lost silently."""
    label = f"derive_var_recode({new_var})"
    assert_columns(dataset, [source], "the dataset", label)
    rows = filter_rows(dataset, where, "the dataset", label).index
    text = _id_text(dataset.loc[rows, source])
    table = {str(k): v for k, v in values.items()}
    unknown = sorted(set(text[text != ""]) - set(table))
    if unknown:
        raise AdamError(
            f"{label}: {source} value(s) {', '.join(map(repr, unknown))} not in 'values'; add them to the YAML table"
        )
    mapped = text.map(table)
    result = dataset.copy(deep=False)
    if numeric:
        if new_var not in result.columns:
            result[new_var] = np.nan
        result[new_var] = result[new_var].astype("float64")
        result.loc[rows, new_var] = pd.to_numeric(mapped, errors="raise").astype("float64")
    else:
        # a fresh column: never write into an array the input frame may share
        result[new_var] = as_char(result[new_var]).copy() if new_var in result.columns else ""
        result.loc[rows, new_var] = as_char(mapped)
        result[new_var] = as_char(result[new_var])
    return result
