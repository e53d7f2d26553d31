"""The expression language of a mapping file: one operation plus optional modifiers per variable.

The vocabulary itself is the registry in ``mapping/algorithms/`` (one module per algorithm, each
with its schema fragment and define.xml method text); this module is the entry point the engine
uses: ``evaluate`` an expression, test a ``condition``, the implied ``default_origin``."""

from __future__ import annotations

from .algorithms import MODIFIERS, OPERATIONS, as_text, condition, default_origin, evaluate, method_text
from .algorithms.iso8601 import iso8601 as op_iso8601

__all__ = ["MODIFIERS", "OPERATIONS", "as_text", "condition", "default_origin", "evaluate", "method_text", "op_iso8601"]
