"""Same inputs, same bytes, wherever they live: NCI84 built from two study folders at different depths
into two output folders gives identical files, and none of them names a path, the user or the machine.

One build is the session's (the checkout's mappings/NCI84, in-process); the other runs the installed
console script as a process on a copy of the study in a deeper temporary folder."""

from __future__ import annotations

import getpass
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

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def console_script() -> str:
    """The `sdtmify` console script of the interpreter running the tests."""
    beside = Path(sys.executable).with_name("sdtmify")
    found = str(beside) if beside.is_file() else shutil.which("sdtmify")
    if not found:
        pytest.skip("the sdtmify console script is not installed (pip install -e .)")
    return found


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def texts_of(files: dict[str, bytes]) -> dict[str, str]:
    """Every text in the outputs, with the members of the zip containers (xlsx) opened; images left out
    (the byte comparison covers them)."""
    texts = {}
    for name, data in files.items():
        if name.endswith(".png"):
            continue
        if name.endswith(".xlsx"):
            with zipfile.ZipFile(io.BytesIO(data)) as book:
                for member in book.namelist():
                    texts[f"{name}!{member}"] = book.read(member).decode("utf-8", errors="replace")
            continue
        texts[name] = data.decode("utf-8", errors="replace")
    return texts


@pytest.fixture(scope="module")
def second_build(tmp_path_factory) -> Path:
    """NCI84 copied three folders deeper and built there by the console script, run from that folder."""
    base = tmp_path_factory.mktemp("elsewhere")
    study = base / "a" / "b" / "c" / "NCI84"
    shutil.copytree(ROOT / "mappings" / "NCI84", study, ignore=shutil.ignore_patterns("__pycache__", "generator"))
    out = base / "out" / "NCI84"
    # SOURCE_DATE_EPOCH, if set, stays: the session's in-process build sees it too
    env = {k: v for k, v in os.environ.items() if k != "SDTMIFY_HOME"}
    run = subprocess.run(
        [console_script(), "build", "--study", str(study), "--out", str(out), "-q"],
        cwd=study.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr
    return out


def test_two_folders_give_byte_identical_outputs(nci84_output, second_build):
    first, _ = nci84_output
    one, two = files_of(first), files_of(second_build)
    assert sorted(one) == sorted(two)
    assert len(one) > 100 and "validation/validation.json" in one and "sdtm/define.xml" in one
    differing = [name for name in one if one[name] != two[name]]
    assert differing == []


def test_no_output_names_a_path_the_user_or_the_machine(nci84_output, second_build):
    first, _ = nci84_output
    leaks = {
        str(ROOT),
        str(first.parent),
        str(second_build.parent.parent),
        tempfile.gettempdir() + os.sep,
        str(Path.home()) + os.sep,
    }
    # The user and machine names only when distinctive enough to search for as words ("vm" or "root"
    # also occur in ordinary text and CSS); the byte comparison above covers the rest.
    names = {n for n in (getpass.getuser(), socket.gethostname()) if len(n) >= 5}
    found = []
    for where, text in texts_of(files_of(second_build)).items():
        found += [f"{where}: {leak}" for leak in leaks if leak in text]
        found += [f"{where}: {name}" for name in names if f" {name}" in text or f"{name}/" in text]
    assert found == []


def test_validation_report_names_the_ct_by_package_not_by_path(second_build):
    inputs = json.loads((second_build / "validation" / "validation.json").read_text(encoding="utf-8"))["inputs"]
    assert inputs["ct"] == "shipped subset: SDTM 2025-03-28, ADaM 2025-03-28, DEFINE-XML 2025-03-28"
