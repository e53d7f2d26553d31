"""Datasets as the validator sees them: a frame, its metadata, and what it is (standard, class, prefix).

Reading goes through one function, :func:`sdtmify.readers.read_dataset`, the project's reader
(pyreadstat values plus the XPT header parser; never pandas.read_sas, which misreads zeros and drops
records)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ..distinct import factorize
from ..errors import InputError, Location
from ..metadata.model import Dataset
from ..objects import distinct_objects, factorize_objects
from ..readers import read_dataset

DATA_SUFFIXES = (".xpt", ".json", ".ndjson")
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
    # Per-column work shared by every rule (the frame is never changed once the table is made): null
    # masks, factorizations, results of named text tests, and columns joined from other tables.
    _null_cache: dict = field(default_factory=dict, repr=False)
    _factor_cache: dict = field(default_factory=dict, repr=False)
    _value_cache: dict = field(default_factory=dict, repr=False)
    _distinct_cache: dict = field(default_factory=dict, repr=False)  # results on distinct values only
    _joined: dict = field(default_factory=dict, repr=False)  # "DM.RFSTDTC" -> (DM table, key, Series)
    _first_by: dict = field(default_factory=dict, repr=False)  # key -> first record per key value

    @property
    def records(self) -> int:
        return len(self.frame)

    def release(self) -> None:
        """Forget the per-column work (codes, null masks, test results, joined columns): the rules that
        check this table are done, and another table's rule that still reads it computes what it needs."""
        for cache in (self._null_cache, self._factor_cache, self._value_cache, self._distinct_cache):
            cache.clear()
        self._joined.clear()
        self._first_by.clear()

    def with_frame(self, frame: pd.DataFrame) -> Table:
        """This table holding another frame (an edited copy, as mutation tests make): every per-column
        cache starts empty, since the caches hold for one frame only."""
        return Table(self.name, frame, self.meta, self.standard, self.file)

    # prefix and domain_class are asked by every rule of every dataset (thousands of times a run) and
    # depend only on the frame, which nothing changes once the table is made: computed once.
    @cached_property
    def prefix(self) -> str:
        """The 2-letter variable prefix ("AE" for AESEQ), "" for ADaM, SUPPxx and RELREC."""
        if self.standard != "SDTM" or self.name.startswith("SUPP") or self.name == "RELREC":
            return ""
        if "DOMAIN" in self.frame.columns and len(self.frame):
            value = str(self.frame["DOMAIN"].iloc[0]).strip()
            if value:
                return value
        return self.name[:2]

    @cached_property
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

    @cached_property
    def text_columns(self) -> tuple[str, ...]:
        """The character columns, in frame order (asked by every check that reads all of them)."""
        return tuple(name for name, dtype in self.frame.dtypes.items() if not pd.api.types.is_numeric_dtype(dtype))

    def column(self, name: str) -> pd.Series:
        """A column of the frame, or one joined to it (``DM.RFSTDTC``, see :meth:`joined`)."""
        if name in self._joined:
            return self._joined[name][2]
        return self.frame[name]

    def joined(self, dataset: str, other: Table, column: str, key: str = "USUBJID") -> pd.Series:
        """``other.column`` next to each record of this table, matched by ``key`` (the first record of
        ``other`` with that key; "" or NaN where none), computed once per table and cached under the
        name ``DATASET.COLUMN``, so the per-column caches serve it like a column of the frame."""
        name = f"{dataset}.{column}"
        cached = self._joined.get(name)
        if cached is not None and cached[0] is other and cached[1] == key:
            return cached[2]
        for cache in (self._null_cache, self._factor_cache):
            cache.pop(name, None)
        self._value_cache = {k: v for k, v in self._value_cache.items() if k[0] != name}
        self._distinct_cache = {
            k: v
            for k, v in self._distinct_cache.items()
            if k[0] != name and not (k[0] == "distinct text" and name in k[1])
        }
        lookup = other.first_by(key)[column]
        text = not pd.api.types.is_numeric_dtype(lookup.dtype)
        if len(self.frame):  # each distinct key looked up once, then spread to the records by their codes
            codes, keys = self.factorized(key)
            found = text_or_empty(keys.map(lookup)) if text else keys.map(lookup)
            mapped = pd.Series(found.to_numpy()[codes], index=self.frame.index, dtype=found.dtype)
        else:
            mapped = text_or_empty(self.frame[key].map(lookup)) if text else self.frame[key].map(lookup)
        self._joined[name] = (other, key, mapped)
        return mapped

    def first_by(self, key: str) -> pd.DataFrame:
        """The first record for each value of ``key``, indexed by it (the look-up side of a join)."""
        cached = self._first_by.get(key)
        if cached is None:
            cached = self._first_by[key] = self.frame.drop_duplicates(key).set_index(key)
        return cached

    def is_null(self, column: str) -> np.ndarray:
        """True where ``column`` is null: NaN for numbers, empty or blank text for characters.
        Read-only: it is shared by every rule."""
        cached = self._null_cache.get(column)
        if cached is None:
            series = self.column(column)
            if pd.api.types.is_numeric_dtype(series.dtype):
                cached = null_mask(series)
            else:
                if column in self.text_columns and (column, "null") not in self._distinct_cache:
                    # every text column's distinct values tested in one call (pandas' cost per call, once)
                    for name, nulls in on_distinct_of_columns(self, list(self.text_columns), null_mask).items():
                        nulls.flags.writeable = False
                        self._distinct_cache[(name, "null")] = nulls
                cached = self.per_value(column, null_mask, key="null")
            cached.flags.writeable = False
            self._null_cache[column] = cached
        return cached

    def factorized(self, column: str) -> tuple[np.ndarray, pd.Series]:
        """(codes, distinct values) of a column, computed once: text checks then run on the
        distinct values (a few thousand) instead of every record (millions), and are mapped back.
        Hashing a column is C code while pandas' string methods call Python once per value, so this
        pays from a few dozen records on (a small dataset's columns repeat too: AE's 1,191 AESEV
        values are 3 distinct ones). The codes are the narrowest integers that hold them (a 4-million
        record LB column of 20 test codes keeps 1 byte a record, not 8); read-only, shared by every rule."""
        cached = self._factor_cache.get(column)
        if cached is None:
            series = self.column(column)
            codes, uniques = factorize_by_runs(series)
            codes = codes.astype(np.min_scalar_type(-max(len(uniques), 1)), copy=False)
            codes.flags.writeable = False
            if pd.api.types.is_numeric_dtype(series.dtype):
                cached = (codes, pd.Series(np.asarray(uniques, dtype="float64")))
            else:
                cached = (codes, pd.Series(np.asarray(uniques, dtype=object), dtype="str"))
            self._factor_cache[column] = cached
        return cached

    def on_distinct(self, column: str, fn, key=None) -> np.ndarray:
        """``fn`` (text Series -> array, element by element) on the distinct values of ``column``, in
        the order of :meth:`factorized`'s distinct values; kept under ``key`` when one is given."""
        if key is not None:
            cached = self._distinct_cache.get((column, key))
            if cached is not None:
                return cached
        result = np.asarray(fn(self.factorized(column)[1]))
        if key is not None:
            result.flags.writeable = False
            self._distinct_cache[(column, key)] = result
        return result

    def per_value(self, column: str, fn, key=None) -> np.ndarray:
        """``fn`` (text Series -> boolean/number array) evaluated once per distinct value of ``column``.

        With a ``key`` (hashable, naming what ``fn`` computes, e.g. ``("matches", pattern)``) the result
        is kept: the next rule asking the same of the same column gets it (read-only) without work."""
        if key is not None:
            cached = self._value_cache.get((column, key))
            if cached is not None:
                return cached
        codes = self.factorized(column)[0]
        result = self.on_distinct(column, fn, key)[codes]
        if key is not None:
            result.flags.writeable = False
            self._value_cache[(column, key)] = result
        return result

    def kept(self, key: tuple, compute) -> np.ndarray:
        """``compute()`` once per table under ``key`` (read-only): work on several frame columns that
        several rules ask for (the codes of a key's combinations)."""
        cached = self._value_cache.get(key)
        if cached is None:
            cached = np.asarray(compute())
            cached.flags.writeable = False
            self._value_cache[key] = cached
        return cached

    def numbers(self, column: str) -> np.ndarray:
        """``column`` as float64: numbers as they are; text read as numbers once per distinct value,
        blank or not a number as NaN (what comparisons such as ``gt`` and ``eq_var`` compare). Read-only."""
        series = self.column(column)
        if pd.api.types.is_numeric_dtype(series.dtype):
            return series.to_numpy(dtype="float64")
        return self.per_value(column, text_as_numbers, key="as float64")

    def distinct_text(self, columns: tuple[str, ...]) -> pd.Series:
        """The distinct values of several text columns, one after another (per_value_of_columns), kept:
        several checks ask the same of all the text columns of a dataset."""
        key = ("distinct text", columns)
        cached = self._distinct_cache.get(key)
        if cached is None:
            parts = [self.factorized(c)[1].to_numpy(dtype=object) for c in columns]
            cached = self._distinct_cache[key] = pd.Series(np.concatenate(parts), dtype="str")
        return cached


def on_distinct_of_columns(table: Table, columns: list[str], fn) -> dict[str, np.ndarray]:
    """``fn`` (text Series -> array, element by element) on the distinct values of several text columns
    of ``table`` in one call (a check that reads every column, such as FDA's ASCII and leading-blank
    rules, pays pandas' per-call cost once per dataset instead of once per column): the result on each
    column's distinct values, in Table.factorized order. A check that asks whether any value fails, or
    how long the longest is, needs no more (every distinct value is some record's); one that flags
    records spreads a column's result by its codes."""
    if not columns:
        return {}
    parts = [table.factorized(c)[1] for c in columns]
    result = np.asarray(fn(table.distinct_text(tuple(columns))))
    out, start = {}, 0
    for column, uniques in zip(columns, parts, strict=True):
        out[column] = result[start : start + len(uniques)]
        start += len(uniques)
    return out


def factorize_by_runs(series: pd.Series) -> tuple[np.ndarray, pd.Index | np.ndarray]:
    """``pd.factorize(series, use_na_sentinel=False)``, hashing only the distinct objects of a text column
    that shares them (a built dataset's: :func:`sdtmify.objects.factorize_objects`), or else only the
    first value of each run of equal neighbours when the column has long runs (a dataset sorted by its
    keys: STUDYID, DOMAIN, USUBJID and --CAT repeat record after record). The first appearance of a value
    starts a run, so the runs' first values, factorized, give the same codes and distinct values in the
    same order."""
    if len(series) >= 1000 and not pd.api.types.is_numeric_dtype(series.dtype):
        by_object = factorize_objects(series.to_numpy(dtype=object))
        if by_object is not None:
            return by_object
    return factorize(series, use_na_sentinel=False)  # runs: sdtmify.distinct.factorize


def text_as_numbers(text: pd.Series) -> np.ndarray:
    """Text read as float64: blank or not a number is NaN."""
    return pd.to_numeric(text.where(text.str.strip() != ""), errors="coerce").to_numpy(dtype="float64")


def text_or_empty(series: pd.Series) -> pd.Series:
    """Text with "" where a lookup found nothing (safe when every value is missing)."""
    values = series.astype(object).to_numpy().copy()
    values[pd.isna(values)] = ""
    return pd.Series(values, index=series.index, dtype="str")


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
        elif s.dtype == object or (len(s) and pd.api.types.infer_dtype(_objects(s), skipna=False) != "string"):
            # str with a missing value (NaN): infer_dtype stops at the first non-text value, and reads no
            # mask of every record as hasnans does
            out[col] = s.fillna("").astype("str")
        else:
            out[col] = s
    frame = pd.DataFrame(out, copy=False)
    frame.index = pd.RangeIndex(len(frame))
    return frame


def _objects(text: pd.Series) -> np.ndarray:
    """The distinct objects of a text column that shares them (a built dataset's), else its values:
    what a test of every value's type needs to look at."""
    values = text.to_numpy(dtype=object)
    found = distinct_objects(values) if len(values) >= 1000 else None
    return values if found is None else found[1]


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
