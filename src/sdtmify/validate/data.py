"""Datasets as the validator sees them: a frame, its metadata, and what it is (standard, class, prefix).

Reading goes through one function, :func:`sdtmify.readers.read_dataset`, the project's reader
(pyreadstat values plus the XPT header parser; never pandas.read_sas, which misreads zeros and drops
records)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, Location
from ..metadata.model import Dataset
from ..readers import read_dataset

DATA_SUFFIXES = (".xpt", ".json", ".ndjson")
LARGE = 20_000  # from this many records, text checks run per distinct value (see Table.factorized)
TRIAL_DESIGN = {"TA", "TE", "TV", "TI", "TS", "TD", "TM"}
SPECIAL_PURPOSE = {"DM", "CO", "SE", "SV", "SM"}


@dataclass
class Table:
    """One dataset: ``frame`` (character columns as str with "" for null), ``meta`` and its class."""

    name: str
    frame: pd.DataFrame
    meta: Dataset
    standard: str  # SDTM | ADaM
    file: str = ""
    _null_cache: dict = field(default_factory=dict, repr=False)
    _factor_cache: dict = field(default_factory=dict, repr=False)

    @property
    def records(self) -> int:
        return len(self.frame)

    @property
    def prefix(self) -> str:
        """The 2-letter variable prefix ("AE" for AESEQ), "" for ADaM, SUPPxx and RELREC."""
        if self.standard != "SDTM" or self.name.startswith("SUPP") or self.name == "RELREC":
            return ""
        if "DOMAIN" in self.frame.columns and len(self.frame):
            value = str(self.frame["DOMAIN"].iloc[0]).strip()
            if value:
                return value
        return self.name[:2]

    @property
    def domain_class(self) -> str:
        """SDTM observation class inferred from the topic variable; ADaM class from its structure.

        SDTM: TRIAL DESIGN, SPECIAL PURPOSE, RELATIONSHIP by name; otherwise INTERVENTIONS (--TRT),
        EVENTS (--TERM) or FINDINGS (--TESTCD). ADaM: ADSL, BDS (PARAMCD), OCCDS, OTHER."""
        cols = set(self.frame.columns)
        if self.standard == "ADaM":
            if self.name == "ADSL":
                return "ADSL"
            if "PARAMCD" in cols:
                return "BDS"
            if {"AEDECOD", "AETERM"} & cols or {"CMTRT", "CMDECOD"} & cols:
                return "OCCDS"
            return "OTHER"
        if self.name in TRIAL_DESIGN:
            return "TRIAL DESIGN"
        if self.name in SPECIAL_PURPOSE:
            return "SPECIAL PURPOSE"
        if self.name.startswith("SUPP") or self.name == "RELREC":
            return "RELATIONSHIP"
        p = self.prefix
        if f"{p}TRT" in cols:
            return "INTERVENTIONS"
        if f"{p}TERM" in cols:
            return "EVENTS"
        if f"{p}TESTCD" in cols:
            return "FINDINGS"
        return "OTHER"

    def is_null(self, column: str) -> np.ndarray:
        """True where ``column`` is null: NaN for numbers, empty or blank text for characters."""
        cached = self._null_cache.get(column)
        if cached is None:
            series = self.frame[column]
            if pd.api.types.is_numeric_dtype(series.dtype) or len(series) < LARGE:
                cached = null_mask(series)
            else:
                cached = self.per_value(column, null_mask)
            self._null_cache[column] = cached
        return cached

    def factorized(self, column: str) -> tuple[np.ndarray, pd.Series]:
        """(codes, distinct values) of a text column, computed once: text checks then run on the
        distinct values (a few thousand) instead of every record (millions), and are mapped back."""
        cached = self._factor_cache.get(column)
        if cached is None:
            series = self.frame[column]
            codes, uniques = pd.factorize(series, use_na_sentinel=False)
            if pd.api.types.is_numeric_dtype(series.dtype):
                cached = (codes, pd.Series(np.asarray(uniques, dtype="float64")))
            else:
                cached = (codes, pd.Series(np.asarray(uniques, dtype=object), dtype="str"))
            self._factor_cache[column] = cached
        return cached

    def per_value(self, column: str, fn) -> np.ndarray:
        """``fn`` (text Series -> boolean/number array) evaluated once per distinct value of ``column``."""
        codes, uniques = self.factorized(column)
        return np.asarray(fn(uniques))[codes]


def null_mask(series: pd.Series) -> np.ndarray:
    """Null as SAS and CORE see it: missing numbers and empty or all-blank strings."""
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.isna().to_numpy()
    text = series.astype("str") if series.dtype == object else series
    return (series.isna() | (text.str.strip() == "")).to_numpy(dtype=bool)


def _standard_of(name: str, folder_hint: str | None) -> str:
    if folder_hint:
        return folder_hint
    return "ADaM" if name.startswith("AD") else "SDTM"


def _normalize(frame: pd.DataFrame, meta: Dataset) -> pd.DataFrame:
    """Character columns as text with "" for null, so string methods behave alike on pandas 2 and 3;
    numeric columns as float64 (SAS special missing values .A-.Z become NaN: they are null)."""
    numeric = {v.name for v in meta.variables if v.type == "Num"}
    out = {}
    for col in frame.columns:
        s = frame[col]
        if col in numeric and not pd.api.types.is_numeric_dtype(s.dtype):
            out[col] = pd.to_numeric(s, errors="coerce").astype("float64")
        elif pd.api.types.is_numeric_dtype(s.dtype):
            out[col] = s if s.dtype == "float64" else s.astype("float64")
        elif s.dtype == object or s.hasnans:
            out[col] = s.fillna("").astype("str")
        else:
            out[col] = s
    frame = pd.DataFrame(out, copy=False)
    frame.index = pd.RangeIndex(len(frame))
    return frame


def table_from(frame: pd.DataFrame, meta: Dataset, standard: str | None = None, file: str = "") -> Table:
    name = meta.name.upper()
    return Table(name=name, frame=_normalize(frame, meta), meta=meta, standard=_standard_of(name, standard), file=file)


def load_folder(
    folder: Path, standard: str | None = None, encoding: str | None = None, given: Mapping[Path, tuple] | None = None
) -> dict[str, Table]:
    """Every dataset file in ``folder`` (not recursive); XPT preferred when both XPT and JSON exist.
    ``encoding`` is the XPT text encoding (a Python codec name; None: UTF-8, then Windows-1252).
    ``given`` holds what reading some of the files gives, ``{path: (frame, Dataset)}``, already in memory
    (the build's own datasets); those files are not read again."""
    if not folder.is_dir():
        raise InputError(
            "not a folder of datasets; pass a folder with .xpt or .json/.ndjson files", Location(str(folder))
        )
    tables: dict[str, Table] = {}
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in DATA_SUFFIXES and p.is_file())
    files.sort(key=lambda p: DATA_SUFFIXES.index(p.suffix.lower()))
    for path in files:
        if path.suffix.lower() == ".json" and not _looks_like_dataset_json(path):
            continue
        frame, meta = given[path] if given and path in given else read_dataset(path, encoding)
        table = table_from(frame, meta, standard, file=path.name)
        tables.setdefault(table.name, table)
    return dict(sorted(tables.items()))


def _looks_like_dataset_json(path: Path) -> bool:
    """Skip JSON that is not a dataset (e.g. a metadata snapshot or a report next to the data)."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    return b'"columns"' in head or b'"datasetJSONVersion"' in head or b'"itemGroupOID"' in head
