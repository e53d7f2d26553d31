"""SD1638: results below the lower limit of quantitation (SDTMIG 3.4 4.5.1.2): a '<' result has no LBSTRESN,
and a numeric LBSTRESN below LBLLOQ is reported as '<' the limit. NCI84's 1,070 cytokine results below
their LLOQ ("<10" IFN-gamma, "<5" TNF-alpha, ...) pass; breaking either direction fires."""

from __future__ import annotations

import numpy as np
import pytest

from sdtmify.validate.data import load_folder
from sdtmify.validate.engine import Context, run_rule
from sdtmify.validate.rules import load_rules

RULE = next(r for r in load_rules() if r.id == "SD1638")


@pytest.fixture(scope="module")
def lb(nci84_output):
    folder, _ = nci84_output
    return load_folder(folder / "sdtm", "SDTM")


def flagged(tables, frame=None) -> tuple[str, list[int]]:
    if frame is not None:
        tables = dict(tables, LB=tables["LB"].with_frame(frame))
    result, hits = run_rule(RULE, Context(tables=tables))
    return result.status, sorted(int(i) for h in hits if h.dataset == "LB" for i in np.flatnonzero(h.mask))


def test_nci84_below_limit_results_are_reported_as_less_than_the_lloq(lb):
    below = lb["LB"].frame["LBORRES"].str.startswith("<")
    assert below.sum() == 1070
    assert flagged(lb) == ("passed", [])


def test_a_number_below_the_lloq_fires(lb):
    frame = lb["LB"].frame.copy()
    row = int(np.flatnonzero(frame["LBORRES"] == "<10")[0])  # an IFN-gamma "<10" (LBLLOQ 10)
    frame.loc[row, ["LBORRES", "LBSTRESC", "LBSTRESN"]] = ["7", "7", 7.0]
    assert flagged(lb, frame) == ("failed", [row])


def test_a_less_than_result_with_a_numeric_standard_result_fires(lb):
    frame = lb["LB"].frame.copy()
    row = int(np.flatnonzero(frame["LBORRES"] == "<5")[0])
    frame.loc[row, "LBSTRESN"] = 5.0
    assert flagged(lb, frame) == ("failed", [row])


def test_a_number_at_the_lloq_is_a_result(lb):
    frame = lb["LB"].frame.copy()
    row = int(np.flatnonzero(frame["LBORRES"] == "<10")[0])
    frame.loc[row, ["LBORRES", "LBSTRESC", "LBSTRESN"]] = ["10", "10", 10.0]
    assert flagged(lb, frame) == ("passed", [])
