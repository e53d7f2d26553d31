"""Data that are not the trial's database say so: study.yaml ``study.provenance`` is written into every
output that carries study metadata (define.xml StudyDescription and Originator, Dataset-JSON originator,
the report, the output README). NCI84 is a reconstruction from the published paper."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import pytest
from lxml import etree

from sdtmify.errors import InputError
from sdtmify.study import load_study
from sdtmify.writers.define import originator
from sdtmify.writers.readme import readme_text

ROOT = Path(__file__).resolve().parents[1]
ONCO2 = ROOT / "tests" / "studies" / "ONCO2"
NCI84_PROVENANCE = (
    "Reconstruction from the published paper Mol Cancer Ther 2009;8(11):2983-91, not the trial's database"
)
ODM = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}


def test_nci84_declares_its_provenance_in_study_yaml():
    assert load_study(ROOT / "mappings" / "NCI84").provenance == NCI84_PROVENANCE


@pytest.mark.slow
@pytest.mark.parametrize("standard", ["sdtm", "adam"])
def test_define_xml_study_description_and_originator_say_reconstruction(nci84_output, standard):
    folder, _ = nci84_output
    root = etree.parse(str(folder / standard / "define.xml")).getroot()
    assert root.get("Originator") == f"National Cancer Institute ({NCI84_PROVENANCE})"
    description = root.findtext("odm:Study/odm:GlobalVariables/odm:StudyDescription", namespaces=ODM)
    assert description == (
        "Phase I dose escalation of IL-12 (100 ng/kg IV, 300 ng/kg IV, 200 ng/kg SC) added from cycle 2 to "
        f"weekly trastuzumab and 3-weekly paclitaxel. {NCI84_PROVENANCE}."
    )
    assert f"{NCI84_PROVENANCE}." in html.unescape((folder / standard / "define.html").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_every_dataset_json_originator_says_reconstruction(nci84_output):
    folder, _ = nci84_output
    files = sorted(folder.glob("*/dataset-json/*.json"))
    assert len(files) == 28  # 23 SDTM + 5 ADaM
    originators = {json.loads(path.read_text(encoding="utf-8"))["originator"] for path in files}
    assert originators == {f"National Cancer Institute ({NCI84_PROVENANCE})"}
    for path in sorted(folder.glob("*/dataset-json/*.ndjson")):
        head = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
        assert head["originator"] == f"National Cancer Institute ({NCI84_PROVENANCE})", path.name


@pytest.mark.slow
def test_the_report_says_reconstruction_on_every_page(nci84_output):
    folder, _ = nci84_output
    pages = [folder / "report" / "report.md", *sorted((folder / "report").glob("*.html"))]
    assert len(pages) == 5
    for page in pages:
        assert f"Data: {NCI84_PROVENANCE}." in html.unescape(page.read_text(encoding="utf-8")), page.name


@pytest.mark.slow
def test_the_output_readme_leads_with_the_provenance(nci84_output):
    folder, result = nci84_output
    text = (folder / "README.md").read_text(encoding="utf-8")
    assert text.splitlines()[:5] == [
        "# NCI84: sdtmify output",
        "",
        "A Phase I Trial of Interleukin-12 in Combination with Paclitaxel plus Trastuzumab in Patients with "
        "HER2-Positive Malignancies",
        "",
        f"**Data provenance: {NCI84_PROVENANCE}.**",
    ]
    assert "| `validation/` |" in text and "| `report/` |" in text
    assert result.written["readme"] == ["README.md"]


def test_a_study_without_provenance_keeps_its_sponsor_and_readme_plain():
    study = load_study(ONCO2)
    assert study.provenance == ""
    assert originator(study) == "sdtmify"  # ONCO2 names no sponsor
    text = readme_text(study, {"sdtm"})
    assert "provenance" not in text.lower()
    assert text.splitlines()[-1].startswith("| `sdtm/` |")


def test_an_empty_provenance_is_refused_by_the_schema(tmp_path):
    folder = tmp_path / "ONCO2"
    shutil.copytree(ONCO2, folder)
    path = folder / "study.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace('  protocol: "ONCO-2"\n', '  protocol: "ONCO-2"\n  provenance: " "\n'),
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"study.yaml:8 study.provenance"):
        load_study(folder)
