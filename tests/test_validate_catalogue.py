"""The rule catalogue loader and the ISO 8601 helpers the timing rules stand on."""

from __future__ import annotations

import pandas as pd
import pytest

from sdtmify.derive.study_day import study_day
from sdtmify.errors import InputError
from sdtmify.validate import isodate
from sdtmify.validate.rules import load_rules


def test_a_malformed_rule_is_refused_with_file_line_and_key(tmp_path):
    (tmp_path / "bad.yaml").write_text(
        "rules:\n"
        "  - id: SD9001\n"
        "    authority: {sponsor: test}\n"
        "    severity: error\n"
        "    message: x\n"
        "    check: {type: record, when: {AESER: {equals: Y}}}\n"
        "    scope: {standard: SDTM}\n"
    )
    with pytest.raises(InputError) as caught:
        load_rules(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'bad.yaml'}:6 check: check.when.AESER: unknown operator 'equals'")


def test_rule_without_authority_or_with_unknown_severity_is_refused(tmp_path):
    (tmp_path / "a.yaml").write_text(
        "rules:\n  - {id: X1, severity: fatal, message: m, check: {type: record, when: {}}, authority: {sponsor: s}}\n"
    )
    with pytest.raises(InputError, match="severity 'fatal' is not one of error, warning, notice"):
        load_rules(tmp_path)
    (tmp_path / "a.yaml").write_text(
        "rules:\n  - {id: X1, severity: error, message: m, check: {type: record, when: {}}, authority: {}}\n"
    )
    with pytest.raises(InputError, match="authority names none of"):
        load_rules(tmp_path)


def test_duplicate_rule_ids_are_refused(tmp_path):
    rule = (
        "  - {id: X1, severity: error, message: m, check: {type: record, when: {}}, authority: {sponsor: s},"
        " scope: {standard: SDTM}}\n"
    )
    (tmp_path / "a.yaml").write_text("rules:\n" + rule + rule)
    with pytest.raises(InputError, match="rule id X1 already used"):
        load_rules(tmp_path)


def test_study_day_has_no_day_zero():
    dates = pd.Series(["2020-01-06", "2020-01-05", "2020-01-07", "2020-02-29", "2020-01"], dtype="str")
    days = study_day(dates, pd.Series(["2020-01-06"] * 5, dtype="str")).to_numpy()
    assert days[:4].tolist() == [1.0, -1.0, 2.0, 55.0]
    assert pd.isna(days[4])  # partial date: no study day


def test_partial_dates_compare_at_their_common_precision():
    left = pd.Series(["2013-05", "2013-05-10", "2013-05-09T10:00", "2013"], dtype="str")
    right = pd.Series(["2013-05-09", "2013-05-09T23:59", "2013-05-09T09:59", "2014-01-01"], dtype="str")
    assert isodate.compare(left, right).tolist() == [0, 1, 1, -1]


def test_iso8601_validity_checks_the_calendar_and_allows_sdtm_partial_forms():
    text = pd.Series(
        ["2020-02-29", "2019-02-29", "2004---15", "2013-05-09T25:00", "2013-05-09T10:30:00.5", "10MAY2013", "P18Y"],
        dtype="str",
    )
    assert isodate.is_valid(text).tolist() == [True, False, True, False, True, False, False]
    assert isodate.is_valid(text, allow_duration=True).tolist()[-1] is True


def test_large_columns_give_the_same_answers_per_distinct_value():
    text = pd.Series(["2020-02-29", "2019-02-29", "2020-01"] * 10_000, dtype="str")
    assert isodate.is_valid(text).tolist() == [True, False, True] * 10_000
    assert isodate.precision(text).tolist() == [10, 10, 7] * 10_000


def test_a_rule_naming_an_unknown_function_is_refused(tmp_path):
    (tmp_path / "f.yaml").write_text(
        "rules:\n  - {id: X1, severity: error, message: m, authority: {sponsor: s},\n"
        "     check: {type: function, name: study_days}}\n"
    )
    with pytest.raises(InputError, match="no function named 'study_days'; known: .*study_day"):
        load_rules(tmp_path)
