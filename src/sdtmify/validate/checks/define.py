"""Define-XML 2.1 <-> data agreement (Define-XML 2.1 specification section 5; FDA TCG 4.1.4.5)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from lxml import etree

from ...errors import SdtmifyError, SpecError
from ..conditions import MissingInput
from ..define_check import check_references
from ..define_xml import parse_define, validate_define_xsd
from ..hits import Hits, same_for_every_record
from .relations import group_codes, repeated


def _declared(view, ctx):
    meta = ctx.define.get(view.table.standard)
    if meta is None:
        raise MissingInput(f"no {view.table.standard} define.xml given")
    for ds in meta.datasets:
        if ds.name == view.table.name:
            return meta, ds
    raise MissingInput(f"{view.table.name} not described in define.xml (see the dataset-level rule)")


def define(rule, view, ctx) -> list[Hits]:
    """One ``attribute`` of the data against define.xml: variables (both ways), label, type, length,
    order, dataset label, codelist values, mandatory (no nulls), keys unique."""
    meta, ds = _declared(view, ctx)
    attr = rule.check["attribute"]
    declared = {v.name: v for v in ds.variables}
    ours = {v.name: v for v in view.table.meta.variables}
    name = view.table.name
    items = []
    if attr == "variables_in_define":
        items = [{"variable": c, "value": "not in define.xml"} for c in view.frame.columns if c not in declared]
    elif attr == "variables_in_data":
        items = [{"variable": v, "value": "not in data"} for v in declared if v not in view.frame.columns]
    elif attr == "dataset_label":
        if (view.table.meta.label or "").strip() and view.table.meta.label.strip() != ds.label:
            items = [{"variable": "", "value": view.table.meta.label, "expected": ds.label}]
    elif attr in ("label", "length", "type"):
        for col in view.frame.columns:
            if col not in declared or col not in ours:
                continue
            d, o = declared[col], ours[col]
            if attr == "label" and o.label.strip() != d.label:
                items.append({"variable": col, "value": o.label, "expected": d.label})
            # Only text has a Length to compare: Define-XML 2.1 gives none for date, time and ISO 8601 types.
            elif attr == "length" and o.type == "Char" and d.data_type == "text" and d.length and o.length != d.length:
                items.append({"variable": col, "value": o.length, "expected": d.length})
            elif attr == "type":
                is_num = bool(pd.api.types.is_numeric_dtype(view.frame[col].dtype))
                if is_num != (d.type == "Num"):
                    items.append({"variable": col, "value": "Num" if is_num else "Char", "expected": d.data_type})
    elif attr == "order":
        present = [v.name for v in ds.variables if v.name in view.frame.columns]
        cols = [c for c in view.frame.columns if c in declared]
        for i, (got, want) in enumerate(zip(cols, present, strict=False), start=1):
            if got != want:
                items.append({"variable": got, "value": i, "expected": want})
                break
    elif attr == "mandatory":
        hits = [
            Hits(name, view.null(v.name), (v.name,), view=view)
            for v in ds.variables
            if v.core == "Req" and v.name in view.frame.columns
        ]
        return hits
    elif attr == "codelist":
        codelists = {cl.oid: cl for cl in meta.codelists}
        hits = []
        for v in ds.variables:
            cl = codelists.get(v.codelist)
            if cl is None or cl.dictionary or v.name not in view.frame.columns or not cl.items:
                continue
            col = view.column(v.name)
            values = set(cl.values())
            if pd.api.types.is_numeric_dtype(col.dtype):
                # numeric codes (e.g. AVALCAT1N): compare as numbers
                allowed = pd.to_numeric(pd.Series(sorted(values)), errors="coerce").dropna()
                bad = ~view.null(v.name) & ~col.isin(allowed.tolist()).to_numpy()
            else:
                terms = tuple(sorted(values))
                bad = ~view.null(v.name) & ~view.text_test(
                    v.name, lambda t, terms=terms: t.isin(terms).to_numpy(dtype=bool), key=("isin", terms)
                )
            hits.append(
                Hits(name, bad, (v.name,), view=view, extra={"codelist": same_for_every_record(cl.oid, len(col))})
            )
        return hits
    elif attr == "keys":
        keys = [k for k in ds.keys if k in view.frame.columns]
        if not keys:
            return []
        mask = repeated(group_codes(view, keys))
        return [Hits(name, mask, tuple(keys), view=view)]
    return [Hits(name, items=items)]


def define_datasets(rule, ctx, tables, direction: str = "data") -> list[Hits]:
    """Every dataset has an ItemGroupDef (``direction: data``) and every ItemGroupDef has a dataset
    (``direction: define``), per standard."""
    if not ctx.define:
        raise MissingInput("no define.xml given")
    hits = []
    for standard, meta in sorted(ctx.define.items()):
        declared = {d.name for d in meta.datasets}
        present = {t.name for t in ctx.validated().values() if t.standard == standard}
        if direction == "data":
            hits += [Hits(n, items=[{"variable": "", "value": n}]) for n in sorted(present - declared)]
        else:
            hits += [Hits(n, items=[{"variable": "", "value": n}]) for n in sorted(declared - present)]
    return hits


def _define_files(ctx) -> list[tuple[str, Path]]:
    if not ctx.define_files:
        raise MissingInput("no define.xml given")
    return sorted(ctx.define_files.items())


def _shown_name(path) -> str:
    """sdtm/define.xml rather than define.xml: a build has two of them."""
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def define_schema(rule, ctx, tables) -> list[Hits]:
    """Define-XML 2.1 section 2 / FDA TCG 4.1.4.5: define.xml validates against the Define-XML 2.1 XSD
    (with ARM 1.0 when it holds analysis results). One finding per schema message, with file:line."""
    hits = []
    for _, path in _define_files(ctx):
        try:
            messages = validate_define_xsd(path)
        except SpecError:
            raise  # odmlib, which ships the XSD, is missing: stop (exit 2) rather than skip the rule
        except SdtmifyError as exc:
            raise MissingInput(str(exc)) from exc
        hits.append(Hits(_shown_name(path), items=_items(messages, path)))
    return hits


def define_references(rule, ctx, tables) -> list[Hits]:
    """Define-XML 2.1 sections 5.3.x: every OID reference resolves to a definition, every definition
    is used and described (``define_check.check_references``)."""
    hits = []
    for _, path in _define_files(ctx):
        messages = check_references(parse_define(path), path.name)
        hits.append(Hits(_shown_name(path), items=_items(messages, path)))
    return hits


def _items(messages: list[str], path) -> list[dict]:
    """One finding per message: the whole message, and its file:line as the value shown."""
    located = [f"{path.parent.name}/{m}" if path.parent.name and m.startswith(path.name) else m for m in messages]
    return [{"variable": "", "value": m.split(": ", 1)[0], "problem": m} for m in located]


# What a reviewer should not find in a method text: code literals, YAML, Python's None/nan, doubled
# backquotes, snake_case identifiers (parameter or function names).
_NOT_PROSE = re.compile(r"[{}\[\]]|: \{|\bNone\b|\bnan\b|``|\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def define_method_texts(rule, ctx, tables) -> list[Hits]:
    """Define-XML 2.1 section 5.3.6 (MethodDef Description: the method, for a reviewer): each
    description is prose, not code, and no two MethodDefs carry the same text (one shared MethodDef
    would do). One finding per MethodDef, with file:line."""
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
    hits = []
    for _, path in _define_files(ctx):
        try:
            root = etree.parse(str(path)).getroot()
        except (OSError, etree.XMLSyntaxError) as exc:
            raise MissingInput(f"{path.name}: {exc}") from exc
        seen: dict[str, str] = {}
        messages = []
        for method in root.iterfind(".//odm:MethodDef", ns):
            oid = method.get("OID")
            text = " ".join("".join(method.findtext("odm:Description/odm:TranslatedText", "", ns)).split())
            found = _NOT_PROSE.search(text)
            if found:
                messages.append(
                    f"{path.name}:{method.sourceline}: MethodDef {oid!r} reads as code ('{found.group(0)}')"
                )
            elif text and text in seen:
                messages.append(
                    f"{path.name}:{method.sourceline}: MethodDef {oid!r} repeats the text of {seen[text]!r}"
                )
            seen.setdefault(text, oid)
        hits.append(Hits(_shown_name(path), items=_items(messages, path)))
    return hits
