"""`sdtmify build` as a whole: reproducible to the byte, atomic on failure, timestamps from config.

The second build of the byte-identity tests runs the installed console script as a real process, on a copy of
the study in a deeper temporary folder: same inputs, same bytes, wherever they live, and no output names a
path, the user or the machine."""

from __future__ import annotations

import getpass
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from sdtmify.build import build_study
from sdtmify.cli import main
from sdtmify.errors import InputError
from sdtmify.guard import OutputError, write_manifest

ROOT = Path(__file__).resolve().parents[1]
# The console script pip installed (`sdtmify = "sdtmify.cli:main"`): beside this interpreter, else on PATH.
SDTMIFY = shutil.which("sdtmify", path=str(Path(sys.executable).parent)) or shutil.which("sdtmify") or "sdtmify"

SDTM = (
    "ae",
    "cm",
    "cv",
    "dm",
    "ds",
    "dv",
    "ex",
    "ie",
    "lb",
    "mh",
    "mi",
    "rs",
    "se",
    "suppae",
    "suppdm",
    "sv",
    "ta",
    "te",
    "ti",
    "tr",
    "ts",
    "tu",
    "tv",
)
ADAM = ("adae", "adlb", "adrs", "adsl", "adtte")
SD1226 = (
    "EPOCH should be populated on every clinical subject-level observation (Events, Interventions, "
    "Findings records); a record with EPOCH null is flagged."
)


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def two_builds(nci84_output, tmp_path_factory):
    """The session's build, and a second one by the installed `sdtmify` script in a separate process: of a copy
    of NCI84 three folders deeper, named by its path, run from that folder (outside the checkout, no
    SDTMIFY_HOME), with another hash seed (set or dict ordering that depends on string hashing would show up
    as a difference) and ``--fail-on warning`` (NCI84's explained warnings give exit 1, every file written).
    SOURCE_DATE_EPOCH, if set, stays: the session's in-process build sees it too.
    Returns (first folder, second folder, first result, process)."""
    first, first_result = nci84_output
    base = tmp_path_factory.mktemp("elsewhere")
    study = base / "a" / "b" / "c" / "NCI84"
    shutil.copytree(ROOT / "mappings" / "NCI84", study, ignore=shutil.ignore_patterns("__pycache__", "generator"))
    second = base / "out" / "NCI84"
    env = {k: v for k, v in os.environ.items() if k != "SDTMIFY_HOME"}
    env["PYTHONHASHSEED"] = "4321"
    done = subprocess.run(
        [str(SDTMIFY), "-q", "build", "--study", str(study), "--out", str(second), "--fail-on", "warning"],
        cwd=study.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return first, second, first_result, done


@pytest.mark.slow
def test_console_script_builds_nci84_and_prints_one_line_per_stage(two_builds):
    first, second, result, done = two_builds
    assert (done.returncode, done.stderr) == (1, "")  # --fail-on warning: findings at or above it
    lines = done.stdout.splitlines()
    at = lines.index(f"sdtmify build NCI84 -> {second}")
    # the table is printed before what was written, each message whole (never cut at 80 in a pipe)
    assert next(line for line in lines[:at] if line.startswith("SD1226")).endswith(SD1226)
    # first the findings table and the totals (results: shown with -q), then what was written where
    assert [line.split()[:4] for line in lines[1:at] if line.startswith("SD")] == [
        ["SD1226", "warning", "CM", "21"],
        ["SD1226", "warning", "RS", "21"],
        ["SD1244", "warning", "SV", "10"],
        ["SD1841", "warning", "TS", "1"],
    ]
    assert lines[at - 2].startswith("validation: 0 errors, 53 warnings, 0 notices;")
    assert lines[at:] == [
        f"sdtmify build NCI84 -> {second}",
        "  SDTM          74 files in sdtm/ (2 html, 23 json, 1 md, 23 ndjson, 1 xml, 23 xpt, 1 xsl)",
        "  metadata       2 files in metadata/ (2 json)",
        "  lineage       28 files in lineage/ (28 csv)",
        "  ADaM          20 files in adam/ (2 html, 5 json, 1 md, 5 ndjson, 1 xml, 5 xpt, 1 xsl)",
        "  validation     2 files in validation/ (1 json, 1 xlsx)",
        "  report        19 files in report/ (6 csv, 4 html, 6 md, 3 png)",
        "  readme         1 files in README.md (1 md)",
        "  conformance errors: 0, warnings: 53, notices: 0 (all explained by validation-notes.yaml): "
        "validation/validation.xlsx",
        "  report      all published values reproduced: report/comparison.md",
    ]
    # the in-process build of the session said the same, line for line, but for its folder
    assert result.summary().splitlines()[1:] == lines[at + 1 :]


@pytest.mark.slow
def test_same_inputs_give_byte_identical_outputs(two_builds):
    first, second, _, done = two_builds
    assert done.returncode == 1, done.stderr
    one, two = _digests(first), _digests(second)
    assert one.keys() == two.keys()
    assert len(one) > 100 and "validation/validation.json" in one and "sdtm/define.xml" in one
    differing = sorted(name for name in one if one[name] != two[name])
    assert differing == []


def _texts(folder: Path) -> dict[str, str]:
    """Every text in the outputs, with the members of the zip containers (xlsx) opened; images left out
    (the byte comparison covers them)."""
    texts = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if not path.is_file() or name.endswith(".png"):
            continue
        if name.endswith(".xlsx"):
            with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as book:
                for member in book.namelist():
                    texts[f"{name}!{member}"] = book.read(member).decode("utf-8", errors="replace")
            continue
        texts[name] = path.read_bytes().decode("utf-8", errors="replace")
    return texts


@pytest.mark.slow
def test_no_output_names_a_path_the_user_or_the_machine(two_builds):
    first, second, _, _ = two_builds
    leaks = {
        str(ROOT),
        str(first.parent),
        str(second.parent.parent),
        tempfile.gettempdir() + os.sep,
        str(Path.home()) + os.sep,
    }
    # The user and machine names only when distinctive enough to search for as words ("vm" or "root"
    # also occur in ordinary text and CSS); the byte comparison covers the rest.
    names = {n for n in (getpass.getuser(), socket.gethostname()) if len(n) >= 5}
    found = []
    for where, text in _texts(second).items():
        found += [f"{where}: {leak}" for leak in leaks if leak in text]
        found += [f"{where}: {name}" for name in names if f" {name}" in text or f"{name}/" in text]
    assert found == []


@pytest.mark.slow
def test_validation_report_names_the_ct_by_package_not_by_path(two_builds):
    _, second, _, _ = two_builds
    validation = json.loads((second / "validation" / "validation.json").read_text(encoding="utf-8"))
    assert validation["inputs"]["ct"] == "shipped subset: SDTM 2025-03-28, ADaM 2025-03-28, DEFINE-XML 2025-03-28"
    assert validation["summary"]["warnings"] == 53


def test_build_writes_every_stage_and_lists_every_file_it_wrote(nci84_output):
    folder, result = nci84_output
    on_disk = set(_digests(folder))
    # every file but the manifest, which lists them all (guard.py)
    assert on_disk - {".sdtmify-output.json"} == {path for paths in result.written.values() for path in paths}
    assert list(result.written) == ["SDTM", "metadata", "lineage", "ADaM", "validation", "report", "readme"]
    assert {p for p in on_disk if p.startswith("sdtm/") and p.endswith(".xpt")} == {f"sdtm/{d}.xpt" for d in SDTM}
    assert {p for p in on_disk if p.startswith("sdtm/dataset-json/")} == {
        f"sdtm/dataset-json/{d}.{kind}" for d in SDTM for kind in ("json", "ndjson")
    }
    assert {p for p in on_disk if p.startswith("adam/") and p.endswith(".xpt")} == {f"adam/{d}.xpt" for d in ADAM}
    assert set(result.written["lineage"]) == {f"lineage/{d}.csv" for d in SDTM + ADAM}
    for needed in ("sdtm/define.xml", "adam/define.xml", "sdtm/define.html", "adam/define.html"):
        assert needed in on_disk
    assert result.written["metadata"] == ["metadata/adam.json", "metadata/sdtm.json"]
    assert result.written["validation"] == ["validation/validation.json", "validation/validation.xlsx"]
    assert (result.exit_code, result.findings, result.unexplained, result.report_mismatches) == (
        0,
        {"error": 0, "warning": 53, "notice": 0},
        0,
        0,
    )


@pytest.mark.slow
def test_no_temporary_files_are_left_behind(two_builds):
    first, second, _, _ = two_builds
    assert [p.name for p in first.parent.iterdir()] == ["NCI84"]
    assert [p.name for p in second.parent.iterdir()] == ["NCI84"]
    assert [p for p in (*first.rglob("*"), *second.rglob("*")) if p.name.endswith(".tmp")] == []


def _break_ae_mapping(home: Path) -> None:
    ae = home / "mappings" / "NCI84" / "sdtm" / "ae.yaml"
    ae.write_text(ae.read_text().replace("ae_term", "ae_term_typo", 1))


def test_failed_build_leaves_the_previous_output_untouched(mini_home):
    out = mini_home / "output" / "NCI84"
    out.mkdir(parents=True)
    (out / "marker.txt").write_text("previous build")
    write_manifest(out, "NCI84")  # as if sdtmify had written it
    before = _digests(out)
    _break_ae_mapping(mini_home)
    with pytest.raises(InputError) as caught:
        build_study("NCI84")
    assert str(caught.value).startswith("mappings/NCI84/sdtm/ae.yaml:")
    assert "ae_term_typo" in str(caught.value)
    assert _digests(out) == before
    assert [p.name for p in out.parent.iterdir()] == ["NCI84"]


def test_one_pass_no_xpt_read_back_and_no_sdtm_frame_kept_for_the_report(mini_home, monkeypatch):
    """Validation (and the report) take the datasets from the frames in memory (writers.readback), never
    reading an XPT file back; and peak memory is not the sum of the stages: once the guides are written no
    frame of the SDTM bundle (nor its lineage) is kept alive for the report and the README."""
    import gc
    import weakref

    import sdtmify.build as build_module
    import sdtmify.writers.readme as readme_module

    def read_back(path, *args, **kwargs):
        raise AssertionError(f"the build read {path} back")

    frames: list[weakref.ref] = []
    build_sdtm, write_readme = build_module.build_sdtm, readme_module.write_readme

    def keep_track(*args, **kwargs):
        bundle = build_sdtm(*args, **kwargs)
        for built in bundle.datasets.values():
            frames.append(weakref.ref(built.frame))
            frames.extend([weakref.ref(built.lineage)] if built.lineage is not None else [])
        return bundle

    alive_at_the_end: list[int] = []

    def count_alive(*args, **kwargs):
        gc.collect()
        alive_at_the_end.append(sum(ref() is not None for ref in frames))
        return write_readme(*args, **kwargs)

    monkeypatch.setattr("sdtmify.readers.read_xpt_values", read_back)
    monkeypatch.setattr(build_module, "build_sdtm", keep_track)
    monkeypatch.setattr(readme_module, "write_readme", count_alive)
    result = build_study("NCI84")
    assert result.written["validation"] == ["validation/validation.json", "validation/validation.xlsx"]
    assert sum(result.findings.values()) > 0  # the rules ran on the data
    assert len(frames) > 20 and alive_at_the_end == [0]


def test_an_output_folder_sdtmify_did_not_write_is_refused_before_building(mini_home):
    out = mini_home / "output" / "NCI84"
    out.mkdir(parents=True)
    (out / "thesis.docx").write_text("months of work")
    with pytest.raises(OutputError) as caught:
        build_study("NCI84")
    assert f"output folder {out} exists and it was not written by sdtmify" in str(caught.value)
    assert [p.name for p in out.iterdir()] == ["thesis.docx"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["NCI84"]


def test_cli_reports_the_broken_mapping_with_exit_2(mini_home, capsys):
    _break_ae_mapping(mini_home)
    assert main(["build", "--study", "NCI84", "--quiet"]) == 2
    captured = capsys.readouterr()
    assert "ae.yaml:" in captured.err and "ae_term_typo" in captured.err
    assert captured.out == ""
    assert not (mini_home / "output" / "NCI84").exists()
    assert list((mini_home / "output").rglob("*")) == []  # no half-written folder either


def test_source_date_epoch_sets_every_timestamp(mini_home, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1262304000")  # 2010-01-01T00:00:00Z
    out = tmp_path / "NCI84"
    build_study("NCI84", out_dir=str(out), validate=False, report=False)
    header = (out / "sdtm" / "dm.xpt").read_bytes()[:240]
    assert header.count(b"01JAN10:00:00:00") == 2
    assert 'CreationDateTime="2010-01-01T00:00:00"' in (out / "sdtm" / "define.xml").read_text()
