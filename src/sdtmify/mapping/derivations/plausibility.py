"""``plausibility``: numeric variables within their plausible range, in every domain."""

from __future__ import annotations

import pandas as pd

from ...derive import plausibility as plausibility_rules
from ...errors import Location, MappingError
from ..state import BuildState, DomainBuild
from .base import Derivation, register


def assert_plausible_ranges(state: BuildState, build: DomainBuild, params: dict, path: list) -> None:
    """Numeric variables within their plausible range (default AGE 0-130; study.yaml ``plausibility:
    ranges:``); the first record outside is an error naming its source row, since a value such as an
    AGE of 250 is a data error the SDTMIG 3.4 DM AGE definition (age at RFSTDTC) cannot hold."""
    for variable, (low, high) in plausibility_rules.value_ranges(state.study.config).items():
        if variable not in build.frame.columns:
            continue
        outside = plausibility_rules.outside_range(build.frame[variable], low, high)
        if not outside.any():
            continue
        first = build.frame[outside].iloc[0]
        where = f"row {int(first['SRCROW'])}" if "SRCROW" in first.index else "a record"
        if "SRCTABLE" in first.index and first["SRCTABLE"]:
            where += f" of '{first['SRCTABLE']}'"
        count = int(outside.sum())
        more = f" ({count} records in all)" if count > 1 else ""
        limits = f"{'' if low is None else f'{low:g}'}-{'' if high is None else f'{high:g}'}"
        message = (
            f"{build.name} {variable} = {float(pd.to_numeric(first[variable])):g} ({where}) is outside the plausible "
            f"range {limits}{more}; correct the source, or if it is right set 'plausibility: ranges: {variable}:' "
            f"in study.yaml"
        )
        where_path = ["variables", variable]
        if build.mapping is not None:
            if variable not in (build.mapping.document.get("variables") or {}):
                where_path = ["derive"] if "derive" in build.mapping.document else []
            raise build.mapping.error(where_path, message)
        raise MappingError(message, Location(state.study.file))


DERIVATION = register(
    Derivation(
        "plausibility",
        assert_plausible_ranges,
        "No record is written with a number outside its plausible range; the build stops at the first.",
        phase="check",
        declared=False,
    )
)
