"""Basic Data Structure derivations (ADaMIG 1.3 section 3.3): parameters from SDTM findings,
analysis dates and days, baseline, change from baseline, analysis flags."""

from __future__ import annotations

import string

import numpy as np
import pandas as pd

from ..distinct import factorize, group_codes
from .checks import AdamError, assert_columns, filter_rows
from .dates import iso_to_sas_date, relative_day
from .merge import as_char


def render_template(frame: pd.DataFrame, template: str, label: str, paramcd: pd.Series | None = None) -> pd.Series:
    """``template`` such as ``"{LBTEST} ({LBSTRESU})"`` filled from ``frame``'s columns, vectorized;
    an empty bracket left by an empty value is dropped (a unitless test keeps a clean PARAM). With
    ``paramcd`` (the records' PARAMCD), a code that would get several texts is an error: ADaMIG 1.3
    requires one PARAM per PARAMCD."""
    pieces = list(string.Formatter().parse(template))
    names = list(dict.fromkeys(name for _, name, _, _ in pieces if name))
    assert_columns(frame, names, "the source", label)
    if frame.empty:
        return pd.Series("", index=frame.index, dtype=str)
    # Render each distinct combination once (a lab has few tests and units, many results), and
    # check one PARAM per PARAMCD on those few combinations rather than on every record.
    keys = frame[names] if paramcd is None else frame[names].assign(_PARAMCD=paramcd)
    group = group_codes(keys, list(keys.columns))
    distinct = keys.loc[~pd.Series(group).duplicated().to_numpy()]
    text = pd.Series("", index=distinct.index, dtype=object)
    for literal, name, _, _ in pieces:
        text = text + literal
        if name:
            text = text + as_char(distinct[name])
    text = text.astype(str).str.replace(r"\s*\(\s*\)", "", regex=True).str.strip()
    if paramcd is not None:
        _check_one_param_per_code(pd.DataFrame({"PARAMCD": as_char(distinct["_PARAMCD"]), "PARAM": text}), label)
    return pd.Series(text.to_numpy()[group], index=frame.index, dtype=str)


def derive_params_from_findings(
    source: pd.DataFrame,
    *,
    domain: str,
    date_var: str,
    seq_var: str,
    where: dict | None = None,
    paramcd: str | None = None,
    paramcd_var: str | None = None,
    param: str | None = None,
    param_template: str | None = None,
    avalc_var: str | None = None,
    aval_var: str | None = None,
    visit_var: str | None = "VISIT",
    visitnum_var: str | None = "VISITNUM",
    keep: dict[str, str] | None = None,
) -> pd.DataFrame:
    """One analysis record per SDTM findings record meeting ``where`` (ADaMIG 1.3 section 3.3.1):
    PARAMCD is the constant ``paramcd`` or the record's test code (``paramcd_var``, e.g. LBTESTCD);
    PARAM the constant ``param`` or ``param_template`` (e.g. test name and unit), one PARAM per
    PARAMCD; AVALC the standard character result, AVAL the standard numeric result (missing for a
    below-limit result such as "<10"); ADT the date part of --DTC; AVISIT/AVISITN the visit;
    SRCDOM/SRCVAR/SRCSEQ point to the SDTM record."""
    label = f"derive_params_from_findings({domain})"
    if (paramcd is None) == (paramcd_var is None):
        raise AdamError(f"{label}: give exactly one of 'paramcd' (a constant) or 'paramcd_var' (a variable)")
    if (param is None) == (param_template is None):
        raise AdamError(f"{label}: give exactly one of 'param' or 'param_template'")
    needed = [date_var, seq_var, paramcd_var, avalc_var, aval_var, visit_var, visitnum_var, *(keep or {}).values()]
    assert_columns(source, [n for n in needed if n], domain, label)
    # Only the columns used are carried through the filter: every column copied costs a pass over
    # millions of records, and LB has some thirty.
    used = [
        "STUDYID",
        "USUBJID",
        *(n for n in needed if n),
        *(where or {}),
        *(name for _, name, _, _ in string.Formatter().parse(param_template or "") if name),
        *(c for c in ("_SRCTABLE", "_SRCROW") if c in source.columns),
    ]
    rows = filter_rows(source, where, domain, label, columns=[c for c in dict.fromkeys(used) if c in source.columns])
    records = pd.DataFrame(index=rows.index)
    records["STUDYID"] = as_char(rows["STUDYID"])
    records["USUBJID"] = as_char(rows["USUBJID"])
    records["PARAMCD"] = paramcd if paramcd is not None else as_char(rows[paramcd_var])
    # A constant PARAM is one per PARAMCD by construction; a template is checked as it is rendered.
    if param is not None:
        records["PARAM"] = param
    elif param_template is not None:  # exactly one of the two was checked above
        records["PARAM"] = render_template(rows, param_template, label, paramcd=records["PARAMCD"])
    records["AVALC"] = as_char(rows[avalc_var]) if avalc_var else ""
    records["AVAL"] = pd.to_numeric(rows[aval_var], errors="coerce").astype("float64") if aval_var else np.nan
    records["ADT"] = iso_to_sas_date(rows[date_var])
    if visit_var:
        records["AVISIT"] = as_char(rows[visit_var])
    if visitnum_var:
        records["AVISITN"] = pd.to_numeric(rows[visitnum_var], errors="coerce").astype("float64")
    for new, old in (keep or {}).items():
        records[new] = rows[old] if pd.api.types.is_numeric_dtype(rows[old]) else as_char(rows[old])
    records["SRCDOM"] = domain
    records["SRCVAR"] = aval_var or avalc_var or ""
    records["SRCSEQ"] = pd.to_numeric(rows[seq_var], errors="coerce").astype("float64")
    for hidden in ("_SRCTABLE", "_SRCROW"):
        if hidden in rows.columns:
            records[hidden] = rows[hidden]
    return records.reset_index(drop=True)


def _check_one_param_per_code(records: pd.DataFrame, label: str) -> None:
    """Refuses a PARAMCD with more than one PARAM: ADaMIG 1.3 section 3.3.4 (BDS Analysis Parameter
    Variables), PARAM and PARAMCD map one to one within a dataset."""
    pairs = records[["PARAMCD", "PARAM"]].drop_duplicates()
    doubled = pairs[pairs["PARAMCD"].duplicated(keep=False)]
    if not doubled.empty:
        code = doubled["PARAMCD"].iloc[0]
        names = " / ".join(doubled.loc[doubled["PARAMCD"] == code, "PARAM"])
        raise AdamError(
            f"{label}: PARAMCD {code} would have several PARAMs ({names}); ADaMIG 1.3 requires "
            f"one PARAM per PARAMCD: standardize the unit in SDTM or split the parameter"
        )


def derive_vars_dy(
    dataset: pd.DataFrame, *, reference: str = "TRTSDT", dates: dict[str, str] | None = None
) -> pd.DataFrame:
    """Analysis relative days (``{ADT: ADY, ASTDT: ASTDY, ...}``) from the reference date (TRTSDT),
    with no day 0: the reference date is day 1, the day before it is day -1 (ADaMIG 1.3 *DY,
    SDTMIG 3.4 section 4.4.4)."""
    dates = dates or {"ADT": "ADY"}
    assert_columns(dataset, [reference, *dates], "the dataset", "derive_vars_dy")
    result = dataset.copy(deep=False)
    for date, day in dates.items():
        result[day] = relative_day(dataset[date], dataset[reference])
    return result


def derive_var_aval_from_avalc(
    dataset: pd.DataFrame, *, codes: dict[str, float], where: dict | None = None
) -> pd.DataFrame:
    """AVAL is the numeric code of AVALC from the study's table ``codes`` (e.g. CR 1, PR 2, ...), so
    that AVAL and AVALC map one to one within a parameter (ADaMIG 1.3 section 3.3.4); an AVALC
    absent from the table is an error."""
    rows = filter_rows(dataset, where, "the dataset", "derive_var_aval_from_avalc").index
    text = dataset.loc[rows, "AVALC"]
    table = {str(k): float(v) for k, v in codes.items()}
    unknown = sorted(set(text[text != ""]) - set(table))
    if unknown:
        raise AdamError(
            f"derive_var_aval_from_avalc: AVALC {', '.join(map(repr, unknown))} has no code; add it to 'codes'"
        )
    result = dataset.copy(deep=False)
    if "AVAL" not in result.columns:
        result["AVAL"] = np.nan
    result["AVAL"] = result["AVAL"].astype("float64")
    result.loc[rows, "AVAL"] = text.map(table).astype("float64")
    return result


def derive_var_ablfl(
    dataset: pd.DataFrame,
    *,
    reference: str = "TRTSDT",
    by: tuple[str, ...] = ("USUBJID", "PARAMCD"),
    date_var: str = "ADT",
    value_vars: tuple[str, ...] = ("AVALC", "AVAL"),
    on_reference_day: bool = True,
    order: tuple[str, ...] = ("SRCSEQ",),
    new_var: str = "ABLFL",
) -> pd.DataFrame:
    """ABLFL is "Y" on the baseline record of each subject and parameter: the last record with a
    result (any of ``value_vars`` non-missing; a below-limit "<10" counts as a result) dated before the
    first dose, or on its day when ``on_reference_day`` (samples drawn before dosing); ties on the
    date are broken by ``order``. ADaMIG 1.3 section 3.3.5 (ABLFL)."""
    label = "derive_var_ablfl"
    assert_columns(dataset, [*by, reference, date_var, *value_vars, *order], "the dataset", label)
    has_result = pd.Series(False, index=dataset.index)
    for name in value_vars:
        column = dataset[name]
        has_result |= (as_char(column) != "") if not pd.api.types.is_numeric_dtype(column) else column.notna()
    before = dataset[date_var] <= dataset[reference] if on_reference_day else dataset[date_var] < dataset[reference]
    candidates = dataset[has_result & before.fillna(False) & dataset[date_var].notna()]
    last = candidates.sort_values([*by, date_var, *order], kind="stable").drop_duplicates(list(by), keep="last")
    result = dataset.copy(deep=False)
    result[new_var] = ""
    result.loc[last.index, new_var] = "Y"
    return result


def derive_var_base(
    dataset: pd.DataFrame,
    *,
    source_var: str = "AVAL",
    new_var: str = "BASE",
    flag: str = "ABLFL",
    by: tuple[str, ...] = ("USUBJID", "PARAMCD"),
) -> pd.DataFrame:
    """BASE (or BASEC, ...) is ``source_var`` on the subject's baseline record (``flag`` = "Y") of the
    parameter, repeated on every record of the parameter (ADaMIG 1.3 BASE)."""
    assert_columns(dataset, [*by, source_var, flag], "the dataset", "derive_var_base")
    # each record's group and its group's baseline record found by integer codes, not by a merge on text
    group = group_codes(dataset, list(by))
    flagged = np.flatnonzero((dataset[flag] == "Y").to_numpy(dtype=bool))
    if len(np.unique(group[flagged])) < len(flagged):  # several baseline records: merge's rows, as before
        baseline = dataset.loc[dataset[flag] == "Y", [*by, source_var]].rename(columns={source_var: "_base"})
        values = dataset[list(by)].merge(baseline, on=list(by), how="left")["_base"].to_numpy()
    else:
        of_group = np.full(int(group.max(initial=-1)) + 1, -1, dtype=np.intp)
        of_group[group[flagged]] = flagged
        values = dataset[source_var].array.take(of_group[group], allow_fill=True).to_numpy()
    result = dataset.copy(deep=False)
    result[new_var] = values
    if not pd.api.types.is_numeric_dtype(dataset[source_var]):
        result[new_var] = as_char(result[new_var])
    return result


BLQ_RULES = {"half_lloq": "HALFLLOQ", "lloq": "LLOQ", "missing": None}  # rule -> ADaM CT DTYPE term


def derive_var_aval_blq(dataset: pd.DataFrame, *, rule: str, prefix: str = "<") -> pd.DataFrame:
    """A result reported below the lower limit of quantitation (AVALC "<10": ``prefix`` then the limit, in
    the unit of AVAL) takes AVAL from the study's declared rule: one half of the limit (DTYPE = "HALFLLOQ"),
    the limit itself (DTYPE = "LLOQ"), or none (AVAL stays missing, DTYPE null); AVALC keeps the reported
    text (ADaMIG 1.3 section 3.3.4 DTYPE; ADaM CT DTYPE C81224: HALFLLOQ, LLOQ)."""
    if rule not in BLQ_RULES:
        raise AdamError(f"derive_var_aval_blq: rule {rule!r} unknown; use one of {', '.join(BLQ_RULES)}")
    assert_columns(dataset, ["AVAL", "AVALC"], "the dataset", "derive_var_aval_blq")
    # each distinct AVALC is parsed once: a lab has a few thousand distinct results in millions of records
    codes, distinct = factorize(dataset["AVALC"])
    text = pd.Series(distinct, dtype=object).astype("str").str.strip()
    distinct_below = text.str.startswith(prefix).fillna(False).to_numpy(dtype=bool)
    distinct_limit = pd.to_numeric(text.str[len(prefix) :].where(distinct_below), errors="coerce")
    unparsed = distinct_below & distinct_limit.isna().to_numpy()
    if unparsed.any():  # the first in record order: factorize lists values as they first appear
        raise AdamError(
            f"derive_var_aval_blq: AVALC {text[unparsed].iloc[0]!r} starts with {prefix!r} but no number "
            "(the limit) follows"
        )
    below = np.append(distinct_below, False)[codes]  # code -1: a missing AVALC is not below the limit
    result = dataset.copy(deep=False)
    dtype = BLQ_RULES[rule]
    if dtype is not None:
        factor = 0.5 if rule == "half_lloq" else 1.0
        limit = np.append(distinct_limit.to_numpy(dtype="float64"), np.nan)[codes]
        result["AVAL"] = dataset["AVAL"].where(~below, limit * factor).astype("float64")
    # one shared text object per value (np.where on text would make a new string for every record)
    flagged = np.full(len(dataset), "", dtype=object)
    if dtype is not None:
        flagged[below] = dtype
    result["DTYPE"] = pd.Series(flagged, index=dataset.index, dtype="str")
    return result


def derive_var_chg(
    dataset: pd.DataFrame,
    *,
    reference: str = "TRTSDT",
    date_var: str = "ADT",
    flag: str = "ABLFL",
    include_baseline: bool = False,
) -> pd.DataFrame:
    """CHG = AVAL - BASE on post-baseline records (dated after the first dose), and on the baseline
    record itself (where it is 0) when ``include_baseline``; missing on earlier records and wherever
    AVAL or BASE is missing (ADaMIG 1.3 section 3.3.4, BDS Analysis Parameter Variables: CHG, Change
    from Baseline = AVAL - BASE; at baseline and before it the sponsor may leave it null)."""
    assert_columns(dataset, ["AVAL", "BASE", reference, date_var, flag], "the dataset", "derive_var_chg")
    post = (dataset[date_var] > dataset[reference]) & (dataset[flag] != "Y")
    if include_baseline:
        post |= dataset[flag] == "Y"
    result = dataset.copy(deep=False)
    result["CHG"] = (dataset["AVAL"] - dataset["BASE"]).where(post).astype("float64")
    return result


def derive_var_extreme_flag(
    dataset: pd.DataFrame, *, by: tuple[str, ...], order: list[tuple[str, str]], new_var: str, where: dict | None = None
) -> pd.DataFrame:
    """``new_var`` is "Y" on the first record of each by group when sorted by ``order``
    ((variable, "asc" | "desc") pairs), among records meeting ``where`` (admiral
    ``derive_var_extreme_flag``); missing values sort last either way."""
    label = f"derive_var_extreme_flag({new_var})"
    names = [name for name, _ in order]
    assert_columns(dataset, [*by, *names], "the dataset", label)
    bad = [direction for _, direction in order if direction not in ("asc", "desc")]
    if bad:
        raise AdamError(f"{label}: order directions must be 'asc' or 'desc', got {bad[0]!r}")
    rows = filter_rows(dataset, where, "the dataset", label)
    ranked = rows.sort_values(
        [*by, *names], ascending=[True] * len(by) + [d == "asc" for _, d in order], kind="stable", na_position="last"
    )
    first = ranked.drop_duplicates(list(by), keep="first")
    result = dataset.copy(deep=False)
    result[new_var] = ""
    result.loc[first.index, new_var] = "Y"
    return result


def derive_var_worst_flag(
    dataset: pd.DataFrame,
    *,
    by: tuple[str, ...] = ("USUBJID", "AEDECOD"),
    analysis_var: str = "ATOXGRN",
    tie_break: tuple[str, ...] = ("ASTDT", "AESEQ"),
    new_var: str = "AOCCPIFL",
    where: dict | None = None,
) -> pd.DataFrame:
    """The worst-record flag is "Y" on exactly one record per ``by`` group (e.g. subject and preferred
    term): the one with the highest ``analysis_var`` (e.g. toxicity grade); among records sharing the
    worst value, the earliest by ``tie_break`` (start date, then sequence number). Records with a
    missing ``analysis_var`` are chosen only when none has a value (ADaM OCCDS 1.1, AOCCxxFL)."""
    order = [(analysis_var, "desc"), *((name, "asc") for name in tie_break)]
    return derive_var_extreme_flag(dataset, by=by, order=order, new_var=new_var, where=where)


def derive_var_anl01fl(
    dataset: pd.DataFrame,
    *,
    where: dict | None = None,
    reference: str | None = "TRTSDT",
    date_var: str = "ADT",
    until: dict | None = None,
    new_var: str = "ANL01FL",
    by: tuple[str, ...] = ("USUBJID", "PARAMCD"),
    worst_per_date: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """ANL01FL is "Y" on the records an analysis uses (ADaMIG 1.3 ANLzzFL): records meeting ``where``,
    dated after ``reference`` (post-baseline) when given, and, when ``until`` names a result (e.g.
    ``{AVALC: PD}``), not later than the first such record of the subject and parameter. With
    ``worst_per_date`` (AVALC values, worst first, e.g. PD, NE, SD, PR, CR), only the worst of a
    subject's records on one date is flagged (a value not listed counts as better than every listed
    one; ties go to the first record), so that an analysis sees one result per assessment date."""
    label = f"derive_var_anl01fl({new_var})"
    rows = filter_rows(dataset, where, "the dataset", label)
    assert_columns(rows, [date_var, *by], "the dataset", label)
    if reference:
        assert_columns(rows, [reference], "the dataset", label)
        rows = rows[rows[date_var] > rows[reference]]
    if until:
        stops = filter_rows(rows, until, "the dataset", label)
        first = stops.groupby(list(by), sort=False)[date_var].min().rename("_stop").reset_index()
        stop = rows[list(by)].merge(first, on=list(by), how="left")["_stop"].to_numpy()
        rows = rows[~(rows[date_var].to_numpy() > stop)]
    if worst_per_date:
        assert_columns(rows, ["AVALC"], "the dataset", label)
        rank = rows["AVALC"].map({value: index for index, value in enumerate(worst_per_date)})
        ranked = rows.assign(_rank=rank.fillna(len(worst_per_date))).sort_values(
            [*by, date_var, "_rank"], kind="stable"
        )
        rows = ranked.drop_duplicates([*by, date_var], keep="first")
    result = dataset.copy(deep=False)
    result[new_var] = ""
    result.loc[rows.index, new_var] = "Y"
    return result
