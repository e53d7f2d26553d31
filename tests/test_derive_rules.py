"""SDTM derivations as pure functions: each test states the IG rule it checks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdtmify.derive.age import age_in_years
from sdtmify.derive.arms import actual_arm_as_planned, planned_arm
from sdtmify.derive.baseline import last_observation_before_exposure
from sdtmify.derive.epoch import epoch
from sdtmify.derive.identifiers import usubjid
from sdtmify.derive.reference_dates import pick_per_subject
from sdtmify.derive.sequence import sequence_number
from sdtmify.derive.study_day import study_day
from sdtmify.derive.supp import QualifierError, supplemental_qualifiers
from sdtmify.derive.visits import assign_visits, planned_visits

dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2040, 12, 31))


def test_study_day_has_no_day_zero():
    rf = pd.Series(["2004-03-10"] * 4)
    dtc = pd.Series(["2004-03-09", "2004-03-10", "2004-03-11T08:30", "2004-03"])
    assert study_day(dtc, rf).tolist()[:3] == [-1.0, 1.0, 2.0]
    assert np.isnan(study_day(dtc, rf).iloc[3])  # partial date: no study day


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(dates, dates), min_size=1, max_size=30))
def test_study_day_property_never_zero_and_monotone(pairs):
    dtc = pd.Series([d.isoformat() for d, _ in pairs])
    rf = pd.Series([r.isoformat() for _, r in pairs])
    days = study_day(dtc, rf)
    assert (days != 0).all()
    delta = np.array([(d - r).days for d, r in pairs])
    assert (days.to_numpy() == np.where(delta >= 0, delta + 1, delta)).all()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), dates), min_size=1, max_size=50))
def test_seq_is_unique_and_consecutive_within_subject(records):
    frame = pd.DataFrame({"USUBJID": [s for s, _ in records], "AESTDTC": [d.isoformat() for _, d in records]})
    seq = sequence_number(frame, ["AESTDTC"])
    frame["SEQ"] = seq
    assert not frame.duplicated(["USUBJID", "SEQ"]).any()
    for _, group in frame.groupby("USUBJID"):
        assert sorted(group["SEQ"]) == list(range(1, len(group) + 1))
        # ordered by date within the subject
        assert group.sort_values("SEQ")["AESTDTC"].is_monotonic_increasing


def test_usubjid_template():
    ids = usubjid("NCI84", pd.Series(["001", "002"]), pd.Series(["A", "B"]), "{STUDYID}-{SITEID}-{SUBJID}")
    assert ids.tolist() == ["NCI84-001-A", "NCI84-002-B"]


def test_age_counts_completed_years():
    birth = pd.Series(["1960-03-15", "1960-03-15", "1960-03", "1960-02-29"])
    at = pd.Series(["2004-03-14", "2004-03-15", "2004-06-01", "2005-02-28"])
    age = age_in_years(birth, at)
    assert age.iloc[0] == 43 and age.iloc[1] == 44 and np.isnan(age.iloc[2]) and age.iloc[3] == 44


def test_reference_dates_first_and_last_per_subject():
    dtc = pd.Series(["2004-01-10", "2004-01-03", "", "2004-02-01"])
    ids = pd.Series(["S1", "S1", "S1", "S2"])
    assert pick_per_subject(dtc, ids, "first").to_dict() == {"S1": "2004-01-03", "S2": "2004-02-01"}
    assert pick_per_subject(dtc, ids, "last", add_days=1).to_dict() == {"S1": "2004-01-11", "S2": "2004-02-02"}


def test_planned_arm_and_not_treated():
    arms = [{"ARMCD": "A1", "ARM": "Arm one", "match": ["1"]}, {"ARMCD": "A2", "ARM": "Arm two", "match": ["2"]}]
    assigned, unknown = planned_arm(pd.Series(["1", "2", "3"]), arms)
    assert assigned["ARMCD"].tolist() == ["A1", "A2", ""] and unknown.tolist() == [False, False, True]
    actual = actual_arm_as_planned(assigned["ARMCD"], assigned["ARM"], pd.Series([True, False, False]))
    assert actual["ACTARMCD"].tolist() == ["A1", "", ""]
    assert actual["ARMNRS"].tolist() == ["", "ASSIGNED, NOT TREATED", ""]


def test_epoch_from_subject_elements():
    se = pd.DataFrame(
        {
            "USUBJID": ["S1", "S1", "S1"],
            "EPOCH": ["SCREENING", "TREATMENT", "FOLLOW-UP"],
            "SESTDTC": ["2004-01-01", "2004-01-10", "2004-03-01"],
            "SEENDTC": ["2004-01-10", "2004-03-01", "2004-06-01"],
        }
    )
    dtc = pd.Series(["2003-12-31", "2004-01-09", "2004-01-10T08:00", "2004-03-01", "2004-07-01", "2004-02"])
    assert epoch(pd.Series(["S1"] * 6), dtc, se).tolist() == ["", "SCREENING", "TREATMENT", "FOLLOW-UP", "", ""]
    # records of two subjects sharing days (one place per subject and day, spread back to each record)
    subjects = pd.Series(["S2", "S1", "S2", "S1", "S1"], index=[4, 0, 3, 2, 1])
    days = pd.Series(["2004-01-09", "2004-01-09", "2004-01-09", "2004-03-02", "2004-01-09T10:00"], index=subjects.index)
    placed = epoch(subjects, days, se)
    assert placed.index.tolist() == [4, 0, 3, 2, 1]
    assert placed.tolist() == ["", "SCREENING", "", "FOLLOW-UP", "SCREENING"]


def test_unscheduled_visit_is_previous_visit_plus_increment():
    schedule = planned_visits(
        {
            "scheduled": [
                {"VISITNUM": 1, "VISIT": "SCREENING", "VISITDY": -7},
                {"VISITNUM": 2, "VISIT": "WEEK 1", "VISITDY": 8, "match": ["Wk1"]},
            ],
            "cycles": {
                "count": 2,
                "length": 21,
                "days": [1, 8],
                "VISIT": "CYCLE {cycle} DAY {day}",
                "visitnum": {"cycle": 100, "day": 1},
            },
        }
    )
    assert schedule["VISITNUM"].tolist() == [1, 2, 101, 108, 201, 208]
    assert schedule.loc[schedule["VISITNUM"] == 208, "VISITDY"].item() == 29
    raw = pd.Series(["Screening", "wk1", "Unsched", "Unsched", "cycle 2  day 8", "Unsched", "Week 9"])
    ids = pd.Series(["S1"] * 6 + ["S2"])
    dtc = pd.Series(["2004-01-01", "2004-01-08", "2004-01-09", "2004-01-12", "2004-02-05", "2004-02-06", "2004-03-01"])
    result, unknown = assign_visits(raw, ids, dtc, schedule, {"match": ["unsched"], "increment": 0.01})
    assert result["VISITNUM"].tolist()[:6] == [1, 2, 2.01, 2.02, 208, 208.01]
    assert result["VISIT"].tolist()[2] == "UNSCHEDULED 2.01"
    assert unknown.tolist() == [False] * 6 + [True]


def test_last_observation_before_exposure():
    frame = pd.DataFrame(
        {
            "USUBJID": ["S1"] * 4 + ["S2"],
            "LBTESTCD": ["HGB"] * 5,
            "LBDTC": ["2004-01-01", "2004-01-05T08:00", "2004-01-06", "2004-01-05", "2004-02-01"],
        }
    )
    has_result = pd.Series([True, True, True, False, True])
    reference = pd.Series(["2004-01-05"] * 4 + ["2004-01-20"])
    flag = last_observation_before_exposure(frame, ["LBTESTCD"], "LBDTC", reference, has_result)
    assert flag.tolist() == ["", "Y", "", "", ""]


def test_supp_records_point_at_parent_seq():
    parent = pd.DataFrame(
        {
            "STUDYID": ["S"] * 3,
            "USUBJID": ["1", "1", "2"],
            "AESEQ": [1.0, 2.0, 1.0],
            "SRCTABLE": ["ae"] * 3,
            "SRCROW": [1, 2, 3],
        }
    )
    supp = supplemental_qualifiers(
        parent,
        "AE",
        {"AEDLT": pd.Series(["Y", "", "N"])},
        {"AEDLT": "Dose-Limiting Toxicity"},
        {"AEDLT": "Collected"},
        {},
        "AESEQ",
    )
    assert supp[["USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QVAL", "QORIG", "SRCROW"]].values.tolist() == [
        ["1", "AESEQ", "1", "AEDLT", "Y", "Collected", 1],
        ["2", "AESEQ", "1", "AEDLT", "N", "Collected", 3],
    ]


def test_supp_qlabel_longer_than_40_names_the_qnam():
    parent = pd.DataFrame({"STUDYID": ["S"], "USUBJID": ["1"], "AESEQ": [1.0], "SRCTABLE": ["ae"], "SRCROW": [1]})
    label = "Dose-Limiting Toxicity Observed in the First Cycle"
    with pytest.raises(QualifierError) as info:
        supplemental_qualifiers(
            parent, "AE", {"AEDLT": pd.Series(["Y"])}, {"AEDLT": label}, {"AEDLT": "Collected"}, {}, "AESEQ"
        )
    assert info.value.qnam == "AEDLT"
    assert str(info.value) == f"QNAM must be at most 8 and QLABEL at most 40 characters; label '{label}' has 50"
