"""Record-level checks: a condition that flags records, and value-in-codelist."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..conditions import MissingInput, View, evaluate, variables_of
from ..data import text_or_empty
from ..hits import Hits


def prepare(rule, view, names: list[str]) -> None:
    """Join the columns the rule asks for and make sure every variable it names is there."""
    joined: list[str] = []
    for dataset, columns in (rule.check.get("join") or {}).items():
        if not view.join(dataset, list(columns)):
            raise MissingInput(f"cannot join {dataset}.{'/'.join(columns)} by USUBJID ({dataset} or a column absent)")
        joined.extend(f"{dataset}.{c}" for c in columns)
    for spec in rule.check.get("join_agg") or ():
        if not join_aggregate(view, **spec):
            raise MissingInput(f"cannot compute {spec['name']} from {spec['dataset']}.{spec['column']}")
    missing = [view.expand(n) for n in names if not view.has(n)]
    if missing:
        raise MissingInput("no " + ", ".join(missing))


def join_aggregate(view, name: str, dataset: str, column: str, how: str = "max", where: dict | None = None) -> bool:
    """A per-subject aggregate of another dataset as a column (e.g. the last DSSTDTC of the subject).

    ISO 8601 text sorts chronologically at equal precision, so min/max of text is the first/last date."""
    other = view.tables.get(dataset)
    if other is None or column not in other.frame.columns or "USUBJID" not in view.frame.columns:
        return False
    rows = evaluate(where, View(other, view.tables)) if where else np.ones(len(other.frame), dtype=bool)
    rows &= ~other.is_null(column)
    grouped = other.frame.loc[rows].groupby("USUBJID")[column]
    values = getattr(grouped, how)()
    mapped = view.frame["USUBJID"].map(values)
    view.extra[name] = mapped if pd.api.types.is_numeric_dtype(values.dtype) else text_or_empty(mapped)
    return True


def record(rule, view, ctx) -> list[Hits]:
    """Flag every record where ``when`` holds (the conditional requirement, negated, in one place).

    ``check: {type: record, when: <condition>, join: {DM: [RFSTDTC]}, optional: [..], show: [..]}``"""
    when = rule.check["when"]
    names = variables_of(when)
    prepare(rule, view, names)
    mask = evaluate(when, view)
    return [Hits(view.table.name, mask, tuple(rule.check.get("show") or names), view=view)]


def codelist(rule, view, ctx) -> list[Hits]:
    """Values of ``variable`` must be terms of the CT codelist ``codelist`` (NCI code C66742 or its
    submission value NY), on the records where ``where`` holds (value level, e.g. TSVAL by TSPARMCD).

    SDTMIG 4.3 / CG0xxx CT conformance: a value outside a non-extensible codelist is an error; outside
    an extensible one it is a sponsor extension that must be declared in define.xml (a warning here)."""
    name = view.expand(rule.check["variable"])
    prepare(rule, view, [name, *variables_of(rule.check.get("where") or {})])
    if ctx.ct is None:
        raise MissingInput("no controlled terminology loaded (pass --ct FILE)")
    cl = ctx.ct.codelist(rule.check["codelist"])
    if cl is None:
        raise MissingInput(f"codelist {rule.check['codelist']} not in the loaded CT")
    series = view.column(name)
    values = set(cl.values())
    mask = ~view.null(name) & ~view.text_test(name, lambda t: t.isin(values).to_numpy(dtype=bool))
    if rule.check.get("where"):
        mask &= evaluate(rule.check["where"], view)
    severity = "warning" if cl.extensible and rule.severity == "error" else None
    extra = {
        "codelist": [f"{cl.name} ({cl.c_code}, {'extensible' if cl.extensible else 'non-extensible'})"] * len(series)
    }
    return [Hits(view.table.name, mask, (name,), view=view, severity=severity, extra=extra)]
