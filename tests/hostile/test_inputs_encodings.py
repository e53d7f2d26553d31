"""Hostile encodings: bytes that are not UTF-8 in sources, YAML and Dataset-JSON, unknown encoding names,
and text the XPT encoding cannot hold."""

from __future__ import annotations

from pathlib import Path

from inputs_support import (  # noqa: F401
    Case,
    both,
    check,
    convert,
    data_file,
    inputs_project,
    json_file,
    mapping_line,
    mini_output,
    params,
    study_line,
    sub,
)

SUBJECTS = "source/subjects.csv"
EVENTS = "source/adverse_events.csv"


def _bytes(relative: str, old: bytes, new: bytes):
    def mutate(root: Path) -> None:
        path = root / "mappings/MINI" / relative
        data = path.read_bytes()
        assert old in data
        path.write_bytes(data.replace(old, new, 1))

    return mutate


def _recode(relative: str, encoding: str):
    def mutate(root: Path) -> None:
        path = root / "mappings/MINI" / relative
        path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))

    return mutate


def _term(text: str):
    """AE term 'Anaemia' replaced in the source and in the coding dictionary, so only the writer objects."""
    return both(sub(EVENTS, "Anaemia", text), sub("dictionaries/meddra.csv", "Anaemia", text))


def _aeterm(value: str):
    def change(document):
        column = next(i for i, c in enumerate(document["columns"]) if c["name"] == "AETERM")
        document["rows"][1][column] = value

    return change


CASES = [
    Case(
        "latin-1-byte-in-a-utf-8-source",
        _bytes(SUBJECTS, b"41,Female", b"41,F\xe9male"),
        ("source/subjects.csv:4", "byte 0xe9 on line 4 is not utf-8", "'encoding: latin-1'"),
        process=True,
    ),
    Case(
        "utf-16-source",
        _recode("source/labs.csv", "utf-16"),
        ("source/labs.csv:1", "byte 0xff on line 1 is not utf-8", "CSV table 'labs'"),
    ),
    Case(
        "declared-encoding-that-does-not-fit",
        both(
            _bytes(SUBJECTS, b"Female", "F\u00e9male\u2192".encode()),
            sub("study.yaml", "{file: source/subjects.csv,", "{file: source/subjects.csv, encoding: ascii,"),
        ),
        ("source/subjects.csv:2", "is not ascii"),
    ),
    Case(
        "unknown-encoding-name",
        sub("study.yaml", "{file: source/subjects.csv,", "{file: source/subjects.csv, encoding: klingon,"),
        ("source/subjects.csv", "unknown encoding 'klingon'"),
    ),
    Case(
        "latin-1-study-yaml-title",
        lambda root: (root / "mappings/MINI/study.yaml").write_bytes(
            (root / "mappings/MINI/study.yaml").read_bytes().replace(b"Paclitaxel plus", b"Paclitaxel pl\xfcs")
        ),
        (f"mappings/MINI/study.yaml:{study_line('  title:')}", "not UTF-8"),
    ),
    Case(
        "windows-1252-quote-in-a-mapping",
        _bytes("sdtm/ae.yaml", b'comment: "NCI CTCAE version 3.0"', b'comment: "NCI CTCAE \x93version\x94 3.0"'),
        (f"mappings/MINI/sdtm/ae.yaml:{mapping_line('ae.yaml', '  AETOXGR:')}", "byte 0x93", "not UTF-8"),
    ),
    Case(
        "non-ascii-term-with-ascii-xpt",
        _term("An\u00e9mia"),
        ("AE.AETERM record 1", "'An\u00e9mia' has '\u00e9' (U+00E9), which ascii cannot encode"),
    ),
    Case(
        "arrow-with-windows-1252-xpt",
        both(
            _term("Anaemia \u2192 severe"),
            sub("study.yaml", 'xpt: {sas_version: "9.4"}', 'xpt: {sas_version: "9.4", encoding: cp1252}'),
        ),
        ("AE.AETERM record 1", "'\u2192' (U+2192), which cp1252 cannot encode"),
    ),
    Case(
        "dataset-json-non-ascii-to-ascii-xpt",
        json_file("ae.json", _aeterm("Fi\u00e8vre")),
        ("output/ae.xpt", "AE.AETERM record 2", "which ascii cannot encode"),
        args=convert("ae.json", "ae.xpt"),
    ),
    Case(
        "dataset-json-in-latin-1",
        data_file("sdtm/dataset-json/ae.json", lambda data: data.replace(b"Fatigue", b"Fatigu\xe9")),
        ("data/ae.json", "not valid JSON", "can't decode byte 0xe9"),
        args=convert("ae.json", "ae.xpt"),
    ),
    Case(
        "csv-dataset-in-latin-1",
        lambda root: (root / "data" / "ae.csv").write_bytes(b"USUBJID,AETERM\nA,Fatigue\nB,Fi\xe8vre\n"),
        ("data/ae.csv:3", "byte 0xe8 on line 3 is not utf-8"),
        args=convert("ae.csv", "ae.json", "--allow-lossy"),
    ),
    Case(
        "convert-with-an-unknown-encoding",
        data_file("sdtm/dataset-json/dm.json"),
        ("argument --encoding: 'klingon' is not a text encoding Python knows",),
        args=convert("dm.json", "dm.xpt", "--encoding", "klingon"),
    ),
]


@params(CASES)
def test_hostile_encodings(inputs_project, mini_output, case):  # noqa: F811
    check(inputs_project, mini_output, case)
