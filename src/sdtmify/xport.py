"""SAS Transport (XPORT) version 5: the file format itself, shared by the writer and the reader.

:mod:`sdtmify.writers.xpt` writes it, :mod:`sdtmify.readers` reads it; both take the layout, the
number format, the SAS epoch and the missing-value codes from here, so neither depends on the other.

Layout (every record 80 bytes; text blank-padded; integers big-endian):

1. ``HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!000...000  ``, then ``SAS     SAS     SASLIB  ``
   + SAS release (8) + host OS (8) + 24 blanks + created (16), then modified (16) + 64 blanks.
2. ``MEMBER`` and ``DSCRPTR`` headers, then ``SAS     `` + member name (8) + ``SASDATA `` + release + OS
   + 24 blanks + created, then modified + 16 blanks + dataset label (40) + dataset type (8).
3. ``NAMESTR`` header holding the variable count, then one 140-byte NAMESTR per variable (ntype, nhfun,
   nlng, nvar0, nname, nlabel, nform, nfl, nfd, nfj, nfill, niform, nifl, nifd, npos, rest), the whole
   run blank-padded to a multiple of 80. SAS leaves nhfun, nfill and rest as zero bytes.
4. ``OBS`` header, then the observations back to back (no record separators), blank-padded to 80.

Numbers are IBM System/370 hexadecimal doubles (:func:`ibm_from_ieee`, :func:`ieee_from_ibm`). The
missing value ``.`` is 0x2E then seven zero bytes; the special missing values ``.A``-``.Z`` and ``._``
are their own character code then zeros (:data:`MISSING_CODES`). SAS dates count days, SAS datetimes
seconds, from :data:`SAS_EPOCH` (1960-01-01); SAS times count seconds from midnight.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputError, Location

RECORD = 80
NAMESTR_LENGTH = 140
MAX_CHAR_LENGTH = 200  # bytes of a character variable
MAX_LABEL_BYTES = 40  # bytes of a dataset or variable label
DEFAULT_SAS_VERSION = "9.4"
DEFAULT_OS_NAME = "Linux"

LIBRARY_HEADER = b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!000000000000000000000000000000  "
MEMBER_HEADER = b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!000000000000000001600000000140  "
DESCRIPTOR_HEADER = b"HEADER RECORD*******DSCRPTR HEADER RECORD!!!!!!!000000000000000000000000000000  "
OBS_HEADER = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!000000000000000000000000000000  "
NAMESTR_PREFIX = b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!000000"
NAMESTR_SUFFIX = b"00000000000000000000  "
_V8_PREFIX = b"HEADER RECORD*******LIBV8   HEADER RECORD!!!!!!!"

SAS_EPOCH = np.datetime64("1960-01-01", "D")
"""Day 0 of SAS dates and second 0 of SAS datetimes. numpy and pandas convert it to the unit of the
other operand (``datetime64[ns] - SAS_EPOCH`` is a ``timedelta64[ns]``)."""

MISSING_CODES = {".": 0x2E, "_": 0x5F, **{chr(c): c for c in range(ord("A"), ord("Z") + 1)}}
"""The first byte of each missing value (``.``, ``._``, ``.A``-``.Z``), by its letter; the rest are zeros."""

_IBM_MIN_EXPONENT = -64  # IBM exponent range is 16**-64 .. 16**63 (7-bit excess-64)
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_FORMAT = re.compile(
    r"(?P<name>\$?(?:[A-Z_](?:[A-Z0-9_]*[A-Z_])?)?)(?P<width>\d*)(?:\.(?P<decimals>\d*))?", re.IGNORECASE
)
_DATE_FORMATS = re.compile(
    r"(DATE|DAY|DDMMYY|MMDDYY|YYMMDD|YYMON|MONYY|YEAR|QTR|WEEKDATE|WORDDATE|JULIAN|"
    r"E8601DA|IS8601DA|B8601DA|NLDATE|MMYY|YYMM|YYQ|DOWNAME|MONNAME|WEEKDAY|EURDF)",
    re.IGNORECASE,
)
_DATETIME_FORMATS = re.compile(
    r"(DATETIME|DATEAMPM|E8601DT|IS8601DT|B8601DT|E8601DN|NLDATM|MDYAMPM|DTDATE)", re.IGNORECASE
)
_TIME_FORMATS = re.compile(r"(TIME|HHMM|HOUR|MMSS|TOD|E8601TM|IS8601TM|B8601TM|NLTIME)", re.IGNORECASE)


# --------------------------------------------------------------------------------------------------
# Header pieces


@dataclass(frozen=True)
class SasFormat:
    """A SAS format or informat as NAMESTR stores it: name (nform), width (nfl), decimals (nfd)."""

    name: str = ""
    width: int = 0
    decimals: int = 0

    def __str__(self) -> str:
        if not (self.name or self.width or self.decimals):
            return ""
        return f"{self.name}{self.width or ''}.{self.decimals or ''}"

    @classmethod
    def parse(cls, text: str | None) -> SasFormat:
        """``"DATE9."`` -> DATE/9/0, ``"$CHAR20."`` -> $CHAR/20/0, ``"8.2"`` -> ""/8/2; "" -> no format.

        The trailing period is optional (Dataset-JSON files often omit it). Raises ValueError."""
        text = (text or "").strip()
        if not text:
            return cls()
        match = _FORMAT.fullmatch(text)
        if not match or not (match["name"] or match["width"]):
            raise ValueError(f"{text!r} is not a SAS format (expected e.g. DATE9. or $CHAR20. or 8.2)")
        return cls(match["name"].upper(), int(match["width"] or 0), int(match["decimals"] or 0))


@dataclass(frozen=True)
class XptVariable:
    """One NAMESTR record. ``number`` and ``position`` are filled by the parser; the writer computes them."""

    name: str
    label: str
    type: str  # "Char" | "Num"
    length: int
    format: SasFormat = SasFormat()
    informat: SasFormat = SasFormat()
    justify: int = 0  # nfj: 0 left, 1 right; SAS writes 0
    number: int = 0
    position: int = 0


@dataclass(frozen=True)
class XptHeader:
    """What the library and member headers stamp: SAS release, host OS, created/modified datetimes.

    Datetimes are naive, to the second; the file holds two-digit years (ddMONyy:hh:mm:ss), read back
    with the POSIX pivot (69-99 -> 19xx, 00-68 -> 20xx)."""

    sas_version: str = DEFAULT_SAS_VERSION
    os_name: str = DEFAULT_OS_NAME
    created: dt.datetime | None = None
    modified: dt.datetime | None = None


@dataclass(frozen=True)
class XptMember:
    """One dataset of a transport file, as its headers describe it."""

    name: str
    label: str
    variables: tuple[XptVariable, ...]
    header: XptHeader  # the member's own descriptor
    library: XptHeader  # the library header (SAS writes the same values)
    dataset_type: str = ""
    data_offset: int = 0  # byte offset of the first observation
    record_length: int = 0
    observations: int = 0  # from the file size; trailing all-blank records count as padding
    path: Path | None = field(default=None, compare=False)

    def __deepcopy__(self, memo: dict) -> XptMember:
        # Immutable all the way down (frozen dataclasses, tuples, str, datetime, Path), so a copy is the
        # object itself. A reader keeps it on frame.attrs["xpt"], and pandas deep-copies attrs on every
        # operation that returns a new frame or column: without this, that copy is a fifth of validation.
        return self


def format_sas_datetime(value: dt.datetime | None) -> str:
    """``ddMONyy:hh:mm:ss`` as XPT headers hold it (16 blanks for None), never locale-dependent."""
    if value is None:
        return " " * 16
    return (
        f"{value.day:02d}{_MONTHS[value.month - 1]}{value.year % 100:02d}:"
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )


def parse_sas_datetime(text: str) -> dt.datetime | None:
    """Inverse of :func:`format_sas_datetime`; None for blank or unreadable text."""
    match = re.fullmatch(r"(\d\d)([A-Za-z]{3})(\d\d):(\d\d):(\d\d):(\d\d)", text.strip())
    if not match or match[2].upper() not in _MONTHS:
        return None
    year = int(match[3])
    year += 1900 if year >= 69 else 2000
    try:
        return dt.datetime(
            year, _MONTHS.index(match[2].upper()) + 1, int(match[1]), int(match[4]), int(match[5]), int(match[6])
        )
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------------
# IBM System/370 doubles


def ibm_from_ieee(values: np.ndarray) -> np.ndarray:
    """IEEE 754 doubles -> IBM hexadecimal double bit patterns (uint64), exactly, all at once.

    value = 1.m * 2**e becomes 0.F * 16**k with k = floor(e/4) + 1, so F's leading hex digit is
    non-zero; the 53-bit significand is shifted left by e - 4k + 4 (0..3) bits into the 56-bit
    fraction, which is why no rounding ever happens. Zeros, -0.0, IEEE subnormals and magnitudes
    below 16**-65 give 0; NaN and infinities must be handled by the caller (they give garbage), as
    must magnitudes >= 16**63 (see :func:`ibm_overflow`)."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)
    sign = bits & np.uint64(0x8000000000000000)
    biased = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64)
    significand = (bits & np.uint64(0x000FFFFFFFFFFFFF)) | np.uint64(0x0010000000000000)
    exponent2 = biased - 1023
    exponent16 = (exponent2 >> 2) + 1  # arithmetic shift: floor for negatives too
    shift = (exponent2 - 4 * exponent16 + 4).astype(np.uint64)
    out = sign | ((exponent16 + 64).astype(np.uint64) << np.uint64(56)) | (significand << shift)
    out[(biased == 0) | (exponent16 < _IBM_MIN_EXPONENT)] = 0
    return out


def ibm_overflow(values: np.ndarray) -> np.ndarray:
    """Mask of values IBM cannot hold: infinities and magnitudes >= 16**63 (2**252)."""
    with np.errstate(invalid="ignore"):
        return np.isinf(values) | (np.abs(values) >= 2.0**252)


def ieee_from_ibm(patterns: np.ndarray) -> np.ndarray:
    """IBM hexadecimal double bit patterns (uint64) -> float64; missing values (``.``, ``.A``-``.Z``,
    ``._``: code byte then zeros) -> NaN. Fractions with more than 53 significant bits are rounded."""
    patterns = np.asarray(patterns, dtype=np.uint64)
    fraction = (patterns & np.uint64(0x00FFFFFFFFFFFFFF)).astype(np.float64)
    exponent = ((patterns >> np.uint64(56)) & np.uint64(0x7F)).astype(np.int64)
    value = np.ldexp(fraction, 4 * (exponent - 64) - 56)
    value = np.where(patterns >> np.uint64(63) == 1, -value, value)
    first = (patterns >> np.uint64(56)).astype(np.uint8)
    missing = (fraction == 0) & np.isin(first, list(MISSING_CODES.values()))
    value[missing] = np.nan
    return value


def missing_codes(patterns: np.ndarray) -> np.ndarray:
    """For IBM patterns: the special-missing text (``"."``, ``".A"``..``".Z"``, ``"._"``) or "" for values."""
    patterns = np.asarray(patterns, dtype=np.uint64)
    first = (patterns >> np.uint64(56)).astype(np.uint8)
    rest_zero = (patterns & np.uint64(0x00FFFFFFFFFFFFFF)) == 0
    out = np.full(patterns.shape, "", dtype=object)
    for letter, code in MISSING_CODES.items():
        out[rest_zero & (first == code)] = "." if letter == "." else "." + letter
    return out


# --------------------------------------------------------------------------------------------------
# SAS formats


def date_kind(fmt: SasFormat) -> str:
    """'date', 'datetime', 'time' or '' from a SAS format name (DATE9. -> date, DATETIME20. -> datetime)."""
    name = fmt.name.lstrip("$")
    if not name:
        return ""
    if _DATETIME_FORMATS.match(name):
        return "datetime"
    if _TIME_FORMATS.match(name):
        return "time"
    if _DATE_FORMATS.match(name):
        return "date"
    return ""


# --------------------------------------------------------------------------------------------------
# Header parser


def _field(raw: bytes, encoding: str) -> str:
    return raw.decode(encoding, errors="replace").rstrip(" \0")


def is_version_8(path: str | Path) -> bool:
    """True for a SAS transport version 8 file (its library header says LIBV8)."""
    with open(path, "rb") as handle:
        return handle.read(len(_V8_PREFIX)) == _V8_PREFIX


def read_header(path: str | Path, encoding: str = "ascii") -> XptMember:
    """Parse the headers of the first member of an XPT v5 file (labels decoded with ``encoding``)."""
    path = Path(path)
    where = Location(str(path))
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8 * RECORD)
        if head.startswith(_V8_PREFIX):
            raise InputError("SAS transport version 8 is not supported; submissions use version 5", where)
        if len(head) < 8 * RECORD or not head.startswith(LIBRARY_HEADER[:48]):
            raise InputError("not a SAS XPT v5 transport file (no LIBRARY HEADER record)", where)
        records = [head[i * RECORD : (i + 1) * RECORD] for i in range(8)]
        if not records[3].startswith(MEMBER_HEADER[:48]) or not records[7].startswith(NAMESTR_PREFIX[:48]):
            raise InputError("XPT v5 member or NAMESTR header missing or damaged", where)
        try:
            namestr_length = int(records[3][74:78])
            count = int(records[7][54:58])
        except ValueError:
            raise InputError(
                "XPT v5 member or NAMESTR header does not parse (its byte counts are not numbers)", where
            ) from None
        if namestr_length != NAMESTR_LENGTH:
            raise InputError(f"NAMESTR records of {namestr_length} bytes (VAX/VMS) are not supported", where)
        if count < 1 or count > 9999:
            raise InputError(f"the NAMESTR header declares {count} variables; a dataset has 1 to 9999", where)
        block = handle.read(count * NAMESTR_LENGTH)
        if len(block) < count * NAMESTR_LENGTH:
            raise InputError(f"file ends inside the {count} NAMESTR records", where)
    library = XptHeader(
        sas_version=_field(records[1][24:32], "ascii"),
        os_name=_field(records[1][32:40], "ascii"),
        created=parse_sas_datetime(records[1][64:80].decode("ascii", "replace")),
        modified=parse_sas_datetime(records[2][0:16].decode("ascii", "replace")),
    )
    header = XptHeader(
        sas_version=_field(records[5][24:32], "ascii"),
        os_name=_field(records[5][32:40], "ascii"),
        created=parse_sas_datetime(records[5][64:80].decode("ascii", "replace")),
        modified=parse_sas_datetime(records[6][0:16].decode("ascii", "replace")),
    )
    if size % RECORD:
        raise InputError(
            f"{size} bytes is not a whole number of {RECORD}-byte records; the file is truncated or damaged", where
        )
    variables = []
    for i in range(count):
        raw = block[i * NAMESTR_LENGTH : (i + 1) * NAMESTR_LENGTH]
        ntype, _nhfun, length, number = np.frombuffer(raw[0:8], dtype=">i2")
        if ntype not in (1, 2):
            raise InputError(
                f"NAMESTR {i + 1} has type {int(ntype)}, not 1 (Num) or 2 (Char); the header is damaged", where
            )
        nfl, nfd, nfj = np.frombuffer(raw[64:70], dtype=">i2")
        nifl, nifd = np.frombuffer(raw[80:84], dtype=">i2")
        variables.append(
            XptVariable(
                name=_field(raw[8:16], "ascii"),
                label=_field(raw[16:56], encoding),
                type="Num" if ntype == 1 else "Char",
                length=int(length),
                format=SasFormat(_field(raw[56:64], "ascii"), int(nfl), int(nfd)),
                justify=int(nfj),
                informat=SasFormat(_field(raw[72:80], "ascii"), int(nifl), int(nifd)),
                number=int(number),
                position=int(np.frombuffer(raw[84:88], dtype=">i4")[0]),
            )
        )
    _check_namestrs(variables, where)
    names_end = 8 * RECORD + count * NAMESTR_LENGTH
    data_offset = names_end + (-names_end % RECORD) + RECORD
    record_length = sum(var.length for var in variables)
    if size < data_offset:
        raise InputError("file ends before the OBS header record; the file is truncated", where)
    with open(path, "rb") as handle:
        handle.seek(data_offset - RECORD)
        if not handle.read(RECORD).startswith(OBS_HEADER[:48]):
            raise InputError("no OBS header record after the NAMESTR records; the header is damaged", where)
    observations = _count_observations(path, data_offset, size, record_length)
    return XptMember(
        name=_field(records[5][8:16], "ascii"),
        label=_field(records[6][32:72], encoding),
        variables=tuple(variables),
        header=header,
        library=library,
        dataset_type=_field(records[6][72:80], "ascii"),
        data_offset=data_offset,
        record_length=record_length,
        observations=observations,
        path=path,
    )


def _check_namestrs(variables: list[XptVariable], where: Location) -> None:
    """Lengths and positions as the writer lays them out: each variable right after the previous one,
    Num 2-8 bytes, Char 1-200; anything else is a damaged header that would misread every value."""
    position = 0
    for var in variables:
        low, high = (2, 8) if var.type == "Num" else (1, MAX_CHAR_LENGTH)
        if not low <= var.length <= high:
            raise InputError(f"NAMESTR of {var.name!r}: length {var.length} is not {low}-{high} for {var.type}", where)
        if var.position != position:
            raise InputError(
                f"NAMESTR of {var.name!r}: position {var.position}, the lengths before it add up to {position}", where
            )
        position += var.length


def _count_observations(path: Path, data_offset: int, size: int, record_length: int) -> int:
    """Observations from the file size. SAS pads the data with fewer than 80 blanks, so a trailing
    all-blank record lying wholly inside the last 80 bytes is padding (the format cannot tell otherwise).
    Bytes after the last whole observation that are not blank padding are a partial observation: an error."""
    if record_length <= 0 or size <= data_offset:
        return 0
    data = size - data_offset
    count = data // record_length
    rest = data - count * record_length
    if rest:
        with open(path, "rb") as handle:
            handle.seek(data_offset + count * record_length)
            tail = handle.read(rest)
        if rest >= RECORD or tail.strip(b" "):
            raise InputError(
                f"the last observation is partial ({rest} of {record_length} bytes); the file is truncated",
                Location(str(path)),
            )
    with open(path, "rb") as handle:
        while count > 0 and data - (count - 1) * record_length < RECORD:
            handle.seek(data_offset + (count - 1) * record_length)
            if handle.read(record_length).strip(b" "):
                break
            count -= 1
    return count


def records(member: XptMember) -> np.ndarray:
    """The observations as raw bytes, one row per record (uint8, ``observations x record_length``), through
    a read-only memory map: indexing reads only the records asked for."""
    if member.path is None:
        raise ValueError(f"{member.name}: records are read from the file, and this member has no path")
    return np.memmap(
        member.path,
        dtype=np.uint8,
        mode="r",
        offset=member.data_offset,
        shape=(member.observations, member.record_length),
    )


def numeric_patterns(member: XptMember, variable: XptVariable, rows: np.ndarray | None = None) -> np.ndarray:
    """Raw IBM patterns (uint64, short lengths zero-filled) of one Num variable, read from the file
    through a memory map; ``rows`` selects records (0-based) without reading the others."""
    picked = records(member)[:, variable.position : variable.position + variable.length]
    if rows is not None:
        picked = picked[rows]
    full = np.zeros((len(picked), 8), dtype=np.uint8)
    full[:, : variable.length] = picked
    return full.view(">u8").ravel().astype(np.uint64)
