"""A tiny NCI84-shaped source set (3 patients) to exercise the NCI84 mappings without the full CSVs.

Column names are those of the NCI84 source tables; values are invented and small. ``write_mini``
copies the study's YAML (study.yaml + sdtm/) next to these tables in a temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def _frames() -> dict[str, pd.DataFrame]:
    subjects = pd.DataFrame(
        {
            "subject_id": ["A", "B", "E"],
            "site_id": ["001"] * 3,
            "consent_date": ["2002-10-01", "2002-11-04", "2003-02-03"],
            "birth_date": ["1950-05-20", "1946-12-01", "1962-02-03"],
            "age": ["52", "55", "41"],
            "sex": ["Female", "Male", "Female"],
            "race": ["Not Reported"] * 3,
            "ethnicity": ["Not Reported"] * 3,
            "karnofsky": ["90", "70", "100"],  # B: enrolled below the inclusion (IE, DV records)
            "tumor_type": ["Breast", "Colorectal", "Breast"],
            "her2_ihc": ["3+", "2+", "3+"],
            "metastatic_sites": ["2", "3", "1"],
            "prior_regimens": ["1", "2", "0"],
            "prior_paclitaxel": ["No", "Yes", "No"],
            "lvef": ["60", "58", "65"],
        }
    )
    cohorts = pd.DataFrame(
        {
            "subject_id": ["A", "B", "E"],
            "cohort": ["1", "1", "2"],
            "il12_dose": ["100", "100", "300"],
            "il12_dose_unit": ["ng/kg"] * 3,
            "il12_route": ["IV", "IV", "IV"],
            "assigned_date": ["2002-10-03", "2002-11-05", "2003-02-04"],
        }
    )
    dosing_rows = []
    for subject, start in (("A", "2002-10-07"), ("B", "2002-11-11"), ("E", "2003-02-10")):
        first = pd.Timestamp(start)
        for cycle in (1, 2):
            base = first + pd.Timedelta(days=21 * (cycle - 1))
            for day in (1, 8, 15):
                date = (base + pd.Timedelta(days=day - 1)).strftime("%Y-%m-%d")
                loading = cycle == 1 and day == 1
                dosing_rows.append(
                    [subject, cycle, day, date, "Trastuzumab", 4 if loading else 2, "mg/kg", "IV", "N", ""]
                )
                if day == 1:
                    dosing_rows.append([subject, cycle, day, date, "Paclitaxel", 175, "mg/m2", "IV", "N", ""])
            if cycle == 2:
                for day in (2, 5):
                    date = (base + pd.Timedelta(days=day - 1)).strftime("%Y-%m-%d")
                    reduced = subject == "E" and day == 5
                    dosing_rows.append(
                        [
                            subject,
                            cycle,
                            day,
                            date,
                            "IL-12",
                            150 if reduced else (300 if subject == "E" else 100),
                            "ng/kg",
                            "IV",
                            "Y" if reduced else "N",
                            "Grade 3 fatigue" if reduced else "",
                        ]
                    )
    dosing = pd.DataFrame(
        dosing_rows,
        columns=[
            "subject_id",
            "cycle",
            "cycle_day",
            "admin_date",
            "drug",
            "dose",
            "dose_unit",
            "route",
            "dose_reduced",
            "reduction_reason",
        ],
    ).astype(str)
    adverse_events = pd.DataFrame(
        {
            "subject_id": ["A", "A", "E"],
            "ae_number": ["1", "2", "1"],
            "ae_term": ["Fatigue", "Anaemia", "Generalized fatigue"],
            "ctcae_grade": ["2", "1", "3"],
            "onset_date": ["14-OCT-2002", "28-OCT-2002", "13-MAR-2003"],
            "resolution_date": ["30-OCT-2002", "", "27-MAR-2003"],
            "relationship": ["Probable", "Possible", "Definite"],
            "serious": ["No", "No", "No"],
            "serious_criterion": ["", "", ""],
            "action_taken": ["None", "None", "Drug withdrawn"],
            "dose_limiting": ["No", "No", "Yes"],
            "outcome": ["Recovered/Resolved", "Not recovered/Not resolved", "Recovered/Resolved"],
        }
    )
    tumor = pd.DataFrame(
        {
            "subject_id": ["A", "A", "B", "B", "E"],
            "visit": ["After cycle 1", "After cycle 3", "After cycle 1", "Unscheduled", "After cycle 1"],
            "assessment_date": ["2002-10-26", "2002-12-07", "2002-11-30", "2002-12-20", "2003-03-01"],
            "overall_response": ["SD", "PR", "SD", "PD", "SD"],
            "evaluator": ["Investigator"] * 5,
        }
    )
    # target lesions: baseline on the consent date, then each assessment; sums 50 -> 45 SD -> 34 PR (A),
    # 40 -> 38 SD -> 48 PD (B), 25 -> 24 SD (E)
    lesions = pd.DataFrame(
        {
            "subject_id": ["A"] * 6 + ["B"] * 3 + ["E"] * 2,
            "lesion_id": ["T01", "T02"] * 3 + ["T01"] * 5,
            "visit": ["", "", "After cycle 1", "After cycle 1", "After cycle 3", "After cycle 3"]
            + ["", "After cycle 1", "Unscheduled", "", "After cycle 1"],
            "assessment_date": ["2002-10-01"] * 2
            + ["2002-10-26"] * 2
            + ["2002-12-07"] * 2
            + ["2002-11-04", "2002-11-30", "2002-12-20", "2003-02-03", "2003-03-01"],
            "diameter_mm": ["30", "20", "27", "18", "20", "14", "40", "38", "48", "25", "24"],
            "evaluator": ["Investigator"] * 11,
        }
    )
    best = pd.DataFrame(
        {"subject_id": ["A", "B", "E"], "best_response": ["PR", "PD", "SD"], "evaluator": ["Investigator"] * 3}
    )
    disposition = pd.DataFrame(
        {
            "subject_id": ["A", "B", "E"],
            "eot_date": ["2002-11-25", "2002-12-20", "2003-03-13"],
            "eot_reason": ["Completed", "Progressive disease", "Adverse event"],
            "eos_date": ["2003-01-10", "2003-01-05", "2003-04-01"],
            "eos_reason": ["Completed", "Progressive disease", "Lost to follow-up"],
            "last_contact_date": ["2003-01-10", "2003-01-05", "2003-04-01"],
        }
    )
    labs = pd.DataFrame(
        [
            [
                "A",
                "Cycle 1 Day 1",
                "1",
                "1",
                "2002-10-07T08:00",
                "CYTOKINE",
                "IFN-gamma",
                "<10",
                "pg/mL",
                "",
                "",
                "10",
                "ELISA",
                "",
                "",
                "SERUM",
            ],
            [
                "A",
                "Cycle 2 Day 2",
                "2",
                "2",
                "2002-10-29T08:05",
                "CYTOKINE",
                "IFN-gamma",
                "363",
                "pg/mL",
                "",
                "",
                "10",
                "ELISA",
                "",
                "",
                "SERUM",
            ],
            [
                "A",
                "Cycle 2 Day 2",
                "2",
                "2",
                "2002-10-29T08:05",
                "CYTOKINE",
                "RANTES",
                "",
                "",  # a test not done has no unit, range or LLOQ (SD1637)
                "",
                "",
                "",
                "ELISA",
                "NOT DONE",
                "Sample lost",
                "SERUM",
            ],
            [
                "A",
                "Cycle 1 Day 1",
                "1",
                "1",
                "2002-10-07T08:00",
                "HEMATOLOGY",
                "Hemoglobin",
                "11.2",
                "g/dL",
                "12.0",
                "16.0",
                "",
                "Automated count",
                "",
                "",
                "BLOOD",
            ],
            [
                "A",
                "Cycle 1 Day 8",
                "1",
                "8",
                "2002-10-14T08:00",
                "HEMATOLOGY",
                "WBC",
                "2.5",
                "10^3/uL",
                "4.0",
                "10.0",
                "",
                "Automated count",
                "",
                "",
                "BLOOD",
            ],
            [
                "B",
                "Cycle 1 Day 1",
                "1",
                "1",
                "2002-11-11T09:00",
                "HEMATOLOGY",
                "Platelets",
                "450",
                "10^3/uL",
                "150",
                "400",
                "",
                "Automated count",
                "",
                "",
                "BLOOD",
            ],
            [
                "E",
                "Cycle 1 Day 1",
                "1",
                "1",
                "2003-02-10T08:30",
                "HEMATOLOGY",
                "ANC",
                "0.4",
                "10^3/uL",
                "1.8",
                "7.5",
                "",
                "Automated count",
                "",
                "",
                "BLOOD",
            ],
        ],
        columns=[
            "subject_id",
            "visit",
            "cycle",
            "cycle_day",
            "collection_datetime",
            "category",
            "test",
            "result",
            "unit",
            "ref_low",
            "ref_high",
            "lloq",
            "method",
            "status",
            "reason_not_done",
            "specimen",
        ],
    )
    meddra = pd.DataFrame(
        {
            "ae_term": ["Fatigue", "Anaemia", "Generalized fatigue"],
            "preferred_term": ["Fatigue", "Anaemia", "Fatigue"],
            "pt_code": ["10016256", "10002034", "10016256"],
            "system_organ_class": [
                "General disorders and administration site conditions",
                "Blood and lymphatic system disorders",
                "General disorders and administration site conditions",
            ],
            "soc_code": ["10018065", "10005329", "10018065"],
            "table4_term": ["Fatigue", "Anemia", "Fatigue"],
        }
    )
    return {
        "source/subjects.csv": subjects,
        "source/cohorts.csv": cohorts,
        "source/dosing.csv": dosing,
        "source/adverse_events.csv": adverse_events,
        "source/tumor_assessments.csv": tumor,
        "source/target_lesions.csv": lesions,
        "source/best_response.csv": best,
        "source/disposition.csv": disposition,
        "source/labs.csv": labs,
        "dictionaries/meddra.csv": meddra,
    }


def write_mini(folder: Path) -> Path:
    """A study folder named NCI84 under ``folder``: the real YAML, the mini tables."""
    study = Path(folder) / "mappings" / "NCI84"
    (study / "sdtm").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "mappings" / "NCI84" / "study.yaml", study / "study.yaml")
    for path in (ROOT / "mappings" / "NCI84" / "sdtm").glob("*.yaml"):
        shutil.copy(path, study / "sdtm" / path.name)
    for relative, frame in _frames().items():
        target = study / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(target, index=False, lineterminator="\n")
    # reference data, not study data: the grades CTCAE v3.0 defines per PT (study.yaml dictionaries:)
    shutil.copy(ROOT / "mappings" / "NCI84" / "dictionaries" / "ctcae.csv", study / "dictionaries" / "ctcae.csv")
    return study
