"""``standardize``: --STRESC/--STRESN/--STRESU and the standard reference range."""

from __future__ import annotations

import pandas as pd

from ...derive import findings
from ...distinct import by_distinct
from ...errors import MetadataError
from ..state import BuildState, DomainBuild, VariableNote, doc
from .base import Derivation, register


def unit_key(ct, units: pd.Series) -> pd.Series:
    """A unit as the CT UNIT submission value when CT knows it ("bpm" -> "BEATS/MIN"), else as
    written, upper case: a conversion matches whatever case or ``ct:`` recode the unit went through.
    Judged once per distinct unit."""

    def key(distinct: pd.Series) -> pd.Series:
        try:
            recoded = ct.ct.recode_values("UNIT", distinct.astype(str))
        except MetadataError:  # a CT file without the UNIT codelist: compare as written
            recoded = pd.Series(None, index=distinct.index, dtype=object)
        return recoded.where(recoded.notna(), distinct).astype(str).str.strip().str.upper()

    return by_distinct(units, key)


def derive_vars_stres(state: BuildState, build: DomainBuild, params: dict, path: list) -> None:
    """--STRESC/--STRESN/--STRESU from --ORRES/--ORRESU with each test's standard unit and conversions
    (a factor or an affine rule) given as data; --STNRLO/--STNRHI from --ORNRLO/--ORNRHI with the same
    conversion; a result against a limit ("<10") keeps its text in --STRESC and no --STRESN
    (SDTMIG 3.4 section 4.5.1: original and standardized results)."""
    frame, prefix, mapping = build.frame, build.name, build.mapping
    for needed in (f"{prefix}ORRES", f"{prefix}ORRESU", params["by"]):
        if needed not in frame:
            raise mapping.error(path, f"standardize needs {needed}; map it under 'variables:'")
    result = findings.standardize_results(
        frame[f"{prefix}ORRES"],
        frame[f"{prefix}ORRESU"],
        frame[params["by"]],
        params.get("units", {}),
        params.get("below_limit", "<"),
        lambda units: unit_key(state.ct, units),
    )
    unknown = result["UNKNOWN_UNIT"]
    if unknown.any():
        test = frame.loc[unknown, params["by"]].iloc[0]
        unit = frame.loc[unknown, f"{prefix}ORRESU"].iloc[0]
        raise mapping.error(
            [*path, "units"],
            f"no conversion factor from '{unit}' for {test} "
            f"({build.source_context().row_numbers(unknown, 1)}); add it to that test's 'factors'",
        )
    method = doc(findings.standardize_results)
    factors = "; ".join(f"{t}: {s['unit']} {dict(s.get('factors') or {})}" for t, s in params.get("units", {}).items())
    for part in ("STRESC", "STRESN", "STRESU"):
        frame[f"{prefix}{part}"] = result[part]
        build.notes[f"{prefix}{part}"] = VariableNote(
            origin="Derived", method_name=f"{prefix}{part}", method=f"{method} Factors: {factors}."
        )
    for orig, std in (("ORNRLO", "STNRLO"), ("ORNRHI", "STNRHI")):
        if f"{prefix}{orig}" in frame:
            numbers = by_distinct(
                frame[f"{prefix}{orig}"].astype(str),
                lambda text: pd.to_numeric(text.replace("", None), errors="coerce"),
            )
            frame[f"{prefix}{std}"] = result["CONVERT"](numbers).astype("float64").round(10)
            build.note(
                f"{prefix}{std}",
                "Derived",
                f"{prefix}{orig} converted with the factor of {prefix}STRESU",
                f"{prefix}{std}",
            )


AFFINE = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "description": "an affine rule: standard = (result - minus) * times / divide + plus, e.g. degF to degC "
    "{minus: 32, times: 5, divide: 9}",
    "properties": {
        "minus": {"type": "number"},
        "times": {"type": "number"},
        "divide": {"type": "number", "not": {"const": 0}},
        "plus": {"type": "number"},
    },
}

DERIVATION = register(
    Derivation(
        "standardize",
        derive_vars_stres,
        "The collected result converted to the test's standard unit with the study's conversion (a factor "
        "or an affine rule); the reference range likewise; a result against a limit keeps its text.",
        rank=30,
        schema={
            "type": "object",
            "additionalProperties": False,
            "required": ["by"],
            "properties": {
                "by": {"type": "string"},
                "below_limit": {"type": "string", "pattern": "^[<>]", "description": "a prefix such as '<'"},
                "units": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["unit"],
                        "properties": {
                            "unit": {"type": "string"},
                            "factors": {
                                "type": "object",
                                "additionalProperties": {
                                    "oneOf": [
                                        {"type": "number", "description": "a factor: standard = result * factor"},
                                        AFFINE,
                                    ]
                                },
                            },
                            "digits": {"type": "integer", "minimum": 0, "maximum": 10},
                        },
                    },
                },
            },
        },
    )
)
