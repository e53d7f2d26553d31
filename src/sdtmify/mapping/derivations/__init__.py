"""The vocabulary of SDTM derivation steps: one module per step, registered on import.

Adding a step means adding its module here (an adaptor calling pure vectorized functions of
``sdtmify.derive``, its JSON-Schema fragment, its method prose) and regenerating the schema:
``python -m sdtmify.mapping.schema specs/schema/mapping.schema.json``."""

# ruff: noqa: I001  (the import order is the schema's order, which error messages list)
from __future__ import annotations

from . import (  # noqa: F401  (imported to register)
    seq,
    study_day,
    epoch,
    reference_dates,
    visit,
    baseline,
    arm,
    age,
    standardize,
    toxicity_grade,
    reference_range_indicator,
    dose_intervals,
    plausibility,
    supp,
)
from .base import DERIVATIONS, PHASES, Derivation, derivation_schema, in_order, register, run_phase

__all__ = ["DERIVATIONS", "PHASES", "Derivation", "derivation_schema", "in_order", "register", "run_phase"]
