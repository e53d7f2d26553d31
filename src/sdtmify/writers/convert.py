"""`sdtmify convert SOURCE TARGET`: one dataset between SAS XPT v5, Dataset-JSON 1.1 (.json/.ndjson) and
CSV, chosen by file extension.

What XPT needs survives a trip through Dataset-JSON, so XPT -> Dataset-JSON -> XPT is byte-identical:
lengths (``length``), labels, formats (``displayFormat``), dataset label, the created/modified stamps
(``datasetJSONCreationDateTime``/``dbLastModifiedDateTime``) and the SAS release and host of the header
(``sourceSystem`` ``{"name": "SAS", "version": "<release> <host>"}``). Not carried, for want of a field
in Dataset-JSON 1.1: informats and special missing values (written as null).

CSV holds values only, so a CSV target gets a sidecar ``<name>.meta.json`` beside it: the dataset's
name and label, each variable's type, length, label, format and informat, and the XPT header. Numeric
dates, datetimes and times (a SAS date, datetime or time format) are written as ISO 8601 text
(``2013-05-09``, ``2013-05-09T10:00:00``, ``10:00:00``; SAS counts days and seconds from 1960-01-01),
special missing values as ``.A``-``.Z``/``._``. A CSV source is read with its sidecar, so
XPT -> CSV -> XPT is byte-identical too. Conversions that would lose something are refused unless
``allow_lossy`` (``--allow-lossy``): a CSV without a sidecar (types, lengths and labels would be guessed)
and text longer than the 200 bytes an XPT v5 character variable holds (cut to 200 when allowed).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from .. import xport
from ..atomic import atomic_path, write_text
from ..errors import InputError, Location
from ..metadata.model import Dataset, Variable
from ..readers import read_dataset
from .datasetjson import write_dataset_json
from .xpt import write_xpt

TARGETS = (".xpt", ".json", ".ndjson", ".csv")
SAS_SOURCE = "SAS"
SIDECAR = "sdtmify-csv-metadata/1.0"
XPT_TEXT_BYTES = 200  # the longest value of an XPT v5 character variable
_EPOCH = np.datetime64("1960-01-01T00:00:00", "s")
# ISO text is written only where pandas reads it back exactly (its datetime range is 1677-2262)
_FIRST, _LAST = np.datetime64("1678-01-01T00:00:00", "s"), np.datetime64("2261-12-31T23:59:59", "s")
_ISO_FORMATS = {"date": "%Y-%m-%d", "datetime": "%Y-%m-%dT%H:%M:%S"}
_SPECIAL = r"\.[A-Z_]"


def sidecar_path(csv: Path) -> Path:
    """``dm.csv`` -> ``dm.meta.json`` (the CSV's metadata, beside it)."""
    return Path(csv).with_name(Path(csv).stem + ".meta.json")


def _parse_iso(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")).replace(tzinfo=None, microsecond=0)
    except ValueError:
        return None


def header_of(frame: pd.DataFrame) -> xport.XptHeader:
    """The XPT header a source carries: its own (XPT), or the one Dataset-JSON stored (see module doc)."""
    member = frame.attrs.get("xpt")
    if member is not None:
        return member.header
    attrs = frame.attrs.get("dataset_json") or {}
    created = _parse_iso(attrs.get("datasetJSONCreationDateTime"))
    modified = _parse_iso(attrs.get("dbLastModifiedDateTime")) or created
    system = attrs.get("sourceSystem") or {}
    if system.get("name") == SAS_SOURCE:
        release, _, host = str(system.get("version", "")).partition(" ")
        return xport.XptHeader(sas_version=release, os_name=host, created=created, modified=modified)
    return xport.XptHeader(created=created, modified=modified)


def _iso_text(values: np.ndarray, kind: str) -> np.ndarray | None:
    """SAS numbers of a date/datetime/time variable as ISO 8601 text ("" where missing), or None when a
    value has no exact ISO form (a fraction of a day or second, a year outside 1678-2261)."""
    finite = ~np.isnan(values)
    v = values[finite]
    unit = 86400 if kind == "date" else 1
    if not np.all(v == np.floor(v)) or (kind == "time" and not np.all((v >= 0) & (v < 86400))):
        return None
    seconds = v * unit
    if v.size and (
        seconds.min() < (_FIRST - _EPOCH).astype(np.int64) or seconds.max() > (_LAST - _EPOCH).astype(np.int64)
    ):
        return None
    stamps = _EPOCH + seconds.astype(np.int64).astype("timedelta64[s]")
    text = np.datetime_as_string(stamps, unit="D" if kind == "date" else "s")
    if kind == "time":
        text = pd.Series(text, dtype=str).str.slice(11).to_numpy(dtype=object)
    out = np.full(len(values), "", dtype=object)
    out[finite] = text
    return out


def _csv_columns(frame: pd.DataFrame, dataset: Dataset) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The CSV text of every column, and the ISO kind of the numeric dates written as ISO text."""
    out: dict[str, np.ndarray] = {}
    iso: dict[str, str] = {}
    for var in dataset.variables:
        column = frame[var.name]
        if var.type != "Num":
            out[var.name] = column.fillna("").astype(str).to_numpy(dtype=object)
            continue
        text = column.astype(str)
        special = text.str.fullmatch(_SPECIAL).to_numpy()  # .A-.Z, ._ (numbers never match)
        numbers = pd.to_numeric(column.where(~special, np.nan), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        kind = xport.date_kind(xport.SasFormat.parse(var.format)) if var.format else ""
        written = _iso_text(numbers, kind) if kind else None
        if written is None:
            written = np.full(len(numbers), "", dtype=object)
            finite = ~np.isnan(numbers)
            whole = finite & (numbers == np.floor(numbers)) & (np.abs(numbers) < 2.0**53)
            written[whole] = numbers[whole].astype(np.int64)
            written[finite & ~whole] = numbers[finite & ~whole]
        else:
            iso[var.name] = kind
        written[special] = text.to_numpy(dtype=object)[special]
        out[var.name] = written
    return out, iso


def _sidecar(dataset: Dataset, header: xport.XptHeader, iso: dict[str, str]) -> dict:
    stamp = lambda when: when.isoformat(timespec="seconds") if when else None  # noqa: E731
    return {
        "schema": SIDECAR,
        "dataset": {"name": dataset.name, "label": dataset.label},
        "xpt": {
            "sas_version": header.sas_version,
            "os_name": header.os_name,
            "created": stamp(header.created),
            "modified": stamp(header.modified),
        },
        "variables": [
            {
                "name": var.name,
                "label": var.label,
                "type": var.type,
                "length": var.length,
                "format": var.format,
                "informat": var.informat,
                **({"iso8601": iso[var.name]} if var.name in iso else {}),
            }
            for var in dataset.variables
        ],
    }


def _write_csv(frame: pd.DataFrame, dataset: Dataset, header: xport.XptHeader, target: Path) -> list[Path]:
    """The values as CSV (UTF-8) and the metadata beside it (see the module docstring)."""
    columns, iso = _csv_columns(frame, dataset)
    with atomic_path(target) as tmp:
        pd.DataFrame(columns).to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8")
    meta = sidecar_path(target)
    write_text(meta, json.dumps(_sidecar(dataset, header, iso), indent=1, ensure_ascii=False) + "\n")
    return [target, meta]


def _read_sidecar(path: Path) -> dict:
    where = Location(str(path))
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the CSV's metadata: {exc}", where) from exc
    if not isinstance(document, dict) or document.get("schema") != SIDECAR:
        raise InputError(f"not an sdtmify CSV metadata file (schema {SIDECAR})", where)
    for i, var in enumerate(document.get("variables") or []):
        for key, kind in (("name", str), ("type", str), ("length", int)):
            if not isinstance(var.get(key), kind):
                raise InputError(f"variables[{i}].{key} is missing or not a {kind.__name__}", where)
        if var["type"] not in ("Char", "Num"):
            raise InputError(f"variables[{i}].type is {var['type']!r}; use Char or Num", where)
    return document


def _from_iso(text: pd.Series, kind: str) -> np.ndarray:
    """ISO 8601 text back to SAS numbers (days for dates, seconds for datetimes and times); NaN where bad."""
    if kind == "time":
        parts = text.str.extract(r"^(\d\d):(\d\d):(\d\d)$").astype("float64")
        return (parts[0] * 3600 + parts[1] * 60 + parts[2]).to_numpy(dtype=np.float64, na_value=np.nan)
    stamps = pd.to_datetime(text, format=_ISO_FORMATS[kind], errors="coerce")
    seconds = (stamps - pd.Timestamp("1960-01-01")).dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan)
    return seconds / 86400 if kind == "date" else seconds


def _read_csv_with_sidecar(path: Path, meta_path: Path) -> tuple[pd.DataFrame, Dataset, xport.XptHeader]:
    """A CSV written by :func:`_write_csv`: values typed by its sidecar, dates back to SAS numbers."""
    document = _read_sidecar(meta_path)
    try:
        text = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read as CSV: {exc}", Location(str(path))) from exc
    declared = [v["name"] for v in document["variables"]]
    if list(text.columns) != declared:
        raise InputError(
            f"columns {list(text.columns)} are not the variables {meta_path.name} declares {declared}",
            Location(str(path)),
        )
    out: dict[str, object] = {}
    variables = []
    for order, var in enumerate(document["variables"], start=1):
        column = text[var["name"]]
        if var["type"] == "Char":
            out[var["name"]] = column
            data_type = "text"
        else:
            blank = column.str.strip() == ""
            special = column.str.fullmatch(_SPECIAL)
            values = column.where(~blank & ~special, "")
            kind = var.get("iso8601")
            numbers = (
                _from_iso(values, kind)
                if kind
                else pd.to_numeric(values.where(values != "", None), errors="coerce").to_numpy(
                    dtype=np.float64, na_value=np.nan
                )
            )
            bad = np.flatnonzero(np.isnan(numbers) & ~(blank | special).to_numpy())
            if bad.size:
                what = f"an ISO 8601 {kind}" if kind else "a number"
                raise InputError(
                    f"row {bad[0] + 2}: {column.iloc[bad[0]]!r} is not {what}",
                    Location(str(path), None, var["name"]),
                )
            if special.any():
                mixed = numbers.astype(object)
                mixed[special.to_numpy()] = column[special].to_numpy(dtype=object)
                out[var["name"]] = mixed
            else:
                out[var["name"]] = numbers
            finite = numbers[np.isfinite(numbers)]
            data_type = "integer" if np.all(finite == np.floor(finite)) else "float"
        variables.append(
            Variable(
                name=var["name"],
                label=var.get("label", ""),
                type=var["type"],
                length=var["length"],
                data_type=data_type,
                order=order,
                format=var.get("format", ""),
                informat=var.get("informat", ""),
            )
        )
    head = document.get("dataset") or {}
    dataset = Dataset(
        name=str(head.get("name") or path.stem.upper()),
        label=str(head.get("label") or ""),
        purpose="",
        variables=tuple(variables),
        leaf=path.name,
    )
    xpt = document.get("xpt") or {}
    header = xport.XptHeader(
        sas_version=xpt.get("sas_version") or "",
        os_name=xpt.get("os_name") or "",
        created=_stamp(xpt.get("created")),
        modified=_stamp(xpt.get("modified")),
    )
    return pd.DataFrame(out, index=text.index), dataset, header


def _stamp(text) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def _long_text(frame: pd.DataFrame, dataset: Dataset) -> list[tuple[str, int]]:
    """(variable, bytes) of character variables longer than XPT v5 holds."""
    found = []
    for var in dataset.variables:
        if var.type == "Char":
            longest = int(frame[var.name].astype(str).str.encode("utf-8").str.len().max()) if len(frame) else 0
            if max(longest, var.length) > XPT_TEXT_BYTES:
                found.append((var.name, max(longest, var.length)))
    return found


def _cut_long_text(frame: pd.DataFrame, dataset: Dataset) -> tuple[pd.DataFrame, Dataset]:
    """--allow-lossy: text longer than 200 bytes cut to 200 (whole characters), lengths to 200."""
    frame = frame.copy()
    long = dict(_long_text(frame, dataset))
    variables = []
    for var in dataset.variables:
        if var.name in long:
            cut = frame[var.name].astype(str).str.encode("utf-8").str.slice(0, XPT_TEXT_BYTES)
            frame[var.name] = cut.str.decode("utf-8", errors="ignore")
            var = replace(var, length=XPT_TEXT_BYTES)
        variables.append(var)
    return frame, replace(dataset, variables=tuple(variables))


def convert(source: str | Path, target: str | Path, encoding: str = "ascii", allow_lossy: bool = False) -> Path:
    """Convert ``source`` into ``target`` by extension (.xpt, .json, .ndjson, .csv); returns ``target``
    (a CSV target also gets its sidecar, see :func:`convert_files`)."""
    return convert_files(source, target, encoding=encoding, allow_lossy=allow_lossy)[0]


def convert_files(
    source: str | Path, target: str | Path, encoding: str = "ascii", allow_lossy: bool = False, warn=None
) -> list[Path]:
    """Convert ``source`` into ``target``; the files written (a CSV and its sidecar, or one file).

    ``encoding`` is the XPT text encoding written (ascii, cp1252, latin-1); an XPT source is read with it
    when it is not ASCII, else as UTF-8 and then Windows-1252. Lossy conversions are refused unless
    ``allow_lossy``; ``warn`` is told what was lost then."""
    source, target = Path(source), Path(target)
    suffix = target.suffix.lower()
    if suffix not in TARGETS:
        raise InputError(
            f"cannot write '{suffix}' files; name the target .xpt, .json, .ndjson or .csv", Location(str(target))
        )
    if source.resolve() == target.resolve():
        raise InputError("source and target are the same file", Location(str(target)))
    header = None  # the XPT header a CSV's sidecar carries
    if source.suffix.lower() == ".csv" and source.is_file():
        meta = sidecar_path(source)
        if meta.is_file():
            frame, dataset, header = _read_csv_with_sidecar(source, meta)
        elif not allow_lossy:
            raise InputError(
                f"no metadata beside it ({meta.name}, written by `sdtmify convert DATASET.xpt {source.name}`): "
                "types, lengths, labels and formats would be guessed from the values; add the metadata, or pass "
                "--allow-lossy to convert anyway",
                Location(str(source)),
            )
        else:
            frame, dataset = read_dataset(source)
            if warn:
                warn(f"{source.name}: no {meta.name}; types and lengths guessed from the values, no labels or formats")
    from_sas = header is not None and bool(header.sas_version)
    if header is None:
        frame, dataset = read_dataset(source, encoding=None if encoding.lower() in ("ascii", "us-ascii") else encoding)
        header = header_of(frame)
    if suffix == ".xpt":
        long = _long_text(frame, dataset)
        if long and not allow_lossy:
            described = ", ".join(f"{name} ({size} bytes)" for name, size in long)
            raise InputError(
                f"XPT v5 holds at most {XPT_TEXT_BYTES} bytes of text per value; {described} would be cut. "
                "Write Dataset-JSON instead, or pass --allow-lossy to cut them",
                Location(str(source)),
            )
        if long:
            frame, dataset = _cut_long_text(frame, dataset)
            if warn:
                warn(f"cut to {XPT_TEXT_BYTES} bytes: {', '.join(name for name, _ in long)}")
        return [
            write_xpt(
                frame,
                dataset,
                target,
                created=header.created,
                modified=header.modified,
                sas_version=header.sas_version or xport.DEFAULT_SAS_VERSION,
                os_name=header.os_name or xport.DEFAULT_OS_NAME,
                encoding=encoding,
            )
        ]
    if suffix in (".json", ".ndjson"):
        attrs = frame.attrs.get("dataset_json") or {}
        system = attrs.get("sourceSystem")
        if "xpt" in frame.attrs or from_sas:
            system = {"name": SAS_SOURCE, "version": f"{header.sas_version} {header.os_name}".strip()}
        return [
            write_dataset_json(
                frame,
                dataset,
                target,
                ndjson=suffix == ".ndjson",
                created=header.created,
                modified=header.modified,
                source_system=system,
                originator=attrs.get("originator", "sdtmify"),
            )
        ]
    return _write_csv(frame, dataset, header, target)
