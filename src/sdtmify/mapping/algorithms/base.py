"""The registry of mapping algorithms and the evaluator that applies them.

An algorithm is one YAML key of a variable's expression (``column``, ``iso8601``, ``split_part``...).
Each lives in its own module of this package and registers itself with :func:`register`, giving

* ``function(spec, ctx, path)``: pure and vectorized, the records of ``ctx`` in, a Series out
  (text with "" for missing, or float64);
* ``schema``: the JSON-Schema properties the algorithm adds to an expression (the source of truth:
  specs/schema/mapping.schema.json is generated from these fragments, and a test holds them equal);
* ``method``: the define.xml method text, written for a reviewer;
* ``origin``: the define.xml origin implied when the YAML does not state one.

Operations produce a value (exactly one per expression); modifiers rewrite it, in ``rank`` order.
The vocabulary follows sdtm.oak's closed set of mapping algorithms; names follow the CDISC words."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ... import yamlio
from ...derive.findings import number_text
from ..context import MappingContext

# an operation is (spec, ctx, path) -> values; a modifier (spec, values, ctx, path) -> values
Function = Callable[..., pd.Series]


@dataclass(frozen=True)
class Algorithm:
    """One entry of the vocabulary (see the module docstring)."""

    name: str
    function: Function
    schema: dict
    method: str
    origin: str = "Derived"
    modifier: bool = False
    rank: int = 0  # modifiers apply in increasing rank
    describe: Callable[[dict], str] | None = None  # the method text with the study's parameters

    @property
    def rule(self) -> str:
        """The rule the algorithm implements: the first paragraph of its function's docstring."""
        doc = self.function.__doc__ or ""
        return " ".join(doc.split("\n\n")[0].split())


OPERATIONS: dict[str, Algorithm] = {}
MODIFIERS: dict[str, Algorithm] = {}

# Keys every expression may carry for define.xml; no algorithm owns them.
METADATA_SCHEMA = {
    "length": {"type": "integer", "minimum": 1, "maximum": 200},
    "origin": {
        "type": "string",
        "enum": ["Collected", "Derived", "Assigned", "Protocol", "Predecessor", "Not Available"],
    },
    "source_party": {"type": "string", "enum": ["Investigator", "Sponsor", "Subject", "Vendor"]},
    "method": {"type": "string"},
    "comment": {"type": "string"},
    "label": {"type": "string", "maxLength": 40},
    "qeval": {"type": "string"},
    "unknown": {
        "type": "string",
        "minLength": 1,
        "pattern": "\\S",
        "description": "why the value may be unknown (e.g. 'Country not recorded by the site'): a Required "
        "variable left null is then built as a truthful null, stated in define.xml and reported by the "
        "validator with this reason, instead of stopping the build",
    },
}


def register(algorithm: Algorithm) -> Algorithm:
    """Add an algorithm to the vocabulary; its YAML keys must not collide with another's."""
    taken = set(METADATA_SCHEMA)
    for other in (*OPERATIONS.values(), *MODIFIERS.values()):
        taken |= set(other.schema)
    clash = sorted(taken & set(algorithm.schema))
    if clash:
        raise ValueError(f"algorithm '{algorithm.name}': key(s) {', '.join(clash)} already belong to another entry")
    if algorithm.name not in algorithm.schema:
        raise ValueError(f"algorithm '{algorithm.name}': its schema fragment must define the key '{algorithm.name}'")
    (MODIFIERS if algorithm.modifier else OPERATIONS)[algorithm.name] = algorithm
    return algorithm


def expression_properties() -> dict:
    """The ``properties`` of ``$defs/expression`` in mapping.schema.json, built from the fragments."""
    properties: dict = {}
    for algorithm in OPERATIONS.values():
        properties.update(algorithm.schema)
    for algorithm in sorted(MODIFIERS.values(), key=lambda a: a.rank):
        properties.update(algorithm.schema)
    properties.update(METADATA_SCHEMA)
    return properties


# The schema of an argument an algorithm reads (``of:``): a source column by name, or any expression.
OPERAND = {
    "oneOf": [{"type": "string"}, {"$ref": "#/$defs/expression"}],
    "description": "a source column, or any expression",
}


# --- shared helpers -----------------------------------------------------------------------------


def has_missing(series: pd.Series) -> bool:
    """Whether a column holds NaN/None. A str column of text only is known as such from a scan of its
    value types, several times cheaper than its isna()."""
    if series.dtype == "str" and pd.api.types.infer_dtype(series.to_numpy(dtype=object), skipna=False) == "string":
        return False
    return bool(series.hasnans)


def as_text(series: pd.Series) -> pd.Series:
    """A column as plain text: missing becomes ""; numbers as their shortest text."""
    if series.dtype == "float64":
        return number_text(series)
    if series.dtype == "str":  # already text: one pass for NaN, not four copies through object
        return series.fillna("") if has_missing(series) else series.copy(deep=False)
    return series.astype(object).where(series.notna(), "").astype(str)


def source_text(name: str, ctx: MappingContext, path) -> pd.Series:
    """A source column as text (:func:`as_text`), made once per column of ``ctx.rows``: a mapping reads
    the same column for several variables. Each caller gets its own view (copy-on-write)."""
    known = ctx.texts.get(name)
    if known is None or known[0] is not ctx.rows:
        known = (ctx.rows, as_text(ctx.column(name, path)))
        ctx.texts[name] = known
    return known[1].copy(deep=False)


def operand(value, ctx: MappingContext, path) -> pd.Series:
    """What an algorithm works on (its ``of:``): a source column by name, or any expression."""
    if isinstance(value, str):
        return source_text(value, ctx, path)
    return as_text(evaluate(value, ctx, path))


def compile_pattern(pattern: str, ctx: MappingContext, path) -> re.Pattern:
    """A user's regular expression, or an error at its line."""
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ctx.error(path, f"bad regular expression '{pattern}': {exc}") from None


def named(name: str, ctx: MappingContext, path) -> pd.Series:
    """A placeholder's value: a variable computed so far, else a source column."""
    if name in ctx.values:
        return as_text(ctx.values[name])
    if name in ctx.rows.columns:
        return source_text(name, ctx, [])
    choices = [*ctx.values, *(c for c in ctx.rows.columns if c != "SRCROW")]
    raise ctx.error(
        path, f"placeholder '{{{name}}}' is neither a source column nor a variable{yamlio.suggest(name, choices)}"
    )


# --- evaluation ----------------------------------------------------------------------------------


def evaluate(spec, ctx: MappingContext, path) -> pd.Series:
    """Apply one expression to the records of ``ctx``: its operation, then its modifiers in order;
    ``path`` locates it for error messages."""
    present = [key for key in OPERATIONS if key in spec]
    if len(present) != 1:
        if present:
            raise ctx.error(path, f"needs exactly one operation; found {' and '.join(present)}")
        raise ctx.error(
            path,
            f"needs exactly one operation ({', '.join(OPERATIONS)}); found none",
        )
    values = OPERATIONS[present[0]].function(spec, ctx, path)
    for modifier in sorted(MODIFIERS.values(), key=lambda a: a.rank):
        if modifier.name in spec:
            values = modifier.function(spec, values, ctx, path)
    return values


def default_origin(spec) -> str:
    """Define-XML origin implied by the operation when the YAML does not state one."""
    if "origin" in spec:
        return spec["origin"]
    for name, algorithm in OPERATIONS.items():
        if name in spec:
            return algorithm.origin
    return "Derived"


def method_text(spec) -> str | None:
    """The define.xml method text of an expression: the YAML's ``method``, else its algorithm's."""
    if "method" in spec:
        return spec["method"]
    for name, algorithm in OPERATIONS.items():
        if name in spec:
            return algorithm.describe(spec) if algorithm.describe else algorithm.method
    return None


def describe_condition(spec) -> str:
    """A condition in words for define.xml: "resolution_date is blank"."""
    if "all" in spec:
        return " and ".join(describe_condition(item) for item in spec["all"])
    if "any" in spec:
        return " or ".join(describe_condition(item) for item in spec["any"])
    if "not" in spec:
        return f"not ({describe_condition(spec['not'])})"
    name = spec.get("column", spec.get("variable", "?"))
    if "equals" in spec:
        return f"{name} is '{spec['equals']}'"
    if "not_equals" in spec:
        return f"{name} is not '{spec['not_equals']}'"
    if "in" in spec:
        return f"{name} is one of {', '.join(repr(str(v)) for v in spec['in'])}"
    if "not_in" in spec:
        return f"{name} is none of {', '.join(repr(str(v)) for v in spec['not_in'])}"
    if "blank" in spec:
        return f"{name} is {'blank' if spec['blank'] else 'not blank'}"
    return f"{name} matches the pattern '{spec.get('matches', '')}'"


def describe_value(spec) -> str:
    """An expression's value in words for define.xml: "'ONGOING'", "the collected reason"."""
    if "constant" in spec:
        return f"'{spec['constant']}'"
    if "column" in spec:
        return f"the collected {spec['column']}"
    if "variable" in spec:
        return spec["variable"]
    text = method_text(spec) or "a derived value"
    return text[0].lower() + text[1:].rstrip(".")


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
        value = source_text(spec["column"], ctx, [*path, "column"])
    elif "variable" in spec:
        value = as_text(ctx.variable(spec["variable"], [*path, "variable"]))
    else:
        raise ctx.error(path, "a condition needs 'column' or 'variable' (or all/any/not)")
    tests = [key for key in ("equals", "not_equals", "in", "not_in", "blank", "matches") if key in spec]
    if len(tests) != 1:
        raise ctx.error(path, "a condition needs exactly one test: equals, not_equals, in, not_in, blank, matches")
    test, operand_value = tests[0], spec[tests[0]]

    def norm(v):
        return "" if v is None else str(v)

    if test == "equals":
        return value == norm(operand_value)
    if test == "not_equals":
        return value != norm(operand_value)
    if test == "in":
        return value.isin([norm(v) for v in operand_value])
    if test == "not_in":
        return ~value.isin([norm(v) for v in operand_value])
    if test == "blank":
        return (value.str.strip() == "") if operand_value else (value.str.strip() != "")
    try:
        return value.str.contains(operand_value, regex=True)
    except re.error as exc:
        raise ctx.error([*path, "matches"], f"bad regular expression: {exc}") from None


def blank_text(index) -> pd.Series:
    return pd.Series("", index=index, dtype=object).astype(str)


def blank_numbers(index) -> pd.Series:
    return pd.Series(np.nan, index=index, dtype="float64")
