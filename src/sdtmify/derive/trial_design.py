"""Trial design datasets TA, TE, TV from study.yaml, and SE from the subjects' data (SDTMIG 3.4 ch. 7 and 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def trial_elements(design: dict) -> pd.DataFrame:
    """TE: one record per planned element (SDTMIG 3.4 section 7.3.2)."""
    rows = [
        {
            "ETCD": e["ETCD"],
            "ELEMENT": e["ELEMENT"],
            "TESTRL": e["TESTRL"],
            "TEENRL": e.get("TEENRL", ""),
            "TEDUR": e.get("TEDUR", ""),
        }
        for e in design["elements"]
    ]
    return pd.DataFrame(rows, columns=["ETCD", "ELEMENT", "TESTRL", "TEENRL", "TEDUR"])


def trial_arms(design: dict) -> pd.DataFrame:
    """TA: one record per planned element per arm, TAETORD in arm order (SDTMIG 3.4 section 7.2.1)."""
    elements = {e["ETCD"]: e for e in design["elements"]}
    rows = []
    for arm in design["arms"]:
        for order, etcd in enumerate(arm["elements"], start=1):
            rows.append(
                {
                    "ARMCD": arm["ARMCD"],
                    "ARM": arm["ARM"],
                    "TAETORD": float(order),
                    "ETCD": etcd,
                    "ELEMENT": elements[etcd]["ELEMENT"],
                    "TABRANCH": (arm.get("branch") or {}).get(etcd, ""),
                    "TATRANS": (arm.get("transition") or {}).get(etcd, ""),
                    "EPOCH": elements[etcd]["EPOCH"],
                }
            )
    return pd.DataFrame(rows, columns=["ARMCD", "ARM", "TAETORD", "ETCD", "ELEMENT", "TABRANCH", "TATRANS", "EPOCH"])


def trial_visits(schedule: pd.DataFrame) -> pd.DataFrame:
    """TV: one record per planned visit, for all arms (ARMCD blank) (SDTMIG 3.4 section 7.3.1)."""
    frame = schedule[["VISITNUM", "VISIT", "VISITDY", "TVSTRL", "TVENRL"]].copy()
    frame.insert(2, "ARMCD", "")
    return frame


def subject_elements(dm: pd.DataFrame, design: dict, element_starts: dict[str, pd.Series]) -> pd.DataFrame:
    """SE: the elements each subject actually passed through, with start and end dates (SDTMIG 3.4 5.3).

    Each element starts on the date its rule in study.yaml gives for the subject; a subject's
    elements follow the arm's order; an element never started is skipped; each element ends when
    the next one starts, the last one at RFPENDTC (end of participation)."""
    arms = trial_arms(design)
    plan = dm[["USUBJID", "ACTARMCD", "RFPENDTC"]].merge(
        arms[["ARMCD", "TAETORD", "ETCD", "ELEMENT", "EPOCH"]], left_on="ACTARMCD", right_on="ARMCD", how="inner"
    )
    start = pd.Series("", index=plan.index, dtype=object)
    for etcd, dates in element_starts.items():
        here = plan["ETCD"] == etcd
        start.loc[here] = plan.loc[here, "USUBJID"].map(dates).fillna("").to_numpy()
    plan["SESTDTC"] = start.astype(str)
    plan = plan[plan["SESTDTC"] != ""].sort_values(["USUBJID", "TAETORD"], kind="mergesort")
    following = plan.groupby("USUBJID")["SESTDTC"].shift(-1)
    plan["SEENDTC"] = np.where(following.isna(), plan["RFPENDTC"], following)
    plan["SEUPDES"] = ""
    return plan[["USUBJID", "ETCD", "ELEMENT", "TAETORD", "EPOCH", "SESTDTC", "SEENDTC", "SEUPDES"]].reset_index(
        drop=True
    )
