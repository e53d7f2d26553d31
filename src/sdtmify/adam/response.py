"""Tumour response parameters for ADRS: best overall response by RECIST 1.0 and the rates built on it.

The study's choices (minimum interval for SD, confirmation, the clinical-benefit threshold, the
response codes) come from the YAML; these functions hold only the rules."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .checks import AdamError, assert_columns, assert_positive, filter_rows
from .merge import as_char, by_subject

RECIST_ORDER = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE")
"""Overall responses, best first (RECIST 1.1 section 4.4 and its table 2: NON-CR/NON-PD is the overall
response of a subject with non-target disease only, ranked below SD)."""


def _assessments(
    dataset: pd.DataFrame,
    adsl: pd.DataFrame,
    source_paramcd: str,
    reference: str,
    order: tuple[str, ...],
    label: str,
    data_cutoff: float | None = None,
    where: dict | None = None,
) -> pd.DataFrame:
    """Post-baseline overall responses (dated after ``reference``, and not after the data cut-off)
    meeting ``where`` (e.g. ``{ANL01FL: "Y"}``), with the subject's reference date, sorted by subject
    and date (the given order within a date)."""
    assert_columns(dataset, ["USUBJID", "PARAMCD", "AVALC", "ADT"], "ADRS", label)
    assert_columns(adsl, ["USUBJID", reference], "ADSL", label)
    rows = dataset[(dataset["PARAMCD"] == source_paramcd) & (dataset["AVALC"] != "")]
    rows = filter_rows(rows, where, "ADRS", label)
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
    keep = (rows["ADT"] > rows[reference]).fillna(False)
    if data_cutoff is not None:
        keep &= (rows["ADT"] <= data_cutoff).fillna(False)
    return rows[keep].sort_values(["USUBJID", "ADT"], kind="stable")


def _until_first(rows: pd.DataFrame, value: str) -> pd.DataFrame:
    """The assessments up to and including each subject's first ``value`` (later ones do not count)."""
    first = rows.loc[rows["AVALC"] == value].groupby("USUBJID")["ADT"].min()
    stop = rows["USUBJID"].map(first)
    return rows[~(rows["ADT"] > stop).fillna(False)]


def _confirmed(
    rows: pd.DataFrame,
    order: tuple[str, ...],
    confirm_days: float,
    max_ne: int,
    accept_sd: bool,
) -> pd.Series:
    """True for each CR or PR assessment that is confirmed (RECIST 1.1 section 4.4 "Confirmation";
    RECIST 1.0 alike): a later assessment of the same subject, at least ``confirm_days`` after it,
    confirms a CR when it is a CR and a PR when it is a CR or a PR, provided that every assessment
    between the two is a CR or NE (for a CR), or a CR, PR or NE, and SD too when ``accept_sd`` (for a
    PR); that at most ``max_ne`` of them are NE; and, for a PR, that no PR follows a CR up to and
    including the confirming assessment (a PR after a CR is a data issue, never a confirmation).

    ``rows`` are one subject's assessments per date, sorted by subject and date."""
    complete, partial, stable, _, _, not_evaluable = order
    values = rows["AVALC"].to_numpy()
    n = len(rows)
    position = np.arange(n)
    subject = pd.factorize(rows["USUBJID"])[0]
    ne_cum = np.cumsum(values == not_evaluable)
    pr_cum = np.cumsum(values == partial)
    allowed_after_pr = [complete, partial, not_evaluable, *([stable] if accept_sd else [])]
    bad_cr_cum = np.cumsum(~np.isin(values, [complete, not_evaluable]))
    bad_pr_cum = np.cumsum(~np.isin(values, allowed_after_pr))
    # The position of the next CR at or after each position (n when none): a reverse running minimum.
    next_cr = np.minimum.accumulate(np.where(values == complete, position, n)[::-1])[::-1]
    candidates = np.flatnonzero(np.isin(values, [complete, partial]))
    pairs = pd.DataFrame({"i": candidates, "s": subject[candidates]}).merge(
        pd.DataFrame({"j": position, "s": subject}), on="s"
    )
    i, j = pairs["i"].to_numpy(), pairs["j"].to_numpy()
    later = j > i
    i, j = i[later], j[later]
    dates = rows["ADT"].to_numpy(dtype="float64")
    far_enough = dates[j] - dates[i] >= confirm_days
    between_ne = ne_cum[j - 1] - ne_cum[i]
    is_cr = values[i] == complete
    cr_ok = is_cr & (values[j] == complete) & (bad_cr_cum[j - 1] - bad_cr_cum[i] == 0)
    first_cr = next_cr[np.minimum(i + 1, n - 1)]
    first_cr = np.where(i + 1 < n, first_cr, n)
    pr_after_cr = (first_cr < j) & (pr_cum[j] - pr_cum[np.minimum(first_cr, n - 1)] > 0)
    pr_ok = ~is_cr & np.isin(values[j], [complete, partial]) & (bad_pr_cum[j - 1] - bad_pr_cum[i] == 0) & ~pr_after_cr
    ok = far_enough & (between_ne <= max_ne) & (cr_ok | pr_ok)
    confirmed = np.zeros(n, dtype=bool)
    confirmed[i[ok]] = True
    return pd.Series(confirmed, index=rows.index)


def _check_order(order: tuple[str, ...], label: str) -> tuple[str, ...]:
    if len(order) != len(RECIST_ORDER):
        raise AdamError(
            f"{label}: 'order' lists the six overall responses best first "
            f"({', '.join(RECIST_ORDER)}), got {', '.join(order)}"
        )
    return tuple(order)


def _check_confirmation(confirm_days: float, max_ne: int, label: str) -> None:
    assert_positive(confirm_days, "confirm_days", label)
    if not isinstance(max_ne, int) or isinstance(max_ne, bool) or max_ne < 0:
        raise AdamError(f"{label}: max_ne must be a whole number >= 0, got {max_ne!r}")


def _response_rows(
    dataset: pd.DataFrame,
    adsl: pd.DataFrame,
    *,
    source_paramcd: str,
    reference: str,
    order: tuple[str, ...],
    label: str,
    data_cutoff: float | None,
    confirmation: bool,
    confirm_days: float,
    max_ne: int,
    accept_sd: bool,
    where: dict | None = None,
) -> pd.DataFrame:
    """The assessments a response parameter reads: post-baseline, meeting ``where``, not after the data
    cut-off, up to and including the first PD; with ``_confirmed`` True on each confirmed CR or PR
    (every CR and PR when ``confirmation`` is false)."""
    order = _check_order(order, label)
    rows = _until_first(
        _assessments(dataset, adsl, source_paramcd, reference, order, label, data_cutoff, where), order[4]
    )
    if confirmation:
        _check_confirmation(confirm_days, max_ne, label)
        rows = rows.assign(_confirmed=_confirmed(rows, order, confirm_days, max_ne, accept_sd))
    else:
        rows = rows.assign(_confirmed=rows["AVALC"].isin(order[:2]))
    return rows


def _per_subject(
    adsl: pd.DataFrame, chosen: pd.DataFrame, *, yes: str | None, no: str, paramcd: str, param: str
) -> pd.DataFrame:
    """One record per ADSL subject: ``chosen``'s record (AVALC ``yes``, or its own AVALC when ``yes`` is
    None; its ADT and SRCDOM/SRCVAR/SRCSEQ) for the subjects it holds, else AVALC ``no`` with no date,
    traced to the ADSL record."""
    kept = ["STUDYID", "USUBJID", "AVALC", "ADT", "SRCDOM", "SRCVAR", "SRCSEQ"]
    kept += [c for c in ("_SRCTABLE", "_SRCROW") if c in chosen.columns]
    found = chosen.reindex(columns=kept)
    if yes is not None:
        found["AVALC"] = yes
    missing = adsl.loc[~adsl["USUBJID"].isin(found["USUBJID"])]
    empty = pd.DataFrame(
        {
            "STUDYID": as_char(missing["STUDYID"]),
            "USUBJID": as_char(missing["USUBJID"]),
            "AVALC": no,
            "ADT": np.nan,
            "SRCDOM": "",
            "SRCVAR": "",
            "SRCSEQ": np.nan,
        }
    )
    for hidden in ("_SRCTABLE", "_SRCROW"):
        if hidden in missing.columns:
            empty[hidden] = missing[hidden].to_numpy()
    records = pd.concat([found, empty], ignore_index=True) if len(empty) else found.reset_index(drop=True)
    records = records.sort_values("USUBJID", kind="stable").reset_index(drop=True)
    records["PARAMCD"] = paramcd
    records["PARAM"] = param
    records["ADT"] = records["ADT"].astype("float64")
    records["SRCSEQ"] = records["SRCSEQ"].astype("float64")
    return _fill(records)


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
    confirm_days: float = 28,
    max_ne: int = 1,
    accept_sd: bool = False,
    no_assessment: str = "NE",
    order: tuple[str, ...] = RECIST_ORDER,
    data_cutoff: float | None = None,
    where: dict | None = None,
) -> pd.DataFrame:
    """Best overall response by RECIST 1.1 (Eisenhauer et al., EJC 2009, section 4.4; RECIST 1.0
    alike): the best response recorded from the start of treatment until disease progression, in the
    order CR > PR > SD > NON-CR/NON-PD > PD > NE. Only assessments meeting ``where`` (e.g. ANL01FL), after
    the reference start date (``reference``) and not after the data cut-off count, and none after the
    first PD. SD and
    NON-CR/NON-PD count only when assessed at least ``sd_min_days`` after the reference start date;
    earlier they count as NE, so the best response is then the next qualifying one (PD, or NE). With
    ``confirmation`` (the confirmed best overall response, CBOR), a CR or PR counts only when it is
    confirmed (a CR by a CR, a PR by a CR or PR, at least ``confirm_days`` later, with at most
    ``max_ne`` NE and nothing worse between them, SD only when ``accept_sd``); an unconfirmed CR or PR
    counts as SD. A subject without any post-baseline assessment gets ``no_assessment``. ADT is the
    date of the first assessment giving the best response; the record inherits that assessment's
    SRCDOM/SRCVAR/SRCSEQ."""
    label = f"derive_param_bor({paramcd})"
    assert_positive(sd_min_days, "sd_min_days", label)
    rows = _response_rows(
        dataset,
        adsl,
        source_paramcd=source_paramcd,
        reference=reference,
        order=order,
        label=label,
        data_cutoff=data_cutoff,
        confirmation=confirmation,
        confirm_days=confirm_days,
        max_ne=max_ne,
        accept_sd=accept_sd,
        where=where,
    )
    complete, partial, stable, non_cr_non_pd, _, not_evaluable = _check_order(order, label)
    status = rows["AVALC"].copy()
    unconfirmed = rows["AVALC"].isin([complete, partial]) & ~rows["_confirmed"]
    status = status.where(~unconfirmed, stable)
    too_early = status.isin([stable, non_cr_non_pd]) & ((rows["ADT"] - rows[reference]) < sd_min_days)
    status = status.where(~too_early, not_evaluable)
    rank = status.map({value: index for index, value in enumerate(order)})
    ranked = rows.assign(AVALC=status, _rank=rank).sort_values(["USUBJID", "_rank", "ADT"], kind="stable")
    best = ranked.drop_duplicates("USUBJID")
    return _per_subject(adsl, best, yes=None, no=no_assessment, paramcd=paramcd, param=param)


def derive_param_response(
    dataset: pd.DataFrame,
    adsl: pd.DataFrame,
    *,
    source_paramcd: str,
    paramcd: str,
    param: str = "Response",
    reference: str = "TRTSDT",
    confirmation: bool = False,
    confirm_days: float = 28,
    max_ne: int = 1,
    accept_sd: bool = False,
    order: tuple[str, ...] = RECIST_ORDER,
    data_cutoff: float | None = None,
    where: dict | None = None,
) -> pd.DataFrame:
    """Objective response (RSP; CRSP when ``confirmation``): one record per ADSL subject, AVALC "Y"
    with ADT the date of the subject's first CR or PR (RECIST 1.1 section 4.4) and "N" with no date
    for a subject without one. Only assessments after the reference start date, not after the data
    cut-off and up to the first PD count. With ``confirmation`` the CR or PR must be confirmed, as for
    the confirmed best overall response (a CR by a CR, a PR by a CR or PR, at least ``confirm_days``
    later, at most ``max_ne`` NE between them, SD between them only when ``accept_sd``)."""
    label = f"derive_param_response({paramcd})"
    rows = _response_rows(
        dataset,
        adsl,
        source_paramcd=source_paramcd,
        reference=reference,
        order=order,
        label=label,
        data_cutoff=data_cutoff,
        confirmation=confirmation,
        confirm_days=confirm_days,
        max_ne=max_ne,
        accept_sd=accept_sd,
        where=where,
    )
    first = rows[rows["_confirmed"]].drop_duplicates("USUBJID")
    return _per_subject(adsl, first, yes="Y", no="N", paramcd=paramcd, param=param)


def derive_param_clinbenefit(
    dataset: pd.DataFrame,
    adsl: pd.DataFrame,
    *,
    source_paramcd: str,
    response_paramcd: str,
    paramcd: str,
    param: str = "Clinical Benefit",
    reference: str = "TRTSDT",
    sd_min_days: float,
    order: tuple[str, ...] = RECIST_ORDER,
    data_cutoff: float | None = None,
    where: dict | None = None,
) -> pd.DataFrame:
    """Clinical benefit (disease control; CB, or CCB from a confirmed response parameter): one record
    per ADSL subject, AVALC "Y" when the subject is a responder by the ``response_paramcd`` parameter
    (RSP or CRSP = "Y"), or has a CR, PR, SD or NON-CR/NON-PD assessment at least ``sd_min_days``
    after the reference start date (RECIST 1.1 section 4.4: SD must meet a minimum duration from
    the start of treatment); else "N" with no date. Only assessments after the reference start date,
    not after the data cut-off and up to the first PD count. ADT is the earlier of the response date
    and the first qualifying assessment."""
    label = f"derive_param_clinbenefit({paramcd})"
    assert_positive(sd_min_days, "sd_min_days", label)
    order = _check_order(order, label)
    assert_columns(dataset, ["USUBJID", "PARAMCD", "AVALC", "ADT"], "ADRS", label)
    responses = dataset[(dataset["PARAMCD"] == response_paramcd)]
    if responses.empty:
        raise AdamError(f"{label}: no {response_paramcd} records yet; derive_param_response must come first")
    rows = _until_first(
        _assessments(dataset, adsl, source_paramcd, reference, order, label, data_cutoff, where), order[4]
    )
    lasting = rows[rows["AVALC"].isin(order[:4]) & ((rows["ADT"] - rows[reference]) >= sd_min_days)]
    responders = responses[responses["AVALC"] == "Y"]
    chosen = pd.concat([responders, lasting], ignore_index=True).sort_values(["USUBJID", "ADT"], kind="stable")
    first = chosen.drop_duplicates("USUBJID")
    return _per_subject(adsl, first, yes="Y", no="N", paramcd=paramcd, param=param)


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
    """Best overall response of CR or PR (BCP from BOR; CBCP from the confirmed BOR, CBOR): "Y" when the
    subject's ``bor_paramcd`` record is one of ``responses`` (CR or PR, RECIST 1.1 section 4.4), else
    "N"; one record per subject with a best overall response record, dated as that record (ADT)."""
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
        c
        for c in ("STUDYID", "USUBJID", "ADT", "SRCDOM", "SRCVAR", "SRCSEQ", "_SRCTABLE", "_SRCROW")
        if c in dataset.columns
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
    non_cr_non_pd: str = "NON-CR/NON-PD",
    sd_min_duration_days: float,
    data_cutoff: float | None = None,
) -> pd.DataFrame:
    """Clinical benefit: "Y" when the best overall response is CR or PR, or is SD lasting at least
    ``sd_min_duration_days``; else "N". The duration of SD is measured, as RECIST 1.0 measures it, from
    the start of treatment (``reference``) to the first PD (``PD date - start + 1``), or to the last
    evaluable assessment when there is no PD. Assessments after the data cut-off do not count.

    This is not admiralonco's clinical benefit (CB, ``derive_param_clinbenefit``: an SD assessed at
    least a minimum time after the start), but the duration rule a publication may use instead."""
    label = f"derive_param_cbr({paramcd})"
    assert_positive(sd_min_duration_days, "sd_min_duration_days", label)
    order = (*responses, stable, non_cr_non_pd, progression, not_evaluable)
    rows = _until_first(
        _assessments(dataset, adsl, source_paramcd, reference, tuple(dict.fromkeys(order)), label, data_cutoff),
        progression,
    )
    rows = rows[rows["AVALC"] != not_evaluable]
    ends = rows.groupby("USUBJID")["ADT"].max()
    start = by_subject(adsl, reference)
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
    collected_var: str = "BORCOLL",
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
