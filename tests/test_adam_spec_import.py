"""An imported spec workbook applied by build_adam, as build_sdtm applies it: export the study's metadata,
edit the ADaM part in the workbook, import it, rebuild; the ADSL XPT and the ADaM define.xml carry the edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyreadstat
import pytest
from lxml import etree
from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parents[1]

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
DATASET_LABEL = "Subject-Level Analysis (Sponsor Wording)"
VARIABLE_LABEL = "Primary Tumour Site as Collected"


def _build(study_name: str = "NCI84"):
    from sdtmify.adam.engine import build_adam
    from sdtmify.mapping.engine import build_sdtm
    from sdtmify.study import load_study

    study = load_study(study_name)
    sdtm = build_sdtm(study)
    return study, sdtm, build_adam(study, sdtm)


@pytest.fixture
def project(tmp_path, monkeypatch, nci84_bundles):
    """A copy of NCI84 (its YAML and source tables) as the project, with its spec workbook exported from the
    session's in-memory build of the same files (the checkout's NCI84 has no spec/ folder either)."""
    from sdtmify.metadata.spec_xlsx import write_workbook

    assert not (ROOT / "mappings" / "NCI84" / "spec").exists()
    shutil.copytree(
        ROOT / "mappings" / "NCI84", tmp_path / "mappings" / "NCI84", ignore=shutil.ignore_patterns("generator", "spec")
    )
    monkeypatch.setenv("SDTMIFY_HOME", str(tmp_path))
    _, sdtm, adam = nci84_bundles
    workbook = write_workbook({"SDTM": sdtm.metadata, "ADaM": adam.metadata}, tmp_path / "spec.xlsx")
    return tmp_path, workbook, adam


def _edit(path, sheet: str, match: dict, column: str, value) -> None:
    book = load_workbook(path)
    rows = book[sheet]
    header = [cell.value for cell in rows[1]]
    found = [row for row in rows.iter_rows(min_row=2) if all(row[header.index(k)].value == v for k, v in match.items())]
    assert len(found) == 1, f"{match} on {sheet}: {len(found)} rows"
    found[0][header.index(column)].value = value
    book.save(path)


@pytest.mark.slow
def test_edited_adsl_labels_reach_the_xpt_and_define_xml(project):
    from sdtmify.metadata.spec_xlsx import import_spec
    from sdtmify.writers.define import write_define_files
    from sdtmify.writers.outputs import write_bundle

    root, workbook, _ = project
    _edit(workbook, "Datasets", {"Model": "ADaM", "Dataset": "ADSL"}, "Description", DATASET_LABEL)
    _edit(workbook, "Variables", {"Dataset": "ADSL", "Variable": "TUMTYPE"}, "Label", VARIABLE_LABEL)
    written = import_spec(workbook, "NCI84")
    assert sorted(p.name for p in written) == ["adam.json", "sdtm.json"]

    study, _, adam = _build()
    out = root / "output" / "NCI84" / "adam"
    write_bundle(adam, out, study)
    write_define_files(adam, out, study)

    _, meta = pyreadstat.read_xport(str(out / "adsl.xpt"), metadataonly=True)
    assert meta.file_label == DATASET_LABEL
    assert meta.column_names_to_labels["TUMTYPE"] == VARIABLE_LABEL
    assert meta.column_names_to_labels["HER2IHC"] == adam.datasets["ADSL"].meta.variable("HER2IHC").label != ""
    define = etree.parse(str(out / "define.xml"))
    (dataset_text,) = define.xpath(
        "//odm:ItemGroupDef[@OID='IG.ADSL']/odm:Description/odm:TranslatedText/text()", namespaces=NS
    )
    (variable_text,) = define.xpath(
        "//odm:ItemDef[@OID='IT.ADSL.TUMTYPE']/odm:Description/odm:TranslatedText/text()", namespaces=NS
    )
    assert (dataset_text, variable_text) == (DATASET_LABEL, VARIABLE_LABEL)


@pytest.mark.slow
def test_an_unedited_spec_changes_no_adam_metadata(project):
    from sdtmify.metadata.spec_xlsx import import_spec

    _, workbook, plain = project
    import_spec(workbook, "NCI84")
    _, _, again = _build()
    assert again.metadata == plain.metadata
    assert {name: ds.meta for name, ds in again.datasets.items()} == {n: ds.meta for n, ds in plain.datasets.items()}
