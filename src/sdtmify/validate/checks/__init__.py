"""The check vocabulary of the rule catalogue: one family per module, registered by type name.

Per-dataset checks are called as ``check(rule, view, ctx) -> list[Hits]``; study-level checks
(named in ``STUDY_LEVEL``) as ``check(rule, ctx, tables_in_scope) -> list[Hits]``.
A check raises ``MissingInput`` when a dataset or variable it needs is absent: the engine then
reports the rule as skipped for that dataset, with the reason."""

from __future__ import annotations

from collections.abc import Callable

from ..hits import Hits
from . import define, functions, metadata, presence, records, relations

CHECKS: dict[str, Callable[..., list[Hits]]] = {
    "record": records.record,
    "codelist": records.codelist,
    "unique": relations.unique,
    "one_to_one": relations.one_to_one,
    "lookup": relations.lookup,
    "group_count": relations.group_count,
    "presence": presence.presence,
    "ig_presence": presence.ig_presence,
    "dataset_present": presence.dataset_present,
    "metadata": metadata.metadata,
    "ig_metadata": metadata.ig_metadata,
    "function": functions.function,
    "study_function": functions.study_function,
    "define": define.define,
}
# Called once per run with every dataset in scope, not once per dataset.
STUDY_LEVEL = frozenset({"dataset_present", "study_function"})
