"""Subject-level derivations for ADSL (ADaMIG 1.3 section 3.2): treatment dates, populations,
planned/actual treatment, disposition."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .checks import AdamError, assert_columns, filter_rows
from .dates import iso_to_sas_date
from .merge import as_char, by_subject


def _dosed(ex: pd.DataFrame, dose_var: str, where: dict | None, label: str) -> pd.DataFrame:
    """EX records of a valid dose: EXDOSE > 0 (ADaMIG 1.3: a record counts as exposure when a
    positive dose was given)."""
    assert_columns(ex, ["USUBJID", dose_var], "EX", label)
    rows = filter_rows(ex, where, "EX", label)
    return rows[pd.to_numeric(rows[dose_var], errors="coerce") > 0]


def derive_var_trtsdt(
    adsl: pd.DataFrame,
    ex: pd.DataFrame,
    *,
    new_var: str = "TRTSDT",
    date_var: str = "EXSTDTC",
    dose_var: str = "EXDOSE",
    where: dict | None = None,
) -> pd.DataFrame:
    """TRTSDT is the date of the subject's first exposure to study treatment: the earliest complete
    start date (EXSTDTC) among EX records with a dose above zero (ADaMIG 1.3, TRTSDT); missing for
    subjects never dosed."""
    label = f"derive_var_trtsdt({new_var})"
    rows = _dosed(ex, dose_var, where, label)
    assert_columns(rows, [date_var], "EX", label)
    dates = iso_to_sas_date(rows[date_var]).groupby(rows["USUBJID"]).min()
    result = adsl.copy(deep=False)
    result[new_var] = result["USUBJID"].map(dates).astype("float64")
    return result


def derive_var_trtedt(
    adsl: pd.DataFrame,
    ex: pd.DataFrame,
    *,
    new_var: str = "TRTEDT",
    date_var: str = "EXENDTC",
    fallback_var: str = "EXSTDTC",
    dose_var: str = "EXDOSE",
    where: dict | None = None,
) -> pd.DataFrame:
    """TRTEDT is the date of the subject's last exposure to study treatment: the latest complete end
    date (EXENDTC, or EXSTDTC where the end date is missing) among EX records with a dose above zero
    (ADaMIG 1.3, TRTEDT)."""
    label = f"derive_var_trtedt({new_var})"
    rows = _dosed(ex, dose_var, where, label)
    ends = iso_to_sas_date(rows[date_var]) if date_var in rows.columns else pd.Series(np.nan, index=rows.index)
    if fallback_var:
        assert_columns(rows, [fallback_var], "EX", label)
        ends = ends.fillna(iso_to_sas_date(rows[fallback_var]))
    dates = ends.groupby(rows["USUBJID"]).max()
    result = adsl.copy(deep=False)
    result[new_var] = result["USUBJID"].map(dates).astype("float64")
    return result


def derive_var_trtdurd(
    adsl: pd.DataFrame, *, start: str = "TRTSDT", end: str = "TRTEDT", new_var: str = "TRTDURD"
) -> pd.DataFrame:
    """TRTDURD, total treatment duration in days, is TRTEDT - TRTSDT + 1 (ADaMIG 1.3); missing when
    either date is missing."""
    assert_columns(adsl, [start, end], "ADSL", "derive_var_trtdurd")
    result = adsl.copy(deep=False)
    result[new_var] = (adsl[end] - adsl[start] + 1).astype("float64")
    return result


def derive_vars_trt01(
    adsl: pd.DataFrame,
    *,
    planned: str = "ARM",
    actual: str = "ACTARM",
    numbers: dict[str, int] | None = None,
    period: str = "01",
) -> pd.DataFrame:
    """TRTxxP is the planned treatment of period xx (from DM.ARM) and TRTxxA the actual one (from
    DM.ACTARM); TRTxxPN/TRTxxAN are their numeric codes from the study's table ``numbers``, one-to-one
    with the text (ADaMIG 1.3 section 3.2.3). Every treatment value must have a number."""
    label = "derive_vars_trt01"
    assert_columns(adsl, [planned, actual], "ADSL", label)
    result = adsl.copy(deep=False)
    result[f"TRT{period}P"] = as_char(adsl[planned])
    result[f"TRT{period}A"] = as_char(adsl[actual])
    if numbers is not None:
        table = {str(k): float(v) for k, v in numbers.items()}
        for suffix in ("P", "A"):
            text = result[f"TRT{period}{suffix}"]
            unknown = sorted(set(text[text != ""]) - set(table))
            if unknown:
                raise AdamError(
                    f"{label}: treatment {', '.join(map(repr, unknown))} has no number in 'numbers'; add it to the YAML"
                )
            result[f"TRT{period}{suffix}N"] = text.map(table).astype("float64")
    return result


def derive_var_efffl(
    adsl: pd.DataFrame,
    rs: pd.DataFrame,
    *,
    new_var: str = "EFFFL",
    where: dict | None = None,
    date_var: str = "RSDTC",
    reference: str = "TRTSDT",
    exclude: tuple[str, ...] = (),
    result_var: str = "RSSTRESC",
) -> pd.DataFrame:
    """The response-evaluable population flag is "Y" for a subject with at least one overall response
    assessment (the RS records meeting ``where``) dated after the first dose (``reference``), not
    counting results listed in ``exclude``; else "N" (sponsor-defined efficacy population,
    ADaMIG 1.3 section 3.2.4)."""
    label = f"derive_var_efffl({new_var})"
    assert_columns(adsl, ["USUBJID", reference], "ADSL", label)
    rows = filter_rows(rs, where, "RS", label)
    assert_columns(rows, [date_var, result_var], "RS", label)
    rows = rows[~rows[result_var].isin(list(exclude)) & (rows[result_var] != "")]
    when = iso_to_sas_date(rows[date_var])
    start = rows["USUBJID"].map(by_subject(adsl, reference))
    evaluable = set(rows.loc[(when > start).to_numpy(), "USUBJID"])
    result = adsl.copy(deep=False)
    result[new_var] = np.where(adsl["USUBJID"].isin(evaluable), "Y", "N").astype(str)
    return result


def derive_vars_disposition(
    adsl: pd.DataFrame,
    ds: pd.DataFrame,
    *,
    status_var: str,
    reason_var: str,
    where: dict | None = None,
    completed: tuple[str, ...] = ("COMPLETED",),
    decode_var: str = "DSDECOD",
    date_var: str | None = None,
    date_source: str = "DSSTDTC",
    specify_var: str | None = None,
    specify_when: tuple[str, ...] = ("OTHER",),
    term_var: str = "DSTERM",
) -> pd.DataFrame:
    """End-of-treatment or end-of-study status and reason from DS (ADaMIG 1.3 EOSSTT/DCSREAS,
    EOTSTT/DCTREAS): "COMPLETED" when the subject's disposition record (meeting ``where``) is one of
    ``completed``, "DISCONTINUED" when it is any other event, "ONGOING" when there is none; the reason
    is DSDECOD for a discontinuation and empty otherwise. ``date_var`` optionally keeps its date, and
    ``specify_var`` (DCSREASP/DCTREASP) the verbatim DSTERM when the reason is one of ``specify_when``."""
    label = f"derive_vars_disposition({status_var})"
    rows = filter_rows(ds, where, "DS", label)
    assert_columns(rows, ["USUBJID", decode_var], "DS", label)
    if rows["USUBJID"].duplicated().any():
        twice = rows.loc[rows["USUBJID"].duplicated(), "USUBJID"].iloc[0]
        raise AdamError(f"{label}: subject {twice} has several DS records meeting 'where'; narrow it")
    decode = adsl["USUBJID"].map(by_subject(rows, decode_var))
    done = decode.isin(list(completed))
    result = adsl.copy(deep=False)
    result[status_var] = np.select([decode.isna(), done], ["ONGOING", "COMPLETED"], "DISCONTINUED").astype(str)
    result[reason_var] = as_char(decode.where(~done & decode.notna(), ""))
    if specify_var:
        assert_columns(rows, [term_var], "DS", label)
        term = adsl["USUBJID"].map(by_subject(rows, term_var))
        result[specify_var] = as_char(term.where(decode.isin(list(specify_when)), ""))
    if date_var:
        assert_columns(rows, [date_source], "DS", label)
        result[date_var] = adsl["USUBJID"].map(iso_to_sas_date(rows[date_source]).set_axis(rows["USUBJID"]))
        result[date_var] = result[date_var].astype("float64")
    return result
