"""VISITNUM / VISIT from the study's visit schedule (SDTMIG 3.4 sections 4.4.5 and TV)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..distinct import by_distinct, factorize, lexical_order
from ..isodates import date_part


def _key(text: pd.Series) -> pd.Series:
    """Visit names compare case- and space-insensitively ("Cycle 2 Day 5" = "CYCLE 2  DAY 5")."""
    return by_distinct(
        text.astype(object),
        lambda values: values.astype(str).str.upper().str.replace(r"\s+", " ", regex=True).str.strip().astype(object),
    )


def planned_visits(visits: dict) -> pd.DataFrame:
    """The planned visits (TV): listed ones plus those generated from a repeating cycle pattern.

    SDTMIG 3.4 section 7.3.1 (Trial Visits): one record per planned visit, with VISITNUM, VISIT,
    VISITDY and the visit start rule TVSTRL (Required). Columns VISITNUM, VISIT, VISITDY, TVSTRL, TVENRL, MATCH (list of accepted source names)."""
    rows = []
    for visit in visits.get("scheduled", []) or []:
        rows.append(
            {
                "VISITNUM": float(visit["VISITNUM"]),
                "VISIT": visit["VISIT"],
                "VISITDY": float(visit["VISITDY"]) if "VISITDY" in visit else np.nan,
                # TVSTRL is Required in TV: a planned day is the rule unless the study states one
                "TVSTRL": visit.get("TVSTRL")
                or (f"Planned study day {visit['VISITDY']}" if "VISITDY" in visit else visit["VISIT"]),
                "TVENRL": visit.get("TVENRL", ""),
                "MATCH": [visit["VISIT"], *visit.get("match", [])],
            }
        )
    cycles = visits.get("cycles")
    if cycles:
        numbering = cycles["visitnum"]
        for cycle in range(1, int(cycles["count"]) + 1):
            days = cycles.get("first_cycle_days") if cycle == 1 and cycles.get("first_cycle_days") else cycles["days"]
            for day in days:
                name = cycles["VISIT"].format(cycle=cycle, day=day)
                rows.append(
                    {
                        "VISITNUM": float(
                            cycle * numbering["cycle"] + day * numbering["day"] + numbering.get("offset", 0)
                        ),
                        "VISIT": name,
                        "VISITDY": float((cycle - 1) * cycles["length"] + day),
                        "TVSTRL": f"Day {day} of cycle {cycle} ({cycles['length']}-day cycles)",
                        "TVENRL": "",
                        "MATCH": [name],
                    }
                )
    schedule = pd.DataFrame(rows, columns=["VISITNUM", "VISIT", "VISITDY", "TVSTRL", "TVENRL", "MATCH"])
    return schedule.sort_values("VISITNUM", kind="mergesort").reset_index(drop=True)


def visit_lookup(schedule: pd.DataFrame) -> pd.DataFrame:
    """One row per accepted source name: KEY -> VISITNUM, VISIT."""
    exploded = schedule[["VISITNUM", "VISIT", "MATCH"]].explode("MATCH")
    exploded["KEY"] = _key(exploded["MATCH"])
    return exploded.drop_duplicates("KEY")[["KEY", "VISITNUM", "VISIT"]]


def assign_visits(
    raw: pd.Series,
    usubjid: pd.Series,
    dtc: pd.Series | None,
    schedule: pd.DataFrame,
    unscheduled: dict | None = None,
    seen: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """VISITNUM and VISIT of each record from the study's visit schedule, matched by visit name
    (case and spacing ignored).

    Unscheduled visits (SDTMIG 3.4 4.4.5: sponsor-defined numbering, chronological within a subject)
    get the VISITNUM of the subject's previous scheduled visit (by date) plus ``increment`` times
    their rank after it, e.g. 301.01, 301.02; VISIT is "UNSCHEDULED <VISITNUM>" unless the study
    says otherwise. The previous visit is sought among this domain's scheduled records and ``seen``
    (USUBJID, WHEN, VISITNUM: the scheduled visits of domains already built), so a tumour scan after
    cycle 4 is numbered after cycle 4's dosing visits, not after the last scan."""
    # Also returned: a mask of source visit names in neither the schedule nor 'unscheduled'.
    # A record's visit follows from its visit name alone: each distinct name is matched once and the
    # match spread back to the records by position.
    unscheduled = unscheduled or {}
    codes, names = factorize(raw, use_na_sentinel=False)
    key = _key(pd.Series(np.asarray(names, dtype=object), dtype=object))
    lookup = visit_lookup(schedule).set_index("KEY")
    matched = pd.DataFrame(
        {
            "VISITNUM": key.map(lookup["VISITNUM"]).astype("float64"),
            "VISIT": key.map(lookup["VISIT"]).fillna("").astype(str),
            "UNSCHEDULED": key.isin(list(_key(pd.Series(unscheduled.get("match", []), dtype=object)))),
        }
    )
    matched["UNKNOWN"] = matched["VISITNUM"].isna() & ~matched["UNSCHEDULED"] & (key != "")
    matched = matched.take(codes).set_axis(raw.index)
    visitnum, is_unscheduled, unknown = matched["VISITNUM"], matched["UNSCHEDULED"], matched["UNKNOWN"]
    result = matched[["VISITNUM", "VISIT"]]
    if is_unscheduled.any():
        increment = float(unscheduled.get("increment", 0.01))
        when = date_part(dtc) if dtc is not None else pd.Series(pd.NaT, index=raw.index)
        anchors = _previous_scheduled(usubjid, when, visitnum, is_unscheduled, seen)
        frame = pd.DataFrame({"USUBJID": usubjid[is_unscheduled], "ANCHOR": anchors, "WHEN": when[is_unscheduled]})
        rank = frame.groupby(["USUBJID", "ANCHOR"], sort=False)["WHEN"].rank(method="dense").fillna(1)
        number = (frame["ANCHOR"] + increment * rank).round(6)
        label = unscheduled.get("VISIT", "UNSCHEDULED {VISITNUM}")
        result.loc[is_unscheduled, "VISITNUM"] = number
        # the label is formatted once per distinct number: unscheduled records repeat their visit
        result.loc[is_unscheduled, "VISIT"] = by_distinct(
            number, lambda distinct: distinct.map(lambda n: label.format(VISITNUM=f"{n:g}")).astype(object)
        ).to_numpy()
    return result, unknown


def planned_study_day(visitnum: pd.Series, schedule: pd.DataFrame) -> pd.Series:
    """VISITDY: the planned study day of the record's visit as the Trial Visits (TV) dataset gives it;
    blank for unscheduled visits, which have no planned day (SDTMIG 3.4 section 4.4.5)."""
    planned = schedule.drop_duplicates("VISITNUM").set_index("VISITNUM")["VISITDY"]
    return visitnum.map(planned).astype("float64")


def scheduled_visits(usubjid: pd.Series, dtc: pd.Series, visitnum: pd.Series) -> pd.DataFrame:
    """USUBJID, WHEN (date) and VISITNUM of a domain's scheduled (whole-numbered) visits: the
    ``seen`` input of :func:`assign_visits` for the domains built after it. A record repeating the one
    before it (the other tests of one lab draw) is left out: it cannot change the visit a subject had
    reached by a date, and millions of lab records shrink to their visits."""
    when = date_part(dtc)
    number = visitnum.to_numpy(dtype="float64")
    # whole numbers (as VISITNUM % 1 == 0: not NaN, not infinite) with a complete date
    kept = np.isfinite(number) & (np.floor(number) == number) & when.notna().to_numpy()
    frame = pd.DataFrame({"USUBJID": usubjid, "WHEN": when, "VISITNUM": visitnum})[kept]
    return frame[~_repeated(frame)]


def _repeated(frame: pd.DataFrame) -> np.ndarray:
    """Records whose USUBJID, WHEN and VISITNUM (none missing) are those of the record before them."""
    repeated = np.zeros(len(frame), dtype=bool)
    for name in ("USUBJID", "WHEN", "VISITNUM"):
        values = frame[name].to_numpy(dtype=object if name == "USUBJID" else None)
        same = values[1:] == values[:-1]
        repeated[1:] = same if name == "USUBJID" else repeated[1:] & same
    return repeated


def _previous_scheduled(usubjid, when, visitnum, is_unscheduled, seen=None) -> pd.Series:
    """The VISITNUM of each unscheduled record's latest scheduled record on or before its date (0 if none)."""
    scheduled = pd.DataFrame({"USUBJID": usubjid, "WHEN": when, "VISITNUM": visitnum})[~is_unscheduled]
    if seen is not None and len(seen):
        scheduled = pd.concat([scheduled, seen[["USUBJID", "WHEN", "VISITNUM"]]], ignore_index=True)
    scheduled = scheduled.dropna(subset=["WHEN", "VISITNUM"])
    # the anchor is the highest number among the subject's records up to a date: a record repeating
    # the one before it (the other tests of one lab draw) cannot change it
    scheduled = scheduled[~_repeated(scheduled)]
    # the visit reached by that date: the highest number seen up to then
    scheduled = scheduled.sort_values(["WHEN"], kind="mergesort")
    # grouped by the subjects' integer codes, not their text (a missing USUBJID is in no group, as before)
    subject = factorize(scheduled["USUBJID"])[0].astype("float64")
    subject[subject < 0] = np.nan
    scheduled["VISITNUM"] = scheduled["VISITNUM"].groupby(subject).cummax()
    pending = pd.DataFrame({"USUBJID": usubjid[is_unscheduled], "WHEN": when[is_unscheduled]})
    pending["_order"] = np.arange(len(pending))
    dated = pending.dropna(subset=["WHEN"]).sort_values("WHEN", kind="mergesort")
    anchors = pd.Series(0.0, index=pending.index)
    if len(dated) and len(scheduled):
        joined = pd.merge_asof(dated.reset_index(), scheduled, on="WHEN", by="USUBJID", direction="backward")
        anchors.loc[joined["index"].to_numpy()] = joined["VISITNUM"].fillna(0.0).to_numpy()
    return anchors


def _text_rank(codes: np.ndarray) -> tuple[np.ndarray, int]:
    """Factorized codes (sorted distinct values, -1 missing) as ranks from 0 with their count."""
    return codes.astype("int64") + 1, int(codes.max(initial=-1)) + 2


def _number_rank(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Numbers as ranks of their sorted distinct values, NaN after them (as np.lexsort orders floats)."""
    codes, distinct = factorize(values, sort=True)
    return np.where(codes < 0, len(distinct), codes), len(distinct) + 1


SV_COLUMNS = ["USUBJID", "VISITNUM", "VISIT", "SVSTDTC", "SVENDTC", "SVUPDES", "SRCTABLE", "SRCROW"]


def visits_seen(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """USUBJID, VISITNUM, VISIT, DTC, SRCTABLE, SRCROW of every dated record with a visit, from each
    domain that has VISITNUM and a --DTC or --STDTC (SV and TV themselves left out)."""
    pieces = []
    for name, frame in sorted(frames.items()):
        if "VISITNUM" not in frame or name in ("SV", "TV"):
            continue
        date = next((c for c in (f"{name}DTC", f"{name}STDTC") if c in frame), None)
        if date is None:
            continue
        part = frame[["USUBJID", "VISITNUM", "VISIT", date, "SRCTABLE", "SRCROW"]].rename(columns={date: "DTC"})
        dated = by_distinct(part["DTC"].astype(str), lambda dtc: dtc.str.len() >= 10)
        pieces.append(part[part["VISITNUM"].notna() & dated])
    if not pieces:
        return pd.DataFrame(columns=["USUBJID", "VISITNUM", "VISIT", "DTC", "SRCTABLE", "SRCROW"])
    return pd.concat(pieces, ignore_index=True)


def subject_visits(frames: dict[str, pd.DataFrame], schedule: pd.DataFrame) -> pd.DataFrame:
    """SV: one record per subject and visit seen in any domain (SDTMIG 3.4 section 5.4)."""
    # SVSTDTC/SVENDTC are the first and last day the visit was seen; VISIT and the lineage come from
    # the visit's first record (by day, then source table and row). The records are put in that order
    # once (one sort of integer codes), so each visit's first and last records are where the
    # (USUBJID, VISITNUM) pair changes: no grouping, no per-subject work.
    seen = visits_seen(frames)
    if seen.empty:
        return pd.DataFrame(columns=[c for c in SV_COLUMNS if c != "SVUPDES"])
    day = by_distinct(seen["DTC"].astype(str), lambda dtc: dtc.str.slice(0, 10))
    subject = factorize(seen["USUBJID"], sort=True)[0]
    visitnum = seen["VISITNUM"].to_numpy(dtype="float64")
    # as np.lexsort of (subject, visitnum, day, SRCTABLE, SRCROW): text codes with missing (-1) first,
    # numbers with NaN last
    keys: list[tuple[np.ndarray, int | None]] = [_text_rank(subject), _number_rank(visitnum)]
    keys += [_text_rank(factorize(day, sort=True)[0]), _text_rank(factorize(seen["SRCTABLE"], sort=True)[0])]
    row = seen["SRCROW"].to_numpy()
    keys.append((row, None) if row.dtype == "int64" else _number_rank(row))
    order = lexical_order([rank for rank, _ in keys], [size for _, size in keys], len(seen))
    subject, visitnum = subject[order], visitnum[order]
    starts = np.ones(len(order), dtype=bool)
    starts[1:] = (subject[1:] != subject[:-1]) | (visitnum[1:] != visitnum[:-1])
    ends = np.roll(starts, -1)
    first, last = order[starts], order[ends]
    sv = pd.DataFrame(
        {
            "USUBJID": seen["USUBJID"].to_numpy()[first],
            "VISITNUM": visitnum[starts],
            "VISIT": seen["VISIT"].to_numpy()[first],
            "SVSTDTC": day.to_numpy()[first],
            "SVENDTC": day.to_numpy()[last],
            "SVUPDES": np.where(np.isin(visitnum[starts], schedule["VISITNUM"]), "", "Unscheduled assessment"),
            "SRCTABLE": seen["SRCTABLE"].to_numpy()[first],
            "SRCROW": seen["SRCROW"].to_numpy()[first],
        }
    )
    return sv[SV_COLUMNS]
