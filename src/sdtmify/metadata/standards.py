"""Dataset templates from the standards: SDTMIG 3.4 domains and ADaMIG 1.3 / OCCDS 1.1 / TTE classes.

The variable metadata lives as data in ``specs/sdtmig-3.4/*.csv`` and ``specs/adamig-1.3/*.csv``
(one row per variable, in the IG's order), so a change to the standard is a reviewable diff, not code.
A template carries every variable the IG defines for the dataset, with ``length`` 0: lengths come
from the data (see :mod:`sdtmify.metadata.conform`).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from functools import cache
from pathlib import Path

from ..errors import Location, MetadataError, SpecError
from ..resources import read_spec_text, spec_path
from .model import CORES, DATA_TYPES, SAS_TYPES, Dataset, Origin, Standard, Variable
from .oids import codelist_oid

SDTMIG = Standard(oid="STD.SDTMIG.3.4", name="SDTMIG", version="3.4", type="IG")
ADAMIG = Standard(oid="STD.ADaMIG.1.3", name="ADaMIG", version="1.3", type="IG")
ADAM_OCCDSIG = Standard(oid="STD.ADaM-OCCDSIG.1.1", name="ADaM-OCCDSIG", version="1.1", type="IG")
IG_STANDARDS = {(s.name, s.version): s for s in (SDTMIG, ADAMIG, ADAM_OCCDSIG)}

SDTM_FOLDER = "sdtmig-3.4"
ADAM_FOLDER = "adamig-1.3"
ADAM_CLASSES = ("ADSL", "BDS", "TTE", "OCCDS")
# Placeholders in the ADaM variables file: where copied ADSL / SDTM / time-to-event variables go.
_SLOT_ADSL, _SLOT_SDTM, _SLOT_TTE = "@ADSL", "@SDTM", "@TTE"
_SUPP = re.compile(r"^SUPP([A-Z]{2}[A-Z0-9]{0,2})$")


# The columns each spec CSV must have (a file cut short or edited by hand fails here, not later).
_COLUMNS = {
    (SDTM_FOLDER, "datasets.csv"): ("dataset", "label", "class", "structure", "keys", "repeating", "reference"),
    (SDTM_FOLDER, "variables.csv"): ("dataset", "variable", "label", "type", "data_type", "core", "role", "codelist"),
    (SDTM_FOLDER, "class-variables.csv"): ("class", "variable", "label", "type", "data_type", "core", "role"),
    (ADAM_FOLDER, "datasets.csv"): ("class", "define_class", "subclass", "standard", "version", "structure", "keys"),
    (ADAM_FOLDER, "variables.csv"): ("class", "variable", "label", "type", "data_type", "core", "codelist", "format"),
}


def _read_csv(path: Path) -> list[tuple[int, dict[str, str]]]:
    """Rows of a spec CSV with their 1-based file line numbers; ``#`` lines are comments.

    A missing or unreadable file, a missing column or a short row is a SpecError naming the file."""
    handle = io.StringIO(read_spec_text(path), newline="")
    lines = [(number, text) for number, text in enumerate(handle, start=1) if not text.startswith("#")]
    reader = csv.DictReader(text for _, text in lines)
    missing = [c for c in _COLUMNS.get((path.parent.name, path.name), ()) if c not in (reader.fieldnames or ())]
    if missing:
        where = Location(str(path), lines[0][0] if lines else 1)
        raise SpecError(f"standards metadata file has no column {', '.join(missing)}; reinstall sdtmify", where)
    rows = [(lines[index + 1][0], row) for index, row in enumerate(reader)]
    for line, row in rows:
        if None in row.values() or None in row:
            raise SpecError("row has a different number of fields than the header", Location(str(path), line))
    return rows


def _check_row(path: Path, line: int, row: dict[str, str]) -> None:
    """Refuse a spec row whose type/data_type/core is not one Define-XML 2.1 knows."""
    for column, allowed in (("type", SAS_TYPES), ("data_type", DATA_TYPES), ("core", CORES)):
        if row[column] not in allowed:
            raise SpecError(
                f"{row['variable']}: {column} {row[column]!r} is not one of {', '.join(allowed)}",
                Location(str(path), line, column),
            )


def _variable(row: dict[str, str], order: int) -> Variable:
    codelist = row.get("codelist") or None
    return Variable(
        name=row["variable"],
        label=row["label"],
        type=row["type"],
        length=0,
        data_type=row["data_type"],
        order=order,
        core=row["core"],
        role=row.get("role") or None,
        codelist=codelist_oid(codelist) if codelist else None,
        format=row.get("format") or "",
    )


@cache
def _sdtm_specs() -> tuple[dict[str, dict[str, str]], dict[str, tuple[Variable, ...]]]:
    folder = spec_path(SDTM_FOLDER)
    datasets = {row["dataset"]: row for _, row in _read_csv(folder / "datasets.csv")}
    variables: dict[str, list[Variable]] = {}
    path = folder / "variables.csv"
    for line, row in _read_csv(path):
        _check_row(path, line, row)
        if row["dataset"] not in datasets:
            raise SpecError(f"dataset {row['dataset']} is not in datasets.csv", Location(str(path), line, "dataset"))
        members = variables.setdefault(row["dataset"], [])
        members.append(_variable(row, len(members) + 1))
    return datasets, {name: tuple(members) for name, members in variables.items()}


@cache
def _adam_specs() -> tuple[dict[str, dict[str, str]], dict[str, tuple[dict[str, str], ...]]]:
    folder = spec_path(ADAM_FOLDER)
    classes = {row["class"]: row for _, row in _read_csv(folder / "datasets.csv")}
    rows: dict[str, list[dict[str, str]]] = {}
    path = folder / "variables.csv"
    for line, row in _read_csv(path):
        if not row["variable"].startswith("@"):
            _check_row(path, line, row)
        if row["class"] not in classes:
            raise SpecError(f"class {row['class']} is not in datasets.csv", Location(str(path), line, "class"))
        rows.setdefault(row["class"], []).append(row)
    return classes, {name: tuple(members) for name, members in rows.items()}


def sdtm_domains() -> tuple[str, ...]:
    """The SDTMIG 3.4 datasets with shipped metadata (``SUPPQUAL`` stands for every SUPP--)."""
    return tuple(_sdtm_specs()[0])


def _keyed(variables: tuple[Variable, ...], keys: tuple[str, ...]) -> tuple[Variable, ...]:
    """Variables with ``key_sequence`` set from the dataset's natural keys (Define-XML ItemRef/@KeySequence)."""
    position = {name: index for index, name in enumerate(keys, start=1)}
    return tuple(replace(var, key_sequence=position.get(var.name)) for var in variables)


def sdtm_dataset(domain: str) -> Dataset:
    """The SDTMIG 3.4 template of ``domain``: every variable of the IG's domain specification.

    ``SUPPAE``, ``SUPPDM``... give the SUPPQUAL template named for its parent domain
    (SDTMIG 3.4 section 8.4: one SUPP-- dataset per parent domain)."""
    name = domain.upper()
    datasets, variables = _sdtm_specs()
    parent = None
    spec_name = name
    match = _SUPP.match(name)
    if match and name not in datasets:
        spec_name, parent = "SUPPQUAL", match.group(1)
    if spec_name not in datasets:
        known = ", ".join(sorted(datasets))
        raise MetadataError(f"SDTMIG 3.4 metadata has no domain {domain!r}; known: {known} and SUPP--")
    row = datasets[spec_name]
    keys = tuple(row["keys"].split())
    label = row["label"].format(domain=parent or name)
    return Dataset(
        name=name,
        label=label,
        purpose="Tabulation",
        standard_oid=SDTMIG.oid,
        class_=row["class"],
        structure=row["structure"],
        domain=parent if parent else name,
        repeating=row["repeating"] == "Yes",
        is_reference=row["reference"] == "Yes",
        keys=keys,
        variables=_keyed(variables[spec_name], keys),
        leaf=f"{name.lower()}.xpt",
    )


@cache
def _class_variables() -> dict[str, tuple[Variable, ...]]:
    """SDTM v2.0 class variables a sponsor may add to a domain of that class (``class-variables.csv``)."""
    path = spec_path(SDTM_FOLDER) / "class-variables.csv"
    found: dict[str, list[Variable]] = {}
    for line, row in _read_csv(path):
        _check_row(path, line, row)
        if not row["variable"].startswith("--"):
            raise SpecError(
                f"{row['variable']}: a class variable is written with the '--' prefix",
                Location(str(path), line, "variable"),
            )
        found.setdefault(row["class"].upper(), []).append(_variable(row, 0))
    return {cls: tuple(members) for cls, members in found.items()}


def with_class_variables(template: Dataset, names) -> Dataset:
    """``template`` plus those of ``names`` that are variables of its general observation class.

    SDTMIG 3.4 section 2.5 (and e.g. LB assumption 5) lets a sponsor add any Identifier, Timing or
    qualifier variable of the domain's SDTM class to a domain whose specification does not list it
    (e.g. LBLLOQ from the Findings qualifier --LLOQ). Such a variable stays standard (no SUPP--),
    is Permissible, and is placed after the domain's qualifiers, before its first Timing variable,
    as the model orders the class qualifiers. Names that are not class variables are left out:
    the caller reports them."""
    prefix = template.domain or template.name
    known = {var.name for var in template.variables}
    members = {var.name.replace("--", prefix, 1): var for var in _class_variables().get(template.class_.upper(), ())}
    added = [
        replace(members[name], name=name, core="Perm") for name in members if name in set(names) and name not in known
    ]
    if not added:
        return template
    variables = list(template.variables)
    timing = next((index for index, var in enumerate(variables) if var.role == "Timing"), len(variables))
    variables[timing:timing] = added
    ordered = tuple(replace(var, order=index) for index, var in enumerate(variables, start=1))
    return replace(template, variables=ordered)


def _adam_class(cls: str) -> str:
    key = cls.upper().replace("-", "").replace(" ", "")
    aliases = {
        "ADSL": "ADSL",
        "SUBJECTLEVELANALYSISDATASET": "ADSL",
        "BDS": "BDS",
        "BASICDATASTRUCTURE": "BDS",
        "TTE": "TTE",
        "TIMETOEVENT": "TTE",
        "OCCDS": "OCCDS",
        "OCCURRENCEDATASTRUCTURE": "OCCDS",
    }
    if key not in aliases:
        raise MetadataError(f"ADaM class {cls!r} is not one of {', '.join(ADAM_CLASSES)}")
    return aliases[key]


def _predecessors(variables: tuple[Variable, ...], source: str, skip: set[str]) -> list[Variable]:
    """Variables copied from ``source`` (ADSL or an SDTM domain): optional, origin Predecessor."""
    return [
        replace(
            var, core="Perm", key_sequence=None, origin=Origin(type="Predecessor", description=f"{source}.{var.name}")
        )
        for var in variables
        if var.name not in skip
    ]


def _default_adam_label(name: str, cls: str) -> str:
    if cls == "ADSL":
        return "Subject-Level Analysis Dataset"
    if cls == "TTE":
        return "Time-to-Event Analysis Dataset"
    datasets = _sdtm_specs()[0]
    domain = name[2:]
    if name.startswith("AD") and domain in datasets:
        label = f"{datasets[domain]['label']} Analysis Dataset"
        if len(label) <= 40:
            return label
    return f"{name} Analysis Dataset"


def adam_dataset(name: str, cls: str, label: str | None = None) -> Dataset:
    """The ADaM template of dataset ``name`` of class ``cls`` (ADSL, BDS, TTE, OCCDS).

    ADaMIG 1.3: ADSL has the subject-level variables; BDS (and its TIME-TO-EVENT subclass,
    ADaM BDS for TTE) and OCCDS (ADaM OCCDS 1.1) datasets may carry any ADSL variable, and an OCCDS
    dataset named AD + an SDTM domain (ADAE) may carry that domain's variables; those copies are
    Permissible with origin Predecessor. Variables outside the template are sponsor-defined."""
    kind = _adam_class(cls)
    classes, rows = _adam_specs()
    name = name.upper()
    spec = classes[kind]
    body_class = "BDS" if kind == "TTE" else kind

    def own(rows_of: str) -> list[Variable]:
        return [_variable(row, 0) for row in rows[rows_of] if not row["variable"].startswith("@")]

    adsl = tuple(own("ADSL"))
    variables: list[Variable] = list(adsl) if kind == "ADSL" else []
    for row in rows[body_class] if kind != "ADSL" else ():
        slot = row["variable"]
        if slot == _SLOT_ADSL:
            taken = {var.name for var in variables} | {r["variable"] for r in rows[body_class]}
            variables += _predecessors(adsl, "ADSL", taken)
        elif slot == _SLOT_TTE:
            if kind == "TTE":
                variables += own("TTE")
        elif slot == _SLOT_SDTM:
            domain = name[2:]
            if name.startswith("AD") and domain in _sdtm_specs()[1]:
                taken = {var.name for var in variables} | {"DOMAIN"}
                variables += _predecessors(sdtm_dataset(domain).variables, domain, taken)
        else:
            variables.append(_variable(row, 0))
    first: dict[str, Variable] = {}
    for var in variables:
        first.setdefault(var.name, var)  # the first of a repeated name wins, in order
    unique = list(first.values())
    keys = tuple(spec["keys"].split())
    ordered = tuple(replace(var, order=index) for index, var in enumerate(unique, start=1))
    standard = IG_STANDARDS[(spec["standard"], spec["version"])]
    return Dataset(
        name=name,
        label=label or _default_adam_label(name, kind),
        purpose="Analysis",
        standard_oid=standard.oid,
        class_=spec["define_class"],
        subclass=spec["subclass"] or None,
        structure=spec["structure"],
        domain=None,
        repeating=spec["repeating"] == "Yes",
        is_reference=False,
        keys=keys,
        variables=_keyed(ordered, keys),
        leaf=f"{name.lower()}.xpt",
    )


_DIGITS = re.compile(r"\d+")


def numbered_variable(dataset: Dataset, name: str) -> Variable | None:
    """Another member of an ADaMIG numbered family (TRTxxP, AGEGRy, ANLzzFL, CRITy...) of the template.

    ADaMIG 1.3 names such variables with an index that the study chooses: TRT02P is "Planned
    Treatment for Period 02" as TRT01P is "... Period 01", so the template's member gives the label,
    type and codelist, with the index in the label changed to match. None when no family matches."""
    digits = _DIGITS.findall(name)
    if len(digits) != 1:
        return None
    shape = _DIGITS.sub("#", name)
    for var in dataset.variables:
        own = _DIGITS.findall(var.name)
        if len(own) != 1 or _DIGITS.sub("#", var.name) != shape or len(own[0]) != len(digits[0]):
            continue
        label = var.label
        if label.count(own[0]) == 1:
            label = label.replace(own[0], digits[0])
        elif var.label == label:
            label = f"{label} {digits[0]}"[:40]
        return replace(
            var, name=name, label=label, core="Perm" if var.core == "Req" else var.core, key_sequence=None, origin=None
        )
    return None
