"""Make a built frame follow its standard's template, and check its codelist values against CT.

:func:`conform_dataset` applies the SDTMIG 3.4 core designations to variables (Req present and never
null; Exp present, even when empty; Perm only when used; no sponsor variables in a standard domain:
they go in SUPP--, SDTMIG 3.4 section 8.4) and the ADaMIG 1.3 ones (Req present; Cond/Perm when
used; sponsor-defined variables allowed, after the standard ones), puts the variables in the IG's
order, and types them: Char as text with "" for missing, Num as float64. :func:`check_codelists`
reports values outside their codelist (SDTMIG 3.4 assumptions on controlled terminology).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..errors import Location, MetadataError
from ..xport import SAS_EPOCH
from .ct import ControlledTerminology
from .model import ORIGIN_TYPES, CodeList, Condition, Dataset, Origin, StudyMetadata, Variable
from .standards import numbered_variable

_DIGITS = re.compile(r"\d+")
_SECONDS_FORMATS = ("DATETIME", "TIME", "TOD", "E8601DT", "E8601TM")
_MAX_SHOWN = 5
_MAX_DECIMALS = 15


# ---- nulls and types ------------------------------------------------------------------------
def _is_text(series: pd.Series) -> bool:
    return series.dtype == object or pd.api.types.is_string_dtype(series.dtype)


@dataclass(frozen=True)
class TextProfile:
    """What conformance needs of a text column, from one hash pass over it (a set of its values): which
    records are missing (NaN/None, empty or only blanks) and the longest value in UTF-8 bytes.

    Everything else is computed on the distinct values, which a clinical column repeats far more than
    it varies (a 5-million-record LB column has a few thousand), so the cost is one pass per column."""

    missing: pd.Series
    longest: int
    has_nan: bool = True  # any NaN/None (not merely blank): False lets to_char return the column as it is
    distinct: AbstractSet[str] = frozenset()  # the distinct values as to_char gives them, NaN/None left out

    @classmethod
    def of(cls, series: pd.Series) -> TextProfile:
        values = series.to_numpy(dtype=object)
        if series.dtype == "str":  # str values and the dtype's NaN marker only: the set of values tells all
            return cls._of_text(series, values, set(values))
        if pd.api.types.infer_dtype(values, skipna=False) == "string":  # str values only, none missing
            return cls._of_text(series, values, set(values))
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        distinct = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
        text = distinct.map(lambda value: value if isinstance(value, str) else str(value))
        blank = (text.str.strip() == "").to_numpy(dtype=bool)
        missing = codes < 0
        if blank.any():
            missing |= blank[codes] & ~missing
        # UTF-8 bytes equal characters unless a value is non-ASCII: encode only then
        ascii_ = "".join(text).isascii()
        lengths = text.str.len() if ascii_ else text.str.encode("utf-8").str.len()
        longest = max(int(lengths.max()), 1) if len(lengths) else 1
        return cls(
            missing=pd.Series(missing, index=series.index),
            longest=longest,
            has_nan=bool((codes < 0).any()),
            distinct=set(text),
        )

    @classmethod
    def _of_text(cls, series: pd.Series, values: np.ndarray, distinct: set) -> TextProfile:
        """The profile of a column of str values, missing ones (NaN/None) allowed only in a str column,
        from the set of its ``values``: ``distinct`` (a string caches its hash, so this is cheaper than
        codes per record, and there is no scan of every value's type). A record is missing when its
        value is NaN or one of the few blank ones."""
        text = {value for value in distinct if isinstance(value, str)}
        has_nan = len(text) < len(distinct)
        missing = series.isna().to_numpy(dtype=bool) if has_nan else np.zeros(len(values), dtype=bool)
        blanks = [value for value in text if not value.strip()]
        if blanks == [""]:
            missing = missing | (values == "")
        elif blanks:
            missing = missing | pd.Series(values, dtype=object).isin(blanks).to_numpy(dtype=bool)
        if "".join(text).isascii():  # one scan of the joined text, not a call per value
            longest = max(map(len, text), default=0)
        else:
            longest = max((len(value.encode("utf-8")) for value in text), default=0)
        return cls(
            missing=pd.Series(missing, index=series.index), longest=max(longest, 1), has_nan=has_nan, distinct=text
        )


def is_null(series: pd.Series) -> pd.Series:
    """Missing in the SDTM sense: NaN/None, or text that is empty or only blanks (XPT stores those as missing).

    Text is judged once per distinct value (:class:`TextProfile`), so a 5-million-record column costs one
    hash pass."""
    if _is_text(series):
        return TextProfile.of(series).missing
    return series.isna()


def to_char(series: pd.Series, profile: TextProfile | None = None) -> pd.Series:
    """A Char variable's values as text, "" for missing. Numbers print without a spurious ".0"
    ("%.15g"); datetimes as ISO 8601 (date only when every time is midnight). ``profile``, the text
    column's :class:`TextProfile` when the caller has one, saves a pass over the values looking for NaN."""
    if profile is not None and not profile.has_nan and _is_text(series):
        # nothing missing: text as it is (str), or each value's str() (object), as below
        return series if series.dtype != object else series.astype(str)
    missing = series.isna()
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        times = series[~missing]
        midnight = bool((times == times.dt.normalize()).all())
        text = series.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%dT%H:%M:%S")
    elif pd.api.types.is_bool_dtype(series.dtype):
        text = series.astype(object).map({True: "Y", False: "N"})
    elif pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        printed = np.char.mod("%.15g", np.where(np.isnan(values), 0.0, values))
        text = pd.Series(printed, index=series.index, dtype=object)
    else:
        if pd.api.types.is_string_dtype(series.dtype) and series.dtype != object:
            # already text: fill the gaps in place of a copy through object of millions of values
            return series.fillna("") if missing.any() else series
        text = series.astype(object)
    return text.where(~missing, "").fillna("").astype(str)


def _seconds_format(display_format: str) -> bool:
    return display_format.upper().startswith(_SECONDS_FORMATS)


class VariableError(MetadataError):
    """A problem with the values or declared metadata of one variable; ``variable`` and ``key`` (e.g.
    "length") let the caller point at the mapping entry that declares it."""

    def __init__(self, message: str, variable: str, key: str | None = None):
        super().__init__(message)
        self.variable = variable
        self.key = key


def to_num(
    series: pd.Series,
    variable: Variable,
    dataset: str,
    frame: pd.DataFrame | None = None,
    lineage: pd.DataFrame | None = None,
    profile: TextProfile | None = None,
) -> pd.Series:
    """A Num variable's values as float64 (NaN for missing).

    Text that is not a number is an error naming the first records (with their source table and row
    when ``frame``/``lineage`` are given). Datetime values become SAS dates (days since 1960-01-01) or, for a DATETIME/TIME display format,
    SAS seconds, as ADaMIG 1.3 stores numeric dates (*DT) and datetimes (*DTM)."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        delta = series.dt.tz_localize(None) if series.dt.tz is not None else series
        if _seconds_format(variable.format):
            return ((delta - SAS_EPOCH).dt.total_seconds()).astype("float64")
        return ((delta.dt.normalize() - SAS_EPOCH).dt.days).astype("float64")
    if pd.api.types.is_timedelta64_dtype(series.dtype):
        return series.dt.total_seconds().astype("float64")
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype("float64")
    missing = profile.missing if profile is not None else is_null(series)
    numbers = pd.to_numeric(series.where(~missing, None), errors="coerce")
    bad = numbers.isna() & ~missing
    if bad.any():
        shown = ", ".join(repr(value) for value in series[bad].unique()[:_MAX_SHOWN])
        where = _records(bad, frame if frame is not None else pd.DataFrame(index=series.index), lineage)
        raise VariableError(
            f"{dataset}.{variable.name} ({variable.label}) is Num but has text values {shown} "
            f"({where}); map them to numbers, or put the text in a Char variable "
            f"(e.g. --ORRES/--STRESC)",
            variable.name,
        )
    return numbers.astype("float64")


def byte_length(series: pd.Series) -> int:
    """Longest value in UTF-8 bytes, at least 1 (XPT and Define-XML lengths are bytes; SDTMIG 3.4 4.1.5).

    Measured on distinct values only: a lab result column repeats far more than it varies."""
    if _is_text(series):
        return TextProfile.of(series).longest
    uniques = pd.Series(pd.unique(series.astype(str)), dtype=object)
    if uniques.empty:
        return 1
    return max(int(uniques.str.encode("utf-8").str.len().max()), 1)


def significant_digits(values: pd.Series) -> int:
    """Decimal places needed to show every value exactly (Define-XML 2.1 ItemDef/@SignificantDigits)."""
    finite = values.to_numpy(dtype="float64", na_value=np.nan)
    finite = finite[np.isfinite(finite)]
    for digits in range(_MAX_DECIMALS + 1):
        scaled = finite * 10.0**digits
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-9 * np.maximum(1.0, np.abs(scaled))):
            return digits
    return _MAX_DECIMALS


# ---- conformance --------------------------------------------------------------------------
def _records(mask: pd.Series, frame: pd.DataFrame, lineage: pd.DataFrame | None) -> str:
    """The first offending records, named by record number, subject, sequence and source row."""
    positions = np.flatnonzero(mask.to_numpy())[:_MAX_SHOWN]
    seq = next((c for c in frame.columns if c.endswith("SEQ") and len(c) == 5), None)
    shown = []
    for position in positions:
        parts = [f"record {position + 1}"]
        if "USUBJID" in frame.columns:
            parts.append(f"USUBJID={frame['USUBJID'].iloc[position]}")
        if seq:
            value = frame[seq].iloc[position]
            parts.append(f"{seq}={value:g}" if isinstance(value, (float, np.floating)) else f"{seq}={value}")
        if lineage is not None and {"SRCTABLE", "SRCROW"} <= set(lineage.columns) and position < len(lineage):
            parts.append(f"source {lineage['SRCTABLE'].iloc[position]} row {lineage['SRCROW'].iloc[position]}")
        shown.append(" ".join(parts))
    more = int(mask.sum()) - len(positions)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def _sponsor_variable(name: str, spec: Variable | str | None, series: pd.Series, dataset: str) -> Variable:
    """Metadata of a sponsor-defined ADaM variable: the given Variable, or a label and a type from the data."""
    if isinstance(spec, Variable):
        return replace(spec, name=name)
    if not spec:
        raise MetadataError(
            f"{dataset}.{name} is not an ADaMIG variable of this dataset's class; give it a label "
            f"as a sponsor-defined variable (extra={{'{name}': 'Label'}})"
        )
    numeric = (
        pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)
    ) or pd.api.types.is_datetime64_any_dtype(series.dtype)
    return Variable(
        name=name,
        label=spec,
        type="Num" if numeric else "Char",
        length=0,
        data_type="float" if numeric else "text",
        order=0,
        core="Perm",
    )


def _with_numbered_variables(template: Dataset, columns: list[str]) -> tuple[Dataset, list[str]]:
    """The template extended with the ADaMIG numbered-family members among ``columns`` (TRT02P,
    ANL02FL...), each placed after its family; and the columns that remain sponsor-defined."""
    variables = list(template.variables)
    remaining = []
    for column in columns:
        member = numbered_variable(template, column)
        if member is None:
            remaining.append(column)
            continue
        shape = _DIGITS.sub("#", column)
        last = max(index for index, var in enumerate(variables) if _DIGITS.sub("#", var.name) == shape)
        variables.insert(last + 1, member)
    return replace(template, variables=tuple(variables)), remaining


def _label_check(variable: Variable, dataset: str) -> None:
    if len(variable.name) > 8 or len(variable.label) > 40:
        raise MetadataError(
            f"{dataset}.{variable.name}: names are at most 8 characters and labels at most 40 "
            f"(SAS XPT v5); label {variable.label!r} has {len(variable.label)}"
        )


def conform_dataset(
    frame: pd.DataFrame,
    template: Dataset,
    *,
    lengths: Mapping[str, int] | None = None,
    keep: Iterable[str] = (),
    origins: Mapping[str, Origin] | None = None,
    methods: Mapping[str, str] | None = None,
    extra: Mapping[str, Variable | str] | None = None,
    notes: list[str] | None = None,
    lineage: pd.DataFrame | None = None,
    unknown: Mapping[str, str] | None = None,
    profiles: dict[str, TextProfile] | None = None,
) -> tuple[pd.DataFrame, Dataset]:
    """``frame`` made to follow ``template`` (from :mod:`sdtmify.metadata.standards`), and its metadata.

    - Variables in the template's (IG's) order; for ADaM, sponsor variables (``extra``: name -> label
      or Variable) follow, in frame order. In SDTM a non-standard variable is an error: it goes in SUPP--.
    - Req: present (and, in SDTM, never null: error naming the first records, with their source rows
      when ``lineage`` is given), unless the study declared why it may be unknown (``unknown``: name ->
      reason): then a truthful null, noted, that the validator reports (SD1013) with the reason. Exp: added empty when absent, with a note. Perm/Cond: dropped when
      entirely null unless named in ``keep``.
    - Char values as text ("" for missing); Num as float64. Length: the declared ``lengths[name]``,
      else the longest UTF-8 value (at least 1); 8 for Num. Float significant digits from the data.
    - ``origins``/``methods`` (name -> Origin / Method OID) are set on the variables.
    ``notes`` (e.g. a Bundle's notes) receives what was added or dropped; ``profiles``, the
    :class:`TextProfile` of each text column kept (its distinct values spare the caller another pass)."""
    name = template.name
    tabulation = template.purpose == "Tabulation"
    lengths = dict(lengths or {})
    keep = set(keep)
    origins = dict(origins or {})
    methods = dict(methods or {})
    extra = dict(extra or {})
    notes = notes if notes is not None else []
    frame = frame.reset_index(drop=True)
    standard = {var.name: var for var in template.variables}

    odd = [str(column) for column in frame.columns if not isinstance(column, str)]
    duplicated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
    if odd or duplicated:
        raise MetadataError(f"{name}: column names must be unique variable names; bad: {', '.join(odd + duplicated)}")
    sponsor = [column for column in frame.columns if column not in standard]
    if sponsor and not tabulation:
        template, sponsor = _with_numbered_variables(template, sponsor)
    if sponsor and tabulation:
        parent = template.domain or name
        raise MetadataError(
            f"{name}: {', '.join(sponsor)} {'is not an' if len(sponsor) == 1 else 'are not'} SDTMIG 3.4 {parent} "
            f"variable{'s' if len(sponsor) > 1 else ''}; non-standard variables go in SUPP{parent} "
            f"(declare them under supp: in the mapping)"
        )

    absent_required = [var.name for var in template.variables if var.core == "Req" and var.name not in frame.columns]
    if absent_required:
        raise MetadataError(
            f"{name}: Required variable{'s' if len(absent_required) > 1 else ''} "
            f"{', '.join(absent_required)} missing; map a value for each"
        )

    columns: dict[str, pd.Series] = {}
    variables: list[Variable] = []
    profiles = {} if profiles is None else profiles  # one hash pass per text column, reused for its length
    for var in template.variables:
        if var.name not in frame.columns:
            if var.core == "Exp" and tabulation:
                notes.append(f"{name}.{var.name} ({var.label}) is Expected: added with no values")
                columns[var.name] = pd.Series(np.nan, index=frame.index, dtype="float64")
                variables.append(var)
            continue
        series = frame[var.name]
        profile = TextProfile.of(series) if _is_text(series) else None
        missing = profile.missing if profile is not None else series.isna()
        if profile is not None:
            profiles[var.name] = profile
        if var.core == "Req" and missing.any():
            if tabulation and var.name not in (unknown or {}):
                raise MetadataError(
                    f"{name}: Required variable {var.name} ({var.label}) is null in {int(missing.sum())} of "
                    f"{len(series)} records: {_records(missing, frame, lineage)}. SDTMIG 3.4 requires a value "
                    f"in every record; map one or drop those records"
                )
            notes.append(f"{name}.{var.name} ({var.label}) is Required but null in {int(missing.sum())} records")
        # with no records at all nothing says a variable was not collected: an empty dataset keeps its shape
        if var.core in ("Perm", "Cond") and len(frame) and missing.all() and var.name not in keep:
            notes.append(f"{name}.{var.name} ({var.label}) is {var.core} and has no values: dropped")
            continue
        columns[var.name] = series
        variables.append(var)
    for column in sponsor:
        var = _sponsor_variable(column, extra.get(column), frame[column], name)
        _label_check(var, name)
        columns[column] = frame[column]
        variables.append(var)

    out: dict[str, pd.Series] = {}
    typed: list[Variable] = []
    for order, var in enumerate(variables, start=1):
        series = columns[var.name]
        if var.type == "Char":
            values = to_char(series, profiles.get(var.name))
            longest = profiles[var.name].longest if var.name in profiles else byte_length(values)
            length = lengths.get(var.name, longest)
            if length < longest:
                too_long = values.astype(str).str.encode("utf-8").str.len() > length  # error path only
                raise VariableError(
                    f"{name}.{var.name}: declared length {length} is shorter than its longest "
                    f"value ({longest} bytes) in {_records(too_long, frame, lineage)}; raise the declared "
                    f"length or shorten the values",
                    var.name,
                    "length",
                )
            var = replace(var, length=length, significant_digits=None)
        else:
            values = to_num(series, var, name, frame, lineage, profiles.get(var.name))
            var = replace(var, length=8)
            if var.data_type in ("integer", "float"):
                digits = significant_digits(values)
                if var.data_type == "integer" and digits > 0:
                    notes.append(f"{name}.{var.name} has non-integer values: DataType float")
                    var = replace(var, data_type="float")
                var = replace(var, significant_digits=digits if var.data_type == "float" else None)
        out[var.name] = values
        typed.append(
            replace(
                var,
                order=order,
                origin=origins.get(var.name, var.origin),
                method=methods.get(var.name, var.method),
            )
        )

    keys = tuple(key for key in template.keys if key in out)
    position = {key: index for index, key in enumerate(keys, start=1)}
    typed = [replace(var, key_sequence=position.get(var.name)) for var in typed]
    result = pd.DataFrame(out, index=frame.index, copy=False)  # copy-on-write: no copy of every column
    return result, replace(template, keys=keys, variables=tuple(typed))


# ---- codelist checks ----------------------------------------------------------------------
@dataclass(frozen=True)
class CodelistFinding:
    """A value outside its codelist. ``rule``: CT2001 (non-extensible codelist, error) or
    CT2002 (extensible codelist, undeclared extension, warning); CT0001 when the codelist is unknown."""

    rule: str
    severity: str  # error | warning
    dataset: str
    variable: str
    codelist: str  # CodeList OID, e.g. CL.NY
    value: str
    count: int
    first_record: int  # 1-based record number in the dataset
    message: str


def _declared(extensions, ct: ControlledTerminology) -> dict[str, set[str]]:
    """Sponsor extensions by codelist OID, from a mapping (name/OID -> values) or CodeLists."""
    declared: dict[str, set[str]] = {}
    if extensions is None:
        return declared
    if isinstance(extensions, Mapping):
        for key, values in extensions.items():
            oid = key if key.startswith("CL.") else f"CL.{ct.short_name(key) if ct.has_codelist(key) else key}"
            declared.setdefault(oid, set()).update(values)
        return declared
    for codelist in extensions:
        if isinstance(codelist, CodeList):
            declared.setdefault(codelist.oid, set()).update(i.coded_value for i in codelist.items if i.extended)
    return declared


def _where(frame: pd.DataFrame, conditions: tuple[Condition, ...]) -> pd.Series:
    """Rows meeting every condition of a def:WhereClauseDef."""
    mask = pd.Series(True, index=frame.index)
    for condition in conditions:
        if condition.variable not in frame.columns:
            return pd.Series(False, index=frame.index)
        inside = to_char(frame[condition.variable]).isin(condition.values)
        mask &= ~inside if condition.comparator in ("NE", "NOTIN") else inside
    return mask


def _check(
    values: pd.Series,
    rows: pd.Series,
    oid: str,
    ct: ControlledTerminology,
    declared: set[str],
    dataset: str,
    variable: str,
) -> list[CodelistFinding]:
    if ct.is_external(oid):
        return []
    if not ct.has_codelist(oid):
        return [
            CodelistFinding(
                "CT0001",
                "warning",
                dataset,
                variable,
                oid,
                "",
                0,
                0,
                f"{dataset}.{variable}: codelist {oid} is not in the controlled terminology; "
                f"its values were not checked",
            )
        ]
    text = to_char(values)
    outside = rows & (text != "") & ~text.isin(ct.values(oid))
    if not outside.any():
        return []
    extensible = ct.is_extensible(oid)
    codelist = ct.codelist(oid)
    findings = []
    bad = text[outside]
    counts = bad.value_counts(sort=False)
    first = pd.Series(np.flatnonzero(outside.to_numpy()) + 1, index=bad.index).groupby(bad).min()
    for value in sorted(counts.index):
        if extensible and value in declared:
            continue
        count, record = int(counts[value]), int(first[value])
        records = f"{count} record{'s' if count > 1 else ''}, first record {record}"
        where = f"{dataset}.{variable} value {value!r} ({records})"
        if extensible:
            findings.append(
                CodelistFinding(
                    "CT2002",
                    "warning",
                    dataset,
                    variable,
                    oid,
                    value,
                    count,
                    record,
                    f"{where} is not in extensible codelist {codelist.name} ({codelist.c_code}); "
                    f"declare it as a sponsor extension if intended",
                )
            )
        else:
            findings.append(
                CodelistFinding(
                    "CT2001",
                    "error",
                    dataset,
                    variable,
                    oid,
                    value,
                    count,
                    record,
                    f"{where} is not in non-extensible codelist {codelist.name} ({codelist.c_code}); "
                    f"use one of {', '.join(ct.values(oid)[:12])}",
                )
            )
    return findings


def check_codelists(
    frame: pd.DataFrame,
    dataset: Dataset,
    ct: ControlledTerminology,
    extensions: Mapping[str, Iterable[str]] | Iterable[CodeList] | None = None,
) -> list[CodelistFinding]:
    """Values outside their codelist, variable by variable and for value-level codelists.

    SDTMIG 3.4 (controlled terminology assumptions): a value of a non-extensible codelist must be a
    CT term (error, CT2001); an extensible codelist may be extended by the sponsor: an undeclared extension is a warning
    (CT2002), a declared one (``extensions``: codelist name/OID -> values, or CodeLists whose items
    are marked ``extended``) is fine. External dictionaries (MedDRA...) are not checked here."""
    declared = _declared(extensions, ct)
    everything = pd.Series(True, index=frame.index)
    findings: list[CodelistFinding] = []
    for var in dataset.variables:
        if var.name not in frame.columns:
            continue
        if var.codelist:
            findings += _check(
                frame[var.name], everything, var.codelist, ct, declared.get(var.codelist, set()), dataset.name, var.name
            )
        for level in var.value_levels:
            if level.codelist:
                rows = _where(frame, level.where)
                findings += _check(
                    frame[var.name],
                    rows,
                    level.codelist,
                    ct,
                    declared.get(level.codelist, set()),
                    dataset.name,
                    var.name,
                )
    return findings


# ---- declared metadata (an imported spec workbook) ------------------------------------------
# What a spec may state over what the build derived, and what it may not: the data decide which
# datasets and variables exist, their order, SAS type, DataType, codelist and keys (those come from the
# mappings); people decide how they are described (dataset label and comment; variable label, origin,
# method, comment, length and format).


def _spec_problem(source: str, where: str, text: str) -> MetadataError:
    return MetadataError(f"{where}: {text}", Location(source))


def _declared_variable(
    built: Variable,
    stated: Variable,
    values: pd.Series | None,
    dataset: str,
    source: str,
    methods: set[str],
    comments: set[str],
) -> Variable:
    """``built`` with the spec's descriptive metadata, after checking that the spec agrees with the data."""
    where = f"{dataset}.{built.name}"
    if stated.type != built.type:
        raise _spec_problem(
            source,
            where,
            f"the spec says {stated.type} but the data are {built.type}; the type "
            f"comes from the data: correct the spec's SAS Type",
        )
    if (stated.codelist or None) != (built.codelist or None):
        raise _spec_problem(
            source,
            where,
            f"the spec gives codelist {stated.codelist or 'none'} but the build uses "
            f"{built.codelist or 'none'}; codelists come from the mapping's 'ct:' "
            f"(edit the mapping, or correct the spec's Codelist)",
        )
    if len(stated.label) > 40 or not stated.label.strip():
        raise _spec_problem(source, where, f"label {stated.label!r} must have 1 to 40 characters (SAS XPT v5)")
    length = built.length
    if built.type == "Char" and stated.length:
        longest = byte_length(to_char(values)) if values is not None else 1
        if stated.length < longest:
            raise _spec_problem(
                source,
                where,
                f"the spec's length {stated.length} is shorter than the longest value "
                f"in the data ({longest} bytes); raise the length in the spec to at "
                f"least {longest}",
            )
        if stated.length > 200:
            raise _spec_problem(
                source,
                where,
                f"the spec's length {stated.length} exceeds 200, the SAS XPT v5 limit for a character variable",
            )
        length = stated.length
    elif built.type == "Num" and stated.length not in (0, 8, None):
        raise _spec_problem(source, where, f"the spec's length {stated.length} for a Num variable must be 8")
    if stated.method and stated.method not in methods:
        raise _spec_problem(source, where, f"method {stated.method} is not defined on the spec's Methods sheet")
    if stated.comment and stated.comment not in comments:
        raise _spec_problem(source, where, f"comment {stated.comment} is not defined on the spec's Comments sheet")
    if stated.origin is not None and stated.origin.type not in ORIGIN_TYPES:
        raise _spec_problem(source, where, f"origin {stated.origin.type!r} is not one of {', '.join(ORIGIN_TYPES)}")
    return replace(
        built,
        label=stated.label,
        origin=stated.origin or built.origin,
        method=stated.method,
        comment=stated.comment,
        length=length,
        format=stated.format or built.format,
    )


def apply_declared_metadata(
    derived: StudyMetadata, frames: Mapping[str, pd.DataFrame], spec: StudyMetadata, source: str = "spec"
) -> tuple[StudyMetadata, list[str]]:
    """The build's metadata with what an imported spec (``sdtmify spec import``) may state laid over it.

    A spec may restate, for datasets and variables the build has: dataset label and comment; variable
    label, origin, method, comment, declared length (Char: at least the longest value in the data, at most
    200; Num: 8) and display format; and the MethodDef/CommentDef/leaf texts these point at. It may not
    contradict the data: a different SAS type, codelist or key list, a length shorter than the data, a
    label over 40 characters, or a reference to an undefined method or comment is refused with a message
    naming ``source`` (the spec file), the dataset and the variable. What the spec lacks keeps its derived
    metadata, and what the build lacks is ignored; both are returned as notes."""
    notes: list[str] = []
    stated_sets = {ds.name: ds for ds in spec.datasets}
    methods = {m.oid: m for m in derived.methods} | {m.oid: m for m in spec.methods}
    comments = {c.oid: c for c in derived.comments} | {c.oid: c for c in spec.comments}
    datasets = []
    for ds in derived.datasets:
        stated = stated_sets.get(ds.name)
        if stated is None:
            notes.append(f"{source}: dataset {ds.name} is built but not in the spec; its derived metadata is kept")
            datasets.append(ds)
            continue
        if stated.keys and tuple(stated.keys) != tuple(ds.keys):
            raise _spec_problem(
                source,
                ds.name,
                f"the spec's keys {', '.join(stated.keys)} differ from the "
                f"dataset's keys {', '.join(ds.keys)}, which sort its records; keys "
                f"come from the mapping's 'keys' (edit the mapping, or the spec)",
            )
        if len(stated.label) > 40:
            raise _spec_problem(source, ds.name, f"dataset label {stated.label!r} is longer than 40 characters")
        if stated.comment and stated.comment not in comments:
            raise _spec_problem(
                source, ds.name, f"comment {stated.comment} is not defined on the spec's Comments sheet"
            )
        stated_vars = {v.name: v for v in stated.variables}
        frame = frames.get(ds.name)
        variables = []
        for var in ds.variables:
            declared = stated_vars.get(var.name)
            if declared is None:
                notes.append(f"{source}: {ds.name}.{var.name} is built but not in the spec; derived metadata kept")
                variables.append(var)
                continue
            values = frame[var.name] if frame is not None and var.name in frame else None
            variables.append(_declared_variable(var, declared, values, ds.name, source, set(methods), set(comments)))
        notes += [
            f"{source}: {ds.name}.{name} is in the spec but not built; ignored"
            for name in sorted(stated_vars.keys() - set(ds.variable_names))
        ]
        datasets.append(
            replace(
                ds, label=stated.label or ds.label, comment=stated.comment or ds.comment, variables=tuple(variables)
            )
        )
    notes += [
        f"{source}: dataset {name} is in the spec but not built; ignored"
        for name in sorted(stated_sets.keys() - {ds.name for ds in derived.datasets})
    ]
    # a MethodDef/CommentDef is stated when something points at it: the variables as declared now, or
    # whatever pointed at it outside the variables (e.g. analysis results metadata)
    methods_kept = _referenced(datasets, "method") | (
        set(m.oid for m in derived.methods) - _referenced(derived.datasets, "method")
    )
    comments_kept = _referenced(datasets, "comment") | (
        set(c.oid for c in derived.comments) - _referenced(derived.datasets, "comment")
    )
    documents = {d.oid: d for d in derived.documents} | {d.oid: d for d in spec.documents}
    return replace(
        derived,
        datasets=tuple(datasets),
        methods=tuple(methods[oid] for oid in sorted(methods_kept)),
        comments=tuple(comments[oid] for oid in sorted(comments_kept)),
        documents=tuple(documents[oid] for oid in sorted(documents)),
    ), notes


def _referenced(datasets, kind: str) -> set[str]:
    """OIDs of the methods (``kind="method"``) or comments the datasets' variables and value levels point at."""
    found = {getattr(ds, kind, None) for ds in datasets}
    for ds in datasets:
        for var in ds.variables:
            found.add(getattr(var, kind))
            found.update(getattr(level, kind) for level in var.value_levels)
    return {oid for oid in found if oid}


def apply_spec_to_bundle(bundle, spec: StudyMetadata, source: str = "spec") -> list[str]:
    """:func:`apply_declared_metadata` on a Bundle (SDTM or ADaM): its metadata and every dataset's
    ``meta`` (which the XPT and Dataset-JSON writers read) get the declared metadata. Returns notes."""
    frames = {name: built.frame for name, built in bundle.datasets.items()}
    metadata, notes = apply_declared_metadata(bundle.metadata, frames, spec, source)
    bundle.metadata = metadata
    for ds in metadata.datasets:
        if ds.name in bundle.datasets:
            bundle.datasets[ds.name].meta = ds
    bundle.notes.extend(notes)
    return notes
