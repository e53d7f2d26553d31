"""The ``project`` fixture: a throw-away project root holding the 3-patient NCI84 mini study."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "studies"))

from nci84_mini import write_mini


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """tmp root with mappings/MINI (the mini study) and specs/, and no output yet."""
    study = write_mini(tmp_path)
    study.rename(tmp_path / "mappings" / "MINI")
    (tmp_path / "specs").mkdir()
    monkeypatch.delenv("SDTMIFY_HOME", raising=False)
    return tmp_path
