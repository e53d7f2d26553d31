"""Define-XML 2.1 metadata a reviewer expects that the mapping does not state variable by variable:
origins by rule (section 5.3.11.4, def:Origin types) and significant digits of numeric results
(section 5.3.11.1, ItemDef/@SignificantDigits).

Origins by rule, independent of any study:
- DM.ARMCD is the arm the sponsor allocated the subject to: **Assigned** (Source Sponsor), also when
  the allocation is read from a source table (the cohort list is the sponsor's, not a CRF answer);
- TS.TSVAL is written from the protocol: **Protocol**, except the parameters whose value the data
  determine (ACTSUB, SSTDTC, SENDTC), which stay **Derived** with their method;
- a Collected variable read from a vendor transfer keeps the Source the mapping declares (e.g. Vendor).

Significant digits: a float variable (and each float value-level item) gets the largest number of
decimals among its values, so a reviewer sees the precision the datasets carry."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from .model import Dataset, Origin, StudyMetadata, Variable

DATA_DETERMINED_TS = ("ACTSUB", "SSTDTC", "SENDTC")


def _decimals(values: pd.Series) -> int | None:
    """The largest number of decimals among the finite values (at most 8), None when there are none."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    numbers = numbers[np.isfinite(numbers)]
    if not len(numbers):
        return None
    for digits in range(0, 9):
        if np.allclose(numbers, np.round(numbers, digits), rtol=0, atol=1e-9):
            return digits
    return 8


def _origins(ds: Dataset, variable: Variable) -> Variable:
    if ds.name == "DM" and variable.name == "ARMCD" and variable.origin and variable.origin.type == "Collected":
        return replace(variable, origin=Origin(type="Assigned", source="Sponsor"))
    if ds.name == "TS" and variable.name == "TSVAL":
        levels = tuple(
            level
            if any(set(c.values) & set(DATA_DETERMINED_TS) for c in level.where)
            else replace(level, origin=Origin(type="Protocol", source="Sponsor"), method=None)
            for level in variable.value_levels
        )
        return replace(variable, origin=Origin(type="Protocol", source="Sponsor"), method=None, value_levels=levels)
    return variable


def _digits(variable: Variable, frame: pd.DataFrame | None) -> Variable:
    if frame is None or variable.name not in frame or variable.type != "Num":
        return variable
    if variable.data_type == "float" and variable.significant_digits is None:
        variable = replace(variable, significant_digits=_decimals(frame[variable.name]))
    levels = []
    for level in variable.value_levels:
        if level.data_type == "float" and level.significant_digits is None:
            mask = pd.Series(True, index=frame.index)
            for condition in level.where:
                if condition.variable in frame:
                    mask &= frame[condition.variable].astype(str).isin(condition.values)
            level = replace(level, significant_digits=_decimals(frame.loc[mask, variable.name]))
        levels.append(level)
    return replace(variable, value_levels=tuple(levels))


def apply_define_rules(metadata: StudyMetadata, frames: dict[str, pd.DataFrame]) -> StudyMetadata:
    """The metadata with origins set by rule and significant digits of float variables from the data."""
    datasets = tuple(
        replace(ds, variables=tuple(_digits(_origins(ds, v), frames.get(ds.name)) for v in ds.variables))
        for ds in metadata.datasets
    )
    return replace(metadata, datasets=datasets)
