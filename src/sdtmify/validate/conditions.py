"""The condition language of the rule catalogue, evaluated on whole columns.

A condition is YAML:
  {AESER: N}                         AESER equals "N" (a scalar is shorthand for ``eq``)
  {AESER: {null: false, not_in: [N, Y]}}   several operators on one variable: all must hold
  {AESER: N, AESDTH: Y}              several variables: all must hold
  {all: [...]}, {any: [...]}, {not: {...}}
Variable names may use ``--`` for the dataset's prefix (``--STDTC`` is AESTDTC in AE) and
``DM.DTHFL`` for a column joined from another dataset by USUBJID (see ``Rule.join``).

Null semantics (as SAS and CORE): null is NaN or blank text. ``eq``/``in``/comparisons/``matches``
are false on null; ``ne``/``not_in`` are their negations, so they are true on null."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from . import isodate
from .data import Table, null_mask

COMBINATORS = ("all", "any", "not")
# Values a rule may compare with that are not columns: the dataset's name and what it implies.
PSEUDO_COLUMNS = {
    "$DATASET": lambda table: table.name,
    "$DATASET_DOMAIN": lambda table: table.name[:2],  # AE for AE, QS for QSCG
    "$SUPP_PARENT": lambda table: table.name[4:] if table.name.startswith("SUPP") else "",
}


class MissingInput(Exception):
    """A dataset or column a rule needs is absent: the rule is skipped for that dataset."""


class MissingDataset(MissingInput):
    """Another dataset the check needs was not given (e.g. the SDTM dataset SRCDOM names): unlike an
    absent variable, which means the rule does not apply, this is reported even when the rule ran on
    other datasets."""


class View:
    """A dataset as a rule sees it: prefix-expanded names, joined columns, optional columns as null."""

    def __init__(self, table: Table, tables: dict[str, Table], optional: tuple[str, ...] = ()):
        self.table = table
        self.tables = tables
        self.extra: dict[str, pd.Series] = {}
        self.optional = {self.expand(name) for name in optional}

    @property
    def frame(self) -> pd.DataFrame:
        return self.table.frame

    def expand(self, name: str) -> str:
        return name.replace("--", self.table.prefix) if "--" in name else name

    def physically_has(self, name: str) -> bool:
        name = self.expand(name)
        return name in self.table.frame.columns or name in self.extra

    def has(self, name: str) -> bool:
        name = self.expand(name)
        return name in self.table.frame.columns or name in self.extra or name in self.optional or name in PSEUDO_COLUMNS

    def column(self, name: str) -> pd.Series:
        name = self.expand(name)
        if name in self.extra:
            return self.extra[name]
        if name in PSEUDO_COLUMNS and name not in self.table.frame.columns:
            value = PSEUDO_COLUMNS[name](self.table)
            self.extra[name] = pd.Series(value, index=self.table.frame.index, dtype="str")
            return self.extra[name]
        if name in self.table.frame.columns:
            return self.table.frame[name]
        if name in self.optional:
            return pd.Series("", index=self.table.frame.index, dtype="str")
        raise MissingInput(f"{self.table.name} has no {name}")

    def _shared(self, name: str) -> bool:
        """``name`` (expanded) is a column whose per-column work the table keeps for every rule: one
        of the frame's, or one :meth:`join` brought from another table."""
        if name in self.extra:
            return name in self.table._joined and self.table._joined[name][2] is self.extra[name]
        return name in self.table.frame.columns

    def text_test(self, name: str, fn, key=None) -> np.ndarray:
        """``fn`` (text Series -> array, element by element) on column ``name``: once per distinct
        value of a dataset or joined column (see Table.factorized), on the whole column otherwise.
        ``key`` names what ``fn`` computes, so other rules reuse the result (Table.per_value)."""
        name = self.expand(name)
        if self._shared(name) and not pd.api.types.is_numeric_dtype(self.table.column(name).dtype):
            return self.table.per_value(name, fn, key)
        return np.asarray(fn(self.column(name).astype("str")))

    def codes(self, name: str) -> np.ndarray:
        """Integer codes of the distinct values of ``name`` (equal values, equal codes)."""
        name = self.expand(name)
        if self._shared(name):
            return self.table.factorized(name)[0].astype(np.int64)
        return pd.factorize(self.column(name), use_na_sentinel=False)[0].astype(np.int64)

    def sorted_codes(self, name: str) -> np.ndarray:
        """Integer codes of ``name`` numbered in the sorted order of its distinct values (missing last):
        equal values, equal codes, and a dataset sorted by ``name`` has codes that never decrease."""
        name = self.expand(name)
        if self._shared(name):
            codes, uniques = self.table.factorized(name)
        else:
            codes, uniques = pd.factorize(self.column(name), use_na_sentinel=False)
        rank = np.empty(len(uniques), dtype=np.int64)
        rank[pd.Index(uniques).argsort()] = np.arange(len(uniques))
        return rank[codes]

    def null(self, name: str) -> np.ndarray:
        name = self.expand(name)
        if self._shared(name):
            return self.table.is_null(name)
        return null_mask(self.column(name))

    def numbers(self, name: str) -> np.ndarray:
        """``name`` as float64 (text read as numbers, blank or not a number as NaN): once per distinct
        value of a dataset or joined column (Table.numbers), on the whole column otherwise."""
        name = self.expand(name)
        if self._shared(name):
            return self.table.numbers(name)
        return _numeric(self.column(name)).to_numpy(dtype="float64")

    def keeps(self, name: str) -> bool:
        """The table keeps per-column work for ``name`` (Table.per_value): a dataset or joined column."""
        return self._shared(self.expand(name))

    def coded_text(self, name: str) -> tuple[np.ndarray, pd.Series] | None:
        """(codes, distinct values) of a text column the table keeps (Table.factorized); None for a
        number column or one made for this rule only (the caller then works on the column itself)."""
        name = self.expand(name)
        if not self._shared(name) or pd.api.types.is_numeric_dtype(self.table.column(name).dtype):
            return None
        return self.table.factorized(name)

    def join(self, dataset: str, columns: list[str], key: str = "USUBJID") -> bool:
        """Bring ``dataset.column`` next to each record by ``key``; False when it cannot be done.
        The joined columns are computed once per pair of tables (Table.joined), not once per rule."""
        other = self.tables.get(dataset)
        if other is None or key not in other.frame.columns or key not in self.table.frame.columns:
            return False
        for col in columns:
            if col == key or col not in other.frame.columns:
                return False
            self.extra[f"{dataset}.{col}"] = self.table.joined(dataset, other, col, key)
        return True


def variables_of(cond) -> list[str]:
    """Every variable a condition names, in order (to decide whether a rule can run on a dataset)."""
    found: list[str] = []
    if isinstance(cond, dict):
        for key, value in cond.items():
            if key in COMBINATORS:
                for item in value if isinstance(value, list) else [value]:
                    found.extend(v for v in variables_of(item) if v not in found)
            else:
                if key not in found:
                    found.append(key)
                if isinstance(value, dict):
                    for op, arg in value.items():
                        if isinstance(op, str) and op.endswith("_var") and arg not in found:
                            found.append(arg)
    return found


def evaluate(cond, view: View) -> np.ndarray:
    """Boolean mask: rows where ``cond`` holds."""
    n = len(view.frame)
    if isinstance(cond, dict):
        mask = np.ones(n, dtype=bool)
        for key, value in cond.items():
            if key == "all":
                for item in value:
                    mask &= evaluate(item, view)
            elif key == "any":
                hit = np.zeros(n, dtype=bool)
                for item in value:
                    hit |= evaluate(item, view)
                mask &= hit
            elif key == "not":
                mask &= ~evaluate(value, view)
            else:
                ops = value if isinstance(value, dict) else {"eq": value}
                for op, arg in ops.items():
                    # YAML reads an unquoted `null:` key as None: it means the null operator.
                    mask &= _apply("null" if op is None else op, key, arg, view)
        return mask
    raise ValueError(f"a condition must be a mapping, not {cond!r}")


def _numeric(series: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series
    return pd.to_numeric(series.where(series.str.strip() != ""), errors="coerce")


def _as_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _equal(series: pd.Series, values: list) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(series.dtype):
        nums = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").dropna().tolist()
        return series.isin(nums).to_numpy(dtype=bool)
    return series.isin([_as_text(v) for v in values]).to_numpy(dtype=bool)


def _values_equal(view: View, name: str, other: str) -> np.ndarray:
    """Element-wise equality with null == null, numbers compared as numbers, text as text.

    Two text columns the table keeps coded are compared by their codes: each distinct value of one
    is looked up once among the other's, then records compare integers."""
    a, b = view.column(name), view.column(other)
    if pd.api.types.is_numeric_dtype(a.dtype) or pd.api.types.is_numeric_dtype(b.dtype):
        x, y = view.numbers(name), view.numbers(other)
        return (x == y) | (np.isnan(x) & np.isnan(y))
    left, right = view.coded_text(name), view.coded_text(other)
    if left is None or right is None:
        return a.to_numpy(dtype=object) == b.to_numpy(dtype=object)
    # position of each distinct left value among the right ones (-1: none); text columns hold no NaN
    where = pd.Index(right[1].to_numpy(dtype=object)).get_indexer(left[1].to_numpy(dtype=object))
    return where[left[0]] == right[0]


def _dataset_values(arg, view: View) -> set | None:
    """The set of values of ``DS.COLUMN`` (optionally filtered by ``where``) for (not_)in_dataset."""
    if isinstance(arg, str):
        spec = {"column": arg}
    else:
        spec = arg
    dataset, column = spec["column"].split(".", 1)
    other = view.tables.get(dataset)
    if other is None or column not in other.frame.columns:
        raise MissingInput(f"{dataset}.{column}")
    rows = np.ones(len(other.frame), dtype=bool)
    if spec.get("where"):
        rows = evaluate(spec["where"], View(other, view.tables))
    return set(other.frame.loc[rows, column].tolist())


def _apply(op: str, name: str, arg, view: View) -> np.ndarray:
    if op == "present":
        # the column is really in the dataset (not an absent `optional` one read as null)
        return np.full(len(view.frame), view.physically_has(name) == bool(arg))
    if op in DATE_OPERATORS:
        return _date_order(view, name, arg, DATE_OPERATORS[op])
    if op in TEXT_OPERATORS and not pd.api.types.is_numeric_dtype(view.column(name).dtype):
        fn, needs_value = TEXT_OPERATORS[op]
        # keyed by operator and argument: rules asking the same of a column share one evaluation
        hit = view.text_test(name, lambda text: fn(text, arg), key=(op, repr(arg))).astype(bool)
        return hit & ~view.null(name) if needs_value else hit
    if op in EQUALITY_OPERATORS and not pd.api.types.is_numeric_dtype(view.column(name).dtype):
        values = [arg] if op in ("eq", "ne") else list(arg)
        texts = tuple(_as_text(v) for v in values)
        hit = view.text_test(name, lambda text: text.isin(texts).to_numpy(dtype=bool), key=("isin", texts))
        return ~hit if op in ("ne", "not_in") else hit
    if op in VIEW_OPERATORS:
        return VIEW_OPERATORS[op](view, name, arg)
    series = view.column(name)
    null = view.null(name)
    handler = OPERATORS.get(op)
    if handler is None:
        raise ValueError(f"unknown operator '{op}'")
    return np.asarray(handler(series, null, arg, view), dtype=bool)


def _regex(series: pd.Series, null: np.ndarray, pattern: str) -> np.ndarray:
    return ~null & series.astype("str").str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)


# A number written as a number: no leading zeros ("09" is a code, not 9), optional sign and decimals.
NUMBER_PATTERN = r"[+-]?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?"


def _looks_numeric(series: pd.Series, null: np.ndarray) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(series.dtype):
        return ~null
    return ~null & series.str.fullmatch(NUMBER_PATTERN).fillna(False).to_numpy(dtype=bool)


def _integer(view: View, name: str) -> np.ndarray:
    values = view.numbers(name)
    with np.errstate(invalid="ignore"):
        return ~view.null(name) & np.isfinite(values) & (values == np.floor(values))


def _not_iso(series: pd.Series, null: np.ndarray, kind: str) -> np.ndarray:
    text = series.astype("str")
    if kind == "date":
        ok = isodate.is_valid(text)
    elif kind == "duration":
        ok = text.str.fullmatch(isodate.DURATION_PATTERN).fillna(False).to_numpy(dtype=bool)
    else:
        ok = isodate.is_valid(text, allow_duration=True)
    return ~null & ~ok


def _compare(op: Callable, view: View, name: str, arg, is_var: bool) -> np.ndarray:
    left = view.numbers(name)
    right = view.numbers(arg) if is_var else float(arg)
    with np.errstate(invalid="ignore"):
        return op(left, right) & ~np.isnan(left) & ~np.isnan(right)


def _date_order(view: View, name: str, other: str, sign: int) -> np.ndarray:
    """Records where ISO 8601 ``name`` is before (sign -1) / after (+1) ``other`` at their common precision."""
    left, right = view.coded_text(name), view.coded_text(other)
    if left is not None and right is not None:
        order = _coded_date_order(view, name, other, left, right)
    else:
        text_left, text_right = view.column(name).astype("str"), view.column(other).astype("str")
        order = isodate.compare(text_left, text_right, _precision(view, name), _precision(view, other))
    return ~view.null(name) & ~view.null(other) & (order == sign)


def _coded_date_order(view: View, name: str, other: str, left: tuple, right: tuple) -> np.ndarray:
    """isodate.compare of two coded text columns without touching their text record by record: at
    each precision, the prefixes of both columns' distinct values are ranked together (text order),
    and records compare the ranks of their values."""
    (lcodes, lvalues), (rcodes, rvalues) = left, right
    table = view.table
    lp = table.on_distinct(view.expand(name), isodate.precision, key="iso8601 precision")
    rp = table.on_distinct(view.expand(other), isodate.precision, key="iso8601 precision")
    common = np.minimum(lp[lcodes], rp[rcodes])
    out = np.zeros(len(lcodes), dtype=np.int8)
    for size in isodate.PRECISIONS:
        rows = common == size
        if not rows.any():
            continue
        prefixes = np.concatenate(
            [lvalues.str.slice(0, size).to_numpy(dtype=object), rvalues.str.slice(0, size).to_numpy(dtype=object)]
        )
        rank = np.unique(prefixes, return_inverse=True)[1].reshape(-1)
        a, b = rank[: len(lvalues)][lcodes[rows]], rank[len(lvalues) :][rcodes[rows]]
        out[rows] = np.where(a < b, -1, np.where(a > b, 1, 0))
    return out


def _precision(view: View, name: str) -> np.ndarray:
    """isodate.precision of a column, once per table column (many timing rules read the same --DTC)."""
    return view.text_test(name, isodate.precision, key="iso8601 precision")


def _fullmatch(text: pd.Series, pattern: str) -> np.ndarray:
    return text.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)


# Operators on the text of one column, as fn(text, arg) -> bool array, and whether they hold only on
# non-null values. _apply runs them once per distinct value on large datasets.
TEXT_OPERATORS: dict[str, tuple[Callable, bool]] = {
    "matches": (lambda t, a: _fullmatch(t, a), True),
    "not_matches": (lambda t, a: ~_fullmatch(t, a), True),
    "numeric": (lambda t, a: _fullmatch(t, NUMBER_PATTERN) == bool(a), True),
    "len_gt": (lambda t, a: (t.str.len() > int(a)).to_numpy(dtype=bool), True),
    "leading_space": (lambda t, a: t.str.match(r"\s").fillna(False).to_numpy(dtype=bool), True),
    "non_ascii": (lambda t, a: ~_fullmatch(t, r"[\x20-\x7e]*"), True),
    "startswith": (lambda t, a: t.str.startswith(str(a)).fillna(False).to_numpy(dtype=bool), True),
    "not_iso8601": (lambda t, a: ~_iso_ok(t, a), True),
    "complete_date": (lambda t, a: (isodate.precision(t) >= 10) == bool(a), False),
    "date_precision_lt": (lambda t, a: isodate.precision(t) < int(a), True),
}
# Operators ordering two ISO 8601 columns (SDTMIG 4.4: a partial date is an interval): -1 before, +1 after.
DATE_OPERATORS: dict[str, int] = {"date_before_var": -1, "date_after_var": 1}


def _iso_ok(text: pd.Series, kind: str) -> np.ndarray:
    if kind == "date":
        return isodate.is_valid(text)
    if kind == "duration":
        return _fullmatch(text, isodate.DURATION_PATTERN)
    return isodate.is_valid(text, allow_duration=True)


OPERATORS: dict[str, Callable] = {
    "eq": lambda s, n, a, v: _equal(s, [a]),
    "ne": lambda s, n, a, v: ~_equal(s, [a]),
    "in": lambda s, n, a, v: _equal(s, list(a)),
    "not_in": lambda s, n, a, v: ~_equal(s, list(a)),
    "null": lambda s, n, a, v: n if a else ~n,
    "not_iso8601": lambda s, n, a, v: _not_iso(s, n, a),
    "complete_date": lambda s, n, a, v: (isodate.precision(s.astype("str")) >= 10) == bool(a),
    "dataset_exists": lambda s, n, a, v: s.isin(list(v.tables)).to_numpy(dtype=bool) == bool(a),
    "len_gt": lambda s, n, a, v: ~n & (s.astype("str").str.len() > int(a)).to_numpy(dtype=bool),
    "matches": lambda s, n, a, v: _regex(s, n, a),
    "not_matches": lambda s, n, a, v: ~n & ~_regex(s, n, a),
    "numeric": lambda s, n, a, v: _looks_numeric(s, n) if a else (~n & ~_looks_numeric(s, n)),
    "leading_space": lambda s, n, a, v: ~n & s.astype("str").str.match(r"\s").fillna(False).to_numpy(dtype=bool),
    "non_ascii": lambda s, n, a, v: (
        ~n & ~s.astype("str").str.fullmatch(r"[\x20-\x7e]*").fillna(True).to_numpy(dtype=bool)
    ),
    "date_precision_lt": lambda s, n, a, v: ~n & (isodate.precision(s.astype("str")) < int(a)),
    "startswith": lambda s, n, a, v: ~n & s.astype("str").str.startswith(str(a)).fillna(False).to_numpy(dtype=bool),
    "in_dataset": lambda s, n, a, v: s.isin(_dataset_values(a, v)).to_numpy(dtype=bool),
    "not_in_dataset": lambda s, n, a, v: ~s.isin(_dataset_values(a, v)).to_numpy(dtype=bool),
    "upper": lambda s, n, a, v: (s.astype("str") == s.astype("str").str.upper()).to_numpy(dtype=bool) == bool(a),
}
# Text equality: on the distinct values of a text column (numbers go through OPERATORS).
EQUALITY_OPERATORS = ("eq", "ne", "in", "not_in")
# Operators that read their columns through the view's per-column caches, as fn(view, name, arg).
VIEW_OPERATORS: dict[str, Callable] = {
    "eq_var": lambda v, name, a: _values_equal(v, name, a),
    "ne_var": lambda v, name, a: ~_values_equal(v, name, a),
    "gt": lambda v, name, a: _compare(np.greater, v, name, a, False),
    "ge": lambda v, name, a: _compare(np.greater_equal, v, name, a, False),
    "lt": lambda v, name, a: _compare(np.less, v, name, a, False),
    "le": lambda v, name, a: _compare(np.less_equal, v, name, a, False),
    "gt_var": lambda v, name, a: _compare(np.greater, v, name, a, True),
    "lt_var": lambda v, name, a: _compare(np.less, v, name, a, True),
    "ge_var": lambda v, name, a: _compare(np.greater_equal, v, name, a, True),
    "le_var": lambda v, name, a: _compare(np.less_equal, v, name, a, True),
    "integer": lambda v, name, a: _integer(v, name) if a else (~v.null(name) & ~_integer(v, name)),
}
