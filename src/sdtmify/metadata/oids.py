"""OIDs shared by define.xml and Dataset-JSON, so that itemOIDs match across the two."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def _clean(part: str) -> str:
    return _UNSAFE.sub("_", part)


def itemgroup_oid(dataset: str) -> str:
    return f"IG.{_clean(dataset)}"


def item_oid(dataset: str, variable: str) -> str:
    return f"IT.{_clean(dataset)}.{_clean(variable)}"


def value_item_oid(dataset: str, variable: str, *where_values: str) -> str:
    """ItemDef of one value-level entry, e.g. IT.LB.LBORRES.IFNG."""
    return ".".join([item_oid(dataset, variable), *(_clean(v) for v in where_values)])


def valuelist_oid(dataset: str, variable: str) -> str:
    return f"VL.{_clean(dataset)}.{_clean(variable)}"


def whereclause_oid(dataset: str, variable: str, *values: str) -> str:
    return ".".join([f"WC.{_clean(dataset)}.{_clean(variable)}", *(_clean(v) for v in values)])


def codelist_oid(name: str) -> str:
    return f"CL.{_clean(name)}"


def method_oid(name: str) -> str:
    return f"MT.{_clean(name)}"


def comment_oid(name: str) -> str:
    return f"COM.{_clean(name)}"


def condition_parts(condition) -> tuple[str, ...]:
    """A where-clause condition (``.comparator``, ``.values``) as OID parts. EQ and IN read alike;
    NE/NOTIN carry their comparator so a negated clause never shares the positive one's OID."""
    prefix = (condition.comparator,) if condition.comparator in ("NE", "NOTIN") else ()
    return (*prefix, *condition.values)


def where_oid(dataset: str, conditions) -> str:
    """WhereClauseDef OID naming every variable and value: WC.LB.LBTESTCD.IFNG,
    WC.ADLB.PARAMCD.IFNG.ANL01FL.Y. Equal clauses share one OID (define.xml, spec workbook)."""
    first, *rest = conditions
    parts = list(condition_parts(first))
    for cond in rest:
        parts += [cond.variable, *condition_parts(cond)]
    return whereclause_oid(dataset, first.variable, *parts)


def value_level_oid(dataset: str, variable: str, conditions) -> str:
    """ItemDef OID of a value-level entry: the parent's plus every where-clause value (IT.LB.LBORRES.IFNG)."""
    return value_item_oid(dataset, variable, *(part for cond in conditions for part in condition_parts(cond)))


def metadataversion_oid(study_oid: str, standard: str) -> str:
    """MetaDataVersion OID of one standard's define.xml (MDV.NCI84.SDTM); Dataset-JSON's
    metaDataVersionOID must name the same one."""
    return f"MDV.{_clean(study_oid)}.{_clean(standard.upper())}"


def analysis_result_oid(result_id: str) -> str:
    """arm:AnalysisResult OID (AR.<id>)."""
    return f"AR.{_clean(result_id)}"


def result_display_oid(display_id: str) -> str:
    """arm:ResultDisplay OID (RD.<id>)."""
    return f"RD.{_clean(display_id)}"
