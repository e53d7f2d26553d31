"""The one Define-XML 2.1 reader of the project: a define.xml parsed once, and read two ways.

- :func:`read_define` gives the shared metadata model (ItemGroupDef, ItemDef, CodeList as
  ``Dataset``, ``Variable``, ``CodeList``), which the catalogue's define rules compare with the data;
- :func:`item_groups`, :func:`codelist_values`, :func:`where_clauses` and :func:`description` give the
  elements themselves, with their line numbers, for ``define_check``'s file:line messages.

Both start from :func:`parse_define`, so a file that is not Define-XML is refused the same way.
:func:`validate_define_xsd` checks a define.xml against the Define-XML 2.1 (and ARM 1.0) XSD."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

from lxml import etree

from ..errors import InputError, Location, SpecError
from ..metadata.model import CodeList, CodeListItem, Dataset, StudyMetadata, Variable

NS = {
    "odm": "http://www.cdisc.org/ns/odm/v1.3",
    "def": "http://www.cdisc.org/ns/def/v2.1",
    "xlink": "http://www.w3.org/1999/xlink",
    "arm": "http://www.cdisc.org/ns/arm/v1.0",
    "xml": "http://www.w3.org/XML/1998/namespace",
}
DEF = "{" + NS["def"] + "}"
HREF = "{" + NS["xlink"] + "}href"
# Define-XML 2.1 DataTypes stored as SAS numbers.
NUMERIC_TYPES = ("integer", "float", "double", "decimal")
# The DataTypes that carry a Length (Define-XML 2.1 section 5.3.11: Length is given for text, integer
# and float only; for date, time and the ISO 8601 types it is left out, as the format fixes it).
LENGTH_TYPES = ("text", "integer", "float")


def parse_define(path: str | Path):
    """The root element of ``path``; InputError naming the file when it is not XML or not Define-XML."""
    path = Path(path)
    try:
        root = etree.parse(str(path)).getroot()
    except (OSError, etree.XMLSyntaxError) as exc:
        raise InputError(f"cannot parse define.xml: {exc}", Location(str(path))) from exc
    if root.find(".//odm:MetaDataVersion", NS) is None:
        raise InputError("no ODM MetaDataVersion: not a Define-XML file", Location(str(path)))
    return root


def description(element) -> str:
    """The text of an element's Description/TranslatedText ("" when it has none), as written."""
    found = element.find("odm:Description/odm:TranslatedText", NS) if element is not None else None
    return (found.text or "") if found is not None else ""


# ---------------------------------------------------------------------------------------------
# The elements, with their lines.


@dataclass
class ItemGroup:
    """One ItemGroupDef: its name, element, the file its def:leaf points to, and its (ItemRef, ItemDef)
    pairs in OrderNumber order (ItemDef None when the ItemOID resolves to nothing)."""

    name: str
    element: etree._Element
    href: str
    refs: list


def item_groups(root) -> list[ItemGroup]:
    items = {el.get("OID"): el for el in root.iterfind(".//odm:ItemDef", NS)}
    groups = []
    for group in root.iterfind(".//odm:ItemGroupDef", NS):
        leaf = group.find("def:leaf", NS)
        href = leaf.get(HREF) if leaf is not None else f"{group.get('Name', '').lower()}.xpt"
        refs = sorted(group.findall("odm:ItemRef", NS), key=lambda r: int(r.get("OrderNumber") or 0))
        groups.append(ItemGroup(group.get("Name"), group, href, [(ref, items.get(ref.get("ItemOID"))) for ref in refs]))
    return groups


def codelist_values(root) -> dict[str, tuple[str, str, set[str] | None]]:
    """CodeList OID -> (name, data type, its coded values); None for an external dictionary."""
    found = {}
    for cl in root.iterfind(".//odm:CodeList", NS):
        if cl.find("odm:ExternalCodeList", NS) is not None:
            values = None
        else:
            values = {t.get("CodedValue") for t in cl if etree.QName(t).localname in ("CodeListItem", "EnumeratedItem")}
        found[cl.get("OID")] = (cl.get("Name"), cl.get("DataType"), values)
    return found


def where_clauses(root) -> dict[str, list[tuple[str, str, list[str]]]]:
    """WhereClauseDef OID -> [(variable name, comparator, values)]."""
    names = {el.get("OID"): el.get("Name") for el in root.iterfind(".//odm:ItemDef", NS)}
    clauses = {}
    for wc in root.iterfind(".//def:WhereClauseDef", NS):
        clauses[wc.get("OID")] = [
            (
                names.get(rc.get(DEF + "ItemOID"), rc.get(DEF + "ItemOID")),
                rc.get("Comparator"),
                [cv.text or "" for cv in rc.findall("odm:CheckValue", NS)],
            )
            for rc in wc.findall("odm:RangeCheck", NS)
        ]
    return clauses


def standard_of(root) -> str:
    """SDTM for a define.xml of Tabulation datasets, ADaM for Analysis ones."""
    purposes = {g.get("Purpose") for g in root.iterfind(".//odm:ItemGroupDef", NS)}
    return "ADaM" if "Analysis" in purposes else "SDTM"


# ---------------------------------------------------------------------------------------------
# The metadata model.


def read_define(path: str | Path) -> StudyMetadata:
    """``path`` as the shared metadata model; raises InputError naming the file when it is not Define-XML."""
    return metadata_from(parse_define(path))


def _variable(ref, item, codelist: str | None, position: int) -> Variable:
    data_type = item.get("DataType", "text")
    length = item.get("Length") if data_type in LENGTH_TYPES else None
    return Variable(
        name=item.get("Name"),
        label=description(item).strip(),
        type="Num" if data_type in NUMERIC_TYPES else "Char",
        # 0 means "not stated": no Length, or a date/time type where Define-XML gives none.
        length=int(length or 0),
        data_type=data_type,
        order=int(ref.get("OrderNumber") or position),
        core="Req" if ref.get("Mandatory") == "Yes" else "Perm",
        codelist=codelist,
        significant_digits=int(item.get("SignificantDigits")) if item.get("SignificantDigits") else None,
        key_sequence=int(ref.get("KeySequence")) if ref.get("KeySequence") else None,
    )


def metadata_from(root) -> StudyMetadata:
    mdv = root.find(".//odm:MetaDataVersion", NS)
    items = {}
    for item in mdv.findall("odm:ItemDef", NS):
        ref = item.find("odm:CodeListRef", NS)
        items[item.get("OID")] = (item, ref.get("CodeListOID") if ref is not None else None)
    datasets = []
    for group in mdv.findall("odm:ItemGroupDef", NS):
        variables = []
        for position, ref in enumerate(group.findall("odm:ItemRef", NS), start=1):
            item, codelist = items.get(ref.get("ItemOID"), (None, None))
            if item is not None:
                variables.append(_variable(ref, item, codelist, position))
        variables.sort(key=lambda v: v.order)
        keys = sorted((v.key_sequence, v.name) for v in variables if v.key_sequence is not None)
        datasets.append(
            Dataset(
                name=group.get("Name"),
                label=description(group).strip(),
                purpose=group.get("Purpose", ""),
                structure=group.get(f"{DEF}Structure", ""),
                domain=group.get("Domain"),
                keys=tuple(name for _, name in keys),
                variables=tuple(variables),
            )
        )
    codelists = []
    for cl in mdv.findall("odm:CodeList", NS):
        terms = []
        for tag in ("odm:CodeListItem", "odm:EnumeratedItem"):
            for term in cl.findall(tag, NS):
                decode = term.find("odm:Decode/odm:TranslatedText", NS)
                terms.append(
                    CodeListItem(
                        coded_value=term.get("CodedValue"),
                        decode=decode.text if decode is not None else None,
                        extended=term.get(f"{DEF}ExtendedValue") == "Yes",
                    )
                )
        external = cl.find("odm:ExternalCodeList", NS)
        codelists.append(
            CodeList(
                oid=cl.get("OID"),
                name=cl.get("Name", ""),
                data_type=cl.get("DataType", "text"),
                items=tuple(terms),
                dictionary=external.get("Dictionary") if external is not None else None,
                dictionary_version=external.get("Version") if external is not None else None,
            )
        )
    study = root.find("odm:Study", NS)
    return StudyMetadata(
        study_oid=study.get("OID", "") if study is not None else "",
        study_name="",
        description="",
        protocol_name="",
        datasets=tuple(datasets),
        codelists=tuple(codelists),
    )


def schema_dir() -> Path:
    """odmlib's copy of the CDISC Define-XML 2.1 and ARM 1.0 schemas (odmlib is a dependency: without
    it the define.xml schema rule cannot run, and the run stops rather than skip it)."""
    spec = find_spec("odmlib")
    if spec is None or not spec.submodule_search_locations:
        raise SpecError(
            "the Define-XML 2.1 XSD comes with the Python package odmlib: "
            "install it (pip install odmlib) to validate define.xml"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "schemas"


@lru_cache(maxsize=2)
def _schema(with_arm: bool) -> etree.XMLSchema:
    base = schema_dir()
    path = base / ("arm/1.0-define2.1/arm1-0-0.xsd" if with_arm else "define/2.1/define2-1-0.xsd")
    try:
        return etree.XMLSchema(etree.parse(str(path)))
    except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as error:
        raise SpecError(
            f"the Define-XML schema cannot be read ({error}); reinstall odmlib", Location(str(path))
        ) from None


def validate_define_xsd(path: str | Path) -> list[str]:
    """Validate a define.xml against the Define-XML 2.1 XSD (ARM 1.0 when it holds arm: elements).

    Returns one ``file:line: message`` per schema violation; empty when valid."""
    path = Path(path)
    try:
        doc = etree.parse(str(path))
    except etree.XMLSyntaxError as exc:
        return [f"{path.name}:{exc.lineno}: not well-formed XML: {exc.msg}"]
    with_arm = NS["arm"] in (doc.getroot().nsmap or {}).values() or doc.find(".//arm:*", NS) is not None
    schema = _schema(with_arm)
    if schema.validate(doc):
        return []
    return [f"{path.name}:{err.line}: {err.message}" for err in schema.error_log]
