"""Comparison of recomputed cells with published values: each rule, each status."""

from __future__ import annotations

import pytest

from sdtmify.report.cells import Cell
from sdtmify.report.compare import (
    EXPLAINED,
    MATCH,
    MISMATCH,
    ROUNDING,
    SYNTHETIC,
    PublishedPathError,
    compare_cell,
    judge,
    parse_published,
    resolve,
    unexplained,
)

PUBLISHED = {
    "table3": {
        "ref": "Table 3, p. 7",
        "patients": [
            {"patient": "F", "her2": "2+", "duration_days": None, "duration_ongoing": False},
            {"patient": "G", "her2": "3+", "duration_days": 1643, "duration_ongoing": True},
        ],
    },
    "text": {
        "peak_range": [124, 1612],
        "statistics": [{"name": "fisher", "published": "P < 0.001", "ref": "Results, p. 4"}],
    },
}


def pct(count: int, n: int = 21) -> Cell:
    from sdtmify.report.cells import percent

    return Cell("t/x/Grade 1 (%)", percent(count, n), str(percent(count, n)), count=count, n=n)


def test_resolve_follows_dots_list_picks_and_positions():
    assert resolve(PUBLISHED, "table3.patients[patient=G].duration_days") == 1643
    assert resolve(PUBLISHED, "text.peak_range.1") == 1612
    assert resolve(PUBLISHED, "text.statistics[name=fisher].published") == "P < 0.001"


@pytest.mark.parametrize("path", ["table3.patients[patient=Z].her2", "table9.n", "text.peak_range.2"])
def test_resolve_says_which_step_is_missing(path):
    with pytest.raises(PublishedPathError):
        resolve(PUBLISHED, path)


def test_parse_published_reads_journal_notation():
    number = parse_published("1,643+")
    assert (number.value, number.censored) == (1643, True)
    assert parse_published("P < 0.001").relation == "<"
    assert parse_published("52%").value == 52
    assert parse_published(0.0057).decimals == 4
    assert parse_published("Breast") == "Breast"


def test_percent_exactly_as_printed_is_a_match():
    assert judge(pct(16), 76, "percent_of_n")[0] == MATCH  # 16/21 = 76.2


def test_percent_printed_off_but_naming_the_same_count_is_within_rounding():
    status, why = judge(pct(4), 18, "percent_of_n")  # 4/21 = 19.0; 18% of 21 = 3.8 -> 4
    assert status == ROUNDING
    assert "4/21" in why


def test_percent_meaning_another_count_is_a_mismatch():
    assert judge(pct(3), 24, "percent_of_n")[0] == MISMATCH  # 24% of 21 = 5 patients, not 3


def test_p_value_below_bound_and_printed_precision():
    assert judge(Cell("p", 2.8e-6, ""), "P < 0.001", "p_value")[0] == MATCH
    assert judge(Cell("p", 0.002, ""), "P < 0.001", "p_value")[0] == MISMATCH
    assert judge(Cell("p", 0.00572, ""), 0.0057, "p_value")[0] == MATCH
    assert judge(Cell("p", 0.0061, ""), 0.0057, "p_value")[0] == MISMATCH


def test_exact_numbers_and_texts():
    assert judge(Cell("c", 1612.0, "1612"), 1612, "exact")[0] == MATCH
    assert judge(Cell("c", 1611, "1611"), 1612, "exact")[0] == MISMATCH
    assert judge(Cell("c", "Breast", "Breast"), "breast", "exact")[0] == MATCH
    assert judge(Cell("c", "3+", "3+"), "3+", "exact")[0] == MATCH  # a HER2 score, not a censored 3
    assert judge(Cell("c", "2+", "2+"), "3+", "exact")[0] == MISMATCH
    assert judge(Cell("c", None, "—"), None, "exact")[0] == MATCH  # PD patients: no duration
    assert judge(Cell("c", 100, "100"), None, "exact")[0] == MISMATCH


def test_rounded_rule_accepts_only_the_printed_rounding():
    assert judge(Cell("c", 52.38, ""), 52.4, "rounded")[0] == ROUNDING
    assert judge(Cell("c", 52.46, ""), 52.4, "rounded")[0] == MISMATCH


def test_ongoing_mark_must_agree_with_censoring():
    censored = Cell("t3/G/dur", 1643, "1643+", censored=True)
    ongoing = "table3.patients[patient=G].duration_ongoing"
    assert (
        compare_cell(censored, "table3.patients[patient=G].duration_days", PUBLISHED, ongoing=ongoing).status == MATCH
    )
    uncensored = Cell("t3/G/dur", 1643, "1643")
    assert (
        compare_cell(uncensored, "table3.patients[patient=G].duration_days", PUBLISHED, ongoing=ongoing).status
        == MISMATCH
    )
    assert judge(uncensored, "1,643+", "exact")[0] == MISMATCH


def test_explained_and_synthetic_are_not_counted_as_mismatches():
    explained = compare_cell(
        Cell("c", "2+", "2+"), "table3.patients[patient=G].her2", PUBLISHED, explain="score re-read on FISH"
    )
    synthetic = compare_cell(
        Cell("p", 0.2, "0.2", synthetic="reconstructed"),
        "text.statistics[name=fisher].published",
        PUBLISHED,
        rule="p_value",
    )
    wrong = compare_cell(Cell("c", "2+", "2+"), "table3.patients[patient=G].her2", PUBLISHED)
    assert (explained.status, synthetic.status, wrong.status) == (EXPLAINED, SYNTHETIC, MISMATCH)
    assert "score re-read on FISH" in explained.note
    assert unexplained([explained, synthetic, wrong]) == 1


def test_comparison_carries_the_published_reference():
    row = compare_cell(Cell("p", 1e-6, "1e-06"), "text.statistics[name=fisher].published", PUBLISHED, "p_value")
    assert row.reference == "Results, p. 4"
    assert (
        compare_cell(Cell("c", "3+", "3+"), "table3.patients[patient=G].her2", PUBLISHED).reference == "Table 3, p. 7"
    )
