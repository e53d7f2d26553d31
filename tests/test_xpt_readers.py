"""Independent readers agree with what we write: pyreadstat and R haven read back the values, labels,
formats, lengths and dataset label (haven does not expose declared lengths; pyreadstat does)."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from sdtmify import xport
from sdtmify.metadata.model import Dataset, Variable
from sdtmify.readers import read_dataset
from sdtmify.writers import xpt

R_SCRIPT = Path(__file__).resolve().parent / "r" / "dump_xpt.R"


def haven_dump(rscript: str, path: Path) -> tuple[list[dict], dict[str, dict]]:
    """What haven::read_xpt sees: rows as text (numbers %.17g on the SAS epoch, ".A" for special
    missing, "" for missing) and per-variable metadata (type, label, format; "_DATASET_" -> label)."""
    prefix = path.with_suffix("")
    done = subprocess.run([rscript, str(R_SCRIPT), str(path), str(prefix)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with open(f"{prefix}.values.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with open(f"{prefix}.meta.csv", encoding="utf-8", newline="") as handle:
        meta = {row["name"]: row for row in csv.DictReader(handle)}
    return rows, meta


def haven_number(text: str):
    return text if text.startswith(".") else (np.nan if text == "" else float(text))


def same_number(a, b) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return (np.isnan(a) and np.isnan(b)) or a == b


SAMPLE_VARIABLES = (
    Variable("STUDYID", "Study Identifier", "Char", 12, "text", 1),
    Variable("USUBJID", "Unique Subject Identifier", "Char", 20, "text", 2),
    Variable("LBTEST", "Lab Test or Examination Name", "Char", 40, "text", 3),
    Variable("LBORRES", "Result or Finding in Original Units", "Char", 200, "text", 4),
    Variable("LBSEQ", "Sequence Number", "Num", 8, "integer", 5, format="8."),
    Variable("LBSTRESN", "Numeric Result/Finding in Standard Units", "Num", 8, "float", 6, format="8.2"),
    Variable("ADT", "Analysis Date", "Num", 8, "integer", 7, format="DATE9."),
    Variable("LBNRIND", "Reference Range Indicator", "Char", 1, "text", 8, format="$1."),
    Variable("BIG", "Whole numbers up to 2**53", "Num", 8, "integer", 9, informat="BEST12."),
)
SAMPLE_LABEL = "Laboratory Test Results: 40 bytes long.."


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[pd.DataFrame, Dataset, Path]:
    frame = pd.DataFrame(
        {
            "STUDYID": ["NCI84"] * 5,
            "USUBJID": ["NCI84-001", "NCI84-002", "", "  leading", "NCI84-005"],
            "LBTEST": ["Alanine Aminotransferase", "Hemoglobin", "x" * 40, "", "a b  c"],
            "LBORRES": ["12.5", "y" * 200, None, "<0.1", "   "],
            "LBSEQ": [1.0, 2.0, 3.0, 4.0, 5.0],
            "LBSTRESN": pd.Series([12.5, np.nan, ".A", -0.0015, "._"], dtype=object),
            "ADT": [19725.0, -1.0, np.nan, 0.0, 25000.0],
            "LBNRIND": ["H", "L", "", "N", None],
            "BIG": [2.0**53, -(2.0**53), 123456789012.0, 1e-300, 7.2e75],
        }
    )
    dataset = Dataset(name="LB", label=SAMPLE_LABEL, purpose="Tabulation", variables=SAMPLE_VARIABLES)
    path = xpt.write_xpt(frame, dataset, tmp_path_factory.mktemp("sample") / "lb.xpt")
    return frame, dataset, path


def expected_text(frame: pd.DataFrame, name: str) -> list[str]:
    """XPT keeps no trailing blanks and no character null: readers give rstripped text, "" for None."""
    return ["" if pd.isna(v) else v.rstrip(" ") for v in frame[name]]


def expected_numbers(frame: pd.DataFrame, name: str) -> list:
    """Numbers as written: specials stay codes, -0.0 and values below 16**-65 become 0."""
    out = []
    for v in frame[name]:
        if isinstance(v, str):
            out.append(v)
        elif v is None or np.isnan(v):
            out.append(np.nan)
        else:
            out.append(0.0 if abs(v) < 16.0**-65 else float(v))
    return out


def test_pyreadstat_reads_values_labels_formats_lengths_and_dataset_label(sample):
    frame, dataset, path = sample
    back, meta = pyreadstat.read_xport(str(path), disable_datetime_conversion=True)
    assert list(back.columns) == list(dataset.variable_names)
    assert meta.file_label == SAMPLE_LABEL and meta.table_name == "LB"
    for var in dataset.variables:
        assert meta.column_names_to_labels[var.name] == var.label
        assert meta.variable_storage_width[var.name] == var.length
        assert xport.SasFormat.parse(meta.original_variable_types[var.name]) == xport.SasFormat.parse(var.format)
        if var.type == "Char":
            assert back[var.name].fillna("").tolist() == expected_text(frame, var.name)
        else:  # pyreadstat reads special missing values as NaN
            expected = [np.nan if isinstance(v, str) else v for v in expected_numbers(frame, var.name)]
            assert all(same_number(a, b) for a, b in zip(back[var.name].tolist(), expected, strict=False)), var.name
    # pyreadstat 1.3.8 keeps the period SAS writes ("BEST12."), earlier releases drop it ("BEST12")
    assert xport.SasFormat.parse(meta.original_variable_informats["BIG"]) == xport.SasFormat("BEST", 12)


@pytest.mark.r
def test_haven_reads_values_labels_formats_and_dataset_label(sample, rscript):
    frame, dataset, path = sample
    rows, meta = haven_dump(rscript, path)
    assert meta["_DATASET_"]["label"] == SAMPLE_LABEL
    assert len(rows) == len(frame)
    for var in dataset.variables:
        assert meta[var.name]["type"] == var.type
        assert meta[var.name]["label"] == var.label
        assert xport.SasFormat.parse(meta[var.name]["format"]) == xport.SasFormat.parse(var.format)
        got = [row[var.name] for row in rows]
        if var.type == "Char":
            assert got == expected_text(frame, var.name), var.name
        else:
            assert all(
                same_number(haven_number(a), b) for a, b in zip(got, expected_numbers(frame, var.name), strict=False)
            ), (
                var.name,
                got,
            )


def test_read_dataset_gives_back_the_metadata_written(sample):
    frame, dataset, path = sample
    back, meta = read_dataset(path)
    assert (meta.name, meta.label, meta.leaf) == ("LB", SAMPLE_LABEL, "lb.xpt")
    for ours, theirs in zip(dataset.variables, meta.variables, strict=False):
        assert (theirs.name, theirs.label, theirs.type, theirs.length, theirs.order) == (
            ours.name,
            ours.label,
            ours.type,
            ours.length,
            ours.order,
        )
        assert xport.SasFormat.parse(theirs.format) == xport.SasFormat.parse(ours.format)
        assert xport.SasFormat.parse(theirs.informat) == xport.SasFormat.parse(ours.informat)
    assert [v.data_type for v in meta.variables if v.type == "Num"] == ["integer", "float", "integer", "float"]
    assert back["LBSTRESN"].tolist()[2] == ".A" and back["LBSTRESN"].tolist()[4] == "._"
    assert back["USUBJID"].tolist() == expected_text(frame, "USUBJID")
    assert back.attrs["xpt"].header.created.year == 2026


def test_xpt_header_rides_along_pandas_operations_without_being_copied(sample):
    """pandas deep-copies ``attrs`` into every frame or column an operation returns; the header is
    immutable, so the copy is the same object (copying it cost a fifth of validating the CDISC pilot)."""
    _, _, path = sample
    back, _ = read_dataset(path)
    member = back.attrs["xpt"]
    derived = back["USUBJID"].astype("str").str.strip()
    assert derived.attrs["xpt"] is member
    assert back[["USUBJID"]].fillna("").attrs["xpt"] is member
    assert derived.attrs["xpt"].header.created.year == 2026


@pytest.mark.r
@pytest.mark.slow
def test_haven_reads_every_reference_file_as_pyreadstat_does(shared, tmp_path, rscript):
    """Both readers agree on the SAS-written pilot files our byte-identical writer reproduces."""
    for name in ("adam/adsl.xpt", "sdtm/ex.xpt"):
        path = shared / "reference" / "xpt" / name
        frame, dataset = read_dataset(path)
        rows, meta = haven_dump(rscript, _copy(path, tmp_path))
        for var in dataset.variables:
            got = [row[var.name] for row in rows]
            if var.type == "Char":
                assert got == frame[var.name].tolist()
            else:
                assert all(same_number(haven_number(a), b) for a, b in zip(got, frame[var.name].tolist(), strict=False))


def _copy(path: Path, folder: Path) -> Path:
    target = folder / path.name
    target.write_bytes(path.read_bytes())
    return target


def test_read_dataset_refuses_other_files_with_the_path(tmp_path):
    from sdtmify.errors import InputError

    bogus = tmp_path / "not.xpt"
    bogus.write_bytes(b"hello" * 200)
    with pytest.raises(InputError, match="not.xpt"):
        read_dataset(bogus)
    with pytest.raises(InputError, match="cannot read '.sas7bdat' files"):
        (tmp_path / "x.sas7bdat").write_bytes(b"")
        read_dataset(tmp_path / "x.sas7bdat")


def test_the_reader_needs_no_writer():
    """The XPT format lives in sdtmify.xport: reading a file never imports a writer."""
    import sys

    code = "import sys, sdtmify.readers; print(sorted(m for m in sys.modules if m.startswith('sdtmify.writers')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_running_out_of_memory_is_not_blamed_on_the_file(tmp_path, monkeypatch):
    """A failed allocation while reading says so (exit 2, 'out of memory'), never 'pass the encoding'."""
    from sdtmify.cli import _describe
    from sdtmify.readers import read_xpt_values

    path = tmp_path / "dm.xpt"
    pyreadstat.write_xport(pd.DataFrame({"AGE": [64.0]}), str(path), file_format_version=5, table_name="DM")

    def exhausted(*args, **kwargs):
        raise MemoryError("Unable to allocate 13.0 MiB for an array")

    monkeypatch.setattr(pyreadstat, "read_xport", exhausted)
    with pytest.raises(MemoryError) as caught:
        read_xpt_values(path, None)
    code, message = _describe(caught.value)
    assert code == 2
    assert message.startswith("out of memory: ") and "encoding" not in message
