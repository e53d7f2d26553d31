"""The example study end to end: `sdtmify build` writes define.xml for SDTM and ADaM that validate
against the Define-XML 2.1 (+ ARM 1.0) schema, agree with the XPT files, render in a browser, and
round-trip through the spec workbook."""

from __future__ import annotations

from dataclasses import replace

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
    sdtm = {"AE", "DM", "DS", "EX", "LB", "RS", "SE", "SUPPAE", "SUPPDM", "SV", "TA", "TE", "TI", "TS", "TV"}
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
    ]
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
