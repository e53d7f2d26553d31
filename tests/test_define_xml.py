"""Define-XML 2.1: schema-valid, complete, deterministic, and stating exactly the engine's metadata."""

from __future__ import annotations

from dataclasses import replace

import pytest
from define_fixtures import adam_bundle, analysis_results, sdtm_bundle, study_config
from lxml import etree

from sdtmify.errors import MetadataError
from sdtmify.metadata import oids
from sdtmify.metadata.model import Condition, ValueLevel
from sdtmify.studyspec.analysis_results import load_analysis_results, parse_analysis_results
from sdtmify.validate.define_xml import validate_define_xsd
from sdtmify.writers.define import write_define_files

NS = {
    "odm": "http://www.cdisc.org/ns/odm/v1.3",
    "def": "http://www.cdisc.org/ns/def/v2.1",
    "xlink": "http://www.w3.org/1999/xlink",
    "arm": "http://www.cdisc.org/ns/arm/v1.0",
}
DEF = "{http://www.cdisc.org/ns/def/v2.1}"


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Both define.xml files of the fixture study, written once for the module."""
    base = tmp_path_factory.mktemp("define")
    paths = {}
    for bundle in (sdtm_bundle(), adam_bundle()):
        folder = base / bundle.standard.lower()
        paths[bundle.standard] = write_define_files(bundle, folder, study_config())
    return paths


def _root(written, standard):
    return etree.parse(str(written[standard][0])).getroot()


def _one(root, xpath):
    found = root.xpath(xpath, namespaces=NS)
    assert len(found) == 1, f"{xpath}: {len(found)} matches"
    return found[0]


def test_write_define_files_writes_xml_stylesheet_and_html_side_by_side(written):
    xml, xsl, html = written["SDTM"]
    assert (xml.name, xsl.name, html.name) == ("define.xml", "define2-1.xsl", "define.html")
    assert xml.parent == html.parent == xsl.parent
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("standard", ["SDTM", "ADaM"])
def test_define_names_the_stylesheet_written_beside_it(written, standard):
    """Define-XML 2.1 section 2.3: an xml-stylesheet processing instruction before the ODM root."""
    xml, xsl, _ = written[standard]
    lines = xml.read_text(encoding="utf-8").splitlines()
    assert lines[1] == '<?xml-stylesheet type="text/xsl" href="define2-1.xsl"?>'
    assert lines[2].startswith("<ODM ")
    assert etree.parse(str(xsl)).getroot().tag == "{http://www.w3.org/1999/XSL/Transform}stylesheet"


@pytest.mark.parametrize("standard", ["SDTM", "ADaM"])
def test_stylesheet_renders_datasets_variables_codelists_methods_and_arm(written, standard):
    xml, xsl, _ = written[standard]
    page = etree.XSLT(etree.parse(str(xsl)))(etree.parse(str(xml)))
    html = etree.HTML(str(page))
    root = _root(written, standard)
    for group in root.xpath("//odm:ItemGroupDef", namespaces=NS):
        (section,) = html.xpath(f"//h3[@id='{group.get('OID')}']")
        rows = section.getnext().xpath("tr[td]")
        names = [r.xpath("td")[0].text.strip() for r in rows]
        items = [
            root.xpath(f"//odm:ItemDef[@OID='{ref}']/@Name", namespaces=NS)[0]
            for ref in group.xpath("odm:ItemRef/@ItemOID", namespaces=NS)
        ]
        assert names == items, group.get("OID")
    for tag, section in (("CodeList", "codelists"), ("MethodDef", "methods")):
        oids = root.xpath(f"//odm:{tag}/@OID", namespaces=NS)
        assert oids and set(oids) <= set(html.xpath("//@id")), section
    method = root.xpath("//odm:MethodDef", namespaces=NS)[0]
    (row,) = html.xpath(f"//tr[@id='{method.get('OID')}']")
    assert row.xpath("td")[2].text == method.findtext("odm:Description/odm:TranslatedText", namespaces=NS)
    results = root.xpath("//arm:AnalysisResult/@OID", namespaces=NS)
    assert bool(results) == (standard == "ADaM")
    assert set(results) <= set(html.xpath("//table/@id"))


@pytest.mark.parametrize("standard", ["SDTM", "ADaM"])
def test_define_validates_against_the_define_xml_2_1_schema(written, standard):
    assert validate_define_xsd(written[standard][0]) == []


def test_adam_define_is_checked_against_the_arm_schema(written, tmp_path):
    root = _root(written, "ADaM")
    result = _one(root, "//arm:AnalysisResult[@OID='AR.T3.CBR']")
    result.remove(result.find("arm:AnalysisDatasets", NS))
    broken = tmp_path / "define.xml"
    etree.ElementTree(root).write(str(broken))
    errors = validate_define_xsd(broken)
    assert len(errors) == 1
    assert errors[0].startswith("define.xml:")
    assert "AnalysisDatasets" in errors[0]


def test_xsd_validation_names_the_line_of_an_element_out_of_order(written, tmp_path):
    root = _root(written, "SDTM")
    item = _one(root, "//odm:ItemDef[@OID='IT.AE.AESER']")
    # Description must come before CodeListRef (ODM 1.3.2 ItemDef content model).
    item.append(item.find("odm:Description", NS))
    broken = tmp_path / "define.xml"
    etree.ElementTree(root).write(str(broken))
    reparsed = etree.parse(str(broken)).getroot()
    line = _one(reparsed, "//odm:ItemDef[@OID='IT.AE.AESER']/odm:Description").sourceline
    errors = validate_define_xsd(broken)
    assert len(errors) == 1 and errors[0].startswith(f"define.xml:{line}: ")
    assert "Description" in errors[0]


def test_same_inputs_give_byte_identical_define_files(tmp_path):
    first = write_define_files(sdtm_bundle(), tmp_path / "a", study_config())
    second = write_define_files(sdtm_bundle(), tmp_path / "b", study_config())
    for one, two in zip(first, second, strict=False):
        assert one.read_bytes() == two.read_bytes()


def test_creation_datetime_comes_from_the_study_not_the_clock(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    xml, _, _ = write_define_files(sdtm_bundle(), tmp_path / "a", study_config(timestamp="2024-07-01T12:30:00"))
    assert etree.parse(str(xml)).getroot().get("CreationDateTime") == "2024-07-01T12:30:00"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    xml, _, _ = write_define_files(sdtm_bundle(), tmp_path / "b", study_config())
    assert etree.parse(str(xml)).getroot().get("CreationDateTime") == "1970-01-01T00:00:00"


def test_odm_root_and_standards(written):
    root = _root(written, "SDTM")
    assert root.get("ODMVersion") == "1.3.2"
    assert root.get("FileOID") == "DEF.NCI84X.SDTM"
    assert root.get("Originator") == "NCI CTEP"
    assert root.get("SourceSystem") == "sdtmify"
    assert root.get(DEF + "Context") == "Submission"
    assert _one(root, "//odm:StudyName").text == "NCI84X"
    standards = [
        (s.get("Name"), s.get("Type"), s.get("Version"), s.get("PublishingSet"))
        for s in root.iterfind(".//def:Standard", NS)
    ]
    assert standards == [("SDTMIG", "IG", "3.4", None), ("CDISC/NCI", "CT", "2025-03-28", "SDTM")]


def test_item_group_def_states_dataset_metadata_and_points_to_its_xpt(written):
    root = _root(written, "SDTM")
    ae = _one(root, "//odm:ItemGroupDef[@OID='IG.AE']")
    assert (ae.get("Name"), ae.get("SASDatasetName"), ae.get("Domain"), ae.get("Purpose")) == (
        "AE",
        "AE",
        "AE",
        "Tabulation",
    )
    assert (ae.get("Repeating"), ae.get("IsReferenceData")) == ("Yes", "No")
    assert ae.get(DEF + "Structure") == "One record per adverse event per subject"
    assert ae.get(DEF + "StandardOID") == "STD.SDTMIG.3-4"
    assert ae.find("def:Class", NS).get("Name") == "EVENTS"
    leaf = ae.find("def:leaf", NS)
    assert ae.get(DEF + "ArchiveLocationID") == leaf.get("ID") == "LF.AE"
    assert leaf.get("{http://www.w3.org/1999/xlink}href") == "ae.xpt"
    refs = {ref.get("ItemOID"): ref for ref in ae.findall("odm:ItemRef", NS)}
    keys = sorted((int(r.get("KeySequence")), oid) for oid, r in refs.items() if r.get("KeySequence"))
    assert [oid for _, oid in keys] == ["IT.AE.STUDYID", "IT.AE.USUBJID", "IT.AE.AEDECOD", "IT.AE.AESTDTC"]
    assert refs["IT.AE.AESEQ"].get("MethodOID") == "MT.SEQ"
    assert refs["IT.AE.AETERM"].get("Role") == "Topic"
    assert refs["IT.AE.AETERM"].get("Mandatory") == "Yes"
    assert refs["IT.AE.AESTDY"].get("Mandatory") == "No"
    assert [r.get("OrderNumber") for r in ae.findall("odm:ItemRef", NS)] == [str(i) for i in range(1, 10)]


def test_adam_item_groups_carry_class_subclass_and_no_sdtm_role(written):
    root = _root(written, "ADaM")
    adtte = _one(root, "//odm:ItemGroupDef[@OID='IG.ADTTE']")
    assert adtte.get("Domain") is None and adtte.get("Purpose") == "Analysis"
    assert adtte.find("def:Class", NS).get("Name") == "BASIC DATA STRUCTURE"
    assert adtte.find("def:Class/def:SubClass", NS).get("Name") == "TIME-TO-EVENT"
    assert not root.xpath("//odm:ItemRef[@Role]", namespaces=NS)


def test_item_defs_follow_the_data_types(written):
    root = _root(written, "SDTM")
    aestdtc = _one(root, "//odm:ItemDef[@OID='IT.AE.AESTDTC']")
    assert aestdtc.get("DataType") == "datetime" and aestdtc.get("Length") is None
    aeterm = _one(root, "//odm:ItemDef[@OID='IT.AE.AETERM']")
    assert (aeterm.get("DataType"), aeterm.get("Length")) == ("text", str(len("NEUTROPENIA")))
    assert aeterm.findtext("odm:Description/odm:TranslatedText", namespaces=NS) == "Reported Term for the Adverse Event"
    stresn = _one(root, "//odm:ItemDef[@OID='IT.LB.LBSTRESN']")
    assert (stresn.get("DataType"), stresn.get("Length"), stresn.get("SignificantDigits")) == ("float", "8", "2")
    adsl = _root(written, "ADaM")
    trtsdt = _one(adsl, "//odm:ItemDef[@OID='IT.ADSL.TRTSDT']")
    assert (trtsdt.get("DataType"), trtsdt.get(DEF + "DisplayFormat")) == ("integer", "DATE9.")
    assert trtsdt.get("SignificantDigits") is None


def test_origins_carry_source_pages_and_predecessors(written):
    root = _root(written, "SDTM")
    origin = _one(root, "//odm:ItemDef[@OID='IT.AE.AETERM']/def:Origin")
    assert (origin.get("Type"), origin.get("Source")) == ("Collected", "Investigator")
    page = origin.find("def:DocumentRef/def:PDFPageRef", NS)
    assert origin.find("def:DocumentRef", NS).get("leafID") == "LF.ACRF"
    assert (page.get("PageRefs"), page.get("Type")) == ("3 4", "PhysicalRef")
    adam = _root(written, "ADaM")
    age = _one(adam, "//odm:ItemDef[@OID='IT.ADSL.AGE']/def:Origin")
    assert age.get("Type") == "Predecessor"
    assert age.findtext("odm:Description/odm:TranslatedText", namespaces=NS) == "DM.AGE"


def test_value_level_metadata_by_test_code_qnam_and_paramcd(written):
    sdtm, adam = _root(written, "SDTM"), _root(written, "ADaM")
    orres = _one(sdtm, "//def:ValueListDef[@OID='VL.LB.LBORRES']")
    assert [r.get("ItemOID") for r in orres.findall("odm:ItemRef", NS)] == [
        "IT.LB.LBORRES.CXCL10",
        "IT.LB.LBORRES.IFNG",
        "IT.LB.LBORRES.PERK",
    ]
    assert _one(sdtm, "//odm:ItemDef[@OID='IT.LB.LBORRES']/def:ValueListRef").get("ValueListOID") == "VL.LB.LBORRES"
    clause = _one(sdtm, "//def:WhereClauseDef[@OID='WC.LB.LBTESTCD.IFNG']/odm:RangeCheck")
    assert (
        clause.get("Comparator"),
        clause.get(DEF + "ItemOID"),
        clause.findtext("odm:CheckValue", namespaces=NS),
    ) == ("EQ", "IT.LB.LBTESTCD", "IFNG")
    # LBORRES and LBSTRESN where LBTESTCD = IFNG share one WhereClauseDef.
    assert len(sdtm.xpath("//def:WhereClauseRef[@WhereClauseOID='WC.LB.LBTESTCD.IFNG']", namespaces=NS)) == 2
    stresn = _one(sdtm, "//odm:ItemDef[@OID='IT.LB.LBSTRESN.PERK']")
    assert stresn.get("SignificantDigits") == "2"
    qval = _one(sdtm, "//def:ValueListDef[@OID='VL.SUPPAE.QVAL']/odm:ItemRef/def:WhereClauseRef")
    assert qval.get("WhereClauseOID") == "WC.SUPPAE.QNAM.AEDLT"
    assert _one(sdtm, "//odm:ItemDef[@OID='IT.SUPPAE.QVAL.AEDLT']/odm:CodeListRef").get("CodeListOID") == "CL.NY"
    bor = _one(adam, "//def:ValueListDef[@OID='VL.ADRS.AVALC']/odm:ItemRef[@ItemOID='IT.ADRS.AVALC.BOR']")
    assert bor.get("MethodOID") == "MT.BOR"
    assert _one(adam, "//odm:ItemDef[@OID='IT.ADRS.AVALC.BOR']/odm:CodeListRef").get("CodeListOID") == "CL.ONCRSR"


def test_value_level_oids_distinguish_negated_where_clauses():
    bundle = sdtm_bundle()
    lb = bundle.metadata.dataset("LB")
    orres = lb.variable("LBORRES")
    negated = ValueLevel(
        where=(Condition("LBTESTCD", ("IFNG",), comparator="NE"),),
        name="LBORRES",
        label="Other results",
        data_type="text",
        length=4,
    )
    orres = replace(orres, value_levels=orres.value_levels + (negated,))
    lb = replace(lb, variables=tuple(orres if v.name == "LBORRES" else v for v in lb.variables))
    metadata = replace(bundle.metadata, datasets=tuple(lb if d.name == "LB" else d for d in bundle.metadata.datasets))
    from sdtmify.reproducible import build_timestamp
    from sdtmify.writers.define import DefineContext, define_tree

    root = define_tree(metadata, DefineContext("SDTM", build_timestamp(None))).getroot()
    clause = _one(root, "//def:WhereClauseDef[@OID='WC.LB.LBTESTCD.NE.IFNG']/odm:RangeCheck")
    assert clause.get("Comparator") == "NE"
    assert root.xpath("//odm:ItemDef[@OID='IT.LB.LBORRES.NE.IFNG']", namespaces=NS)


def test_codelists_carry_c_codes_extensions_and_dictionaries(written):
    root = _root(written, "SDTM")
    ny = _one(root, "//odm:CodeList[@OID='CL.NY']")
    assert ny.get(DEF + "StandardOID") == "STD.CT.SDTM.2025-03-28"
    assert ny.find("odm:Alias", NS).get("Name") == "C66742"
    yes = _one(ny, "odm:CodeListItem[@CodedValue='Y']")
    assert yes.findtext("odm:Decode/odm:TranslatedText", namespaces=NS) == "Yes"
    assert (yes.find("odm:Alias", NS).get("Context"), yes.find("odm:Alias", NS).get("Name")) == (
        "nci:ExtCodeID",
        "C49488",
    )
    testcd = _one(root, "//odm:CodeList[@OID='CL.LBTESTCD']")
    assert [t.get("CodedValue") for t in testcd.findall("odm:EnumeratedItem", NS)] == ["CXCL10", "IFNG", "PERK"]
    perk = _one(testcd, "odm:EnumeratedItem[@CodedValue='PERK']")
    assert perk.get(DEF + "ExtendedValue") == "Yes" and perk.find("odm:Alias", NS) is None
    assert _one(testcd, "odm:EnumeratedItem[@CodedValue='IFNG']/odm:Alias").get("Name") == "C81996"
    meddra = _one(root, "//odm:CodeList[@OID='CL.MEDDRA']/odm:ExternalCodeList")
    assert (meddra.get("Dictionary"), meddra.get("Version")) == ("MedDRA", "12.0")
    qnam = _one(root, "//odm:CodeList[@OID='CL.QNAM']")
    assert qnam.get(DEF + "StandardOID") is None and qnam.find("odm:Alias", NS) is None


def test_methods_comments_and_documents(written):
    root = _root(written, "SDTM")
    method = _one(root, "//odm:MethodDef[@OID='MT.STUDYDAY']")
    assert method.get("Type") == "Computation"
    assert "no day 0" in method.findtext("odm:Description/odm:TranslatedText", namespaces=NS)
    assert method.find("odm:FormalExpression", NS).get("Context") == "Python 3.11"
    assert _one(root, "//odm:MethodDef[@OID='MT.LBSTRESN']/def:DocumentRef").get("leafID") == "LF.PROTOCOL"
    comment = _one(root, "//def:CommentDef[@OID='COM.SUPPAE']")
    assert comment.find("def:DocumentRef", NS).get("leafID") == "LF.PROTOCOL"
    assert _one(root, "//odm:ItemGroupDef[@OID='IG.SUPPAE']").get(DEF + "CommentOID") == "COM.SUPPAE"
    assert _one(root, "//def:AnnotatedCRF/def:DocumentRef").get("leafID") == "LF.ACRF"
    leaf = _one(root, "//odm:MetaDataVersion/def:leaf[@ID='LF.PROTOCOL']")
    assert leaf.get("{http://www.w3.org/1999/xlink}href") == "protocol.pdf"


def test_item_oids_are_the_shared_dataset_json_oids(written):
    root = _root(written, "SDTM")
    for group in root.iterfind(".//odm:ItemGroupDef", NS):
        assert group.get("OID") == oids.itemgroup_oid(group.get("Name"))
        for ref in group.findall("odm:ItemRef", NS):
            item = _one(root, f"//odm:ItemDef[@OID='{ref.get('ItemOID')}']")
            assert ref.get("ItemOID") == oids.item_oid(group.get("Name"), item.get("Name"))


def test_analysis_results_metadata_points_at_adrs_and_adlb_through_where_clauses(written):
    root = _root(written, "ADaM")
    displays = root.xpath("//arm:ResultDisplay", namespaces=NS)
    assert [d.get("Name") for d in displays] == ["Table 3", "Figure 1A"]
    cbr = _one(root, "//arm:AnalysisResult[@OID='AR.T3.CBR']")
    assert cbr.get("ParameterOID") == "IT.ADRS.PARAMCD"
    assert (cbr.get("AnalysisReason"), cbr.get("AnalysisPurpose")) == (
        "SPECIFIED IN PROTOCOL",
        "PRIMARY OUTCOME MEASURE",
    )
    ads = _one(cbr, "arm:AnalysisDatasets/arm:AnalysisDataset")
    assert ads.get("ItemGroupOID") == "IG.ADRS"
    assert ads.find("def:WhereClauseRef", NS).get("WhereClauseOID") == "WC.ADRS.PARAMCD.CBR"
    assert ads.find("arm:AnalysisVariable", NS).get("ItemOID") == "IT.ADRS.AVALC"
    assert "AVALC.eq('Y')" in cbr.findtext("arm:ProgrammingCode/arm:Code", namespaces=NS)
    fisher = _one(root, "//arm:AnalysisResult[@OID='AR.F1A.FISHER']")
    groups = [a.get("ItemGroupOID") for a in fisher.iterfind("arm:AnalysisDatasets/arm:AnalysisDataset", NS)]
    assert groups == ["IG.ADRS", "IG.ADLB"]
    # The ARM-only where clause on ADLB exists as a WhereClauseDef with both conditions.
    checks = root.xpath("//def:WhereClauseDef[@OID='WC.ADLB.PARAMCD.IFNG.ANL01FL.Y']/odm:RangeCheck", namespaces=NS)
    assert [c.get(DEF + "ItemOID") for c in checks] == ["IT.ADLB.PARAMCD", "IT.ADLB.ANL01FL"]


def test_analysis_results_yaml_errors_name_file_line_and_key(tmp_path):
    path = tmp_path / "mappings" / "X" / "adam" / "analysis_results.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(
        "displays:\n"
        "  - id: T3\n"
        "    name: Table 3\n"
        "    title: Best overall response\n"
        "    results:\n"
        "      - id: BOR\n"
        "        description: Best overall response\n"
        "        reason: SPECIFIED IN PROTOCOL\n"
        "        purpose: PRIMARY OUTCOME MEASURE\n"
        "        datasets:\n"
        "          - dataset: ADRSS\n"
        "            where: {PARAMCD: BOR}\n",
        encoding="utf-8",
    )
    with pytest.raises(MetadataError) as info:
        load_analysis_results(path, adam_bundle().metadata)
    assert str(info.value).startswith("mappings/X/adam/analysis_results.yaml:11 dataset: T3/BOR: dataset 'ADRSS'")


def test_analysis_results_need_a_reason_from_the_arm_terminology():
    arm = analysis_results()
    bad = {"displays": [dict(arm["displays"][0], results=[dict(arm["displays"][0]["results"][0], reason=None)])]}
    with pytest.raises(MetadataError, match="missing required key 'reason'"):
        parse_analysis_results(bad)


def test_duplicate_value_level_oids_are_refused(tmp_path):
    bundle = sdtm_bundle()
    lb = bundle.metadata.dataset("LB")
    orres = lb.variable("LBORRES")
    orres = replace(orres, value_levels=orres.value_levels + orres.value_levels[:1])
    lb = replace(lb, variables=tuple(orres if v.name == "LBORRES" else v for v in lb.variables))
    bundle.metadata = replace(
        bundle.metadata, datasets=tuple(lb if d.name == "LB" else d for d in bundle.metadata.datasets)
    )
    with pytest.raises(MetadataError, match="share OID 'IT.LB.LBORRES.CXCL10'"):
        write_define_files(bundle, tmp_path, study_config())
    assert not (tmp_path / "define.xml").exists()


def test_dictionary_names_use_the_define_xml_terminology():
    from sdtmify.writers.define import dictionary_name

    assert [dictionary_name(n) for n in ("MEDDRA", "meddra", "ISO 3166", "WHODD", "Sponsor Dictionary")] == [
        "MedDRA",
        "MedDRA",
        "ISO 3166",
        "WHODD",
        "Sponsor Dictionary",
    ]


def test_a_dataset_without_structure_is_refused_with_its_name(tmp_path):
    bundle = sdtm_bundle()
    bundle.metadata = replace(
        bundle.metadata,
        datasets=tuple(replace(d, structure="") if d.name == "LB" else d for d in bundle.metadata.datasets),
    )
    with pytest.raises(MetadataError, match=r"^dataset LB has no structure, which Define-XML 2.1 requires"):
        write_define_files(bundle, tmp_path, study_config())


def test_a_dataset_without_records_is_marked_has_no_data(tmp_path):
    bundle = sdtm_bundle()
    suppae = bundle.datasets["SUPPAE"]
    suppae.frame = suppae.frame.iloc[0:0]
    xml, _, _ = write_define_files(bundle, tmp_path, study_config())
    root = etree.parse(str(xml)).getroot()
    assert _one(root, "//odm:ItemGroupDef[@OID='IG.SUPPAE']").get(DEF + "HasNoData") == "Yes"
    assert _one(root, "//odm:ItemGroupDef[@OID='IG.AE']").get(DEF + "HasNoData") is None
    assert validate_define_xsd(xml) == []


def test_significant_digits_of_each_value_level_item_come_from_its_own_records():
    """Define-XML 2.1 ItemDef/@SignificantDigits per value-level item: the decimals of the records its
    WhereClause selects (a missing LBTESTCD selects none), the variable's of all records."""
    import pandas as pd

    from sdtmify.metadata.define_rules import apply_define_rules
    from sdtmify.metadata.model import Dataset, StudyMetadata, Variable

    def item(code: str) -> ValueLevel:
        return ValueLevel(where=(Condition("LBTESTCD", (code,)),), name="LBSTRESN", label=code, data_type="float")

    stresn = Variable("LBSTRESN", "Numeric Result", "Num", 8, "float", 1, value_levels=(item("GLUC"), item("HGB")))
    metadata = StudyMetadata(
        "S", "S", "", "", datasets=(Dataset("LB", "Laboratory", "Tabulation", variables=(stresn,)),)
    )
    frame = pd.DataFrame(
        {"LBTESTCD": pd.Series(["GLUC", "GLUC", "HGB", None], dtype="str"), "LBSTRESN": [1.5, 2.25, 10.0, 3.125]}
    )
    found = apply_define_rules(metadata, {"LB": frame}).dataset("LB").variable("LBSTRESN")
    assert found.significant_digits == 3
    assert [level.significant_digits for level in found.value_levels] == [2, 0]
