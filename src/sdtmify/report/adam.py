"""Read ADaM datasets from the XPT files on disk, the way a reviewer's SAS or R session would."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import SdtmifyError
from ..readers import read_dataset


class AdamMissing(SdtmifyError):
    """The ADaM XPT files the report needs are not there: the study has not been built."""

    exit_code = 2


def _read_xpt(path: Path, encoding: str | None = None) -> pd.DataFrame:
    """One XPT file as a DataFrame, through the project's reader (pyreadstat values, UTF-8 then
    Windows-1252). Never pandas.read_sas: it misreads zeros and drops records."""
    frame, _meta = read_dataset(path, encoding)
    return frame


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Blank character values as missing: XPT has no character null, it stores blanks. Character
    columns as ``object``, as the reader gives them (the build's in-memory ones are pandas text).

    Readers already drop the trailing blanks XPT pads values with, so no per-value strip is needed
    (a strip over every value of every column is the slowest part at millions of LB records)."""
    out = frame.copy(deep=False)  # columns are replaced, never written into (copy-on-write)
    for name in out.columns:
        column = out[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            out[name] = _blank_as_missing(column.astype(object))
    return out


def _blank_as_missing(column: pd.Series) -> pd.Series:
    """``column.where(column != "")`` of an object column, without a copy when no value is blank. numpy
    compares the values with "" (a fifth of pandas' cost: pandas first looks for missing values, which
    cannot be blank anyway); pandas does it where numpy cannot tell (a value without a truth value)."""
    values = column.to_numpy()
    try:
        blank = values == ""
    except (TypeError, ValueError):
        blank = None
    if not isinstance(blank, np.ndarray) or blank.dtype != bool or blank.shape != values.shape:
        return column.where(column != "")
    if not blank.any():
        return column
    return pd.Series(np.where(blank, np.nan, values), index=column.index, name=column.name, dtype=object, copy=False)


def dataset_path(adam_dir: Path, name: str) -> Path:
    return Path(adam_dir) / f"{name.lower()}.xpt"


def read_adam(
    adam_dir: Path,
    names: list[str],
    keep: set[str] | None = None,
    encoding: str | None = None,
    given: Mapping[Path, tuple] | None = None,
) -> dict[str, pd.DataFrame]:
    """The named ADaM datasets read from ``adam_dir/<name>.xpt``; all missing files named at once.

    ``keep`` limits each dataset to the variables a report refers to (others are dropped before any
    per-column work, which matters at millions of records). ``given`` holds what reading some of the
    files gives, ``{path: (frame, Dataset)}``, already in memory (the build's own datasets, see
    ``writers.readback``); those files are not read again."""
    given = given or {}
    paths = {name: dataset_path(adam_dir, name) for name in names}
    missing = [str(p) for p in paths.values() if p not in given and not p.is_file()]
    if missing:
        raise AdamMissing(
            f"ADaM files not found: {', '.join(missing)}. "
            "Run `sdtmify build --study <STUDY>` first; the report reads the ADaM XPT files it writes."
        )
    frames = {}
    for name, path in paths.items():
        frame = given[path][0] if path in given else _read_xpt(path, encoding)
        frame = frame.set_axis([str(c).upper() for c in frame.columns], axis=1)
        if keep is not None:
            frame = frame[[c for c in frame.columns if c in keep]]
        frames[name] = _normalise(frame)
    return frames
