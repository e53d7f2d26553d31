"""Time-to-event parameters (ADaM BDS for time-to-event analysis, ADTTE): admiral's
``derive_param_tte`` with event and censoring sources declared in the YAML."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..distinct import sort_order
from .checks import AdamError, assert_columns, filter_rows
from .dates import iso_to_sas_date
from .merge import as_char


@dataclass(frozen=True)
class DateSource:
    """Where a candidate event, censoring or start date comes from.

    ``dataset`` names an SDTM or ADaM dataset; ``date`` its date variable (numeric SAS date, or ISO
    8601 text such as DSSTDTC); ``select`` picks the subject's ``first`` or ``last`` qualifying date;
    ``censor`` is the CNSR value (0 for an event); ``description`` goes to EVNTDESC (and to CNSDTDSC
    when censored)."""

    dataset: str
    date: str
    where: dict | None = None
    select: str = "first"
    censor: int = 0
    description: str = ""


def source_dates(frame: pd.DataFrame, source: DateSource, label: str, data_cutoff: float | None = None) -> pd.DataFrame:
    """One row per subject: the first or last date of ``source`` among its records meeting ``where``
    (and dated no later than ``data_cutoff`` when given), with the record it came from: SRCDOM is the
    dataset, SRCVAR the date variable, SRCSEQ the record's ASEQ (ADaM) or --SEQ (SDTM); the hidden SDTM
    row goes to the lineage."""
    if source.select not in ("first", "last"):
        raise AdamError(f"{label}: select must be 'first' or 'last', got {source.select!r}")
    assert_columns(frame, ["USUBJID", source.date], source.dataset, label)
    # The date's own record: an ADaM source by its ASEQ, an SDTM source by its --SEQ, ADSL by name.
    seq = (
        "ASEQ"
        if "ASEQ" in frame.columns
        else next((c for c in frame.columns if c.endswith("SEQ") and len(c) == 5 and c[:2] == source.dataset[:2]), None)
    )
    # only the columns used are filtered: the rows of a whole BDS dataset would be copied otherwise
    used = ["USUBJID", source.date, *([seq] if seq else []), *(c for c in ("_SRCTABLE", "_SRCROW") if c in frame)]
    rows = filter_rows(frame, source.where, source.dataset, label, columns=list(dict.fromkeys(used)))
    dates = rows[source.date]
    if not pd.api.types.is_numeric_dtype(dates):
        dates = iso_to_sas_date(dates)
    picked = pd.DataFrame({"USUBJID": as_char(rows["USUBJID"]), "_date": dates.astype("float64")}, index=rows.index)
    picked["SRCDOM"] = source.dataset
    picked["SRCVAR"] = source.date
    picked["SRCSEQ"] = pd.to_numeric(rows[seq], errors="coerce").astype("float64") if seq else np.nan
    for hidden in ("_SRCTABLE", "_SRCROW"):
        if hidden in rows.columns:
            picked[hidden] = rows[hidden]
    dated = picked["_date"].notna()
    if data_cutoff is not None:
        dated &= picked["_date"] <= data_cutoff
    picked = _one_per_subject(picked[dated], keep="first" if source.select == "first" else "last")
    picked["CNSR"] = float(source.censor)
    picked["EVNTDESC"] = source.description
    return picked.reset_index(drop=True)


def _one_per_subject(dated: pd.DataFrame, keep: str) -> pd.DataFrame:
    """The first or last record of each subject by ``_date`` (ties in record order), ordered by USUBJID:
    ``sort_values(["USUBJID", "_date"], kind="stable").drop_duplicates("USUBJID", keep=keep)``, from one
    sort of integer codes; a subject's records are contiguous in that order, so its first and last
    are where USUBJID changes."""
    order = sort_order(dated, ["USUBJID", "_date"])
    subjects = dated["USUBJID"].to_numpy(dtype=object)[order]
    change = (subjects[1:] != subjects[:-1]) & ~(pd.isna(subjects[1:]) & pd.isna(subjects[:-1]))
    kept = np.r_[True, change] if keep == "first" else np.r_[change, True]
    return dated.take(order[kept] if len(order) else order)


def derive_param_tte(
    adsl: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    *,
    paramcd: str,
    param: str,
    start: DateSource,
    events: list[DateSource],
    censors: list[DateSource],
    population: dict | None = None,
    add_one: bool = True,
    data_cutoff: float | None = None,
) -> pd.DataFrame:
    """One time-to-event record per subject of the population (ADSL records meeting ``population``)
    that has a start date (ADaM TTE, admiral ``derive_param_tte``). STARTDT is the ``start`` date.
    When an event source has a date on or after STARTDT, ADT is the earliest such event date and CNSR
    is 0; otherwise ADT is the latest censoring date on or after STARTDT and CNSR the censoring
    source's value (1, 2, ...). AVAL is the duration in days, ``ADT - STARTDT + 1`` (the start day
    counts as day 1), or ``ADT - STARTDT`` when ``add_one`` is false. EVNTDESC describes the event or
    censoring; CNSDTDSC the censoring date; SRCDOM/SRCVAR/SRCSEQ the record the date came from.
    Event and censoring dates after the data cut-off (``data_cutoff``) are not used. A subject with neither an event nor a censoring date is an error: add a censoring source."""
    label = f"derive_param_tte({paramcd})"
    if not censors:
        raise AdamError(f"{label}: give at least one censoring source (e.g. the last adequate assessment)")
    subjects = filter_rows(adsl, population, "ADSL", label)[["STUDYID", "USUBJID"]]
    starts = source_dates(_frame(frames, start, label), start, label)
    starts = subjects.merge(starts[["USUBJID", "_date"]].rename(columns={"_date": "STARTDT"}), on="USUBJID")

    def candidates(sources: list[DateSource], pick_last: bool) -> pd.DataFrame:
        found = [source_dates(_frame(frames, s, label), s, label, data_cutoff) for s in sources]
        found = pd.concat(found, ignore_index=True).merge(starts[["USUBJID", "STARTDT"]], on="USUBJID")
        found = found[found["_date"] >= found["STARTDT"]]
        found = found.sort_values(["USUBJID", "_date"], kind="stable")
        return found.drop_duplicates("USUBJID", keep="last" if pick_last else "first")

    happened = candidates(events, pick_last=False) if events else pd.DataFrame(columns=["USUBJID"])
    censored = candidates(censors, pick_last=True)
    censored = censored[~censored["USUBJID"].isin(happened["USUBJID"])]
    chosen = pd.concat([happened, censored], ignore_index=True).drop(columns=["STARTDT"])
    lost = starts.loc[~starts["USUBJID"].isin(chosen["USUBJID"]), "USUBJID"].tolist()
    if lost:
        raise AdamError(
            f"{label}: subject(s) {', '.join(lost)} have no event or censoring date on or after "
            f"the start date; add a censoring source such as the start date itself"
        )
    records = starts.merge(chosen, on="USUBJID", how="left").rename(columns={"_date": "ADT"})
    records["PARAMCD"] = paramcd
    records["PARAM"] = param
    records["AVAL"] = (records["ADT"] - records["STARTDT"] + (1 if add_one else 0)).astype("float64")
    records["CNSDTDSC"] = np.where(records["CNSR"] > 0, records["EVNTDESC"], "").astype(str)
    return records.sort_values("USUBJID", kind="stable").reset_index(drop=True)


def _frame(frames: dict[str, pd.DataFrame], source: DateSource, label: str) -> pd.DataFrame:
    if source.dataset not in frames:
        raise AdamError(f"{label}: no dataset {source.dataset}; name one of {', '.join(sorted(frames))}")
    return frames[source.dataset]


def _where_prose(where: dict | None) -> str:
    if not where:
        return ""
    parts = []
    for name, wanted in where.items():
        if isinstance(wanted, dict):
            values = wanted["not"] if isinstance(wanted["not"], list) else [wanted["not"]]
            parts.append(f"{name} not {' or '.join(map(str, values))}")
        else:
            values = wanted if isinstance(wanted, list) else [wanted]
            parts.append(f"{name}={' or '.join(map(str, values))}")
    return " with " + ", ".join(parts)


def describe_source(source: DateSource) -> str:
    """A date source in a reviewer's words: "the first ADRS.ADT with PARAMCD=PD, AVALC=Y"; a
    subject-level source (ADSL, one record per subject) is named without "first" or "last"."""
    if source.dataset == "ADSL" and not source.where:
        return f"ADSL.{source.date}"
    return f"the {source.select} {source.dataset}.{source.date}{_where_prose(source.where)}"


def describe_tte(
    *,
    start: DateSource,
    events: list[DateSource],
    censors: list[DateSource],
    population: dict | None = None,
    add_one: bool = True,
    data_cutoff: str | None = None,
) -> str:
    """The define.xml method prose of a time-to-event parameter, written from its declaration (the
    same sources the derivation reads), so that the text cannot drift from the rule."""

    def named(source: DateSource) -> str:
        return f"{describe_source(source)}" + (f" ({source.description})" if source.description else "")

    text = f"Start: {named(start)}."
    if events:
        text += " Event (CNSR = 0): " + " or ".join(named(s) for s in events)
        text += ", whichever comes first" if len(events) > 1 else ""
        text += ", on or after the start date."
    else:
        text += " No event source: every subject is censored."
    text += (
        (" Otherwise censored at the latest of: " if len(censors) > 1 else " Otherwise censored at ")
        + "; ".join(f"{named(s)} (CNSR = {s.censor})" for s in censors)
        + "."
    )
    if population:
        text += f" Population: ADSL records{_where_prose(population)}."
    text += " AVAL = ADT - STARTDT" + (" + 1" if add_one else "") + " (days)."
    if data_cutoff:
        text += f" Data cut-off {data_cutoff} (study.yaml): later dates are not used."
    return text
