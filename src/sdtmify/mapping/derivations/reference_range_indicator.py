"""``reference_range_indicator``: --NRIND from the standard result and range."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...derive import findings
from ..state import BuildState, DomainBuild, doc
from .base import Derivation, register


def derive_var_nrind(state: BuildState, build: DomainBuild, params: dict, path: list) -> None:
    """--NRIND = LOW below --STNRLO, HIGH above --STNRHI, else NORMAL; blank without a numeric result
    or a range (SDTMIG 3.4 Findings --NRIND, Reference Range Indicator)."""
    frame, prefix = build.frame, build.name
    missing = pd.Series(np.nan, index=frame.index)
    value = frame.get(f"{prefix}STRESN", missing)
    low = frame.get(f"{prefix}STNRLO", missing)
    high = frame.get(f"{prefix}STNRHI", missing)
    frame[f"{prefix}NRIND"] = findings.reference_range_indicator(value, low, high)
    build.note(f"{prefix}NRIND", "Derived", doc(findings.reference_range_indicator), f"{prefix}NRIND")


DERIVATION = register(
    Derivation(
        "reference_range_indicator",
        derive_var_nrind,
        "LOW when the standard result is below the standard reference range, HIGH above it, else NORMAL.",
        rank=50,
        bare=True,
        schema={"type": "object", "additionalProperties": False, "properties": {}},
    )
)
