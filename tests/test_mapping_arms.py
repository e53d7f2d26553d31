"""Planned and actual arms from the data, ARMNRS for screen failures and subjects not treated, and a
mapped arm that a derivation would contradict (SDTMIG 3.4 DM assumptions 4-6), on the mini NCI84 study."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from sdtmify.errors import InputError
from sdtmify.mapping.engine import build_sdtm
from sdtmify.study import load_study

sys.path.insert(0, str(Path(__file__).parent / "studies"))
from nci84_mini import write_mini

ARM_RULE = (
    "      actual: planned                                  # every dosed patient got the cohort's regimen (EX)\n"
)


def study_with(tmp_path, arm_lines: str = "", variables: str = "", tables: dict | None = None) -> Path:
    study = write_mini(tmp_path)
    dm = study / "sdtm" / "dm.yaml"
    text = dm.read_text()
    assert ARM_RULE in text
    text = text.replace(ARM_RULE, arm_lines or ARM_RULE)
    if variables:
        text = text.replace("derive:\n", variables + "derive:\n", 1)
    dm.write_text(text)
    for name, edit in (tables or {}).items():
        path = study / "source" / f"{name}.csv"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        edit(frame).to_csv(path, index=False)
    return study


def dm_of(study: Path) -> pd.DataFrame:
    frame = build_sdtm(load_study(study)).datasets["DM"].frame
    return frame.set_index("USUBJID")[["ARMCD", "ARM", "ACTARMCD", "ACTARM", "ARMNRS"]]


def test_actual_arm_from_the_data_may_differ_from_the_planned_one(tmp_path):
    def received(frame):
        return frame.assign(received=frame["subject_id"].map({"A": "1", "B": "2", "E": ""}))

    study = study_with(
        tmp_path,
        arm_lines="      actual: {lookup: {source: cohorts, on: subject_id, column: received}}\n",
        tables={"cohorts": received},
    )
    dm = dm_of(study)
    ids = sorted(dm.index)
    a, b, e = (dm.loc[i] for i in ids)
    assert (a["ARMCD"], a["ACTARMCD"], a["ARMNRS"]) == ("IL12IV100", "IL12IV100", "")
    assert (b["ARMCD"], b["ACTARMCD"], b["ARMNRS"]) == ("IL12IV100", "IL12IV300", "")
    assert b["ACTARM"] == "IL-12 300 ng/kg IV + Trastuzumab + Paclitaxel"
    assert (e["ARMCD"], e["ACTARMCD"], e["ACTARM"], e["ARMNRS"]) == ("IL12IV300", "", "", "ASSIGNED, NOT TREATED")


def test_screen_failures_have_no_arm(tmp_path):
    def status(frame):
        return frame.assign(status=frame["subject_id"].map({"A": "", "B": "", "E": "Screen Failure"}))

    study = study_with(
        tmp_path,
        arm_lines=ARM_RULE + "      screen_failure: {column: status, equals: Screen Failure}\n",
        tables={"subjects": status},
    )
    dm = dm_of(study)
    failed = dm.loc[sorted(dm.index)[-1]]
    assert failed.tolist() == ["", "", "", "", "SCREEN FAILURE"]
    assert (dm["ARMNRS"] == "").sum() == 2


def test_assigned_but_not_treated(tmp_path):
    def without_e(frame):
        return frame[frame["subject_id"] != "E"]

    study = study_with(tmp_path, tables={"dosing": without_e})
    dm = dm_of(study)
    e = dm.loc[sorted(dm.index)[-1]]
    assert (e["ARMCD"], e["ACTARMCD"], e["ARMNRS"]) == ("IL12IV300", "", "ASSIGNED, NOT TREATED")


def test_a_mapped_actual_arm_is_never_silently_overwritten(tmp_path):
    study = study_with(tmp_path, variables="  ACTARMCD: {constant: IL12SC200}\n")
    text = (study / "sdtm" / "dm.yaml").read_text()
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if "ACTARMCD: {constant" in row)
    with pytest.raises(InputError) as info:
        build_sdtm(load_study(study))
    assert str(info.value) == (
        f"mappings/NCI84/sdtm/dm.yaml:{line} ACTARMCD: mapped value 'IL12SC200' (row 1) differs from the "
        f"derived 'IL12IV100'; map ACTARMCD or derive it, not both"
    )


def unplanned_study(tmp_path, unplanned: str, variables: str = "") -> Path:
    def received(frame):
        return frame.assign(
            received=frame["subject_id"].map({"A": "1", "B": "Trastuzumab alone", "E": ""}),
            why=frame["subject_id"].map({"A": "", "B": "Paclitaxel withheld; trastuzumab only", "E": ""}),
        )

    return study_with(
        tmp_path,
        arm_lines="      actual: {lookup: {source: cohorts, on: subject_id, column: received}}\n" + unplanned,
        tables={"cohorts": received},
        variables=variables,
    )


def test_an_unplanned_treatment_has_no_actual_arm_and_is_described(tmp_path):
    study = unplanned_study(tmp_path, "      unplanned: true\n")
    built = build_sdtm(load_study(study)).datasets["DM"].frame.set_index("USUBJID")
    a, b, e = (built.loc[i] for i in sorted(built.index))
    assert (b["ARMCD"], b["ACTARMCD"], b["ACTARM"]) == ("IL12IV100", "", "")
    assert (b["ARMNRS"], b["ACTARMUD"]) == ("UNPLANNED TREATMENT", "Trastuzumab alone")
    assert (a["ACTARMCD"], a["ARMNRS"], a["ACTARMUD"]) == ("IL12IV100", "", "")
    assert (e["ACTARMCD"], e["ARMNRS"], e["ACTARMUD"]) == ("", "ASSIGNED, NOT TREATED", "")


def test_the_unplanned_treatment_description_may_come_from_its_own_column(tmp_path):
    study = unplanned_study(tmp_path, "      unplanned: {lookup: {source: cohorts, on: subject_id, column: why}}\n")
    dm = build_sdtm(load_study(study)).datasets["DM"]
    b = dm.frame.set_index("USUBJID").loc[sorted(dm.frame["USUBJID"])[1]]
    assert (b["ARMNRS"], b["ACTARMUD"]) == ("UNPLANNED TREATMENT", "Paclitaxel withheld; trastuzumab only")


def test_an_actual_arm_matching_no_arm_is_an_error_unless_declared_unplanned(tmp_path):
    study = unplanned_study(tmp_path, "")
    with pytest.raises(InputError) as info:
        build_sdtm(load_study(study))
    assert "actual arm 'Trastuzumab alone' (row 2) matches no arm" in str(info.value)
    assert "declare 'unplanned:'" in str(info.value)


def test_a_mapped_actarmud_that_differs_from_the_derived_one_is_an_error(tmp_path):
    study = unplanned_study(tmp_path, "      unplanned: true\n", variables="  ACTARMUD: {constant: Something else}\n")
    with pytest.raises(InputError) as info:
        build_sdtm(load_study(study))
    assert "ACTARMUD: mapped value 'Something else' (row 1) differs from the derived ''" in str(info.value)
