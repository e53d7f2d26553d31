"""Read a study's source tables (CSV, XLSX sheet, SAS7BDAT, XPT) into DataFrames with a row id.

Every value is kept as the text the source holds ("" when empty): the mapping decides what is a
number or a date, so nothing is guessed here (no "NA" turned into a missing value, no leading
zeros lost). The added ``SRCROW`` column is the 1-based data row, the lineage key of every record."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, Location, SourceError
from .readers import check_csv_records, check_csv_text, csv_fields_vouched, csv_values_unpadded, read_xpt_values

ROW_ID = "SRCROW"
FORMATS = ("csv", "xlsx", "sas7bdat", "xpt")


def detect_format(path: Path) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"xls": "xlsx", "xlsm": "xlsx", "txt": "csv"}.get(suffix, suffix)


def _cell_text(value) -> str:
    """One spreadsheet/SAS cell as source text: whole numbers without '.0', dates as ISO 8601."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        if (value.hour, value.minute, value.second) == (0, 0, 0):
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _stripped(column: pd.Series) -> pd.Series:
    """A text column without blanks around its values, judged once per distinct value; the column itself
    (no copy of millions of values) when no value has any."""
    if column.dtype == "str":
        # a set of the distinct values answers "any blanks to strip?" at half the cost of codes per record
        distinct = set(column.to_numpy(dtype=object))
        if all(isinstance(value, str) and value == value.strip() for value in distinct):
            return column
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    text = pd.Series(uniques, dtype=str)
    clean = text.str.strip()
    if bool((clean == text).all()) and column.dtype == "str":
        return column
    return pd.Series(clean.to_numpy(dtype=object)[codes], index=column.index, name=column.name, dtype=str)


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object or isinstance(column.dtype, pd.StringDtype) or str(column.dtype) == "str":
            out[str(name)] = column.map(_cell_text).astype(str)
        elif pd.api.types.is_datetime64_any_dtype(column):
            out[str(name)] = column.map(_cell_text).astype(str)
        else:
            values = column.to_numpy(dtype="float64", na_value=np.nan)
            text = pd.Series(values, index=frame.index).map(_cell_text)
            out[str(name)] = text.astype(str)
    return pd.DataFrame(out, index=frame.index)


def read_source(
    path: str | Path,
    fmt: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    name: str | None = None,
) -> pd.DataFrame:
    """Read one source table; all columns as str, plus ``SRCROW`` (1-based data row)."""
    path = Path(path)
    fmt = (fmt or detect_format(path)).lower()
    label = name or path.name
    if not path.is_file():
        raise SourceError(
            f"source table '{label}' not found; create it or fix 'file' in study.yaml", Location(str(path))
        )
    try:
        if fmt == "csv":
            what = f"CSV table '{label}'"
            data = check_csv_text(path, encoding, what)
            try:
                frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding or "utf-8")
            except Exception:
                check_csv_records(data, path, what)  # a record with too many fields: say which line
                raise
            # counting each record's fields costs more than reading them: only when the counts may differ
            plain = isinstance(frame.index, pd.RangeIndex) and csv_fields_vouched(data, len(frame.columns))
            if not plain:
                check_csv_records(data, path, what)
            # the bytes, where they can, prove no value has blanks to strip; else each column is looked at
            if not (plain and csv_values_unpadded(data)):
                frame = pd.DataFrame(
                    {name: _stripped(frame[name]) for name in frame.columns}, index=frame.index, copy=False
                )
            del data
        elif fmt == "xlsx":
            # as the CSV reader: a cell's text is kept as written ('None', 'NA', 'null' are not missing)
            frame = pd.read_excel(
                path, sheet_name=sheet or 0, dtype=object, keep_default_na=False, na_values=[], engine="openpyxl"
            )
            frame = _as_text(frame)
        elif fmt == "xpt":
            try:  # UTF-8 then Windows-1252 unless study.yaml names the encoding; SAS dates as dates
                frame, _ = read_xpt_values(path, encoding, dates_as_numbers=False)
            except InputError as exc:
                raise SourceError(
                    f"cannot read XPT table '{label}' ({exc.__cause__ or exc.bare_message}); if its text is not "
                    f"{encoding or 'UTF-8 or Windows-1252'}, set its 'encoding' in study.yaml",
                    Location(str(path)),
                ) from None
            frame = _as_text(frame)
        elif fmt == "sas7bdat":
            import pyreadstat  # a compiled reader loaded only when a SAS file is read

            frame, _ = (
                pyreadstat.read_sas7bdat(str(path), encoding=encoding)
                if encoding
                else pyreadstat.read_sas7bdat(str(path))
            )
            frame = _as_text(frame)
        else:
            raise SourceError(f"unknown format '{fmt}' (use one of: {', '.join(FORMATS)})", Location(str(path)))
    except SourceError:
        raise
    except ValueError as exc:
        if fmt == "xlsx" and "Worksheet" in str(exc):
            raise SourceError(
                f"sheet '{sheet}' not found in the workbook; fix 'sheet' in study.yaml", Location(str(path))
            ) from None
        raise SourceError(f"cannot read {fmt.upper()} table '{label}': {exc}", Location(str(path))) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read {fmt.upper()} table '{label}': {exc}", Location(str(path))) from None
    except LookupError:
        raise SourceError(
            f"unknown encoding '{encoding}' for table '{label}'; name one such as utf-8, latin-1 or cp1252",
            Location(str(path)),
        ) from None
    except InputError:
        raise
    except Exception as exc:  # the spreadsheet and SAS readers raise their own classes (e.g. a bad zip file)
        raise SourceError(
            f"cannot read {fmt.upper()} table '{label}' ({type(exc).__name__}: {exc}); is it really {fmt.upper()}?",
            Location(str(path)),
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.reset_index(drop=True)
    frame[ROW_ID] = np.arange(1, len(frame) + 1, dtype="int64")
    return frame


def check_keys(frame: pd.DataFrame, keys, name: str, where: Location) -> None:
    """The key columns study.yaml declares for a source identify each of its rows: a missing key column,
    or rows sharing their keys (a record entered twice, a ragged export), is a SourceError naming the rows."""
    keys = list(keys)
    if not keys:
        return
    absent = [key for key in keys if key not in frame.columns]
    if absent:
        raise SourceError(
            f"key column '{absent[0]}' of source '{name}' is not in the table (columns: "
            f"{', '.join(c for c in frame.columns if c != ROW_ID)}); fix 'keys' in study.yaml",
            where,
        )
    if _all_distinct(frame, keys):
        return
    repeated = frame.duplicated(subset=keys, keep=False)
    if repeated.any():
        first = frame.loc[repeated].iloc[0]
        same = frame.loc[repeated & (frame[keys] == first[keys]).all(axis=1), ROW_ID].head(3)
        values = ", ".join(f"{key}={first[key]!r}" for key in keys)
        raise SourceError(
            f"rows {', '.join(str(int(r)) for r in same)} of source '{name}' share their keys ({values}); "
            f"the keys declared in study.yaml must identify each row: remove the repeated row or add a key",
            where,
        )


def _all_distinct(frame: pd.DataFrame, keys: list) -> bool:
    """Whether no two rows share their keys: one number per row for its keys (the codes of each key column
    combined), all distinct. pandas' ``duplicated`` answers the same, marking each row in a hash table where
    a sort of numbers (a table's rows mostly come in key order) is cheaper."""
    ids = np.zeros(len(frame), dtype=np.int64)
    size = 1
    for key in keys:
        codes, uniques = pd.factorize(frame[key], use_na_sentinel=False)
        width = max(len(uniques), 1)
        if size * width >= 2**62:  # the combined numbers would overflow: number the combinations so far
            ids, distinct = pd.factorize(ids)
            size = len(distinct)
        ids = ids * width + codes
        size *= width
    ids.sort()
    return not bool((ids[1:] == ids[:-1]).any())
