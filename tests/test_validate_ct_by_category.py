"""CT2038: RSTESTCD is held to the codelist of its category. CDISC CT gives the oncology responses
ONCRTSCD and each clinical classification instrument (a CCCAT term such as KPS SCALE, CDISC synonym
KPSS01) its own test-code codelist (KPSS01TC), so a Karnofsky record is checked against KPSS01TC, a
RECIST record against ONCRTSCD, and a wrong code fires in either."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.validate import study

from sdtmify.validate.context import IGStandards, load_terminology
from sdtmify.validate.engine import Context, details, run_rule
from sdtmify.validate.rules import load_rules

RULE = next(r for r in load_rules() if r.id == "CT2038")
CLEAN = study.build_frames()
KPS = {"RSCAT": "KPS SCALE", "RSTEST": "KPSS01-Karnofsky Performance Status", "RSORRES": "80", "RSSTRESC": "80"}


@pytest.fixture(scope="module", params=["full package", "shipped subset"])
def terminology(request, shared):
    if request.param == "full package":
        return load_terminology(shared / "reference" / "ct" / "SDTM_Terminology_2025-03.txt.xz")
    return load_terminology()


def run(terminology, testcd: str, category: str = "KPS SCALE"):
    """CT2038 on the clean study plus one RS record (row 5) of ``category`` with RSTESTCD ``testcd``."""
    frames = study.mutate(CLEAN, {"append": {"RS": {"from": 0, "set": {**KPS, "RSCAT": category, "RSTESTCD": testcd}}}})
    ctx = Context(tables=study.tables(frames), standards=IGStandards(), ct=terminology)
    result, hits = run_rule(RULE, ctx)
    rows = sorted({int(i) + 1 for h in hits for i in np.flatnonzero(h.mask)})
    return result, hits, rows


def test_karnofsky_test_code_passes_against_its_own_codelist(terminology):
    result, _, rows = run(terminology, "KPSS0101")
    assert (result.status, rows) == ("passed", [])


def test_wrong_karnofsky_test_code_is_an_error_naming_kpss01tc(terminology):
    result, hits, rows = run(terminology, "KPSS0102")
    assert (result.status, rows) == ("failed", [5])
    row = details(RULE, hits, 10).iloc[0]
    assert row["severity"] == "error"  # KPSS01TC is not extensible
    assert "KPSS0102" in row["message"] and "(C100170, non-extensible)" in row["message"]


def test_oncology_code_under_the_karnofsky_category_fires(terminology):
    _, _, rows = run(terminology, "OVRLRESP")
    assert rows == [5]


def test_karnofsky_code_under_recist_is_held_to_oncrtscd(terminology):
    result, hits, rows = run(terminology, "KPSS0101", category="RECIST 1.1")
    assert (result.status, rows) == ("failed", [5])
    row = details(RULE, hits, 10).iloc[0]
    assert row["severity"] == "warning"  # ONCRTSCD is extensible: a sponsor extension
    assert "(C96782, extensible)" in row["message"]
