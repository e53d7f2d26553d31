"""Fuzz the YAML loader and the date parser: any input gives a value or a located error."""

from __future__ import annotations

import pandas as pd
import yaml
from hypothesis import given
from hypothesis import strategies as st

from sdtmify import isodates, yamlio
from sdtmify.errors import MappingError

from .fuzzing import SETTINGS, located, scratch

_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
_TREES = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)
_YAML_BITS = st.sampled_from(
    [
        "&a ",
        "*a",
        "<<: ",
        "? ",
        "- ",
        ": ",
        "{",
        "}",
        "[",
        "]",
        "!!binary ",
        "!!python/none",
        "\t",
        "\n",
        "  ",
        "#",
        '"',
        "'",
        "|\n",
        ">\n",
        "---\n",
        "...\n",
        "%YAML 1.1\n",
        "\x00",
        "\ufeff",
        "\x85",
        "é",
        "@",
        "`",
    ]
)


def _mutated_dump(tree, cuts: list[int], inserts: list[str]) -> bytes:
    text = yaml.safe_dump(tree, allow_unicode=True)
    for at, piece in zip(cuts, inserts, strict=False):
        at = at % (len(text) + 1)
        text = text[:at] + piece + text[at:]
    return text.encode("utf-8", errors="surrogatepass")


_DOCUMENTS = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=300).map(lambda t: t.encode("utf-8", errors="surrogatepass")),
    st.lists(_YAML_BITS | st.text(max_size=5), max_size=60).map(
        lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
    ),
    st.builds(_mutated_dump, _TREES, st.lists(st.integers(0, 10_000), max_size=4), st.lists(_YAML_BITS, max_size=4)),
)


@SETTINGS
@given(_DOCUMENTS, st.booleans())
def test_yaml_loader_gives_a_document_or_a_located_error(data, fast):
    path = scratch("mapping.yaml", data)
    try:
        document = yamlio.load_yaml(path, fast=fast)
    except MappingError as error:
        located(error, path)
        return
    yamlio.plain(document)  # the tree is finite and walkable


_DATE_PARTS = st.sampled_from(
    [
        "2002",
        "1899",
        "9999",
        "0000",
        "2261",
        "1678",
        "-",
        "/",
        ".",
        " ",
        "T",
        ":",
        "01",
        "02",
        "12",
        "13",
        "00",
        "29",
        "30",
        "31",
        "FEB",
        "Oct",
        "UN",
        "UNK",
        "XX",
        "24",
        "59",
        "60",
        "99",
        "1",
        "é",
        "",
    ]
)
_DATES = st.one_of(st.text(max_size=25), st.lists(_DATE_PARTS, max_size=8).map("".join))


@SETTINGS
@given(st.lists(_DATES, min_size=1, max_size=6), st.sampled_from([None, ("1900-01-01", "2030-12-31")]))
def test_date_parser_gives_iso_8601_or_the_rows_at_fault(values, window):
    series = pd.Series(values, dtype=object)
    formats = tuple(isodates.FORMATS)
    try:
        result = isodates.to_iso8601(series, formats, window=window)
    except isodates.DateProblem as problem:
        assert problem.mask.dtype == bool and problem.mask.any() and len(problem.mask) == len(series)
        assert problem.reason
        return
    assert len(result) == len(series)
    iso = result[result != ""]
    assert iso.str.fullmatch(r"\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2})?)?)?)?").all(), list(iso)
    if window is not None:
        assert ((iso.str.slice(0, 4) >= window[0][:4]) & (iso.str.slice(0, 4) <= window[1][:4])).all()
