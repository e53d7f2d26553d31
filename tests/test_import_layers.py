"""The import-layer contract of pyproject.toml [tool.importlinter], run as `lint-imports` (a process).

Layers import only downward, the writers, the validator and the report never import one another, and
no two sibling modules import each other (function-local imports included: the contract sees them)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = (
    "sdtmify layers: each package imports only downward",
    "no import cycles between sibling modules or packages, at any depth",
    "writers, validate and report read built datasets, never one another",
)


def _lint_imports() -> str:
    if importlib.util.find_spec("importlinter") is None:
        pytest.skip("import-linter is not installed (pip install import-linter)")
    beside = Path(sys.executable).with_name("lint-imports")
    found = str(beside) if beside.is_file() else shutil.which("lint-imports")
    if found is None:
        pytest.skip("the lint-imports console script is not on PATH")
    return found


def _run(project: Path) -> subprocess.CompletedProcess:
    """lint-imports on ``project`` (its pyproject.toml and its src/ first on the path), no cache written."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [_lint_imports(), "--no-cache", "--no-logo"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_source_tree_keeps_every_import_contract():
    done = _run(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in CONTRACTS:
        assert f"{name} KEPT" in done.stdout
    assert "Contracts: 3 kept, 0 broken." in done.stdout


def _copy_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "src" / "sdtmify", project / "src" / "sdtmify", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", project / "pyproject.toml")
    return project


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")


def test_an_upward_import_breaks_the_layers_and_names_the_line(tmp_path):
    project = _copy_project(tmp_path)
    # the metadata model reaching up into the SDTM engine, hidden inside a function
    _append(
        project / "src" / "sdtmify" / "metadata" / "oids.py",
        "\n\ndef _probe():\n    from ..mapping import engine  # noqa: F401",
    )
    done = _run(project)
    assert done.returncode == 1
    assert f"{CONTRACTS[0]} BROKEN" in done.stdout
    assert "sdtmify.metadata is not allowed to import sdtmify.mapping" in done.stdout
    assert "sdtmify.metadata.oids -> sdtmify.mapping.engine" in done.stdout


def test_the_validator_importing_a_writer_breaks_independence(tmp_path):
    project = _copy_project(tmp_path)
    _append(project / "src" / "sdtmify" / "validate" / "hits.py", "from ..writers import xpt  # noqa: F401")
    done = _run(project)
    assert done.returncode == 1
    assert f"{CONTRACTS[2]} BROKEN" in done.stdout
    assert "sdtmify.validate.hits -> sdtmify.writers.xpt" in done.stdout


def test_a_cycle_between_sibling_modules_is_refused(tmp_path):
    project = _copy_project(tmp_path)
    # the cycle this contract replaced: the ARM writer and the define writer importing each other
    _append(project / "src" / "sdtmify" / "writers" / "define_arm.py", "from . import define  # noqa: F401")
    done = _run(project)
    assert done.returncode == 1
    assert f"{CONTRACTS[1]} BROKEN" in done.stdout
    assert "No cycles are allowed in sdtmify.writers." in done.stdout
