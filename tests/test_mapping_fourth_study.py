"""A fourth study (tests/studies/EDC4) mapped with YAML only: compact and day-first dates, visits by
study-day windows, an actual arm that differs from the randomized one, AE terms joined with their
"other, specify" text, grades taken from labels and a coding table whose later rows win."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from sdtmify.check import check_study
from sdtmify.mapping.engine import build_sdtm
from sdtmify.study import load_study

STUDY = Path(__file__).parent / "studies" / "EDC4"


@pytest.fixture(scope="module")
def edc4(tmp_path_factory):
    folder = tmp_path_factory.mktemp("edc4") / "studies" / "EDC4"
    shutil.copytree(STUDY, folder)
    return folder


@pytest.fixture(scope="module")
def built(edc4):
    return {name: ds.frame for name, ds in build_sdtm(load_study(edc4)).datasets.items()}


def test_the_study_checks_clean(edc4):
    assert check_study(str(edc4)) == []


def test_actual_arm_recorded_apart_from_the_randomized_one(built):
    dm = built["DM"].set_index("USUBJID")
    columns = ["ARMCD", "ACTARMCD", "ACTARM", "ARMNRS"]
    assert dm.loc["EDC4-DE01-7", columns].tolist() == ["LOW", "LOW", "Drug Y 10 mg", ""]
    assert dm.loc["EDC4-DE01-12", columns].tolist() == ["LOW", "HIGH", "Drug Y 40 mg", ""]
    assert dm.loc["EDC4-FR02-23", columns].tolist() == ["HIGH", "", "", "ASSIGNED, NOT TREATED"]


def test_compact_and_slash_dates_and_country_from_the_site_code(built):
    dm = built["DM"].set_index("USUBJID")
    assert dm.loc["EDC4-DE01-7", ["RFICDTC", "BRTHDTC", "AGE", "COUNTRY"]].tolist() == [
        "2024-02-01",
        "1960-05-12",
        63.0,
        "DEU",
    ]
    assert dm.loc["EDC4-FR02-23", ["BRTHDTC", "COUNTRY"]].tolist() == ["1980", "FRA"]  # 1980/UN/UN


def test_day_first_datetimes(built):
    ex = built["EX"]
    assert sorted(ex.loc[ex["USUBJID"] == "EDC4-DE01-7", "EXSTDTC"]) == ["2024-02-05T09:15", "2024-02-19T09:30"]


def test_lab_visits_from_study_day_windows(built):
    lb = built["LB"]
    seven = lb[lb["USUBJID"] == "EDC4-DE01-7"].sort_values("LBDTC")
    assert seven["LBDY"].tolist() == [-4, 1, 16, 55]
    assert seven["VISIT"].tolist() == ["BASELINE", "BASELINE", "WEEK 2", ""]
    assert seven["VISITNUM"].tolist()[:3] == [1.0, 1.0, 2.0] and math.isnan(seven["VISITNUM"].tolist()[3])


def test_adverse_event_terms_grades_and_coding(built):
    ae = built["AE"].set_index(["USUBJID", "AESPID"])
    other = ae.loc[("EDC4-DE01-7", "002")]
    assert (other["AETERM"], other["AEDECOD"], other["AETOXGR"], other["AESEV"]) == (
        "Other - Tinnitus",
        "Tinnitus",
        "2",
        "MODERATE",
    )
    # the coding table lists Headache twice; on_duplicate: last takes the later row
    assert ae.loc[("EDC4-DE01-7", "001"), "AEDECOD"] == "Headache"
    assert ae.loc[("EDC4-DE01-12", "001"), ["AETOXGR", "AESEV"]].tolist() == ["3", "SEVERE"]
