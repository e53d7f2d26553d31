"""From built frames to the Bundle: conform each dataset to SDTMIG 3.4 and state its metadata.

Origins, methods, comments, codelists (only the terms used, C-codes kept, sponsor terms flagged)
and value-level metadata (Findings results by test code, SUPP-- QVAL by QNAM) are what
define.xml will say; they come from the mapping files and the derivations' docstrings."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from .. import yamlio
from ..datasets import BuiltDataset, Bundle
from ..distinct import factorize_text, sort_order
from ..errors import MappingError
from ..metadata import conform, oids, standards
from ..metadata.conform import VariableError
from ..metadata.model import Comment, Condition, Dataset, Method, Origin, StudyMetadata, ValueLevel, Variable
from .algorithms.base import has_missing

LINEAGE = ("SRCTABLE", "SRCROW", "SRCPART")


def _conform(
    frame: pd.DataFrame,
    template: Dataset,
    lengths: dict[str, int],
    lineage: pd.DataFrame,
    notes: list[str],
    unknown: dict[str, str],
    profiles: dict[str, conform.TextProfile],
) -> tuple[pd.DataFrame, Dataset]:
    # a key is kept even when empty: define.xml states it and the records are sorted by it
    return conform.conform_dataset(
        frame,
        template,
        lengths=lengths,
        lineage=lineage,
        notes=notes,
        keep=template.keys,
        unknown=unknown,
        profiles=profiles,
    )


def _at_mapping(error, build) -> MappingError:
    """A conformance problem with one variable, placed at the mapping entry that declares it
    (``variables.X.length`` for a declared length), so the message starts with file:line."""
    mapping = build.mapping
    if mapping is None:
        return error
    # the file's own variables, else those of the first part (parts:) that maps the variable
    parts = mapping.document.get("parts") or []
    places = [([], mapping.document), *[(["parts", i], part) for i, part in enumerate(parts)]]
    for prefix, place in places:
        entry = (place.get("variables") or {}).get(error.variable)
        if entry is not None:
            path = [*prefix, "variables", error.variable]
            if error.key and isinstance(entry, dict) and error.key in entry:
                path.append(error.key)
            return mapping.error(path, error.bare_message)
    return error


def _check_standard_variables(build, template: Dataset) -> None:
    """Every mapped variable must be a standard variable of the domain; others belong in SUPP--."""
    allowed = set(template.variable_names)
    for column in build.frame.columns:
        if column in LINEAGE or column in allowed:
            continue
        mapping = build.mapping
        in_variables = mapping is not None and column in (mapping.document.get("variables") or {})
        path = ["variables", column] if in_variables else []
        message = (
            f"{column} is not an SDTMIG 3.4 {template.name} variable; put it under 'supp:' "
            f"(a supplemental qualifier){yamlio.suggest(column, allowed)}"
        )
        if mapping is not None:
            raise mapping.error(path, message)
        raise MappingError(message)


def dataset_keys(build, template: Dataset) -> tuple[str, ...]:
    """The dataset's keys, one source of truth for its sort order, its --SEQ order and define.xml's
    ItemRef/@KeySequence: the mapping's ``keys`` for its own domain, else the SDTMIG 3.4 natural keys
    of the domain that the data have (a SUPP-- dataset always takes the IG's)."""
    mapping = build.mapping
    declared = mapping.document.get("keys") if mapping is not None and mapping.domain == build.name else None
    if not declared:
        return tuple(key for key in template.keys if key in build.frame.columns)
    missing = [key for key in declared if key not in build.frame.columns]
    if missing:
        raise mapping.error(
            ["keys"],
            f"key {missing[0]} is not a variable of {build.name}"
            f"{yamlio.suggest(missing[0], [c for c in build.frame.columns if c not in LINEAGE])}",
        )
    return tuple(declared)


def _sorted(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame.sort_values(columns, kind="mergesort").reset_index(drop=True)``, found with less work
    (:func:`sdtmify.distinct.sort_order`); a frame already in that order (SV, built visit by visit) is not
    copied column by column."""
    if len(frame) < 2:
        return frame.reset_index(drop=True)
    order = sort_order(frame, columns)
    if bool((order[1:] > order[:-1]).all()):
        return frame.reset_index(drop=True)
    return frame.take(order).reset_index(drop=True)


def _repeated_sorted(frame: pd.DataFrame, keys: tuple[str, ...]) -> pd.Series:
    """``frame.duplicated(keys, keep=False)`` of a frame sorted by ``keys``: records sharing their keys
    are neighbours, so comparing each record with the next finds them without hashing every key value
    (missing values equal, as for ``duplicated``)."""
    same = np.ones(max(len(frame) - 1, 0), dtype=bool)
    for key in keys:
        values = frame[key].to_numpy(dtype=object)
        equal = values[1:] == values[:-1]
        if has_missing(frame[key]):  # a text column with none (the usual key) needs no isna pass
            missing = pd.isna(values)
            equal |= missing[1:] & missing[:-1]
        same &= equal
    clash = np.zeros(len(frame), dtype=bool)
    clash[1:] |= same
    clash[:-1] |= same
    return pd.Series(clash, index=frame.index)


def _check_unique(frame: pd.DataFrame, keys: tuple[str, ...], build) -> None:
    """Keys identify each record (Define-XML 2.1 KeySequence; SDTMIG 3.4 section 3.2.1.1 natural keys):
    two records sharing their keys stop the build, naming both with their source rows. ``frame`` is
    sorted by ``keys``."""
    if not keys:
        return
    clash = _repeated_sorted(frame, keys)
    if not clash.any():
        return
    clashing = frame[clash]
    text = clashing[list(keys)].astype(str)  # as text, so that missing keys compare equal
    same = clashing[(text == text.iloc[0]).all(axis=1).to_numpy()]
    first = same.iloc[0]
    rows = ", ".join(f"{table} row {row}" for table, row in zip(same["SRCTABLE"], same["SRCROW"], strict=False))
    values = ", ".join(f"{key}={first[key]!r}" for key in keys)
    message = (
        f"{build.name}: {int(clash.sum())} records share their keys {', '.join(keys)} (e.g. {values}: "
        f"{rows}); the keys must identify each record: add a key (e.g. --DTC, VISITNUM, --TPTNUM) to 'keys'"
    )
    if build.mapping is not None and build.mapping.domain == build.name and "keys" in build.mapping.document:
        raise build.mapping.error(["keys"], message)
    raise MappingError(message)


def _used(values: pd.Series, profile: conform.TextProfile | None = None) -> set[str]:
    """The distinct non-blank values of a Char column; ``profile``, the :class:`~sdtmify.metadata.conform.TextProfile`
    conformance took of it, already holds them."""
    if profile is not None:
        return set(profile.distinct) - {""}
    if values.dtype == "str" and not has_missing(values):  # text only: a set, no codes per record
        return set(values.to_numpy(dtype=object)) - {""}
    return {v for v in pd.unique(values.astype(str).to_numpy()) if v != ""}


def _byte_length(values: pd.Series) -> int:
    text = pd.Series(pd.unique(values.astype(str).to_numpy()), dtype=object)
    return max(1, int(text.str.encode("utf-8").str.len().max())) if len(text) else 1


def _text_shapes(distinct: np.ndarray) -> pd.DataFrame:
    """Per distinct text value: blank, an integer (``-?\\d+``), a number (``-?\\d+(\\.\\d+)?``) and its
    length in UTF-8 bytes: what the Define-XML DataType and Length of a set of values are judged on."""
    text = pd.Series(distinct, dtype=object).astype(str)
    return pd.DataFrame(
        {
            "blank": (text == "").to_numpy(dtype=bool),
            "integer": text.str.fullmatch(r"-?\d+").to_numpy(dtype=bool),
            "number": text.str.fullmatch(r"-?\d+(\.\d+)?").to_numpy(dtype=bool),
            "bytes": text.str.encode("utf-8").str.len().to_numpy(dtype="int64") if len(text) else [],
        }
    )


def _data_type(shapes: pd.DataFrame) -> str:
    """Define-XML DataType of a set of result values (their :func:`_text_shapes`): integer, float or text."""
    given = shapes[~shapes["blank"].to_numpy()]
    if given.empty:
        return "text"
    if given["integer"].all():
        return "integer"
    if given["number"].all():
        return "float"
    return "text"


def _value_levels(
    name: str, frame: pd.DataFrame, meta: Dataset, variable: Variable, grouped: dict | None = None
) -> tuple[ValueLevel, ...]:
    """Value-level metadata: Findings results by --TESTCD (or TSVAL by TSPARMCD), SUPP-- QVAL by QNAM.
    ``grouped`` keeps the grouping by test code for the dataset's other result variables."""
    domain = meta.domain or name
    targets: tuple[str, ...]
    if name.startswith("SUPP"):
        by, label_from, targets = "QNAM", "QLABEL", ("QVAL",)
    elif f"{domain}TESTCD" in frame:
        by, label_from = f"{domain}TESTCD", f"{domain}TEST"
        targets = (f"{domain}ORRES", f"{domain}STRESC", f"{domain}STRESN")
    elif domain == "TS":
        by, label_from, targets = "TSPARMCD", "TSPARM", ("TSVAL",)
    else:
        return ()
    if variable.name not in targets or by not in frame:
        return ()
    # one hash pass over the test codes and one over the results; each test's type and length are then
    # judged on its distinct results only (a 5-million-record LB has a few thousand)
    grouped = {} if grouped is None else grouped
    if by not in grouped:
        groups, tests = factorize_text(frame[by], sort=True)
        grouped[by] = groups, tests, pd.Series(np.arange(len(frame))).groupby(groups).first()
    groups, tests, first_row = grouped[by]
    column = frame[variable.name]
    if variable.type == "Num":
        numbers = column.to_numpy(dtype="float64", na_value=np.nan)
        present = ~np.isnan(numbers)
        fraction = present & (numbers != np.floor(numbers))
        stats = pd.DataFrame({"present": present, "fraction": fraction}).groupby(groups).any()
    else:
        codes, uniques = factorize_text(column)
        width = len(uniques) + 1
        pairs = np.unique(groups.astype("int64") * width + (codes + 1))  # sorted: by test, then value
        pair_group, pair_value = pairs // width, pairs % width - 1
        pair_group, pair_value = pair_group[pair_value >= 0], pair_value[pair_value >= 0]
        bounds = np.searchsorted(pair_group, np.arange(len(tests) + 1))  # each test's pairs, in one slice
        shapes = _text_shapes(uniques)
    levels = []
    for index, value in enumerate(tests):
        if variable.type == "Num":
            if index not in stats.index or not stats.at[index, "present"]:
                continue
            kind = "float" if stats.at[index, "fraction"] else "integer"
            length = 8
        else:
            mine = shapes.iloc[pair_value[bounds[index] : bounds[index + 1]]]
            kind = _data_type(mine)
            length = max(1, int(mine["bytes"].max())) if len(mine) else 1
        label = str(frame[label_from].iloc[first_row[index]]) if label_from in frame else str(value)
        levels.append(
            ValueLevel(
                where=(Condition(variable=by, values=(str(value),), dataset=name),),
                name=variable.name,
                label=label[:40],
                data_type=kind,
                length=length,
                origin=variable.origin,
                method=variable.method,
                codelist=None,
            )
        )
    return tuple(levels)


def _where_mask(frame: pd.DataFrame, where) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for condition in where:
        mask &= frame[condition.variable].astype(str).isin(condition.values)
    return mask


def _codelist_levels(
    name: str, frame: pd.DataFrame, parts: pd.Series, variable: Variable, by_part: dict, meta: Dataset
) -> tuple[ValueLevel, ...]:
    """Value-level codelists of a variable whose ``parts`` recode to different codelists.

    The where clause uses the first variable that is constant within each part and tells apart the
    parts with different codelists (e.g. DSDECOD by DSCAT: PROTMLST for protocol milestones,
    NCOMPLT for disposition events)."""
    parts = parts.reset_index(drop=True)
    for candidate in meta.variables:
        if (
            candidate.name == variable.name
            or candidate.type != "Char"
            or candidate.name in ("STUDYID", "DOMAIN", "USUBJID")
        ):
            continue
        values = frame[candidate.name].astype(str)
        per_part = values.groupby(parts.to_numpy()).agg(lambda v: tuple(sorted(set(v))))
        if any(len(v) != 1 for v in per_part):
            continue
        owner: dict[str, str] = {}
        consistent = True
        for part, (value,) in per_part.items():
            codelist = by_part.get(part)
            if codelist is None or owner.setdefault(value, codelist) != codelist:
                consistent = False
        if not consistent:
            continue
        levels = []
        for value, codelist in sorted(owner.items()):
            rows = values == value
            levels.append(
                ValueLevel(
                    where=(Condition(variable=candidate.name, values=(value,), dataset=name),),
                    name=variable.name,
                    label=variable.label,
                    data_type="text",
                    length=_byte_length(frame.loc[rows, variable.name]),
                    codelist=oids.codelist_oid(codelist),
                    origin=variable.origin,
                )
            )
        return tuple(levels)
    raise MappingError(
        f"{name}.{variable.name} is recoded to several codelists ({', '.join(sorted(set(by_part.values())))}) "
        f"but no variable tells its parts apart; add a constant category (e.g. --CAT) to each part"
    )


def _origin(note, name: str, variable: str) -> Origin | None:
    if note is None:
        # an Expected variable the study did not collect: present, empty, and said so
        return Origin(type="Not Available")
    party = note.source_party or ("Sponsor" if note.origin in ("Derived", "Assigned", "Protocol") else "Investigator")
    return Origin(type=note.origin, source=party)


def _comment(note, unknown: str | None, values: pd.Series) -> str:
    """A variable's define.xml comment: the mapping's ``comment``, and for a variable declared
    ``unknown:`` that has null values, how many and why (a reviewer reads the truthful null there)."""
    text = (note.comment if note is not None else None) or ""
    if unknown:
        blank = (
            values.isna() if pd.api.types.is_numeric_dtype(values) else values.fillna("").astype(str).str.strip() == ""
        )
        nulls = int(blank.sum())
        if nulls:
            stated = f"Unknown in {nulls} record{'s' if nulls > 1 else ''}: {unknown}"
            text = f"{text} {stated}" if text else stated
    return text


def assemble_bundle(study, domains: dict, terminology, engine_notes: list[str], ui) -> Bundle:
    """Conform every built domain and gather the StudyMetadata of the SDTM bundle."""
    datasets: dict[str, BuiltDataset] = {}
    methods: dict[str, Method] = {}
    comments: dict[str, Comment] = {}
    codelist_values: dict[str, set] = {}
    codelist_sources: dict[str, str] = {}
    extensions: dict[str, dict] = {}
    ct = terminology.ct
    for name in sorted(domains):
        build = domains[name]
        template = standards.with_class_variables(standards.sdtm_dataset(name), build.frame.columns)
        _check_standard_variables(build, template)
        frame = build.frame
        keys = dataset_keys(build, template)
        template = replace(template, keys=keys)
        frame = _sorted(frame, [*keys, "SRCTABLE", "SRCROW"])
        _check_unique(frame, keys, build)
        # the unsorted frame and the source rows its expressions read are no longer needed: let them go
        # before conformance makes its copies (at 5 million records each holds gigabytes)
        build.frame, build.ctx = frame, None
        lineage = frame[["SRCTABLE", "SRCROW"]].copy()
        lineage["SRCROW"] = lineage["SRCROW"].astype("int64")
        parts = frame["SRCPART"] if "SRCPART" in frame else pd.Series(0, index=frame.index)
        declared = {v: n.length for v, n in build.notes.items() if n.length}
        unknown = build.mapping.unknown_reasons() if build.mapping is not None and build.mapping.domain == name else {}
        profiles: dict[str, conform.TextProfile] = {}
        try:
            frame, meta = _conform(
                frame.drop(columns=[c for c in LINEAGE if c in frame]),
                template,
                declared,
                lineage,
                engine_notes,
                unknown,
                profiles,
            )
        except VariableError as error:
            raise _at_mapping(error, build) from None
        variables, multi_codelist = [], {}
        for variable in meta.variables:
            note = build.notes.get(variable.name)
            updates: dict[str, Any] = {"origin": _origin(note, name, variable.name) or variable.origin}
            if note is not None and note.method:
                oid = oids.method_oid(f"{name}.{variable.name}")
                methods[oid] = Method(oid=oid, name=f"Algorithm for {name}.{variable.name}", description=note.method)
                updates["method"] = oid
            comment = _comment(note, unknown.get(variable.name), frame[variable.name])
            if comment:
                oid = oids.comment_oid(f"{name}.{variable.name}")
                comments[oid] = Comment(oid=oid, description=comment)
                updates["comment"] = oid
            by_part = {
                part: ct.short_name(name_) for part, name_ in build.part_codelists.get(variable.name, {}).items()
            }
            if len(set(by_part.values())) > 1:
                levels = _codelist_levels(
                    name, frame, parts, replace(variable, origin=updates["origin"]), by_part, meta
                )
                for level in levels:
                    if level.codelist is None:  # _codelist_levels gives every level its codelist
                        continue
                    rows = frame.index[_where_mask(frame, level.where)]
                    codelist_values.setdefault(level.codelist, set()).update(_used(frame.loc[rows, variable.name]))
                    if note is not None and note.extend:
                        extensions.setdefault(level.codelist, {}).update(note.extend)
                updates["codelist"] = None
                multi_codelist[variable.name] = levels
                variables.append(replace(variable, **updates))
                continue
            codelist = variable.codelist
            if note is not None and note.codelist:
                codelist = (
                    oids.codelist_oid(ct.short_name(note.codelist)) if ct.has_codelist(note.codelist) else codelist
                )
            if codelist and (ct.has_codelist(codelist) or ct.is_external(codelist)):
                values = _used(frame[variable.name], profiles.get(variable.name)) if variable.type == "Char" else set()
                codelist_values.setdefault(codelist, set()).update(values)
                codelist_sources.setdefault(codelist, codelist)
                if note is not None and note.extend:
                    extensions.setdefault(codelist, {}).update(note.extend)
                updates["codelist"] = codelist
            else:
                updates["codelist"] = None
            variables.append(replace(variable, **updates))
        meta = replace(meta, variables=tuple(variables))
        grouped: dict = {}  # --ORRES, --STRESC and --STRESN share one grouping by --TESTCD
        variables = [
            replace(v, value_levels=multi_codelist.get(v.name) or _value_levels(name, frame, meta, v, grouped))
            for v in meta.variables
        ]
        meta = replace(meta, variables=tuple(variables))
        datasets[name] = BuiltDataset(frame=frame, meta=meta, lineage=lineage)
        ui.debug(f"  {name}: {len(frame)} records, {len(meta.variables)} variables")

    codelists, ct_standards = [], {}
    for oid in sorted(codelist_values):
        full = ct.codelist(oid)
        if not full.dictionary and not codelist_values[oid] and not extensions.get(oid):
            continue  # a codelist with no term used is not stated (define.xml needs terms)
        if full.dictionary:
            version = (
                study.standards.get(full.dictionary.lower()) or study.standards.get("meddra")
                if full.dictionary.upper() == "MEDDRA"
                else None
            )
            codelists.append(replace(full, dictionary_version=version))
            continue
        declared = {term: decode for term, decode in extensions.get(oid, {}).items() if term in codelist_values[oid]}
        subset = ct.subset(oid, sorted(codelist_values[oid]), sponsor_extensions=sorted(declared))
        undeclared = [i.coded_value for i in subset.items if i.extended and i.coded_value not in declared]
        if undeclared:
            engine_notes.append(
                f"{subset.name} ({subset.c_code}): {', '.join(undeclared)} not in CT and not declared "
                f"with 'extend'; stated as sponsor extensions"
            )
        items = tuple(
            replace(item, decode=declared.get(item.coded_value)) if item.extended else item for item in subset.items
        )
        codelists.append(replace(subset, items=items))
        standard = ct.standard(oid)
        ct_standards[standard.oid] = standard
    stated = {codelist.oid for codelist in codelists}
    for built in datasets.values():
        kept = tuple(
            var if var.codelist in stated or var.codelist is None else replace(var, codelist=None)
            for var in built.meta.variables
        )
        built.meta = replace(built.meta, variables=kept)
    metadata = StudyMetadata(
        study_oid=f"ST.{study.studyid}",
        study_name=study.studyid,
        description=str(
            study.config["study"].get("description") or study.config["study"].get("title") or study.studyid
        ),
        protocol_name=str(study.config["study"].get("protocol") or study.studyid),
        standards=(standards.SDTMIG, *(ct_standards[k] for k in sorted(ct_standards))),
        datasets=tuple(ds.meta for ds in datasets.values()),
        codelists=tuple(codelists),
        methods=tuple(methods[k] for k in sorted(methods)),
        comments=tuple(comments[k] for k in sorted(comments)),
    )
    return Bundle(standard="SDTM", datasets=datasets, metadata=metadata, notes=list(engine_notes))
