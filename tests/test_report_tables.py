"""Table builders on small ADaM XPT fixtures read back from disk: exact cells and layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_report_support import write_xpt

from sdtmify.report.adam import AdamMissing, read_adam
from sdtmify.report.subjects import add_subject_values
from sdtmify.report.tables import listing_table, summary_table, worst_grade_table


@pytest.fixture()
def adam(tmp_path):
    adsl = pd.DataFrame(
        {
            "USUBJID": [f"S-{i}" for i in range(1, 8)],
            "SUBJID": list("ABCDEFG"),
            "SAFFL": ["Y"] * 6 + ["N"],
            "AGE": [41, 50, 56, 60, 70, 81, 30],
            "SEX": ["F", "M", "F", "M", "M", "F", "F"],
            "KARNSCR": [100, 90, 80, 70, 90, 60, 100],
            "METSITN": [1, 2, 3, 5, 1, np.nan, 1],
            "BOR": ["CR", "PR", "SD", "PD", "PD", "SD", "PD"],
        }
    )
    adtte = pd.DataFrame(
        {
            "USUBJID": ["S-1", "S-2", "S-3", "S-6"],
            "PARAMCD": "DURRSD",
            "AVAL": [1643.0, 329.0, 475.0, 100.0],
            "CNSR": [1, 0, 0, 0],
        }
    )
    adlb = pd.DataFrame(
        {
            "USUBJID": ["S-1", "S-1", "S-2", "S-4", "S-4"],
            "PARAMCD": "IFNG",
            "AVAL": [200.0, 1448.0, 124.0, np.nan, np.nan],
            "AVALC": ["200", "1448", "124", "<10", "<10"],
        }
    )
    adae = pd.DataFrame(
        {
            "USUBJID": ["S-1", "S-1", "S-2", "S-3", "S-4", "S-5", "S-7", "S-2"],
            "AEDECOD": [
                "Fatigue",
                "FATIGUE",
                "Fatigue",
                "Neutropenia",
                "Neutropenia",
                "Fatigue",
                "Fatigue",
                "Headache",
            ],
            "ATOXGRN": [1, 3, 2, 4, 3, np.nan, 3, 1],
            "TRTEMFL": ["Y"] * 8,
        }
    )
    for name, frame in {"ADSL": adsl, "ADTTE": adtte, "ADLB": adlb, "ADAE": adae}.items():
        write_xpt(frame, tmp_path, name)
    data = read_adam(tmp_path, ["ADSL", "ADTTE", "ADLB", "ADAE"])
    subjects = data["ADSL"].loc[data["ADSL"]["SAFFL"] == "Y"].reset_index(drop=True)
    return data, subjects


def test_read_adam_trims_text_and_keeps_missing_numbers(adam):
    data, subjects = adam
    assert list(subjects["SUBJID"]) == list("ABCDEF")
    assert data["ADLB"]["AVAL"].isna().sum() == 2
    assert data["ADLB"]["AVALC"].tolist()[-1] == "<10"


def test_read_adam_names_every_missing_file_and_says_to_build(tmp_path):
    with pytest.raises(AdamMissing) as caught:
        read_adam(tmp_path, ["ADSL", "ADAE"])
    message = str(caught.value)
    assert "adsl.xpt" in message and "adae.xpt" in message and "sdtmify build" in message
    assert caught.value.exit_code == 2


def test_summary_median_of_even_count_is_midpoint_and_range_is_min_max(adam):
    _, subjects = adam
    spec = {
        "title": "Demographics",
        "rows": [{"label": "Age (y)", "variable": "AGE", "statistics": ["median", "range"]}],
    }
    table = summary_table("t2", spec, subjects)
    assert table.cells["t2/Age (y)/Median"].value == 58  # (56 + 60) / 2, excluding the unsafe 30
    assert table.cells["t2/Age (y)/Range"].display == "41–81"
    assert (table.cells["t2/Age (y)/Range/min"].value, table.cells["t2/Age (y)/Range/max"].value) == (41, 81)
    assert table.frame.values.tolist() == [["Age (y)", "Median", "58"], ["", "Range", "41–81"]]


def test_summary_categories_values_ranges_and_uncategorised(adam):
    _, subjects = adam
    spec = {
        "title": "T",
        "rows": [
            {
                "label": "Karnofsky",
                "variable": "KARNSCR",
                "categories": [
                    {"label": "90–100", "value": [90, 100]},
                    {"label": "80", "value": 80},
                    {"label": "70", "value": 70},
                ],
            },
            {
                "label": "Sites",
                "variable": "METSITN",
                "categories": [{"label": "1", "value": 1}, {"label": "2", "value": 2}, {"label": "≥3", "min": 3}],
            },
        ],
    }
    table = summary_table("t", spec, subjects)
    counts = {k: c.value for k, c in table.cells.items()}
    assert counts == {
        "t/Karnofsky/90–100": 3,
        "t/Karnofsky/80": 1,
        "t/Karnofsky/70": 1,
        "t/Sites/1": 2,
        "t/Sites/2": 1,
        "t/Sites/≥3": 2,
    }
    # The 60 and the missing site count are shown, not silently dropped.
    assert table.frame.values.tolist().count(["", "Not categorised", "1"]) == 2


def test_listing_marks_censored_values_and_shows_missing_as_published(adam):
    data, subjects = adam
    subjects = add_subject_values(
        subjects,
        data,
        {
            "DUR": {"dataset": "ADTTE", "where": {"PARAMCD": "DURRSD"}, "variable": "AVAL", "reduce": "first"},
            "DURCNSR": {"dataset": "ADTTE", "where": {"PARAMCD": "DURRSD"}, "variable": "CNSR", "reduce": "first"},
            "PEAK": {
                "dataset": "ADLB",
                "where": {"PARAMCD": "IFNG"},
                "variable": "AVAL",
                "reduce": "max",
                "missing": 0,
            },
        },
        "USUBJID",
    )
    spec = {
        "title": "Outcomes",
        "key": "SUBJID",
        "columns": [
            {"label": "Patient", "variable": "SUBJID"},
            {"label": "Best", "variable": "BOR", "map": {"CR": "Complete response"}},
            {"label": "Duration", "variable": "DUR", "censored": {"DURCNSR": 1}, "missing": "—"},
            {"label": "Peak", "variable": "PEAK"},
        ],
    }
    table = listing_table("t3", spec, subjects)
    assert table.frame.values.tolist()[:4] == [
        ["A", "Complete response", "1643+", "1448"],
        ["B", "PR", "329", "124"],
        ["C", "SD", "475", "0"],
        ["D", "PD", "—", "0"],
    ]
    assert table.cells["t3/A/Duration"].value == 1643 and table.cells["t3/A/Duration"].censored
    assert table.cells["t3/D/Duration"].value is None and not table.cells["t3/D/Duration"].censored


def test_worst_grade_counts_a_subject_once_at_worst_grade_as_percent_of_population(adam):
    data, subjects = adam
    spec = {
        "title": "Toxicities",
        "dataset": "ADAE",
        "term": "AEDECOD",
        "grade": "ATOXGRN",
        "grades": [1, 2, 3],
        "where": {"TRTEMFL": "Y"},
        "groups": [
            {
                "label": "All",
                "rows": [
                    {"label": "Fatigue", "terms": ["Fatigue"]},
                    {"label": "Neutropenia", "terms": ["Neutropenia"]},
                    {"label": "Chills", "terms": ["Chills"]},
                ],
            }
        ],
    }
    table = worst_grade_table("t4", spec, subjects, data["ADAE"], "USUBJID")
    cells = table.cells
    # Fatigue: S-1 grade 1 then 3 ("FATIGUE" matched ignoring case) -> grade 3 once; S-2 grade 2;
    # S-5 ungraded is not counted; S-7 is outside the population.  N = 6.
    assert [cells[f"t4/Fatigue/Grade {g} (%)"].count for g in (1, 2, 3)] == [0, 1, 1]
    assert cells["t4/Fatigue/Grade 2 (%)"].value == 17  # 1/6 = 16.7
    assert cells["t4/Fatigue/Total"].count == 2 and cells["t4/Fatigue/Total"].value == 33
    # Neutropenia: one grade 3, one grade 4 (not a column, but in the total).
    assert cells["t4/Neutropenia/Grade 3 (%)"].count == 1
    assert (cells["t4/Neutropenia/Total"].count, cells["t4/Neutropenia/Total"].value) == (2, 33)
    assert cells["t4/Chills/Total"].value == 0
    assert table.frame.values.tolist()[:2] == [["All", "", "", "", ""], ["Fatigue", "0", "17", "17", "33"]]
    assert any("Headache" in note for note in table.notes)


def test_listing_column_can_change_unit_for_display(adam):
    data, subjects = adam
    subjects = add_subject_values(
        subjects,
        data,
        {"DUR": {"dataset": "ADTTE", "where": {"PARAMCD": "DURRSD"}, "variable": "AVAL", "reduce": "first"}},
        "USUBJID",
    )
    spec = {
        "title": "T",
        "key": "SUBJID",
        "columns": [{"label": "Weeks", "variable": "DUR", "divide_by": 7, "digits": 1, "missing": "—"}],
    }
    table = listing_table("t", spec, subjects)
    assert table.frame["Weeks"].tolist() == ["234.7", "47.0", "67.9", "—", "—", "14.3"]
    assert table.cells["t/C/Weeks"].value == pytest.approx(475 / 7)
