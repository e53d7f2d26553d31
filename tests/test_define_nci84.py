"""The example study end to end: `sdtmify build` writes define.xml for SDTM and ADaM that validate
against the Define-XML 2.1 (+ ARM 1.0) schema, agree with the XPT files, render in a browser, and
round-trip through the spec workbook."""

from __future__ import annotations

import re
from dataclasses import replace

import pandas as pd
import pyreadstat
import pytest
from lxml import etree

from sdtmify.metadata import serialize
from sdtmify.validate.define_check import check_define_against_data
from sdtmify.validate.define_xml import validate_define_xsd

pytestmark = pytest.mark.slow

NS = {
    "odm": "http://www.cdisc.org/ns/odm/v1.3",
    "def": "http://www.cdisc.org/ns/def/v2.1",
    "arm": "http://www.cdisc.org/ns/arm/v1.0",
}


@pytest.fixture(scope="module")
def built(nci84_output):
    """The output folder of the session's NCI84 build (every stage; these tests only read it)."""
    return nci84_output[0]


@pytest.mark.parametrize("standard", ["sdtm", "adam"])
def test_nci84_define_validates_against_the_schema(built, standard):
    assert validate_define_xsd(built / standard / "define.xml") == []


@pytest.mark.parametrize("standard", ["sdtm", "adam"])
def test_nci84_define_agrees_with_the_xpt_files(built, standard):
    assert check_define_against_data(built / standard / "define.xml", built / standard) == []


def test_nci84_define_describes_every_xpt_and_value_list(built):
    root = etree.parse(str(built / "sdtm" / "define.xml")).getroot()
    groups = {g.get("Name") for g in root.iterfind(".//odm:ItemGroupDef", NS)}
    files = {p.stem.upper() for p in (built / "sdtm").glob("*.xpt")}
    sdtm = {"AE", "CM", "CV", "DM", "DS", "DV", "EX", "IE", "LB", "MH", "MI", "RS", "SE", "SUPPAE", "SUPPDM", "SV"}
    sdtm |= {"TA", "TE", "TI", "TR", "TS", "TU", "TV"}
    assert groups == files == sdtm
    # one value-level entry of LBORRES per lab test in the data
    lb_vl = root.find(".//def:ValueListDef[@OID='VL.LB.LBORRES']", NS)
    lb, _ = pyreadstat.read_xport(str(built / "sdtm" / "lb.xpt"))
    assert len(lb_vl.findall("odm:ItemRef", NS)) == lb["LBTESTCD"].nunique() == 11


def test_nci84_adam_define_has_the_papers_analysis_results(built):
    root = etree.parse(str(built / "adam" / "define.xml")).getroot()
    names = [d.get("Name") for d in root.iterfind(".//arm:ResultDisplay", NS)]
    assert names == [
        "Best overall response",
        "Clinical benefit rate",
        "Dose-limiting toxicity by dose level",
        "IFN-gamma and clinical benefit",
        "Table 2. Patient demographics",
        "Table 3. Patient outcomes",
        "Table 4. Treatment toxicities",
    ]
    # every PARAMCD an analysis selects exists in its dataset; nothing cites a report-only flag
    for ref in root.iterfind(".//arm:AnalysisDataset/def:WhereClauseRef", NS):
        clause = root.find(f".//def:WhereClauseDef[@OID='{ref.get('WhereClauseOID')}']", NS)
        for check in clause.iterfind("odm:RangeCheck", NS):
            variable = check.get("{http://www.cdisc.org/ns/def/v2.1}ItemOID")
            dataset, name = variable.split(".")[1:3]
            frame = pd.read_sas(built / "adam" / f"{dataset.lower()}.xpt", format="xport", encoding="utf-8")
            values = {v.text for v in check.iterfind("odm:CheckValue", NS)}
            assert values <= set(frame[name].astype(str)), (dataset, name, values)
    assert b"IFNGDET" not in (built / "adam" / "define.xml").read_bytes()
    dlt = root.find(".//arm:AnalysisResult[@OID='AR.DLT.RATE']", NS)
    assert dlt.get("AnalysisPurpose") == "PRIMARY OUTCOME MEASURE"
    assert [a.get("ItemGroupOID") for a in dlt.iterfind(".//arm:AnalysisDataset", NS)] == ["IG.ADSL", "IG.ADAE"]
    fisher = root.find(".//arm:AnalysisResult[@OID='AR.IFNG-CBR.FISHER']", NS)
    datasets = [a.get("ItemGroupOID") for a in fisher.iterfind(".//arm:AnalysisDataset", NS)]
    assert datasets == ["IG.ADRS", "IG.ADLB"]
    clause = fisher.find(".//arm:AnalysisDataset[@ItemGroupOID='IG.ADLB']/def:WhereClauseRef", NS)
    assert clause.get("WhereClauseOID") == "WC.ADLB.PARAMCD.IFNG"


def test_nci84_metadata_round_trips_through_the_spec_workbook(built, tmp_path):
    from sdtmify.metadata.spec_xlsx import read_workbook, write_workbook

    metadatas = {
        "SDTM": serialize.load(built / "metadata" / "sdtm.json"),
        "ADaM": serialize.load(built / "metadata" / "adam.json"),
    }
    back = read_workbook(write_workbook(metadatas, tmp_path / "spec.xlsx"))
    # External dictionaries have their own sheet, so they come back after the other codelists.
    for name, md in metadatas.items():
        codelists = [c for c in md.codelists if not c.dictionary] + [c for c in md.codelists if c.dictionary]
        assert back[name] == replace(md, codelists=tuple(codelists))


@pytest.mark.browser
def test_nci84_define_html_loads_in_headless_chromium(built, tmp_path):
    import shutil
    import subprocess

    from lxml import html as lxml_html

    exe = shutil.which("chromium")
    if not exe:
        pytest.skip("chromium not installed (apt-get install chromium chromium-driver)")
    for standard in ("sdtm", "adam"):
        page = built / standard / "define.html"
        done = subprocess.run(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--enable-logging=stderr",
                "--v=0",
                f"--user-data-dir={tmp_path / standard}",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0
        assert [line for line in done.stderr.splitlines() if ":CONSOLE" in line] == []
        dom = lxml_html.fromstring(done.stdout)
        shown = {h.get("id")[3:] for h in dom.xpath("//section[@class='dataset']/h3")}
        assert shown == {p.stem.upper() for p in (built / standard).glob("*.xpt")}


@pytest.mark.parametrize("standard", ["sdtm", "adam"])
def test_nci84_dataset_json_oids_resolve_in_define(built, standard):
    import json

    root = etree.parse(str(built / standard / "define.xml")).getroot()
    mdv = root.find(".//odm:MetaDataVersion", NS).get("OID")
    items = {i.get("OID") for i in root.iterfind(".//odm:ItemDef", NS)}
    groups = {g.get("OID") for g in root.iterfind(".//odm:ItemGroupDef", NS)}
    files = sorted((built / standard / "dataset-json").glob("*.json"))
    assert [p.stem for p in files] == sorted(p.stem for p in (built / standard).glob("*.xpt"))
    for path in files:
        head = json.loads(path.read_text(encoding="utf-8"))
        assert head["metaDataVersionOID"] == mdv
        assert head["itemGroupOID"] in groups
        assert {c["itemOID"] for c in head["columns"]} <= items, path.name


def test_nci84_define_names_the_sponsor_and_the_study_timestamp(built, project_root):
    import yaml

    config = yaml.safe_load((project_root / "mappings" / "NCI84" / "study.yaml").read_text(encoding="utf-8"))
    root = etree.parse(str(built / "sdtm" / "define.xml")).getroot()
    assert root.get("Originator") == f"{config['study']['sponsor']} ({config['study']['provenance']})"
    from sdtmify.reproducible import build_timestamp

    stamp = build_timestamp((config.get("output") or {}).get("timestamp"))
    assert root.get("CreationDateTime") == stamp.strftime("%Y-%m-%dT%H:%M:%S")


SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
CODE = re.compile(r"[{}\[\]]|: \{|\bNone\b|\bnan\b|``|admiral")


@pytest.mark.parametrize("standard", ["sdtm", "adam"])
def test_nci84_method_texts_are_reviewer_prose(built, standard):
    """Define-XML 2.1 MethodDef: a description a reviewer reads, not code: no literals, YAML, None/nan,
    snake_case identifiers or function names, and no two MethodDefs with the same text (those share one)."""
    root = etree.parse(str(built / standard / "define.xml")).getroot()
    texts = {
        m.get("OID"): m.findtext("odm:Description/odm:TranslatedText", namespaces=NS)
        for m in root.iterfind(".//odm:MethodDef", NS)
    }
    assert len(texts) > 20
    for oid, text in texts.items():
        assert text and not CODE.search(text), (oid, CODE.search(text).group(0) if text else "", text[:200])
        assert not SNAKE_CASE.search(text), (oid, SNAKE_CASE.search(text).group(0))
    assert len(set(texts.values())) == len(texts)
    # a shared method is referenced by each variable it derives
    used = {ref.get("MethodOID") for ref in root.iterfind(".//odm:ItemRef[@MethodOID]", NS)}
    assert used <= set(texts)


def test_reviewer_text_spells_out_code():
    from sdtmify.metadata.methods import reviewer_text

    text = reviewer_text(
        "Study day of ``dtc`` (admiral derive_vars_dy); an element covers [SESTDTC, next SESTDTC). "
        "Study parameters: where = {PARAMCD: [RSP, CRSP]}; date_var = ADT; grades = ['LLN', 3.0]; x = None."
    )
    assert text == (
        "Study day of the date; an element covers from SESTDTC up to (not including) next SESTDTC. "
        "For this study: where = PARAMCD = RSP, CRSP; the date variable = ADT; grades = LLN, 3.0; x = none."
    )
    assert (
        reviewer_text("the study's table codes and the record's SRCSEQ")
        == "the study's table codes and the record's SRCSEQ"
    )


def _origin(root, oid):
    item = root.find(f".//odm:ItemDef[@OID='{oid}']", NS)
    origin = item.find("def:Origin", NS)
    return origin.get("Type"), origin.get("Source")


def test_nci84_origins_follow_the_define_xml_rules(built):
    """Define-XML 2.1 def:Origin: central-lab results are Collected from the Vendor, the allocated arm
    is Assigned, trial summary values come from the Protocol unless the data determine them."""
    root = etree.parse(str(built / "sdtm" / "define.xml")).getroot()
    for oid in ("IT.LB.LBORRES", "IT.LB.LBORRESU", "IT.LB.LBDTC", "IT.LB.LBORRES.IFNG", "IT.LB.LBSTAT"):
        assert _origin(root, oid) == ("Collected", "Vendor"), oid
    assert _origin(root, "IT.DM.ARMCD") == ("Assigned", "Sponsor")
    assert _origin(root, "IT.TS.TSVAL") == ("Protocol", "Sponsor")
    assert _origin(root, "IT.TS.TSVAL.TITLE") == ("Protocol", "Sponsor")
    assert _origin(root, "IT.TS.TSVAL.ACTSUB") == ("Derived", "Sponsor")
    assert _origin(root, "IT.AE.AETERM") == ("Collected", "Investigator")
    # the timing variables SE and SV get once every domain is derived share the other domains' methods
    methods = {ref.get("ItemOID"): ref.get("MethodOID") for ref in root.iterfind(".//odm:ItemRef", NS)}
    for oid in ("IT.SV.SVSTDY", "IT.SV.SVENDY", "IT.SV.EPOCH", "IT.SE.SESTDY", "IT.SE.SEENDY", "IT.SE.SESEQ"):
        assert _origin(root, oid) == ("Derived", "Sponsor"), oid
    assert methods["IT.SV.SVSTDY"] == methods["IT.SE.SEENDY"] == methods["IT.AE.AESTDY"]
    assert methods["IT.SV.EPOCH"] == methods["IT.AE.EPOCH"]
    assert methods["IT.SE.SESEQ"] == "MT.SE.SESEQ"
    text = root.find(".//odm:MethodDef[@OID='MT.SE.SESEQ']/odm:Description/odm:TranslatedText", NS).text
    assert text.endswith("Order: SESTDTC, TAETORD.")


def test_nci84_adam_float_results_carry_significant_digits(built):
    root = etree.parse(str(built / "adam" / "define.xml")).getroot()
    floats = root.findall(".//odm:ItemDef[@DataType='float']", NS)
    assert floats and all(item.get("SignificantDigits") is not None for item in floats)
    adlb = pd.read_sas(built / "adam" / "adlb.xpt", format="xport", encoding="utf-8")
    digits = int(root.find(".//odm:ItemDef[@OID='IT.ADLB.AVAL']", NS).get("SignificantDigits"))
    assert digits == 1 and (adlb["AVAL"].dropna() * 10).round(6).mod(1).eq(0).all()
