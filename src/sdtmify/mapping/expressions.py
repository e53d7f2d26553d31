"""The closed vocabulary of variable operations: one function per operation, one schema entry each.

An expression is a YAML mapping with exactly one operation key (``column``, ``variable``,
``constant``, ``template``, ``iso8601``, ``when``, ``lookup``, ``coalesce``) and optional
modifiers applied in this order: ``transform``, ``map``, ``default``, ``ct``, ``as``.
Every operation returns a Series aligned with the records: text ("" for missing) or float64."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .. import isodates, yamlio
from ..derive.findings import number_text
from ..errors import Location, MappingError, SourceError
from .context import MappingContext


def as_text(series: pd.Series) -> pd.Series:
    """A column as plain text: missing becomes ""."""
    if series.dtype == "float64":
        return number_text(series)
    return series.astype(object).where(series.notna(), "").astype(str)


def op_column(spec, ctx: MappingContext, path) -> pd.Series:
    """Take a source column as it is (text)."""
    return as_text(ctx.column(spec["column"], path))


def op_variable(spec, ctx: MappingContext, path) -> pd.Series:
    """Take a variable computed earlier in the same file."""
    return ctx.variable(spec["variable"], [*path, "variable"]).copy()


def op_constant(spec, ctx: MappingContext, path) -> pd.Series:
    """The same value on every record (an Assigned origin unless stated)."""
    value = spec["constant"]
    if isinstance(value, bool):
        value = "Y" if value else "N"
    if isinstance(value, (int, float)):
        return pd.Series(float(value), index=ctx.rows.index, dtype="float64")
    return pd.Series("" if value is None else str(value), index=ctx.rows.index, dtype=object).astype(str)


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def _named(name: str, ctx: MappingContext, path) -> pd.Series:
    """A placeholder's value: a variable computed so far, else a source column."""
    if name in ctx.values:
        return as_text(ctx.values[name])
    if name in ctx.rows.columns:
        return as_text(ctx.rows[name])
    choices = [*ctx.values, *(c for c in ctx.rows.columns if c != "SRCROW")]
    raise ctx.error(
        path, f"placeholder '{{{name}}}' is neither a source column nor a variable{yamlio.suggest(name, choices)}"
    )


def op_template(spec, ctx: MappingContext, path) -> pd.Series:
    """Concatenate text and columns: ``"{STUDYID}-{site_id}"``; blank when any placeholder is blank."""
    template = spec["template"]
    pieces = _PLACEHOLDER.split(template)
    result = pd.Series("", index=ctx.rows.index, dtype=object)
    any_blank = pd.Series(False, index=ctx.rows.index)
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            result = result + piece
        else:
            value = _named(piece, ctx, [*path, "template"])
            any_blank |= value == ""
            result = result + value
    return result.where(~any_blank, "").astype(str)


def op_iso8601(spec, ctx: MappingContext, path) -> pd.Series:
    """ISO 8601 date/datetime from several input forms, partial dates kept partial (SDTMIG 3.4 4.4.2)."""
    column = ctx.column(spec["iso8601"], path)
    time = ctx.column(spec["time"], path) if "time" in spec else None
    formats = tuple(spec.get("formats", isodates.DEFAULT_FORMATS))
    window = date_window(ctx.study)
    try:
        return isodates.to_iso8601(as_text(column), formats, None if time is None else as_text(time), window)
    except isodates.DateProblem as problem:
        first = problem.mask[problem.mask].index[0]
        value = column.loc[first] if time is None else f"{column.loc[first]} {time.loc[first]}"
        count = int(problem.mask.sum())
        more = f" ({count} values in all)" if count > 1 else ""
        raise ctx.error(
            path,
            f"{ctx.row_numbers(problem.mask, 1)} of source '{ctx.source_name}' column '{spec['iso8601']}': "
            f"'{value}' {problem.reason}{more}; correct the source"
            + (
                ", or if it is right widen 'plausibility: dates:' in study.yaml"
                if "plausible" in problem.reason
                else " or list its form in 'formats'"
            ),
        ) from None


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


def op_when(spec, ctx: MappingContext, path) -> pd.Series:
    """Conditional: the first branch whose ``if`` holds gives the value, else ``else`` (or blank).

    Each branch is evaluated only on its own records, so a recode in ``else`` never sees the
    values an earlier branch already handled."""
    pending = pd.Series(True, index=ctx.rows.index)
    pieces = []
    for i, branch in enumerate(spec["when"]):
        holds = condition(branch["if"], ctx, [*path, "when", i, "if"]) & pending
        if holds.any():
            pieces.append(evaluate(branch["then"], ctx.restricted(holds), [*path, "when", i, "then"]))
        pending &= ~holds
    if "else" in spec and pending.any():
        pieces.append(evaluate(spec["else"], ctx.restricted(pending), [*path, "else"]))
    numeric = bool(pieces) and all(piece.dtype == "float64" for piece in pieces)
    if numeric:
        result = pd.Series(np.nan, index=ctx.rows.index, dtype="float64")
    else:
        result = pd.Series("", index=ctx.rows.index, dtype=object)
        pieces = [as_text(piece) for piece in pieces]
    for piece in pieces:
        result.loc[piece.index] = piece.to_numpy()
    return result if numeric else result.astype(str)


def op_lookup(spec, ctx: MappingContext, path) -> pd.Series:
    """Join to another source table (e.g. a coding dictionary) and take one of its columns."""
    lookup = spec["lookup"]
    here = [*path, "lookup"]
    try:
        table = ctx.study.source(lookup["source"])
    except Exception as exc:  # unknown or unreadable source: say where in this file (and which file failed)
        message = getattr(exc, "bare_message", str(exc))
        if isinstance(exc, SourceError) and exc.location is not None:
            message += f" (reading {exc.location})"
        raise ctx.error([*here, "source"], message) from None
    on = lookup["on"]
    pairs = {on: on} if isinstance(on, str) else dict(on)
    for left, right in pairs.items():
        ctx.column(left, [*here, "on"])
        if right not in table.columns:
            raise ctx.error(
                [*here, "on"],
                f"column '{right}' not in source '{lookup['source']}'{yamlio.suggest(right, table.columns)}",
            )
    if lookup["column"] not in table.columns:
        raise ctx.error(
            [*here, "column"],
            f"column '{lookup['column']}' not in source '{lookup['source']}'"
            f"{yamlio.suggest(lookup['column'], table.columns)}",
        )
    right_cols = list(pairs.values())
    dupes = table.duplicated(right_cols, keep=False)
    if dupes.any():
        raise ctx.error(
            here,
            f"source '{lookup['source']}' has several rows for "
            f"{table.loc[dupes, right_cols].iloc[0].tolist()}; a lookup needs unique keys",
        )
    keys = pd.DataFrame(
        {right: as_text(ctx.rows[left]).to_numpy() for left, right in pairs.items()}, index=ctx.rows.index
    )
    merged = keys.merge(table[[*right_cols, lookup["column"]]], on=right_cols, how="left", sort=False)
    values = pd.Series(merged[lookup["column"]].to_numpy(), index=ctx.rows.index)
    missing = values.isna() & (keys != "").all(axis=1)
    if lookup.get("required") and missing.any():
        first = keys.loc[missing].iloc[0].tolist()
        raise ctx.error(
            here,
            f"{int(missing.sum())} records have no match in '{lookup['source']}', e.g. "
            f"{first} ({ctx.row_numbers(missing, 1)}); add them to that table",
        )
    return as_text(values)


def op_coalesce(spec, ctx: MappingContext, path) -> pd.Series:
    """The first non-blank of several expressions."""
    result = None
    for i, item in enumerate(spec["coalesce"]):
        value = as_text(evaluate(item, ctx, [*path, "coalesce", i]))
        result = value if result is None else result.where(result != "", value)
    return result


OPERATIONS = {
    "column": op_column,
    "variable": op_variable,
    "constant": op_constant,
    "template": op_template,
    "iso8601": op_iso8601,
    "when": op_when,
    "lookup": op_lookup,
    "coalesce": op_coalesce,
}


def _transform(values: pd.Series, how: str) -> pd.Series:
    """Text case and space: upper, lower, strip, title, capitalize."""
    text = as_text(values)
    return getattr(text.str, how)() if how != "strip" else text.str.strip()


def _value_map(spec, values: pd.Series, ctx: MappingContext, path) -> pd.Series:
    """Recode through an explicit table; values not in it: error (default), keep or blank."""
    table = {str(k): "" if v is None else str(v) for k, v in spec["map"].items()}
    text = as_text(values)
    mapped = text.map(table)
    unmapped = mapped.isna() & (text != "")
    policy = spec.get("unmapped", "error")
    if unmapped.any() and policy == "error":
        missing = sorted(set(text[unmapped]))
        raise ctx.error(
            [*path, "map"],
            f"values not in the map: {', '.join(repr(m) for m in missing[:5])} "
            f"({ctx.row_numbers(unmapped, 1)}); add them to 'map' or set "
            f"'unmapped: keep'",
        )
    fallback = text if policy == "keep" else pd.Series("", index=text.index)
    return mapped.where(~mapped.isna(), fallback.where(text != "", "")).astype(str)


def _as(values: pd.Series, kind: str, ctx: MappingContext, path) -> pd.Series:
    """Type conversion: ``num``/``integer`` to float64 (errors name the rows), ``char`` to text."""
    if kind == "char":
        return as_text(values)
    if values.dtype == "float64":
        numbers = values
    else:
        text = as_text(values).str.strip()
        numbers = pd.to_numeric(text.where(text != "", None), errors="coerce").astype("float64")
        bad = numbers.isna() & (text != "")
        if bad.any():
            first = text[bad].iloc[0]
            raise ctx.error(
                [*path, "as"],
                f"'{first}' is not a number ({ctx.row_numbers(bad, 1)}); map it first or keep the variable as char",
            )
    if kind == "integer":
        fractional = numbers.notna() & (numbers != np.floor(numbers))
        if fractional.any():
            raise ctx.error(
                [*path, "as"], f"{numbers[fractional].iloc[0]} is not a whole number ({ctx.row_numbers(fractional, 1)})"
            )
    return numbers.astype("float64")


def evaluate(spec, ctx: MappingContext, path) -> pd.Series:
    """Apply one expression to the records of ``ctx``; ``path`` locates it for error messages."""
    present = [key for key in OPERATIONS if key in spec]
    if len(present) != 1:
        allowed = ", ".join(OPERATIONS)
        found = "none" if not present else " and ".join(present)
        raise ctx.error(path, f"needs exactly one operation ({allowed}); found {found}")
    values = OPERATIONS[present[0]](spec, ctx, path)
    if "transform" in spec:
        values = _transform(values, spec["transform"])
    if "map" in spec:
        values = _value_map(spec, values, ctx, path)
    if "default" in spec:
        text = as_text(values)
        values = text.where(text != "", "" if spec["default"] is None else str(spec["default"]))
    if "ct" in spec:
        if ctx.ct is None:
            raise ctx.error([*path, "ct"], "codelist recoding (ct:) is not available here")
        values = ctx.ct.recode(as_text(values), spec["ct"], spec.get("extend", {}), ctx, path)
    if "as" in spec:
        values = _as(values, spec["as"], ctx, path)
    return values


def default_origin(spec) -> str:
    """Define-XML origin implied by the operation when the YAML does not state one."""
    if "origin" in spec:
        return spec["origin"]
    if "constant" in spec:
        return "Assigned"
    if any(key in spec for key in ("column", "iso8601", "lookup", "coalesce")):
        return "Collected"
    return "Derived"


def condition(spec, ctx: MappingContext, path) -> pd.Series:
    """A row condition as a boolean Series (used by ``where`` and ``when``)."""
    index = ctx.rows.index
    if "all" in spec:
        result = pd.Series(True, index=index)
        for i, item in enumerate(spec["all"]):
            result &= condition(item, ctx, [*path, "all", i])
        return result
    if "any" in spec:
        result = pd.Series(False, index=index)
        for i, item in enumerate(spec["any"]):
            result |= condition(item, ctx, [*path, "any", i])
        return result
    if "not" in spec:
        return ~condition(spec["not"], ctx, [*path, "not"])
    if "column" in spec:
        value = as_text(ctx.column(spec["column"], [*path, "column"]))
    elif "variable" in spec:
        value = as_text(ctx.variable(spec["variable"], [*path, "variable"]))
    else:
        raise ctx.error(path, "a condition needs 'column' or 'variable' (or all/any/not)")
    tests = [key for key in ("equals", "not_equals", "in", "not_in", "blank", "matches") if key in spec]
    if len(tests) != 1:
        raise ctx.error(path, "a condition needs exactly one test: equals, not_equals, in, not_in, blank, matches")
    test, operand = tests[0], spec[tests[0]]

    def norm(v):
        return "" if v is None else str(v)

    if test == "equals":
        return value == norm(operand)
    if test == "not_equals":
        return value != norm(operand)
    if test == "in":
        return value.isin([norm(v) for v in operand])
    if test == "not_in":
        return ~value.isin([norm(v) for v in operand])
    if test == "blank":
        return (value.str.strip() == "") if operand else (value.str.strip() != "")
    try:
        return value.str.contains(operand, regex=True)
    except re.error as exc:
        raise ctx.error([*path, "matches"], f"bad regular expression: {exc}") from None
