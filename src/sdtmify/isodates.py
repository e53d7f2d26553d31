"""ISO 8601 dates from the forms CRFs and lab transfers hold, including partial dates.

SDTMIG 3.4 section 4.4.2: --DTC is ISO 8601; an unknown day or month is omitted from the right
("2004-03", "2004"), never imputed. Impossible dates (31 February, month 13) are refused with
the row and the value, because a silently dropped date hides a data error."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd

from .distinct import by_distinct

_MONTHS = {
    m: f"{i:02d}"
    for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)
}
_UNKNOWN = r"(?:UN|UK|UNK|--|XX|NK)"
_TIME = r"(?:[T ](?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?)?"

# One regex per accepted input form; each names the parts it captures.
FORMATS = {
    "iso": rf"^(?P<year>\d{{4}})(?:-(?P<month>\d{{2}})(?:-(?P<day>\d{{2}}){_TIME})?)?$",
    "dd-mon-yyyy": rf"^(?P<day>\d{{1,2}}|{_UNKNOWN})-(?P<month>[A-Za-z]{{3}}|{_UNKNOWN})-(?P<year>\d{{4}}){_TIME}$",
    "dd mon yyyy": rf"^(?P<day>\d{{1,2}}|{_UNKNOWN}) (?P<month>[A-Za-z]{{3}}|{_UNKNOWN}) (?P<year>\d{{4}}){_TIME}$",
    "mon-yyyy": r"^(?P<month>[A-Za-z]{3})-(?P<year>\d{4})$",
    "mm/dd/yyyy": rf"^(?P<month>\d{{1,2}}|{_UNKNOWN})/(?P<day>\d{{1,2}}|{_UNKNOWN})/(?P<year>\d{{4}}){_TIME}$",
    "dd/mm/yyyy": rf"^(?P<day>\d{{1,2}}|{_UNKNOWN})/(?P<month>\d{{1,2}}|{_UNKNOWN})/(?P<year>\d{{4}}){_TIME}$",
    "dd.mm.yyyy": rf"^(?P<day>\d{{1,2}}|{_UNKNOWN})\.(?P<month>\d{{1,2}}|{_UNKNOWN})\.(?P<year>\d{{4}}){_TIME}$",
    "yyyymmdd": r"^(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})$",
}
DEFAULT_FORMATS = ("iso", "dd-mon-yyyy", "dd mon yyyy", "mon-yyyy")
_PARTS = ("year", "month", "day", "hour", "minute", "second")


class DateProblem(ValueError):
    """Values that are not dates: ``mask`` marks the offending rows, ``reason`` says why."""

    def __init__(self, mask: pd.Series, reason: str):
        super().__init__(reason)
        self.mask = mask
        self.reason = reason


def _parts(text: pd.Series, formats) -> pd.DataFrame:
    """The date parts of every value, from the first format that matches it ("" where absent)."""
    parts = pd.DataFrame({p: pd.Series("", index=text.index, dtype=object) for p in _PARTS})
    matched = pd.Series(False, index=text.index)
    for name in formats:
        pending = ~matched & (text != "")
        if not pending.any():
            break
        found = text[pending].str.extract(FORMATS[name], flags=0)
        hit = found.notna().any(axis=1) & found.get("year", pd.Series(index=found.index)).notna()
        for part in _PARTS:
            if part in found:
                parts.loc[hit[hit].index, part] = found.loc[hit, part].fillna("").astype(str).to_numpy()
        matched.loc[hit[hit].index] = True
    unmatched = ~matched & (text != "")
    if unmatched.any():
        raise DateProblem(unmatched, f"is not a date in the forms {', '.join(formats)}")
    return parts


def _normalize_month(month: pd.Series) -> pd.Series:
    upper = month.str.upper()
    by_name = upper.map(_MONTHS)
    numeric = upper.where(upper.str.fullmatch(r"\d{1,2}"), "")
    return by_name.fillna(numeric.str.zfill(2).where(numeric != "", ""))


DEFAULT_EARLIEST = "1900-01-01"
DATETIME64_EARLIEST, DATETIME64_LATEST = "1678-01-01", "2261-12-31"
"""Whole years of pandas' datetime64[ns] range: derivations (study day, age) compute with it."""


def default_window(today: dt.date | None = None) -> tuple[str, str]:
    """1900-01-01 to one year after today: the dates a clinical source may plausibly hold. Only ever used
    to refuse values, never to change one, so outputs do not depend on the day of the build."""
    today = today or dt.date.today()
    latest = today.replace(year=today.year + 1) if (today.month, today.day) != (2, 29) else today + dt.timedelta(366)
    return DEFAULT_EARLIEST, latest.isoformat()


def to_iso8601(
    values: pd.Series,
    formats=DEFAULT_FORMATS,
    time: pd.Series | None = None,
    window: tuple[str, str] | None = None,
) -> pd.Series:
    """Convert text dates/datetimes to ISO 8601 text ("" stays ""); partial dates keep what is known.

    Raises DateProblem (with the offending rows) for text in no accepted form, impossible dates and,
    given a ``window`` (earliest, latest as YYYY-MM-DD), dates outside it -- compared at the precision
    the value has, so "2999" is late and "1900-01" is not early. The window also keeps every date a
    derivation later turns into a datetime64 inside its range (years 1678-2261).
    Each distinct value is parsed once: millions of lab records hold far fewer distinct dates."""
    # the values (and times) are hashed as they are; stripping and parsing see the distinct ones only
    value_codes, text = _distinct_text(values)
    if time is None:
        codes = value_codes
        sample, sample_time = text, None
    else:
        time_codes, clock = _distinct_text(time)
        width = max(len(clock), 1)
        codes, pairs = pd.factorize(value_codes.astype(np.int64) * width + time_codes)
        sample = pd.Series(text.to_numpy()[pairs // width], dtype=object)
        sample_time = pd.Series(clock.to_numpy()[pairs % width], dtype=object)
    # values already written as this function writes them need no parsing, only checking
    ready = _already_iso(sample, window) if sample_time is None and "iso" in formats else np.zeros(len(sample), bool)
    parsed = sample.to_numpy(dtype=object, copy=True)
    try:
        if not ready.all():
            rest = sample[~ready].reset_index(drop=True)
            rest_time = None if sample_time is None else sample_time[~ready].reset_index(drop=True)
            parsed[~ready] = _to_iso8601_distinct(rest, formats, rest_time, window).to_numpy(dtype=object)
    except DateProblem as problem:
        bad = np.flatnonzero(~ready)[problem.mask.to_numpy(dtype=bool)]
        raise DateProblem(pd.Series(np.isin(codes, bad), index=values.index), problem.reason) from None
    return pd.Series(parsed[codes], index=values.index, dtype=object).astype(str)


def _already_iso(text: pd.Series, window: tuple[str, str] | None) -> np.ndarray:
    """Which values are complete ISO 8601 dates (with a time to the minute or second, or none) of a real
    calendar day and time, inside ``window``: :func:`to_iso8601` gives those back unchanged."""
    parts = text.str.extract(r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$")
    found = np.array(parts[0].notna(), dtype=bool)
    if not found.any():
        return found
    numbers = parts[found].fillna("0").astype(np.int64)
    ok = _calendar_day(parts[0][found], parts[1][found], parts[2][found])
    ok &= (numbers[3] <= 23) & (numbers[4] <= 59) & (numbers[5] <= 59)
    if window is not None:
        day = text[found].str.slice(0, 10)
        ok &= (day >= window[0][:10]) & (day <= window[1][:10])
    found[found] = ok.to_numpy(dtype=bool)
    return found


def _distinct_text(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Each record's code and the distinct values as stripped text ("" for missing), one hash pass."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    distinct = pd.Series(uniques, dtype=values.dtype) if len(uniques) else pd.Series([], dtype=object)
    text = distinct.astype(str).str.strip().where(distinct.notna(), "")
    return codes, pd.Series(text.to_numpy(dtype=object), dtype=object)


def _to_iso8601_distinct(text: pd.Series, formats, time: pd.Series | None, window=None) -> pd.Series:
    unknown_mask = text.str.upper().str.fullmatch(r"(?:UN|UNK|UK|NK|UNKNOWN)(?:[-/ ](?:UN|UNK|UK|NK|UNKN|UNKNOWN))*")
    text = text.where(~(unknown_mask & (text != "")), "")
    parts = _parts(text, formats)
    year = parts["year"].astype(str)
    month = _normalize_month(parts["month"].astype(str).str.replace(rf"^{_UNKNOWN}$", "", regex=True))
    day_raw = parts["day"].astype(str).str.upper().str.replace(rf"^{_UNKNOWN}$", "", regex=True)
    day = day_raw.where(day_raw == "", day_raw.str.zfill(2))
    if time is not None:
        clock = time
        extra = clock.str.extract(r"^(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?$")
        bad_time = (clock != "") & extra["hour"].isna()
        if bad_time.any():
            raise DateProblem(bad_time, "has a time that is not HH:MM or HH:MM:SS")
        for part in ("hour", "minute", "second"):
            parts[part] = parts[part].where(parts[part] != "", extra[part].fillna(""))
    hour = parts["hour"].astype(str).str.zfill(2).where(parts["hour"] != "", "")
    minute = parts["minute"].astype(str)
    second = parts["second"].astype(str)

    named = parts["month"].astype(str).str.upper().str.replace(rf"^{_UNKNOWN}$", "", regex=True) != ""
    bad_month = ((month != "") & ~month.isin(list(_MONTHS.values()))) | (named & (month == ""))  # e.g. "XYZ"
    if bad_month.any():
        raise DateProblem(bad_month, "has an impossible month")
    if window is not None:
        outside = _outside(year, month, day, *window)
        if outside.any():
            raise DateProblem(outside, f"is outside the plausible dates {window[0]} to {window[1]}")
    full = (year != "") & (month != "") & (day != "")
    impossible = full & ~_calendar_day(year.where(full, "2000"), month.where(full, "01"), day.where(full, "01"))
    if impossible.any():
        raise DateProblem(impossible, "is an impossible date")
    day_without_month = (day != "") & (month == "")
    if day_without_month.any():
        raise DateProblem(day_without_month, "has a day but no month")
    bad_clock = (hour != "") & (
        (hour.replace("", "0").astype(int) > 23)
        | (minute.replace("", "0").astype(int) > 59)
        | (second.replace("", "0").astype(int) > 59)
    )
    if bad_clock.any():
        raise DateProblem(bad_clock, "has an impossible time of day")

    iso = year.copy()
    iso = iso.where(month == "", iso + "-" + month)
    iso = iso.where((month == "") | (day == ""), iso + "-" + day)
    with_time = full & (hour != "")
    iso = iso.where(~with_time, iso + "T" + hour + ":" + minute)
    iso = iso.where(~(with_time & (second != "")), iso + ":" + second)
    return iso.astype(str)


def _calendar_day(year: pd.Series, month: pd.Series, day: pd.Series) -> pd.Series:
    """Whether each (year, month, day) of digit strings is a day of the Gregorian calendar, by arithmetic
    (no datetime64, whose range ends in 2262)."""
    y, m, d = (part.astype(np.int64).to_numpy() for part in (year, month, day))
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(m, 0, 12)] + ((m == 2) & leap)
    return pd.Series((m >= 1) & (m <= 12) & (d >= 1) & (d <= days), index=year.index)


def _outside(year: pd.Series, month: pd.Series, day: pd.Series, earliest: str, latest: str) -> pd.Series:
    """Dates before ``earliest`` or after ``latest``, each compared at its own precision (ISO text sorts
    chronologically at equal length)."""
    known = year.where(month == "", year + "-" + month)
    known = known.where((month == "") | (day == ""), known + "-" + day)
    width = known.str.len()
    outside = pd.Series(False, index=known.index)
    for size in (4, 7, 10):
        same = (width == size) & (year != "")
        outside |= same & ((known < earliest[:size]) | (known > latest[:size]))
    return outside


# date_part's recent columns while remembering_dates() is on: (array, a view holding it, index, dates)
_REMEMBERED: contextvars.ContextVar[list | None] = contextvars.ContextVar("sdtmify_dates", default=None)
_REMEMBER = 4


@contextlib.contextmanager
def remembering_dates() -> Iterator[None]:
    """Within the block, :func:`date_part` gives the dates of a column it parsed lately without parsing it
    again (a build's derivations read the same --DTC for visits, study days, epochs and baseline flags).
    A column is the same when its values are the same array object; the view kept of it makes pandas
    copy, not change, that array if anything writes to the column, so a changed column is never
    taken for the one parsed. The last few columns are kept, and all are let go when the block ends."""
    token = _REMEMBERED.set([])
    try:
        yield
    finally:
        _REMEMBERED.reset(token)


def date_part(dtc: pd.Series) -> pd.Series:
    """The calendar date (datetime64) of complete ISO 8601 dates; NaT for partial or empty ones."""
    remembered = _REMEMBERED.get()
    if remembered is None:
        return _date_part(dtc)
    array = dtc.array
    for position, (seen, _, index, dates) in enumerate(remembered):
        if seen is array and (index is dtc.index or index.equals(dtc.index)):
            remembered.insert(0, remembered.pop(position))
            again = dates.copy(deep=False)
            again.index, again.name = dtc.index, dtc.name
            return again
    dates = _date_part(dtc)
    remembered.insert(0, (array, dtc.copy(deep=False), dtc.index, dates.copy(deep=False)))
    del remembered[_REMEMBER:]
    return dates


def _date_part(dtc: pd.Series) -> pd.Series:
    def parse(values: pd.Series) -> pd.Series:
        text = values.astype(str).str.slice(0, 10)
        return pd.to_datetime(
            text.where(text.str.fullmatch(r"\d{4}-\d{2}-\d{2}"), None), format="%Y-%m-%d", errors="coerce"
        )

    return by_distinct(dtc.astype(object), parse)


def is_complete_date(dtc: pd.Series) -> pd.Series:
    return dtc.astype(str).str.match(r"^\d{4}-\d{2}-\d{2}")


def shift_days(dtc: pd.Series, days: int) -> pd.Series:
    """Complete dates moved by ``days`` (as YYYY-MM-DD); partial dates become ''."""
    moved = date_part(dtc) + pd.Timedelta(days=days)
    return pd.Series(np.where(moved.isna(), "", moved.dt.strftime("%Y-%m-%d")), index=dtc.index, dtype=object).astype(
        str
    )
