"""Hostile lengths: values longer than their declared length (ASCII, Windows-1252, UTF-8 multi-byte),
beyond XPT's 200 bytes, and lengths, names and labels outside what the formats allow."""

from __future__ import annotations

from inputs_support import Case, both, check, convert, inputs_project, json_file, mini_output, params, study_line, sub  # noqa: F401

EVENTS = "source/adverse_events.csv"
AETERM = "  AETERM:   {column: ae_term}"


def _term(text: str):
    return both(sub(EVENTS, "Anaemia", text), sub("dictionaries/meddra.csv", "Anaemia", text))


def _declared(length):
    return sub("sdtm/ae.yaml", AETERM, f"  AETERM:   {{column: ae_term, length: {length}}}")


def _column(name: str, key: str, value):
    def change(document):
        column = next(c for c in document["columns"] if c["name"] == name)
        column[key] = value

    return change


def _value(name: str, row: int, value):
    def change(document):
        column = next(i for i, c in enumerate(document["columns"]) if c["name"] == name)
        document["rows"][row][column] = value

    return change


def _rename(old: str, new: str):
    def change(document):
        next(c for c in document["columns"] if c["name"] == old)["name"] = new

    return change


LENGTH_ERROR = "longer than the declared length 10"
CASES = [
    Case(
        "declared-length-shorter-than-ascii-value",
        _declared(5),
        ("mappings/MINI/sdtm/ae.yaml:7 AETERM.length", "declared length 5 is shorter than its longest value", "row"),
    ),
    Case(
        "declared-length-shorter-than-non-ascii-value",
        both(_declared(7), _term("An\u00e9mia")),
        (
            "mappings/MINI/sdtm/ae.yaml:7 AETERM.length",
            "(19 bytes) in record 3 USUBJID=MINI-001-E AESEQ=1 source adverse_events row 3",
        ),
    ),
    Case("declared-length-zero", _declared(0), ("mappings/MINI/sdtm/ae.yaml:7 AETERM.length", "0")),
    Case("declared-length-201", _declared(201), ("mappings/MINI/sdtm/ae.yaml:7 AETERM.length", "201")),
    Case(
        "declared-length-text",
        _declared('"long"'),
        ("mappings/MINI/sdtm/ae.yaml:7 AETERM.length", "should be an integer"),
    ),
    Case(
        "value-over-200-bytes",
        _term("A" * 300),
        ("AE.AETERM", "300 is outside 1-200 (XPT v5 character limit)"),
    ),
    Case(
        "value-of-100-000-characters",
        _term("B" * 100_000),
        ("AE.AETERM", "outside 1-200 (XPT v5 character limit)"),
    ),
    Case(
        "json-value-too-long-for-ascii-xpt",
        both(json_file("ae.json", both(_column("AETERM", "length", 10), _value("AETERM", 1, "Anaemia, severe")))),
        ("output/ae.xpt", "AE.AETERM record 2", "is 15 bytes, " + LENGTH_ERROR),
        args=convert("ae.json", "ae.xpt"),
    ),
    Case(
        "json-non-ascii-value-too-long-for-ascii-xpt",
        json_file(
            "ae.json", both(_column("AETERM", "length", 10), _value("AETERM", 1, "An\u00e9mia s\u00e9v\u00e8re"))
        ),
        ("AE.AETERM record 2", "which ascii cannot encode", "is 13 bytes, " + LENGTH_ERROR),
        args=convert("ae.json", "ae.xpt"),
    ),
    Case(
        "json-value-too-long-for-windows-1252-xpt",
        json_file(
            "ae.json", both(_column("AETERM", "length", 10), _value("AETERM", 1, "An\u00e9mia s\u00e9v\u00e8re"))
        ),
        ("AE.AETERM record 2", "is 13 bytes, " + LENGTH_ERROR),
        args=convert("ae.json", "ae.xpt", "--encoding", "cp1252"),
    ),
    Case(
        "json-multibyte-value-fits-in-characters-not-bytes",
        json_file("ae.json", both(_column("AETERM", "length", 10), _value("AETERM", 1, "\u00e9" * 9))),
        ("AE.AETERM record 2", "is 18 bytes, " + LENGTH_ERROR),
        args=convert("ae.json", "ae.xpt", "--encoding", "utf-8"),
    ),
    Case(
        "json-column-length-zero",
        json_file("ae.json", _column("AETERM", "length", 0)),
        ("data/ae.json", "columns/5/length", "less than the minimum of 1"),
        args=convert("ae.json", "ae.xpt"),
    ),
    Case(
        "json-variable-name-of-nine-characters",
        json_file("ae.json", _rename("AETERM", "AETERMTXT")),
        ("'AETERMTXT' is not a valid XPT v5 name",),
        args=convert("ae.json", "ae.xpt"),
    ),
    Case(
        "json-label-over-40-bytes",
        json_file("ae.json", _column("AETERM", "label", "Reported Term for the Adverse Event, verbatim")),
        ("AE.AETERM", "longer than the 40 XPT v5 allows"),
        args=convert("ae.json", "ae.xpt"),
    ),
    Case(
        "studyid-of-21-characters",
        sub("study.yaml", "studyid: MINI", "studyid: MINI-ABCDEFGHIJKLMNOPQ"),
        (f"mappings/MINI/study.yaml:{study_line('  studyid:')} study.studyid", "does not match"),
    ),
]


@params(CASES)
def test_hostile_lengths(inputs_project, mini_output, case):  # noqa: F811
    check(inputs_project, mini_output, case)
