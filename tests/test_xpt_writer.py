"""The XPT v5 writer's rules: IBM doubles, missing values, checks before writing, chunking, atomicity."""

from __future__ import annotations

import datetime as dt
import struct

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from sdtmify import xport
from sdtmify.errors import WriteError
from sdtmify.metadata.model import Dataset, Variable
from sdtmify.readers import read_dataset
from sdtmify.writers import xpt


def _var(name, type_="Char", length=8, label=None, fmt="", order=1, data_type=None):
    return Variable(
        name=name,
        label=label if label is not None else f"{name} label",
        type=type_,
        length=length,
        data_type=data_type or ("text" if type_ == "Char" else "float"),
        order=order,
        format=fmt,
    )


def _dataset(*variables, name="LB", label="Laboratory Test Results"):
    return Dataset(name=name, label=label, purpose="Tabulation", variables=tuple(variables))


def _observations(path) -> bytes:
    data = path.read_bytes()
    return data[data.index(b"HEADER RECORD*******OBS     HEADER RECORD") + 80 :]


# --- IBM System/370 doubles -------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, pattern",
    [
        (1.0, 0x4110000000000000),
        (-1.0, 0xC110000000000000),
        (0.5, 0x4080000000000000),
        (100.0, 0x4264000000000000),
        (0.1, 0x401999999999999A),  # IEEE 0.1's 53-bit significand, shifted, is exact in IBM
        (0.0, 0),
        (-0.0, 0),  # documented rule: -0.0 is written as 0
        (16.0**-65, 0x0010000000000000),  # smallest normalised IBM value
        (1e-80, 0),  # below the IBM range: written as 0
    ],
)
def test_ibm_from_ieee_known_patterns(value, pattern):
    assert int(xport.ibm_from_ieee(np.array([value]))[0]) == pattern


def test_ibm_conversion_is_exact_both_ways_across_the_range():
    rng = np.random.default_rng(7)
    values = rng.standard_normal(20000) * 10.0 ** rng.integers(-75, 75, 20000)
    values = np.concatenate([values, [2.0**53, -(2.0**53), 7.2e75, -7.2e75, 6e-79]])
    assert np.array_equal(xport.ieee_from_ibm(xport.ibm_from_ieee(values)), values)


def test_missing_values_are_code_byte_then_zeros(tmp_path):
    frame = pd.DataFrame({"AVAL": pd.Series([np.nan, ".A", "._", 2.0, ".Z", "."], dtype=object)})
    path = xpt.write_xpt(frame, _dataset(_var("AVAL", "Num")), tmp_path / "m.xpt")
    records = _observations(path)
    codes = [records[i * 8 : (i + 1) * 8] for i in range(6)]
    assert codes == [
        b".\0\0\0\0\0\0\0",
        b"A\0\0\0\0\0\0\0",
        b"_\0\0\0\0\0\0\0",
        struct.pack(">Q", 0x4120000000000000),
        b"Z\0\0\0\0\0\0\0",
        b".\0\0\0\0\0\0\0",
    ]


def test_special_missing_values_come_back_from_read_dataset(tmp_path):
    frame = pd.DataFrame({"AVAL": pd.Series([1.5, ".B", None, "._"], dtype=object), "X": [1.0, 2, 3, 4]})
    path = xpt.write_xpt(frame, _dataset(_var("AVAL", "Num"), _var("X", "Num", order=2)), tmp_path / "s.xpt")
    back, meta = read_dataset(path)
    assert back["AVAL"].tolist()[0] == 1.5 and back["AVAL"].tolist()[1:2] == [".B"]
    assert np.isnan(back["AVAL"].tolist()[2]) and back["AVAL"].tolist()[3] == "._"
    assert back["X"].dtype == np.float64  # no special missing: stays float
    pyreadstat_frame, _ = pyreadstat.read_xport(str(path))
    assert pyreadstat_frame["AVAL"].isna().tolist() == [False, True, True, True]


@pytest.mark.parametrize("value", [np.inf, -np.inf, 2.0**252, -1e76])
def test_numbers_outside_ibm_range_are_refused_with_the_record(tmp_path, value):
    frame = pd.DataFrame({"AVAL": [1.0, value]})
    with pytest.raises(WriteError, match=r"LB\.AVAL record 2: .*outside the IBM double range"):
        xpt.write_xpt(frame, _dataset(_var("AVAL", "Num")), tmp_path / "r.xpt")
    assert not (tmp_path / "r.xpt").exists()


def test_short_numeric_length_keeps_leading_bytes(tmp_path):
    frame = pd.DataFrame({"N": [1.0, 3.0]})
    path = xpt.write_xpt(frame, _dataset(_var("N", "Num", length=4)), tmp_path / "n.xpt")
    assert _observations(path)[:8] == b"\x41\x10\0\0\x41\x30\0\0"
    back, _ = pyreadstat.read_xport(str(path))
    assert back["N"].tolist() == [1.0, 3.0]


def test_datetime_columns_become_sas_dates_and_datetimes(tmp_path):
    frame = pd.DataFrame(
        {
            "ADT": pd.to_datetime(["1960-01-02", "2014-01-02", None]),
            "ADTM": pd.to_datetime(["1960-01-01 00:01:00", "1959-12-31 23:59:59", None]),
        }
    )
    dataset = _dataset(_var("ADT", "Num", fmt="DATE9."), _var("ADTM", "Num", fmt="DATETIME20.", order=2))
    back, _ = pyreadstat.read_xport(
        str(xpt.write_xpt(frame, dataset, tmp_path / "d.xpt")), disable_datetime_conversion=True
    )
    assert back["ADT"].tolist()[:2] == [1.0, 19725.0] and np.isnan(back["ADT"].iloc[2])
    assert back["ADTM"].tolist()[:2] == [60.0, -1.0]


# --- text ---------------------------------------------------------------------------------------


def test_char_values_are_blank_padded_to_declared_length(tmp_path):
    frame = pd.DataFrame({"A": ["x", "", None, " lead"]})
    path = xpt.write_xpt(frame, _dataset(_var("A", length=6)), tmp_path / "c.xpt")
    assert _observations(path) == b"x     " + b" " * 12 + b" lead " + b" " * 56


def test_value_longer_than_declared_length_names_dataset_variable_record_and_value(tmp_path):
    frame = pd.DataFrame({"LBTESTCD": ["ALT", "HEMOGLOBIN", "ALBUMINX"]})
    with pytest.raises(WriteError) as info:
        xpt.write_xpt(frame, _dataset(_var("LBTESTCD", length=8)), tmp_path / "long.xpt")
    message = str(info.value)
    assert "LB.LBTESTCD record 2: value 'HEMOGLOBIN' is 10 bytes, longer than the declared length 8" in message
    assert "never truncated" in message
    assert not (tmp_path / "long.xpt").exists()


def test_problems_in_several_chunks_are_reported_together(tmp_path):
    frame = pd.DataFrame({"A": ["ok", "too long", "ok", "also too long"], "N": [1.0, 2.0, np.inf, 4.0]})
    with pytest.raises(WriteError) as info:
        xpt.write_xpt(frame, _dataset(_var("A", length=2), _var("N", "Num", order=2)), tmp_path / "p.xpt", chunk_rows=1)
    message = str(info.value)
    assert "2 problem(s)" in message
    assert "LB.A record 2" in message and "(and 1 more records like it)" in message
    assert "LB.N record 3" in message


def test_failed_write_leaves_existing_file_untouched(tmp_path):
    target = tmp_path / "keep.xpt"
    target.write_bytes(b"previous")
    with pytest.raises(WriteError):
        xpt.write_xpt(pd.DataFrame({"A": ["abc"]}), _dataset(_var("A", length=1)), target)
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.xpt"]


def test_unencodable_text_is_an_error_naming_the_character(tmp_path):
    frame = pd.DataFrame({"TSVAL": ["plain", "Alzheimer\u2019s"]})
    with pytest.raises(WriteError, match=r"TS\.TSVAL record 2: .*'\u2019' \(U\+2019\), which ascii cannot encode"):
        xpt.write_xpt(frame, _dataset(_var("TSVAL", length=20), name="TS"), tmp_path / "e.xpt")


def test_cp1252_text_is_written_in_cp1252(tmp_path):
    frame = pd.DataFrame({"TSVAL": ["Alzheimer\u2019s", "caf\u00e9"]})
    path = xpt.write_xpt(frame, _dataset(_var("TSVAL", length=12), name="TS"), tmp_path / "w.xpt", encoding="cp1252")
    assert _observations(path) == b"Alzheimer\x92s " + b"caf\xe9" + b" " * 8 + b" " * 56
    back, _ = read_dataset(path, encoding="cp1252")
    assert back["TSVAL"].tolist() == ["Alzheimer\u2019s", "caf\u00e9"]


def test_transliteration_replaces_and_warns(tmp_path):
    frame = pd.DataFrame({"TSVAL": ["Alzheimer\u2019s", "na\u00efve \u2264 5", "plain"]})
    with pytest.warns(UserWarning, match=r"TS\.TSVAL: 2 value\(s\) transliterated"):
        path = xpt.write_xpt(
            frame, _dataset(_var("TSVAL", length=16), name="TS"), tmp_path / "t.xpt", transliterate=True
        )
    back, _ = pyreadstat.read_xport(str(path))
    assert back["TSVAL"].tolist() == ["Alzheimer's", "naive <= 5", "plain"]


def test_transliteration_that_grows_a_value_past_its_length_is_an_error(tmp_path):
    frame = pd.DataFrame({"A": ["a\u2026"]})  # "a..." after transliteration: 4 bytes
    with pytest.warns(UserWarning), pytest.raises(WriteError, match="longer than the declared length 3"):
        xpt.write_xpt(frame, _dataset(_var("A", length=3)), tmp_path / "g.xpt", transliterate=True)


def test_non_text_in_char_variable_is_refused(tmp_path):
    frame = pd.DataFrame({"A": pd.Series(["x", 5], dtype=object)})
    with pytest.raises(WriteError, match=r"LB\.A record 2: 5 is not text"):
        xpt.write_xpt(frame, _dataset(_var("A")), tmp_path / "x.xpt")


# --- metadata checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variables, expected",
    [
        ((_var("LBTESTCODE"),), "'LBTESTCODE' is not a valid XPT v5 name"),
        ((_var("lbtest"),), "'lbtest' is not a valid XPT v5 name"),
        ((_var("1ABC"),), "'1ABC' is not a valid XPT v5 name"),
        ((_var("A"), _var("A", order=2)), "LB.A: variable named twice"),
        ((_var("A", label="x" * 41),), "LB.A label is 41 bytes, longer than the 40 XPT v5 allows"),
        ((_var("A", length=201),), "LB.A: declared length 201 is outside 1-200"),
        ((_var("A", length=0),), "LB.A: declared length 0 is outside 1-200"),
        ((_var("N", "Num", length=9),), "LB.N: numeric length 9 is outside 3-8"),
    ],
)
def test_metadata_problems_are_refused_before_writing(tmp_path, variables, expected):
    frame = pd.DataFrame({v.name: ["a"] for v in variables})
    with pytest.raises(WriteError) as info:
        xpt.write_xpt(frame, _dataset(*variables), tmp_path / "bad.xpt")
    assert expected in str(info.value)
    assert not list(tmp_path.iterdir())


def test_label_limit_counts_bytes_not_characters(tmp_path):
    label = "\u00e9" * 21  # 21 characters, 42 bytes in UTF-8
    with pytest.raises(WriteError, match="label is 42 bytes"):
        xpt.write_xpt(
            pd.DataFrame({"A": ["a"]}), _dataset(_var("A", label=label)), tmp_path / "l.xpt", encoding="utf-8"
        )


def test_frame_columns_must_match_metadata(tmp_path):
    with pytest.raises(WriteError, match="no column for B; columns not in the metadata: C"):
        xpt.write_xpt(
            pd.DataFrame({"A": ["a"], "C": ["c"]}), _dataset(_var("A"), _var("B", order=2)), tmp_path / "m.xpt"
        )


def test_bad_format_is_refused():
    with pytest.raises(WriteError, match="LB.A format: 'DATE-9.' is not a SAS format"):
        xpt.variables_from_dataset(_dataset(_var("A", fmt="DATE-9.")))


@pytest.mark.parametrize(
    "text, parsed",
    [
        ("DATE9.", ("DATE", 9, 0)),
        ("$CHAR20.", ("$CHAR", 20, 0)),
        ("8.2", ("", 8, 2)),
        ("E8601DA10.", ("E8601DA", 10, 0)),
        ("best12", ("BEST", 12, 0)),
        ("$", ("$", 0, 0)),
        ("", ("", 0, 0)),
    ],
)
def test_sas_format_parse_and_render(text, parsed):
    fmt = xport.SasFormat.parse(text)
    assert (fmt.name, fmt.width, fmt.decimals) == parsed
    assert xport.SasFormat.parse(str(fmt)) == fmt


# --- header, chunking, reproducibility -----------------------------------------------------------


def test_header_stamps_version_os_and_times(tmp_path):
    created = dt.datetime(2026, 1, 1, 9, 5, 7)
    path = xpt.write_xpt(
        pd.DataFrame({"A": ["a"]}),
        _dataset(_var("A")),
        tmp_path / "h.xpt",
        created=created,
        sas_version="9.4",
        os_name="Linux",
    )
    data = path.read_bytes()
    assert data[80:160] == b"SAS     SAS     SASLIB  9.4     Linux   " + b" " * 24 + b"01JAN26:09:05:07"
    assert data[160:176] == b"01JAN26:09:05:07"
    assert data[400:480] == b"SAS     LB      SASDATA 9.4     Linux   " + b" " * 24 + b"01JAN26:09:05:07"
    assert data[480:560] == b"01JAN26:09:05:07" + b" " * 16 + b"Laboratory Test Results".ljust(40) + b" " * 8
    member = xport.read_header(path)
    assert member.header == xport.XptHeader("9.4", "Linux", created, created)


def test_sas_datetime_text_round_trips_with_posix_pivot():
    for value in (dt.datetime(1969, 12, 31, 23, 59, 59), dt.datetime(2068, 2, 29, 0, 0, 0)):
        assert xport.parse_sas_datetime(xport.format_sas_datetime(value)) == value
    assert xport.parse_sas_datetime(" " * 16) is None


def test_chunked_output_equals_single_chunk_and_is_reproducible(tmp_path):
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "USUBJID": [f"S-{i:05d}" for i in range(1001)],
            "AVAL": rng.normal(size=1001),
            "AVALC": rng.choice(["LOW", "", "HIGH"], 1001),
        }
    )
    dataset = _dataset(_var("USUBJID", length=7), _var("AVAL", "Num", order=2), _var("AVALC", length=4, order=3))
    one = xpt.write_xpt(frame, dataset, tmp_path / "one.xpt").read_bytes()
    many = xpt.write_xpt(frame, dataset, tmp_path / "many.xpt", chunk_rows=7).read_bytes()
    again = xpt.write_xpt(frame, dataset, tmp_path / "again.xpt").read_bytes()
    assert one == many == again
    assert len(one) % 80 == 0


def test_zero_records_writes_headers_only(tmp_path):
    path = xpt.write_xpt(pd.DataFrame({"A": pd.Series([], dtype=str)}), _dataset(_var("A")), tmp_path / "z.xpt")
    assert path.read_bytes().endswith(b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!" + b"0" * 30 + b"  ")
    back, meta = read_dataset(path)
    assert len(back) == 0 and meta.variables[0].length == 8


def test_nullable_and_integer_columns(tmp_path):
    frame = pd.DataFrame({"I": pd.array([1, None, 2**53], dtype="Int64"), "J": np.array([0, -3, 7])})
    back, _ = pyreadstat.read_xport(
        str(xpt.write_xpt(frame, _dataset(_var("I", "Num"), _var("J", "Num", order=2)), tmp_path / "i.xpt"))
    )
    assert back["I"].tolist()[0] == 1.0 and np.isnan(back["I"].iloc[1]) and back["I"].iloc[2] == 2.0**53
    assert back["J"].tolist() == [0.0, -3.0, 7.0]


def test_header_strings_longer_than_eight_characters_are_refused(tmp_path):
    with pytest.raises(WriteError, match="host OS name 'Windows 11 Pro' must be at most 8 ASCII characters"):
        xpt.write_xpt(pd.DataFrame({"A": ["a"]}), _dataset(_var("A")), tmp_path / "o.xpt", os_name="Windows 11 Pro")
