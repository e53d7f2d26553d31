"""Checks across records or datasets: unique keys, one-to-one pairs, lookups into another dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...distinct import combined_codes, first_appearance_codes
from ..conditions import MissingInput, View, evaluate, variables_of
from ..hits import Hits
from .records import prepare


def _rows(rule, view) -> np.ndarray:
    where = rule.check.get("where")
    return evaluate(where, view) if where else np.ones(len(view.frame), dtype=bool)


def _needs(rule, names: list[str]) -> list[str]:
    """The variables a check uses: its own plus those of its ``where`` condition."""
    return names + variables_of(rule.check.get("where") or {})


def group_codes(view, names: list[str]) -> np.ndarray:
    """One int64 code per distinct combination of ``names`` (hashing small integers, not text), numbered
    in order of first appearance. The columns' codes (in the sorted order of their values) are combined
    arithmetically, once more whenever the combination would no longer fit in 62 bits, and numbered
    (:func:`first_appearance_codes`). Kept by the table for the next rule asking for the same columns
    (define.xml keys, IG keys and --SEQ uniqueness share key sets)."""
    names = [view.expand(n) for n in names]
    if names and all(n in view.frame.columns for n in names):
        return view.table.kept(("group codes", tuple(names)), lambda: _group_codes(view, names))
    return _group_codes(view, names)


def _group_codes(view, names: list[str]) -> np.ndarray:
    return first_appearance_codes(combined_codes((view.sorted_codes(name) for name in names), len(view.frame)))


def repeated(codes: np.ndarray) -> np.ndarray:
    """True where a record's code (non-negative, as group codes are) is another record's too:
    ``duplicated(keep=False)`` by counting, not hashing."""
    if not len(codes):
        return np.zeros(0, dtype=bool)
    return np.bincount(codes)[codes] > 1


def unique(rule, view, ctx) -> list[Hits]:
    """Records sharing the values of ``keys`` (SDTMIG 3.2.1.1 natural keys, --SEQ uniqueness).

    Every record of a duplicated group is flagged, so a reviewer sees all the records involved."""
    keys = [view.expand(k) for k in rule.check["keys"]]
    prepare(rule, view, _needs(rule, keys))
    rows = _rows(rule, view)
    codes = group_codes(view, keys)
    mask = np.zeros(len(codes), dtype=bool)
    mask[np.flatnonzero(rows)[repeated(codes[rows])]] = True
    return [Hits(view.table.name, mask, tuple(rule.check.get("show") or keys), view=view)]


def one_to_one(rule, view, ctx) -> list[Hits]:
    """``left`` and ``right`` must pair one-to-one (e.g. --TESTCD/--TEST, PARAMCD/PARAM), optionally
    ``within`` a group; ``direction: left`` only requires each left value to have one right value
    (e.g. one standard unit per test). Records with either side null are not considered."""
    left, right = view.expand(rule.check["left"]), view.expand(rule.check["right"])
    within = [view.expand(w) for w in rule.check.get("within", [])]
    prepare(rule, view, _needs(rule, [left, right, *within]))
    keep = ~view.null(left) & ~view.null(right) & _rows(rule, view)
    group = group_codes(view, within)[keep]
    lcodes, rcodes = view.codes(left)[keep], view.codes(right)[keep]
    direction = rule.check.get("direction", "both")
    bad = np.zeros(len(lcodes), dtype=bool)
    for side, other, wanted in ((lcodes, rcodes, "left"), (rcodes, lcodes, "right")):
        if direction not in ("both", wanted):
            continue
        g = group * (int(side.max(initial=0)) + 1) + side
        if int(g.max(initial=0)) >= 4 * len(g) + 1024:  # numbered afresh only when too sparse to count by
            g = pd.factorize(g)[0]
        # distinct (g, other) pairs as one integer each, then how many distinct others each g has
        width = int(other.max(initial=0)) + 1
        others_per_g = np.bincount(pd.unique(g.astype(np.int64) * width + other) // width)
        bad |= others_per_g[g] > 1
    mask = np.zeros(len(view.frame), dtype=bool)
    mask[np.flatnonzero(keep)[bad]] = True
    return [Hits(view.table.name, mask, (left, right, *within), view=view)]


def lookup(rule, view, ctx) -> list[Hits]:
    """Values of ``keys`` must exist in dataset ``in`` (with its ``columns``; default same names).

    E.g. USUBJID in DM.USUBJID (CG0029), ARMCD in TA.ARMCD. ``where`` limits the checked records,
    ``target_where`` the target records; ``allow`` lists values accepted without a match."""
    keys = [view.expand(k) for k in rule.check["keys"]]
    prepare(rule, view, _needs(rule, keys))
    target_name = rule.check["in"]
    target = ctx.tables.get(target_name)
    columns = rule.check.get("columns", rule.check["keys"])
    if target is None:
        raise MissingInput(f"{target_name} dataset absent")
    tview = View(target, ctx.tables)
    columns = [tview.expand(c) for c in columns]
    missing = [c for c in columns if c not in target.frame.columns]
    if missing:
        raise MissingInput(f"{target_name} has no {', '.join(missing)}")
    trows = evaluate(rule.check["target_where"], tview) if rule.check.get("target_where") else slice(None)
    nulls = np.zeros(len(view.frame), dtype=bool)
    for k in keys:
        nulls |= view.null(k)
    if len(keys) == 1:
        # one key: test each distinct value once (a 5-million-record LB has a few thousand)
        allowed = set(key_text(tview, columns[0])[trows].to_numpy(dtype=object))
        found = (
            view.text_test(keys[0], lambda t: _key(t).isin(allowed).to_numpy())
            if not pd.api.types.is_numeric_dtype(view.column(keys[0]).dtype)
            else _key(view.column(keys[0])).isin(allowed).to_numpy()
        )
    else:
        wanted = [key_codes(tview, c) for c in columns]
        found = keys_found([key_codes(view, k) for k in keys], [(codes[trows], text) for codes, text in wanted])
    mask = _rows(rule, view) & ~nulls & ~np.asarray(found, dtype=bool)
    if rule.check.get("allow"):
        mask &= ~view.column(keys[0]).isin(rule.check["allow"]).to_numpy()
    return [Hits(view.table.name, mask, tuple(keys), view=view)]


def keys_found(here: list[tuple[np.ndarray, np.ndarray]], wanted: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Records whose keys are together those of a ``wanted`` record: ``MultiIndex(here).isin(MultiIndex(
    wanted))`` on the key text (:func:`_key`). Each key comes as (codes, key text of each distinct value)
    (:func:`key_codes`): the distinct texts of both sides are numbered together (a few thousand), the
    records take their numbers by their codes, and the numbers are combined into one integer per record."""
    size = len(here[0][0])

    def numbers(mine: np.ndarray, my_text: np.ndarray, theirs: np.ndarray, their_text: np.ndarray) -> np.ndarray:
        numbered, _ = pd.factorize(np.concatenate([my_text, their_text]), use_na_sentinel=False)
        return np.concatenate([numbered[: len(my_text)][mine], numbered[len(my_text) :][theirs]])

    pairs = zip(here, wanted, strict=True)
    codes = combined_codes((numbers(*mine, *theirs) for mine, theirs in pairs), size + len(wanted[0][0]))
    return np.isin(codes[:size], codes[size:])


def key_codes(view, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(codes, :func:`_key` text of each distinct value) of column ``name``: the table's codes and the
    text made once per distinct value (kept, as :func:`key_text` keeps it) for a column it keeps."""
    if not view.keeps(name):
        codes, texts = pd.factorize(_key(view.column(name)), use_na_sentinel=False)
        return codes, np.asarray(texts, dtype=object)
    name = view.expand(name)
    texts = view.table.on_distinct(name, lambda u: _key(u).to_numpy(dtype=object), key="key text")
    return view.table.factorized(name)[0], texts


def key_text(view, name: str) -> pd.Series:
    """:func:`_key` of column ``name``: once per distinct value of a column the table keeps, kept for
    the next rule (a 4-million-record LB's USUBJID and LBSEQ are looked up by several rules)."""
    if not view.keeps(name):
        return _key(view.column(name))
    text = view.table.per_value(view.expand(name), lambda u: _key(u).to_numpy(dtype=object), key="key text")
    return pd.Series(text, index=view.frame.index, dtype="str")


def _key(series: pd.Series) -> pd.Series:
    """Keys compared as text, numbers without a trailing .0 (VISITNUM 1 matches "1")."""
    if pd.api.types.is_numeric_dtype(series.dtype) and len(series) >= 20_000:
        codes, uniques = pd.factorize(series, use_na_sentinel=False)
        return pd.Series(_key(pd.Series(uniques)).to_numpy()[codes], index=series.index, dtype="str")
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype="float64")
        whole = np.isfinite(values) & (values == np.floor(values))
        text = values.astype("str").astype(object)
        text[whole] = values[whole].astype(np.int64).astype("str")
        text[np.isnan(values)] = ""
        return pd.Series(text, index=series.index, dtype="str")
    return series.astype("str").str.strip()


def group_count(rule, view, ctx) -> list[Hits]:
    """Records whose group (``keys``) has fewer than ``min`` or more than ``max`` records, e.g. a RELID
    used by a single RELREC record relates nothing (CG0200)."""
    keys = [view.expand(k) for k in rule.check["keys"]]
    prepare(rule, view, _needs(rule, keys))
    rows = _rows(rule, view)
    codes = group_codes(view, keys)[rows]
    size = np.bincount(codes)[codes] if len(codes) else np.zeros(0, dtype=np.int64)
    bad = np.zeros(len(size), dtype=bool)
    if "min" in rule.check:
        bad |= size < rule.check["min"]
    if "max" in rule.check:
        bad |= size > rule.check["max"]
    mask = np.zeros(len(view.frame), dtype=bool)
    mask[np.flatnonzero(rows)[bad]] = True
    return [Hits(view.table.name, mask, tuple(keys), view=view)]
