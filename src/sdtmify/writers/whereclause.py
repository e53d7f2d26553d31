"""def:WhereClauseDef: one per distinct condition set, shared by value-level metadata (define.py) and
analysis results (define_arm.py); both writers import it from here."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import MetadataError
from ..metadata import oids
from ..metadata.model import Condition


@dataclass(frozen=True)
class WhereClause:
    oid: str
    dataset: str
    conditions: tuple[Condition, ...]


def whereclause_for(dataset: str, conditions: tuple[Condition, ...]) -> WhereClause:
    """The WhereClauseDef of ``conditions`` on ``dataset`` (OID by ``oids.where_oid``)."""
    if not conditions:
        raise MetadataError(f"{dataset}: a value-level entry has an empty where clause")
    return WhereClause(oids.where_oid(dataset, conditions), dataset, tuple(conditions))
