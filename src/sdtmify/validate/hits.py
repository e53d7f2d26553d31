"""What a check returns to the engine: :class:`Hits`, one per dataset it looked at.

It sits below both the engine (which counts and formats hits) and the check families in
:mod:`sdtmify.validate.checks` (which produce them), so neither imports the other to share it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .conditions import View


@dataclass
class Hits:
    """What one check found in one dataset.

    Row-level: ``mask`` marks records, ``show`` names the variables whose values the report shows.
    Dataset-level: ``items`` is a list of dicts (``variable`` and any values for the message)."""

    dataset: str
    mask: np.ndarray | None = None
    show: tuple[str, ...] = ()
    items: list[dict[str, Any]] | None = None  # variable, value and any other values for the message
    view: View | None = None
    severity: str | None = None  # overrides the rule's (e.g. extensible codelists)
    extra: dict[str, pd.Series] = field(default_factory=dict)  # computed values to show

    @property
    def count(self) -> int:
        return int(self.mask.sum()) if self.mask is not None else len(self.items or ())


def same_for_every_record(value: object, records: int) -> np.ndarray:
    """An ``extra`` value shown with every record (the codelist a value is checked against): one
    object seen ``records`` times (a read-only view), not an array as long as the dataset per rule."""
    return np.broadcast_to(np.array(value, dtype=object), (records,))
