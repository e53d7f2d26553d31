"""Domains written as literal records in their mapping file (``records:``, e.g. TS, TI): values as
written, or a summary of a domain built before them (``{first: DM.RFICDTC}``, ``{count: DM.USUBJID}``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .loader import DomainMapping
from .state import LINEAGE, BuildState, DomainBuild


def summary(state: BuildState, how: str, target: str, mapping: DomainMapping, path: list) -> str:
    """first/last (ISO 8601 text sorts in time) or count of distinct values of DOMAIN.VARIABLE."""
    domain, variable = target.split(".")
    if domain not in state.domains or variable not in state.domains[domain].frame:
        raise mapping.error(
            path,
            f"{target} is not built before {mapping.domain}; summaries can use "
            f"{', '.join(sorted(state.domains))} variables",
        )
    values = state.domains[domain].frame[variable].astype(str)
    values = values[values != ""]
    if how == "count":
        return str(values.nunique())
    if values.empty:
        return ""
    return values.min() if how == "first" else values.max()


def records_domain(state: BuildState, mapping: DomainMapping) -> DomainBuild:
    """The literal rows of ``records:`` with STUDYID and DOMAIN added; a key absent from a record is blank."""
    summaries = {}
    rows = []
    for index, record in enumerate(mapping.document["records"]):
        row = {}
        for key, value in record.items():
            if isinstance(value, dict):
                ((how, target),) = value.items()
                row[key] = summary(state, how, target, mapping, ["records", index, key])
                summaries[key] = f"{how} of {target}"
            else:
                row[key] = "" if value is None else value if isinstance(value, str) else f"{value:g}"
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame = frame.astype(object).where(frame.notna(), "")
    frame.insert(0, "STUDYID", state.studyid)
    frame.insert(1, "DOMAIN", mapping.domain)
    frame["SRCTABLE"] = f"sdtm/{mapping.path.name}"
    frame["SRCROW"] = np.arange(1, len(frame) + 1)
    build = DomainBuild(name=mapping.domain, frame=frame, mapping=mapping)
    for column in frame.columns:
        if column in LINEAGE:
            continue
        if column in summaries:
            build.note(
                column,
                "Derived",
                f"Literal values, or a summary of the built data where stated (e.g. the {summaries[column]}).",
                column,
            )
        else:
            build.note(column, "Assigned" if column in ("STUDYID", "DOMAIN") else "Protocol")
    return build
