"""Parameters made of one chosen record per subject (admiral ``derive_extreme_records``): an event
flag such as disease progression (PD) or death (DEATH), and a copy of one record such as the last
disease assessment (LSTA). The source, its filter and the record chosen come from the YAML."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .checks import AdamError, assert_columns, filter_rows
from .dates import iso_to_sas_date
from .merge import as_char
from .response import _per_subject
from .tte import DateSource


def _picked(source_frame: pd.DataFrame, source: DateSource, label: str, data_cutoff: float | None) -> pd.DataFrame:
    """Each subject's first or last record (by date) of the source among those meeting its filter, dated
    and not after the data cut-off; ``_date`` holds the numeric date. The record's trace: its own
    SRCDOM/SRCVAR/SRCSEQ when it has them (an ADRS record traced to RS), else the source dataset, the
    date variable and the record's ASEQ or --SEQ."""
    if source.select not in ("first", "last"):
        raise AdamError(f"{label}: select must be 'first' or 'last', got {source.select!r}")
    assert_columns(source_frame, ["STUDYID", "USUBJID", source.date], source.dataset, label)
    rows = filter_rows(source_frame, source.where, source.dataset, label)
    dates = rows[source.date]
    if not pd.api.types.is_numeric_dtype(dates):
        dates = iso_to_sas_date(dates)
    dates = dates.astype("float64")
    keep = dates.notna()
    if data_cutoff is not None:
        keep &= dates <= data_cutoff
    rows = rows[keep].assign(_date=dates[keep]).sort_values(["USUBJID", "_date"], kind="stable")
    picked = rows.drop_duplicates("USUBJID", keep="first" if source.select == "first" else "last").copy()
    if "SRCDOM" not in picked.columns:
        seq = "ASEQ" if "ASEQ" in picked.columns else f"{source.dataset[:2]}SEQ"
        picked["SRCDOM"] = source.dataset
        picked["SRCVAR"] = source.date
        picked["SRCSEQ"] = pd.to_numeric(picked[seq], errors="coerce") if seq in picked.columns else np.nan
    picked["SRCSEQ"] = picked["SRCSEQ"].astype("float64")
    return picked


def derive_param_exist_flag(
    adsl: pd.DataFrame,
    source_frame: pd.DataFrame,
    *,
    source: DateSource,
    paramcd: str,
    param: str,
    population: dict | None = None,
    data_cutoff: float | None = None,
) -> pd.DataFrame:
    """An event parameter (e.g. PD: disease progression; DEATH: death): one record per ADSL subject
    of ``population``, AVALC "Y" with ADT the date of the subject's first (``select: first``) or last
    record of the source meeting its filter, "N" with no date for a subject without one (ADaMIG 1.3
    BDS "Creation of Derived Rows"). Records dated after the data cut-off do not count; a record
    without a date does not count. SRCDOM/SRCVAR/SRCSEQ name the record the date came from."""
    label = f"derive_param_exist_flag({paramcd})"
    subjects = filter_rows(adsl, population, "ADSL", label)
    found = _picked(source_frame, source, label, data_cutoff)
    found = found[found["USUBJID"].isin(subjects["USUBJID"])].drop(columns=["ADT"], errors="ignore")
    found = found.rename(columns={"_date": "ADT"})
    return _per_subject(subjects, found, yes="Y", no="N", paramcd=paramcd, param=param)


def derive_param_extreme_record(
    source_frame: pd.DataFrame,
    *,
    source: DateSource,
    paramcd: str,
    param: str,
    data_cutoff: float | None = None,
) -> pd.DataFrame:
    """A copy of one record per subject as a new parameter (e.g. LSTA, the last disease assessment):
    among the source's records meeting its filter and dated no later than the data cut-off, the
    subject's first (``select: first``) or last by date; the copy keeps AVALC, AVAL, ADT, the visit
    and the record's SRCDOM/SRCVAR/SRCSEQ (ADaMIG 1.3 BDS "Creation of Derived Rows": a new PARAMCD).
    A subject without such a record gets none."""
    label = f"derive_param_extreme_record({paramcd})"
    picked = _picked(source_frame, source, label, data_cutoff)
    columns = ["STUDYID", "USUBJID", "AVALC", "AVAL", "AVISIT", "AVISITN", "SRCDOM", "SRCVAR", "SRCSEQ"]
    records = picked.reindex(columns=[c for c in columns if c in picked.columns])
    records["ADT"] = picked["_date"]
    for hidden in ("_SRCTABLE", "_SRCROW"):
        if hidden in picked.columns:
            records[hidden] = picked[hidden]
    records["PARAMCD"] = paramcd
    records["PARAM"] = param
    for name in ("STUDYID", "USUBJID", "AVALC", "AVISIT", "SRCDOM", "SRCVAR"):
        if name in records.columns:
            records[name] = as_char(records[name])
    return records.reset_index(drop=True)
