"""A second study (tests/studies/ONCO2) through the same engine: XLSX sheets, other column names,
a wide lab sheet, other visit names and date forms. No Python is specific to it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from sdtmify.mapping.engine import build_sdtm
from sdtmify.study import load_study

STUDY = Path(__file__).parent / "studies" / "ONCO2"


def workbook_frames() -> dict[str, pd.DataFrame]:
    patients = pd.DataFrame(
        {
            "PatNo": ["1001", "1002", "1003"],
            "Centre": ["DE01", "DE01", "FR02"],
            "DOB": ["03/04/1960", "JUN-1955", "29/02/1972"],
            "Gender": ["Male", "Female", "F"],
            "Country": ["Deutschland", "Deutschland", "France"],
            "Dose": ["10 mg", "20 mg", "20 mg"],
            "InformedConsent": ["01/02/2024", "05/02/2024", "12/02/2024"],
            "LastSeen": ["01/04/2024", "10/04/2024", "20/04/2024"],
        }
    )
    treatment = pd.DataFrame(
        {
            "PatNo": ["1001", "1001", "1002", "1002", "1003"],
            "Visit": ["Wk 0", "Wk 2", "Wk 0", "Wk 2", "Wk 0"],
            "GivenOn": ["05/02/2024", "19/02/2024", "08/02/2024", "22/02/2024", "15/02/2024"],
            "GivenAt": ["09:30", "10:00", "", "11:15", "08:45"],
            "DoseMg": [10, 10, 20, 20, 20],
        }
    )
    events = pd.DataFrame(
        {
            "PatNo": ["1001", "1002", "1002", "1003"],
            "EventNo": [1, 1, 2, 1],
            "Description": ["Headache", "Nausea", "", "Rash"],
            "Coded": ["Headache", "Nausea", "", "Rash"],
            "Intensity": ["1", "2", "", "3"],
            "Hospitalised": ["no", "yes", "", "n"],
            "Began": ["06/02/2024", "09/02/2024", "", "20/02/2024"],
            "Ended": ["07/02/2024", "", "", "01/03/2024"],
            "Comment": ["", "after first dose", "", ""],
        }
    )
    labs = pd.DataFrame(
        {
            "PatNo": ["1001", "1001", "1001", "1002", "1002", "1003"],
            "Visit": ["Baseline", "Wk 2", "Unplanned", "Baseline", "Wk 4", "Baseline"],
            "Drawn": ["05.02.2024", "19.02.2024", "23.02.2024", "08.02.2024", "07.03.2024", "15.02.2024"],
            "Hb": [8.5, 7.0, 4.0, 9.1, "", 8.0],
            "Leuko": [6.2, 3.1, 5.0, 7.7, 8.0, 5.5],
            "Thrombo": [250, 180, 200, 310, 290, ""],
        }
    )
    return {"Patients": patients, "Treatment": treatment, "Events": events, "LabsWide": labs}


@pytest.fixture(scope="module")
def onco2(tmp_path_factory):
    folder = tmp_path_factory.mktemp("onco2") / "studies" / "ONCO2"
    shutil.copytree(STUDY, folder)
    (folder / "source").mkdir()
    with pd.ExcelWriter(folder / "source" / "onco2.xlsx", engine="openpyxl") as writer:
        for sheet, data in workbook_frames().items():
            data.to_excel(writer, sheet_name=sheet, index=False)
    return build_sdtm(load_study(folder))


def test_all_domains_are_built_from_the_workbook(onco2):
    assert set(onco2.datasets) == {"DM", "EX", "AE", "LB", "TA", "TE", "TV", "SE", "SV", "SUPPAE"}


def test_usubjid_follows_this_studys_template(onco2):
    dm = onco2.datasets["DM"].frame
    assert dm["USUBJID"].tolist() == ["ONCO2/DE01/1001", "ONCO2/DE01/1002", "ONCO2/FR02/1003"]
    assert dm["SEX"].tolist() == ["M", "F", "F"]
    assert dm["COUNTRY"].tolist() == ["DEU", "DEU", "FRA"]
    assert dm["ARMCD"].tolist() == ["LOW", "HIGH", "HIGH"]


def test_partial_and_leap_day_birth_dates(onco2):
    dm = onco2.datasets["DM"].frame
    assert dm["BRTHDTC"].tolist() == ["1960-04-03", "1955-06", "1972-02-29"]
    # age needs a complete birth date
    assert dm["AGE"].iloc[0] == 63 and pd.isna(dm["AGE"].iloc[1]) and dm["AGE"].iloc[2] == 51


def test_date_and_separate_time_make_an_iso_datetime(onco2):
    ex = onco2.datasets["EX"].frame
    assert ex["EXSTDTC"].tolist() == [
        "2024-02-05T09:30",
        "2024-02-19T10:00",
        "2024-02-08",
        "2024-02-22T11:15",
        "2024-02-15T08:45",
    ]
    dm = onco2.datasets["DM"].frame
    assert dm["RFSTDTC"].tolist() == ["2024-02-05T09:30", "2024-02-08", "2024-02-15T08:45"]
    assert ex["EXSTDY"].tolist() == [1, 15, 1, 15, 1]


def test_wide_lab_sheet_becomes_one_record_per_test(onco2):
    lb = onco2.datasets["LB"].frame
    # 6 visits x 3 tests minus the two blank cells
    assert len(lb) == 16
    assert sorted(lb["LBTESTCD"].unique()) == ["HGB", "PLAT", "WBC"]
    lineage = onco2.datasets["LB"].lineage
    assert lineage["SRCROW"].value_counts().max() == 3


def test_unit_conversion_factor_from_the_yaml(onco2):
    lb = onco2.datasets["LB"].frame
    hgb = lb[lb["LBTESTCD"] == "HGB"].set_index("VISIT")
    subject = hgb[hgb["USUBJID"] == "ONCO2/DE01/1001"]
    assert subject.loc["BASELINE", "LBSTRESN"] == 137.0  # 8.5 mmol/L x 16.114 = 136.969
    assert subject.loc["BASELINE", "LBSTRESU"] == "g/L" and subject.loc["BASELINE", "LBSTNRLO"] == pytest.approx(
        120.855
    )
    assert subject.loc["WEEK 2", "LBSTRESC"] == "112.8"  # 7.0 x 16.114 = 112.798: below LLN only
    assert subject.loc["WEEK 2", "LBTOXGR"] == "1"
    assert subject.loc["UNPLANNED 20.1", "LBTOXGR"] == "4"  # 4.0 x 16.114 = 64.5 < 65 g/L
    assert subject.loc["UNPLANNED 20.1", "LBNRIND"] == "LOW"
    assert set(lb.loc[lb["LBTESTCD"] == "WBC", "LBTOXGR"]) == {""}  # not graded in this study


def test_other_visit_names_and_unscheduled_numbering(onco2):
    lb = onco2.datasets["LB"].frame
    visits = lb[lb["USUBJID"] == "ONCO2/DE01/1001"].drop_duplicates("VISITNUM")
    assert visits[["VISITNUM", "VISIT"]].values.tolist() == [
        [10.0, "BASELINE"],
        [20.0, "WEEK 2"],
        [20.1, "UNPLANNED 20.1"],
    ]
    sv = onco2.datasets["SV"].frame
    assert sv.loc[sv["VISITNUM"] == 20.1, "SVUPDES"].tolist() == ["Unscheduled assessment"]


def test_baseline_flags_the_last_result_before_first_dose(onco2):
    lb = onco2.datasets["LB"].frame
    flagged = lb[lb["LBLOBXFL"] == "Y"]
    assert set(flagged["VISIT"]) == {"BASELINE"}
    assert len(flagged) == 8  # 3 + 3 + 2 (1003 has no platelets)
    assert (lb["LBBLFL"] == lb["LBLOBXFL"]).all()


def test_conditional_and_filter_and_supp(onco2):
    ae = onco2.datasets["AE"].frame
    assert ae["AETERM"].tolist() == ["HEADACHE", "NAUSEA", "RASH"]  # the blank row is filtered out
    assert ae["AESER"].tolist() == ["N", "Y", "N"]
    assert ae["AESEV"].tolist() == ["MILD", "MODERATE", "SEVERE"]
    assert ae["AEENDTC"].tolist() == ["2024-02-07", "", "2024-03-01"]
    supp = onco2.datasets["SUPPAE"].frame
    assert supp[["USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QVAL"]].values.tolist() == [
        ["ONCO2/DE01/1002", "AESEQ", "1", "AESPONS", "after first dose"]
    ]


def test_subject_elements_and_epochs(onco2):
    se = onco2.datasets["SE"].frame
    first = se[se["USUBJID"] == "ONCO2/DE01/1001"].sort_values("SESEQ")
    assert first[["ETCD", "SESTDTC", "SEENDTC"]].values.tolist() == [
        ["SCR", "2024-02-01", "2024-02-05T09:30"],
        ["DRUGX10", "2024-02-05T09:30", "2024-04-01"],
    ]
    ae = onco2.datasets["AE"].frame
    assert ae["EPOCH"].tolist() == ["TREATMENT", "TREATMENT", "TREATMENT"]


def test_no_study_specific_names_in_the_engine():
    """The study's name, drugs and tests live only in mappings/ and tests/ (issue 3, generality)."""
    root = Path(__file__).resolve().parents[1] / "src" / "sdtmify"
    files = [
        root / "study.py",
        root / "sources.py",
        root / "writers" / "lineage.py",
        *(root / "mapping").glob("*.py"),
        *(root / "derive").glob("*.py"),
    ]
    words = ["NCI84", "IL-12", "interleukin", "trastuzumab", "paclitaxel", "IFN", "cytokine", "ONCO2", "HER2"]
    for path in files:
        text = path.read_text().lower()
        for word in words:
            assert word.lower() not in text, f"{path.name} mentions {word}"


def test_blank_cells_of_a_wide_sheet_become_not_done_records_when_asked(tmp_path):
    folder = tmp_path / "studies" / "ONCO2"
    shutil.copytree(STUDY, folder)
    (folder / "source").mkdir()
    with pd.ExcelWriter(folder / "source" / "onco2.xlsx", engine="openpyxl") as writer:
        for sheet, data in workbook_frames().items():
            data.to_excel(writer, sheet_name=sheet, index=False)
    lb = folder / "sdtm" / "lb.yaml"
    text = lb.read_text()
    old = "unpivot: {columns: [Hb, Leuko, Thrombo], name: analyte, value: reading}"
    assert old in text
    text = text.replace(old, old[:-1] + ", keep_blank: true}")
    text = text.replace(
        "  LBORRES:  {column: reading}\n",
        "  LBORRES:  {column: reading}\n"
        "  LBSTAT:   {when: [{if: {column: reading, blank: true}, then: {constant: NOT DONE, ct: ND}}]}\n",
    )
    lb.write_text(text)
    frame = build_sdtm(load_study(folder)).datasets["LB"].frame
    not_done = frame[frame["LBSTAT"] == "NOT DONE"]
    assert sorted(not_done["LBTESTCD"]) == ["HGB", "PLAT"]  # the two blank cells of the sheet
    assert (not_done["LBORRES"] == "").all() and not_done["LBSTRESN"].isna().all()
