"""Hostile duplicates: keys repeated in YAML, source rows sharing their declared keys, a column named twice,
two mappings of a domain, lookups that are not unique, repeated records in datasets."""

from __future__ import annotations

import shutil
from pathlib import Path

from inputs_support import (  # noqa: F401
    STUDY_END,
    Case,
    append,
    check,
    convert,
    inputs_project,
    json_file,
    mini_output,
    params,
    study_line,
    sub,
)

STUDY_YAML = "mappings/MINI/study.yaml"
AE_YAML = "mappings/MINI/sdtm/ae.yaml"


def _add_row(relative: str, line: str):
    return append(relative, line + "\n")


def _copy_mapping(root: Path) -> None:
    shutil.copy(root / "mappings/MINI/sdtm/ae.yaml", root / "mappings/MINI/sdtm/ae_copy.yaml")


def _twice(name: str):
    def change(document):
        document["columns"].append(dict(next(c for c in document["columns"] if c["name"] == name)))
        for row in document["rows"]:
            row.append(row[[c["name"] for c in document["columns"]].index(name)])

    return change


CASES = [
    Case(
        "top-level-key-twice",
        append("study.yaml", "study: {studyid: OTHER}\n"),
        (f"{STUDY_YAML}:{STUDY_END + 1}", "duplicate key 'study'"),
    ),
    Case(
        "variable-twice-in-a-mapping",
        sub("sdtm/ae.yaml", "variables:\n", "variables:\n  AETERM: {column: ae_term}\n"),
        (f"{AE_YAML}:8", "duplicate key 'AETERM'"),
    ),
    Case(
        "source-declared-twice",
        sub("study.yaml", "  cohorts:", "  subjects:          {file: source/cohorts.csv}\n  cohorts:"),
        (f"{STUDY_YAML}:{study_line('  cohorts:')}", "duplicate key 'subjects'"),
        process=True,
    ),
    Case(
        "key-twice-in-a-flow-mapping",
        sub("study.yaml", "{file: source/cohorts.csv,", "{file: source/cohorts.csv, file: source/subjects.csv,"),
        (f"{STUDY_YAML}:{study_line('  cohorts:')}", "duplicate key 'file'"),
    ),
    Case(
        "subject-entered-twice",
        _add_row(
            "source/subjects.csv",
            "A,001,2002-10-01,1950-05-20,52,Female,Not Reported,Not Reported,90,Breast,3+,2,1,No,60",
        ),
        (
            f"{STUDY_YAML}:{study_line('  subjects:')} sources.subjects.keys",
            "rows 1, 4 of source 'subjects' share their keys (subject_id='A')",
        ),
    ),
    Case(
        "adverse-event-entered-twice",
        sub("source/adverse_events.csv", "A,2,Anaemia", "A,1,Anaemia"),
        (
            f"{STUDY_YAML}:{study_line('  adverse_events:')} sources.adverse_events.keys",
            "rows 1, 2 of source 'adverse_events'",
            "ae_number='1'",
        ),
    ),
    Case(
        "lab-result-entered-twice",
        _add_row(
            "source/labs.csv",
            "B,Cycle 1 Day 1,1,1,2002-11-11T09:00,HEMATOLOGY,Platelets,451,10^3/uL,150,400,,Automated count,,,BLOOD",
        ),
        (f"{STUDY_YAML}:{study_line('  labs:')} sources.labs.keys", "rows 6, 8 of source 'labs'", "test='Platelets'"),
    ),
    Case(
        "declared-key-column-missing",
        sub("study.yaml", "keys: [subject_id, ae_number]", "keys: [subject_id, ae_num]"),
        (
            f"{STUDY_YAML}:{study_line('  adverse_events:')} sources.adverse_events.keys",
            "key column 'ae_num' of source 'adverse_events'",
        ),
    ),
    Case(
        "cohort-assigned-twice",
        _add_row("source/cohorts.csv", "A,2,300,ng/kg,IV,2002-10-03"),
        ("mappings/MINI/sdtm/dm.yaml:17", "rows 1, 4 of source 'cohorts' share their keys"),
    ),
    Case(
        "dictionary-term-coded-twice",
        _add_row(
            "dictionaries/meddra.csv",
            "Fatigue,Asthenia,10003549,General disorders and administration site conditions,10018065,Fatigue",
        ),
        (
            f"{STUDY_YAML}:{study_line('  meddra:  ')} sources.meddra.keys",
            "rows 1, 4 of source 'meddra'",
            "ae_term='Fatigue'",
        ),
    ),
    Case(
        "column-named-twice-in-a-source",
        sub("source/subjects.csv", "subject_id,site_id", "subject_id,subject_id"),
        ("source/subjects.csv:1", "names column 'subject_id' more than once"),
    ),
    Case(
        "domain-mapped-by-two-files",
        _copy_mapping,
        ("mappings/MINI/sdtm/ae_copy.yaml:2 domain", "domain AE is mapped in 'ae_copy.yaml'"),
    ),
    Case(
        "visit-number-twice",
        sub("study.yaml", "{VISITNUM: 350, VISIT: AFTER CYCLE 3", "{VISITNUM: 150, VISIT: AFTER CYCLE 3"),
        ("TV: 2 records share their keys", "study.yaml row 4, study.yaml row 5"),
    ),
    Case(
        "dataset-json-column-twice",
        json_file("ae.json", _twice("AETERM")),
        ("data/ae.json", "column 'AETERM' is declared more than once"),
        args=convert("ae.json", "ae.xpt"),
    ),
]


@params(CASES)
def test_hostile_duplicates(inputs_project, mini_output, case):  # noqa: F811
    check(inputs_project, mini_output, case)
