"""Tumour response parameters for ADRS: best overall response by RECIST 1.0 and the rates built on it.

The study's choices (minimum interval for SD, confirmation, the clinical-benefit threshold, the
response codes) come from the YAML; these functions hold only the rules."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .checks import AdamError, assert_columns, assert_positive, filter_rows
from .merge import as_char

RECIST_ORDER = ("CR", "PR", "SD", "PD", "NE")


def _assessments(
    dataset: pd.DataFrame, adsl: pd.DataFrame, source_paramcd: str, reference: str, order: tuple[str, ...], label: str
) -> pd.DataFrame:
    """Post-baseline overall responses (dated after ``reference``), with the subject's reference date."""
    assert_columns(dataset, ["USUBJID", "PARAMCD", "AVALC", "ADT"], "ADRS", label)
    assert_columns(adsl, ["USUBJID", reference], "ADSL", label)
    rows = dataset[(dataset["PARAMCD"] == source_paramcd) & (dataset["AVALC"] != "")]
    unknown = sorted(set(rows["AVALC"]) - set(order))
    if unknown:
        raise AdamError(
            f"{label}: {source_paramcd} has result(s) {', '.join(map(repr, unknown))} not in "
            f"'order' ({', '.join(order)}); add them or recode them in SDTM"
        )
    rows = (
        rows.drop(columns=[reference], errors="ignore")
        .merge(adsl[["USUBJID", reference]], on="USUBJID", how="left")
        .set_axis(rows.index)
    )
    return rows[(rows["ADT"] > rows[reference]).fillna(False)]


def _until_first(rows: pd.DataFrame, value: str) -> pd.DataFrame:
    """The assessments up to and including each subject's first ``value`` (later ones do not count)."""
    first = rows.loc[rows["AVALC"] == value].groupby("USUBJID")["ADT"].min()
    stop = rows["USUBJID"].map(first)
    return rows[~(rows["ADT"] > stop).fillna(False)]


def _confirmed(rows: pd.DataFrame, responses: tuple[str, str], confirm_days: float) -> pd.Series:
    """True for a CR (PR) followed, at least ``confirm_days`` later, by a CR (a CR or PR).

    RECIST 1.0 (Therasse et al., JNCI 2000), "Confirmation": a CR or PR must be confirmed by a repeat
    assessment no less than 4 weeks after the criteria for response are first met; the study states
    the interval (``confirm_days``, 28 for 4 weeks)."""
    complete, partial = responses
    hits = rows[rows["AVALC"].isin(responses)][["USUBJID", "ADT", "AVALC"]].reset_index()
    later = hits.merge(hits, on="USUBJID", suffixes=("", "_next"))
    later = later[later["ADT_next"] - later["ADT"] >= confirm_days]
    ok = ((later["AVALC"] == complete) & (later["AVALC_next"] == complete)) | (
        (later["AVALC"] == partial) & later["AVALC_next"].isin(responses)
    )
    confirmed = set(later.loc[ok, "index"])
    return pd.Series(rows.index.isin(list(confirmed)), index=rows.index)


def derive_param_bor(
    dataset: pd.DataFrame,
    adsl: pd.DataFrame,
    *,
    source_paramcd: str,
    paramcd: str,
    param: str = "Best Overall Response",
    reference: str = "TRTSDT",
    sd_min_days: float,
    confirmation: bool = False,
    confirm_days: float | None = None,
    no_assessment: str = "NE",
    order: tuple[str, ...] = RECIST_ORDER,
) -> pd.DataFrame:
    """Best overall response by RECIST 1.0 (Therasse et al., JNCI 2000; section "Evaluation of best
    overall response"): the best response recorded from the start of treatment until disease
    progression, in the order CR > PR > SD > PD > NE. Only assessments after the first dose count,
    and none after the first PD. SD counts only when assessed at least ``sd_min_days`` after the
    first dose; an earlier SD counts as NE, so the best response is then the next qualifying one (PD,
    or NE). When ``confirmation`` is required, a CR (PR) counts only if a CR (CR or PR) follows at
    least ``confirm_days`` later, and otherwise counts as SD. A subject without any post-baseline
    assessment gets ``no_assessment``. ADT is the date of the first assessment giving the best
    response; the record inherits that assessment's SRCDOM/SRCVAR/SRCSEQ."""
    label = f"derive_param_bor({paramcd})"
    assert_positive(sd_min_days, "sd_min_days", label)
    if confirmation and confirm_days is None:
        raise AdamError(
            f"{label}: 'confirmation: true' needs 'confirm_days' (the minimum interval to the "
            f"confirming assessment; RECIST 1.0: at least 4 weeks)"
        )
    if len(order) != 5:
        raise AdamError(f"{label}: 'order' lists the five responses best first (CR, PR, SD, PD, NE), got {order}")
    complete, partial, stable, progression, not_evaluable = order
    rows = _until_first(_assessments(dataset, adsl, source_paramcd, reference, order, label), progression)
    status = rows["AVALC"].copy()
    if confirmation and confirm_days is not None:  # confirm_days was required above
        unconfirmed = rows["AVALC"].isin([complete, partial]) & ~_confirmed(rows, (complete, partial), confirm_days)
        status = status.where(~unconfirmed, stable)
    too_early = (status == stable) & ((rows["ADT"] - rows[reference]) < sd_min_days)
    status = status.where(~too_early, not_evaluable)
    rank = status.map({value: index for index, value in enumerate(order)})
    ranked = rows.assign(AVALC=status, _rank=rank).sort_values(["USUBJID", "_rank", "ADT"], kind="stable")
    best = ranked.drop_duplicates("USUBJID").drop(columns=["_rank", reference])
    best = best.drop(columns=[c for c in ("AVAL", "AVISIT", "AVISITN", "ANL01FL", "ADY") if c in best.columns])
    missing = adsl.loc[~adsl["USUBJID"].isin(best["USUBJID"])]
    empty = pd.DataFrame(
        {
            "STUDYID": as_char(missing["STUDYID"]),
            "USUBJID": as_char(missing["USUBJID"]),
            "AVALC": no_assessment,
            "ADT": np.nan,
            "SRCDOM": "",
            "SRCVAR": "",
            "SRCSEQ": np.nan,
        }
    )
    for hidden in ("_SRCTABLE", "_SRCROW"):  # no assessment: the record traces to the subject
        if hidden in missing.columns:
            empty[hidden] = missing[hidden]
    records = pd.concat([best, empty], ignore_index=True) if len(empty) else best.reset_index(drop=True)
    records["PARAMCD"] = paramcd
    records["PARAM"] = param
    return _fill(records)


def _fill(records: pd.DataFrame) -> pd.DataFrame:
    for name in records.columns:
        if records[name].dtype == object or pd.api.types.is_string_dtype(records[name]):
            records[name] = as_char(records[name])
    return records


def derive_param_rsp(
    dataset: pd.DataFrame,
    *,
    bor_paramcd: str,
    paramcd: str,
    param: str = "Objective Response (CR or PR)",
    responses: tuple[str, ...] = ("CR", "PR"),
) -> pd.DataFrame:
    """Objective response: "Y" when the best overall response is one of ``responses`` (CR or PR,
    RECIST 1.0), else "N", one record per subject with a BOR record."""
    return _from_bor(
        dataset, bor_paramcd, paramcd, param, dataset["AVALC"].isin(list(responses)), f"derive_param_rsp({paramcd})"
    )


def _from_bor(
    dataset: pd.DataFrame, bor_paramcd: str, paramcd: str, param: str, yes: pd.Series, label: str
) -> pd.DataFrame:
    """A new parameter with one record per subject's best overall response record: AVALC "Y" where
    ``yes`` holds, else "N" (ADaMIG 1.3, BDS "Creation of Derived Rows": a derived parameter gets its
    own PARAMCD); each record keeps the SRCDOM/SRCVAR/SRCSEQ of its BOR record (ADaMIG 1.3 BDS
    Datapoint Traceability Variables)."""
    assert_columns(dataset, ["USUBJID", "PARAMCD", "AVALC"], "ADRS", label)
    bor = dataset["PARAMCD"] == bor_paramcd
    if not bor.any():
        raise AdamError(f"{label}: no {bor_paramcd} records yet; derive_param_bor must come first")
    keep = [
        c for c in ("STUDYID", "USUBJID", "SRCDOM", "SRCVAR", "SRCSEQ", "_SRCTABLE", "_SRCROW") if c in dataset.columns
    ]
    records = dataset.loc[bor, keep].copy()
    records["PARAMCD"] = paramcd
    records["PARAM"] = param
    records["AVALC"] = np.where(yes[bor], "Y", "N").astype(str)
    return records.reset_index(drop=True)


def derive_param_cbr(
    dataset: pd.DataFrame,
    adsl: pd.DataFrame,
    *,
    bor_paramcd: str,
    source_paramcd: str,
    paramcd: str,
    param: str = "Clinical Benefit (CR, PR or SD >= threshold)",
    reference: str = "TRTSDT",
    responses: tuple[str, ...] = ("CR", "PR"),
    stable: str = "SD",
    progression: str = "PD",
    not_evaluable: str = "NE",
    sd_min_duration_days: float,
) -> pd.DataFrame:
    """Clinical benefit: "Y" when the best overall response is CR or PR, or is SD lasting at least
    ``sd_min_duration_days``; else "N". The duration of SD is measured, as RECIST 1.0 measures it, from
    the start of treatment (``reference``) to the first PD (``PD date - start + 1``), or to the last
    evaluable assessment when there is no PD."""
    label = f"derive_param_cbr({paramcd})"
    assert_positive(sd_min_duration_days, "sd_min_duration_days", label)
    order = (*responses, stable, progression, not_evaluable)
    rows = _until_first(
        _assessments(dataset, adsl, source_paramcd, reference, tuple(dict.fromkeys(order)), label), progression
    )
    rows = rows[rows["AVALC"] != not_evaluable]
    ends = rows.groupby("USUBJID")["ADT"].max()
    start = adsl.set_index("USUBJID")[reference]
    duration = ends - start.reindex(ends.index) + 1
    bor = dataset.loc[dataset["PARAMCD"] == bor_paramcd]
    lasting = bor["USUBJID"].map(duration) >= sd_min_duration_days
    yes = bor["AVALC"].isin(list(responses)) | ((bor["AVALC"] == stable) & lasting.fillna(False))
    return _from_bor(dataset, bor_paramcd, paramcd, param, yes.reindex(dataset.index, fill_value=False), label)


def derive_vars_bor_collected(
    dataset: pd.DataFrame,
    rs: pd.DataFrame,
    *,
    bor_paramcd: str,
    where: dict | None = None,
    result_var: str = "RSSTRESC",
    collected_var: str = "CBOR",
    flag_var: str = "BORDIFFL",
) -> tuple[pd.DataFrame, list[str]]:
    """On the derived BOR records, ``collected_var`` is the best overall response the investigator
    recorded (RS, e.g. RSTESTCD = BESTRESP) and ``flag_var`` is "Y" where it differs from the derived
    AVALC, "N" where they agree (empty on other records).

    ADaMIG 1.3 BDS: sponsor-defined variables may be added to a BDS dataset; here the collected value
    beside the derived one, and a flag in the ADaMIG's *FL convention ("Y"/"N"), so that the derived
    and the collected best response can be compared record by record.

    Returns the dataset and one line per disagreement, for the build notes."""
    label = "derive_vars_bor_collected"
    rows = filter_rows(rs, where, "RS", label)
    assert_columns(rows, ["USUBJID", result_var], "RS", label)
    collected = rows.drop_duplicates("USUBJID").set_index("USUBJID")[result_var]
    bor = dataset["PARAMCD"] == bor_paramcd
    result = dataset.copy(deep=False)
    result[collected_var] = ""
    result.loc[bor, collected_var] = as_char(dataset.loc[bor, "USUBJID"].map(collected))
    differs = bor & (result[collected_var] != result["AVALC"])
    result[flag_var] = np.select([differs, bor], ["Y", "N"], "").astype(str)
    notes = [
        f"{row.USUBJID}: derived best overall response {row.AVALC or 'missing'}, "
        f"collected {getattr(row, collected_var) or 'missing'}"
        for row in result.loc[differs, ["USUBJID", "AVALC", collected_var]].itertuples()
    ]
    return result, notes
