"""The validator's coded evaluation (on the distinct values of a table's columns, by their codes) gives
what the plain evaluation on whole columns gives: random columns with nulls, blanks, duplicates,
numbers written as text and partial ISO 8601 dates."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sdtmify.distinct import first_appearance_codes
from sdtmify.metadata.model import Dataset, Variable
from sdtmify.validate import isodate
from sdtmify.validate.checks.functions import on_distinct_pairs
from sdtmify.validate.checks.relations import keys_found, one_to_one, repeated
from sdtmify.validate.conditions import View, _apply
from sdtmify.validate.data import factorize_by_runs, table_from, text_or_empty
from sdtmify.validate.rules import Rule

POOL = [
    "",
    " ",
    "A",
    "a",
    "B",
    "1",
    "01",
    "1.0",
    "2",
    "-3",
    "1e3",
    "x y",
    "2004",
    "2004-12",
    "2004-12-15",
    "2004-12-1",
    "2004---15",
    "2004-12-15T10",
    "2004-12-15T10:30",
    "2004-12-15T10:30:15",
    "2005-01-01T00:00",
    "20045",
]
text = st.sampled_from(POOL)
number = st.one_of(st.none(), st.sampled_from([0.0, 1.0, 2.0, -3.0, 1.5, 1000.0]))


@st.composite
def records(draw, max_size: int = 40):
    n = draw(st.integers(0, max_size))
    column = st.lists(text, min_size=n, max_size=n)
    return pd.DataFrame(
        {
            "A": pd.Series(draw(column), dtype="str"),
            "B": pd.Series(draw(column), dtype="str"),
            "N": pd.Series(draw(st.lists(number, min_size=n, max_size=n)), dtype="float64"),
        }
    )


def _table(name: str, frame: pd.DataFrame):
    variables = tuple(
        Variable(
            name=c,
            label=c,
            type="Num" if frame[c].dtype.kind == "f" else "Char",
            length=20,
            data_type="float" if frame[c].dtype.kind == "f" else "text",
            order=i,
        )
        for i, c in enumerate(frame.columns, start=1)
    )
    meta = Dataset(name=name, label=name, purpose="Tabulation", variables=variables)
    return table_from(frame, meta, "SDTM")


def _views(frame: pd.DataFrame) -> tuple[View, View]:
    """The same records twice: as columns the table keeps coded, and as columns made for one rule
    (View.extra), which are evaluated on the whole column as before."""
    table = _table("XX", frame)
    coded = View(table, {"XX": table})
    plain = View(_table("XX", frame[[]]), {})
    for name in frame.columns:
        plain.extra[name] = table.frame[name]
    return coded, plain


OPS = st.one_of(
    st.tuples(st.sampled_from(["eq", "ne"]), st.sampled_from(["A", "B"]), text),
    st.tuples(st.sampled_from(["in", "not_in"]), st.sampled_from(["A", "B"]), st.lists(text, max_size=3)),
    st.tuples(st.just("eq"), st.sampled_from(["A", "N"]), st.sampled_from([1, 2.0, -3])),
    st.tuples(st.just("in"), st.sampled_from(["A", "N"]), st.lists(st.sampled_from([1, 2.0, -3, "1"]), max_size=3)),
    st.tuples(st.sampled_from(["eq_var", "ne_var"]), st.sampled_from(["A", "N"]), st.sampled_from(["B", "N"])),
    st.tuples(st.sampled_from(["gt", "ge", "lt", "le"]), st.sampled_from(["A", "N"]), st.sampled_from([0, 1.5, -3])),
    st.tuples(
        st.sampled_from(["gt_var", "ge_var", "lt_var", "le_var"]), st.sampled_from(["A", "N"]), st.sampled_from(["B"])
    ),
    st.tuples(st.just("integer"), st.sampled_from(["A", "N"]), st.booleans()),
    st.tuples(st.sampled_from(["date_before_var", "date_after_var"]), st.just("A"), st.just("B")),
)


@settings(max_examples=100, deadline=None)
@given(records(), OPS)
def test_coded_operators_equal_the_plain_evaluation(frame, op):
    name, column, arg = op
    coded, plain = _views(frame)
    got = np.asarray(_apply(name, column, arg, coded), dtype=bool)
    want = np.asarray(_apply(name, column, arg, plain), dtype=bool)
    assert got.tolist() == want.tolist()
    # asked again, the kept result is the same (and the cache did not change it)
    assert np.asarray(_apply(name, column, arg, coded), dtype=bool).tolist() == want.tolist()


def _precision_by_component(values: pd.Series) -> np.ndarray:
    """The precision as one match per complete prefix (how isodate.precision was first written)."""
    out = np.zeros(len(values), dtype=np.int8)
    patterns = (r"\d{4}", r"\d{4}-\d{2}", r"\d{4}-\d{2}-\d{2}", r"\d{4}-\d{2}-\d{2}T\d{2}")
    patterns += (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
    for size, pattern in zip(isodate.PRECISIONS, patterns, strict=True):
        out[values.str.match(pattern).fillna(False).to_numpy(dtype=bool)] = size
    return out


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(text, st.from_regex(r"[0-9T:\- ]{0,22}", fullmatch=True)), max_size=30))
def test_precision_is_the_longest_complete_prefix(values):
    series = pd.Series(values, dtype="str")
    assert isodate.precision(series).tolist() == _precision_by_component(series).tolist()


@settings(max_examples=60, deadline=None)
@given(records())
def test_study_day_on_distinct_pairs_equals_the_whole_columns(frame):
    coded, plain = _views(frame)

    def day(a, b):
        return (isodate.precision(a).astype("float64") * 100 + isodate.precision(b)).astype("float64")

    assert on_distinct_pairs(coded, "A", "B", day).tolist() == on_distinct_pairs(plain, "A", "B", day).tolist()
    assert on_distinct_pairs(coded, "A", "B", day).tolist() == day(frame["A"], frame["B"]).tolist()


@settings(max_examples=60, deadline=None)
@given(records(), st.lists(st.tuples(text, text, number), max_size=12))
def test_joined_column_equals_a_map_of_every_record(frame, subjects):
    frame = frame.assign(USUBJID=frame["A"])
    dm_frame = pd.DataFrame(
        {
            "USUBJID": pd.Series([s[0] for s in subjects], dtype="str"),
            "RFSTDTC": pd.Series([s[1] for s in subjects], dtype="str"),
            "AGE": pd.Series([s[2] for s in subjects], dtype="float64"),
        }
    )
    table, dm = _table("XX", frame), _table("DM", dm_frame)
    for column in ("RFSTDTC", "AGE"):
        lookup = dm.first_by("USUBJID")[column]
        want = table.frame["USUBJID"].map(lookup)
        if not pd.api.types.is_numeric_dtype(lookup.dtype):
            want = text_or_empty(want)
        got = table.joined("DM", dm, column)
        assert str(got.dtype) == str(want.dtype)
        assert got.fillna(-1).tolist() == want.fillna(-1).tolist()


def _one_to_one_plain(frame: pd.DataFrame) -> np.ndarray:
    """A value of A with more than one value of B, or of B with more than one of A (nulls left out)."""
    keep = (frame["A"].str.strip() != "") & (frame["B"].str.strip() != "")
    pairs = frame.loc[keep, ["A", "B"]].drop_duplicates()
    a_many = pairs.groupby("A")["B"].size() > 1
    b_many = pairs.groupby("B")["A"].size() > 1
    bad = keep & (frame["A"].isin(a_many.index[a_many]) | frame["B"].isin(b_many.index[b_many]))
    return bad.to_numpy(dtype=bool)


@settings(max_examples=60, deadline=None)
@given(records())
def test_one_to_one_flags_what_grouping_the_pairs_flags(frame):
    coded, _ = _views(frame)
    check = {"type": "one_to_one", "left": "A", "right": "B"}
    rule = Rule("T0001", "error", "", "", {}, {"standard": "SDTM"}, check)
    (hits,) = one_to_one(rule, coded, None)
    assert hits.mask.tolist() == _one_to_one_plain(frame).tolist()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.one_of(text, number), st.integers(1, 400)), min_size=1, max_size=12),
    st.booleans(),
)
def test_factorizing_by_runs_equals_factorizing_every_record(runs, as_text):
    values = [value for value, length in runs for _ in range(length)]
    if as_text:
        series = pd.Series(["" if v is None else str(v) for v in values], dtype="str")
    else:
        series = pd.Series([np.nan if isinstance(v, str) or v is None else v for v in values], dtype="float64")
    codes, uniques = factorize_by_runs(series)
    want_codes, want_uniques = pd.factorize(series, use_na_sentinel=False)
    assert codes.tolist() == want_codes.tolist()
    assert pd.Index(uniques).equals(pd.Index(want_uniques))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.one_of(text, st.none()), st.booleans()), min_size=1, max_size=40), st.integers(0, 2**32 - 1)
)
def test_factorizing_shared_objects_equals_factorizing_the_text(pool, seed):
    """A built column repeats a few objects (sdtmify.objects); equal text in other objects and missing
    values (NaN) must still get one code each, numbered in order of first appearance."""
    objects = [np.nan if value is None else (value + "!")[:-1] if copy else value for value, copy in pool]
    values = np.array(objects, dtype=object)[np.random.default_rng(seed).integers(len(objects), size=3000)]
    series = pd.Series(values, dtype="str")
    codes, uniques = factorize_by_runs(series)
    want_codes, want_uniques = pd.factorize(series, use_na_sentinel=False)
    assert codes.tolist() == want_codes.tolist()
    assert pd.Index(uniques).equals(pd.Index(want_uniques))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=40), st.booleans())
def test_group_codes_numbered_by_counting_equal_hashing_them(values, in_order):
    """Key combinations of a sorted dataset never decrease and are numbered by counting their changes;
    in any order, the numbers are pd.factorize's, and a repeated combination is found by counting."""
    codes = np.array(sorted(values) if in_order else values, dtype=np.int64)
    assert first_appearance_codes(codes).tolist() == pd.factorize(codes)[0].tolist()
    assert repeated(codes).tolist() == pd.Series(codes).duplicated(keep=False).tolist()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["S1", "S2", ""]), st.sampled_from(["1", "2", "10"])), max_size=12), st.data()
)
def test_keys_found_equal_looking_up_pairs_of_text(wanted, data):
    """A record's USUBJID/--SEQ pair is found only where one wanted record has both (not each elsewhere)."""
    here = data.draw(st.lists(st.tuples(st.sampled_from(["S1", "S2", "S3"]), st.sampled_from(["1", "2"])), min_size=1))
    mine = [pd.Series([pair[i] for pair in here], dtype="str") for i in (0, 1)]
    theirs = [pd.Series([pair[i] for pair in wanted], dtype="str") for i in (0, 1)]
    want = pd.MultiIndex.from_arrays(mine).isin(pd.MultiIndex.from_arrays(theirs))
    coded = [[pd.factorize(keys) for keys in side] for side in (mine, theirs)]
    pairs = [[(codes, np.asarray(texts, dtype=object)) for codes, texts in side] for side in coded]
    assert keys_found(*pairs).tolist() == want.tolist()


DATES = [v for v in POOL if v[:1].isdigit() or not v.strip()]


# two operators over a small pool of dates: 50 examples cover the pairs of precisions (100 took 1.3 CPU-s more)
@settings(max_examples=50, deadline=None)
@given(st.data(), st.sampled_from(["date_before_var", "date_after_var"]))
def test_coded_date_order_equals_comparing_the_text(data, op):
    n = data.draw(st.integers(0, 30))
    column = st.lists(st.sampled_from(DATES), min_size=n, max_size=n)
    frame = pd.DataFrame(
        {"A": pd.Series(data.draw(column), dtype="str"), "B": pd.Series(data.draw(column), dtype="str")}
    )
    coded, plain = _views(frame)
    assert _apply(op, "A", "B", coded).tolist() == _apply(op, "A", "B", plain).tolist()
