"""Does a define.xml agree with the transport files beside it, and with itself?

Checks (Define-XML 2.1 sections 5.3.4-5.3.13, and what reviewers' tools check):
every dataset and variable present both ways; dataset and variable labels; DataType against the
XPT storage type; Length against the XPT length; variable order against OrderNumber; KeySequence
consecutive, records sorted by the keys and unique on them; data values of variables with a
codelist (and of value-level entries, under their where clause) in that codelist; and every OID
reference in the file resolving to a definition, every definition being used.

Each message names the file and line in define.xml or the .xpt and variable at fault, and what the
two sides say. Data checks are vectorized: values are compared per distinct value, not per record.
define.xml is read by ``define_xml`` (the project's one Define-XML reader); the catalogue's DD rules
run these checks inside ``sdtmify validate``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from lxml import etree

from ..errors import InputError
from ..readers import read_dataset
from .define_xml import (
    DEF,
    LENGTH_TYPES,
    NS,
    NUMERIC_TYPES,
    ItemGroup,
    codelist_values,
    description,
    item_groups,
    parse_define,
    where_clauses,
)

SHOWN = 5  # values listed per message; the count says how many there are in all


@dataclass
class XptData:
    """What define.xml is compared with: one transport file's metadata and records."""

    path: Path
    name: str
    label: str
    frame: pd.DataFrame
    labels: dict[str, str]
    lengths: dict[str, int]
    numeric: dict[str, bool]


def read_xpt(path: Path) -> XptData:
    """One XPT v5 file with its declared variable metadata (``sdtmify.readers``: pyreadstat values,
    header lengths and labels from the NAMESTR records)."""
    frame, meta = read_dataset(path)
    return XptData(
        path=path,
        name=meta.name.upper(),
        label=meta.label or "",
        frame=frame,
        labels={v.name: v.label or "" for v in meta.variables},
        lengths={v.name: v.length for v in meta.variables},
        numeric={v.name: v.type == "Num" for v in meta.variables},
    )


def _show(values) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:SHOWN])
    return shown + (f" and {len(values) - SHOWN} more" if len(values) > SHOWN else "")


# ---------------------------------------------------------------------------------------------
# References inside define.xml.

# (element xpath, attribute, kind of definition it must name)
REFERENCES = (
    (".//odm:ItemRef", "ItemOID", "ItemDef"),
    (".//odm:ItemRef", "MethodOID", "MethodDef"),
    (".//odm:CodeListRef", "CodeListOID", "CodeList"),
    (".//def:ValueListRef", "ValueListOID", "def:ValueListDef"),
    (".//def:WhereClauseRef", "WhereClauseOID", "def:WhereClauseDef"),
    (".//odm:RangeCheck", DEF + "ItemOID", "ItemDef"),
    (".//*[@def:CommentOID]", DEF + "CommentOID", "def:CommentDef"),
    (".//*[@def:StandardOID]", DEF + "StandardOID", "def:Standard"),
    (".//def:DocumentRef", "leafID", "def:leaf"),
    (".//odm:ItemGroupDef", DEF + "ArchiveLocationID", "def:leaf"),
    (".//arm:AnalysisDataset", "ItemGroupOID", "ItemGroupDef"),
    (".//arm:AnalysisVariable", "ItemOID", "ItemDef"),
    (".//arm:AnalysisResult", "ParameterOID", "ItemDef"),
)
DEFINITIONS = {
    "ItemDef": (".//odm:ItemDef", "OID"),
    "MethodDef": (".//odm:MethodDef", "OID"),
    "CodeList": (".//odm:CodeList", "OID"),
    "def:ValueListDef": (".//def:ValueListDef", "OID"),
    "def:WhereClauseDef": (".//def:WhereClauseDef", "OID"),
    "def:CommentDef": (".//def:CommentDef", "OID"),
    "def:Standard": (".//def:Standard", "OID"),
    "def:leaf": (".//def:leaf", "ID"),
    "ItemGroupDef": (".//odm:ItemGroupDef", "OID"),
}
# Definitions that are pointless unless something refers to them.
MUST_BE_USED = ("ItemDef", "MethodDef", "CodeList", "def:ValueListDef", "def:WhereClauseDef", "def:CommentDef")


def check_references(root, file: str = "define.xml") -> list[str]:
    """Every OID reference resolves; every ItemDef, CodeList, method, comment, value list and where
    clause is used by something."""
    defined = {kind: {el.get(attr) for el in root.iterfind(xpath, NS)} for kind, (xpath, attr) in DEFINITIONS.items()}
    used: dict[str, set[str]] = {kind: set() for kind in DEFINITIONS}
    messages = []
    for xpath, attr, kind in REFERENCES:
        for el in root.iterfind(xpath, NS):
            oid = el.get(attr)
            if oid is None:
                continue
            used[kind].add(oid)
            if oid not in defined[kind]:
                tag = etree.QName(el).localname
                name = attr.split("}")[-1]
                messages.append(f"{file}:{el.sourceline}: {tag} {name}={oid!r} refers to no {kind}")
    for xpath, kind in (
        (".//odm:ItemGroupDef", "ItemGroupDef"),
        (".//odm:ItemDef", "ItemDef"),
        (".//odm:MethodDef", "MethodDef"),
        (".//def:CommentDef", "def:CommentDef"),
    ):
        for el in root.iterfind(xpath, NS):
            if not description(el).strip():
                messages.append(
                    f"{file}:{el.sourceline}: {kind} {el.get('OID')!r} has no description; "
                    "state what it is (a label, or how the value is derived)"
                )
    for kind in MUST_BE_USED:
        xpath, attr = DEFINITIONS[kind]
        for el in root.iterfind(xpath, NS):
            if el.get(attr) not in used[kind]:
                messages.append(f"{file}:{el.sourceline}: {kind} {el.get(attr)!r} is defined but nothing refers to it")
    return messages


# ---------------------------------------------------------------------------------------------
# define.xml against the data.


def check_define_against_data(define_path: str | Path, data_folder: str | Path) -> list[str]:
    """All inconsistencies between ``define_path`` and the .xpt files in ``data_folder``, as messages."""
    define_path, data_folder = Path(define_path), Path(data_folder)
    file = define_path.name
    try:
        root = parse_define(define_path)
    except InputError as exc:
        return [f"{file}: {exc.bare_message}"]
    messages = check_references(root, file)
    codelists = codelist_values(root)
    where = where_clauses(root)
    groups = item_groups(root)
    described = set()
    for group in groups:
        path = data_folder / group.href
        described.add(path.name.lower())
        if not path.is_file():
            messages.append(
                f"{file}:{group.element.sourceline}: dataset {group.name} points to {group.href}, "
                f"which is not in {data_folder}"
            )
            continue
        messages += check_dataset(group, read_xpt(path), codelists, where, file)
    for path in sorted(data_folder.glob("*.xpt")):
        if path.name.lower() not in described:
            messages.append(
                f"{path.name}: dataset {path.stem.upper()} is not described in {file}; "
                "add its ItemGroupDef or remove the file"
            )
    return messages


def check_dataset(group: ItemGroup, data: XptData, codelists, where, file: str) -> list[str]:
    messages = []
    at = f"{file}:{group.element.sourceline}"
    xpt = data.path.name
    if data.name != group.name:
        messages.append(f"{at}: dataset {group.name}: {xpt} holds dataset {data.name}")
    label = description(group.element)
    if label != data.label:
        messages.append(f"{at}: dataset {group.name}: label {label!r} in {file} but {data.label!r} in {xpt}")
    defined = [item.get("Name") if item is not None else None for _, item in group.refs]
    columns = list(data.frame.columns)
    for (_ref, item), name in zip(group.refs, defined, strict=False):
        if item is None:
            continue  # a dangling ItemOID is reported by check_references
        line = f"{file}:{item.sourceline}"
        if name not in data.frame.columns:
            messages.append(f"{line}: {group.name}.{name} is in {file} but not in {xpt}")
            continue
        messages += _check_variable(group.name, name, item, data, line, xpt, file)
    for name in columns:
        if name not in defined:
            messages.append(
                f"{xpt}: {group.name}.{name} is in {xpt} but not in {file}; add an ItemRef and "
                "ItemDef for it or drop the column"
            )
    common_define = [n for n in defined if n in columns]
    common_data = [n for n in columns if n in defined]
    if common_define != common_data:
        position = next(i for i, (a, b) in enumerate(zip(common_define, common_data, strict=False)) if a != b)
        messages.append(
            f"{at}: dataset {group.name}: variable order differs from OrderNumber at position "
            f"{position + 1}: {common_define[position]} in {file}, {common_data[position]} in {xpt}"
        )
    messages += _check_keys(group, data, at, xpt)
    messages += _check_codelist_values(group, data, codelists, where, file, xpt)
    return messages


def _check_variable(dataset, name, item, data: XptData, line, xpt, file) -> list[str]:
    messages = []
    label = description(item)
    if label != data.labels.get(name, ""):
        messages.append(
            f"{line}: {dataset}.{name}: label {label!r} in {file} but {data.labels.get(name, '')!r} in {xpt}"
        )
    data_type = item.get("DataType")
    numeric = data.numeric.get(name, False)
    if (data_type in NUMERIC_TYPES) != numeric:
        stored = "numeric" if numeric else "character"
        wanted = "numeric" if data_type in NUMERIC_TYPES else "character"
        messages.append(
            f"{line}: {dataset}.{name}: DataType {data_type} in {file} ({wanted}) but {xpt} stores it as {stored}"
        )
    length = item.get("Length") if data_type in LENGTH_TYPES else None  # no Length for date/time types
    stored_length = data.lengths.get(name)
    if length is not None and stored_length is not None and int(length) != int(stored_length):
        messages.append(f"{line}: {dataset}.{name}: Length {length} in {file} but {stored_length} in {xpt}")
    return messages


def _check_keys(group: ItemGroup, data: XptData, at: str, xpt: str) -> list[str]:
    """SDTMIG 3.4 section 3.2.1.1 / Define-XML 2.1 KeySequence: the natural keys, in order, that sort and
    identify the records."""
    keyed = sorted(
        (int(ref.get("KeySequence")), item.get("Name"))
        for ref, item in group.refs
        if ref.get("KeySequence") and item is not None
    )
    if not keyed:
        return []
    messages = []
    sequence = [seq for seq, _ in keyed]
    if sequence != list(range(1, len(keyed) + 1)):
        messages.append(f"{at}: dataset {group.name}: KeySequence values {sequence} should run 1..{len(keyed)}")
    keys = [name for _, name in keyed]
    missing = [k for k in keys if k not in data.frame.columns]
    if missing:
        return messages + [f"{at}: dataset {group.name}: key variables {', '.join(missing)} are not in {xpt}"]
    if len(data.frame) < 2:
        return messages
    # A Num key holding SAS special missings is read as objects: compare its numbers.
    frame = pd.DataFrame(
        {k: pd.to_numeric(data.frame[k], errors="coerce") if data.numeric.get(k) else data.frame[k] for k in keys}
    )
    order = key_order(frame, keys)
    before = np.flatnonzero(order < 0)
    if before.size:
        record = int(before[0]) + 2
        messages.append(
            f"{xpt}: records are not sorted by the {group.name} keys {', '.join(keys)} from "
            f"define.xml (record {record} sorts before record {record - 1})"
        )
        shared = frame.duplicated(keys, keep=False).to_numpy()
    else:
        # Sorted records share keys only with their neighbours.
        same = order == 0
        shared = np.zeros(len(data.frame), dtype=bool)
        shared[1:] |= same
        shared[:-1] |= same
    if shared.any():
        first = frame.iloc[int(np.flatnonzero(shared)[0])]
        example = ", ".join(f"{k}={first[k]!r}" for k in keys)
        messages.append(
            f"{xpt}: {int(shared.sum())} records share their {group.name} keys "
            f"{', '.join(keys)} (e.g. {example}); the keys must identify each record"
        )
    return messages


def key_order(frame: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """For each record after the first: -1, 0 or 1 as it sorts before, with or after the one before it,
    by ``keys`` in order, missing values first as SAS sorts them. Neighbours are compared column by
    column (no sort of the whole table: one pass per key)."""
    result = np.zeros(max(len(frame) - 1, 0), dtype=np.int8)
    for key in keys:
        column = frame[key]
        if pd.api.types.is_numeric_dtype(column):
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            values = np.where(np.isnan(values), -np.inf, values)
        else:
            values = column.fillna("").astype(str).to_numpy(dtype=object)
        previous, current = values[:-1], values[1:]
        step = (current > previous).astype(np.int8) - (current < previous).astype(np.int8)
        result = np.where(result == 0, step, result)
    return result


def as_text(values: pd.Series, numeric: bool | None = None) -> pd.Series:
    """Data values as codelist text: numbers without a trailing .0 (1.0 -> "1"), missing values dropped.

    ``numeric`` says the column is Num; a Num column holding SAS special missings (.A-.Z) is read as
    objects, and only its numbers are compared."""
    if numeric:
        values = pd.to_numeric(values, errors="coerce")
    values = values.dropna()
    if pd.api.types.is_numeric_dtype(values):
        integral = np.isclose(values, np.round(values))
        text = values.astype(float).map(repr)
        text[integral] = values[integral].round().astype("int64").astype(str)
        return text
    values = values.astype(str)
    return values[values != ""]


class _Texts:
    """Each column's values as codelist text, computed once per dataset: a where clause tested by
    fifty value-level entries reads its column once, not fifty times (5 million LB records)."""

    def __init__(self, data: XptData):
        self.data = data
        self.cache: dict[str, pd.Series] = {}

    def __getitem__(self, name: str) -> pd.Series:
        if name not in self.cache:
            self.cache[name] = as_text(self.data.frame[name], self.data.numeric.get(name))
        return self.cache[name]


def _where_mask(texts: _Texts, conditions) -> pd.Series | None:
    """Records where every RangeCheck of a WhereClauseDef holds."""
    frame = texts.data.frame
    mask = pd.Series(True, index=frame.index)
    for variable, comparator, values in conditions:
        if variable not in frame.columns:
            return None
        hit = frame.index.isin(texts[variable].index[texts[variable].isin(values)])
        mask &= ~hit if comparator in ("NE", "NOTIN") else hit
    return mask


def _has_codelist(item, codelists) -> bool:
    ref = item.find("odm:CodeListRef", NS)
    return ref is not None and codelists.get(ref.get("CodeListOID"), (None, None, None))[2] is not None


def _check_codelist_values(group: ItemGroup, data: XptData, codelists, where, file, xpt) -> list[str]:
    messages = []
    texts = _Texts(data)
    tree = group.element.getroottree()
    value_lists = {vl.get("OID"): vl for vl in tree.iterfind(".//def:ValueListDef", NS)}
    items = {el.get("OID"): el for el in tree.iterfind(".//odm:ItemDef", NS)}
    for _, item in group.refs:
        if item is None or item.get("Name") not in data.frame.columns:
            continue
        name = item.get("Name")
        if _has_codelist(item, codelists):
            messages += _values_in_codelist(group.name, name, item, texts[name], codelists, file, xpt, "")
        vl_ref = item.find("def:ValueListRef", NS)
        vl = value_lists.get(vl_ref.get("ValueListOID")) if vl_ref is not None else None
        if vl is None:
            continue
        for ref in vl.findall("odm:ItemRef", NS):
            vl_item = items.get(ref.get("ItemOID"))
            clause = ref.find("def:WhereClauseRef", NS)
            if vl_item is None or clause is None or clause.get("WhereClauseOID") not in where:
                continue
            if not _has_codelist(vl_item, codelists):
                continue
            conditions = where[clause.get("WhereClauseOID")]
            mask = _where_mask(texts, conditions)
            if mask is None:
                continue
            values = texts[name]
            values = values[mask.reindex(values.index).to_numpy()]
            text = " and ".join(f"{v} {c} {', '.join(vals)}" for v, c, vals in conditions)
            messages += _values_in_codelist(group.name, name, vl_item, values, codelists, file, xpt, f" where {text}")
    return messages


def _values_in_codelist(dataset, name, item, values: pd.Series, codelists, file, xpt, context) -> list[str]:
    ref = item.find("odm:CodeListRef", NS)
    if ref is None or ref.get("CodeListOID") not in codelists:
        return []
    oid = ref.get("CodeListOID")
    cl_name, _, allowed = codelists[oid]
    if allowed is None or values.empty:
        return []
    counts = values.value_counts(sort=False)
    outside = counts[~counts.index.isin(list(allowed))]
    if outside.empty:
        return []
    shown = sorted(outside.index)
    return [
        f"{xpt}: {dataset}.{name}{context}: {len(shown)} value(s) not in codelist {oid} ({cl_name}) of "
        f"{file}:{item.sourceline}: {_show(shown)} in {int(outside.sum())} record(s)"
    ]
