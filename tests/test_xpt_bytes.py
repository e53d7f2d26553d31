"""Byte identity with SAS: every SAS-written XPT in ../shared/reference/xpt, read and written back with
the original's metadata, equals the original byte for byte. No exceptions are listed: all files pass."""

from __future__ import annotations

import pyreadstat
import pytest
from xpt_reference import CP1252, FILES
from xpt_reference import reference as _reference

from sdtmify import xport
from sdtmify.readers import read_dataset
from sdtmify.writers import xpt


@pytest.mark.parametrize("name", FILES)
def test_rewriting_sas_file_with_its_header_fields_is_byte_identical(shared, tmp_path, name):
    original = _reference(shared, name)
    encoding = "cp1252" if name in CP1252 else "ascii"
    member = xport.read_header(original, encoding)
    frame, _meta = pyreadstat.read_xport(str(original), encoding=encoding, disable_datetime_conversion=True)
    written = xpt.write_xport(
        frame,
        member.variables,
        tmp_path / "out.xpt",
        member=member.name,
        label=member.label,
        header=member.header,
        library=member.library,
        dataset_type=member.dataset_type,
        encoding=encoding,
        chunk_rows=97,
    )
    assert written.read_bytes() == original.read_bytes()


@pytest.mark.parametrize("name", FILES)
def test_read_dataset_then_write_xpt_reproduces_sas_file(shared, tmp_path, name):
    """The public path: readers.read_dataset -> metadata.Dataset -> write_xpt with the header stamps."""
    original = _reference(shared, name)
    frame, dataset = read_dataset(original)
    header = frame.attrs["xpt"].header
    written = xpt.write_xpt(
        frame,
        dataset,
        tmp_path / "out.xpt",
        created=header.created,
        modified=header.modified,
        sas_version=header.sas_version,
        os_name=header.os_name,
        encoding=frame.attrs["encoding"],
    )
    assert written.read_bytes() == original.read_bytes()


def test_header_parser_reads_sas_header_fields(shared):
    member = xport.read_header(_reference(shared, "adam/adsl.xpt"))
    assert (member.name, member.label, member.dataset_type) == ("ADSL", "", "")
    assert member.header.sas_version == "9.3" and member.header.os_name == "X64_7HOM"
    assert member.header.created.isoformat() == "2012-10-15T22:56:22"
    assert member.library == member.header
    assert member.observations == 254
    trtsdt = next(v for v in member.variables if v.name == "TRTSDT")
    assert (trtsdt.type, trtsdt.length, str(trtsdt.format), trtsdt.justify) == ("Num", 8, "DATE9.", 0)
    usubjid = member.variables[1]
    assert (usubjid.name, usubjid.label, usubjid.type, usubjid.number) == (
        "USUBJID",
        "Unique Subject Identifier",
        "Char",
        2,
    )
    assert member.record_length == sum(v.length for v in member.variables)


def test_observation_count_ignores_blank_padding_after_short_records(shared):
    # sv.xpt: 80-byte records, no padding; suppds.xpt: 881-byte records, 77 bytes of padding.
    assert xport.read_header(_reference(shared, "sdtm/sv.xpt")).observations == 3559
    assert xport.read_header(_reference(shared, "sdtm/suppds.xpt")).observations == 3
