"""Headline statistics over the population, one function per statistic, each returning cells.

Every statistic may restrict the population (``where``) and be marked ``synthetic`` when it rests
on per-subject values the publication does not give (reconstructed data): it is then shown beside
the published value but never counted as a mismatch."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from scipy import stats as sps

from .categories import as_category, category_label, category_mask
from .cells import Cell, format_number, format_p, percent, plain
from .select import lookup, where_mask


def fisher_exact_2x2(table: list[list[int]]) -> float:
    """Two-sided Fisher's exact test P for a 2x2 table of counts (SciPy; the usual test for binomial
    data in small samples). Two-sided by summing all tables as or less probable than the observed one."""
    return float(sps.fisher_exact(table, alternative="two-sided").pvalue)


def mann_whitney(a: pd.Series, b: pd.Series) -> tuple[float, float]:
    """Two-sided Mann-Whitney U (Wilcoxon rank-sum) of two independent samples: (U of ``a``, P).

    The exact distribution when both samples have fewer than 50 values and there are no ties, else
    the normal approximation with tie and continuity corrections: the choice R's wilcox.test makes,
    so the P agrees with a reviewer's R session."""
    pooled = pd.concat([a, b], ignore_index=True)
    exact = len(a) < 50 and len(b) < 50 and not pooled.duplicated().any()
    result = sps.mannwhitneyu(
        a, b, alternative="two-sided", method="exact" if exact else "asymptotic", use_continuity=True
    )
    return float(result.statistic), float(result.pvalue)


def kruskal_wallis(*groups: pd.Series) -> tuple[float, float]:
    """Kruskal-Wallis H test across groups, chi-square approximation with tie correction: (H, P)."""
    result = sps.kruskal(*groups)
    return float(result.statistic), float(result.pvalue)


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
