"""The README's R and SAS snippets work on a real build: the R block is run with Rscript on NCI84's
outputs and what it prints is checked; the SAS block (no SAS here) is checked for the files, datasets
and variables it names."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pyreadstat
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def fenced(language: str, marker: str) -> str:
    """The one fenced block of ``language`` in the README that carries ``marker``."""
    blocks = re.findall(rf"^```{language}\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)
    chosen = [b for b in blocks if marker in b]
    assert len(chosen) == 1, f"expected one ```{language} block with {marker!r} in README.md, found {len(chosen)}"
    return chosen[0]


def test_readme_r_snippet_reads_the_outputs(nci84_output, rscript, tmp_path):
    folder, _ = nci84_output
    probe = subprocess.run([rscript, "-e", "library(jsonlite)"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("R package jsonlite not installed (apt-get install r-cran-jsonlite)")
    script = tmp_path / "readme.R"
    script.write_text(fenced("r", "README R snippet"), encoding="utf-8")
    done = subprocess.run(
        [rscript, str(script)],
        capture_output=True,
        text=True,
        env={"SDTMIFY_OUT": str(folder), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    printed = {
        m[0]: (int(m[1]), int(m[2])) for m in re.findall(r"^(\w+)\s+(\d+) rows\s+(\d+) variables$", done.stdout, re.M)
    }
    expected = {}
    for path in sorted((folder / "sdtm").glob("*.xpt")) + sorted((folder / "adam").glob("*.xpt")):
        frame, _ = pyreadstat.read_xport(str(path))
        expected[path.stem.upper()] = frame.shape
    assert printed == expected
    assert printed["DM"] == (21, 28) and printed["ADSL"][0] == 21
    assert "DM.AGE label: Age \n" in done.stdout
    assert "ADSL.TRTSDT class: Date \n" in done.stdout
    assert "DM from Dataset-JSON: 21 rows, same AGE as the XPT: TRUE" in done.stdout


SAS_WORDS = {"XPORT", "N"}  # upper-case words of the SAS block that are not variable names


def test_readme_sas_snippet_names_what_the_build_writes(nci84_output):
    folder, _ = nci84_output
    block = fenced("sas", "README SAS snippet")
    # libname LIB xport "&out/<file>": every file exists
    librefs = dict(re.findall(r'libname (\w+) xport "&out/([^"]+)"', block))
    assert librefs, "the SAS block declares no XPORT libraries"
    for path in librefs.values():
        assert (folder / path).is_file(), path
    # proc copy in=XLIB out=LIB: the member name is the XPT file's stem
    members = {}
    for source, target in re.findall(r"proc copy in=(\w+) out=(\w+);", block):
        path = folder / librefs[source]
        members[f"{target}.{path.stem}".lower()] = path
    used = 0
    for statement in re.findall(r"proc \w+ data=([\w.]+)(.*?)run;", block, re.S):
        dataset, body = statement
        dataset = dataset.split("(")[0].lower()
        assert dataset in members, f"{dataset} is not copied from an XPT file by the snippet"
        frame, meta = pyreadstat.read_xport(str(members[dataset]))
        for variable, value in re.findall(r'(\w+)="([^"]*)"', body):  # where=(PARAMCD="OS"): a value in the data
            assert value in set(frame[variable]), f"{dataset}: no {variable}={value!r}"
        names = set(re.findall(r"\b[A-Z][A-Z0-9]{1,7}\b", re.sub(r'"[^"]*"', "", body))) - SAS_WORDS
        missing = names - set(meta.column_names)
        assert not missing, f"{dataset}: {sorted(missing)} not in {members[dataset].name}"
        used += len(names)
    assert used >= 8
    # the Dataset-JSON route names a file the build writes
    for path in re.findall(r"jsonpath=&out/([^,)]+)", block):
        assert (folder / path).is_file(), path
