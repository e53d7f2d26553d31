"""Define-XML 2.1 (on ODM 1.3.2) from the metadata that shaped the datasets, plus its HTML view.

The writer only states what ``StudyMetadata`` holds, so define.xml cannot disagree with the XPT
files written from the same objects. Element order follows the Define-XML 2.1 XSD (odmlib ships
it): MetaDataVersion = def:Standards, def:AnnotatedCRF, def:SupplementalDoc, def:ValueListDef*,
def:WhereClauseDef*, ItemGroupDef*, ItemDef*, CodeList*, MethodDef*, def:CommentDef*, def:leaf*,
then (ADaM) arm:AnalysisResultDisplays. Every OID comes from ``metadata.oids`` so Dataset-JSON
itemOIDs match."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from .. import __version__
from ..atomic import write_bytes, write_text
from ..errors import MetadataError
from ..metadata import oids
from ..metadata.define_rules import apply_define_rules
from ..metadata.methods import reviewer_methods
from ..metadata.model import (
    CodeList,
    Dataset,
    Origin,
    Standard,
    StudyMetadata,
    ValueLevel,
)
from ..reproducible import build_timestamp
from ..resources import specs_dir
from ..studyspec.analysis_results import analysis_results_for
from .define_arm import arm_element
from .define_html import render_define_html
from .whereclause import WhereClause, whereclause_for

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
ARM_NS = "http://www.cdisc.org/ns/arm/v1.0"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NSMAP = {None: ODM_NS, "def": DEF_NS, "xlink": XLINK_NS}
DEFINE_VERSION = "2.1.0"

# Define-XML 2.1 ItemDef/@Length is stated for text and numeric types only; ISO 8601 types
# (date, datetime, durationDatetime...) carry their length in the standard itself.
LENGTH_TYPES = ("text", "integer", "float")
DEFAULT_IG = {"SDTM": ("SDTMIG", "3.4"), "ADaM": ("ADaMIG", "1.3")}
# Define-XML CT "External Code List Dictionary" (C66788) submission values, as define-enumerations.xsd lists them.
DICTIONARIES = (
    "CDISC CT",
    "COSTART",
    "CTCAE",
    "D-U-N-S NUMBER",
    "ICD",
    "ICD-O",
    "ISO 21090",
    "ISO 3166",
    "LOINC",
    "MED-RT",
    "MedDRA",
    "SNOMED",
    "UNII",
    "WHO ATC CLASSIFICATION SYSTEM",
    "WHOART",
    "WHODD",
)
# sdtmify's own XSLT 1.0 rendering of Define-XML 2.1 + ARM 1.0 (specs/stylesheets), copied beside define.xml
STYLESHEET = "define2-1.xsl"
_NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def _odm(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _def(tag: str) -> str:
    return f"{{{DEF_NS}}}{tag}"


def _attrs(element: etree._Element, **values) -> None:
    """Set the attributes that have a value, in the order given (lxml keeps insertion order)."""
    for name, value in values.items():
        if value is None or value == "":
            continue
        key = name
        if name.startswith("def_"):
            key = _def(name[4:])
        elif name == "xlink_href":
            key = f"{{{XLINK_NS}}}href"
        element.set(key, str(value))


def _yes_no(flag: bool) -> str:
    return "Yes" if flag else "No"


def _text(parent: etree._Element, tag: str, text: str) -> etree._Element:
    """``<tag><TranslatedText xml:lang="en">text</TranslatedText></tag>`` (Description, Decode)."""
    element = etree.SubElement(parent, tag)
    translated = etree.SubElement(element, _odm("TranslatedText"))
    translated.set(XML_LANG, "en")
    translated.text = text
    return element


def value_item_oid(dataset: str, variable: str, vlm: ValueLevel) -> str:
    """ItemDef OID of one value-level entry: the parent's OID plus every where-clause value."""
    return oids.value_level_oid(dataset, variable, vlm.where)


# ---------------------------------------------------------------------------------------------
# The document.


@dataclass(frozen=True)
class DefineContext:
    """What the XML needs beyond the metadata: which standard, when, by whom."""

    standard: str  # "SDTM" | "ADaM"
    created: dt.datetime
    originator: str = "sdtmify"
    context: str = "Submission"
    provenance: str = ""  # study.yaml study.provenance, appended to StudyDescription


def define_tree(
    metadata: StudyMetadata, ctx: DefineContext, analysis_results=(), empty: frozenset[str] = frozenset()
) -> etree._ElementTree:
    """The whole define.xml as an lxml tree (not yet written); ``empty`` names datasets without records
    (def:HasNoData="Yes")."""
    if analysis_results:
        nsmap = {**NSMAP, "arm": ARM_NS}
    else:
        nsmap = NSMAP
    root = etree.Element(_odm("ODM"), nsmap=nsmap)
    standard_tag = ctx.standard.upper()
    _attrs(
        root,
        FileType="Snapshot",
        FileOID=f"DEF.{metadata.study_oid}.{standard_tag}",
        CreationDateTime=ctx.created.strftime("%Y-%m-%dT%H:%M:%S"),
        ODMVersion="1.3.2",
        Originator=ctx.originator,
        SourceSystem="sdtmify",
        SourceSystemVersion=__version__,
        def_Context=ctx.context,
    )
    study = etree.SubElement(root, _odm("Study"), OID=metadata.study_oid)
    glob = etree.SubElement(study, _odm("GlobalVariables"))
    etree.SubElement(glob, _odm("StudyName")).text = metadata.study_name
    etree.SubElement(glob, _odm("StudyDescription")).text = _with_provenance(metadata.description, ctx.provenance)
    etree.SubElement(glob, _odm("ProtocolName")).text = metadata.protocol_name

    mdv = etree.SubElement(study, _odm("MetaDataVersion"))
    _attrs(
        mdv,
        OID=oids.metadataversion_oid(metadata.study_oid, standard_tag),
        Name=f"{metadata.study_name} {ctx.standard} Define-XML",
        Description=f"{ctx.standard} metadata of study {metadata.study_name}",
        def_DefineVersion=DEFINE_VERSION,
    )

    standards = _standards(metadata, ctx)
    _standards_element(mdv, standards)
    _documents_elements(mdv, metadata)
    clauses = _collect_where_clauses(metadata, analysis_results)
    _value_list_defs(mdv, metadata)
    for clause in clauses.values():
        _where_clause_def(mdv, clause)
    ig_standard = next((s.oid for s in standards if s.type == "IG"), None)
    for ds in metadata.datasets:
        _item_group_def(mdv, ds, ctx, ig_standard, ds.name in empty)
    _item_defs(mdv, metadata)
    known_standards = {s.oid for s in standards}
    for cl in metadata.codelists:
        _codelist(mdv, cl, known_standards)
    for method in metadata.methods:
        el = etree.SubElement(mdv, _odm("MethodDef"), OID=method.oid, Name=method.name, Type=method.type)
        _text(el, _odm("Description"), method.description)
        if method.expression:
            expr = etree.SubElement(el, _odm("FormalExpression"), Context=method.expression_context or "Python")
            expr.text = method.expression
        if method.document:
            etree.SubElement(el, _def("DocumentRef"), leafID=method.document)
    for comment in metadata.comments:
        el = etree.SubElement(mdv, _def("CommentDef"), OID=comment.oid)
        _text(el, _odm("Description"), comment.description)
        if comment.document:
            etree.SubElement(el, _def("DocumentRef"), leafID=comment.document)
    for doc in metadata.documents:
        _leaf(mdv, doc.oid, doc.href, doc.title)
    if analysis_results:
        arm_element(mdv, analysis_results)
    _check_unique_oids(root)
    # Define-XML 2.1 section 2.3: a browser renders the file with the stylesheet written beside it
    root.addprevious(etree.ProcessingInstruction("xml-stylesheet", f'type="text/xsl" href="{STYLESHEET}"'))
    return etree.ElementTree(root)


def _standards(metadata: StudyMetadata, ctx: DefineContext):
    """The study's def:Standard list; an IG the engine did not state defaults to SDTMIG 3.4 / ADaMIG 1.3."""
    standards = list(metadata.standards)
    if not any(s.type == "IG" for s in standards):
        name, version = DEFAULT_IG.get(ctx.standard, DEFAULT_IG["SDTM"])
        standards.insert(0, Standard(oid=f"STD.{name}.{version}", name=name, version=version))
    return standards


def _standards_element(mdv, standards) -> None:
    el = etree.SubElement(mdv, _def("Standards"))
    for std in standards:
        _attrs(
            etree.SubElement(el, _def("Standard")),
            OID=std.oid,
            Name=std.name,
            Type=std.type,
            PublishingSet=std.publishing_set if std.type == "CT" else None,
            Version=std.version,
            Status=std.status,
        )


def _is_annotated_crf(doc) -> bool:
    # The model has no document kind; an aCRF is recognised by its conventional id or title.
    return "acrf" in doc.oid.lower() or "annotated" in doc.title.lower()


def _documents_elements(mdv, metadata: StudyMetadata) -> None:
    for doc in metadata.documents:
        if not _NCNAME.match(doc.oid):
            raise MetadataError(
                f"document id {doc.oid!r} is not usable as def:leaf/@ID: start with a letter "
                "and use only letters, digits, '.', '_' or '-'"
            )
    acrf = [d for d in metadata.documents if _is_annotated_crf(d)]
    others = [d for d in metadata.documents if not _is_annotated_crf(d)]
    for tag, docs in (("AnnotatedCRF", acrf), ("SupplementalDoc", others)):
        if docs:
            el = etree.SubElement(mdv, _def(tag))
            for doc in docs:
                etree.SubElement(el, _def("DocumentRef"), leafID=doc.oid)


def _collect_where_clauses(metadata: StudyMetadata, analysis_results) -> dict[str, WhereClause]:
    clauses: dict[str, WhereClause] = {}
    for ds in metadata.datasets:
        for var in ds.variables:
            for vlm in var.value_levels:
                clause = whereclause_for(ds.name, vlm.where)
                clauses.setdefault(clause.oid, clause)
    for display in analysis_results:
        for result in display.results:
            for ads in result.datasets:
                if ads.where:
                    clause = whereclause_for(ads.dataset, ads.where)
                    clauses.setdefault(clause.oid, clause)
    return clauses


def _where_clause_def(mdv, clause: WhereClause) -> None:
    el = etree.SubElement(mdv, _def("WhereClauseDef"), OID=clause.oid)
    for cond in clause.conditions:
        comparator = cond.comparator
        if comparator == "EQ" and len(cond.values) > 1:
            comparator = "IN"
        rc = etree.SubElement(el, _odm("RangeCheck"), Comparator=comparator, SoftHard="Soft")
        rc.set(_def("ItemOID"), oids.item_oid(cond.dataset or clause.dataset, cond.variable))
        for value in cond.values:
            etree.SubElement(rc, _odm("CheckValue")).text = value


def _value_list_defs(mdv, metadata: StudyMetadata) -> None:
    for ds in metadata.datasets:
        for var in ds.variables:
            if not var.value_levels:
                continue
            el = etree.SubElement(mdv, _def("ValueListDef"), OID=oids.valuelist_oid(ds.name, var.name))
            for order, vlm in enumerate(var.value_levels, start=1):
                ref = etree.SubElement(el, _odm("ItemRef"))
                _attrs(
                    ref,
                    ItemOID=value_item_oid(ds.name, var.name, vlm),
                    OrderNumber=order,
                    Mandatory=_yes_no(vlm.mandatory),
                    MethodOID=vlm.method,
                )
                etree.SubElement(ref, _def("WhereClauseRef"), WhereClauseOID=whereclause_for(ds.name, vlm.where).oid)


def key_sequence(ds: Dataset) -> dict[str, int]:
    """Variable -> KeySequence: the dataset's declared keys in order, else each variable's own."""
    if ds.keys:
        return {name: index for index, name in enumerate(ds.keys, start=1)}
    return {v.name: v.key_sequence for v in ds.variables if v.key_sequence}


def _item_group_def(mdv, ds: Dataset, ctx: DefineContext, ig_standard: str | None, empty: bool = False) -> None:
    if not ds.structure:
        raise MetadataError(
            f"dataset {ds.name} has no structure, which Define-XML 2.1 requires "
            "(def:Structure): state it in its mapping, e.g. 'One record per subject'"
        )
    el = etree.SubElement(mdv, _odm("ItemGroupDef"))
    is_sdtm = ctx.standard.upper() == "SDTM"
    _attrs(
        el,
        OID=oids.itemgroup_oid(ds.name),
        Domain=(ds.domain or ds.name) if is_sdtm else None,
        Name=ds.name,
        Repeating=_yes_no(ds.repeating),
        IsReferenceData=_yes_no(ds.is_reference),
        SASDatasetName=ds.name,
        Purpose=ds.purpose or ("Tabulation" if is_sdtm else "Analysis"),
        def_Structure=ds.structure,
        def_StandardOID=ds.standard_oid or ig_standard,
        def_ArchiveLocationID=dataset_leaf_id(ds.name),
        def_HasNoData="Yes" if empty else None,
        def_CommentOID=ds.comment,
    )
    _text(el, _odm("Description"), ds.label)
    keys = key_sequence(ds)
    for var in ds.variables:
        ref = etree.SubElement(el, _odm("ItemRef"))
        _attrs(
            ref,
            ItemOID=oids.item_oid(ds.name, var.name),
            OrderNumber=var.order,
            Mandatory=_yes_no(var.mandatory),
            KeySequence=keys.get(var.name),
            MethodOID=var.method,
            Role=var.role if is_sdtm else None,
        )
    if ds.class_:
        cls = etree.SubElement(el, _def("Class"), Name=ds.class_.upper())
        if ds.subclass:
            etree.SubElement(cls, _def("SubClass"), Name=ds.subclass.upper())
    _leaf(el, dataset_leaf_id(ds.name), dataset_href(ds), ds.name.lower() + ".xpt")


def dataset_leaf_id(name: str) -> str:
    return f"LF.{name}"


def dataset_href(ds: Dataset) -> str:
    """The transport file beside define.xml: ``ae.xpt`` (Define-XML 2.1 def:leaf xlink:href)."""
    return ds.leaf or f"{ds.name.lower()}.xpt"


def _leaf(parent, leaf_id: str, href: str, title: str) -> None:
    leaf = etree.SubElement(parent, _def("leaf"))
    _attrs(leaf, ID=leaf_id, xlink_href=href)
    etree.SubElement(leaf, _def("title")).text = title


def _item_defs(mdv, metadata: StudyMetadata) -> None:
    for ds in metadata.datasets:
        for var in ds.variables:
            _item_def(
                mdv,
                oids.item_oid(ds.name, var.name),
                var.name,
                var.label,
                var.data_type,
                var.length,
                var.significant_digits,
                var.format,
                var.codelist,
                var.origin,
                var.comment,
                oids.valuelist_oid(ds.name, var.name) if var.value_levels else None,
            )
    for ds in metadata.datasets:
        for var in ds.variables:
            for vlm in var.value_levels:
                _item_def(
                    mdv,
                    value_item_oid(ds.name, var.name, vlm),
                    vlm.name,
                    vlm.label,
                    vlm.data_type,
                    vlm.length,
                    vlm.significant_digits,
                    vlm.format,
                    vlm.codelist,
                    vlm.origin,
                    vlm.comment,
                    None,
                )


def display_format(data_type: str, sas_format: str) -> str | None:
    """def:DisplayFormat: the SAS format of numeric values (ADaM numeric dates DATE9., floats 8.2)."""
    if data_type in ("integer", "float") and sas_format:
        return sas_format
    return None


def _item_def(
    mdv,
    oid,
    name,
    label,
    data_type,
    length,
    significant_digits,
    sas_format,
    codelist,
    origin: Origin | None,
    comment,
    valuelist,
) -> None:
    el = etree.SubElement(mdv, _odm("ItemDef"))
    _attrs(
        el,
        OID=oid,
        Name=name,
        DataType=data_type,
        Length=length if data_type in LENGTH_TYPES else None,
        SignificantDigits=significant_digits if data_type == "float" else None,
        SASFieldName=name,
        def_DisplayFormat=display_format(data_type, sas_format),
        def_CommentOID=comment,
    )
    _text(el, _odm("Description"), label)
    if codelist:
        etree.SubElement(el, _odm("CodeListRef"), CodeListOID=codelist)
    if origin is not None:
        _origin(el, origin)
    if valuelist:
        etree.SubElement(el, _def("ValueListRef"), ValueListOID=valuelist)


def _origin(parent, origin: Origin) -> None:
    """def:Origin (Define-XML 2.1 section 5.3.11.2): Type, Source, a Description (e.g. the predecessor
    variable) and a DocumentRef with pages for collected data."""
    el = etree.SubElement(parent, _def("Origin"))
    _attrs(el, Type=origin.type, Source=origin.source)
    if origin.description:
        _text(el, _odm("Description"), origin.description)
    if origin.document:
        ref = etree.SubElement(el, _def("DocumentRef"), leafID=origin.document)
        if origin.pages:
            etree.SubElement(ref, _def("PDFPageRef"), PageRefs=origin.pages, Type="PhysicalRef")


def _codelist(mdv, cl: CodeList, known_standards: set[str]) -> None:
    """CodeList: CodeListItem when terms have decodes, EnumeratedItem otherwise, ExternalCodeList for a
    dictionary (MedDRA); NCI C-codes as Alias Context="nci:ExtCodeID"; sponsor terms def:ExtendedValue."""
    el = etree.SubElement(mdv, _odm("CodeList"))
    standard = cl.standard_oid if cl.standard_oid in known_standards and not cl.sponsor_defined else None
    _attrs(el, OID=cl.oid, Name=cl.name, DataType=cl.data_type, def_StandardOID=standard)
    if cl.dictionary:
        _attrs(
            etree.SubElement(el, _odm("ExternalCodeList")),
            Dictionary=dictionary_name(cl.dictionary),
            Version=cl.dictionary_version,
        )
    else:
        if not cl.items:
            raise MetadataError(
                f"codelist {cl.oid} ({cl.name}) has no terms: drop it, add the terms the "
                "study uses, or name its dictionary"
            )
        decoded = any(item.decode for item in cl.items)
        for _rank, item in enumerate(cl.items, start=1):
            tag = "CodeListItem" if decoded else "EnumeratedItem"
            term = etree.SubElement(el, _odm(tag))
            _attrs(
                term,
                CodedValue=item.coded_value,
                OrderNumber=item.order,
                def_ExtendedValue="Yes" if item.extended else None,
            )
            if decoded:
                _text(term, _odm("Decode"), item.decode or item.coded_value)
            if item.c_code and not item.extended:
                etree.SubElement(term, _odm("Alias"), Context="nci:ExtCodeID", Name=item.c_code)
    if cl.c_code and not cl.sponsor_defined:
        etree.SubElement(el, _odm("Alias"), Context="nci:ExtCodeID", Name=cl.c_code)


def dictionary_name(name: str) -> str:
    """The Define-XML CT spelling of a dictionary (MEDDRA -> MedDRA); other names are kept as given."""
    return next((term for term in DICTIONARIES if term.casefold() == name.casefold()), name)


def _check_unique_oids(root) -> None:
    """Duplicate OIDs make references ambiguous; say which element repeats which OID."""
    seen: set[tuple[str, str]] = set()
    for el in root.iter():
        oid = el.get("OID")
        if oid is None:
            continue
        kind = etree.QName(el).localname
        key = (kind, oid)
        if key in seen:
            raise MetadataError(
                f"define.xml: two {kind} elements share OID {oid!r}; "
                "make the value-level where clauses or names distinct"
            )
        seen.add(key)


# ---------------------------------------------------------------------------------------------
# Writing and XSD validation.


def define_bytes(
    metadata: StudyMetadata, ctx: DefineContext, analysis_results=(), empty: frozenset[str] = frozenset()
) -> bytes:
    tree = define_tree(metadata, ctx, analysis_results, empty)
    etree.indent(tree, space="  ")
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def originator(study) -> str:
    """ODM/@Originator (and Dataset-JSON ``originator``): the sponsor named in study.yaml
    (``study.sponsor``), else sdtmify; followed by ``study.provenance`` in parentheses when declared,
    so a reconstruction is never presented as the sponsor's own data."""
    sponsor = getattr(study, "sponsor", None)
    if not sponsor:
        config = getattr(study, "config", None) or {}
        sponsor = (config.get("study") or {}).get("sponsor") if isinstance(config, dict) else None
    name = str(sponsor) if sponsor else "sdtmify"
    provenance = getattr(study, "provenance", "")
    return f"{name} ({provenance})" if provenance else name


def _with_provenance(description: str, provenance: str) -> str:
    """StudyDescription followed by the study's declared provenance as its own sentence."""
    if not provenance:
        return description
    text = description.strip().rstrip(".")
    return f"{text}. {provenance.rstrip('.')}." if text else f"{provenance.rstrip('.')}."


def write_define_files(bundle, folder: Path, study) -> list[Path]:
    """Write ``folder/define.xml``, its stylesheet ``folder/define2-1.xsl`` (named by the file's
    xml-stylesheet instruction) and its browser view ``folder/define.html`` (atomically).

    CreationDateTime is the study's fixed build timestamp (study.yaml / $SOURCE_DATE_EPOCH), so the
    same inputs give the same bytes. ADaM defines carry the analysis results metadata declared in
    ``mappings/<STUDY>/adam/analysis_results.yaml``."""
    folder = Path(folder)
    ctx = DefineContext(
        standard=bundle.standard,
        created=build_timestamp(getattr(study, "timestamp", None)),
        originator=originator(study),
        provenance=getattr(study, "provenance", ""),
    )
    arm = analysis_results_for(bundle.metadata, study) if bundle.standard.upper() == "ADAM" else ()
    empty = frozenset(name for name, built in bundle.datasets.items() if len(built.frame) == 0)
    # method texts as reviewer prose, identical ones sharing a MethodDef (metadata.methods)
    frames = {name: built.frame for name, built in bundle.datasets.items()}
    metadata = reviewer_methods(apply_define_rules(bundle.metadata, frames))
    data = define_bytes(metadata, ctx, arm, empty)
    xml_path, html_path, xsl_path = folder / "define.xml", folder / "define.html", folder / STYLESHEET
    write_bytes(xml_path, data)
    write_bytes(xsl_path, stylesheet_bytes())
    write_text(html_path, render_define_html(etree.fromstring(data)))
    return [xml_path, xsl_path, html_path]


def stylesheet_bytes() -> bytes:
    """The shipped Define-XML 2.1 stylesheet (specs/stylesheets/define2-1.xsl)."""
    path = specs_dir() / "stylesheets" / STYLESHEET
    try:
        return path.read_bytes()
    except OSError as error:
        raise MetadataError(f"{path}: cannot read sdtmify's define stylesheet ({error.strerror})") from None
