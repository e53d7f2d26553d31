"""SAS Transport (XPORT) version 5, written exactly as SAS 9.x writes it.

The format itself -- record layouts, NAMESTR fields, IBM doubles, missing-value codes, the SAS epoch --
is :mod:`sdtmify.xport`; this module decides what to write and refuses what the format cannot hold.

Numbers: the conversion from IEEE 754 to IBM is exact and vectorized (a 53-bit significand shifted by
0-3 bits always fits the 56-bit IBM fraction). Documented rules for what IBM cannot hold: NaN is the
missing value ``.``; ``-0.0`` is written as 0; magnitudes below 16**-65 (about 5.4e-79) are written as 0;
infinities and magnitudes of 16**63 (about 7.2e75) or more are refused with an error naming the record.

Special missing values ``.A``-``.Z`` and ``._``: a Num column may hold, in an object column, the text
``".A"`` ... ``".Z"``, ``"._"`` (or ``"A"``, ``"_"``, ``"."``) next to numbers; each is written as its
one-byte code followed by zeros. :func:`sdtmify.readers.read_dataset` gives them back the same way (only
for columns that hold any), haven reads them as ``tagged_na``; pyreadstat reads them as NaN.

Date/time columns (datetime64 / timedelta64) in a Num variable are written as SAS dates (days since
1960-01-01) when the variable's format is a date format, else as SAS datetimes (seconds); timedeltas as
seconds (SAS times).

Text is encoded in ASCII by default (the submission norm), or Windows-1252 / Latin-1 / UTF-8 on request;
characters the encoding lacks are an error naming the record, or with ``transliterate=True`` replaced by
look-alikes with a warning. Values are blank-padded to their declared length; trailing blanks are
therefore not kept, and NUL characters are refused. Readers built on readstat (pyreadstat, haven) drop
trailing records that are entirely blank, which only a dataset of character variables can have.

The header's SAS release and host fields default to ``9.4`` and ``Linux`` and the timestamps to the
fixed build timestamp, so rebuilds are byte-identical; the study config sets them (``output: xpt:``).

Everything about the metadata is checked before the file is opened; data are checked chunk by chunk as
they are converted, into a temporary file that replaces the target only when every value was valid, so a
failed write leaves nothing behind and every problem is reported at once.
"""

from __future__ import annotations

import codecs
import datetime as dt
import queue
import re
import threading
import unicodedata
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import WriteError
from ..guard import hashed_file
from ..metadata.model import Dataset
from ..reproducible import DEFAULT_TIMESTAMP
from ..xport import (
    DEFAULT_OS_NAME,
    DEFAULT_SAS_VERSION,
    DESCRIPTOR_HEADER,
    LIBRARY_HEADER,
    MAX_CHAR_LENGTH,
    MAX_LABEL_BYTES,
    MEMBER_HEADER,
    MISSING_CODES,
    NAMESTR_PREFIX,
    NAMESTR_SUFFIX,
    OBS_HEADER,
    RECORD,
    SAS_EPOCH,
    SasFormat,
    XptHeader,
    XptVariable,
    date_kind,
    format_sas_datetime,
    ibm_from_ieee,
    ibm_overflow,
)

DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024

_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,7}")


# --------------------------------------------------------------------------------------------------
# Text encodings


class _Codec:
    """A single-byte encoding as a lookup table from Unicode code point (BMP) to byte, -1 where absent."""

    def __init__(self, name: str):
        try:
            self.name = codecs.lookup(name).name
        except LookupError as exc:
            raise WriteError(f"unknown text encoding {name!r}; use ascii, cp1252 or latin-1") from exc
        self.single_byte = self.name not in ("utf-8", "utf-16", "utf-32") and not self.name.startswith("utf")
        self.table = np.full(0x10000, -1, dtype=np.int16)
        if self.single_byte:
            for byte in range(256):
                try:
                    char = bytes([byte]).decode(self.name)
                except UnicodeDecodeError:
                    continue
                if len(char) == 1 and self.table[ord(char)] < 0:
                    self.table[ord(char)] = byte

    def encode_text(self, text: str) -> bytes:
        return text.encode(self.name)


_CODECS: dict[str, _Codec] = {}


def _codec(name: str) -> _Codec:
    if name not in _CODECS:
        _CODECS[name] = _Codec(name)
    return _CODECS[name]


_ASCII_LOOKALIKES = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u00b5": "u",
    "\u03bc": "u",
    "\u00b0": " deg",
    "\u00d7": "x",
    "\u2264": "<=",
    "\u2265": ">=",
    "\u00b1": "+/-",
    "\u00df": "ss",
    "\u00e6": "ae",
    "\u00c6": "AE",
    "\u0153": "oe",
    "\u0152": "OE",
}


def transliterate_text(text: str, codec_name: str = "ascii") -> str:
    """Replace characters the encoding lacks by look-alikes (curly quotes -> straight, accents dropped,
    "\u2264" -> "<="); anything still unencodable becomes "?"."""
    codec = _codec(codec_name)
    out = []
    for char in text:
        try:
            codec.encode_text(char)
            out.append(char)
            continue
        except UnicodeEncodeError:
            pass
        candidate = _ASCII_LOOKALIKES.get(char)
        if candidate is None:
            decomposed = unicodedata.normalize("NFKD", char)
            candidate = "".join(c for c in decomposed if not unicodedata.combining(c))
        try:
            codec.encode_text(candidate)
        except UnicodeEncodeError:
            candidate = "?"
        out.append(candidate or "?")
    return "".join(out)


# --------------------------------------------------------------------------------------------------
# Problems found in the data, reported all at once


class _Problems:
    """Collects data problems per (variable, kind): a count and the first record and value."""

    def __init__(self, dataset: str, limit: int = 20):
        self.dataset = dataset
        self.limit = limit
        self.entries: dict[tuple[str, str], list] = {}

    def add(self, variable: str, kind: str, rows: np.ndarray, start: int, describe) -> None:
        """``rows`` are positions within the chunk starting at record ``start`` (0-based)."""
        if len(rows) == 0:
            return
        key = (variable, kind)
        if key in self.entries:
            self.entries[key][0] += len(rows)
        else:
            self.entries[key] = [len(rows), start + int(rows[0]) + 1, describe(int(rows[0]))]

    def __bool__(self) -> bool:
        return bool(self.entries)

    def error(self, path: Path | None = None) -> WriteError:
        lines = []
        for (variable, _kind), (count, record, text) in list(self.entries.items())[: self.limit]:
            more = f" (and {count - 1} more records like it)" if count > 1 else ""
            lines.append(f"  {self.dataset}.{variable} record {record}: {text}{more}")
        where = f"{path}: " if path else ""
        return WriteError(f"{where}{self.dataset} not written, {len(self.entries)} problem(s):\n" + "\n".join(lines))


def _shorten(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


# --------------------------------------------------------------------------------------------------
# Metadata checks (before a byte is written)


def _check_name(name: str, what: str) -> str | None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return (
            f"{what} name {name!r} is not a valid XPT v5 name: 1-8 characters, uppercase letters, "
            f"digits or underscores, not starting with a digit"
        )
    return None


def _byte_length(text: str, codec: _Codec) -> int:
    """Bytes of ``text`` in the codec, characters it cannot encode counted as one byte (for messages)."""
    return len(text.encode(codec.name, errors="replace"))


def _encodable(text: str, codec: _Codec) -> bool:
    try:
        codec.encode_text(text)
    except UnicodeEncodeError:
        return False
    return True


def _encoded_length(text: str, codec: _Codec) -> int:
    return len(codec.encode_text(text))


def check_metadata(member: str, label: str, variables: Sequence[XptVariable], encoding: str) -> None:
    """Everything XPT v5 demands of names, labels, lengths and formats; raises one WriteError listing all."""
    codec = _codec(encoding)
    problems = []
    if msg := _check_name(member, "dataset"):
        problems.append(msg)
    for text, what in [(label, f"dataset {member} label")] + [
        (var.label, f"{member}.{var.name} label") for var in variables
    ]:
        try:
            size = _encoded_length(text or "", codec)
        except UnicodeEncodeError as exc:
            problems.append(f"{what} {text!r} has {text[exc.start]!r}, which {codec.name} cannot encode")
            continue
        if size > MAX_LABEL_BYTES:
            problems.append(
                f"{what} is {size} bytes, longer than the {MAX_LABEL_BYTES} XPT v5 allows: "
                f"{text!r}; shorten it in the metadata"
            )
    seen = set()
    for var in variables:
        where = f"{member}.{var.name}"
        if msg := _check_name(var.name, "variable"):
            problems.append(f"{where}: {msg}")
        if var.name in seen:
            problems.append(f"{where}: variable named twice")
        seen.add(var.name)
        if var.type == "Char":
            if not isinstance(var.length, (int, np.integer)) or not 1 <= var.length <= MAX_CHAR_LENGTH:
                problems.append(
                    f"{where}: declared length {var.length!r} is outside 1-{MAX_CHAR_LENGTH} (XPT v5 character limit)"
                )
        elif var.type == "Num":
            if not isinstance(var.length, (int, np.integer)) or not 3 <= var.length <= 8:
                problems.append(f"{where}: numeric length {var.length!r} is outside 3-8")
        else:
            problems.append(f"{where}: type {var.type!r} is neither Char nor Num")
        for fmt, what in ((var.format, "format"), (var.informat, "informat")):
            if len(fmt.name) > 8:
                problems.append(f"{where}: {what} name {fmt.name!r} is longer than 8 characters")
            if not (0 <= fmt.width <= 32767 and 0 <= fmt.decimals <= 32767):
                problems.append(f"{where}: {what} {fmt} width/decimals out of range")
    if problems:
        raise WriteError(f"{member}: cannot be written as XPT v5:\n  " + "\n  ".join(problems))


def variables_from_dataset(dataset: Dataset) -> list[XptVariable]:
    """NAMESTR fields from the shared metadata: declared length, label, format and informat."""
    out = []
    problems = []
    for var in dataset.variables:
        formats = []
        for text, what in ((var.format, "format"), (var.informat, "informat")):
            try:
                formats.append(SasFormat.parse(text))
            except ValueError as exc:
                problems.append(f"{dataset.name}.{var.name} {what}: {exc}")
                formats.append(SasFormat())
        length = var.length if var.type == "Char" else (var.length or 8)
        out.append(
            XptVariable(
                name=var.name,
                label=var.label or "",
                type=var.type,
                length=length,
                format=formats[0],
                informat=formats[1],
            )
        )
    if problems:
        raise WriteError("cannot be written as XPT v5:\n  " + "\n  ".join(problems))
    return out


# --------------------------------------------------------------------------------------------------
# Header bytes


def _text(value: str, width: int, codec: _Codec) -> bytes:
    raw = codec.encode_text(value or "")
    return raw[:width].ljust(width, b" ")


def _member_records(
    member: str,
    label: str,
    dataset_type: str,
    header: XptHeader,
    library: XptHeader,
    variables: Sequence[XptVariable],
    codec: _Codec,
) -> bytes:
    ascii_ = _codec("ascii")

    def stamp(h: XptHeader, kind: bytes, name: str) -> bytes:
        return (
            b"SAS     "
            + _text(name, 8, ascii_)
            + kind
            + _text(h.sas_version, 8, ascii_)
            + _text(h.os_name, 8, ascii_)
            + b" " * 24
            + format_sas_datetime(h.created).encode("ascii")
        )

    parts = [
        LIBRARY_HEADER,
        stamp(library, b"SASLIB  ", "SAS"),
        format_sas_datetime(library.modified).encode("ascii") + b" " * 64,
        MEMBER_HEADER,
        DESCRIPTOR_HEADER,
        stamp(header, b"SASDATA ", member),
        format_sas_datetime(header.modified).encode("ascii")
        + b" " * 16
        + _text(label, 40, codec)
        + _text(dataset_type, 8, ascii_),
        NAMESTR_PREFIX + f"{len(variables):04d}".encode("ascii") + NAMESTR_SUFFIX,
    ]
    position = 0
    names = []
    for number, var in enumerate(variables, start=1):
        names.append(
            np.array([1 if var.type == "Num" else 2, 0, var.length, number], dtype=">i2").tobytes()
            + _text(var.name, 8, ascii_)
            + _text(var.label, 40, codec)
            + _text(var.format.name, 8, ascii_)
            + np.array([var.format.width, var.format.decimals, var.justify], dtype=">i2").tobytes()
            + b"\0\0"
            + _text(var.informat.name, 8, ascii_)
            + np.array([var.informat.width, var.informat.decimals], dtype=">i2").tobytes()
            + np.array([position], dtype=">i4").tobytes()
            + b"\0" * 52
        )
        position += var.length
    namestrs = b"".join(names)
    namestrs += b" " * (-len(namestrs) % RECORD)
    return b"".join(parts) + namestrs + OBS_HEADER


# --------------------------------------------------------------------------------------------------
# Observations

_SEVEN_BIT = np.uint64(0x7F7F7F7F7F7F7F7F)
_HIGH_BITS = np.uint64(0x8080808080808080)


def _blank_nuls_7bit(flat: np.ndarray) -> None:
    """In place, NUL bytes -> blanks, eight bytes per operation; valid only when every byte is < 0x80.

    Adding 0x7F to a 7-bit byte sets its high bit unless the byte is 0, and never carries into the next
    byte; the clear high bits, shifted down by 2, are exactly 0x20 in the NUL positions."""
    whole = len(flat) // 8 * 8
    words = flat[:whole].view(np.uint64)
    nul = words + _SEVEN_BIT
    np.invert(nul, out=nul)
    np.bitwise_and(nul, _HIGH_BITS, out=nul)
    np.right_shift(nul, np.uint64(2), out=nul)
    np.bitwise_or(words, nul, out=words)
    tail = flat[whole:]
    tail[tail == 0] = 0x20


def _char_block(
    values: np.ndarray,
    width: int,
    codec: _Codec,
    problems: _Problems,
    variable: str,
    start: int,
    transliterate: bool,
    target: np.ndarray,
) -> None:
    """Text values (object array; None/NaN are blank) -> ``target`` (n, width) bytes, blank-padded.

    Pure-ASCII chunks (the usual case) are encoded by numpy itself into fixed-width bytes; other text
    goes through the encoding's lookup table on code points. Problems are recorded, not raised."""
    n = len(values)
    try:  # succeeds only when every value is text: the usual case
        joined = "".join(values)
    except TypeError:
        values = np.where(pd.isna(values), "", values)
        if pd.api.types.infer_dtype(values, skipna=False) not in ("string", "empty"):
            is_text = np.array([isinstance(v, str) for v in values], dtype=bool)  # error path only
            problems.add(
                variable,
                "type",
                np.flatnonzero(~is_text),
                start,
                lambda i: (
                    f"{_shorten(values[i])} is not text; character variables hold text only (convert it in the mapping)"
                ),
            )
            values = np.where(is_text, values, "")
        joined = "".join(values)
    if "\0" in joined:
        with_nul = np.flatnonzero(np.array(["\0" in v for v in values], dtype=bool))  # error path only
        problems.add(
            variable,
            "nul",
            with_nul,
            start,
            lambda i: f"{_shorten(values[i])} holds a NUL character, which SAS text cannot hold",
        )
    if joined.isascii():
        # Wide columns mostly hold short values: converting at the longest value's width, not the
        # declared one, saves most of the work; the rest of the field is then simply blank.
        fit = width if width <= 32 or n == 0 else min(width, max(map(len, values)))
        raw = np.array(values, dtype=f"S{fit + 1}").view(np.uint8).reshape(n, fit + 1)
        too_long = np.flatnonzero(raw[:, fit] != 0) if fit == width else np.empty(0, dtype=np.int64)
        _blank_nuls_7bit(raw.reshape(-1))
        target[:, :fit] = raw[:, :fit]
        target[:, fit:] = 0x20
    else:
        if codec.single_byte:
            points = np.array(values, dtype=f"U{width + 1}").view(np.uint32).reshape(n, width + 1)
            encoded = codec.table[np.minimum(points, 0xFFFF)]
            bad = ((encoded < 0) | (points > 0xFFFF)).any(axis=1)
            if bad.any() and transliterate:
                values = values.copy()
                rows = np.flatnonzero(bad)
                originals = pd.unique(values[rows])
                replaced = {text: transliterate_text(text, codec.name) for text in originals}
                values[rows] = [replaced[text] for text in values[rows]]
                example = originals[0]
                warnings.warn(
                    f"{problems.dataset}.{variable}: {len(rows)} value(s) transliterated to "
                    f"{codec.name}, e.g. {example!r} -> {replaced[example]!r}",
                    stacklevel=4,
                )
                return _char_block(values, width, codec, problems, variable, start, False, target)
            if bad.any():

                def describe(i: int) -> str:
                    char = next(c for c in values[i] if ord(c) > 0xFFFF or codec.table[ord(c)] < 0)
                    return (
                        f"{_shorten(values[i])} has {char!r} (U+{ord(char):04X}), which {codec.name} "
                        f"cannot encode; fix the text or write with transliterate=True"
                    )

                problems.add(variable, "encoding", np.flatnonzero(bad), start, describe)
            raw = np.where(encoded < 0, 0x3F, encoded).astype(np.uint8)
        else:
            try:
                encoded_values = [text.encode(codec.name) for text in values]  # multi-byte encodings only
            except UnicodeEncodeError:  # e.g. a lone surrogate: not text any encoding can hold
                fails = np.array([not _encodable(text, codec) for text in values], dtype=bool)  # error path only
                problems.add(
                    variable,
                    "encoding",
                    np.flatnonzero(fails),
                    start,
                    lambda i: f"{_shorten(values[i])} holds characters {codec.name} cannot encode; fix the text",
                )
                encoded_values = [text.encode(codec.name, errors="replace") for text in values]
            raw = np.array(encoded_values, dtype=f"S{width + 1}").view(np.uint8).reshape(n, width + 1)
        too_long = np.flatnonzero(raw[:, width] != 0)
        target[...] = np.where(raw[:, :width] == 0, np.uint8(0x20), raw[:, :width])
    if len(too_long):
        problems.add(
            variable,
            "length",
            too_long,
            start,
            lambda i: (
                f"value {_shorten(values[i])} is {_byte_length(str(values[i]), codec)} bytes, "
                f"longer than the declared length {width}; declare a longer length (at most "
                f"{MAX_CHAR_LENGTH}) or shorten the value (values are never truncated)"
            ),
        )


def _numeric_values(
    series: pd.Series, var: XptVariable, problems: _Problems, start: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """A Num column chunk as float64 plus, where present, special-missing code bytes (0 = none)."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        problems.add(
            var.name,
            "type",
            np.arange(min(len(series), 1)),
            start,
            lambda i: "boolean column in a Num variable; map it to 1/0 or Y/N in the mapping",
        )
        return np.zeros(len(series)), None
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if getattr(dtype, "tz", None) is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        nanos = (series.to_numpy(dtype="datetime64[ns]") - SAS_EPOCH).astype("timedelta64[ns]")
        seconds = nanos.astype(np.float64) / 1e9
        seconds[np.isnat(nanos)] = np.nan
        return (seconds / 86400.0 if date_kind(var.format) == "date" else seconds), None
    if pd.api.types.is_timedelta64_dtype(dtype):
        nanos = series.to_numpy(dtype="timedelta64[ns]")
        seconds = nanos.astype(np.float64) / 1e9
        seconds[np.isnat(nanos)] = np.nan
        return seconds, None
    if pd.api.types.is_numeric_dtype(dtype):
        if pd.api.types.is_integer_dtype(dtype):
            ints = series.to_numpy(dtype=np.float64, na_value=np.nan)
            inexact = np.flatnonzero(np.abs(ints) > 2.0**53)
            problems.add(
                var.name,
                "precision",
                inexact,
                start,
                lambda i: f"integer {series.iloc[i]} is beyond 2**53 and cannot be stored exactly",
            )
            return ints, None
        return series.to_numpy(dtype=np.float64, na_value=np.nan), None
    # object columns: numbers, None/NaN, date objects, special-missing text
    values = series.to_numpy(dtype=object)
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("date", "datetime", "datetime64"):
        return _numeric_values(pd.Series(pd.to_datetime(values)), var, problems, start)
    codes = np.zeros(len(values), dtype=np.uint8)
    if kind in ("floating", "integer", "mixed-integer-float", "empty", "decimal"):
        is_text = np.zeros(len(values), dtype=bool)
    else:  # some text: special missing values (rare, so a per-value type test is acceptable here)
        is_text = np.array([isinstance(v, str) for v in values], dtype=bool)
    if is_text.any():
        text = pd.Series(np.where(is_text, values, ""), dtype=object).str.strip().str.upper()
        letters = text[is_text].str.lstrip(".").replace("", ".")
        known = letters.isin(list(MISSING_CODES)) & (text[is_text].str.len() <= 2)
        rows = np.flatnonzero(is_text)
        codes[rows[known.to_numpy()]] = letters[known].map(MISSING_CODES).to_numpy(dtype=np.uint8)
        problems.add(
            var.name,
            "type",
            rows[~known.to_numpy()],
            start,
            lambda i: (
                f"text {_shorten(values[i])} in a Num variable; only numbers and the special "
                f"missing values '.A'-'.Z', '._' are allowed"
            ),
        )
    numbers = pd.to_numeric(pd.Series(np.where(is_text, None, values), dtype=object), errors="coerce")
    not_number = np.flatnonzero(numbers.isna().to_numpy() & ~is_text & ~pd.isna(values))
    problems.add(var.name, "type", not_number, start, lambda i: f"{_shorten(values[i])} is not a number")
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan), (codes if codes.any() else None)


def sas_numbers(series: pd.Series, variable: XptVariable, dataset: str = "") -> np.ndarray:
    """A Num column as float64 SAS numbers, by the writer's rules (datetimes -> days or seconds since
    1960, special missing values -> NaN); infinities and text that is not a missing code raise
    :class:`~sdtmify.errors.WriteError` naming the record. For writers of other formats."""
    problems = _Problems(dataset or "dataset")
    values, _codes = _numeric_values(series, variable, problems, 0)
    problems.add(
        variable.name,
        "range",
        np.flatnonzero(np.isinf(values)),
        0,
        lambda i: f"{float(values[i])!r} is not a finite number",
    )
    if problems:
        raise problems.error()
    return values


def _num_block(
    values: np.ndarray, codes: np.ndarray | None, length: int, problems: _Problems, variable: str, start: int
) -> np.ndarray:
    """float64 (+ special-missing codes) -> (n, length) IBM bytes; SAS keeps the leading bytes."""
    overflow = np.flatnonzero(ibm_overflow(values))
    problems.add(
        variable,
        "range",
        overflow,
        start,
        lambda i: f"{float(values[i])!r} is outside the IBM double range (|x| < 7.2e75); XPT cannot hold it",
    )
    patterns = ibm_from_ieee(values)
    missing = np.isnan(values)
    patterns[missing] = np.uint64(0x2E) << np.uint64(56)
    if codes is not None:
        special = codes > 0
        patterns[special] = codes[special].astype(np.uint64) << np.uint64(56)
    raw = patterns.astype(">u8").view(np.uint8).reshape(len(values), 8)
    return raw[:, :length]


def _chunk_records(
    frame: pd.DataFrame,
    variables: Sequence[XptVariable],
    start: int,
    stop: int,
    codec: _Codec,
    problems: _Problems,
    transliterate: bool,
) -> np.ndarray:
    record_length = sum(var.length for var in variables)
    out = np.empty((stop - start, record_length), dtype=np.uint8)
    position = 0
    for var in variables:
        column = frame[var.name].iloc[start:stop]
        if var.type == "Char":
            if pd.api.types.is_numeric_dtype(column.dtype) and not column.isna().all():
                problems.add(
                    var.name,
                    "type",
                    np.arange(1),
                    start,
                    lambda i, column=column: (
                        f"numeric column ({column.dtype}) in a Char variable; convert it to text in the mapping"
                    ),
                )
                out[:, position : position + var.length] = 0x20
            else:
                _char_block(
                    column.to_numpy(dtype=object),
                    var.length,
                    codec,
                    problems,
                    var.name,
                    start,
                    transliterate,
                    out[:, position : position + var.length],
                )
        else:
            numbers, codes = _numeric_values(column, var, problems, start)
            out[:, position : position + var.length] = _num_block(numbers, codes, var.length, problems, var.name, start)
        position += var.length
    return out


class _BackgroundWriter:
    """Writes blocks on a second thread while the next chunk is converted (file writes release the GIL),
    at most two blocks in flight so memory stays flat. An error on either side stops both."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.blocks: queue.Queue = queue.Queue(maxsize=2)
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="xpt-writer", daemon=True)

    def _run(self) -> None:
        while (block := self.blocks.get()) is not None:
            if self.failure is None:
                try:
                    self.handle.write(block)
                except BaseException as exc:  # re-raised on the caller's thread
                    self.failure = exc

    def put(self, block) -> None:
        if self.failure is not None:
            raise self.failure
        self.blocks.put(block)

    def __enter__(self) -> _BackgroundWriter:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.blocks.put(None)
        self.thread.join()
        if self.failure is not None and exc_info[0] is None:
            raise self.failure


# --------------------------------------------------------------------------------------------------
# Public entry points


def write_xport(
    frame: pd.DataFrame,
    variables: Sequence[XptVariable],
    path: str | Path,
    *,
    member: str,
    label: str = "",
    header: XptHeader = XptHeader(),
    library: XptHeader | None = None,
    dataset_type: str = "",
    encoding: str = "ascii",
    transliterate: bool = False,
    chunk_rows: int | None = None,
) -> Path:
    """Write one dataset as an XPT v5 file with every header field given explicitly.

    ``variables`` give the NAMESTR fields in output order (``number``/``position`` are recomputed);
    ``library`` defaults to ``header`` (SAS stamps both alike). This is the entry the byte-identity tests
    use with fields read from a SAS-written original; :func:`write_xpt` builds it from the metadata."""
    path = Path(path)
    codec = _codec(encoding)
    variables = list(variables)
    check_metadata(member, label, variables, encoding)
    for stamp in {header, library or header}:
        for text, what in ((stamp.sas_version, "SAS release"), (stamp.os_name, "host OS name")):
            if not (text or "").isascii() or len(text or "") > 8:
                raise WriteError(f"{path}: {what} {text!r} must be at most 8 ASCII characters (study.yaml output.xpt)")
    names = [var.name for var in variables]
    absent = [name for name in names if name not in frame.columns]
    extra = [str(name) for name in frame.columns if name not in set(names)]
    if absent or extra:
        mismatches = [f"no column for {', '.join(absent)}"] if absent else []
        mismatches += [f"columns not in the metadata: {', '.join(extra)}"] if extra else []
        raise WriteError(f"{path}: {member} frame does not match its metadata: " + "; ".join(mismatches))
    if frame.columns.duplicated().any():
        raise WriteError(
            f"{path}: {member} frame has duplicated columns {sorted(set(frame.columns[frame.columns.duplicated()]))}"
        )
    record_length = sum(var.length for var in variables)
    if chunk_rows is None:
        chunk_rows = max(1, DEFAULT_CHUNK_BYTES // max(record_length, 1))
    head = _member_records(member, label, dataset_type, header, library or header, variables, codec)
    problems = _Problems(member)
    rows = len(frame)
    with hashed_file(path) as handle, _BackgroundWriter(handle) as writer:
        writer.put(head)
        for start in range(0, rows, chunk_rows):
            stop = min(rows, start + chunk_rows)
            block = _chunk_records(frame, variables, start, stop, codec, problems, transliterate)
            if not problems:
                writer.put(block.data.cast("B"))
        if problems:
            raise problems.error(path)
        writer.put(b" " * (-(rows * record_length) % RECORD))
    return path


def write_xpt(
    frame: pd.DataFrame,
    dataset: Dataset,
    path: str | Path,
    *,
    created: dt.datetime | None = None,
    modified: dt.datetime | None = None,
    sas_version: str = DEFAULT_SAS_VERSION,
    os_name: str = DEFAULT_OS_NAME,
    encoding: str = "ascii",
    transliterate: bool = False,
    chunk_rows: int | None = None,
) -> Path:
    """Write ``frame`` as ``path`` (XPT v5) with the declared lengths, labels, formats and informats of
    ``dataset.variables``, dataset label ``dataset.label`` and member name ``dataset.name``.

    ``created`` defaults to :data:`sdtmify.reproducible.DEFAULT_TIMESTAMP` (never the wall clock) and
    ``modified`` to ``created``. Values longer than their declared length, names or labels XPT v5 cannot
    hold, text the encoding cannot encode (unless ``transliterate``) and numbers outside the IBM range
    are errors (:class:`~sdtmify.errors.WriteError`), and nothing is written."""
    created = created or DEFAULT_TIMESTAMP
    header = XptHeader(
        sas_version=sas_version,
        os_name=os_name,
        created=created.replace(microsecond=0),
        modified=(modified or created).replace(microsecond=0),
    )
    return write_xport(
        frame,
        variables_from_dataset(dataset),
        path,
        member=dataset.name,
        label=dataset.label or "",
        header=header,
        encoding=encoding,
        transliterate=transliterate,
        chunk_rows=chunk_rows,
    )


__all__ = ["write_xpt", "write_xport", "variables_from_dataset", "check_metadata", "transliterate_text", "sas_numbers"]
