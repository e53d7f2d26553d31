"""CDISC Dataset-JSON 1.1: one dataset as ``.json`` (one object) or ``.ndjson`` (the metadata object on the
first line, then one JSON array per record), records streamed chunk by chunk.

Column metadata follows the standard and define.xml: ``itemOID`` from :func:`sdtmify.metadata.oids.item_oid`
(the same OIDs define.xml uses), ``dataType`` (``string`` for Char; ``integer`` for whole-number Num
variables declared integer; ``double`` otherwise), ``length`` (Char; Num only when not 8),
``displayFormat`` (the SAS format, e.g. ``DATE9.``) and ``keySequence`` (the dataset's keys).
Numeric SAS dates, datetimes and times -- Num variables with a date/time format whose values are whole
days/seconds -- are written as ISO 8601 text with ``dataType`` date/datetime/time and ``targetDataType``
``integer``, as Dataset-JSON 1.1 asks.

What an XPT file needs and Dataset-JSON has no field for travels in standard fields, so that XPT ->
Dataset-JSON -> XPT is byte-identical (see :mod:`sdtmify.writers.convert`): the XPT created/modified
stamps are ``datasetJSONCreationDateTime``/``dbLastModifiedDateTime``, and the SAS release and host of
the XPT header are ``sourceSystem`` ``{"name": "SAS", "version": "<release> <host>"}``. Special missing
values (``.A``-``.Z``, ``._``) have no Dataset-JSON form and are written as null.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from dataclasses import dataclass
from json import encoder as json_encoder
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import WriteError
from ..guard import hashed_file
from ..metadata import oids
from ..metadata.model import Dataset, StudyMetadata
from ..reproducible import DEFAULT_TIMESTAMP
from ..xport import SAS_EPOCH, SasFormat, XptVariable, date_kind
from .xpt import sas_numbers

DATASET_JSON_VERSION = "1.1.0"
DEFAULT_CHUNK_ROWS = 20_000


def iso_datetime(value: dt.datetime) -> str:
    """Dataset-JSON timestamps: ``YYYY-MM-DDThh:mm:ss`` (no time zone: builds are stamped in study time)."""
    return value.replace(microsecond=0, tzinfo=None).isoformat(timespec="seconds")


def _whole(values: np.ndarray) -> bool:
    finite = values[~np.isnan(values)]
    return bool(np.all(finite == np.floor(finite))) and bool(np.all(np.abs(finite) <= 2.0**53))


class _Column:
    """How one variable is written: its column metadata and a function from a value chunk to a list."""

    def __init__(self, var, frame: pd.DataFrame, dataset: Dataset, key_sequence: int | None):
        self.name = var.name
        self.type = var.type
        fmt = SasFormat.parse(var.format) if var.format else SasFormat()
        self.meta = {"itemOID": oids.item_oid(dataset.name, var.name), "name": var.name, "label": var.label or ""}
        self.kind = "string"
        if var.type == "Num":
            spec = XptVariable(name=var.name, label=var.label, type="Num", length=var.length or 8, format=fmt)
            self.numbers = sas_numbers(frame[var.name], spec, dataset.name)
            kind = date_kind(fmt)
            clock = self.numbers[~np.isnan(self.numbers)]
            if kind == "time" and not bool(np.all((clock >= 0) & (clock < 86400))):
                kind = ""  # durations are not ISO 8601 times of day
            if kind and _whole(self.numbers):
                self.kind = kind
                self.meta["dataType"] = kind
                self.meta["targetDataType"] = "integer"
            elif var.data_type == "integer" and _whole(self.numbers):
                self.kind = self.meta["dataType"] = "integer"
            else:
                self.kind = self.meta["dataType"] = "double"
            if (var.length or 8) != 8:
                self.meta["length"] = int(var.length)
        else:
            self.meta["dataType"] = "string"
            self.meta["length"] = int(var.length)
            values = frame[var.name]
            if pd.api.types.is_numeric_dtype(values.dtype) and not values.isna().all():
                raise WriteError(
                    f"{dataset.name}.{var.name}: numeric column in a Char variable; convert it to text in the mapping"
                )
        if str(fmt):
            self.meta["displayFormat"] = str(fmt)
        if key_sequence:
            self.meta["keySequence"] = key_sequence

    def texts(self, frame: pd.DataFrame, start: int, stop: int) -> tuple[list[str] | str, bool]:
        """Records ``start:stop`` of this column as JSON text -- a list, or one text when every record has
        the same -- and whether that text is bare: string contents with nothing to escape, which the record
        puts between quotes. Otherwise each text is a whole JSON value exactly as :mod:`json` writes it
        (``null``, ``repr`` of the int or float, a quoted and escaped string). Numbers and dates are
        formatted once per distinct value of the chunk."""
        if self.kind == "string":
            return self._strings(frame, start, stop)
        numbers = self.numbers[start:stop]
        missing = np.isnan(numbers)
        if missing.all():
            return "null", False
        # distinct values by bit pattern for doubles, so that -0.0 stays apart from 0.0
        keys = numbers.view(np.int64) if self.kind == "double" else np.where(missing, 0, numbers).astype(np.int64)
        codes, distinct = pd.factorize(keys)
        if self.kind == "integer":
            texts = list(map(int.__repr__, distinct.tolist()))
        elif self.kind == "double":
            texts = list(map(float.__repr__, distinct.view(np.float64).tolist()))
        else:
            texts = ['"' + text + '"' for text in _clock_texts(self.kind, distinct).tolist()]
        if len(texts) == 1 and not missing.any():
            return texts[0], False
        codes[missing] = len(texts)
        texts.append("null")
        return np.array(texts, dtype=object)[codes].tolist(), False

    def _strings(self, frame: pd.DataFrame, start: int, stop: int) -> tuple[list[str] | str, bool]:
        values = frame[self.name].iloc[start:stop].to_numpy(dtype=object)
        chunk = values.tolist()
        try:
            joined = "".join(chunk)
        except TypeError:  # missing values (written as ""), or something that is not text
            chunk = np.where(pd.isna(values), "", values).tolist()
            try:
                joined = "".join(chunk)
            except TypeError:
                bad = next(i for i, v in enumerate(chunk) if not isinstance(v, str))  # error path only
                raise WriteError(f"{self.name} record {start + bad + 1}: {chunk[bad]!r} is not text") from None
        first = chunk[0] if chunk else ""
        same = len(joined) == len(first) * len(chunk) and joined == first * len(chunk)
        if _bare(joined, self.name, chunk, start):
            return (first if same else chunk), True
        if same:
            return json_encoder.encode_basestring(first), False
        return list(map(json_encoder.encode_basestring, chunk)), False


def _bare(joined: str, name: str, chunk: list[str], start: int) -> bool:
    """Whether ``joined`` has nothing a JSON string escapes: no quote, backslash or control character
    (U+0000-U+001F). Text that UTF-8 cannot encode (a lone surrogate) is a WriteError naming the record."""
    try:
        raw = joined.encode("utf-8")
    except UnicodeEncodeError:
        bad = next(i for i, v in enumerate(chunk) if not _utf8(v))  # error path only
        raise WriteError(
            f"{name} record {start + bad + 1}: {chunk[bad]!r} holds a character UTF-8 cannot encode "
            "(a lone surrogate); fix the text"
        ) from None
    if b'"' in raw or b"\\" in raw:
        return False
    # UTF-8 keeps U+0000-U+001F as single bytes below 0x20 and writes every other character with bytes >= 0x20
    return not raw or int(np.frombuffer(raw, dtype=np.uint8).min()) >= 0x20


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _clock_texts(kind: str, values: np.ndarray) -> np.ndarray:
    """Whole SAS days (``date``) or seconds (``datetime``; ``time``: since midnight) as ISO 8601 text."""
    if kind == "date":
        return (SAS_EPOCH + values.astype("timedelta64[D]")).astype(str)
    if kind == "datetime":
        return (SAS_EPOCH + values.astype("timedelta64[s]")).astype(str)
    hours, rest = np.divmod(values, 3600)
    minutes, seconds = np.divmod(rest, 60)
    return np.char.add(
        np.char.add(
            np.char.add(np.char.zfill(hours.astype(str), 2), ":"),
            np.char.add(np.char.zfill(minutes.astype(str), 2), ":"),
        ),
        np.char.zfill(seconds.astype(str), 2),
    )


class _Records:
    """Records ``start:stop`` of a dataset as JSON text, built column by column: each column is turned into
    text as a whole (:meth:`_Column.texts`), and the records are then one ``str.join`` of a list that holds,
    record after record, what goes between records, then each varying field and the literal text after it
    (brackets, commas, the quotes of bare strings, fields with the same text in every record): the literals
    of every record are laid down at once, as one record's pattern repeated, and each column's texts then
    go into their slots. No Python code runs per record or per value."""

    def __init__(self, columns: list[_Column], frame: pd.DataFrame, start: int, stop: int):
        self.count = stop - start
        literal = "["
        heads: list[str] = []  # the literal text before each varying field
        varying: list[list[str]] = []
        for column in columns:
            texts, bare = column.texts(frame, start, stop)
            quote = '"' if bare else ""
            if isinstance(texts, str):
                literal += quote + texts + quote + ","
            else:
                heads.append(literal + quote)
                varying.append(texts)
                literal = quote + ","
        self.closing = (literal[:-1] if columns else literal) + "]"
        self.opening = heads[0] if heads else ""
        self.width = 2 * len(varying)
        self.heads = heads
        self.varying = varying

    def text(self) -> str:
        """The records, one line each (a JSON text never holds a raw newline: strings escape it)."""
        if not self.width:  # every record the same text
            return (self.closing + "\n") * (self.count - 1) + self.closing
        # one record's slots: what goes before it (the previous record's closing, a line end, the opening),
        # then each varying field followed by the literal before the next one
        pattern: list = [self.closing + "\n" + self.opening]
        for head in self.heads[1:]:
            pattern += [None, head]
        pattern.append(None)
        items = pattern * self.count
        items.append(self.closing)
        items[0] = self.opening
        for j, texts in enumerate(self.varying):
            items[2 * j + 1 :: self.width] = texts
        return "".join(items)


def _key_sequences(dataset: Dataset) -> dict[str, int]:
    explicit = {v.name: v.key_sequence for v in dataset.variables if v.key_sequence}
    if explicit:
        return explicit
    return {name: i for i, name in enumerate(dataset.keys, start=1)}


@dataclass(frozen=True)
class DatasetJson:
    """One dataset ready to be written as Dataset-JSON: the top-level attributes (everything but
    ``rows``) and the column writers, built once -- a Num column's SAS numbers are converted here --
    then written as ``.json``, ``.ndjson`` or both by :func:`write_forms`."""

    frame: pd.DataFrame
    name: str
    head: dict
    columns: list[_Column]


def prepare_dataset_json(
    frame: pd.DataFrame,
    dataset: Dataset,
    *,
    metadata: StudyMetadata | None = None,
    standard: str | None = None,
    created: dt.datetime | None = None,
    modified: dt.datetime | None = None,
    source_system: dict | None = None,
    originator: str = "sdtmify",
    metadata_ref: str | None = None,
) -> DatasetJson:
    """Check ``frame`` against ``dataset`` and build the header and column writers; WriteError names
    the dataset and variable (callers add the file)."""
    missing = [v.name for v in dataset.variables if v.name not in frame.columns]
    if missing:
        raise WriteError(f"{dataset.name} frame has no column for {', '.join(missing)}")
    keys = _key_sequences(dataset)
    columns = [_Column(var, frame, dataset, keys.get(var.name)) for var in dataset.variables]
    created = created or DEFAULT_TIMESTAMP
    head: dict[str, Any] = {
        "datasetJSONCreationDateTime": iso_datetime(created),
        "datasetJSONVersion": DATASET_JSON_VERSION,
    }
    tag = (standard or ("ADaM" if dataset.purpose == "Analysis" else "SDTM")).upper()
    if metadata is not None:
        head["fileOID"] = f"{metadata.study_oid}.{tag}.{dataset.name}"
    if modified is not None:
        head["dbLastModifiedDateTime"] = iso_datetime(modified)
    if originator:
        head["originator"] = originator
    head["sourceSystem"] = source_system or {"name": "sdtmify", "version": __version__}
    if metadata is not None:
        head["studyOID"] = metadata.study_oid
        head["metaDataVersionOID"] = oids.metadataversion_oid(metadata.study_oid, tag)
    if metadata_ref:
        head["metaDataRef"] = metadata_ref
    head.update(
        {
            "itemGroupOID": oids.itemgroup_oid(dataset.name),
            "records": int(len(frame)),
            "name": dataset.name,
            "label": dataset.label or "",
            "columns": [c.meta for c in columns],
        }
    )
    return DatasetJson(frame, dataset.name, head, columns)


def write_prepared(
    document: DatasetJson, path: str | Path, *, ndjson: bool = False, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Path:
    """Write a prepared dataset at ``path`` (``ndjson=True``: newline-delimited), atomically. Records
    are encoded ``chunk_rows`` at a time, so the document is never held whole in memory."""
    targets = {"ndjson_path": path} if ndjson else {"json_path": path}
    return write_forms(document, chunk_rows=chunk_rows, **targets)[0]


def write_forms(
    document: DatasetJson,
    *,
    json_path: str | Path | None = None,
    ndjson_path: str | Path | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> list[Path]:
    """Write a prepared dataset as ``.json`` at ``json_path`` and/or ``.ndjson`` at ``ndjson_path``, each
    atomically, in one pass: every record is encoded once, ``chunk_rows`` at a time, and the same text
    goes to both files (a record is the same compact JSON array in both forms; only the separators
    differ). Returns the paths written (.json first)."""
    frame, head, columns = document.frame, document.head, document.columns
    encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    rows = len(frame)
    with contextlib.ExitStack() as stack:
        # ndjson entered first so that .json is finished (renamed into place) first, as when written apart
        ndjson = _open_atomic(stack, ndjson_path)
        whole = _open_atomic(stack, json_path)
        shown = json_path if json_path is not None else ndjson_path
        if ndjson is not None:
            ndjson.write((encoder.encode(head) + "\n").encode("utf-8"))
        if whole is not None:
            opening = json.dumps(head, ensure_ascii=False, indent=1)
            whole.write((opening[:-2] + ',\n "rows": [\n').encode("utf-8"))
        for start in range(0, rows, chunk_rows):
            stop = min(rows, start + chunk_rows)
            try:
                records = _Records(columns, frame, start, stop)
            except WriteError as exc:
                raise WriteError(f"{shown}: {document.name}.{exc}") from exc
            lines = records.text().encode("utf-8")
            if ndjson is not None:
                ndjson.write(lines)
                ndjson.write(b"\n")
            if whole is not None:
                whole.write(b"  " if start == 0 else b",\n  ")
                whole.write(lines.replace(b"\n", b",\n  "))
        if whole is not None:
            whole.write(b"\n ]\n}\n")
    return [Path(p) for p in (json_path, ndjson_path) if p is not None]


def _open_atomic(stack: contextlib.ExitStack, path: str | Path | None):
    """A binary handle on a temporary file that replaces ``path`` when ``stack`` closes without error."""
    if path is None:
        return None
    return stack.enter_context(hashed_file(path))


def write_dataset_json(
    frame: pd.DataFrame,
    dataset: Dataset,
    path: str | Path,
    *,
    metadata: StudyMetadata | None = None,
    ndjson: bool = False,
    created: dt.datetime | None = None,
    modified: dt.datetime | None = None,
    standard: str | None = None,
    source_system: dict | None = None,
    originator: str = "sdtmify",
    metadata_ref: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Path:
    """Write ``frame`` as Dataset-JSON 1.1 (``ndjson=True``: newline-delimited) at ``path``, atomically.

    Times come from ``created`` (default: the fixed reproducible timestamp) and ``modified``; never the
    clock. To write both forms of one dataset, :func:`prepare_dataset_json` once and :func:`write_forms`
    with both paths."""
    try:
        document = prepare_dataset_json(
            frame,
            dataset,
            metadata=metadata,
            standard=standard,
            created=created,
            modified=modified,
            source_system=source_system,
            originator=originator,
            metadata_ref=metadata_ref,
        )
    except WriteError as exc:
        raise WriteError(f"{path}: {exc}") from exc
    return write_prepared(document, path, ndjson=ndjson, chunk_rows=chunk_rows)
