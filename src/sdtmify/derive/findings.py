"""Findings-class operations: result standardization, toxicity grading, reference range indicator.

Unit conversion factors and grading thresholds are data in the mapping YAML, never code."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..distinct import by_distinct, factorize


def number_text(values: pd.Series, digits: int | None = None) -> pd.Series:
    """Numbers as the shortest plain text ("4.2", "363"), "" for missing; vectorized."""

    def render(numbers: pd.Series) -> pd.Series:
        rounded = numbers.astype("float64").round(digits if digits is not None else 10)
        text = rounded.astype(str).str.replace(r"\.0$", "", regex=True)
        return text.where(numbers.notna(), "").astype(object)

    return by_distinct(values.astype("float64"), render).astype(str)


def _conversion(value) -> tuple[float, float, float, float]:
    """(minus, times, divide, plus) of a conversion: a factor, or an affine rule such as degF -> degC
    ``{minus: 32, times: 5, divide: 9}``."""
    if isinstance(value, dict):
        return (
            float(value.get("minus", 0)),
            float(value.get("times", 1)),
            float(value.get("divide", 1)),
            float(value.get("plus", 0)),
        )
    return (0.0, float(value), 1.0, 0.0)


def _same_unit(units: pd.Series) -> pd.Series:
    """Units compared ignoring case and surrounding blanks."""
    return units.astype(str).str.strip().str.upper()


def standardize_results(
    orres: pd.Series,
    orresu: pd.Series,
    testcd: pd.Series,
    units: dict,
    below_limit: str = "<",
    unit_key: Callable[[pd.Series], pd.Series] = _same_unit,
) -> dict[str, pd.Series]:
    """--STRESC/--STRESN/--STRESU from --ORRES/--ORRESU (SDTMIG 3.4 section 4.5.1, Findings).

    Numeric results are converted from ORRESU to the test's standard unit by the conversion given
    per test code (data, not code): a factor (x * f), or an affine rule ((x - minus) * times /
    divide + plus, e.g. degF to degC). Units match whatever their case, and through a CT recode (both
    are compared as their CT UNIT submission value). ``STRESC`` is the standardized number as text,
    ``STRESN`` the number. A result below a limit ("<10") keeps its text in STRESC with the limit
    converted, and STRESN stays empty (SDTMIG 3.4 LB assumption 8). Text results are copied to STRESC."""
    # Also returned: CONVERT (the per-record conversion, for the reference ranges) and UNKNOWN_UNIT
    # (numeric results with no conversion).
    # A record's standard result follows from its (test, unit, result) alone, and millions of lab
    # records hold a few thousand such triples: each column is hashed once, the triples are found by
    # their integer codes, standardized once each (:func:`_standardized`) and spread back by position.
    text = orres.astype(str)
    unit = orresu.astype(str)
    test_codes, tests = factorize(testcd)
    unit_codes, unit_values = factorize(unit, use_na_sentinel=False)
    text_codes, texts = factorize(text, use_na_sentinel=False)
    rules, targets, digits = _unit_tables(tests, pd.Series(unit_values), units, unit_key)
    test_codes = np.where(test_codes < 0, len(tests), test_codes)  # the tables' last row: no test code
    unit_count, text_count = max(len(unit_values), 1), max(len(texts), 1)
    pair_codes, pairs = pd.factorize(test_codes.astype("int64") * unit_count + unit_codes)
    triple_codes, triples = pd.factorize(pair_codes.astype("int64") * text_count + text_codes)
    pair_of, text_of = np.divmod(np.asarray(triples), text_count)
    test_of, unit_of = np.divmod(np.asarray(pairs)[pair_of], unit_count)
    target = pd.Series(targets[test_of], dtype=object)
    # a test without a standard unit keeps the record's own
    target = target.where(target.notna(), pd.Series(unit_values.to_numpy(dtype=object)[unit_of]))
    distinct = _standardized(
        _parsed(pd.Series(texts), below_limit).take(text_of).reset_index(drop=True),
        pd.Series(texts).take(text_of).reset_index(drop=True),
        pd.DataFrame(rules[test_of, unit_of], columns=["minus", "times", "divide", "plus"]),
        target,
        pd.Series(digits[test_of]),
    )
    per_record = rules[test_codes, unit_codes]

    def convert(values: pd.Series) -> pd.Series:
        minus, times, divide, plus = (pd.Series(per_record[:, part], index=text.index) for part in range(4))
        return (values - minus) * times / divide + plus

    spread = {name: column.take(triple_codes).set_axis(text.index) for name, column in distinct.items()}
    return {**spread, "CONVERT": convert}


def _unit_tables(
    tests: pd.Index, unit_values: pd.Series, units: dict, unit_key: Callable[[pd.Series], pd.Series]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per test code (rows, the last one for a missing code) and distinct unit (columns): the conversion
    (minus, times, divide, plus; NaN where the study gives none for that unit); per test code: the
    standard unit (None: the study names none, the records keep their own) and the decimal places."""
    rules = np.full((len(tests) + 1, len(unit_values), 4), np.nan)
    targets = np.full(len(tests) + 1, "", dtype=object)
    digits = np.full(len(tests) + 1, np.nan)
    compared = unit_key(unit_values)
    position = {test: i for i, test in enumerate(tests)}
    for test, spec in units.items():
        row = position.get(test)
        if row is None:
            continue
        targets[row] = spec["unit"]
        given = {spec["unit"]: 1.0, **{str(k): v for k, v in (spec.get("factors") or {}).items()}}
        keys = unit_key(pd.Series(list(given), dtype=object))
        table = {key: _conversion(value) for key, value in zip(keys, given.values(), strict=True)}
        for part in range(4):
            rules[row, :, part] = compared.map({k: v[part] for k, v in table.items()}).astype("float64").to_numpy()
        if "digits" in spec:
            digits[row] = spec["digits"]
    spec_less = np.append(~tests.isin(list(units)), True)
    rules[spec_less] = (0.0, 1.0, 1.0, 0.0)
    targets[spec_less] = None
    return rules, targets, digits


def _parsed(values: pd.Series, below_limit: str) -> pd.DataFrame:
    """Each result text as LIMITED (a limit such as "<10"), NUMBERS (its number) and PREFIX ("<", ">=")."""
    limited = values.str.match(rf"^\s*[{''.join(sorted(set(below_limit)))}]\s*[0-9.]")
    number_part = values.str.replace(r"^\s*[<>]=?\s*", "", regex=True)
    numbers = pd.to_numeric(number_part.where(number_part != "", None), errors="coerce").astype("float64")
    prefix = values.str.extract(r"^\s*([<>]=?)", expand=False).fillna("")
    return pd.DataFrame({"limited": limited.astype(bool), "numbers": numbers, "prefix": prefix.astype(object)})


def _standardized(
    parsed: pd.DataFrame, text: pd.Series, rule: pd.DataFrame, target: pd.Series, digits: pd.Series
) -> dict[str, pd.Series]:
    """STRESC, STRESN, STRESU and UNKNOWN_UNIT of results (``text``, as :func:`_parsed` reads them) with
    their conversion ``rule``, standard unit ``target`` and decimal places ``digits``."""
    limited, numbers, prefix = parsed["limited"], parsed["numbers"], parsed["prefix"]
    numeric = numbers.notna() & ~limited
    converted = (numbers - rule["minus"]) * rule["times"] / rule["divide"] + rule["plus"]
    stresn = converted.where(numeric)
    rounded = stresn.copy()
    for places in digits.dropna().unique():
        here = digits == places
        rounded.loc[here] = stresn[here].round(int(places))
    stresc = number_text(rounded).where(numeric, text)
    if limited.any():  # the limit's text is made for the below-limit records only, not for every record
        stresc = stresc.where(~limited, prefix[limited] + number_text(converted[limited]))
    stresu = target.where(text != "", "")
    return {
        "STRESC": stresc.where(text != "", "").astype(str),
        "STRESN": rounded.where(numeric),
        "STRESU": stresu.astype(str),
        "UNKNOWN_UNIT": (numbers.notna() & rule["times"].isna()),
    }


def _test_codes(testcd: pd.Series) -> Callable[[object], pd.Series]:
    """``test_of(code)``: the records of one test code, by comparing integer codes of the column hashed
    once, in place of a string comparison over every record per test."""
    codes, tests = factorize(testcd)
    position = {test: i for i, test in enumerate(tests)}

    def test_of(test) -> pd.Series:
        return pd.Series(codes == position.get(test, -2), index=testcd.index)

    return test_of


def _threshold(value, lln: pd.Series, uln: pd.Series) -> pd.Series:
    """A grading threshold: a number, LLN, ULN or a multiple such as 2.5xULN."""
    if isinstance(value, (int, float)):
        return pd.Series(float(value), index=lln.index)
    text = str(value)
    multiple, _, base = text.rpartition("x") if "x" in text else ("1", "", text)
    limit = lln if base == "LLN" else uln
    return limit * float(multiple or 1)


def toxicity_grade(value: pd.Series, testcd: pd.Series, lln: pd.Series, uln: pd.Series, grades: dict) -> pd.Series:
    """--TOXGR by thresholds kept as data (e.g. CTCAE v3.0 hematology, low direction).

    SDTMIG 3.4 Findings class --TOXGR (Standard Toxicity Grade) on the scale the study names in the
    mapping's ``criteria`` (CTCAE).

    For each graded test, grade k applies when the value is beyond the k-th threshold (below it for
    "low", above it for "high"); the highest such k wins; "0" when a value exists and no threshold
    is crossed; blank when there is no numeric value or the test is not graded."""
    # -1: not graded (blank); grade k is the text of k, one shared string per grade
    level = np.full(len(value), -1, dtype=np.int64)
    test_of = _test_codes(testcd)
    present = value.notna().to_numpy()
    for test, spec in grades.items():
        here = test_of(test).to_numpy() & present
        graded = np.zeros(len(value), dtype=np.int64)
        for k, threshold in enumerate(spec["thresholds"], start=1):
            limit = _threshold(threshold, lln, uln)
            crossed = (value < limit if spec["direction"] == "low" else value > limit).to_numpy()
            graded[crossed & here] = k
        level[here] = graded[here]
    texts = np.array(["", *(str(k) for k in range(level.max(initial=0) + 1))], dtype=object)
    return pd.Series(texts[level + 1], index=value.index, dtype=str)


def reference_range_indicator(value: pd.Series, low: pd.Series, high: pd.Series) -> pd.Series:
    """--NRIND: LOW below --STNRLO, HIGH above --STNRHI, else NORMAL (SDTMIG 3.4 Findings --NRIND).

    Blank when there is no numeric result (including below-limit results) or no range at all."""
    has_range = low.notna() | high.notna()
    # chosen as positions into four shared strings, not a new string object per record
    chosen = np.select([value.isna() | ~has_range, value < low, value > high], [0, 1, 2], 3)
    return pd.Series(np.array(["", "LOW", "HIGH", "NORMAL"], dtype=object)[chosen], index=value.index, dtype=str)
