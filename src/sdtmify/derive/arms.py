"""ARMCD/ARM and ACTARMCD/ACTARM (SDTMIG 3.4 DM, section 5.2 assumptions 4-6)."""

from __future__ import annotations

import pandas as pd


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
    """ACTARMCD/ACTARM = the planned arm for treated subjects; null with ARMNRS "NOT TREATED" otherwise.

    SDTMIG 3.4 DM assumption 5: when a subject was not treated, ACTARMCD and ACTARM are null and
    ARMNRS gives the reason. Used when the DM mapping declares ``arm: {actual: planned}``: the
    study states that every treated subject received the regimen of the assigned arm."""
    return pd.DataFrame(
        {
            "ACTARMCD": armcd.where(treated, ""),
            "ACTARM": arm.where(treated, ""),
            "ARMNRS": pd.Series("", index=armcd.index).where(treated | (armcd == ""), "NOT TREATED"),
        },
        index=armcd.index,
    ).astype(str)
