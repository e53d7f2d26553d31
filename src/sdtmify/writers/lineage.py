"""Lineage beside the datasets: for every record, the source table and row it came from.

One CSV per dataset (``lineage/<dataset>.csv``): the dataset's key variables, then SRCTABLE and
SRCROW (1-based data row of that source table; for records built from study.yaml or a mapping's
literal records, the file and item). Same bundle, same bytes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..atomic import write_text
from ..datasets import Bundle


def _text(column: pd.Series) -> pd.Series:
    if column.dtype == "float64":
        return column.astype(str).str.replace(r"\.0$", "", regex=True).where(column.notna(), "")
    return column.astype(str)


def lineage_frame(frame: pd.DataFrame, keys: tuple[str, ...], lineage: pd.DataFrame) -> pd.DataFrame:
    """Key variables of each record (as text) beside its SRCTABLE and SRCROW."""
    columns = [k for k in keys if k in frame.columns] or [c for c in ("STUDYID", "USUBJID") if c in frame.columns]
    # --SEQ (or SUPP-- IDVARVAL/QNAM) pins one record when the natural keys do not
    columns += [c for c in frame.columns if (c.endswith("SEQ") or c in ("IDVARVAL", "QNAM")) and c not in columns]
    out = pd.DataFrame({name: _text(frame[name]) for name in columns}, index=frame.index)
    out["SRCTABLE"] = lineage["SRCTABLE"].astype(str).to_numpy()
    out["SRCROW"] = lineage["SRCROW"].astype("int64").to_numpy()
    return out


def write_lineage(bundle: Bundle, folder: str | Path) -> list[Path]:
    """Write ``<folder>/<dataset>.csv`` for every dataset with lineage; returns the paths written."""
    folder = Path(folder)
    written = []
    for name in sorted(bundle.datasets):
        built = bundle.datasets[name]
        if built.lineage is None:
            continue
        table = lineage_frame(built.frame, built.meta.keys, built.lineage)
        target = folder / f"{name.lower()}.csv"
        write_text(target, table.to_csv(index=False, lineterminator="\n"))
        written.append(target)
    return written
