"""Metadata checks: dataset and variable attributes as XPT v5 / FDA / the IG require them."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..data import on_distinct_of_columns
from ..hits import Hits
from .presence import _ig_dataset
from .relations import group_codes, repeated

_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_ASCII = re.compile(r"[\x20-\x7e]*")


def _variables(view):
    """Variables in frame order, with the metadata the reader found (or defaults)."""
    by_name = {v.name: v for v in view.table.meta.variables}
    return [(name, by_name.get(name)) for name in view.frame.columns]


def metadata(rule, view, ctx) -> list[Hits]:
    """One attribute of the dataset or of every variable; ``attribute`` names which:

    name_length / name_pattern (XPT v5, SDTMIG 2.2.1: <= 8, letters, digits, underscore, not a digit first),
    label_length / label_ascii / label_missing (<= 40 ASCII), char_length (FDA TCG 4.1.5: <= 200),
    length_unused (FDA TCG: declared length should be the longest value), dataset_name_length,
    dataset_label_length, numeric_type (``variables`` must be Num, e.g. --SEQ, --DY)."""
    attr = rule.check["attribute"]
    limit = rule.check.get("max")
    items = []
    table = view.table
    if attr == "records":
        if not len(view.frame):
            items.append({"variable": "", "value": 0})
    elif attr == "dataset_name_length":
        if len(table.name) > (limit or 8):
            items.append({"variable": "", "value": table.name, "length": len(table.name)})
    elif attr == "dataset_label_length":
        if len(table.meta.label or "") > (limit or 40):
            items.append({"variable": "", "value": table.meta.label, "length": len(table.meta.label)})
    elif attr == "length_unused":
        text = list(table.text_columns)
        # the longest value of each column: measured once per distinct value, in one call per dataset
        lengths = on_distinct_of_columns(table, text, lambda t: t.str.len().to_numpy())
        for name, var in _variables(view):
            if var is None or var.type != "Char" or not len(view.frame):
                continue
            length = lengths[name] if name in lengths else view.text_test(name, lambda t: t.str.len().to_numpy())
            longest = int(np.max(length, initial=0))
            if var.length > max(longest, 1) and var.length > rule.check.get("min", 8):
                items.append({"variable": name, "value": var.length, "longest": longest})
    else:
        wanted = {view.expand(v) for v in rule.check.get("variables", [])}
        for name, var in _variables(view):
            label = var.label if var else ""
            bad: int | str | None = None
            if attr == "name_length" and len(name) > (limit or 8):
                bad = len(name)
            elif attr == "name_pattern" and not _NAME.fullmatch(name):
                bad = name
            elif attr == "label_length" and len(label) > (limit or 40):
                bad = len(label)
            elif attr == "label_ascii" and not _ASCII.fullmatch(label):
                bad = label
            elif attr == "label_missing" and not label.strip():
                bad = "(empty)"
            elif attr == "char_length" and var is not None and var.type == "Char" and var.length > (limit or 200):
                bad = var.length
            elif (
                attr == "numeric_type" and name in wanted and not pd.api.types.is_numeric_dtype(view.frame[name].dtype)
            ):
                bad = "Char"
            elif attr == "date_format" and re.fullmatch(rule.check.get("pattern", r".*DTM?"), name):
                fmt = (var.format if var else "").upper()
                is_num = pd.api.types.is_numeric_dtype(view.frame[name].dtype)
                if not is_num or not re.match(r"(E8601|DATE|DATETIME|YYMMDD|IS8601|B8601|TIME|E8601DT)", fmt):
                    bad = f"{'Num' if is_num else 'Char'} {fmt or 'no format'}"
            if bad is not None:
                items.append({"variable": name, "value": bad, "label": label})
    return [Hits(table.name, items=items)]


def ig_metadata(rule, view, ctx) -> list[Hits]:
    """Variable ``attribute`` (label | type | order) as in the IG dataset template (SDTMIG 3.4 section 6,
    ADaMIG 1.3 section 3; CG0330 order, CG0012 type). Variables the IG does not define are left to
    the model-level rules."""
    meta = _ig_dataset(view, ctx)
    attr = rule.check["attribute"]
    ig = {v.name: v for v in meta.variables}
    ours = dict(_variables(view))
    items = []
    if attr == "keys":
        keys = [k for k in meta.keys if k in view.frame.columns]
        if not keys:
            return []
        mask = repeated(group_codes(view, keys))
        return [Hits(view.table.name, mask, tuple(keys), view=view)]
    if attr == "order":
        present = [n for n in view.frame.columns if n in ig]
        expected = sorted(present, key=lambda n: ig[n].order)
        for got, want in zip(present, expected, strict=False):
            if got != want:
                items.append(
                    {"variable": got, "value": f"{present.index(got) + 1}", "expected": f"{want} at this place"}
                )
                break
        return [Hits(view.table.name, items=items)]
    for name, var in ours.items():
        if name not in ig or var is None:
            continue
        if attr == "label" and var.label.strip() != ig[name].label.strip():
            items.append({"variable": name, "value": var.label, "expected": ig[name].label})
        elif attr == "type":
            is_num = bool(pd.api.types.is_numeric_dtype(view.frame[name].dtype))
            if is_num != (ig[name].type == "Num"):
                items.append({"variable": name, "value": "Num" if is_num else "Char", "expected": ig[name].type})
    return [Hits(view.table.name, items=items)]
