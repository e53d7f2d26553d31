"""`sdtmify build` as a whole: reproducible to the byte, atomic on failure, timestamps from config."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sdtmify.build import build_study
from sdtmify.cli import main
from sdtmify.errors import InputError
from sdtmify.guard import OutputError, write_manifest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def two_builds(nci84_output, tmp_path_factory):
    """The session's build, and a second one in a separate process with another hash seed, so that set or
    dict ordering that depends on string hashing would show up as a difference."""
    first, first_result = nci84_output
    second = tmp_path_factory.mktemp("second") / "NCI84"
    env = {**os.environ, "PYTHONHASHSEED": "4321"}
    env.pop("SOURCE_DATE_EPOCH", None)
    done = subprocess.run(
        [sys.executable, "-m", "sdtmify.cli", "-q", "build", "--study", "NCI84", "--out", str(second)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return first, second, [first_result]


def test_same_inputs_give_byte_identical_outputs(two_builds):
    first, second, _ = two_builds
    one, two = _digests(first), _digests(second)
    assert one.keys() == two.keys()
    differing = sorted(name for name in one if one[name] != two[name])
    assert differing == []


def test_build_writes_every_stage(two_builds):
    first, _, results = two_builds
    names = set(_digests(first))
    for dataset in ("dm", "ex", "ae", "rs", "lb", "ds", "ts", "ta", "te", "tv", "ti", "sv", "suppdm", "suppae"):
        assert f"sdtm/{dataset}.xpt" in names
        assert f"sdtm/dataset-json/{dataset}.json" in names
    for dataset in ("adsl", "adrs", "adtte", "adae", "adlb"):
        assert f"adam/{dataset}.xpt" in names
    for needed in (
        "sdtm/define.xml",
        "adam/define.xml",
        "sdtm/define.html",
        "metadata/sdtm.json",
        "lineage/dm.csv",
        "validation/validation.json",
        "report/comparison.csv",
    ):
        assert needed in names
    assert results[0].exit_code == 0, results[0].summary()
    assert results[0].report_mismatches == 0
    assert "conformance errors: 0," in results[0].summary()


def test_no_temporary_files_are_left_behind(two_builds):
    first, _, _ = two_builds
    leftovers = [p.name for p in first.parent.iterdir() if p.name != "NCI84"]
    leftovers += [p.name for p in first.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def _study_copy(tmp_path: Path) -> Path:
    """A project root holding a copy of NCI84's mappings and the real specs."""
    root = tmp_path / "project"
    (root / "mappings").mkdir(parents=True)
    shutil.copytree(ROOT / "mappings" / "NCI84", root / "mappings" / "NCI84")
    (root / "specs").symlink_to(ROOT / "specs")
    return root


def test_failed_build_leaves_the_previous_output_untouched(tmp_path, monkeypatch):
    root = _study_copy(tmp_path)
    monkeypatch.setenv("SDTMIFY_HOME", str(root))
    out = root / "output" / "NCI84"
    out.mkdir(parents=True)
    (out / "marker.txt").write_text("previous build")
    write_manifest(out, "NCI84")  # as if sdtmify had written it
    before = _digests(out)

    ae = root / "mappings" / "NCI84" / "sdtm" / "ae.yaml"
    ae.write_text(ae.read_text().replace("ae_term", "ae_term_typo", 1))
    with pytest.raises(InputError) as caught:
        build_study("NCI84")
    assert "ae.yaml" in str(caught.value)
    assert "ae_term_typo" in str(caught.value)
    assert _digests(out) == before
    assert [p.name for p in out.parent.iterdir()] == ["NCI84"]


def test_an_output_folder_sdtmify_did_not_write_is_refused_before_building(tmp_path, monkeypatch):
    root = _study_copy(tmp_path)
    monkeypatch.setenv("SDTMIFY_HOME", str(root))
    out = root / "output" / "NCI84"
    out.mkdir(parents=True)
    (out / "thesis.docx").write_text("months of work")
    with pytest.raises(OutputError) as caught:
        build_study("NCI84")
    assert f"output folder {out} exists and it was not written by sdtmify" in str(caught.value)
    assert [p.name for p in out.iterdir()] == ["thesis.docx"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["NCI84"]


def test_cli_reports_the_broken_mapping_with_exit_2(tmp_path, monkeypatch, capsys):
    root = _study_copy(tmp_path)
    monkeypatch.setenv("SDTMIFY_HOME", str(root))
    ae = root / "mappings" / "NCI84" / "sdtm" / "ae.yaml"
    ae.write_text(ae.read_text().replace("ae_term", "ae_term_typo", 1))
    assert main(["build", "--study", "NCI84", "--quiet"]) == 2
    captured = capsys.readouterr()
    assert "ae.yaml:" in captured.err and "ae_term_typo" in captured.err
    assert captured.out == ""
    assert not (root / "output" / "NCI84").exists()


def test_source_date_epoch_sets_every_timestamp(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1262304000")  # 2010-01-01T00:00:00Z
    out = tmp_path / "NCI84"
    build_study("NCI84", out_dir=str(out), validate=False, report=False)
    header = (out / "sdtm" / "dm.xpt").read_bytes()[:240]
    assert header.count(b"01JAN10:00:00:00") == 2
    assert 'CreationDateTime="2010-01-01T00:00:00"' in (out / "sdtm" / "define.xml").read_text()
