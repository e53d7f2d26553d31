"""CDISC Controlled Terminology: the shipped curated subset, or a full NCI EVS package given with ``--ct``.

Terms are kept in the NCI EVS text layout (Code, Codelist Code, Codelist Extensible (Yes/No),
Codelist Name, CDISC Submission Value, CDISC Synonym(s), CDISC Definition, NCI Preferred Term):
a codelist row has no Codelist Code; its terms name it. ``specs/ct/*.tsv`` are derived from the
packages in ``../shared/reference/ct`` by ``tools/extract_ct_subset.py`` (see ``specs/ct/subset.yaml``).

A codelist is found by its short name (the codelist's CDISC Submission Value, e.g. ``NY``), its OID
(``CL.NY``) or its NCI code (``C66742``). Submission values match case-sensitively (SDTMIG 3.4
assumptions on controlled terminology: values are submitted exactly as in CT);
:meth:`ControlledTerminology.recode` maps raw collected text to the submission value through
synonyms and the NCI preferred term.
"""

from __future__ import annotations

import csv
import json
import lzma
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..atomic import write_text
from ..errors import Location, MetadataError, SpecError
from ..resources import read_spec_text, spec_path
from .model import CodeList, CodeListItem, Standard
from .oids import codelist_oid

NCI_COLUMNS = (
    "Code",
    "Codelist Code",
    "Codelist Extensible (Yes/No)",
    "Codelist Name",
    "CDISC Submission Value",
    "CDISC Synonym(s)",
    "CDISC Definition",
    "NCI Preferred Term",
)
_SHORT = ("code", "codelist", "extensible", "codelist_name", "value", "synonyms", "definition", "preferred")
CT_FOLDER = "ct"
SUBSET_CONFIG = "subset.yaml"
EXTERNAL_FILE = "external.csv"
_DATE = re.compile(r"(\d{4}-\d{2}(?:-\d{2})?)")
_C_CODE = re.compile(r"^C\d+$")


def read_nci_text(path: str | Path) -> pd.DataFrame:
    """An NCI EVS CT text file (``.txt``, ``.tsv`` or ``.txt.xz``) as a frame of str columns ``_SHORT``.

    The layout is tab-separated with a header row; fields are never quoted (definitions contain
    double quotes), so quoting is turned off."""
    path = Path(path)
    if not path.is_file():
        raise MetadataError(
            "controlled terminology file not found; give an NCI EVS CT text file (.txt or .txt.xz) with --ct",
            Location(str(path)),
        )
    opener = lzma.open if path.suffix == ".xz" else open
    try:
        with opener(path, "rt", encoding="utf-8", newline="") as handle:
            frame = pd.read_csv(
                handle, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE, na_filter=False
            )
    except (OSError, EOFError, UnicodeDecodeError, lzma.LZMAError, pd.errors.ParserError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error).splitlines()[0]
        raise MetadataError(f"controlled terminology file cannot be read ({reason})", Location(str(path))) from None
    missing = [column for column in NCI_COLUMNS if column not in frame.columns]
    if missing:
        raise MetadataError(
            f"not an NCI EVS CT text file: columns {', '.join(missing)} missing (expected {', '.join(NCI_COLUMNS)})",
            Location(str(path), 1),
        )
    frame = frame[list(NCI_COLUMNS)]
    frame.columns = list(_SHORT)
    return frame


def read_cdisc_json(path: str | Path) -> pd.DataFrame:
    """A CDISC Library CT package in JSON (codelists -> terms) in the same layout as :func:`read_nci_text`."""
    path = Path(path)
    if not path.is_file():
        raise MetadataError("controlled terminology JSON file not found", Location(str(path)))
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for codelist in data.get("codelists", []):
        name = codelist["name"]
        rows.append(
            (
                codelist["conceptId"],
                "",
                "Yes" if codelist.get("extensible") else "No",
                name,
                codelist["submissionValue"],
                "; ".join(codelist.get("synonyms") or []),
                codelist.get("definition", ""),
                codelist.get("preferredTerm", ""),
            )
        )
        for term in codelist.get("terms", []):
            rows.append(
                (
                    term["conceptId"],
                    codelist["conceptId"],
                    "",
                    name,
                    term["submissionValue"],
                    "; ".join(term.get("synonyms") or []),
                    term.get("definition", ""),
                    term.get("preferredTerm", ""),
                )
            )
    return pd.DataFrame(rows, columns=list(_SHORT), dtype=str)


def write_nci_text(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` (columns ``_SHORT``) in the NCI EVS text layout, atomically, LF line ends."""
    for column in _SHORT:
        bad = frame[column].str.contains(r"[\t\r\n]", regex=True)
        if bad.any():
            raise MetadataError(
                f"term {frame.loc[bad, 'code'].iloc[0]}: a tab or line break in {column}", Location(str(path))
            )
    lines = ["\t".join(NCI_COLUMNS)]
    lines += ["\t".join(row) for row in frame[list(_SHORT)].itertuples(index=False, name=None)]
    write_text(path, "\n".join(lines) + "\n")


@dataclass(frozen=True)
class Term:
    """One CT term with everything the NCI file says about it."""

    c_code: str
    codelist_c_code: str
    value: str  # CDISC Submission Value
    synonyms: tuple[str, ...]
    definition: str
    preferred_term: str


@dataclass(frozen=True)
class ExternalDictionary:
    short_name: str
    name: str
    dictionary: str
    href: str


class ControlledTerminology:
    """The terms of one or more CT packages (SDTM, ADaM, Define-XML) with fast codelist lookups."""

    def __init__(
        self,
        terms: pd.DataFrame,
        standards: Mapping[str, Standard],
        external: Iterable[ExternalDictionary] = (),
        source: str = "",
    ):
        """``terms``: columns ``_SHORT`` plus ``package`` (a key of ``standards``)."""
        self.source = source
        self.standards = dict(standards)
        self.external = {ext.short_name: ext for ext in external}
        is_codelist = terms["codelist"] == ""
        heads = terms[is_codelist].drop_duplicates("code", keep="first")
        # A short name may appear in several packages (DICTNAM: SDTM and Define-XML); the first wins.
        heads = heads.drop_duplicates("value", keep="first")
        self._heads = heads.set_index("code", drop=False)
        self._by_name = dict(zip(heads["value"], heads["code"], strict=False))
        members = terms[~is_codelist]
        members = members[members["codelist"].isin(self._heads.index)]
        members = members.drop_duplicates(["codelist", "code"], keep="first")
        # keep the package of the codelist head, so a term shared by two packages is not counted twice
        members = members.merge(
            heads[["code", "package"]].rename(columns={"code": "codelist", "package": "head"}), on="codelist"
        )
        members = members[members["package"] == members["head"]].drop(columns="head")
        self._terms = members.reset_index(drop=True)
        self._groups = {code: index for code, index in self._terms.groupby("codelist", sort=False).indices.items()}

    # ---- codelists -------------------------------------------------------------------------
    def _code(self, codelist: str) -> str:
        key = codelist[3:] if codelist.startswith("CL.") else codelist
        if key in self._by_name:
            return self._by_name[key]
        if _C_CODE.match(key) and key in self._heads.index:
            return key
        raise MetadataError(
            f"codelist {codelist!r} is not in the controlled terminology ({self.source}); "
            f"check the name (e.g. NY, SEX, C66742) or add it to specs/ct/subset.yaml "
            f"and rerun tools/extract_ct_subset.py, or give a full package with --ct"
        )

    def has_codelist(self, codelist: str) -> bool:
        try:
            self._code(codelist)
        except MetadataError:
            return False
        return True

    def is_external(self, codelist: str) -> bool:
        """True for an external dictionary (MedDRA, ISO 3166...) named in specs/ct/external.csv."""
        key = codelist[3:] if codelist.startswith("CL.") else codelist
        return key in self.external

    def codelist_names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def short_name(self, codelist: str) -> str:
        return self._heads.at[self._code(codelist), "value"]

    def is_extensible(self, codelist: str) -> bool:
        """Codelist Extensible = Yes: sponsors may add terms (SDTMIG 3.4 CT assumptions)."""
        return self._heads.at[self._code(codelist), "extensible"] == "Yes"

    def standard(self, codelist: str) -> Standard:
        """The CT package (def:Standard) a codelist comes from."""
        return self.standards[self._heads.at[self._code(codelist), "package"]]

    def _rows(self, code: str) -> pd.DataFrame:
        index = self._groups.get(code)
        return self._terms.iloc[index] if index is not None else self._terms.iloc[0:0]

    @cache
    def _lookup(self, code: str) -> dict[str, int]:
        rows = self._rows(code)
        return dict(zip(rows["value"], range(len(rows)), strict=False))

    @cache
    def codelist(self, codelist: str) -> CodeList:
        """The full codelist (every term, with its C-code), or an external dictionary's ExternalCodeList."""
        key = codelist[3:] if codelist.startswith("CL.") else codelist
        if key in self.external and key not in self._by_name:
            ext = self.external[key]
            return CodeList(oid=codelist_oid(key), name=ext.name, dictionary=ext.dictionary)
        code = self._code(codelist)
        head = self._heads.loc[code]
        rows = self._rows(code)
        items = tuple(
            CodeListItem(coded_value=value, c_code=c_code, order=order)
            for order, (value, c_code) in enumerate(zip(rows["value"], rows["code"], strict=False), start=1)
        )
        return CodeList(
            oid=codelist_oid(head["value"]),
            name=head["codelist_name"],
            c_code=code,
            extensible=head["extensible"] == "Yes",
            items=items,
            standard_oid=self.standards[head["package"]].oid,
        )

    def values(self, codelist: str) -> tuple[str, ...]:
        return tuple(self._rows(self._code(codelist))["value"])

    # ---- terms -----------------------------------------------------------------------------
    def term(self, codelist: str, value: str) -> CodeListItem | None:
        """The term whose submission value is exactly ``value`` (case-sensitive), or None."""
        code = self._code(codelist)
        position = self._lookup(code).get(value)
        if position is None:
            return None
        row = self._rows(code).iloc[position]
        return CodeListItem(coded_value=row["value"], c_code=row["code"], order=position + 1)

    def term_details(self, codelist: str, value: str) -> Term | None:
        """Synonyms, definition and NCI preferred term of a submission value, or None."""
        code = self._code(codelist)
        position = self._lookup(code).get(value)
        if position is None:
            return None
        row = self._rows(code).iloc[position]
        synonyms = tuple(part.strip() for part in row["synonyms"].split(";") if part.strip())
        return Term(
            c_code=row["code"],
            codelist_c_code=code,
            value=row["value"],
            synonyms=synonyms,
            definition=row["definition"],
            preferred_term=row["preferred"],
        )

    def paired_values(self, from_codelist: str, values: pd.Series, to_codelist: str) -> pd.Series:
        """Each value's paired term in another codelist, by shared C-code (missing where none).

        NCI CT gives a test code and its test name the same C-code (LBTESTCD INTLK8 and LBTEST
        "Interleukin 8" are both C74836), so --TEST follows from --TESTCD (SDTMIG 3.4: --TEST
        is the name of the test --TESTCD codes)."""
        source, target = self._rows(self._code(from_codelist)), self._rows(self._code(to_codelist))
        to_code = dict(zip(source["value"], source["code"], strict=False))
        to_value = dict(zip(target["code"], target["value"], strict=False))
        return values.map(to_code).map(to_value).astype(object)

    @cache
    def _recode_table(self, code: str) -> dict[str, str]:
        """Upper-cased raw text -> submission value: the value itself, each synonym, the preferred term.

        Earlier keys win, so an exact submission value is never shadowed by another term's synonym."""
        rows = self._rows(code)
        table: dict[str, str] = {}
        for value in rows["value"]:
            table.setdefault(value.upper(), value)
        for value, synonyms in zip(rows["value"], rows["synonyms"], strict=False):
            for synonym in synonyms.split(";"):
                if synonym.strip():
                    table.setdefault(synonym.strip().upper(), value)
        for value, preferred in zip(rows["value"], rows["preferred"], strict=False):
            if preferred:
                table.setdefault(preferred.upper(), value)
        return table

    def recode(self, codelist: str, raw: str | None, synonyms: Mapping[str, str] | None = None) -> str | None:
        """The submission value for raw collected text, or None when nothing matches.

        Tries ``synonyms`` (study-declared, exact), then, ignoring case and surrounding blanks, the
        submission value, the CDISC synonyms and the NCI preferred term: "Male" -> "M",
        "Intravenous" -> "INTRAVENOUS". Study abbreviations such as "IV" go in ``synonyms``."""
        if raw is None or (isinstance(raw, float) and raw != raw):
            return None
        result = self.recode_values(codelist, pd.Series([raw], dtype=object), synonyms).iloc[0]
        return None if pd.isna(result) else result

    def recode_values(self, codelist: str, raw: pd.Series, synonyms: Mapping[str, str] | None = None) -> pd.Series:
        """Vectorized :meth:`recode`: a Series of submission values (missing where nothing matched).

        Each distinct raw value is looked up once (pd.factorize), so millions of records cost one hash pass."""
        table = self._recode_table(self._code(codelist))
        codes, uniques = pd.factorize(raw)
        text = pd.Series(uniques, dtype=object).map(str)
        found = text.map(dict(synonyms)) if synonyms else pd.Series(None, index=text.index, dtype=object)
        found = found.where(found.notna(), text.str.strip().str.upper().map(table)).astype(object)
        values = np.append(found.to_numpy(dtype=object), [None])  # position -1: a missing raw value
        result = pd.Series(values[codes], index=raw.index, dtype=object)
        return result.where(result.notna(), None)

    def subset(
        self, codelist: str, values: Iterable[str], sponsor_extensions: Iterable[str] = (), strict: bool = False
    ) -> CodeList:
        """The codelist restricted to ``values`` (as define.xml lists it), with C-codes.

        Values not in CT are kept as sponsor extensions (``extended=True``, no C-code; Define-XML 2.1
        def:ExtendedValue) after the CT terms; a declared extension the data do not use is not listed.
        With ``strict``, a value not in CT that is not declared in ``sponsor_extensions``, or any
        extension of a non-extensible codelist, is an error."""
        full = self.codelist(codelist)
        if full.dictionary:
            return full
        wanted = {value for value in values if isinstance(value, str) and value != ""}
        declared = {value for value in sponsor_extensions if value}
        in_ct = [item for item in full.items if item.coded_value in wanted]
        known = {item.coded_value for item in in_ct}
        extra = sorted(wanted - known)
        if strict:
            undeclared = sorted(set(extra) - declared)
            if undeclared:
                raise MetadataError(
                    f"codelist {full.name} ({full.c_code}): {', '.join(undeclared)} not in CT "
                    f"{self.standard(codelist).version}; declare them as sponsor extensions"
                )
            if extra and not full.extensible:
                raise MetadataError(
                    f"codelist {full.name} ({full.c_code}) is not extensible; {', '.join(extra)} cannot be added"
                )
        items = [
            CodeListItem(coded_value=item.coded_value, c_code=item.c_code, order=index)
            for index, item in enumerate(in_ct, start=1)
        ]
        items += [
            CodeListItem(coded_value=value, extended=True, order=len(in_ct) + index)
            for index, value in enumerate(extra, start=1)
        ]
        return CodeList(
            oid=full.oid,
            name=full.name,
            data_type=full.data_type,
            c_code=full.c_code,
            extensible=full.extensible,
            items=tuple(items),
            standard_oid=full.standard_oid,
        )


# ---- loading ------------------------------------------------------------------------------
def subset_config(folder: Path | None = None) -> dict:
    """``specs/ct/subset.yaml``: the packages and codelists of the shipped subset."""
    path = (folder or spec_path(CT_FOLDER)) / SUBSET_CONFIG
    try:
        config = yaml.safe_load(read_spec_text(path))
    except yaml.YAMLError as error:
        raise SpecError(f"CT subset configuration is not valid YAML ({error})", Location(str(path))) from None
    if not isinstance(config, dict) or not isinstance(config.get("packages"), list):
        raise SpecError("CT subset configuration names no 'packages'", Location(str(path)))
    return config


def ct_standard(publishing_set: str, date: str) -> Standard:
    """def:Standard of a CT package, e.g. ``STD.CT.SDTM.2025-03-28`` (Name CDISC/NCI, Type CT)."""
    return Standard(
        oid=f"STD.CT.{publishing_set}.{date}", name="CDISC/NCI", version=date, type="CT", publishing_set=publishing_set
    )


def _external(folder: Path) -> list[ExternalDictionary]:
    path = folder / EXTERNAL_FILE
    lines = read_spec_text(path).splitlines()
    rows = csv.DictReader(line for line in lines if not line.startswith("#"))
    try:
        return [ExternalDictionary(row["short_name"], row["name"], row["dictionary"], row["href"]) for row in rows]
    except KeyError as error:
        raise SpecError(f"column {error} missing", Location(str(path), 1)) from None


def _package_date(path: Path, fallback: str) -> str:
    """The release date in a CT file's name ("SDTM Terminology 2025-03-28.txt"); a month-only name
    ("..._2025-03.txt.xz") takes the shipped package's day when the month matches."""
    match = _DATE.search(path.name)
    if not match:
        return fallback
    date = match.group(1)
    if len(date) == 7 and fallback.startswith(date):
        return fallback
    return date


def _file_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path.resolve()), stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=8)
def _load(full_sdtm: tuple[str, int, int] | None, folder: str) -> ControlledTerminology:
    base = Path(folder)
    config = subset_config(base)
    frames, standards = [], {}
    for package in config["packages"]:
        date = str(package["date"])
        if full_sdtm is not None and package["publishing_set"] == "SDTM":
            path = Path(full_sdtm[0])
            frame = read_nci_text(path)
            date = _package_date(path, date)
        else:
            try:
                frame = read_nci_text(base / package["file"])
            except MetadataError as error:  # the shipped subset itself: a broken install, never skipped
                raise SpecError(error.bare_message, error.location) from None
        standard = ct_standard(package["publishing_set"], date)
        standards[standard.oid] = standard
        frames.append(frame.assign(package=standard.oid))
    # A label, not a path: it is written into validation.json/.xlsx, which must not depend on where
    # sdtmify is installed or where the CT file was found.
    packages = ", ".join(f"{s.publishing_set} {s.version}" for s in standards.values())
    source = f"shipped subset: {packages}"
    if full_sdtm:
        source = f"{Path(full_sdtm[0]).name} with the shipped subset ({packages})"
    return ControlledTerminology(pd.concat(frames, ignore_index=True), standards, _external(base), source)


def load_ct(path: str | os.PathLike | None = None) -> ControlledTerminology:
    """The shipped CT subset, or with ``path`` a full NCI EVS SDTM CT text file (.txt or .txt.xz)
    in place of the SDTM part (the ADaM and Define-XML parts stay the shipped subsets). Cached."""
    folder = str(spec_path(CT_FOLDER))
    if path is None:
        return _load(None, folder)
    if not Path(path).is_file():
        raise MetadataError(
            "controlled terminology file not found; give an NCI EVS SDTM CT text file (.txt or .txt.xz) with --ct",
            Location(str(path)),
        )
    return _load(_file_key(Path(path)), folder)
