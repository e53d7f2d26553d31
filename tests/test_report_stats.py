"""Headline statistics of the report: exact values from hand-computable cases."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sdtmify.report.cells import percent, round_half_up
from sdtmify.report.stats import (
    _mann_whitney_counts,
    compute_statistic,
    fisher_exact_2x2,
    kruskal_wallis,
    mann_whitney,
)


def test_fisher_exact_perfect_separation_is_one_over_binomial():
    # 11 benefit all detectable, 10 PD none: only the observed table is as extreme -> 1 / C(21, 11).
    assert fisher_exact_2x2([[11, 0], [0, 10]]) == pytest.approx(1 / math.comb(21, 11), rel=1e-12)


def test_fisher_exact_lady_tasting_tea_two_sided():
    # Fisher's own example: 3 of 4 right each way; two-sided P = (1 + 16 + 16 + 1) / 70.
    assert fisher_exact_2x2([[3, 1], [1, 3]]) == pytest.approx(34 / 70, rel=1e-12)


def test_mann_whitney_exact_for_fully_separated_samples():
    u, p = mann_whitney(pd.Series([1.0, 2.0, 3.0]), pd.Series([4.0, 5.0, 6.0]))
    assert u == 0
    assert p == pytest.approx(2 / math.comb(6, 3))  # exact: 2 of the 20 arrangements are as extreme


def test_mann_whitney_with_ties_uses_normal_approximation_with_corrections():
    u, p = mann_whitney(pd.Series([1.0, 2.0, 2.0, 5.0]), pd.Series([2.0, 3.0, 4.0, 6.0]))
    # Pooled ranks 1, 3, 3, 3, 5, 6, 7, 8: a's rank sum 14, U = 14 - 4*5/2 = 4, one tie of 3.
    variance = 4 * 4 / 12 * ((8 + 1) - (3**3 - 3) / (8 * 7))
    z = (abs(4 - 8) - 0.5) / math.sqrt(variance)
    assert u == 4
    assert p == pytest.approx(math.erfc(z / math.sqrt(2)))


def test_kruskal_wallis_matches_rank_formula():
    h, p = kruskal_wallis(pd.Series([1.0, 2.0, 3.0]), pd.Series([4.0, 5.0, 6.0]))
    expected_h = 12 / (6 * 7) * (6**2 / 3 + 15**2 / 3) - 3 * 7
    assert h == pytest.approx(expected_h)
    assert p == pytest.approx(math.erfc(math.sqrt(expected_h / 2)))  # chi-square, 1 df


def _same(ours: float, theirs) -> bool:
    theirs = float(theirs)
    return ours == theirs or (math.isnan(ours) and math.isnan(theirs))


def test_fisher_exact_is_scipys_p_to_the_last_bit():
    # The report prints the P in full (cells.csv): it must be SciPy's double, not merely close to it.
    from scipy import stats

    rng = np.random.default_rng(84)
    tables = [rng.integers(0, high, size=(2, 2)).tolist() for high in (3, 8, 25, 120) for _ in range(120)]
    tables += [[[11, 0], [0, 10]], [[0, 0], [3, 4]], [[5, 5], [5, 5]], [[1, 9], [11, 3]]]
    wrong = [(t, fisher_exact_2x2(t)) for t in tables if not _same(fisher_exact_2x2(t), stats.fisher_exact(t).pvalue)]
    assert wrong == []


def test_mann_whitney_is_scipys_u_and_p_to_the_last_bit():
    from scipy import stats

    rng = np.random.default_rng(84)
    wrong = []
    for n1, n2, tied in [(3, 3, False), (10, 11, False), (19, 19, False), (8, 30, False), (24, 26, False)] + [
        (int(rng.integers(1, 60)), int(rng.integers(1, 60)), bool(rng.random() < 0.5)) for _ in range(80)
    ]:
        a = pd.Series(rng.integers(0, 7, n1) if tied else rng.normal(size=n1), dtype="float64")
        b = pd.Series(rng.integers(0, 7, n2) if tied else rng.normal(0.4, size=n2), dtype="float64")
        exact = n1 < 50 and n2 < 50 and not pd.concat([a, b]).duplicated().any()
        theirs = stats.mannwhitneyu(a, b, alternative="two-sided", method="exact" if exact else "asymptotic")
        u, p = mann_whitney(a, b)
        if not (_same(u, theirs.statistic) and _same(p, theirs.pvalue)):
            wrong.append((n1, n2, exact, p, float(theirs.pvalue)))
    assert wrong == []


def test_mann_whitney_null_counts_are_all_orderings():
    # Every one of the C(n1 + n2, n1) orderings has one U; U is symmetric about n1 * n2 / 2.
    for n1, n2 in [(1, 1), (3, 4), (10, 11), (40, 49)]:
        counts = _mann_whitney_counts(n1, n2)
        assert sum(counts) == math.comb(n1 + n2, n1)
        assert list(counts) == list(counts[::-1])
    assert list(_mann_whitney_counts(2, 2)) == [1, 1, 2, 1, 1]  # U of the 6 orderings of aabb


def test_kruskal_wallis_is_scipys_h_and_p_to_the_last_bit():
    from scipy import stats

    rng = np.random.default_rng(84)
    wrong = []
    for _ in range(120):
        tied = rng.random() < 0.5
        sizes = rng.integers(1, 40, size=int(rng.integers(2, 5)))
        groups = [pd.Series(rng.integers(0, 5, n) if tied else rng.normal(size=n), dtype="float64") for n in sizes]
        theirs = stats.kruskal(*groups)
        h, p = kruskal_wallis(*groups)
        if not (_same(h, theirs.statistic) and _same(p, theirs.pvalue)):
            wrong.append((list(sizes), tied, h, p, float(theirs.statistic), float(theirs.pvalue)))
    assert wrong == []


def test_kruskal_wallis_all_tied_or_empty_group_is_missing_not_an_error():
    assert all(math.isnan(v) for v in kruskal_wallis(pd.Series([2.0, 2.0]), pd.Series([2.0])))
    assert all(math.isnan(v) for v in kruskal_wallis(pd.Series([1.0, 2.0]), pd.Series([], dtype="float64")))


def test_report_statistics_do_not_import_scipy_stats():
    # scipy.stats costs more than half a second to import at every build; the report needs only
    # scipy.special. A fresh interpreter, since this test session has imported scipy.stats itself.
    # An older SciPy (the floor .ci/deps-check installs) keeps the hypergeometric functions Fisher's test
    # needs out of scipy.special; there that one test falls back to scipy.stats, by design.
    from sdtmify.report import stats

    fisher = "stats.fisher_exact_2x2([[11, 1], [2, 9]])\n" if stats._hypergeom() is not None else ""
    code = (
        "import sys, pandas as pd\n"
        "from sdtmify.report import paper, stats\n"
        f"{fisher}"
        "stats.mann_whitney(pd.Series([1.0, 2.0, 3.0]), pd.Series([4.0, 5.5, 6.0]))\n"
        "stats.kruskal_wallis(pd.Series([1.0, 2.0]), pd.Series([3.0, 4.0]))\n"
        "print(sorted(m for m in sys.modules if m.startswith('scipy.stats')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_round_half_up_rounds_journal_style_not_to_even():
    assert round_half_up(2.5) == 3
    assert round_half_up(0.125, 2) == 0.13
    assert percent(2, 21) == 10  # 9.52 -> 10
    assert percent(11, 21) == 52
    assert percent(1, 8, 1) == 12.5


SUBJECTS = pd.DataFrame(
    {
        "USUBJID": list("ABCDEFG"),
        "BOR": ["CR", "PR", "SD", "PD", "PD", "SD", "NE"],
        "CBRFL": ["Y", "Y", "Y", "N", "N", "Y", "N"],
        "DOSE": [100, 100, 300, 300, 300, 200, 200],
        "PEAK": [1448.0, 124.0, 300.0, 0.0, 0.0, 180.0, None],
        "DLTFL": ["N", "N", "Y", "Y", "N", "N", "N"],
    }
)


def test_frequency_counts_each_level_with_percent_of_population():
    cells = compute_statistic(
        "bor", {"kind": "frequency", "variable": "BOR", "levels": ["CR", "PR", "SD", "PD"]}, SUBJECTS
    )
    assert {k: c.value for k, c in cells.items()} == {"bor/CR": 1, "bor/PR": 1, "bor/SD": 2, "bor/PD": 2}
    assert cells["bor/SD"].display == "2/7 (29%)"
    assert (cells["bor/PD"].count, cells["bor/PD"].n) == (2, 7)


def test_proportion_by_group_uses_each_group_as_denominator():
    spec = {
        "kind": "proportion",
        "numerator": {"DLTFL": "Y"},
        "by": "DOSE",
        "groups": [{"label": "300", "value": 300}, {"label": "200", "value": 200}],
    }
    cells = compute_statistic("dlt", spec, SUBJECTS)
    assert (cells["dlt/300/count"].value, cells["dlt/300/n"].value, cells["dlt/300/percent"].value) == (2, 3, 67)
    assert (cells["dlt/200/count"].value, cells["dlt/200/n"].value) == (0, 2)
    assert cells["dlt/300/count"].display == "2/3 (67%)"


def test_fisher_statistic_builds_its_table_from_declared_categories():
    spec = {
        "kind": "fisher_exact",
        "rows": [{"label": "benefit", "where": {"CBRFL": "Y"}}, {"label": "none", "where": {"CBRFL": "N"}}],
        "columns": [
            {"label": "detected", "where": {"PEAK": {"gt": 0}}},
            {"label": "not", "where": {"PEAK": {"le": 0}}},
        ],
    }
    cells = compute_statistic("f", spec, SUBJECTS)
    # G has no peak at all: in neither column, so the table holds 6 subjects.
    assert [cells[f"f/{r}/{c}"].value for r in ("benefit", "none") for c in ("detected", "not")] == [4, 0, 0, 2]
    assert cells["f/p"].value == pytest.approx(1 / math.comb(6, 2))


def test_range_ignores_missing_values_and_honours_where():
    cells = compute_statistic("r", {"kind": "range", "variable": "PEAK", "where": {"CBRFL": "Y"}}, SUBJECTS)
    assert (cells["r/min"].value, cells["r/max"].value) == (124, 1448)


def test_synthetic_statistic_carries_its_reason_on_every_cell():
    spec = {
        "kind": "kruskal_wallis",
        "variable": "PEAK",
        "by": "CBRFL",
        "synthetic": True,
        "groups": [{"label": "Y", "value": "Y"}, {"label": "N", "value": "N"}],
    }
    cells = compute_statistic("k", spec, SUBJECTS)
    assert cells["k/Y/n"].value == 4 and cells["k/N/n"].value == 2  # G's missing value is dropped
    assert all(c.synthetic for c in cells.values())
