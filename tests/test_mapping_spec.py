"""An imported spec workbook applied by build_sdtm: what it may restate, and what it may not contradict.

export -> edit the workbook -> import -> build: define.xml and the XPT carry the edited metadata."""

from __future__ import annotations

import sys
from pathlib import Path

import pyreadstat
import pytest
from lxml import etree
from openpyxl import load_workbook

from sdtmify.cli import main
from sdtmify.errors import MetadataError
from sdtmify.mapping.engine import build_sdtm
from sdtmify.metadata.spec_xlsx import export_spec, import_spec
from sdtmify.study import load_study

sys.path.insert(0, str(Path(__file__).parent / "studies"))
from nci84_mini import write_mini

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
LABEL = "Verbatim Adverse Event Term"
METHOD = "Worst CTCAE v3.0 grade of the hematology result, by the study's thresholds."


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The mini NCI84 study, built once, its spec exported to a workbook."""
    root = tmp_path_factory.mktemp("project")
    write_mini(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SDTMIFY_HOME", str(root))
        assert main(["-q", "build", "--study", "NCI84", "--out", str(root / "output" / "NCI84"), "--no-validate"]) == 0
        export_spec("NCI84", root / "spec.xlsx")
    return root


def _edit(path: Path, sheet: str, match: dict, column: str, value) -> None:
    workbook = load_workbook(path)
    sheet_ = workbook[sheet]
    header = [cell.value for cell in sheet_[1]]
    rows = [
        row for row in sheet_.iter_rows(min_row=2) if all(row[header.index(k)].value == v for k, v in match.items())
    ]
    assert len(rows) == 1, f"{match} on {sheet}: {len(rows)} rows"
    rows[0][header.index(column)].value = value
    workbook.save(path)


def _cell(path: Path, sheet: str, match: dict, column: str):
    workbook = load_workbook(path, read_only=True)
    rows = list(workbook[sheet].iter_rows(values_only=True))
    header = rows[0]
    (found,) = [row for row in rows[1:] if all(row[header.index(k)] == v for k, v in match.items())]
    return found[header.index(column)]


@pytest.fixture
def edited(project, tmp_path, monkeypatch):
    """A copy of the exported workbook, in a fresh copy of the study, ready to edit and import."""
    monkeypatch.setenv("SDTMIFY_HOME", str(tmp_path))
    write_mini(tmp_path)
    workbook = tmp_path / "spec.xlsx"
    workbook.write_bytes((project / "spec.xlsx").read_bytes())
    return tmp_path, workbook


@pytest.mark.slow
def test_edited_label_and_method_reach_define_xml_and_the_xpt(edited):
    root, workbook = edited
    method = _cell(workbook, "Variables", {"Dataset": "LB", "Variable": "LBTOXGR"}, "Method")
    assert method
    _edit(workbook, "Variables", {"Dataset": "AE", "Variable": "AETERM"}, "Label", LABEL)
    _edit(workbook, "Methods", {"Model": "SDTM", "ID": method}, "Description", METHOD)
    written = import_spec(workbook, "NCI84")
    assert [p.name for p in written] == ["sdtm.json"]

    out = root / "output" / "NCI84"
    assert main(["-q", "build", "--study", "NCI84", "--out", str(out), "--no-validate"]) == 0  # (test_cli validates it)
    define = etree.parse(str(out / "sdtm" / "define.xml"))
    (text,) = define.xpath(
        "//odm:ItemDef[@OID='IT.AE.AETERM']/odm:Description/odm:TranslatedText/text()", namespaces=NS
    )
    assert text == LABEL
    (described,) = define.xpath(
        f"//odm:MethodDef[@OID='{method}']/odm:Description/odm:TranslatedText/text()", namespaces=NS
    )
    assert described == METHOD
    _, meta = pyreadstat.read_xport(str(out / "sdtm" / "ae.xpt"), metadataonly=True)
    assert meta.column_names_to_labels["AETERM"] == LABEL
    assert meta.column_names_to_labels["AEDECOD"] == "Dictionary-Derived Term"  # untouched


@pytest.mark.slow
def test_a_length_shorter_than_the_data_is_refused(edited):
    root, workbook = edited
    _edit(workbook, "Variables", {"Dataset": "AE", "Variable": "AETERM"}, "Length", 3)
    import_spec(workbook, "NCI84")
    with pytest.raises(MetadataError) as info:
        build_sdtm(load_study("NCI84"))
    longest = max(len(v) for v in load_study("NCI84").source("adverse_events")["ae_term"])
    assert str(info.value) == (
        f"mappings/NCI84/spec/sdtm.json: AE.AETERM: the spec's length 3 is shorter than the "
        f"longest value in the data ({longest} bytes); raise the length in the spec to at "
        f"least {longest}"
    )


def test_a_longer_declared_length_is_applied(edited):
    root, workbook = edited
    _edit(workbook, "Variables", {"Dataset": "AE", "Variable": "AETERM"}, "Length", 120)
    import_spec(workbook, "NCI84")
    bundle = build_sdtm(load_study("NCI84"))
    assert bundle.datasets["AE"].meta.variable("AETERM").length == 120
    assert bundle.metadata.dataset("AE").variable("AETERM").length == 120


def test_a_different_codelist_is_refused(edited):
    root, workbook = edited
    _edit(workbook, "Variables", {"Dataset": "AE", "Variable": "AESER"}, "Codelist", "CL.ND")
    import_spec(workbook, "NCI84")
    with pytest.raises(MetadataError) as info:
        build_sdtm(load_study("NCI84"))
    assert str(info.value) == (
        "mappings/NCI84/spec/sdtm.json: AE.AESER: the spec gives codelist CL.ND but the "
        "build uses CL.NY; codelists come from the mapping's 'ct:' (edit the mapping, or "
        "correct the spec's Codelist)"
    )


def test_different_keys_are_refused(edited):
    root, workbook = edited
    _edit(workbook, "Datasets", {"Model": "SDTM", "Dataset": "LB"}, "Key Variables", "STUDYID, USUBJID, LBTESTCD")
    import_spec(workbook, "NCI84")
    with pytest.raises(MetadataError) as info:
        build_sdtm(load_study("NCI84"))
    assert str(info.value) == (
        "mappings/NCI84/spec/sdtm.json: LB: the spec's keys STUDYID, USUBJID, LBTESTCD differ "
        "from the dataset's keys STUDYID, USUBJID, LBTESTCD, LBDTC, which sort its records; "
        "keys come from the mapping's 'keys' (edit the mapping, or the spec)"
    )


def test_unedited_spec_changes_nothing(edited, project):
    root, workbook = edited
    plain = build_sdtm(load_study("NCI84")).metadata
    import_spec(workbook, "NCI84")
    assert build_sdtm(load_study("NCI84")).metadata == plain
