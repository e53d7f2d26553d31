"""The SAS-written reference XPT files in ../shared/reference/xpt, shared by the XPT and convert tests."""

from __future__ import annotations

from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "xpt"
FILES = sorted(p.relative_to(REFERENCE).as_posix() for p in REFERENCE.glob("*/*.xpt")) or ["(none)"]
# Files holding Windows-1252 text (a right single quotation mark, 0x92, in TS.TSVAL).
CP1252 = {"sdtm/ts.xpt"}


def reference(shared: Path, name: str) -> Path:
    """One reference file, or skip with the reason when ../shared lacks it."""
    path = shared / "reference" / "xpt" / name
    if not path.is_file():
        pytest.skip(f"no reference XPT files under {shared / 'reference' / 'xpt'}")
    return path
