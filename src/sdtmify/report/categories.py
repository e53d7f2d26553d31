"""Categories declared in report.yaml: a value, a list of values, a closed range, or any condition.

``{label: Male, value: M}``, ``{label: "≥3", min: 3}``, ``{label: "80–90%", min: 80, max: 89}``,
``{label: Responders, where: {BOR: [CR, PR]}}``. Ranges are inclusive at both ends."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .select import lookup, where_mask


def category_mask(frame: pd.DataFrame, variable: str | None, category: Mapping) -> pd.Series:
    """Rows of ``frame`` falling in ``category`` (on ``variable`` unless the category has ``where``)."""
    mask = where_mask(frame, category.get("where"))
    if "value" in category:
        wanted = category["value"]
        column = lookup(frame, variable)
        mask &= column.isin(wanted if isinstance(wanted, list) else [wanted]) & column.notna()
    if "min" in category or "max" in category:
        numbers = pd.to_numeric(lookup(frame, variable), errors="coerce").to_numpy(dtype=float)
        inside = ~np.isnan(numbers)
        if "min" in category:
            inside &= numbers >= float(category["min"])
        if "max" in category:
            inside &= numbers <= float(category["max"])
        mask &= pd.Series(inside, index=frame.index)
    return mask


def category_label(category) -> str:
    return str(category["label"] if isinstance(category, Mapping) else category)


def as_category(category) -> Mapping:
    """A bare scalar in YAML (``levels: [CR, PR]``) is shorthand for ``{label: CR, value: CR}``."""
    return category if isinstance(category, Mapping) else {"label": str(category), "value": category}
