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


def _digits(variable: Variable, frame: pd.DataFrame | None, coded: dict[str, tuple[np.ndarray, pd.Index]]) -> Variable:
    if frame is None or variable.name not in frame or variable.type != "Num":
        return variable
    if variable.data_type == "float" and variable.significant_digits is None:
        variable = replace(variable, significant_digits=_decimals(frame[variable.name]))
    levels = []
    for level in variable.value_levels:
        if level.data_type == "float" and level.significant_digits is None:
            mask = np.ones(len(frame), dtype=bool)
            for condition in level.where:
                if condition.variable in frame:
                    if condition.variable not in coded:
                        coded[condition.variable] = _as_text_codes(frame[condition.variable])
                    codes, texts = coded[condition.variable]
                    mask &= np.isin(codes, np.flatnonzero(texts.isin(condition.values)))
            level = replace(level, significant_digits=_decimals(frame[variable.name][mask]))
        levels.append(level)
    return replace(variable, value_levels=tuple(levels))


def _as_text_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``values.astype(str)`` as codes into its distinct texts: each value converted once, not once per
    value-level item that tests the variable (an LB --TESTCD is tested by every parameter's item)."""
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    return codes, pd.Index(pd.Series(distinct, dtype=values.dtype).astype(str))


def apply_define_rules(metadata: StudyMetadata, frames: dict[str, pd.DataFrame]) -> StudyMetadata:
    """The metadata with origins set by rule and significant digits of float variables from the data."""
    datasets = []
    for ds in metadata.datasets:
        coded: dict[str, tuple[np.ndarray, pd.Index]] = {}  # the dataset's tested variables, each coded once
        datasets.append(
            replace(ds, variables=tuple(_digits(_origins(ds, v), frames.get(ds.name), coded) for v in ds.variables))
        )
    return replace(metadata, datasets=tuple(datasets))
