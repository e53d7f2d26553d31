"""A small Define-XML 2.1 reader: ItemGroupDef, ItemDef and CodeList into the shared metadata model,
enough to check the data against what define.xml declares."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from ..errors import InputError, Location
from ..metadata.model import CodeList, CodeListItem, Dataset, StudyMetadata, Variable

NS = {
    "odm": "http://www.cdisc.org/ns/odm/v1.3",
    "def": "http://www.cdisc.org/ns/def/v2.1",
    "xml": "http://www.w3.org/XML/1998/namespace",
}
_NUMERIC = {"integer", "float", "double", "decimal"}


def _text(element) -> str:
    if element is None:
        return ""
    node = element.find("odm:Description/odm:TranslatedText", NS)
    return (node.text or "").strip() if node is not None else ""


def read_define(path: Path) -> StudyMetadata:
    """Parse ``path``; raises InputError naming the file when it is not Define-XML."""
    try:
        root = etree.parse(str(path)).getroot()
    except (OSError, etree.XMLSyntaxError) as exc:
        raise InputError(f"cannot parse define.xml: {exc}", Location(str(path))) from exc
    mdv = root.find(".//odm:MetaDataVersion", NS)
    if mdv is None:
        raise InputError("no ODM MetaDataVersion: not a Define-XML file", Location(str(path)))
    items = {}
    for item in mdv.findall("odm:ItemDef", NS):
        ref = item.find("odm:CodeListRef", NS)
        items[item.get("OID")] = (item, ref.get("CodeListOID") if ref is not None else None)
    datasets = []
    for group in mdv.findall("odm:ItemGroupDef", NS):
        variables = []
        keys = []
        for position, ref in enumerate(group.findall("odm:ItemRef", NS), start=1):
            item, codelist = items.get(ref.get("ItemOID"), (None, None))
            if item is None:
                continue
            data_type = item.get("DataType", "text")
            order = int(ref.get("OrderNumber") or position)
            if ref.get("KeySequence"):
                keys.append((int(ref.get("KeySequence")), item.get("Name")))
            variables.append(Variable(
                name=item.get("Name"), label=_text(item), type="Num" if data_type in _NUMERIC else "Char",
                # Define-XML 2.1 gives Length for text/integer/float only; 0 means "not stated".
                length=int(item.get("Length") or 0), data_type=data_type, order=order,
                core="Req" if ref.get("Mandatory") == "Yes" else "Perm", codelist=codelist,
                significant_digits=int(item.get("SignificantDigits")) if item.get("SignificantDigits") else None,
            ))
        variables.sort(key=lambda v: v.order)
        datasets.append(Dataset(
            name=group.get("Name"), label=_text(group), purpose=group.get("Purpose", ""),
            structure=group.get(f"{{{NS['def']}}}Structure", ""), domain=group.get("Domain"),
            keys=tuple(name for _, name in sorted(keys)), variables=tuple(variables),
        ))
    codelists = []
    for cl in mdv.findall("odm:CodeList", NS):
        terms = []
        for tag in ("odm:CodeListItem", "odm:EnumeratedItem"):
            for term in cl.findall(tag, NS):
                decode = term.find("odm:Decode/odm:TranslatedText", NS)
                terms.append(CodeListItem(coded_value=term.get("CodedValue"),
                                          decode=decode.text if decode is not None else None,
                                          extended=term.get(f"{{{NS['def']}}}ExtendedValue") == "Yes"))
        external = cl.find("odm:ExternalCodeList", NS)
        codelists.append(CodeList(oid=cl.get("OID"), name=cl.get("Name", ""), data_type=cl.get("DataType", "text"),
                                  items=tuple(terms),
                                  dictionary=external.get("Dictionary") if external is not None else None))
    study = root.find("odm:Study", NS)
    return StudyMetadata(study_oid=study.get("OID", "") if study is not None else "", study_name="",
                         description="", protocol_name="", datasets=tuple(datasets), codelists=tuple(codelists))
