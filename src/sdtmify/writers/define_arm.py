"""Analysis Results Metadata (ARM 1.0 for Define-XML 2.1) as XML: arm:AnalysisResultDisplays.

The displays are declared in ``mappings/<STUDY>/adam/analysis_results.yaml`` and read and checked by
:mod:`sdtmify.studyspec.analysis_results`; this module only writes them into define.xml."""

from __future__ import annotations

from lxml import etree

from ..metadata import oids
from ..studyspec.analysis_results import ResultDisplay
from .whereclause import whereclause_for

ARM_NS = "http://www.cdisc.org/ns/arm/v1.0"
ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"


def _arm(tag: str) -> str:
    return f"{{{ARM_NS}}}{tag}"


def _description(parent, text: str) -> None:
    desc = etree.SubElement(parent, f"{{{ODM_NS}}}Description")
    tt = etree.SubElement(desc, f"{{{ODM_NS}}}TranslatedText")
    tt.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    tt.text = text


def _document_refs(parent, documents) -> None:
    for doc in documents:
        etree.SubElement(parent, f"{{{DEF_NS}}}DocumentRef", leafID=doc)


def arm_element(parent: etree._Element, displays: tuple[ResultDisplay, ...]) -> etree._Element:
    """arm:AnalysisResultDisplays (ARM 1.0 element order) as the last child of MetaDataVersion."""
    root = etree.SubElement(parent, _arm("AnalysisResultDisplays"))
    for display in displays:
        rd = etree.SubElement(root, _arm("ResultDisplay"), OID=display.oid, Name=display.name)
        _description(rd, display.title)
        _document_refs(rd, display.documents)
        for result in display.results:
            ar = etree.SubElement(rd, _arm("AnalysisResult"), OID=result.oid)
            if result.parameter:
                ds_name, _, var = result.parameter.partition(".")
                ar.set("ParameterOID", oids.item_oid(ds_name, var))
            ar.set("AnalysisReason", result.reason)
            ar.set("AnalysisPurpose", result.purpose)
            _description(ar, result.description)
            datasets = etree.SubElement(ar, _arm("AnalysisDatasets"))
            for ads in result.datasets:
                el = etree.SubElement(datasets, _arm("AnalysisDataset"), ItemGroupOID=oids.itemgroup_oid(ads.dataset))
                if ads.where:
                    etree.SubElement(
                        el, f"{{{DEF_NS}}}WhereClauseRef", WhereClauseOID=whereclause_for(ads.dataset, ads.where).oid
                    )
                for var in ads.variables:
                    etree.SubElement(el, _arm("AnalysisVariable"), ItemOID=oids.item_oid(ads.dataset, var))
            if result.documentation or result.documents:
                doc = etree.SubElement(ar, _arm("Documentation"))
                _description(doc, result.documentation or result.description)
                _document_refs(doc, result.documents)
            if result.code:
                code = etree.SubElement(ar, _arm("ProgrammingCode"))
                if result.code_context:
                    code.set("Context", result.code_context)
                etree.SubElement(code, _arm("Code")).text = result.code
    return root
