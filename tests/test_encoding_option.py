"""--encoding on every command that reads sources or datasets: a Python codec name, checked before
anything is read, applied to the files read."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from sdtmify.cli import main

sys.path.insert(0, str(Path(__file__).parent / "studies"))
from nci84_mini import write_mini


@pytest.fixture
def cp1252_study(tmp_path, monkeypatch):
    """The mini NCI84 study with subjects.csv in Windows-1252 (a note column with 'Müller – café')."""
    monkeypatch.setenv("SDTMIFY_HOME", str(tmp_path))
    (tmp_path / "mappings").mkdir()
    (tmp_path / "specs").mkdir()
    write_mini(tmp_path)
    path = tmp_path / "mappings" / "NCI84" / "source" / "subjects.csv"
    lines = path.read_text().splitlines()
    rows = [lines[0] + ",note"] + [line + ",Müller – café" for line in lines[1:]]
    path.write_bytes(("\n".join(rows) + "\n").encode("cp1252"))
    return tmp_path


def test_check_reads_sources_in_the_encoding_given(cp1252_study, capsys):
    assert main(["check", "--study", "NCI84"]) == 1
    assert "byte 0xfc on line 2 is not utf-8" in capsys.readouterr().out
    assert main(["check", "--study", "NCI84", "--encoding", "cp1252"]) == 0
    assert capsys.readouterr().out.strip().endswith("files valid")


def test_build_reads_sources_in_the_encoding_given(cp1252_study, capsys):
    out = cp1252_study / "output" / "NCI84"
    assert main(["-q", "build", "--study", "NCI84", "--no-validate", "--no-report", "--encoding", "windows-1252"]) == 0
    assert (out / "sdtm" / "dm.xpt").is_file()


def test_validate_reads_xpt_in_the_encoding_given(nci84_output, tmp_path, capsys):
    folder, _ = nci84_output
    document = json.loads((folder / "sdtm" / "dataset-json" / "dm.json").read_text())
    names = [c["name"] for c in document["columns"]]
    document["rows"][0][names.index("ACTARMUD")] = "dosé"
    document["columns"][names.index("ACTARMUD")]["length"] = 4
    (tmp_path / "dm.json").write_text(json.dumps(document))
    data = tmp_path / "data"
    data.mkdir()
    assert main(["-q", "convert", str(tmp_path / "dm.json"), str(data / "dm.xpt"), "--encoding", "latin-1"]) == 0
    assert b"dos\xe9" in (data / "dm.xpt").read_bytes()
    capsys.readouterr()
    # UTF-8 cannot read it: an input error that names the option to use
    assert main(["-q", "validate", str(data), "--encoding", "utf-8", "--fail-on", "never"]) == 2
    err = capsys.readouterr().err
    assert "dm.xpt" in err and "--encoding latin-1" in err
    # Latin-1 reads the value as written: the ASCII rule sees 'dosé'
    assert (
        main(
            [
                "-q",
                "validate",
                str(data),
                "--encoding",
                "latin-1",
                "--fail-on",
                "never",
                "--report-dir",
                str(tmp_path / "r"),
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "r" / "validation.json").read_text())
    assert "DM.ACTARMUD value 'dosé' has non-ASCII characters" in [f["message"] for f in report["findings"]]


def test_report_takes_the_option(capsys):
    with pytest.raises(SystemExit) as info:
        main(["report", "--help"])
    assert info.value.code == 0
    assert "--encoding CODEC" in capsys.readouterr().out
