"""What flows between the stages: a dataset's frame, its metadata and its lineage."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .metadata.model import Dataset, StudyMetadata


@dataclass
class BuiltDataset:
    """A dataset ready for the writers: ``frame`` columns are exactly ``meta.variable_names``.

    ``lineage`` has one row per record of ``frame`` (same order) with SRCTABLE, SRCROW
    (source table name and 1-based data row), for tracing every record back to its source."""

    frame: pd.DataFrame
    meta: Dataset
    lineage: pd.DataFrame | None = None


@dataclass
class Bundle:
    """All datasets of one standard (SDTM or ADaM) and the metadata define.xml will state."""

    standard: str  # "SDTM" | "ADaM"
    datasets: dict[str, BuiltDataset]
    metadata: StudyMetadata
    notes: list[str] = field(default_factory=list)
