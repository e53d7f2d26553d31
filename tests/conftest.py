"""Shared fixtures: the project root, and ../shared reference material (skip with a reason if absent)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# `pytest tests/fuzz --hypothesis-profile fuzz`: 10,000 examples per fuzz target (not in the default run,
# where tests/fuzz uses a few dozen; see docs/inputs.md)
settings.register_profile(
    "fuzz",
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared() -> Path:
    """``../shared`` (reference XPT, CT, schemas, CORE results). CI has it; elsewhere we skip."""
    if not SHARED.is_dir():
        pytest.skip(f"reference material not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def rscript() -> str:
    """Path of Rscript with haven installed, or skip saying why."""
    import subprocess

    exe = shutil.which("Rscript")
    if not exe:
        pytest.skip("Rscript not installed (apt-get install r-base-core r-cran-haven; dev.sh test does this as root)")
    probe = subprocess.run([exe, "-e", "library(haven)"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("R package haven not installed (apt-get install r-cran-haven)")
    return exe


@pytest.fixture(scope="session")
def nci84_output(tmp_path_factory):
    """NCI84 built once, every stage (SDTM, ADaM, XPT, Dataset-JSON, define, validation, report), into a
    temporary folder: ``(folder, BuildResult)``. Tests read the files on disk, as users and reviewers do."""
    from sdtmify.build import build_study

    out = tmp_path_factory.mktemp("nci84_output") / "NCI84"
    return out, build_study("NCI84", out_dir=str(out))
