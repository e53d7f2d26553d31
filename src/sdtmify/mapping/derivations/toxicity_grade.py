"""``toxicity_grade``: --TOXGR from thresholds kept as data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...derive import findings
from ..state import BuildState, DomainBuild, VariableNote, doc
from .base import Derivation, register


def derive_var_toxgr(state: BuildState, build: DomainBuild, params: dict, path: list) -> None:
    """--TOXGR: grade k when the standard result is beyond the k-th threshold of its test (numbers,
    LLN, ULN or multiples of them), 0 when within all, on the scale ``criteria`` names (SDTMIG 3.4
    Findings --TOXGR, Standard Toxicity Grade)."""
    frame, prefix = build.frame, build.name
    missing = pd.Series(np.nan, index=frame.index)
    value = frame[f"{prefix}STRESN"] if f"{prefix}STRESN" in frame else missing
    low = frame.get(f"{prefix}STNRLO", missing)
    high = frame.get(f"{prefix}STNRHI", missing)
    frame[f"{prefix}TOXGR"] = findings.toxicity_grade(value, frame[params["by"]], low, high, params["grades"])
    thresholds = "; ".join(
        f"{test}: {spec['direction']} {spec['thresholds']}" for test, spec in params["grades"].items()
    )
    build.notes[f"{prefix}TOXGR"] = VariableNote(
        origin="Derived",
        method_name=f"{prefix}TOXGR",
        method=f"{doc(findings.toxicity_grade)} Criteria: {params['criteria']}; thresholds "
        f"(grades 1..n, standard units): {thresholds}.",
    )


DERIVATION = register(
    Derivation(
        "toxicity_grade",
        derive_var_toxgr,
        "The grade whose threshold the standard result passes (e.g. below 3.0 x 10^9/L is grade 2), on the "
        "scale the study names; 0 when within all thresholds.",
        rank=40,
        schema={
            "type": "object",
            "additionalProperties": False,
            "required": ["by", "criteria", "grades"],
            "properties": {
                "by": {"type": "string"},
                "criteria": {"type": "string"},
                "grades": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["direction", "thresholds"],
                        "properties": {
                            "direction": {"type": "string", "enum": ["low", "high"]},
                            "thresholds": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": 5,
                                "items": {"type": ["number", "string"], "pattern": "^(LLN|ULN|[0-9.]+x(LLN|ULN))$"},
                            },
                        },
                    },
                },
            },
        },
    )
)
