"""Partial dates (admiral-style imputation with *DTF flags) and the worst result per date, each
expected value derived by hand in the docstring from the rule."""

from __future__ import annotations

import pandas as pd
import pytest

from sdtmify.adam import bds
from sdtmify.adam.checks import AdamError
from sdtmify.adam.dates import iso_to_sas_date
from sdtmify.adam.steps import derive_vars_dt

RSDTC = ["2014-02", "2014", "2014-02-10", "2012-02", "2014---05", "", "2014-02-31"]


def iso(values: pd.Series) -> list[str]:
    stamps = pd.Timestamp("1960-01-01") + pd.to_timedelta(values, unit="D")
    return stamps.dt.strftime("%Y-%m-%d").fillna("").tolist()


@pytest.mark.parametrize(
    "highest, rule, dates, flags",
    [
        # Day only: "2014-02" -> the 1st; "2014" and "2014---05" miss a month: stay missing.
        ("D", "first", ["2014-02-01", "", "2014-02-10", "2012-02-01", "", "", ""], ["D", "", "", "D", "", "", ""]),
        # Month and day: a year alone -> January 1st, flag M; the day given without a month is not kept.
        (
            "M",
            "first",
            ["2014-02-01", "2014-01-01", "2014-02-10", "2012-02-01", "2014-01-01", "", ""],
            ["D", "M", "", "D", "M", "", ""],
        ),
        # mid: the 15th; a missing month -> June 30th.
        (
            "M",
            "mid",
            ["2014-02-15", "2014-06-30", "2014-02-10", "2012-02-15", "2014-06-30", "", ""],
            ["D", "M", "", "D", "M", "", ""],
        ),
        # last: February 2014 has 28 days, February 2012 29 (a leap year); a missing month -> December 31st.
        (
            "M",
            "last",
            ["2014-02-28", "2014-12-31", "2014-02-10", "2012-02-29", "2014-12-31", "", ""],
            ["D", "M", "", "D", "M", "", ""],
        ),
    ],
)
def test_partial_dates_are_imputed_and_flagged(highest, rule, dates, flags):
    """ "2014-02-31" is no date: missing, not imputed, no flag, whatever the rule."""
    result = derive_vars_dt(
        pd.DataFrame({"RSDTC": RSDTC}), dates={"ADT": "RSDTC"}, highest_imputation=highest, date_imputation=rule
    )
    assert iso(result["ADT"]) == dates and result["ADTF"].tolist() == flags


def test_without_imputation_partial_dates_stay_missing_and_no_flag_is_made():
    result = derive_vars_dt(pd.DataFrame({"RSDTC": RSDTC}), dates={"ADT": "RSDTC"})
    assert iso(result["ADT"]) == ["", "", "2014-02-10", "", "", "", ""] and "ADTF" not in result


def test_a_date_name_leaving_no_room_for_its_flag_is_refused():
    with pytest.raises(AdamError, match="LSTALVDT is too long for its imputation flag LSTALVDTF"):
        derive_vars_dt(pd.DataFrame({"D": ["2014"]}), dates={"LSTALVDT": "D"}, highest_imputation="M")


def test_anl01fl_flags_the_worst_result_of_each_date():
    """P1 on day 2014-03-01 has SD and PD (two readers): PD is worse, only it is flagged; on 2014-01-10
    PR alone; on 2014-02-01 CR and NE: NE is worse (listed before CR). Without ``worst_per_date`` all
    five records are flagged."""
    dates = ["2014-01-10", "2014-02-01", "2014-02-01", "2014-03-01", "2014-03-01"]
    frame = pd.DataFrame(
        {
            "USUBJID": "P1",
            "PARAMCD": "OVR",
            "AVALC": ["PR", "CR", "NE", "SD", "PD"],
            "ADT": iso_to_sas_date(pd.Series(dates)),
            "TRTSDT": float(iso_to_sas_date(pd.Series(["2014-01-01"])).iloc[0]),
        }
    )
    worst = ("PD", "NE", "SD", "NON-CR/NON-PD", "PR", "CR")
    flagged = bds.derive_var_anl01fl(frame, worst_per_date=worst)["ANL01FL"].tolist()
    assert flagged == ["Y", "", "Y", "", "Y"]
    assert bds.derive_var_anl01fl(frame)["ANL01FL"].tolist() == ["Y"] * 5
