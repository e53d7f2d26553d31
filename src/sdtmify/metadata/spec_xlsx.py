"""The study's metadata as an Excel specification in the layout Pinnacle 21 users know, and back.

``sdtmify spec export --study S --out spec.xlsx`` writes one workbook with both standards (a
``Model`` column says SDTM or ADaM where ids could collide): sheets Study, Standards, Datasets,
Variables, ValueLevel, WhereClauses, Codelists, Dictionaries, Methods, Comments, Documents.

``sdtmify spec import spec.xlsx --study S`` reads it back into ``mappings/S/spec/sdtm.json`` and
``adam.json`` (the StudyMetadata JSON of ``metadata.serialize``, the same format as the build's
``output/S/metadata/*.json``): the study's declared metadata, versioned with its mappings. The
engines apply it over what they derive (``mapping.engine.apply_study_spec``, by
:func:`sdtmify.metadata.conform.apply_declared_metadata`).

Export reads ``mappings/S/spec/<model>.json`` when the study has one, else the last build's
``output/S/metadata/<model>.json``. Export, import, export gives the same workbook contents, and
the same bytes (fixed timestamps inside the zip).

Errors name the workbook, sheet, row and column: ``spec.xlsx[Variables]:12 column B 'Dataset':
dataset 'AEX' is not on the Datasets sheet``."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, overload

from ..atomic import write_bytes
from ..errors import Location, MetadataError
from ..paths import output_dir, study_dir
from . import model, oids, serialize
from .model import (
    CodeList,
    CodeListItem,
    Comment,
    Condition,
    Dataset,
    Document,
    Method,
    Origin,
    Standard,
    StudyMetadata,
    ValueLevel,
    Variable,
)

MODELS = ("SDTM", "ADaM")
FIXED_TIME = (2000, 1, 1, 0, 0, 0)

# Sheet -> columns, in the order written. The first columns follow Pinnacle 21's specification
# template; the ones after them keep what Define-XML 2.1 needs for an exact round trip.
SHEETS: dict[str, tuple[str, ...]] = {
    "Study": ("Model", "Attribute", "Value"),
    "Standards": ("Model", "ID", "Name", "Type", "Publishing Set", "Version", "Status"),
    "Datasets": (
        "Model",
        "Dataset",
        "Description",
        "Class",
        "SubClass",
        "Structure",
        "Purpose",
        "Key Variables",
        "Standard",
        "Repeating",
        "Reference Data",
        "Comment",
        "Domain",
        "Location",
    ),
    "Variables": (
        "Order",
        "Dataset",
        "Variable",
        "Label",
        "Data Type",
        "Length",
        "Significant Digits",
        "Format",
        "Mandatory",
        "Codelist",
        "Origin",
        "Source",
        "Pages",
        "Method",
        "Predecessor",
        "Role",
        "Comment",
        "Core",
        "SAS Type",
        "Informat",
        "Key Sequence",
        "Document",
    ),
    "ValueLevel": (
        "Order",
        "Dataset",
        "Variable",
        "Where Clause",
        "Description",
        "Data Type",
        "Length",
        "Significant Digits",
        "Format",
        "Mandatory",
        "Codelist",
        "Origin",
        "Source",
        "Pages",
        "Method",
        "Predecessor",
        "Comment",
        "Document",
    ),
    "WhereClauses": ("ID", "Dataset", "Variable", "Comparator", "Value", "Comment"),
    "Codelists": (
        "Model",
        "ID",
        "Name",
        "NCI Codelist Code",
        "Data Type",
        "Terminology",
        "Extensible",
        "Sponsor Defined",
        "Order",
        "Term",
        "NCI Term Code",
        "Decoded Value",
        "Extended Value",
    ),
    "Dictionaries": ("Model", "ID", "Name", "Data Type", "Dictionary", "Version"),
    "Methods": ("Model", "ID", "Name", "Type", "Description", "Expression Context", "Expression Code", "Document"),
    "Comments": ("Model", "ID", "Description", "Document"),
    "Documents": ("Model", "ID", "Title", "Href"),
}
STUDY_ATTRIBUTES = ("StudyOID", "StudyName", "StudyDescription", "ProtocolName")


# ---------------------------------------------------------------------------------------------
# Metadata -> rows.


def _yes(flag: bool) -> str:
    return "Yes" if flag else "No"


def _origin_cells(origin: Origin | None) -> dict:
    if origin is None:
        return {}
    return {
        "Origin": origin.type,
        "Source": origin.source,
        "Pages": origin.pages,
        "Predecessor": origin.description,
        "Document": origin.document,
    }


def _where_id(dataset: str, conditions) -> str:
    return oids.where_oid(dataset, conditions)


def metadata_rows(metadatas: dict[str, StudyMetadata]) -> dict[str, list[dict]]:
    """Sheet -> rows (dicts by column name) for the SDTM and ADaM metadata."""
    rows: dict[str, list[dict]] = {sheet: [] for sheet in SHEETS}
    for model_name, md in metadatas.items():
        m = {"Model": model_name}
        values = dict(
            zip(STUDY_ATTRIBUTES, (md.study_oid, md.study_name, md.description, md.protocol_name), strict=False)
        )
        rows["Study"] += [{**m, "Attribute": key, "Value": value} for key, value in values.items()]
        for std in md.standards:
            rows["Standards"].append(
                {
                    **m,
                    "ID": std.oid,
                    "Name": std.name,
                    "Type": std.type,
                    "Publishing Set": std.publishing_set,
                    "Version": std.version,
                    "Status": std.status,
                }
            )
        seen_clauses = set()
        for ds in md.datasets:
            rows["Datasets"].append(
                {
                    **m,
                    "Dataset": ds.name,
                    "Description": ds.label,
                    "Class": ds.class_,
                    "SubClass": ds.subclass,
                    "Structure": ds.structure,
                    "Purpose": ds.purpose,
                    "Key Variables": ", ".join(ds.keys),
                    "Standard": ds.standard_oid,
                    "Repeating": _yes(ds.repeating),
                    "Reference Data": _yes(ds.is_reference),
                    "Comment": ds.comment,
                    "Domain": ds.domain,
                    "Location": ds.leaf,
                }
            )
            for var in ds.variables:
                rows["Variables"].append(
                    {
                        "Order": var.order,
                        "Dataset": ds.name,
                        "Variable": var.name,
                        "Label": var.label,
                        "Data Type": var.data_type,
                        "Length": var.length,
                        "Significant Digits": var.significant_digits,
                        "Format": var.format,
                        "Mandatory": _yes(var.mandatory),
                        "Codelist": var.codelist,
                        **_origin_cells(var.origin),
                        "Method": var.method,
                        "Role": var.role,
                        "Comment": var.comment,
                        "Core": var.core,
                        "SAS Type": var.type,
                        "Informat": var.informat,
                        "Key Sequence": var.key_sequence,
                    }
                )
                for order, vlm in enumerate(var.value_levels, start=1):
                    clause = _where_id(ds.name, vlm.where)
                    rows["ValueLevel"].append(
                        {
                            "Order": order,
                            "Dataset": ds.name,
                            "Variable": var.name,
                            "Where Clause": clause,
                            "Description": vlm.label,
                            "Data Type": vlm.data_type,
                            "Length": vlm.length,
                            "Significant Digits": vlm.significant_digits,
                            "Format": vlm.format,
                            "Mandatory": _yes(vlm.mandatory),
                            "Codelist": vlm.codelist,
                            **_origin_cells(vlm.origin),
                            "Method": vlm.method,
                            "Comment": vlm.comment,
                        }
                    )
                    if clause in seen_clauses:
                        continue
                    seen_clauses.add(clause)
                    for cond in vlm.where:
                        for value in cond.values:
                            rows["WhereClauses"].append(
                                {
                                    "ID": clause,
                                    "Dataset": cond.dataset,
                                    "Variable": cond.variable,
                                    "Comparator": cond.comparator,
                                    "Value": value,
                                }
                            )
        for cl in md.codelists:
            if cl.dictionary:
                rows["Dictionaries"].append(
                    {
                        **m,
                        "ID": cl.oid,
                        "Name": cl.name,
                        "Data Type": cl.data_type,
                        "Dictionary": cl.dictionary,
                        "Version": cl.dictionary_version,
                    }
                )
                continue
            head = {
                **m,
                "ID": cl.oid,
                "Name": cl.name,
                "NCI Codelist Code": cl.c_code,
                "Data Type": cl.data_type,
                "Terminology": cl.standard_oid,
                "Extensible": _yes(cl.extensible),
                "Sponsor Defined": _yes(cl.sponsor_defined),
            }
            if not cl.items:
                rows["Codelists"].append(head)
            for item in cl.items:
                rows["Codelists"].append(
                    {
                        **head,
                        "Order": item.order,
                        "Term": item.coded_value,
                        "NCI Term Code": item.c_code,
                        "Decoded Value": item.decode,
                        "Extended Value": "Yes" if item.extended else None,
                    }
                )
        for method in md.methods:
            rows["Methods"].append(
                {
                    **m,
                    "ID": method.oid,
                    "Name": method.name,
                    "Type": method.type,
                    "Description": method.description,
                    "Expression Context": method.expression_context,
                    "Expression Code": method.expression,
                    "Document": method.document,
                }
            )
        for comment in md.comments:
            rows["Comments"].append(
                {**m, "ID": comment.oid, "Description": comment.description, "Document": comment.document}
            )
        for doc in md.documents:
            rows["Documents"].append({**m, "ID": doc.oid, "Title": doc.title, "Href": doc.href})
    return rows


# ---------------------------------------------------------------------------------------------
# Rows -> workbook bytes.


def workbook_bytes(rows: dict[str, list[dict]]) -> bytes:
    """An .xlsx with one sheet per entry of SHEETS; same rows give the same bytes."""
    # openpyxl (about half a second to import) loads only when a workbook is written or read
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE5EE")
    for sheet, columns in SHEETS.items():
        ws = wb.create_sheet(sheet)
        ws.append(list(columns))
        for cell in ws[1]:
            cell.font, cell.fill = bold, fill
        widths = [len(c) for c in columns]
        for row in rows.get(sheet, []):
            values = [row.get(column) for column in columns]
            values = [None if v == "" else v for v in values]
            ws.append(values)
            widths = [
                max(w, min(60, len(str(v)) if v is not None else 0)) for w, v in zip(widths, values, strict=False)
            ]
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width + 2
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(1, ws.max_row)}"
    fixed = dt.datetime(*FIXED_TIME)
    wb.properties.created = wb.properties.modified = fixed
    wb.properties.creator = wb.properties.lastModifiedBy = "sdtmify"
    buffer = io.BytesIO()
    wb.save(buffer)
    return _fixed_zip_times(buffer.getvalue())


_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def _fixed_zip_times(data: bytes) -> bytes:
    """Rewrite the zip with one fixed timestamp per member, and fixed document times (openpyxl stamps
    ``modified`` with the clock when saving), so the bytes depend on the content only."""
    stamp = "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format(*FIXED_TIME)
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _CORE_TIMES.sub(rb"\g<1>" + stamp.encode() + rb"\g<2>", content)
            member = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            target.writestr(member, content)
    return out.getvalue()


def write_workbook(metadatas: dict[str, StudyMetadata], out_path: Path) -> Path:
    write_bytes(out_path, workbook_bytes(metadata_rows(metadatas)))
    return Path(out_path)


# ---------------------------------------------------------------------------------------------
# Workbook -> rows -> metadata.


@dataclass
class Row:
    """One worksheet row, with where it came from for messages."""

    file: str
    sheet: str
    number: int
    columns: dict[str, int]  # header -> 1-based column index
    values: dict[str, object]

    def error(self, column: str, message: str) -> MetadataError:
        from openpyxl.utils import get_column_letter  # loaded only with a workbook, as above

        index = self.columns.get(column)
        field = f"column {get_column_letter(index)} '{column}'" if index else f"'{column}'"
        return MetadataError(message, Location(f"{self.file}[{self.sheet}]", self.number, field))

    @overload
    def text(self, column: str, required: Literal[True]) -> str: ...
    @overload
    def text(self, column: str, required: bool = False) -> str | None: ...
    def text(self, column: str, required: bool = False) -> str | None:
        value = self.values.get(column)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = None if value is None else str(value).strip()
        if not text:
            if required:
                raise self.error(column, f"'{column}' is empty; fill it in")
            return None
        return text

    def integer(self, column: str, required: bool = False) -> int | None:
        text = self.text(column, required)
        if text is None:
            return None
        try:
            return int(float(text))
        except ValueError:
            raise self.error(column, f"'{column}' should be a whole number, not {text!r}") from None

    @overload
    def choice(self, column: str, choices: Sequence[str], default: str, required: bool = False) -> str: ...
    @overload
    def choice(self, column: str, choices: Sequence[str], *, required: Literal[True]) -> str: ...
    @overload
    def choice(
        self, column: str, choices: Sequence[str], default: str | None = None, required: bool = False
    ) -> str | None: ...
    def choice(
        self, column: str, choices: Sequence[str], default: str | None = None, required: bool = False
    ) -> str | None:
        text = self.text(column, required)
        if text is None:
            return default
        if text not in choices:
            raise self.error(column, f"{text!r} is not one of: {', '.join(choices)}")
        return text

    def flag(self, column: str, default: bool = False) -> bool:
        return self.choice(column, ("Yes", "No"), default=_yes(default)) == "Yes"


def read_rows(path: Path) -> dict[str, list[Row]]:
    """Every sheet's rows, checking that each sheet and column the layout needs is there."""
    from openpyxl import load_workbook  # loaded only with a workbook (see workbook_bytes)

    file = Path(path).name
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException alike
        raise MetadataError(f"cannot be read as an .xlsx workbook ({exc})", Location(file)) from None
    found = {}
    try:
        for sheet, columns in SHEETS.items():
            if sheet not in wb.sheetnames:
                raise MetadataError(
                    f"sheet '{sheet}' is missing; a spec workbook has the sheets "
                    f"{', '.join(SHEETS)} (start from `sdtmify spec export`)",
                    Location(file),
                )
            cells = wb[sheet].iter_rows(values_only=True)
            header = next(cells, ())
            index = {str(h).strip(): i for i, h in enumerate(header, start=1) if h is not None}
            for column in columns:
                if column not in index:
                    raise MetadataError(
                        f"column '{column}' is missing from the header row", Location(f"{file}[{sheet}]", 1)
                    )
            rows = []
            for number, values in enumerate(cells, start=2):
                if values is None or all(v is None or str(v).strip() == "" for v in values):
                    continue
                named = {column: values[i - 1] if i - 1 < len(values) else None for column, i in index.items()}
                rows.append(Row(file, sheet, number, index, named))
            found[sheet] = rows
    finally:
        wb.close()
    return found


def _model_of(row: Row) -> str:
    return row.choice("Model", MODELS, required=True)


def _origin(row: Row) -> Origin | None:
    kind = row.choice("Origin", model.ORIGIN_TYPES)
    if kind is None:
        for column in ("Source", "Pages", "Predecessor", "Document"):
            if row.text(column):
                raise row.error(
                    "Origin",
                    f"'Origin' is empty but '{column}' is filled in; give the origin type "
                    f"({', '.join(model.ORIGIN_TYPES)})",
                )
        return None
    return Origin(
        type=kind,
        source=row.choice("Source", ("Investigator", "Sponsor", "Subject", "Vendor")),
        description=row.text("Predecessor"),
        document=row.text("Document"),
        pages=row.text("Pages"),
    )


def metadata_from_rows(sheets: dict[str, list[Row]]) -> dict[str, StudyMetadata]:
    """Rebuild each model's StudyMetadata from the sheets, checking every cross-reference."""
    out: dict[str, dict] = {}

    def part(model_name: str) -> dict:
        return out.setdefault(
            model_name,
            {
                "study": {},
                "standards": [],
                "datasets": {},
                "codelists": {},
                "methods": [],
                "comments": [],
                "documents": [],
            },
        )

    for row in sheets["Study"]:
        attribute = row.choice("Attribute", STUDY_ATTRIBUTES, required=True)
        part(_model_of(row))["study"][attribute] = row.text("Value") or ""
    for row in sheets["Standards"]:
        part(_model_of(row))["standards"].append(
            Standard(
                oid=row.text("ID", True),
                name=row.text("Name", True),
                version=row.text("Version", True),
                type=row.choice("Type", ("IG", "CT"), default="IG"),
                publishing_set=row.text("Publishing Set"),
                status=row.text("Status") or "Final",
            )
        )
    owner: dict[str, tuple[str, Row]] = {}
    for row in sheets["Datasets"]:
        model_name, name = _model_of(row), row.text("Dataset", True)
        if name in owner:
            raise row.error("Dataset", f"dataset {name} is listed twice (first at row {owner[name][1].number})")
        owner[name] = (model_name, row)
        part(model_name)["datasets"][name] = {"row": row, "variables": {}}

    def dataset_of(row: Row) -> dict:
        name = row.text("Dataset", True)
        if name not in owner:
            raise row.error("Dataset", f"dataset {name!r} is not on the Datasets sheet; add it there first")
        return part(owner[name][0])["datasets"][name]

    for row in sheets["Variables"]:
        entry = dataset_of(row)
        name = row.text("Variable", True)
        if name in entry["variables"]:
            first = entry["variables"][name]["row"].number
            raise row.error("Variable", f"variable {row.text('Dataset')}.{name} is listed twice (first at row {first})")
        entry["variables"][name] = {"row": row, "value_levels": []}

    clauses: dict[str, list] = {}
    for row in sheets["WhereClauses"]:
        # Dataset is blank when the condition tests the value list's own dataset.
        if row.text("Dataset") is not None:
            dataset_of(row)
        conditions = clauses.setdefault(row.text("ID", True), [])
        variable, comparator = row.text("Variable", True), row.choice("Comparator", ("EQ", "NE", "IN", "NOTIN"), "EQ")
        dataset = row.text("Dataset")
        same = [c for c in conditions if (c[0], c[1], c[2]) == (dataset, variable, comparator)]
        if same:
            same[0][3].append(row.text("Value") or "")
        else:
            conditions.append((dataset, variable, comparator, [row.text("Value") or ""]))

    for row in sheets["ValueLevel"]:
        entry = dataset_of(row)
        variable = row.text("Variable", True)
        if variable not in entry["variables"]:
            raise row.error("Variable", f"{row.text('Dataset')}.{variable} is not on the Variables sheet")
        clause = row.text("Where Clause", True)
        if clause not in clauses:
            raise row.error("Where Clause", f"where clause {clause!r} is not on the WhereClauses sheet")
        entry["variables"][variable]["value_levels"].append((row, clause))

    for row in sheets["Codelists"]:
        p = part(_model_of(row))
        oid = row.text("ID", True)
        cl = p["codelists"].setdefault(oid, {"row": row, "items": []})
        term = row.text("Term")
        if term is not None:
            cl["items"].append(
                CodeListItem(
                    coded_value=term,
                    decode=row.text("Decoded Value"),
                    c_code=row.text("NCI Term Code"),
                    extended=row.choice("Extended Value", ("Yes",)) == "Yes",
                    order=row.integer("Order"),
                )
            )
    for row in sheets["Dictionaries"]:
        p = part(_model_of(row))
        oid = row.text("ID", True)
        if oid in p["codelists"]:
            raise row.error("ID", f"{oid} is both a codelist and a dictionary")
        p["codelists"][oid] = {"row": row, "dictionary": True}
    for row in sheets["Methods"]:
        part(_model_of(row))["methods"].append(
            Method(
                # An empty description is kept as stated (define_check reports it), so the round trip stays exact.
                oid=row.text("ID", True),
                name=row.text("Name", True),
                description=row.text("Description") or "",
                type=row.choice("Type", ("Computation", "Imputation"), "Computation"),
                expression=row.text("Expression Code"),
                expression_context=row.text("Expression Context"),
                document=row.text("Document"),
            )
        )
    for row in sheets["Comments"]:
        part(_model_of(row))["comments"].append(
            Comment(oid=row.text("ID", True), description=row.text("Description", True), document=row.text("Document"))
        )
    for row in sheets["Documents"]:
        part(_model_of(row))["documents"].append(
            Document(oid=row.text("ID", True), title=row.text("Title", True), href=row.text("Href", True))
        )

    result = {}
    for model_name in MODELS:
        if model_name in out:
            result[model_name] = _assemble(out[model_name], clauses)
    return result


def _condition_tuple(clauses, clause_id, parent: str) -> tuple[Condition, ...]:
    return tuple(
        Condition(variable=variable, values=tuple(values), comparator=comparator, dataset=dataset)
        for dataset, variable, comparator, values in clauses[clause_id]
    )


def _assemble(p: dict, clauses) -> StudyMetadata:
    codelists = []
    for oid, cl in p["codelists"].items():
        row = cl["row"]
        if cl.get("dictionary"):
            codelists.append(
                CodeList(
                    oid=oid,
                    name=row.text("Name", True),
                    data_type=row.text("Data Type") or "text",
                    dictionary=row.text("Dictionary", True),
                    dictionary_version=row.text("Version"),
                )
            )
        else:
            codelists.append(
                CodeList(
                    oid=oid,
                    name=row.text("Name", True),
                    data_type=row.text("Data Type") or "text",
                    c_code=row.text("NCI Codelist Code"),
                    extensible=row.flag("Extensible"),
                    items=tuple(cl["items"]),
                    standard_oid=row.text("Terminology"),
                    sponsor_defined=row.flag("Sponsor Defined"),
                )
            )
    known = {
        "Codelist": {cl.oid for cl in codelists},
        "Method": {m.oid for m in p["methods"]},
        "Comment": {c.oid for c in p["comments"]},
        "Document": {d.oid for d in p["documents"]},
        "Standard": {s.oid for s in p["standards"]},
    }

    def ref(row: Row, column: str, kind: str | None = None) -> str | None:
        value = row.text(column)
        kind = kind or column
        if value is not None and value not in known[kind]:
            sheet = {"Codelist": "Codelists or Dictionaries", "Standard": "Standards"}.get(kind, f"{kind}s")
            raise row.error(column, f"{kind.lower()} {value!r} is not on the {sheet} sheet of this model")
        return value

    datasets = []
    for name, entry in p["datasets"].items():
        row = entry["row"]
        variables = []
        for var_name, v in entry["variables"].items():
            vrow = v["row"]
            value_levels = []
            for vl_row, clause in v["value_levels"]:
                value_levels.append(
                    ValueLevel(
                        where=_condition_tuple(clauses, clause, name),
                        name=var_name,
                        label=vl_row.text("Description", True),
                        data_type=vl_row.choice("Data Type", model.DATA_TYPES, required=True),
                        length=vl_row.integer("Length"),
                        significant_digits=vl_row.integer("Significant Digits"),
                        codelist=ref(vl_row, "Codelist"),
                        origin=_origin(vl_row),
                        method=ref(vl_row, "Method"),
                        mandatory=vl_row.flag("Mandatory"),
                        format=vl_row.text("Format") or "",
                        comment=ref(vl_row, "Comment"),
                    )
                )
                ref(vl_row, "Document")
            ref(vrow, "Document")
            mandatory = vrow.flag("Mandatory")
            variables.append(
                Variable(
                    name=var_name,
                    label=vrow.text("Label", True),
                    type=vrow.choice("SAS Type", model.SAS_TYPES, required=True),
                    length=vrow.integer("Length", True),
                    data_type=vrow.choice("Data Type", model.DATA_TYPES, required=True),
                    order=vrow.integer("Order", True),
                    core=vrow.choice("Core", model.CORES, default="Req" if mandatory else "Perm"),
                    role=vrow.text("Role"),
                    codelist=ref(vrow, "Codelist"),
                    origin=_origin(vrow),
                    method=ref(vrow, "Method"),
                    format=vrow.text("Format") or "",
                    informat=vrow.text("Informat") or "",
                    significant_digits=vrow.integer("Significant Digits"),
                    key_sequence=vrow.integer("Key Sequence"),
                    comment=ref(vrow, "Comment"),
                    value_levels=tuple(value_levels),
                )
            )
        keys = tuple(k.strip() for k in (row.text("Key Variables") or "").split(",") if k.strip())
        for key in keys:
            if key not in entry["variables"]:
                raise row.error("Key Variables", f"key variable {key!r} of {name} is not on the Variables sheet")
        datasets.append(
            Dataset(
                name=name,
                label=row.text("Description", True),
                purpose=row.text("Purpose") or "",
                standard_oid=ref(row, "Standard"),
                class_=row.text("Class") or "",
                subclass=row.text("SubClass"),
                structure=row.text("Structure") or "",
                domain=row.text("Domain"),
                repeating=row.flag("Repeating", True),
                is_reference=row.flag("Reference Data"),
                keys=keys,
                variables=tuple(variables),
                comment=ref(row, "Comment"),
                leaf=row.text("Location"),
            )
        )
    for comment in p["comments"]:
        if comment.document and comment.document not in known["Document"]:
            raise MetadataError(
                f"comment {comment.oid} names document {comment.document!r}, which is not on the Documents sheet"
            )
    study = p["study"]
    return StudyMetadata(
        study_oid=study.get("StudyOID", ""),
        study_name=study.get("StudyName", ""),
        description=study.get("StudyDescription", ""),
        protocol_name=study.get("ProtocolName", ""),
        standards=tuple(p["standards"]),
        datasets=tuple(datasets),
        codelists=tuple(codelists),
        methods=tuple(p["methods"]),
        comments=tuple(p["comments"]),
        documents=tuple(p["documents"]),
    )


def read_workbook(path: str | Path) -> dict[str, StudyMetadata]:
    """A spec workbook as ``{"SDTM": StudyMetadata, "ADaM": StudyMetadata}`` (models present only)."""
    return metadata_from_rows(read_rows(Path(path)))


# ---------------------------------------------------------------------------------------------
# The study's spec: where it lives, and how the engines apply it.


def spec_path(study_name: str, model_name: str) -> Path:
    """``mappings/<STUDY>/spec/sdtm.json`` or ``adam.json``: the study's declared metadata."""
    return study_dir(study_name) / "spec" / f"{model_name.lower()}.json"


def study_metadata(study_name: str) -> dict[str, StudyMetadata]:
    """The metadata export shows: the study's imported spec, else the last build's snapshot."""
    found = {}
    for model_name in MODELS:
        for candidate in (
            spec_path(study_name, model_name),
            output_dir(study_name) / "metadata" / f"{model_name.lower()}.json",
        ):
            if candidate.is_file():
                found[model_name] = serialize.load(candidate)
                break
    if not found:
        raise MetadataError(
            f"study {study_name} has no metadata yet: run `sdtmify build --study {study_name}` "
            f"(it writes {output_dir(study_name) / 'metadata'}) or import a spec workbook"
        )
    return found


def export_spec(study_name: str, out_path: Path) -> Path:
    """Write the study's SDTM and ADaM metadata as one spec workbook."""
    return write_workbook(study_metadata(study_name), Path(out_path))


def import_spec(workbook_path: Path, study_name: str) -> list[Path]:
    """Read a spec workbook into ``mappings/<STUDY>/spec/{sdtm,adam}.json``; returns the files written.

    Nothing is written unless the whole workbook is valid."""
    if not study_dir(study_name).is_dir():
        raise MetadataError(f"study {study_name!r} not found: no folder {study_dir(study_name)}")
    metadatas = read_workbook(workbook_path)
    if not metadatas:
        raise MetadataError(
            "the workbook describes no datasets: the Datasets sheet is empty",
            Location(f"{Path(workbook_path).name}[Datasets]", 2),
        )
    return [serialize.dump(md, spec_path(study_name, model_name)) for model_name, md in metadatas.items()]


def load_spec(study_folder: Path, model_name: str) -> StudyMetadata | None:
    """The imported spec of one model for an engine to apply, or None when the study has none."""
    path = Path(study_folder) / "spec" / f"{model_name.lower()}.json"
    return serialize.load(path) if path.is_file() else None
