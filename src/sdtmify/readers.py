"""Read one dataset file back as ``(frame, Dataset)``: SAS XPT v5, Dataset-JSON 1.1 (.json, .ndjson), CSV.

Frames look alike whatever the file: Char columns as text with "" for blank, Num columns as float64
(NaN for missing), numeric SAS dates/datetimes/times as SAS numbers (days or seconds since 1960-01-01),
not as Python dates. A Num column that holds special missing values (``.A``-``.Z``, ``._``) comes back as
an object column with those codes as text next to the numbers, as :mod:`sdtmify.writers.xpt` writes them.

XPT values are read by pyreadstat (never ``pandas.read_sas``, which misreads zeros and drops records);
the header metadata -- declared lengths, labels, formats, informats, dataset label, SAS release, host and
timestamps -- by :func:`sdtmify.xport.read_header`, kept on ``frame.attrs["xpt"]`` (an
:class:`~sdtmify.xport.XptMember`).
Dataset-JSON top-level attributes (times, sourceSystem, OIDs) are kept on ``frame.attrs["dataset_json"]``.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import xport
from .errors import InputError, Location
from .metadata.model import Dataset, Variable
from .resources import read_spec_text, spec_path

SUFFIXES = (".xpt", ".json", ".ndjson", ".csv")


def read_dataset(path: str | Path, encoding: str | None = None) -> tuple[pd.DataFrame, Dataset]:
    """One dataset file as ``(frame, metadata)``, chosen by extension (.xpt, .json, .ndjson, .csv).

    ``encoding`` is the XPT text encoding; None tries UTF-8 (ASCII included) and then Windows-1252."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError("no such file", Location(str(path)))
    if suffix == ".xpt":
        return read_xpt(path, encoding)
    if suffix in (".json", ".ndjson"):
        return read_dataset_json(path)
    if suffix == ".csv":
        return read_csv(path)
    raise InputError(f"cannot read '{suffix}' files; use one of {', '.join(SUFFIXES)}", Location(str(path)))


# --------------------------------------------------------------------------------------------------
# XPT


def header_variable(var: xport.XptVariable, data_type: str) -> Variable:
    """The metadata of one XPT variable from its NAMESTR record (``xport`` header), with the data type
    its values were read as ("text", "integer", "float"...)."""
    return Variable(
        name=var.name,
        label=var.label,
        type=var.type,
        length=var.length,
        data_type=data_type,
        order=var.number,
        format=str(var.format),
        informat=str(var.informat),
    )


def read_xpt_values(path: Path, encoding: str | None, dates_as_numbers: bool = True) -> tuple[pd.DataFrame, str]:
    """The values of an XPT file (v5 or v8) by pyreadstat, and the text encoding that read them: ``encoding``,
    or UTF-8 (ASCII included) and then Windows-1252. ``dates_as_numbers=False`` gives date-formatted Num
    columns as Python dates, datetimes and times (pyreadstat's conversion)."""
    import pyreadstat  # a compiled reader loaded only when an XPT file is read

    # a damaged or truncated v5 file is refused before pyreadstat, which would read what it can
    member = None if xport.is_version_8(path) else xport.read_header(path)
    tries = [encoding] if encoding else ["utf-8", "cp1252"]
    last = None
    for name in tries:
        # UTF-8 without naming it: pyreadstat then decodes strictly, where encoding="utf-8" (iconv) silently
        # drops an incomplete byte sequence at the end of a value (Windows-1252 "CAF\xc9" read as "CAF")
        chosen = reader_encoding(name)
        try:
            frame, _meta = pyreadstat.read_xport(
                str(path), disable_datetime_conversion=dates_as_numbers, encoding=chosen
            )
        except MemoryError:  # not the file's fault: no encoding would read it
            raise
        except Exception as exc:  # pyreadstat raises its own error classes
            last = exc
            continue
        if member is not None and len(frame) != member.observations and not _blank_tail(path, member, len(frame)):
            raise InputError(
                f"pyreadstat read {len(frame)} observations, the file size says {member.observations}; "
                f"the file is damaged",
                Location(str(path)),
            )
        return frame, name
    raise InputError(
        f"cannot read the XPT values ({last}); if the text is not {' or '.join(tries)}, "
        f"pass the encoding (e.g. --encoding latin-1)",
        Location(str(path)),
    ) from last


def _blank_tail(path: Path, member: xport.XptMember, read: int) -> bool:
    """Whether the observations after the first ``read`` are all blanks: some readstat releases drop
    trailing all-blank records (a limitation of the format's padding), which is no damage."""
    if read > member.observations:
        return False
    with open(path, "rb") as handle:
        handle.seek(member.data_offset + read * member.record_length)
        tail = handle.read((member.observations - read) * member.record_length)
    return not tail.strip(b" ")


# Python's codec names that iconv (pyreadstat) spells otherwise; iconv knows the rest by Python's canonical
# name (iso8859-1, cp1252, utf-8, ascii, iso8859-15...).
_ICONV = {"mac-roman": "MACINTOSH", "latin-1": "ISO-8859-1", "utf_8": "UTF-8"}


def reader_encoding(name: str) -> str | None:
    """A Python codec name (``latin-1``, ``cp1252``...) as pyreadstat's reader spells it; None for UTF-8,
    which pyreadstat then decodes strictly (named, iconv would drop invalid bytes without a word)."""
    canonical = codecs.lookup(name).name
    return None if canonical == "utf-8" else _ICONV.get(canonical, canonical)


def num_data_type(values: np.ndarray) -> str:
    """Define-XML DataType of a numeric column: integer when every value is whole (and exact in a double,
    |x| <= 2**53), else float."""
    finite = values[np.isfinite(values)]
    whole = bool(np.all(finite == np.floor(finite))) and bool(np.all(np.abs(finite) <= 2.0**53))
    return "integer" if whole else "float"


def read_xpt(path: str | Path, encoding: str | None = None) -> tuple[pd.DataFrame, Dataset]:
    """An XPT v5 file: values by pyreadstat, metadata by :func:`sdtmify.xport.read_header`."""
    path = Path(path)
    frame, used = read_xpt_values(path, encoding)
    member = xport.read_header(path, used)
    names = [var.name for var in member.variables]
    if list(frame.columns) != names:
        raise InputError(
            f"pyreadstat columns {list(frame.columns)} differ from the NAMESTR records {names}", Location(str(path))
        )
    frame = _with_trailing_blank_records(frame, member)
    variables = []
    for var in member.variables:
        column = frame[var.name]
        if var.type == "Num":
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            frame[var.name] = with_special_missing(member, var, values)
            data_type = num_data_type(values)
        else:
            if pd.api.types.is_numeric_dtype(column.dtype) and column.notna().any():
                raise InputError(
                    "the NAMESTR record says Char but the values read are numbers; the header is damaged",
                    Location(str(path), field=var.name),
                )
            frame[var.name] = column.astype(object).where(column.notna(), "")
            data_type = "text"
        variables.append(header_variable(var, data_type))
    frame.attrs["xpt"] = member
    frame.attrs["encoding"] = used
    dataset = Dataset(name=member.name, label=member.label, purpose="", variables=tuple(variables), leaf=path.name)
    return frame, dataset


def _with_trailing_blank_records(frame: pd.DataFrame, member: xport.XptMember) -> pd.DataFrame:
    """The frame with every record the file holds. readstat drops trailing all-blank records: pyreadstat
    before 1.3.8 all of them, 1.3.8 those inside the final 80 bytes (where they cannot be told from the
    padding). The count from the file size (:func:`sdtmify.xport.read_header`, which treats only those last
    ones as padding) is the truth, so the same file reads the same whichever pyreadstat is installed; the
    dropped records are read back from the file, where they must be blank."""
    where = Location(str(member.path))
    dropped = member.observations - len(frame)
    if dropped < 0:
        raise InputError(f"pyreadstat read {len(frame)} records, the file holds {member.observations}", where)
    if dropped == 0:
        return frame
    rows = np.arange(len(frame), member.observations)
    raw = xport.records(member)[rows]
    if (raw != ord(" ")).any():
        first = int(rows[np.flatnonzero((raw != ord(" ")).any(axis=1))[0]]) + 1
        raise InputError(
            f"pyreadstat read {len(frame)} records, the file holds {member.observations}; record {first} is not blank",
            where,
        )
    tail = pd.DataFrame(
        {
            var.name: xport.ieee_from_ibm(xport.numeric_patterns(member, var, rows))
            if var.type == "Num"
            else np.full(len(rows), "", dtype=object)
            for var in member.variables
        },
        index=pd.RangeIndex(len(frame), member.observations),
    )
    head = frame.astype({var.name: object for var in member.variables if var.type == "Char"})
    return pd.concat([head, tail], axis=0) if len(frame) else tail


def with_special_missing(member: xport.XptMember, var: xport.XptVariable, values: np.ndarray):
    """float64 as read, or an object column with ".A"-".Z"/"._" where the file holds special missings."""
    missing = np.flatnonzero(np.isnan(values))
    if missing.size == 0:
        return values
    codes = xport.missing_codes(xport.numeric_patterns(member, var, missing))
    special = codes != "."
    if not special.any():
        return values
    out = values.astype(object)
    out[missing[special]] = codes[special]
    return out


# --------------------------------------------------------------------------------------------------
# Dataset-JSON 1.1

_NUMERIC_TYPES = ("integer", "decimal", "float", "double", "boolean")
_DEFINE_TYPES = {
    "string": "text",
    "integer": "integer",
    "decimal": "float",
    "float": "float",
    "double": "float",
    "boolean": "integer",
    "URI": "text",
}


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number; write null for a missing value")


@cache
def _dataset_json_validator():
    """The Dataset-JSON 1.1 JSON Schema (specs/schema/dataset-json-1.1.schema.json, CDISC's), rows left out:
    the records are checked column by column against their dataType instead (faster, and says which)."""
    import jsonschema  # a tenth of a second of startup, needed only when a Dataset-JSON file is read

    schema = json.loads(read_spec_text(spec_path("schema", "dataset-json-1.1.schema.json")))
    return jsonschema.Draft201909Validator(schema)


def _load_dataset_json(path: Path) -> tuple[dict, list]:
    where = Location(str(path))
    try:
        if path.suffix.lower() == ".ndjson":
            with path.open(encoding="utf-8") as handle:
                head = json.loads(handle.readline(), parse_constant=_refuse_constant)
                rows = [json.loads(line, parse_constant=_refuse_constant) for line in handle if line.strip()]
        else:
            with path.open(encoding="utf-8") as handle:
                head = json.load(handle, parse_constant=_refuse_constant)
            rows = head.pop("rows", []) if isinstance(head, dict) else []
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InputError(f"not valid JSON: {exc}", where) from None
    if not isinstance(head, dict) or not isinstance(head.get("columns"), list):
        raise InputError("not Dataset-JSON 1.1: no 'columns' list in the metadata", where)
    from jsonschema.exceptions import best_match

    problem = best_match(_dataset_json_validator().iter_errors(head))
    if problem is not None:
        at = "/".join(str(part) for part in problem.absolute_path) or "the top level"
        raise InputError(f"not Dataset-JSON 1.1: {at}: {problem.message}", where)
    names = [column["name"] for column in head["columns"]]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise InputError(f"column {', '.join(map(repr, twice))} is declared more than once in 'columns'", where)
    if not isinstance(rows, list):
        raise InputError("not Dataset-JSON 1.1: 'rows' is not a list of records", where)
    if head["records"] != len(rows):
        raise InputError(
            f"'records' says {head['records']} but the file holds {len(rows)}; the file is truncated or was "
            f"edited by hand",
            Location(str(path), field="records"),
        )
    return head, rows


# Python types a value of each dataType may have in JSON (null aside); bool is an int in Python, so apart.
_JSON_TYPES = {
    "string": (str,),
    "URI": (str,),
    "date": (str,),
    "datetime": (str,),
    "time": (str,),
    "integer": (int,),
    "float": (int, float),
    "double": (int, float),
    "decimal": (str, int, float),  # 1.1 writes decimals as text to keep their digits; numbers accepted
    "boolean": (bool,),
}
_TYPE_WORDS = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}


def _check_json_types(path: Path, column: dict, values: tuple) -> None:
    """Every value of a column is null or of its dataType's JSON type (a string in an integer column,
    a number in a string column, true in a float column are errors naming the record)."""
    kind = column.get("dataType", "string")
    allowed = _JSON_TYPES.get(kind, (str,))
    found = set(map(type, values)) - {type(None)}
    if bool in found and bool not in allowed or not all(t in allowed for t in found):
        bad = next(  # error path only
            i
            for i, value in enumerate(values)
            if value is not None and (type(value) not in allowed or (type(value) is bool and bool not in allowed))
        )
        wanted = " or ".join(_TYPE_WORDS[t] for t in allowed)
        raise InputError(
            f"record {bad + 1}: {values[bad]!r} is {_TYPE_WORDS.get(type(values[bad]), type(values[bad]).__name__)}, "
            f"dataType {kind!r} needs {wanted} or null",
            Location(str(path), field=str(column.get("name"))),
        )


def _is_numeric(column: dict) -> bool:
    kind = column.get("dataType", "string")
    return kind in _NUMERIC_TYPES or (
        kind in ("date", "datetime", "time") and column.get("targetDataType") == "integer"
    )


def sas_numbers_from_iso(values: pd.Series, kind: str) -> np.ndarray:
    """ISO 8601 text -> SAS numbers: dates as days and datetimes as seconds since 1960-01-01, times as
    seconds since midnight (Dataset-JSON 1.1 numeric dates with targetDataType "integer")."""
    text = values.where(values.notna() & (values.astype(str) != ""), None)
    if kind == "time":
        seconds = pd.to_timedelta(text, errors="raise").dt.total_seconds()
        return seconds.to_numpy(dtype=np.float64, na_value=np.nan)
    stamps = pd.to_datetime(text, format="ISO8601", errors="raise")
    seconds = (stamps - xport.SAS_EPOCH).dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan)
    return seconds / 86400.0 if kind == "date" else seconds


def read_dataset_json(path: str | Path) -> tuple[pd.DataFrame, Dataset]:
    """A Dataset-JSON 1.1 file (.json one object; .ndjson metadata line then one array per record)."""
    path = Path(path)
    head, rows = _load_dataset_json(path)
    columns = head["columns"]
    names = [str(column.get("name")) for column in columns]
    width = len(names)
    bad = next((i for i, row in enumerate(rows) if not isinstance(row, list) or len(row) != width), None)
    if bad is not None:
        raise InputError(
            f"record {bad + 1} has {len(rows[bad]) if isinstance(rows[bad], list) else 'no'} "
            f"values, the columns declare {width}",
            Location(str(path)),
        )
    by_column = list(zip(*rows, strict=False)) if rows else [()] * width
    data: dict[str, Any] = {}  # float64 arrays (Num) or text Series (Char)
    variables = []
    for order, (column, values) in enumerate(zip(columns, by_column, strict=False), start=1):
        name = names[order - 1]
        _check_json_types(path, column, values)
        series = pd.Series(values, dtype=object)
        kind = column.get("dataType", "string")
        where = Location(str(path), field=f"{name}")
        try:
            if _is_numeric(column):
                if kind in ("date", "datetime", "time"):
                    data[name] = sas_numbers_from_iso(series, kind)
                else:
                    data[name] = pd.to_numeric(series, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                data[name] = series.where(series.notna(), "").astype(str)
        except (ValueError, TypeError) as exc:
            raise InputError(f"values do not match dataType {kind!r}: {exc}", where) from exc
        numeric = _is_numeric(column)
        length = column.get("length")
        if not length:
            length = (
                8
                if numeric
                else max(1, int(data[name].str.encode("utf-8").str.len().max() or 1) if len(data[name]) else 1)
            )
        data_type = (
            ("integer" if kind in ("date", "datetime", "time") else _DEFINE_TYPES.get(kind, "text"))
            if numeric
            else (kind if kind in ("date", "datetime", "time") else "text")
        )
        variables.append(
            Variable(
                name=name,
                label=column.get("label", ""),
                type="Num" if numeric else "Char",
                length=int(length),
                data_type=data_type,
                order=order,
                format=column.get("displayFormat", "") or "",
                key_sequence=column.get("keySequence"),
            )
        )
    frame = pd.DataFrame(data, columns=names, index=pd.RangeIndex(len(rows)))
    keys = tuple(v.name for v in sorted((v for v in variables if v.key_sequence), key=lambda v: v.key_sequence or 0))
    frame.attrs["dataset_json"] = {k: v for k, v in head.items() if k not in ("columns", "rows")}
    dataset = Dataset(
        name=str(head.get("name") or path.stem.upper()),
        label=head.get("label", ""),
        purpose="",
        keys=keys,
        variables=tuple(variables),
        leaf=path.name,
    )
    return frame, dataset


# --------------------------------------------------------------------------------------------------
# CSV


# bytes judged a block at a time: a whole-file temporary (one byte per byte of a 400 MB lab transfer) costs
# more in fresh memory pages than the comparisons themselves
_BLOCK = 1 << 24


def csv_fields_vouched(data: bytes, columns: int) -> bool:
    """True when the field counts of :func:`csv_field_counts` need not be taken record by record: ``data``
    (no quote in it) holds exactly ``columns - 1`` commas per non-blank line. Then a record with fewer
    fields would need another with more, which pandas refuses (or reads as an index), so a reader that
    has read ``data`` with a plain row index and ``columns`` columns without error has read it
    whole. One count of commas and one pass for the line ends, in place of a position per comma."""
    if b'"' in data or columns < 1 or not data:
        return False
    raw = np.frombuffer(data, dtype=np.uint8)
    records = commas = 0
    begin = 0  # where the record being counted begins
    for start in range(0, raw.size, _BLOCK):
        block = raw[start : start + _BLOCK]
        commas += int(np.count_nonzero(block == ord(",")))
        ends = np.flatnonzero(block == ord("\n")) + start
        if ends.size:
            records += _non_blank(raw, np.concatenate(([begin], ends[:-1] + 1)), ends)
            begin = int(ends[-1]) + 1
    if begin < raw.size:  # a last record without a line end
        records += _non_blank(raw, np.array([begin]), np.array([raw.size]))
    return commas == (columns - 1) * records


def _non_blank(raw: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> int:
    """How many of the records ``raw[starts:ends]`` (line ends left out) hold more than a carriage return."""
    length = ends - starts
    content = length - (raw[np.maximum(ends - 1, 0)] == ord("\r")) * (length > 0)
    return int(np.count_nonzero(content > 0))


def csv_values_unpadded(data: bytes) -> bool:
    """True when no value below the header line of ``data`` can begin or end with white space, judged on
    the bytes alone: for plain comma-separated bytes (no quote, no NUL, ``\\n`` or ``\\r\\n`` line ends, as
    :func:`csv_fields_vouched` vouches for) a value's edges are the bytes next to a comma or a line end,
    and each of those is a printable ASCII byte other than a space. A byte that might be white space once
    decoded (a space, a control byte, any non-ASCII byte: NO-BREAK SPACE is one in Latin-1 and UTF-8
    alike) at an edge, or a ``\\r`` not ending a line, answers False: then the values must be looked at.
    One pass over the bytes, a block at a time, in place of hashing every value read."""
    if b'"' in data or b"\0" in data:
        return False
    raw = np.frombuffer(data, dtype=np.uint8)
    start = data.find(b"\n") + 1  # the header's names are stripped on their own
    if not start:
        return b"\r" not in data  # a header alone, unless "\r" cuts it into records
    if data.find(b"\r", 0, start) not in (-1, start - 2):
        return False
    last = raw.size - 1
    for begin in range(start, raw.size, _BLOCK):
        block = raw[begin : begin + _BLOCK]
        # bytes below "!" (space, controls, line ends) and from DEL up (non-ASCII): uint8 arithmetic wraps them
        # all to >= 94, where the printable ASCII bytes other than the space fall below
        at = np.flatnonzero(np.subtract(block, 33, dtype=np.uint8) >= 94) + begin
        byte = raw[at]
        returns = at[byte == ord("\r")]
        if returns.size and (returns[-1] == last or (raw[returns + 1] != ord("\n")).any()):
            return False
        maybe_space = at[(byte != ord("\n")) & (byte != ord("\r"))]
        if maybe_space.size == 0:
            continue
        if maybe_space[-1] == last:
            return False
        before, after = raw[maybe_space - 1], raw[maybe_space + 1]
        edge = (before == ord(",")) | (before == ord("\n")) | (after == ord(",")) | (after == ord("\n"))
        if (edge | (after == ord("\r"))).any():
            return False
    return True


def csv_field_counts(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Fields per record of comma-separated bytes (RFC 4180 quoting), and the line each record starts on,
    blank lines left out: all at once with numpy, no loop over rows. A line end or comma is inside a quoted
    value when an odd number of quotes precede it (a doubled quote counts twice), so those do not count.
    The bytes must be in an ASCII-compatible encoding (UTF-8, Latin-1, Windows-1252).

    Only the positions of line ends, commas and quotes are kept (binary searches between them), never a
    running count per byte: a 100 MB lab transfer costs a few tens of MB here, not 8 bytes per byte."""
    raw = np.frombuffer(data, dtype=np.uint8)
    if raw.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    newlines = np.flatnonzero(raw == ord("\n"))
    commas = np.flatnonzero(raw == ord(","))
    quotes = np.flatnonzero(raw == ord('"'))
    ends = newlines
    if quotes.size:
        ends = ends[np.searchsorted(quotes, ends) % 2 == 0]
        commas = commas[np.searchsorted(quotes, commas) % 2 == 0]
    if ends.size == 0 or ends[-1] != raw.size - 1:
        ends = np.append(ends, raw.size)  # a last record without a line end
    starts = np.concatenate(([0], ends[:-1] + 1))
    fields = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
    lines = np.searchsorted(newlines, starts) + 1  # quoted line ends count as lines too
    length = ends - starts
    content = length - (raw[np.maximum(ends - 1, 0)] == ord("\r")) * (length > 0)
    keep = content > 0
    return fields[keep], lines[keep]


_ASCII_COMPATIBLE = ("utf-8", "utf8", "utf-8-sig", "ascii", "latin-1", "latin1", "iso-8859-1", "cp1252", "windows-1252")


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` with their line ends (\\n, \\r\\n or \\r, as a file opened with newline=""
    gives them), a leading byte order mark left out, cut one at a time as a reader asks for them: reading
    the header must not copy a 100 MB file (an in-memory text file holds 4 bytes per character)."""
    start = 1 if text.startswith("\ufeff") else 0
    while start < len(text):
        ends = [end for end in (text.find("\n", start), text.find("\r", start)) if end >= 0]
        if not ends:
            yield text[start:]
            return
        end = min(ends) + (1 if text.startswith("\r\n", min(ends)) else 0)
        yield text[start : end + 1]
        start = end + 1


def check_csv_fields(path: Path, encoding: str | None = None, what: str = "CSV") -> None:
    """A CSV that pandas would misread without a word is an InputError naming its first bad line: bytes
    that are not in the encoding (UTF-8 unless given), a header naming a column twice (pandas renames the
    second 'x.1'), a record with more or fewer fields than the header (pandas fills a short row with
    blanks)."""
    check_csv_records(check_csv_text(path, encoding, what), path, what)


def check_csv_text(path: Path, encoding: str | None = None, what: str = "CSV") -> bytes:
    """The first checks of :func:`check_csv_fields`: the bytes are text in the encoding and the header
    names each column once. Returns the file's bytes in an ASCII-compatible encoding, for
    :func:`check_csv_records`."""
    data = path.read_bytes()
    name = (encoding or "utf-8").lower().replace("_", "-")
    # ASCII after UTF-8's byte order mark (Excel's "CSV UTF-8") is as good: looked at a block at a time
    bom = name in ("utf-8", "utf8", "utf-8-sig") and data.startswith(codecs.BOM_UTF8)
    ascii_text = data.isascii() or (
        bom and all(data[at : at + _BLOCK].isascii() for at in range(len(codecs.BOM_UTF8), len(data), _BLOCK))
    )
    if name in _ASCII_COMPATIBLE and ascii_text:
        # ASCII bytes are text in all these encodings: no need to decode a 100 MB file to know, only its header
        cut = data.find(b"\n") + 1 or len(data)
        if b'"' not in data[:cut]:  # a header line with no quote ends at its first line end
            return _checked_header(data, data[:cut].decode(name), path, what)
    try:
        text = data.decode(name)
    except LookupError:
        raise InputError(
            f"{what}: unknown encoding '{encoding}'; name one such as utf-8, latin-1 or cp1252", Location(str(path))
        ) from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{what}: byte 0x{data[exc.start]:02x} on line {line} is not {name}; save the file as UTF-8 or name "
            f"its encoding (e.g. 'encoding: latin-1' in study.yaml)",
            Location(str(path), line),
        ) from None
    if name not in _ASCII_COMPATIBLE:
        data = text.encode("utf-8")
    return _checked_header(data, text, path, what)


def _checked_header(data: bytes, text: str, path: Path, what: str) -> bytes:
    """``data``, once the header, read from ``text`` (the decoded file, or its first line), names each column
    once."""
    try:
        header = next(csv.reader(_lines(text)), [])
    except csv.Error as exc:
        raise InputError(f"{what}: the header line cannot be read as CSV ({exc})", Location(str(path), 1)) from None
    names = [column.strip() for column in header]
    twice = sorted({column for column in names if names.count(column) > 1})
    if twice:
        raise InputError(
            f"{what}: the header names column {', '.join(repr(c) for c in twice)} more than once; "
            f"give every column its own name",
            Location(str(path), 1),
        )
    return data


def check_csv_records(data: bytes, path: Path, what: str = "CSV") -> None:
    """The last check of :func:`check_csv_fields`: every record of ``data`` (from :func:`check_csv_text`)
    has as many fields as the header."""
    fields, lines = csv_field_counts(data)
    if fields.size < 2:
        return
    bad = np.flatnonzero(fields != fields[0])
    if bad.size:
        first = int(bad[0])
        more = f" ({bad.size} lines in all)" if bad.size > 1 else ""
        raise InputError(
            f"{what}: line {int(lines[first])} has {int(fields[first])} fields, the header has {int(fields[0])}{more}; "
            f"quote values that hold a comma and give every row all its columns",
            Location(str(path), int(lines[first])),
        )


def read_csv(path: str | Path) -> tuple[pd.DataFrame, Dataset]:
    """A CSV with a header row. CSV states no types: a column is Num when every non-empty value is a
    number written without a leading zero (so "001" stays text); lengths are the longest value in bytes."""
    path = Path(path)
    check_csv_fields(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read as CSV: {exc}", Location(str(path))) from exc
    variables = []
    for order, name in enumerate(frame.columns, start=1):
        text = frame[name].astype(str)
        filled = text[text.str.strip() != ""]
        numbers = pd.to_numeric(filled, errors="coerce")
        numeric = len(filled) > 0 and bool(numbers.notna().all()) and not filled.str.match(r"^\s*[-+]?0\d").any()
        if numeric:
            values = pd.to_numeric(text.where(text.str.strip() != "", None), errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
            frame[name] = values
            variables.append(
                Variable(name=str(name), label="", type="Num", length=8, data_type=num_data_type(values), order=order)
            )
        else:
            length = int(text.str.encode("utf-8").str.len().max()) if len(text) else 1
            variables.append(
                Variable(name=str(name), label="", type="Char", length=max(1, length), data_type="text", order=order)
            )
    dataset = Dataset(name=path.stem.upper(), label="", purpose="", variables=tuple(variables), leaf=path.name)
    return frame, dataset
