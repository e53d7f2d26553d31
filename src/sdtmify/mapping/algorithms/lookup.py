"""``lookup``: a value from another source table joined on key columns (e.g. a coding dictionary)."""

from __future__ import annotations

import pandas as pd

from ... import yamlio
from ..context import MappingContext
from .base import Algorithm, as_text, register


def lookup(spec, ctx: MappingContext, path) -> pd.Series:
    """Join to another source table and take one of its columns (sdtm.oak assign_no_ct with a
    merge; SDTMIG 3.4 section 4.3: a coded term comes from the dictionary, not retyped).

    ``on_duplicate`` says what several rows with the same key mean: an error (default), or take
    the first / last in the table's order; ``case: insensitive`` matches keys ignoring case and
    surrounding blanks."""
    lookup = spec["lookup"]
    here = [*path, "lookup"]
    try:
        table = ctx.study.source(lookup["source"])
    except Exception as exc:  # unknown source: say where in this file
        raise ctx.error([*here, "source"], getattr(exc, "bare_message", str(exc))) from None
    on = lookup["on"]
    pairs = {on: on} if isinstance(on, str) else dict(on)
    left_values = {}
    for left, right in pairs.items():
        # a key is a source column, or a variable computed earlier (e.g. an AETERM built with concat)
        left_values[left] = (
            ctx.values[left] if left in ctx.values and left not in ctx.rows else ctx.column(left, [*here, "on"])
        )
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
    insensitive = lookup.get("case") == "insensitive"

    def key_text(series: pd.Series) -> pd.Series:
        text = as_text(series)
        return text.str.strip().str.upper() if insensitive else text

    right = pd.DataFrame({c: key_text(table[c]).to_numpy() for c in right_cols})
    right["_value"] = table[lookup["column"]].to_numpy()
    policy = lookup.get("on_duplicate", "error")
    dupes = right.duplicated(right_cols, keep=False)
    if dupes.any() and policy == "error":
        raise ctx.error(
            here,
            f"source '{lookup['source']}' has several rows for "
            f"{table.loc[dupes.to_numpy(), right_cols].iloc[0].tolist()}; a lookup needs unique keys "
            f"(or say which to take with 'on_duplicate: first' or 'last')",
        )
    right = right.drop_duplicates(right_cols, keep=policy if policy in ("first", "last") else "first")
    keys = pd.DataFrame({r: key_text(left_values[left]).to_numpy() for left, r in pairs.items()}, index=ctx.rows.index)
    merged = keys.merge(right, on=right_cols, how="left", sort=False)
    values = pd.Series(merged["_value"].to_numpy(), index=ctx.rows.index)
    missing = values.isna() & (keys != "").all(axis=1)
    if lookup.get("required") and missing.any():
        first = keys.loc[missing].iloc[0].tolist()
        raise ctx.error(
            here,
            f"{int(missing.sum())} records have no match in '{lookup['source']}', e.g. "
            f"{first} ({ctx.row_numbers(missing, 1)}); add them to that table",
        )
    return as_text(values)


ALGORITHM = register(
    Algorithm(
        "lookup",
        lookup,
        {
            "lookup": {
                "type": "object",
                "additionalProperties": False,
                "required": ["source", "on", "column"],
                "properties": {
                    "source": {"type": "string"},
                    "on": {
                        "oneOf": [
                            {"type": "string"},
                            {"type": "object", "minProperties": 1, "additionalProperties": {"type": "string"}},
                        ],
                        "description": "a column name present on both sides, or {this_column: that_column}; "
                        "this side may also be a variable computed earlier in the file",
                    },
                    "column": {"type": "string"},
                    "required": {"type": "boolean"},
                    "on_duplicate": {
                        "type": "string",
                        "enum": ["error", "first", "last"],
                        "description": "several rows with the same key: an error (default), the first or the last",
                    },
                    "case": {
                        "type": "string",
                        "enum": ["sensitive", "insensitive"],
                        "description": "insensitive: keys match ignoring case and surrounding blanks",
                    },
                },
            }
        },
        "Looked up in another source table by the record's key values.",
        origin="Collected",
    )
)
