"""`sdtmify init` writes a study that validates; `sdtmify check` reports problems; lineage is written."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from sdtmify import yamlio
from sdtmify.cli import main
from sdtmify.errors import InputError
from sdtmify.mapping.loader import load_mappings
from sdtmify.mapping.scaffold import init_study
from sdtmify.study import load_study

sys.path.insert(0, str(Path(__file__).parent / "studies"))
from nci84_mini import write_mini


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SDTMIFY_HOME", str(tmp_path))
    (tmp_path / "mappings").mkdir()
    (tmp_path / "specs").mkdir()
    return tmp_path


def test_init_writes_a_study_that_validates(home):
    written = init_study("NEW1")
    names = sorted(p.relative_to(home / "mappings" / "NEW1").as_posix() for p in written)
    assert names == [
        "sdtm/ae.yaml",
        "sdtm/dm.yaml",
        "sdtm/ex.yaml",
        "sdtm/lb.yaml",
        "sdtm/se.yaml",
        "sdtm/ta.yaml",
        "sdtm/te.yaml",
        "sdtm/ts.yaml",
        "sdtm/tv.yaml",
        "source/adverse_events.csv",
        "source/dosing.csv",
        "source/labs.csv",
        "source/subjects.csv",
        "study.yaml",
    ]
    study = load_study("NEW1")
    assert study.studyid == "NEW1"
    mappings = load_mappings(study)
    assert [m.domain for m in mappings] == ["AE", "DM", "EX", "LB", "SE", "TA", "TE", "TS", "TV"]
    assert all("#" in path.read_text() for path in written if path.suffix == ".yaml")  # annotated


def test_init_refuses_to_overwrite_without_force(home):
    init_study("NEW2")
    with pytest.raises(InputError) as info:
        init_study("NEW2")
    assert "exists; use --force" in str(info.value)
    assert len(init_study("NEW2", force=True)) == 14


def test_check_command_on_a_valid_and_a_broken_study(home, capsys):
    write_mini(home)
    assert main(["check", "--study", "NCI84"]) == 0
    assert capsys.readouterr().out.strip() == "NCI84: study.yaml, SDTM, ADaM, report and analysis-results files valid"
    path = home / "mappings" / "NCI84" / "sdtm" / "ae.yaml"
    path.write_text(path.read_text().replace("column: ae_term}", "column: ae_trm}"))
    assert main(["check", "--study", "NCI84"]) == 1
    out = capsys.readouterr().out.strip()
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "ae_trm" in t)
    assert out == (
        f"mappings/NCI84/sdtm/ae.yaml:{line} AETERM: column 'ae_trm' not in source 'adverse_events' "
        f"(did you mean 'ae_term'?)"
    )


def test_lineage_files_trace_records_to_source_rows(home, tmp_path):
    from sdtmify.mapping.engine import build_sdtm
    from sdtmify.writers.lineage import write_lineage

    bundle = build_sdtm(load_study(write_mini(home)))
    written = write_lineage(bundle, tmp_path / "lineage")
    assert sorted(p.name for p in written)[:4] == ["ae.csv", "cm.csv", "cv.csv", "dm.csv"]
    ae = pd.read_csv(tmp_path / "lineage" / "ae.csv", dtype=str)
    assert list(ae.columns) == ["STUDYID", "USUBJID", "AEDECOD", "AESTDTC", "AESEQ", "SRCTABLE", "SRCROW"]
    source = pd.read_csv(home / "mappings" / "NCI84" / "source" / "adverse_events.csv", dtype=str)
    row = ae[ae["AEDECOD"] == "Anaemia"].iloc[0]
    assert row["SRCTABLE"] == "adverse_events" and source.iloc[int(row["SRCROW"]) - 1]["ae_term"] == "Anaemia"
    first = [p.read_bytes() for p in written]
    again = write_lineage(build_sdtm(load_study(home / "mappings" / "NCI84")), tmp_path / "lineage")
    assert [p.read_bytes() for p in again] == first
    ts = pd.read_csv(tmp_path / "lineage" / "ts.csv", dtype=str)
    assert set(ts["SRCTABLE"]) == {"sdtm/ts.yaml"}


def test_every_operation_and_derivation_is_documented_with_an_example():
    """A new operation is one function, one schema entry and one documented example."""
    from sdtmify.mapping.expressions import OPERATIONS

    docs = (Path(__file__).resolve().parents[1] / "docs" / "mapping-language.md").read_text()
    schema = yamlio.load_schema("mapping")
    for name in OPERATIONS:
        assert name in schema["$defs"]["expression"]["properties"], name
        assert f"{{{name}:" in docs or f"| `{name}`" in docs, name
    derivations = schema["$defs"]["derivation"]["oneOf"]
    names = set(derivations[0]["enum"]) | set(derivations[1]["properties"])
    for name in names:
        assert f"| `{name}`" in docs, name
    for modifier in ("transform", "map", "default", "ct", "as"):
        assert f"| `{modifier}" in docs, modifier
