"""ARMCD/ARM and ACTARMCD/ACTARM, and ARMNRS when they are null (SDTMIG 3.4 DM, assumptions 4-6)."""

from __future__ import annotations

import pandas as pd

# ARMNRS values: CT codelist ARMNULRS (C142179)
SCREEN_FAILURE = "SCREEN FAILURE"
NOT_ASSIGNED = "NOT ASSIGNED"
ASSIGNED_NOT_TREATED = "ASSIGNED, NOT TREATED"
UNPLANNED_TREATMENT = "UNPLANNED TREATMENT"


def planned_arm(assigned: pd.Series, arms: list[dict]) -> tuple[pd.DataFrame, pd.Series]:
    """ARMCD and ARM from the assigned arm as the source holds it (an ARMCD or a listed ``match`` value).

    SDTMIG 3.4 DM assumption 4: ARMCD/ARM are the planned arm, taken from the Trial Arms (TA)
    dataset of the trial design; an assignment that matches no arm is an input error. Returns the two columns and a mask of assignments that match no arm of the trial design."""
    key = assigned.astype(str).str.strip().str.upper()
    codes, names = {}, {}
    for arm in arms:
        for value in [arm["ARMCD"], *arm.get("match", [])]:
            codes[str(value).strip().upper()] = arm["ARMCD"]
        names[arm["ARMCD"]] = arm["ARM"]
    armcd = key.map(codes)
    unknown = armcd.isna() & (key != "")
    armcd = armcd.fillna("").astype(str)
    arm = armcd.map(names).fillna("").astype(str)
    return pd.DataFrame({"ARMCD": armcd, "ARM": arm}, index=assigned.index), unknown


def actual_arm_as_planned(armcd: pd.Series, arm: pd.Series, treated: pd.Series) -> pd.DataFrame:
    """ACTARMCD/ACTARM = the planned arm for treated subjects; null with ARMNRS "ASSIGNED, NOT TREATED"
    for assigned subjects who were not treated.

    SDTMIG 3.4 DM assumption 5: when a subject was not treated, ACTARMCD and ACTARM are null and
    ARMNRS gives the reason. Used when the DM mapping declares ``arm: {actual: planned}``: the
    study states that every treated subject received the regimen of the assigned arm."""
    return pd.DataFrame(
        {
            "ACTARMCD": armcd.where(treated, ""),
            "ACTARM": arm.where(treated, ""),
            "ARMNRS": pd.Series("", index=armcd.index).where(treated | (armcd == ""), ASSIGNED_NOT_TREATED),
        },
        index=armcd.index,
    ).astype(str)


def actual_arm_from_data(armcd: pd.Series, actual: pd.DataFrame) -> pd.DataFrame:
    """ACTARMCD/ACTARM as the data record the treatment received (``actual``: ARMCD and ARM of the
    actual arm, matched against the trial design like the planned one); null with ARMNRS
    "ASSIGNED, NOT TREATED" for assigned subjects with no actual arm.

    SDTMIG 3.4 DM assumptions 4-5: the actual arm may differ from the planned one; it is null only
    when the subject was not treated, and ARMNRS then says why."""
    return pd.DataFrame(
        {
            "ACTARMCD": actual["ARMCD"],
            "ACTARM": actual["ARM"],
            "ARMNRS": pd.Series("", index=armcd.index).where(
                (actual["ARMCD"] != "") | (armcd == ""), ASSIGNED_NOT_TREATED
            ),
        },
        index=armcd.index,
    ).astype(str)


def unplanned_treatment(arms: pd.DataFrame, unplanned: pd.Series, description: pd.Series) -> pd.DataFrame:
    """Subjects whose actual treatment matches no planned arm: ACTARMCD and ACTARM null, ARMNRS
    "UNPLANNED TREATMENT" and ACTARMUD describing the treatment received.

    SDTMIG 3.4 DM assumption 4a: ACTARMCD/ACTARM are taken from the Trial Arms dataset or are null;
    when ARMNRS is "UNPLANNED TREATMENT", ACTARMUD describes the unplanned treatment. ``arms`` holds
    ARMCD, ARM, ACTARMCD, ACTARM, ARMNRS as derived so far; ``unplanned`` marks the subjects,
    ``description`` gives their ACTARMUD."""
    out = arms.copy()
    for column in ("ACTARMCD", "ACTARM"):
        out[column] = out[column].where(~unplanned, "")
    out["ARMNRS"] = out["ARMNRS"].where(~unplanned, UNPLANNED_TREATMENT)
    out["ACTARMUD"] = description.astype(str).str.strip().where(unplanned, "")
    return out.astype(str)


def arm_null_reason(arms: pd.DataFrame, screen_failure: pd.Series) -> pd.DataFrame:
    """Screen failures and subjects never assigned: ARMCD, ARM, ACTARMCD and ACTARM null, ARMNRS
    "SCREEN FAILURE" or "NOT ASSIGNED" (SDTMIG 3.4 DM assumption 6 and CT ARMNULRS).

    ``arms`` holds ARMCD, ARM, ACTARMCD, ACTARM, ARMNRS as derived so far; a screen failure is
    never placed in an arm, whatever the assignment table says."""
    out = arms.copy()
    for column in ("ARMCD", "ARM", "ACTARMCD", "ACTARM"):
        out[column] = out[column].where(~screen_failure, "")
    reason = out["ARMNRS"].where(out["ARMCD"] != "", NOT_ASSIGNED)
    out["ARMNRS"] = reason.where(~screen_failure, SCREEN_FAILURE)
    return out.astype(str)
