"""``iso8601``: dates and datetimes in the forms a CRF or an EDC export holds, to ISO 8601.

Forms (``formats``, tried in order for every value) are built-in names (``dd-mon-yyyy``...), SAS
informat names (``DATE9``, ``MMDDYY10``, ``E8601DT``...), strftime patterns (``%d/%m/%Y %H:%M``)
or ``excel`` (serial day numbers of Excel's 1900 date system). A separate clock-time column joins
the date with ``time:``. Unknown parts (UN, UNK, UK, NK, --) keep the date partial.

Two-digit years (``DATE7``, ``MMDDYY8``, ``%y``...) are read only with a declared ``year_cutoff``
(SAS YEARCUTOFF semantics: the first year of the 100-year span they fall in), on the field or
study-wide in study.yaml ``dates: year_cutoff:``; there is no silent default century."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ... import isodates, yamlio
from ...errors import Location, MappingError
from ..context import MappingContext
from .base import Algorithm, as_text, register

_UNKNOWN = r"(?:UNK|UN|UK|NK|--|XX)"
_DAY = rf"(?P<day>\d{{1,2}}|{_UNKNOWN})"
_MONTH_NUMBER = rf"(?P<month>\d{{1,2}}|{_UNKNOWN})"
_MONTH_NAME = rf"(?P<month>[A-Za-z]{{3}}|{_UNKNOWN})"
_YEAR = r"(?P<year>\d{4})"
_YY = r"(?P<yy>\d{2})"  # a two-digit year: its century comes from the declared year_cutoff
_SEP = r"[-/. ]"
_CLOCK = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?"

# SAS informat names (their width is part of the name, as in SAS) as regular expressions.
SAS_FORMATS = {
    "DATE9": rf"^{_DAY}{_MONTH_NAME}{_YEAR}$",
    "DATE11": rf"^{_DAY}-{_MONTH_NAME}-{_YEAR}$",
    "DATETIME20": rf"^{_DAY}{_MONTH_NAME}{_YEAR}:{_CLOCK}$",
    "DDMMYY10": rf"^{_DAY}{_SEP}{_MONTH_NUMBER}{_SEP}{_YEAR}$",
    "MMDDYY10": rf"^{_MONTH_NUMBER}{_SEP}{_DAY}{_SEP}{_YEAR}$",
    "YYMMDD10": rf"^{_YEAR}{_SEP}{_MONTH_NUMBER}{_SEP}{_DAY}$",
    "MONYY7": rf"^{_MONTH_NAME}{_YEAR}$",
    "DATE7": rf"^{_DAY}{_MONTH_NAME}{_YY}$",
    "DDMMYY8": rf"^{_DAY}{_SEP}{_MONTH_NUMBER}{_SEP}{_YY}$",
    "MMDDYY8": rf"^{_MONTH_NUMBER}{_SEP}{_DAY}{_SEP}{_YY}$",
    "YYMMDD8": rf"^{_YY}{_SEP}{_MONTH_NUMBER}{_SEP}{_DAY}$",
    "DDMMYY6": r"^(?P<day>\d{2})(?P<month>\d{2})(?P<yy>\d{2})$",
    "MMDDYY6": r"^(?P<month>\d{2})(?P<day>\d{2})(?P<yy>\d{2})$",
    "YYMMDD6": r"^(?P<yy>\d{2})(?P<month>\d{2})(?P<day>\d{2})$",
    "MONYY5": rf"^{_MONTH_NAME}{_YY}$",
    "YEAR4": rf"^{_YEAR}$",
    "E8601DA": r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})$",
    "E8601DT": r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})T(?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:\.\d+)?)?$",
}
EXCEL = "excel"

# strftime directives a pattern may use, as regular expressions.
_DIRECTIVES = {
    "Y": _YEAR,
    "y": _YY,
    "m": _MONTH_NUMBER,
    "d": _DAY,
    "b": _MONTH_NAME,
    "H": r"(?P<hour>\d{1,2})",
    "M": r"(?P<minute>\d{2})",
    "S": r"(?P<second>\d{2})",
    "%": "%",
}
_MONTHS = {
    m: i for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)
}
_PARTS = ("year", "month", "day", "hour", "minute", "second")


def strftime_regex(pattern: str) -> str:
    """A strftime pattern (``%d-%b-%Y``) as a regular expression with named parts.

    Raises ValueError naming a directive this language does not read."""
    out, i = ["^"], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "%":
            directive = pattern[i + 1 : i + 2]
            if directive not in _DIRECTIVES:
                raise ValueError(f"'%{directive}' is not a directive sdtmify reads (use %Y %y %m %d %b %H %M %S)")
            out.append(_DIRECTIVES[directive])
            i += 2
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out) + "$"


def two_digit_year(name: str) -> bool:
    """Whether a form reads the year as two digits (its century then needs a ``year_cutoff``)."""
    regex = form_regex(name)
    return regex is not None and "(?P<yy>" in regex


def full_year(yy: pd.Series, cutoff: int) -> pd.Series:
    """Four-digit years from two-digit ones, SAS YEARCUTOFF semantics: the year falls in the 100
    years from ``cutoff`` to ``cutoff + 99`` (cutoff 1926: "25" -> 2025, "26" -> 1926)."""
    number = pd.to_numeric(yy, errors="coerce")
    year = cutoff // 100 * 100 + number
    year = year.where(year >= cutoff, year + 100)
    return year.astype("Int64").astype(str).astype(object).where(number.notna(), None)


def form_regex(name: str) -> str | None:
    """The regular expression of a form name (None for ``excel``, which is numeric)."""
    if name in isodates.FORMATS:
        return isodates.FORMATS[name]
    if name in SAS_FORMATS:
        return SAS_FORMATS[name]
    if name == EXCEL:
        return None
    return strftime_regex(name)


def _excel_parts(text: pd.Series) -> pd.DataFrame:
    """Date parts of Excel 1900-system serial numbers (1 = 1900-01-01).

    Excel counts a 29 February 1900 that never was (serial 60): serials from 61 on are one day
    ahead of the calendar, and 60 itself is refused."""
    serial = pd.to_numeric(text.where(text.str.fullmatch(r"\d+(?:\.\d+)?"), None), errors="coerce")
    days = np.floor(serial)
    if ((days == 60) | (days < 1)).any():
        bad = (days == 60) | (days < 1)
        raise isodates.DateProblem(
            pd.Series(bad.to_numpy(), index=text.index), "is no Excel date (serial 60 is Excel's invented 1900-02-29)"
        )
    base = np.where(days > 60, np.datetime64("1899-12-30"), np.datetime64("1899-12-31"))
    stamp = pd.Series(base, index=text.index) + pd.to_timedelta(days.fillna(0), unit="D")
    seconds = ((serial - days) * 86400).round().fillna(0).astype("int64")
    parts = pd.DataFrame(index=text.index)
    parts["year"] = stamp.dt.strftime("%Y")
    parts["month"] = stamp.dt.strftime("%m")
    parts["day"] = stamp.dt.strftime("%d")
    timed = seconds > 0
    parts["hour"] = np.where(timed, (seconds // 3600).astype(str).str.zfill(2), "")
    parts["minute"] = np.where(timed, (seconds % 3600 // 60).astype(str).str.zfill(2), "")
    second = seconds % 60
    parts["second"] = np.where(timed & (second > 0), second.astype(str).str.zfill(2), "")
    return parts.where(serial.notna(), None)


def _parts(text: pd.Series, formats, year_cutoff: int | None = None) -> pd.DataFrame:
    """The date parts of each value from the first form it matches; DateProblem for the rest."""
    parts = pd.DataFrame({p: pd.Series("", index=text.index, dtype=object) for p in _PARTS})
    matched = text == ""
    for name in formats:
        pending = ~matched
        if not pending.any():
            break
        regex = form_regex(name)
        found = _excel_parts(text[pending]) if regex is None else text[pending].str.extract(regex, flags=re.IGNORECASE)
        if "yy" in found:  # checked up front: a two-digit form is used only with a declared cutoff
            found["year"] = full_year(found.pop("yy"), int(year_cutoff or 0))
        hit = found.notna().any(axis=1)
        if "year" in found:
            hit &= found["year"].notna()
        rows = hit[hit].index
        for part in _PARTS:
            if part in found:
                parts.loc[rows, part] = found.loc[rows, part].fillna("").astype(str).to_numpy()
        matched.loc[rows] = True
    if (~matched).any():
        raise isodates.DateProblem(~matched, f"is not a date in the forms {', '.join(formats)}")
    return parts


def _clock_parts(clock: pd.Series) -> pd.DataFrame:
    found = clock.str.extract(r"^(?P<hour>\d{1,2}):?(?P<minute>\d{2})(?::?(?P<second>\d{2}))?$")
    bad = (clock != "") & found["hour"].isna()
    if bad.any():
        raise isodates.DateProblem(bad, "has a time that is not HH:MM, HH:MM:SS or HHMM")
    return found.fillna("")


def parse_dates(
    values: pd.Series,
    formats,
    time: pd.Series | None = None,
    window: tuple[str, str] | None = None,
    year_cutoff: int | None = None,
) -> pd.Series:
    """ISO 8601 text of each value (SDTMIG 3.4 section 4.4.2: partial dates keep only their known
    parts, nothing is imputed); DateProblem (with the rows) for values in no form or impossible dates.

    Two-digit years fall in the 100 years from ``year_cutoff`` on (see :func:`full_year`).
    Each distinct value is parsed once."""
    text = values.astype(str).str.strip().where(values.notna(), "")
    clock = None if time is None else time.astype(str).str.strip().where(time.notna(), "")
    key = text if clock is None else text + "\x00" + clock
    codes, distinct = pd.factorize(key, sort=False)
    if not len(distinct):
        return pd.Series("", index=values.index, dtype=object).astype(str)
    first = pd.Series(np.arange(len(key))).groupby(codes).first().to_numpy()
    sample = pd.Series(text.to_numpy()[first], dtype=object)
    sample_clock = None if clock is None else pd.Series(clock.to_numpy()[first], dtype=object)
    try:
        parsed = _canonical(sample, formats, sample_clock, year_cutoff)
        iso = isodates.to_iso8601(parsed, ("iso",), window=window)
    except isodates.DateProblem as problem:
        bad = np.flatnonzero(problem.mask.to_numpy())
        raise isodates.DateProblem(pd.Series(np.isin(codes, bad), index=values.index), problem.reason) from None
    return pd.Series(iso.to_numpy()[codes], index=values.index, dtype=object).astype(str)


def _canonical(text: pd.Series, formats, clock: pd.Series | None, year_cutoff: int | None = None) -> pd.Series:
    """The parts of each value written as ISO 8601 (then checked for impossible dates and times)."""
    whole_unknown = text.str.upper().str.fullmatch(rf"{_UNKNOWN}(?:[-/ ]{_UNKNOWN})*|UNKNOWN")
    text = text.where(~whole_unknown, "")
    parts = _parts(text, formats, year_cutoff)
    if clock is not None:
        extra = _clock_parts(clock)
        for part in ("hour", "minute", "second"):
            parts[part] = parts[part].where(parts[part] != "", extra[part])
    unknown = rf"^{_UNKNOWN}$"
    month = parts["month"].str.upper().str.replace(unknown, "", regex=True)
    month = month.map(lambda m: f"{_MONTHS[m]:02d}" if m in _MONTHS else m)
    month = month.where(~month.str.fullmatch(r"\d"), "0" + month)
    day = parts["day"].str.upper().str.replace(unknown, "", regex=True)
    day = day.where(~day.str.fullmatch(r"\d"), "0" + day)
    bad_month = (month != "") & ~month.str.fullmatch(r"\d{2}")
    if bad_month.any():
        raise isodates.DateProblem(bad_month, "has a month that is no month name")
    day_without_month = (day != "") & (month == "")
    if day_without_month.any():
        raise isodates.DateProblem(day_without_month, "has a day but no month")
    iso = parts["year"].copy()
    iso = iso.where(month == "", iso + "-" + month)
    iso = iso.where((month == "") | (day == ""), iso + "-" + day)
    timed = (month != "") & (day != "") & (parts["hour"] != "")
    iso = iso.where(~timed, iso + "T" + parts["hour"].str.zfill(2) + ":" + parts["minute"].replace("", "00"))
    iso = iso.where(~(timed & (parts["second"] != "")), iso + ":" + parts["second"])
    return iso.astype(str)


def _legacy(formats) -> bool:
    return all(name in isodates.FORMATS for name in formats)


def date_window(study) -> tuple[str, str]:
    """The plausible dates of a study: ``plausibility: dates: {min, max}`` in study.yaml, else
    1900-01-01 to one year after today (see :func:`sdtmify.isodates.default_window`). A window reaching
    past datetime64's range (1678-2261), where derivations would turn dates into garbage, is refused."""
    earliest, latest = isodates.default_window()
    config = getattr(study, "config", None) or {}
    dates = (config.get("plausibility") or {}).get("dates") or {}
    window = {"min": str(dates.get("min", earliest)), "max": str(dates.get("max", latest))}
    for key, value in window.items():
        if not isodates.DATETIME64_EARLIEST <= value <= isodates.DATETIME64_LATEST:
            raise MappingError(
                f"{value} is outside the dates sdtmify can compute with "
                f"({isodates.DATETIME64_EARLIEST} to {isodates.DATETIME64_LATEST})",
                Location(
                    study.file, yamlio.line_at(config, ["plausibility", "dates", key]), f"plausibility.dates.{key}"
                ),
            )
    if window["min"] > window["max"]:
        raise MappingError(
            f"min {window['min']} is after max {window['max']}",
            Location(study.file, yamlio.line_at(config, ["plausibility", "dates"]), "plausibility.dates"),
        )
    return window["min"], window["max"]


def year_cutoff(spec, formats, ctx: MappingContext, path) -> int | None:
    """The declared century of two-digit years: the field's ``year_cutoff``, else study.yaml ``dates:
    year_cutoff:``. A form with a two-digit year and no declared cutoff is an error: guessing the
    century (SAS's default 1926, Python's 1969) would silently move a birth date by 100 years."""
    two_digit = [name for name in formats if two_digit_year(name)]
    if not two_digit:
        return None
    if "year_cutoff" in spec:
        return int(spec["year_cutoff"])
    config = getattr(ctx.study, "config", None) or {}
    study_cutoff = (config.get("dates") or {}).get("year_cutoff")
    if study_cutoff is not None:
        return int(study_cutoff)
    raise ctx.error(
        [*path, "formats"],
        f"'{two_digit[0]}' reads two-digit years: declare their century with 'year_cutoff: YYYY' here or "
        f"study-wide under 'dates: year_cutoff:' in study.yaml (SAS YEARCUTOFF: the first year of the 100 "
        f"years they fall in; 1926 reads 25 as 2025 and 26 as 1926)",
    )


def iso8601(spec, ctx: MappingContext, path) -> pd.Series:
    """ISO 8601 date/datetime from the forms listed in ``formats`` (SDTMIG 3.4 section 4.4.2:
    --DTC in ISO 8601; an unknown day or month is left out, "UN-MAR-2021" -> "2021-03", never imputed).
    Dates outside the study's plausible window (study.yaml ``plausibility: dates:``) are refused."""
    column = ctx.column(spec["iso8601"], path)
    time = ctx.column(spec["time"], [*path, "time"]) if "time" in spec else None
    formats = tuple(spec.get("formats", isodates.DEFAULT_FORMATS))
    for i, name in enumerate(formats):
        try:
            form_regex(name)
        except ValueError as exc:
            raise ctx.error([*path, "formats", i], str(exc)) from None
    cutoff = year_cutoff(spec, formats, ctx, path)
    window = date_window(ctx.study)
    clock = None if time is None else as_text(time)
    try:
        if _legacy(formats):
            return isodates.to_iso8601(as_text(column), formats, clock, window)
        return parse_dates(as_text(column), formats, clock, window, cutoff)
    except isodates.DateProblem as problem:
        first = problem.mask[problem.mask].index[0]
        value = column.loc[first] if time is None else f"{column.loc[first]} {time.loc[first]}"
        count = int(problem.mask.sum())
        more = f" ({count} values in all)" if count > 1 else ""
        hint = (
            ", or if it is right widen 'plausibility: dates:' in study.yaml"
            if "plausible" in problem.reason
            else " or list its form in 'formats'"
        )
        raise ctx.error(
            path,
            f"{ctx.row_numbers(problem.mask, 1)} of source '{ctx.source_name}' column '{spec['iso8601']}': "
            f"'{value}' {problem.reason}{more}; correct the source{hint}",
        ) from None


_FORM_NAMES = [*isodates.FORMATS, *SAS_FORMATS, EXCEL]

ALGORITHM = register(
    Algorithm(
        "iso8601",
        iso8601,
        {
            "iso8601": {"type": "string", "description": "a source column holding a date or datetime"},
            "time": {"type": "string", "description": "with iso8601: a source column holding the time of day"},
            "formats": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "anyOf": [
                        {"type": "string", "enum": _FORM_NAMES},
                        {"type": "string", "pattern": "%[YymdbHMS]", "description": "a strftime pattern"},
                    ]
                },
            },
            "year_cutoff": {
                "type": "integer",
                "minimum": 1582,
                "maximum": 9900,
                "description": "with iso8601 and a two-digit-year form (DATE7, MMDDYY8, %y...): the first year of "
                "the 100 years two-digit years fall in (SAS YEARCUTOFF; 1926: 25 -> 2025, 26 -> 1926)",
            },
        },
        "Converted from the collected date (and time) to ISO 8601; unknown day or month parts are "
        "left out, never imputed.",
        origin="Collected",
    )
)
