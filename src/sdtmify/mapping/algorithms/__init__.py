"""The vocabulary of SDTM mapping algorithms: one module per algorithm, registered on import.

Adding an algorithm means adding its module here (a pure vectorized function, its JSON-Schema
fragment, its define.xml method text) and regenerating the schema:
``python -m sdtmify.mapping.schema specs/schema/mapping.schema.json``."""

# ruff: noqa: I001  (the import order is the registration order, which error messages follow)
from __future__ import annotations

# Operations, in the order error messages list them; then modifiers (applied in their rank order).
from . import (  # noqa: F401  (imported to register)
    column,
    variable,
    constant,
    template,
    iso8601,
    when,
    lookup,
    coalesce,
    substring,
    split_part,
    regex_extract,
    regex_replace,
    concat,
    pad,
    censored,
    visit_match,
    visit_window,
    transform,
    recode,
    default,
    ct,
    as_type,
)
from .base import (
    MODIFIERS,
    OPERATIONS,
    Algorithm,
    as_text,
    condition,
    default_origin,
    evaluate,
    expression_properties,
    method_text,
)

__all__ = [
    "MODIFIERS",
    "OPERATIONS",
    "Algorithm",
    "as_text",
    "condition",
    "default_origin",
    "evaluate",
    "expression_properties",
    "method_text",
]
