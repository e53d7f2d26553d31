"""The ADaM derivation library, tested from the rules each function states (small frames)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_adam_engine import sas_date_to_iso

from sdtmify.adam import bds, merge, occds, response, subject, tte
from sdtmify.adam.checks import AdamError
from sdtmify.adam.dates import iso_to_sas_date, relative_day
from sdtmify.adam.steps import derive_var_obs_number, derive_var_saffl

D0 = float(iso_to_sas_date(pd.Series(["2003-01-06"])).iloc[0])  # first dose of every test subject


def day(n: int) -> float:
    """The SAS date n days after the first dose (n = 0 is the dosing day)."""
    return D0 + n


def adsl(*subjects: str) -> pd.DataFrame:
    return pd.DataFrame({"STUDYID": "S1", "USUBJID": list(subjects), "TRTSDT": D0})


def ovr(records: list[tuple[str, int, str]]) -> pd.DataFrame:
    """OVR records (subject, days after first dose, response) as derive_params_from_findings makes them."""
    frame = pd.DataFrame(records, columns=["USUBJID", "_day", "AVALC"])
    frame["STUDYID"] = "S1"
    frame["PARAMCD"] = "OVR"
    frame["PARAM"] = "Overall Response"
    frame["ADT"] = D0 + frame.pop("_day").astype(float)
    frame["SRCDOM"] = "RS"
    frame["SRCVAR"] = "RSSTRESC"
    frame["SRCSEQ"] = np.arange(1, len(frame) + 1, dtype=float)
    return frame


def bor_of(records, subjects=("P1",), **options) -> dict[str, str]:
    options.setdefault("sd_min_days", 42)
    options.setdefault("source_paramcd", "OVR")
    options.setdefault("paramcd", "BOR")
    result = response.derive_param_bor(ovr(records), adsl(*subjects), **options)
    return dict(zip(result["USUBJID"], result["AVALC"], strict=False))


# --- dates -------------------------------------------------------------------------------------
def test_sas_dates_count_days_from_1960_and_leave_partial_dates_missing():
    dates = iso_to_sas_date(pd.Series(["1960-01-01", "1960-01-02T10:30", "2004-03", "", "2003-02-30"]))
    assert dates.iloc[0] == 0.0 and dates.iloc[1] == 1.0
    assert dates.iloc[2:].isna().all()


def test_study_day_has_no_day_zero():
    ref = pd.Series([100.0] * 4)
    days = relative_day(pd.Series([100.0, 101.0, 99.0, np.nan]), ref)
    assert days.iloc[:3].tolist() == [1.0, 2.0, -1.0]
    assert np.isnan(days.iloc[3])
    dy = bds.derive_vars_dy(pd.DataFrame({"TRTSDT": [10.0] * 21, "ADT": np.arange(0.0, 21.0)}))
    assert 0 not in dy["ADY"].tolist()


# --- best overall response (RECIST 1.0) -----------------------------------------------------------
def test_bor_requires_sd_at_least_42_days_after_first_dose():
    assert bor_of([("P1", 41, "SD")], sd_min_days=42) == {"P1": "NE"}
    assert bor_of([("P1", 42, "SD")], sd_min_days=42) == {"P1": "SD"}


def test_sd_before_the_minimum_interval_then_pd_gives_pd():
    assert bor_of([("P1", 21, "SD"), ("P1", 63, "PD")], sd_min_days=42) == {"P1": "PD"}


def test_pr_then_pd_gives_pr_dated_at_the_first_pr():
    result = response.derive_param_bor(
        ovr([("P1", 63, "PR"), ("P1", 150, "PR"), ("P1", 300, "PD")]),
        adsl("P1"),
        source_paramcd="OVR",
        paramcd="BOR",
        sd_min_days=42,
    )
    assert result["AVALC"].tolist() == ["PR"]
    assert result["ADT"].tolist() == [day(63)]
    assert result["SRCSEQ"].tolist() == [1.0]


def test_responses_after_the_first_pd_do_not_count():
    assert bor_of([("P1", 21, "SD"), ("P1", 63, "PD"), ("P1", 150, "PR")]) == {"P1": "PD"}


def test_ne_assessments_only_give_ne_and_do_not_hide_a_later_sd():
    assert bor_of([("P1", 21, "NE"), ("P1", 63, "NE")]) == {"P1": "NE"}
    assert bor_of([("P1", 21, "NE"), ("P1", 63, "SD")]) == {"P1": "SD"}


def test_no_post_baseline_assessment_gives_the_configured_value():
    records = [("P1", 0, "SD"), ("P1", -5, "PD")]  # on or before the first dose: baseline
    assert bor_of(records, subjects=("P1", "P2")) == {"P1": "NE", "P2": "NE"}
    assert bor_of(records, subjects=("P1", "P2"), no_assessment="") == {"P1": "", "P2": ""}


def test_cr_is_best_even_before_a_pr():
    assert bor_of([("P1", 63, "PR"), ("P1", 120, "CR"), ("P1", 200, "PR")]) == {"P1": "CR"}


def test_confirmation_when_required_turns_an_unconfirmed_pr_into_sd():
    records = [("P1", 63, "PR"), ("P1", 80, "PD"), ("P2", 63, "PR"), ("P2", 95, "PR")]
    assert bor_of(records, subjects=("P1", "P2")) == {"P1": "PR", "P2": "PR"}
    confirmed = bor_of(records, subjects=("P1", "P2"), confirmation=True, confirm_days=28)
    assert confirmed == {"P1": "SD", "P2": "PR"}


def test_confirmation_interval_defaults_to_28_days():
    # PR on day 63, PR again 27 days later: not confirmed by the default 28-day interval (SD), but
    # confirmed when the study states 27 days.
    records = [("P1", 63, "PR"), ("P1", 90, "PR")]
    assert bor_of(records, confirmation=True) == {"P1": "SD"}
    assert bor_of(records, confirmation=True, confirm_days=27) == {"P1": "PR"}


def test_bor_refuses_an_unknown_response():
    with pytest.raises(AdamError, match=r"result\(s\) 'MR' not in 'order'"):
        bor_of([("P1", 63, "MR")])


def test_bor_compared_with_the_collected_value_lists_disagreements():
    data = ovr([("P1", 63, "PR"), ("P2", 21, "SD"), ("P2", 60, "PD")])
    bor = response.derive_param_bor(data, adsl("P1", "P2"), source_paramcd="OVR", paramcd="BOR", sd_min_days=42)
    rs = pd.DataFrame({"USUBJID": ["P1", "P2"], "RSTESTCD": "BESTRESP", "RSSTRESC": ["PR", "SD"]})
    result, notes = response.derive_vars_bor_collected(bor, rs, bor_paramcd="BOR", where={"RSTESTCD": "BESTRESP"})
    assert dict(zip(result["USUBJID"], result["BORDIFFL"], strict=False)) == {"P1": "N", "P2": "Y"}
    assert notes == ["P2: derived best overall response PD, collected SD"]


# --- objective response and clinical benefit -----------------------------------------------------
def _with_bor(records, subjects):
    data = ovr(records)
    bor = response.derive_param_bor(data, adsl(*subjects), source_paramcd="OVR", paramcd="BOR", sd_min_days=42)
    return pd.concat([data, bor], ignore_index=True)


def test_rsp_is_y_for_cr_or_pr_only():
    data = _with_bor([("P1", 63, "PR"), ("P2", 63, "SD"), ("P3", 63, "CR")], ("P1", "P2", "P3"))
    rsp = response.derive_param_rsp(data, bor_paramcd="BOR", paramcd="RSP")
    assert dict(zip(rsp["USUBJID"], rsp["AVALC"], strict=False)) == {"P1": "Y", "P2": "N", "P3": "Y"}


def test_cbr_needs_sd_lasting_the_threshold_from_first_dose():
    records = [
        ("P1", 63, "SD"),
        ("P1", 89, "PD"),  # SD, PD on day 90: 90 days < 91
        ("P2", 63, "SD"),
        ("P2", 90, "PD"),  # PD on day 91: 91 days, benefit
        ("P3", 63, "SD"),
        ("P3", 120, "SD"),  # no PD: lasting to the last assessment
        ("P4", 63, "PR"),
        ("P4", 70, "PD"),
    ]
    data = _with_bor(records, ("P1", "P2", "P3", "P4"))
    cbr = response.derive_param_cbr(
        data,
        adsl("P1", "P2", "P3", "P4"),
        bor_paramcd="BOR",
        source_paramcd="OVR",
        paramcd="CBR",
        sd_min_duration_days=91,
    )
    assert dict(zip(cbr["USUBJID"], cbr["AVALC"], strict=False)) == {"P1": "N", "P2": "Y", "P3": "Y", "P4": "Y"}


# --- time to event -------------------------------------------------------------------------------
def _tte(records, subjects, population=None):
    frames = {"ADSL": adsl(*subjects).assign(BOR="SD"), "ADRS": ovr(records).assign(ASEQ=lambda f: f["SRCSEQ"] + 10)}
    adequate = {"PARAMCD": "OVR", "AVALC": ["CR", "PR", "SD", "PD"]}
    return tte.derive_param_tte(
        frames["ADSL"],
        frames,
        paramcd="DURRSD",
        param="Duration",
        population=population,
        start=tte.DateSource("ADSL", "TRTSDT"),
        events=[tte.DateSource("ADRS", "ADT", where={"PARAMCD": "OVR", "AVALC": "PD"}, description="PD")],
        censors=[
            tte.DateSource(
                "ADRS", "ADT", where=adequate, select="last", censor=1, description="Last adequate assessment"
            )
        ],
    )


def test_duration_is_pd_date_minus_first_dose_plus_one():
    result = _tte([("P1", 63, "SD"), ("P1", 142, "PD"), ("P1", 200, "PD")], ("P1",))
    assert result[["AVAL", "CNSR", "STARTDT", "ADT"]].iloc[0].tolist() == [143.0, 0.0, D0, day(142)]
    assert result["EVNTDESC"].tolist() == ["PD"] and result["CNSDTDSC"].tolist() == [""]
    assert result[["SRCDOM", "SRCVAR", "SRCSEQ"]].iloc[0].tolist() == ["ADRS", "ADT", 12.0]


def test_censoring_of_ongoing_responders_and_of_the_lost_to_follow_up():
    records = [
        ("G", 63, "PR"),
        ("G", 120, "CR"),
        ("G", 1642, "CR"),  # ongoing CR
        ("D", 63, "SD"),
        ("D", 142, "SD"),
    ]  # lost after day 143
    result = _tte(records, ("G", "D")).set_index("USUBJID")
    assert result.loc["G", ["AVAL", "CNSR"]].tolist() == [1643.0, 1.0]
    assert result.loc["D", ["AVAL", "CNSR"]].tolist() == [143.0, 1.0]
    assert result.loc["D", "CNSDTDSC"] == "Last adequate assessment"


def test_tte_population_filter_and_missing_censor_source_is_an_error():
    subjects = adsl("P1", "P2").assign(BOR=["SD", "PD"])
    frames = {"ADSL": subjects, "ADRS": ovr([("P1", 63, "SD")])}
    kept = tte.derive_param_tte(
        subjects,
        frames,
        paramcd="X",
        param="X",
        population={"BOR": ["SD"]},
        start=tte.DateSource("ADSL", "TRTSDT"),
        events=[],
        censors=[tte.DateSource("ADSL", "TRTSDT", censor=2, description="start")],
    )
    assert kept["USUBJID"].tolist() == ["P1"] and kept["AVAL"].tolist() == [1.0] and kept["CNSR"].tolist() == [2.0]
    with pytest.raises(AdamError, match="at least one censoring source"):
        tte.derive_param_tte(
            subjects, frames, paramcd="X", param="X", start=tte.DateSource("ADSL", "TRTSDT"), events=[], censors=[]
        )


# --- subject level -------------------------------------------------------------------------------
EX = pd.DataFrame(
    {
        "USUBJID": ["P1", "P1", "P1", "P2"],
        "EXDOSE": [4.0, 2.0, 0.0, 0.0],
        "EXSTDTC": ["2003-01-06", "2003-01-13", "2003-02-01", "2003-01-06"],
        "EXENDTC": ["2003-01-06", "", "", ""],
        "VISITNUM": [1.0, 1.0, 2.0, 1.0],
    }
)


def test_treatment_dates_use_positive_doses_only():
    result = subject.derive_var_trtedt(subject.derive_var_trtsdt(adsl("P1", "P2"), EX), EX)
    assert sas_date_to_iso(result["TRTSDT"]) == ["2003-01-06", ""]
    assert sas_date_to_iso(result["TRTEDT"]) == ["2003-01-13", ""]
    assert subject.derive_var_trtdurd(result)["TRTDURD"].iloc[0] == 8.0


def test_saffl_is_any_positive_dose():
    assert derive_var_saffl(adsl("P1", "P2"), EX)["SAFFL"].tolist() == ["Y", "N"]


def test_cycles_received_count_distinct_dosed_cycles():
    dosed = EX[EX["EXDOSE"] > 0]
    result = merge.derive_var_merged_summary(
        adsl("P1", "P2"), dosed, new_var="CYCLESN", analysis_var="VISITNUM", function="count_distinct", missing=0
    )
    assert result["CYCLESN"].tolist() == [1.0, 0.0]


def test_efffl_needs_a_post_baseline_response_assessment():
    rs = pd.DataFrame(
        {
            "USUBJID": ["P1", "P2", "P3"],
            "RSTESTCD": "OVRLRESP",
            "RSSTRESC": ["SD", "PD", "NE"],
            "RSDTC": ["2003-02-01", "2003-01-06", "2003-02-01"],
        }
    )
    result = subject.derive_var_efffl(adsl("P1", "P2", "P3"), rs, where={"RSTESTCD": "OVRLRESP"}, exclude=("NE",))
    assert result["EFFFL"].tolist() == ["Y", "N", "N"]


def test_disposition_status_and_reason():
    ds = pd.DataFrame(
        {
            "USUBJID": ["P1", "P2", "P4"],
            "DSCAT": "DISPOSITION EVENT",
            "EPOCH": "TREATMENT",
            "DSDECOD": ["COMPLETED", "PROGRESSIVE DISEASE", "OTHER"],
            "DSTERM": ["Completed", "Progressive disease", "Other: pulmonary embolism"],
            "DSSTDTC": ["2004-01-01", "2003-03-01", "2003-05-23"],
        }
    )
    result = subject.derive_vars_disposition(
        adsl("P1", "P2", "P3", "P4"),
        ds,
        status_var="EOTSTT",
        reason_var="DCTREAS",
        specify_var="DCTREASP",
        where={"EPOCH": "TREATMENT"},
    )
    assert result["EOTSTT"].tolist() == ["COMPLETED", "DISCONTINUED", "ONGOING", "DISCONTINUED"]
    assert result["DCTREAS"].tolist() == ["", "PROGRESSIVE DISEASE", "", "OTHER"]
    assert result["DCTREASP"].tolist() == ["", "", "", "Other: pulmonary embolism"]


def test_trt01_numbers_must_cover_every_arm():
    frame = adsl("P1", "P2").assign(ARM=["Low", "High"], ACTARM=["Low", "High"])
    result = subject.derive_vars_trt01(frame, numbers={"Low": 1, "High": 2})
    assert result["TRT01PN"].tolist() == [1.0, 2.0] and result["TRT01A"].tolist() == ["Low", "High"]
    with pytest.raises(AdamError, match="treatment 'High' has no number"):
        subject.derive_vars_trt01(frame, numbers={"Low": 1})


def test_supp_qualifiers_by_subject_and_by_parent_record():
    supp = pd.DataFrame(
        {
            "USUBJID": ["P1", "P1", "P2", "P1"],
            "IDVAR": ["", "", "", "AESEQ"],
            "IDVARVAL": ["", "", "", "2"],
            "QNAM": ["HER2", "KARNSCR", "HER2", "AEDLT"],
            "QVAL": ["3+", "90", "2+", "Y"],
        }
    )
    subjects = merge.derive_vars_supp(
        adsl("P1", "P2"), supp, variables={"HER2IHC": "HER2", "KARNSCR": "KARNSCR"}, numeric=("KARNSCR",)
    )
    assert subjects["HER2IHC"].tolist() == ["3+", "2+"]
    assert subjects["KARNSCR"].iloc[0] == 90.0 and np.isnan(subjects["KARNSCR"].iloc[1])
    ae = pd.DataFrame({"USUBJID": ["P1", "P1"], "AESEQ": [1.0, 2.0]})
    assert merge.derive_vars_supp(ae, supp, variables={"AEDLT": "AEDLT"})["AEDLT"].tolist() == ["", "Y"]
    with pytest.raises(AdamError, match="no SUPPQUAL record has QNAM TUMTYPE"):
        merge.derive_vars_supp(ae, supp, variables={"TUMTYPE": "TUMTYPE"})


# --- occurrences ---------------------------------------------------------------------------------
def test_trtemfl_window_is_first_dose_to_last_dose_plus_30_days():
    frame = pd.DataFrame(
        {
            "ASTDT": [day(-1), day(0), day(130), day(131), np.nan, np.nan],
            "AENDT": [np.nan, np.nan, np.nan, np.nan, day(-2), np.nan],
            "TRTSDT": D0,
            "TRTEDT": day(100),
        }
    )
    result = occds.derive_var_trtemfl(frame, end_window_days=30)
    assert result["TRTEMFL"].tolist() == ["", "Y", "Y", "", "", "Y"]


def test_worst_grade_flag_one_per_subject_and_term_earliest_on_ties():
    frame = pd.DataFrame(
        {
            "USUBJID": ["P1"] * 4 + ["P2"],
            "AEDECOD": ["Fatigue"] * 3 + ["Nausea", "Fatigue"],
            "ATOXGR": ["2", "3", "3", "1", ""],
            "ASTDT": [5.0, 9.0, 7.0, 1.0, 3.0],
            "AESEQ": [1.0, 2.0, 3.0, 4.0, 1.0],
        }
    )
    flagged = bds.derive_var_worst_flag(occds.derive_var_atoxgrn(frame))
    assert flagged["AOCCPIFL"].tolist() == ["", "", "Y", "Y", "Y"]


def test_atoxgrn_refuses_a_non_grade():
    with pytest.raises(AdamError, match="'severe' are not CTCAE grades"):
        occds.derive_var_atoxgrn(pd.DataFrame({"ATOXGR": ["1", "severe"]}))


# --- findings, baseline, change ------------------------------------------------------------------
LB = pd.DataFrame(
    {
        "STUDYID": "S1",
        "USUBJID": ["P1"] * 5,
        "LBSEQ": [1.0, 2.0, 3.0, 4.0, 5.0],
        "LBTESTCD": ["IFNG", "IFNG", "IFNG", "WBC", "WBC"],
        "LBTEST": ["Interferon Gamma"] * 3 + ["Leukocytes"] * 2,
        "LBSTRESC": ["<10", "124", "<10", "5.1", "2.4"],
        "LBSTRESN": [np.nan, 124.0, np.nan, 5.1, 2.4],
        "LBSTRESU": ["pg/mL"] * 3 + ["10^9/L"] * 2,
        "LBDTC": ["2003-01-06T08:00", "2003-02-01T09:00", "2003-02-02", "2003-01-06", "2003-01-27"],
        "VISIT": ["C1D1", "C2D2", "C2D5", "C1D1", "C2D1"],
        "VISITNUM": [1.0, 2.0, 3.0, 1.0, 2.0],
    }
)


def _adlb():
    records = bds.derive_params_from_findings(
        LB,
        domain="LB",
        paramcd_var="LBTESTCD",
        param_template="{LBTEST} ({LBSTRESU})",
        avalc_var="LBSTRESC",
        aval_var="LBSTRESN",
        date_var="LBDTC",
        seq_var="LBSEQ",
    )
    records["TRTSDT"] = D0
    return bds.derive_var_chg(bds.derive_var_base(bds.derive_var_ablfl(records)))


def test_adlb_parameters_keep_below_limit_results_as_text_only():
    adlb = _adlb()
    assert adlb["PARAMCD"].tolist() == ["IFNG", "IFNG", "IFNG", "WBC", "WBC"]
    assert adlb["PARAM"].iloc[0] == "Interferon Gamma (pg/mL)"
    assert adlb["AVALC"].iloc[0] == "<10" and np.isnan(adlb["AVAL"].iloc[0])
    assert adlb.loc[adlb["PARAMCD"] == "IFNG", "AVAL"].max() == 124.0
    assert adlb["SRCDOM"].iloc[0] == "LB" and adlb["SRCSEQ"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_baseline_is_the_last_result_on_or_before_first_dose_and_chg_is_post_baseline():
    adlb = _adlb()
    assert adlb["ABLFL"].tolist() == ["Y", "", "", "Y", ""]
    wbc = adlb[adlb["PARAMCD"] == "WBC"]
    assert wbc["BASE"].tolist() == [5.1, 5.1]
    assert np.isnan(wbc["CHG"].iloc[0]) and wbc["CHG"].iloc[1] == pytest.approx(-2.7)
    with_baseline = bds.derive_var_chg(adlb, include_baseline=True)
    assert with_baseline.loc[with_baseline["PARAMCD"] == "WBC", "CHG"].iloc[0] == 0.0


def test_one_param_per_paramcd_is_enforced():
    mixed = LB.assign(LBSTRESU=["pg/mL", "ng/mL", "pg/mL", "10^9/L", "10^9/L"])
    with pytest.raises(AdamError, match="PARAMCD IFNG would have several PARAMs"):
        bds.derive_params_from_findings(
            mixed,
            domain="LB",
            paramcd_var="LBTESTCD",
            date_var="LBDTC",
            param_template="{LBTEST} ({LBSTRESU})",
            seq_var="LBSEQ",
        )


def test_anl01fl_keeps_post_baseline_records_up_to_the_first_pd():
    data = ovr([("P1", 0, "SD"), ("P1", 21, "SD"), ("P1", 63, "PD"), ("P1", 90, "PD")]).assign(TRTSDT=D0)
    assert bds.derive_var_anl01fl(data, until={"AVALC": "PD"})["ANL01FL"].tolist() == ["", "Y", "Y", ""]


def test_aseq_numbers_records_within_subject():
    frame = pd.DataFrame({"USUBJID": ["P2", "P1", "P1"], "ADT": [3.0, 2.0, 1.0]})
    assert derive_var_obs_number(frame, order=("ADT",))["ASEQ"].tolist() == [1.0, 2.0, 1.0]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["P1", "P2", "P10"]),
            st.sampled_from(["IFNG", "TNF"]),
            st.one_of(st.none(), st.integers(0, 4)),
            st.integers(1, 3),
        ),
        max_size=25,
    )
)
def test_aseq_equals_the_rank_within_subject_and_parameter_in_any_input_order(records):
    """ASEQ numbers each (USUBJID, PARAMCD) group 1..n in the order of ADT then SRCSEQ, missing ADT
    last, whatever the order and index of the input records."""
    frame = pd.DataFrame(records, columns=["USUBJID", "PARAMCD", "ADT", "SRCSEQ"]).astype(
        {"USUBJID": str, "PARAMCD": str, "ADT": "float64", "SRCSEQ": "float64"}
    )
    frame.index = np.arange(len(frame))[::-1] * 7  # the derivation must not rely on a RangeIndex
    numbered = derive_var_obs_number(frame, order=("ADT", "SRCSEQ"), by=("USUBJID", "PARAMCD"))
    expected = (
        (
            frame.sort_values(["USUBJID", "PARAMCD", "ADT", "SRCSEQ"], kind="stable", na_position="last")
            .groupby(["USUBJID", "PARAMCD"])
            .cumcount()
            + 1
        )
        .reindex(frame.index)
        .astype("float64")
    )
    assert numbered["ASEQ"].tolist() == expected.tolist()
    assert numbered.index.equals(frame.index)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["P1", "P2", "P3"]), st.sampled_from(["A", "B"])), max_size=12),
    st.lists(
        st.tuples(
            st.sampled_from(["P1", "P2", "P4"]),
            st.sampled_from(["A", "B"]),
            st.sampled_from(["x", "yy", ""]),
            st.one_of(st.none(), st.integers(0, 9)),
        ),
        max_size=8,
    ),
    st.sampled_from([("USUBJID",), ("USUBJID", "GRP")]),
)
def test_merged_variables_equal_a_left_join_on_the_chosen_records(records, extra, by):
    """Each record gets the values of the first ``dataset_add`` record (by ``order``) of its by group;
    a group with none gets "" (text) or a missing number: a left join on one chosen record per group."""
    dataset = pd.DataFrame(records, columns=["USUBJID", "GRP"]).astype(str)
    dataset.index = np.arange(len(dataset)) * 3 + 5
    add = pd.DataFrame(extra, columns=["USUBJID", "GRP", "TXT", "NUM"]).astype(
        {"USUBJID": str, "GRP": str, "TXT": str, "NUM": "float64"}
    )
    add["SEQ"] = np.arange(len(add), dtype="float64")[::-1]
    merged = merge.derive_vars_merged(dataset, add, new_vars={"T": "TXT", "N": "NUM"}, by=by, order=("SEQ",))
    chosen = add.sort_values("SEQ", kind="stable").drop_duplicates(list(by))
    expected = dataset.merge(chosen.rename(columns={"TXT": "T", "NUM": "N"})[[*by, "T", "N"]], on=list(by), how="left")
    assert merged.index.equals(dataset.index)
    assert merged["T"].tolist() == expected["T"].fillna("").tolist()
    assert merged["N"].astype("float64").tolist() == pytest.approx(
        expected["N"].astype("float64").tolist(), nan_ok=True
    )


def test_merged_variables_need_an_order_when_several_records_match():
    extra = pd.DataFrame({"USUBJID": ["P1", "P1"], "X": ["a", "b"]})
    with pytest.raises(AdamError, match="add 'where' or 'order'"):
        merge.derive_vars_merged(adsl("P1"), extra, new_vars={"Y": "X"})
    ordered = merge.derive_vars_merged(adsl("P1", "P2"), extra, new_vars={"Y": "X"}, order=("X",), mode="last")
    assert ordered["Y"].tolist() == ["b", ""]


# --- properties ----------------------------------------------------------------------------------
RESPONSES = st.sampled_from(["CR", "PR", "SD", "PD", "NE"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(min_value=-3000, max_value=3000), min_size=1, max_size=50),
    st.integers(min_value=-3000, max_value=3000),
)
def test_relative_day_is_never_zero_and_keeps_the_order_of_dates(offsets, reference):
    dates = pd.Series(sorted(offsets), dtype="float64")
    days = relative_day(dates, pd.Series(float(reference), index=dates.index))
    assert (days != 0).all()
    assert days.is_monotonic_increasing


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=-10, max_value=400), RESPONSES), max_size=8))
def test_bor_follows_recist_on_any_sequence(assessments):
    bor = bor_of([("P1", day_, value) for day_, value in assessments])["P1"]
    post = sorted((d, v) for d, v in assessments if d > 0)
    first_pd = next((d for d, v in post if v == "PD"), None)
    counted = [(d, v) for d, v in post if first_pd is None or d <= first_pd]
    if any(v in ("CR", "PR") for _, v in counted):
        assert bor == ("CR" if any(v == "CR" for _, v in counted) else "PR")
    elif any(v == "SD" and d >= 42 for d, v in counted):
        assert bor == "SD"
    elif first_pd is not None:
        assert bor == "PD"
    else:
        assert bor == "NE"
