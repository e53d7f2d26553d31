"""Headline statistics over the population, one function per statistic, each returning cells.

Every statistic may restrict the population (``where``) and be marked ``synthetic`` when it rests
on per-subject values the publication does not give (reconstructed data): it is then shown beside
the published value but never counted as a mismatch."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .categories import as_category, category_label, category_mask
from .cells import Cell, format_number, format_p, percent, plain
from .select import lookup, where_mask


def fisher_exact_2x2(table: list[list[int]]) -> float:
    """Two-sided Fisher's exact test P for a 2x2 table of counts (the usual test for binomial data in
    small samples): the probability, under the hypergeometric law of the top-left count given the
    margins, of every table as probable as the observed one or less (relative tolerance 1e-14).

    The same computation as SciPy's ``fisher_exact`` (the same hypergeometric functions, Boost's, and the
    same steps), so the P is the same double; without importing ``scipy.stats``, which costs more than
    half a second at every build. Where this SciPy does not expose those functions, SciPy's test is used."""
    hypergeom = _hypergeom()
    if hypergeom is None:
        from scipy.stats import fisher_exact

        return float(fisher_exact(table, alternative="two-sided").pvalue)
    pmf_at, cdf_at, sf_at = hypergeom
    (a, b), (c, d) = ((int(x) for x in row) for row in table)
    if min(a, b, c, d) < 0:
        raise ValueError("a Fisher's exact test needs non-negative counts")
    if 0 in (a + b, c + d, a + c, b + d):
        return 1.0  # a whole row or column empty: every table is the observed one
    row1, total, col1 = a + b, a + b + c + d, a + c
    low, high = max(0, col1 - (total - row1)), min(row1, col1)  # the support of the top-left count

    def pmf(x):
        return np.where((x >= low) & (x <= high), pmf_at(x, row1, col1, total), 0.0)

    def cdf(x: int) -> float:
        return 0.0 if x < low else 1.0 if x >= high else float(cdf_at(x, row1, col1, total))

    def sf(x: int) -> float:
        return 1.0 if x < low else 0.0 if x >= high else float(sf_at(x, row1, col1, total))

    mode = int((col1 + 1) * (row1 + 1) / (total + 2))
    observed, at_mode = float(pmf(a)), float(pmf(mode))
    if abs(observed - at_mode) / max(observed, at_mode) <= 1e-14:
        return 1.0
    threshold = observed * (1 + 1e-14)
    if a < mode:  # the other tail: counts above the mode at most as probable as the observed one
        if float(pmf(col1)) > threshold:
            return min(cdf(a), 1.0)
        other = _last_at_or_below(-pmf(np.arange(mode, col1 + 1)), -threshold, mode)
        return min(cdf(a) + sf(other), 1.0)
    if float(pmf(0)) > threshold:
        return min(sf(a - 1), 1.0)
    other = _last_at_or_below(pmf(np.arange(0, mode + 1)), threshold, 0)
    return min(sf(a - 1) + cdf(other), 1.0)


def _hypergeom():
    """SciPy's hypergeometric pmf, cdf and sf ufuncs (arguments: k, successes, draws, population): the
    ones ``scipy.stats.hypergeom`` calls, kept under private names in ``scipy.special`` (the tests hold
    the P to ``scipy.stats.fisher_exact``'s); None in an older SciPy that keeps them elsewhere."""
    from scipy.special import _ufuncs

    names = ("_hypergeom_pmf", "_hypergeom_cdf", "_hypergeom_sf")
    found = [getattr(_ufuncs, name, None) for name in names]
    return None if None in found else tuple(found)


def _last_at_or_below(ascending: np.ndarray, value: float, first: int) -> int:
    """The last x (counting from ``first``) where the ascending values are at most ``value``, or
    ``first - 1`` when none is."""
    return first + int(np.searchsorted(ascending, value, side="right")) - 1


def _ranks_and_ties(*samples: pd.Series) -> tuple[np.ndarray, float]:
    """Mid-ranks of the pooled samples (ties share their average rank) and the tie term sum(t^3 - t)
    over the groups of t tied values."""
    pooled = pd.concat(samples, ignore_index=True).astype("float64")
    ranks = pooled.rank(method="average").to_numpy()
    tied = pooled.value_counts().to_numpy(dtype="float64")
    return ranks, float(np.sum(tied**3 - tied))


def _mann_whitney_counts(n1: int, n2: int) -> np.ndarray:
    """How many of the C(n1 + n2, n1) orderings of two untied samples give U = 0, 1, ..., n1 * n2: the
    coefficients of the Gaussian binomial [n1 + n2, n1]_q = prod_i (1 - q^(n2+i)) / (1 - q^i), as exact
    integers (an object array: the counts outgrow 64 bits from about 35 values a sample)."""
    counts = np.zeros(n1 * n2 + 1, dtype=object)
    counts[0] = 1
    for i in range(1, n1 + 1):
        shift = n2 + i
        counts[shift:] -= counts[:-shift].copy()  # times (1 - q^shift)
        for residue in range(i):  # divided by (1 - q^i): a running sum along each stride of i
            counts[residue::i] = np.cumsum(counts[residue::i])
    return counts


def mann_whitney(a: pd.Series, b: pd.Series) -> tuple[float, float]:
    """Two-sided Mann-Whitney U (Wilcoxon rank-sum) of two independent samples: (U of ``a``, P).

    The exact distribution when both samples have fewer than 50 values and there are no ties, else
    the normal approximation with tie and continuity corrections: the choice R's wilcox.test makes,
    so the P agrees with a reviewer's R session. The steps are SciPy's ``mannwhitneyu``, so the P is
    the same double: the exact null distribution is counted here in integers while SciPy's floating-point
    counts are exact too (C(n1 + n2, n1) (n1 n2)^2 <= 2^53, e.g. 19 against 19), and by SciPy above that."""
    from scipy.special import binom, ndtr

    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return float("nan"), float("nan")
    pooled = pd.concat([a, b], ignore_index=True)
    exact = n1 < 50 and n2 < 50 and not pooled.duplicated().any()
    ranks, tie_term = _ranks_and_ties(a, b)
    u1 = np.sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    small, large = min(n1, n2), max(n1, n2)
    if exact and math.comb(n1 + n2, small) * (n1 * n2) ** 2 > 2**53:
        # SciPy counts the orderings in floating point, inexact this far: to print the same P as
        # before, use its test (the exact integers here would differ in the 14th digit).
        from scipy.stats import mannwhitneyu

        result = mannwhitneyu(a, b, alternative="two-sided", method="exact")
        return float(result.statistic), float(result.pvalue)
    if exact:  # P(U >= u) = P(U <= n1 * n2 - u) by symmetry; doubled for two sides
        counts = _mann_whitney_counts(small, large)[: n1 * n2 - int(u) + 1]
        one_side = np.cumsum(counts.astype("float64") / binom(n1 + n2, small))[-1]
    else:
        n = n1 + n2
        spread = np.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
        with np.errstate(divide="ignore", invalid="ignore"):
            one_side = ndtr(-((u - n1 * n2 / 2 - 0.5) / spread))
    return float(u1), float(np.clip(one_side * 2, 0.0, 1.0))


def kruskal_wallis(*groups: pd.Series) -> tuple[float, float]:
    """Kruskal-Wallis H test across groups, chi-square approximation with tie correction: (H, P).

    H = 12 / (N (N + 1)) * sum(R_i^2 / n_i) - 3 (N + 1), divided by 1 - sum(t^3 - t) / (N^3 - N); P is
    the chi-square (k - 1 degrees of freedom) upper tail. SciPy's ``kruskal`` steps: the same doubles."""
    from scipy.special import chdtrc

    if len(groups) < 2:
        raise ValueError("a Kruskal-Wallis test needs at least two groups")
    sizes = [len(g) for g in groups]
    if 0 in sizes:
        return float("nan"), float("nan")
    total = sum(sizes)
    ranks, tie_term = _ranks_and_ties(*groups)
    ends = np.cumsum([0, *sizes])
    squares = sum(np.sum(ranks[ends[i] : ends[i + 1]]) ** 2 / sizes[i] for i in range(len(groups)))
    ties = 1 - np.float64(tie_term) / (total**3 - total)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = (12.0 / (total * (total + 1)) * squares - 3 * (total + 1)) / ties
    return float(h), float(chdtrc(np.float64(len(groups) - 1), h))


def _cell(key: str, value, display: str, synthetic: str | None, **extra) -> Cell:
    return Cell(key, plain(value), display, synthetic=synthetic, **extra)


def _synthetic(spec: Mapping) -> str | None:
    flag = spec.get("synthetic")
    if flag is True:
        return "rests on synthetic per-subject values (not published)"
    return flag or None


def _groups(frame: pd.DataFrame, spec: Mapping, key: str = "groups") -> list[tuple[str, pd.DataFrame]]:
    variable = spec.get("by")
    return [(category_label(c), frame.loc[category_mask(frame, variable, as_category(c))]) for c in spec[key]]


def stat_frequency(stat_id: str, spec: Mapping, frame: pd.DataFrame) -> dict[str, Cell]:
    """Subjects per level of a variable (e.g. best overall response CR/PR/SD/PD), with % of N."""
    n, synthetic, cells = len(frame), _synthetic(spec), {}
    for category in map(as_category, spec["levels"]):
        count = int(category_mask(frame, spec["variable"], category).sum())
        key = f"{stat_id}/{category_label(category)}"
        cells[key] = _cell(
            key, count, f"{count}/{n} ({format_number(percent(count, n))}%)", synthetic, count=count, n=n
        )
    return cells


def stat_proportion(stat_id: str, spec: Mapping, frame: pd.DataFrame) -> dict[str, Cell]:
    """Subjects meeting ``numerator`` among the population (optionally per group of ``by``):
    cells ``/count``, ``/n`` and ``/percent`` (rounded half up)."""
    synthetic, cells = _synthetic(spec), {}
    groups = _groups(frame, spec) if "groups" in spec else [("", frame)]
    for name, group in groups:
        base = f"{stat_id}/{name}" if name else stat_id
        n = len(group)
        count = int(where_mask(group, spec["numerator"]).sum())
        pct = percent(count, n, spec.get("digits", 0))
        text = f"{count}/{n} ({format_number(pct, spec.get('digits', 0))}%)"
        cells[f"{base}/count"] = _cell(f"{base}/count", count, text, synthetic, count=count, n=n)
        cells[f"{base}/n"] = _cell(f"{base}/n", n, str(n), synthetic, detail=True)
        cells[f"{base}/percent"] = _cell(
            f"{base}/percent", pct, f"{format_number(pct)}%", synthetic, count=count, n=n, detail=True
        )
    return cells


def stat_crosstab(stat_id: str, spec: Mapping, frame: pd.DataFrame) -> dict[str, Cell]:
    """Subject counts for each (row category, column category) pair, e.g. responders by biomarker level."""
    synthetic, cells = _synthetic(spec), {}
    for row in map(as_category, spec["rows"]):
        in_row = category_mask(frame, spec.get("row_variable"), row)
        for column in map(as_category, spec["columns"]):
            count = int((in_row & category_mask(frame, spec.get("column_variable"), column)).sum())
            key = f"{stat_id}/{category_label(row)}/{category_label(column)}"
            cells[key] = _cell(key, count, str(count), synthetic, count=count)
    return cells


def _subject_count(cell: Cell) -> int:
    if cell.count is None:
        raise ValueError(f"{cell.key} is not a count of subjects")
    return cell.count


def stat_fisher(stat_id: str, spec: Mapping, frame: pd.DataFrame) -> dict[str, Cell]:
    """Fisher's exact test of a 2x2 table (two row and two column categories): its counts and P."""
    cells = stat_crosstab(stat_id, spec, frame)
    if len(spec["rows"]) != 2 or len(spec["columns"]) != 2:
        raise ValueError("a Fisher's exact test needs exactly two rows and two columns")
    rows = [category_label(as_category(r)) for r in spec["rows"]]
    columns = [category_label(as_category(c)) for c in spec["columns"]]
    table = [[_subject_count(cells[f"{stat_id}/{r}/{c}"]) for c in columns] for r in rows]
    p = fisher_exact_2x2(table)
    cells[f"{stat_id}/p"] = _cell(f"{stat_id}/p", p, format_p(p), _synthetic(spec))
    return cells


def _samples(frame: pd.DataFrame, spec: Mapping) -> list[tuple[str, pd.Series]]:
    return [
        (name, pd.to_numeric(lookup(group, spec["variable"]), errors="coerce").dropna())
        for name, group in _groups(frame, spec)
    ]


def _sample_cells(stat_id: str, samples, synthetic) -> dict[str, Cell]:
    cells = {}
    for name, values in samples:
        median = plain(values.median()) if len(values) else None
        cells[f"{stat_id}/{name}/n"] = _cell(
            f"{stat_id}/{name}/n", len(values), str(len(values)), synthetic, detail=True
        )
        cells[f"{stat_id}/{name}/median"] = _cell(
            f"{stat_id}/{name}/median", median, format_number(median), synthetic, detail=True
        )
    return cells


def stat_mann_whitney(stat_id: str, spec: Mapping, frame: pd.DataFrame) -> dict[str, Cell]:
    """Mann-Whitney U test of ``variable`` between two groups: per-group n and median, U and P."""
    samples = _samples(frame, spec)
    if len(samples) != 2:
        raise ValueError("a Mann-Whitney U test compares exactly two groups")
    synthetic = _synthetic(spec)
    cells = _sample_cells(stat_id, samples, synthetic)
    u, p = mann_whitney(samples[0][1], samples[1][1])
    cells[f"{stat_id}/u"] = _cell(f"{stat_id}/u", u, format_number(u), synthetic, detail=True)
    cells[f"{stat_id}/p"] = _cell(f"{stat_id}/p", p, format_p(p), synthetic)
    return cells


def stat_kruskal_wallis(stat_id: str, spec: Mapping, frame: pd.DataFrame) -> dict[str, Cell]:
    """Kruskal-Wallis test of ``variable`` across groups: per-group n and median, H and P."""
    samples = _samples(frame, spec)
    synthetic = _synthetic(spec)
    cells = _sample_cells(stat_id, samples, synthetic)
    h, p = kruskal_wallis(*(values for _name, values in samples))
    cells[f"{stat_id}/h"] = _cell(f"{stat_id}/h", h, format_number(h, 2), synthetic, detail=True)
    cells[f"{stat_id}/p"] = _cell(f"{stat_id}/p", p, format_p(p), synthetic)
    return cells


def stat_range(stat_id: str, spec: Mapping, frame: pd.DataFrame) -> dict[str, Cell]:
    """Smallest and largest value of ``variable`` (missing excluded): cells ``/min`` and ``/max``."""
    values = pd.to_numeric(lookup(frame, spec["variable"]), errors="coerce").dropna()
    synthetic = _synthetic(spec)
    low, high = (plain(values.min()), plain(values.max())) if len(values) else (None, None)
    return {
        f"{stat_id}/min": _cell(f"{stat_id}/min", low, format_number(low), synthetic),
        f"{stat_id}/max": _cell(f"{stat_id}/max", high, format_number(high), synthetic),
    }


STATISTICS = {
    "frequency": stat_frequency,
    "proportion": stat_proportion,
    "crosstab": stat_crosstab,
    "fisher_exact": stat_fisher,
    "mann_whitney": stat_mann_whitney,
    "kruskal_wallis": stat_kruskal_wallis,
    "range": stat_range,
}


def compute_statistic(stat_id: str, spec: Mapping, subjects: pd.DataFrame) -> dict[str, Cell]:
    """The cells of one declared statistic, over the population restricted by its ``where``."""
    frame = subjects.loc[where_mask(subjects, spec.get("where"))]
    return STATISTICS[spec["kind"]](stat_id, spec, frame)
