"""derive_var_aval_blq: results below the lower limit of quantitation get AVAL by the declared rule, with
DTYPE from ADaM CT (HALFLLOQ, LLOQ), and AVALC keeps the reported text. NCI84 declares half_lloq, so
every subject has an IFN-gamma BASE (18 of 21 baselines were "<10": not detected before IL-12)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from sdtmify.adam.bds import derive_var_aval_blq
from sdtmify.adam.checks import AdamError

RECORDS = pd.DataFrame({"AVALC": ["<10", "12", "<5", ""], "AVAL": [np.nan, 12.0, np.nan, np.nan]})


@pytest.mark.parametrize(
    ("rule", "aval", "dtype"),
    [
        ("half_lloq", [5.0, 12.0, 2.5, np.nan], ["HALFLLOQ", "", "HALFLLOQ", ""]),
        ("lloq", [10.0, 12.0, 5.0, np.nan], ["LLOQ", "", "LLOQ", ""]),
        ("missing", [np.nan, 12.0, np.nan, np.nan], ["", "", "", ""]),
    ],
)
def test_below_limit_results_follow_the_declared_rule(rule, aval, dtype):
    result = derive_var_aval_blq(RECORDS, rule=rule)
    np.testing.assert_array_equal(result["AVAL"].to_numpy(), np.array(aval))
    assert result["DTYPE"].tolist() == dtype
    assert result["AVALC"].tolist() == ["<10", "12", "<5", ""]  # the reported text is kept


def test_a_less_than_without_a_limit_is_an_error():
    with pytest.raises(AdamError, match=r"AVALC '<LLOQ' starts with '<' but no number \(the limit\) follows"):
        derive_var_aval_blq(pd.DataFrame({"AVALC": ["<LLOQ"], "AVAL": [np.nan]}), rule="half_lloq")


def test_an_unknown_rule_is_an_error():
    with pytest.raises(AdamError, match="rule 'zero' unknown; use one of half_lloq, lloq, missing"):
        derive_var_aval_blq(RECORDS, rule="zero")


@pytest.fixture(scope="module")
def adlb(nci84_output):
    folder, _ = nci84_output
    frame, _ = pyreadstat.read_xport(str(folder / "adam" / "adlb.xpt"))
    return frame


def test_nci84_ifng_baseline_exists_for_every_subject(adlb):
    baseline = adlb[(adlb["PARAMCD"] == "IFNG") & (adlb["ABLFL"] == "Y")]
    assert baseline["USUBJID"].nunique() == 21 and baseline["BASE"].notna().all()
    below = baseline[baseline["BASEC"] == "<10"]
    assert len(below) == 18 and set(below["BASE"]) == {5.0} and set(below["DTYPE"]) == {"HALFLLOQ"}
    measured = baseline[baseline["BASEC"] != "<10"].set_index("SUBJID")
    assert measured["BASE"].to_dict() == {"B": 12.0, "I": 14.0, "Q": 12.0}


def test_nci84_every_below_limit_result_and_only_those_are_imputed(adlb):
    below = adlb["AVALC"].str.startswith("<")
    assert below.sum() == 1070
    assert (adlb.loc[below, "DTYPE"] == "HALFLLOQ").all() and (adlb.loc[~below, "DTYPE"] == "").all()
    limits = adlb.loc[below, "AVALC"].str[1:].astype(float)
    np.testing.assert_array_equal(adlb.loc[below, "AVAL"].to_numpy(), (limits / 2).to_numpy())


def test_nci84_adrg_states_the_imputation(nci84_output):
    folder, _ = nci84_output
    lines = (folder / "adam" / "adrg.md").read_text(encoding="utf-8").splitlines()
    at = lines.index("### 4.2 Imputations")
    assert lines[at + 2].startswith(
        "- ADLB (DTYPE: HALFLLOQ 1,070): A result reported below the lower limit of quantitation"
    )
    assert "AVAL is one half of that limit" in lines[at + 2]
