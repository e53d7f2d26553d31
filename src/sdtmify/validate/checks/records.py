"""Record-level checks: a condition that flags records, and value-in-codelist."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..conditions import MissingInput, View, evaluate, variables_of
from ..data import text_or_empty
from ..hits import Hits, same_for_every_record


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
    an extensible one it is a sponsor extension that must be declared in define.xml (a warning here).

    ``by_category: {variable: RSCAT, codelist: CCCAT, suffix: TC}`` picks the codelist per record from
    its category: CDISC CT gives each instrument (a term of the category codelist, e.g. KPS SCALE with
    the CDISC synonym KPSS01) its own test-code codelist, named by that synonym and the suffix
    (KPSS01TC). Records of such a category are held to their instrument's codelist; the others to
    ``codelist`` (RSTESTCD of the oncology responses: ONCRTSCD)."""
    name = view.expand(rule.check["variable"])
    by = rule.check.get("by_category")
    category = view.expand(by["variable"]) if by else None
    prepare(rule, view, [name, *([category] if category else []), *variables_of(rule.check.get("where") or {})])
    if ctx.ct is None:
        raise MissingInput("no controlled terminology loaded (pass --ct FILE)")
    cl = ctx.ct.codelist(rule.check["codelist"])
    if cl is None:
        raise MissingInput(f"codelist {rule.check['codelist']} not in the loaded CT")
    scope = ~view.null(name)
    if rule.check.get("where"):
        scope &= evaluate(rule.check["where"], view)
    groups: list[tuple[np.ndarray, object, str]] = []  # (records, codelist or None, codelist name)
    if category:
        categories = text_or_empty(view.column(category))
        default = np.ones(len(view.frame), dtype=bool)
        for value in sorted(set(categories[scope]) - {""}):
            instrument = ctx.ct.instrument_codelist(by["codelist"], value, by.get("suffix", "TC"))
            if instrument is None:  # not an instrument of the category codelist: the default codelist
                continue
            records = (categories == value).to_numpy(dtype=bool)
            default &= ~records
            groups.append((records, ctx.ct.codelist(instrument), instrument))
        groups.insert(0, (default, cl, rule.check["codelist"]))
    else:
        groups.append((np.ones(len(view.frame), dtype=bool), cl, rule.check["codelist"]))
    return [_outside(view, name, scope & records, lst, label, rule.severity) for records, lst, label in groups]


def _outside(view, name: str, scope: np.ndarray, cl, label: str, severity: str) -> Hits:
    """The records of ``scope`` whose value is not a term of ``cl`` (all of them when ``cl`` is not loaded)."""
    if cl is None:
        text = f"{label} (not in the loaded CT; pass --ct with the full package)"
        return Hits(
            view.table.name,
            scope,
            (name,),
            view=view,
            severity="warning",
            extra={"codelist": same_for_every_record(text, len(scope))},
        )
    values = set(cl.values())
    mask = scope & ~view.text_test(name, lambda t: t.isin(values).to_numpy(dtype=bool))
    extensible = "extensible" if cl.extensible else "non-extensible"
    extra = {"codelist": same_for_every_record(f"{cl.name} ({cl.c_code}, {extensible})", len(scope))}
    warning = "warning" if cl.extensible and severity == "error" else None
    return Hits(view.table.name, mask, (name,), view=view, severity=warning, extra=extra)
