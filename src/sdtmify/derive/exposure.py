"""EX records as constant-dosing intervals (SDTMIG 3.4 EX: one record per constant dosing interval)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..isodates import date_part


def constant_dose_intervals(
    frame: pd.DataFrame, by: list[str], start: str, end: str, gap_days: int = 1, within: list[str] | None = None
) -> tuple[pd.Index, pd.Series, pd.Series]:
    """Consecutive dosing records of a subject's treatment (``within``, default the first ``by``
    variable) with the same values of ``by`` (dose, unit, route, frequency...) become one record of
    a constant dosing interval, from the first start to the last end, when each starts at most
    ``gap_days`` after the interval so far ends (SDTMIG 3.4 EX: "one record per constant dosing
    interval per subject"); a change of any ``by`` value starts a new interval. Records with a
    partial or missing start date are never merged. Returns the records kept (the first of each
    interval, so its lineage names the first source row) and their new start and end date/times."""
    within = list(within or by[:1])
    begins = date_part(frame[start])
    ends = date_part(frame[end]).fillna(begins)
    keys = frame[list(dict.fromkeys(["USUBJID", *within, *by]))].astype(str)
    order = keys.assign(_begin=begins, _end=ends, _position=np.arange(len(frame)))
    order = order.sort_values(["USUBJID", *within, "_begin", "_position"], kind="mergesort")
    stream = order[["USUBJID", *within]]
    values = order[list(dict.fromkeys(["USUBJID", *within, *by]))]
    same_run = (values == values.shift()).all(axis=1) & (stream == stream.shift()).all(axis=1)
    run = (~same_run).cumsum()
    # the latest end so far within the run of equal values (records are in start order)
    previous_reach = order.groupby(run, sort=False)["_end"].cummax().shift().where(same_run)
    gap = (order["_begin"] - previous_reach).dt.days
    continues = same_run & order["_begin"].notna() & gap.notna() & (gap <= gap_days)
    interval = pd.Series((~continues).cumsum().to_numpy(), index=order.index)
    latest = order["_end"].groupby(interval).transform("max")
    last_end_row = order.index.to_series().where(order["_end"] == latest).groupby(interval).transform("last")
    kept = order.index[~continues.to_numpy()]
    new_start = frame.loc[kept, start]  # the kept record is the first of its interval
    end_source = last_end_row.loc[kept].fillna(pd.Series(kept, index=kept))
    new_end = frame.loc[end_source.astype(int).to_numpy(), end].set_axis(kept)
    ordered = pd.Index(sorted(kept))
    return ordered, new_start.loc[ordered].astype(str), new_end.loc[ordered].astype(str)
