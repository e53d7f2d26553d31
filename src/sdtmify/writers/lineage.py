"""Lineage beside the datasets: for every record, the source table and row it came from.

One CSV per dataset (``lineage/<dataset>.csv``): the dataset's key variables, then SRCTABLE and
SRCROW (1-based data row of that source table; for records built from study.yaml or a mapping's
literal records, the file and item). Same bundle, same bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import atomic_path
from ..datasets import Bundle
from ..distinct import by_distinct


def _text(column: pd.Series) -> pd.Series:
    if column.dtype == "float64":
        return _number_text(column)
    return column.astype(str)


def _number_text(column: pd.Series) -> pd.Series:
    """Numbers as Python prints them less a trailing ".0" ("12", "2.5"), "" for missing.

    Whole numbers (every --SEQ, VISITNUM and SAS date) are printed as integers by numpy in one pass; only
    the others (fractions, -0, 1e+16 and beyond) go through ``str`` and the ".0" pattern, once per distinct
    value: a regular expression per record cost seconds per million records."""
    values = column.to_numpy(dtype="float64")
    whole = (np.abs(values) < 1e15) & (values == np.trunc(values)) & ~((values == 0) & np.signbit(values))
    text = np.full(len(values), "", dtype=object)
    text[whole] = values[whole].astype(np.int64).astype(str)
    rest = ~(whole | np.isnan(values))
    if rest.any():
        printed = by_distinct(pd.Series(values[rest]), lambda v: v.astype(str).str.replace(r"\.0$", "", regex=True))
        text[rest] = printed.to_numpy(dtype=object)
    return pd.Series(text, index=column.index, dtype=str)


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
        with atomic_path(target) as tmp:  # streamed in chunks: no whole-file string of a million records
            table.to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8")
        written.append(target)
    return written
