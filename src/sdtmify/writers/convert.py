"""`sdtmify convert SOURCE TARGET`: one dataset between SAS XPT v5, Dataset-JSON 1.1 (.json/.ndjson) and
CSV, chosen by file extension.

What XPT needs survives a trip through Dataset-JSON, so XPT -> Dataset-JSON -> XPT is byte-identical:
lengths (``length``), labels, formats (``displayFormat``), dataset label, the created/modified stamps
(``datasetJSONCreationDateTime``/``dbLastModifiedDateTime``) and the SAS release and host of the header
(``sourceSystem`` ``{"name": "SAS", "version": "<release> <host>"}``). Not carried, for want of a field
in Dataset-JSON 1.1: informats and special missing values (written as null). CSV carries values only.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from .. import xport
from ..atomic import atomic_path
from ..errors import InputError, Location
from ..readers import read_dataset
from .datasetjson import write_dataset_json
from .xpt import write_xpt

TARGETS = (".xpt", ".json", ".ndjson", ".csv")
SAS_SOURCE = "SAS"


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


def _write_csv(frame: pd.DataFrame, dataset, target: Path) -> Path:
    """Values only; whole-number Num columns without a decimal point, others in shortest round-trip form."""
    out = {}
    for var in dataset.variables:
        column = frame[var.name]
        if var.type == "Num":
            numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            finite = numbers[~np.isnan(numbers)]
            whole = bool(np.all(finite == np.floor(finite))) and bool(np.all(np.abs(finite) < 2.0**53))
            out[var.name] = pd.array(numbers, dtype="Float64").astype("Int64") if whole else numbers
        else:
            out[var.name] = column
    with atomic_path(target) as tmp:
        pd.DataFrame(out).to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8")
    return target


def convert(source: str | Path, target: str | Path, encoding: str = "ascii") -> Path:
    """Convert ``source`` into ``target`` by extension (.xpt, .json, .ndjson, .csv).

    ``encoding`` is the XPT text encoding written (ascii, cp1252, latin-1); an XPT source is read with it
    when it is not ASCII, else as UTF-8 and then Windows-1252."""
    source, target = Path(source), Path(target)
    suffix = target.suffix.lower()
    if suffix not in TARGETS:
        raise InputError(
            f"cannot write '{suffix}' files; name the target .xpt, .json, .ndjson or .csv", Location(str(target))
        )
    if source.resolve() == target.resolve():
        raise InputError("source and target are the same file", Location(str(target)))
    frame, dataset = read_dataset(source, encoding=None if encoding.lower() in ("ascii", "us-ascii") else encoding)
    header = header_of(frame)
    if suffix == ".xpt":
        return write_xpt(
            frame,
            dataset,
            target,
            created=header.created,
            modified=header.modified,
            sas_version=header.sas_version or xport.DEFAULT_SAS_VERSION,
            os_name=header.os_name or xport.DEFAULT_OS_NAME,
            encoding=encoding,
        )
    if suffix in (".json", ".ndjson"):
        attrs = frame.attrs.get("dataset_json") or {}
        system = attrs.get("sourceSystem")
        if "xpt" in frame.attrs:
            system = {"name": SAS_SOURCE, "version": f"{header.sas_version} {header.os_name}".strip()}
        return write_dataset_json(
            frame,
            dataset,
            target,
            ndjson=suffix == ".ndjson",
            created=header.created,
            modified=header.modified,
            source_system=system,
            originator=attrs.get("originator", "sdtmify"),
        )
    return _write_csv(frame, dataset, target)
