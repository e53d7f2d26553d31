"""Hostile sources: files outside the study, symlinks, ragged and broken CSV, damaged XPT and Dataset-JSON
read by build, validate and convert."""

from __future__ import annotations

import json
import os
from pathlib import Path

from inputs_support import (  # noqa: F401
    Case,
    append,
    both,
    check,
    convert,
    csv_line,
    data_file,
    inputs_project,
    json_file,
    mini_output,
    params,
    put,
    study_line,
    sub,
)

STUDY_YAML = "mappings/MINI/study.yaml"
PASSWD_LINE = "root:x:0:0"


def _outside_csv(root: Path) -> None:
    """A copy of cohorts.csv in a folder outside the study (elsewhere/), as a user might keep EDC exports."""
    (root / "elsewhere").mkdir(exist_ok=True)
    (root / "elsewhere" / "cohorts.csv").write_bytes((root / "mappings/MINI/source/cohorts.csv").read_bytes())


def _symlink(relative: str, target) -> callable:
    def mutate(root: Path) -> None:
        path = root / "mappings/MINI" / relative
        path.unlink()
        os.symlink(target(root) if callable(target) else target, path)

    return mutate


def _source_dir_elsewhere(root: Path) -> None:
    study = root / "mappings/MINI"
    (study / "source").rename(root / "elsewhere")
    os.symlink(root / "elsewhere", study / "source")


def _set(key, value):
    return lambda document: document.__setitem__(key, value)


def _cell(row: int, column: int, value):
    def change(document):
        document["rows"][row][column] = value

    return change


def _ndjson_short_row(data: bytes) -> bytes:
    lines = data.decode().splitlines()
    lines[2] = json.dumps(json.loads(lines[2])[:-1])
    return ("\n".join(lines) + "\n").encode()


def _namestr_count(data: bytes) -> bytes:
    return data[: 7 * 80 + 54] + b"ab12" + data[7 * 80 + 58 :]


def _obs_header(data: bytes, member) -> bytes:
    at = member - 80
    return data[:at] + b"X" * 80 + data[at + 80 :]


VALIDATE = ("validate", "data")


CASES = [
    # ---- confinement (issue #12 item 5) ----
    Case(
        "source-file-dot-dot-etc-passwd",
        sub("study.yaml", "file: source/subjects.csv", "file: ../../../../../../../../etc/passwd"),
        (f"{STUDY_YAML}:{study_line('  subjects:')} sources.subjects.file", "outside the study folder", "source_roots"),
        absent=(PASSWD_LINE,),
        process=True,
    ),
    Case(
        "source-file-absolute-etc-passwd",
        sub("study.yaml", "file: source/cohorts.csv", "file: /etc/passwd"),
        (f"{STUDY_YAML}:{study_line('  cohorts:')} sources.cohorts.file", "outside the study folder"),
        absent=(PASSWD_LINE,),
    ),
    Case(
        "source-symlink-to-etc-passwd",
        _symlink("source/subjects.csv", "/etc/passwd"),
        (f"{STUDY_YAML}:{study_line('  subjects:')} sources.subjects.file", "resolves to /etc/passwd"),
        absent=(PASSWD_LINE,),
    ),
    Case(
        "source-folder-symlinked-out-of-the-study",
        _source_dir_elsewhere,
        (f"{STUDY_YAML}:{study_line('  subjects:')} sources.subjects.file", "outside the study folder"),
    ),
    Case(
        "source-file-in-a-sibling-folder",
        both(_outside_csv, sub("study.yaml", "file: source/cohorts.csv", "file: ../../elsewhere/cohorts.csv")),
        (f"{STUDY_YAML}:{study_line('  cohorts:')} sources.cohorts.file", "outside the study folder"),
    ),
    Case(
        "source-roots-naming-another-folder",
        both(
            _outside_csv,
            sub("study.yaml", "file: source/cohorts.csv", "file: ../../elsewhere/cohorts.csv"),
            sub("study.yaml", "\nsubjects:\n", "\nsource_roots: [../../data]\nsubjects:\n"),
        ),
        (f"{STUDY_YAML}:{study_line('  cohorts:')} sources.cohorts.file", "a 'source_roots:' folder"),
    ),
    Case(
        "source-roots-allowing-the-folder-builds",
        both(
            _outside_csv,
            sub("study.yaml", "file: source/cohorts.csv", "file: ../../elsewhere/cohorts.csv"),
            sub("study.yaml", "\nsubjects:\n", "\nsource_roots: [../../elsewhere]\nsubjects:\n"),
        ),
        ("sdtmify build MINI",),
        code=0,
    ),
    # ---- CSV sources ----
    Case(
        "ragged-short-row",
        csv_line("source/subjects.csv", 3, "B,001,2002-11-04,1946-12-01,55,Male"),
        ("source/subjects.csv:3", "line 3 has 6 fields, the header has 15", "'subjects'"),
    ),
    Case(
        "ragged-long-row",
        sub("source/labs.csv", "Automated count,,,BLOOD\nB,", "Automated count,,,BLOOD,extra\nB,"),
        ("source/labs.csv:6", "line 6 has 17 fields, the header has 16", "'labs'"),
    ),
    Case(
        "unbalanced-quote",
        sub("source/adverse_events.csv", "A,2,Anaemia", 'A,2,"Anaemia'),
        ("source/adverse_events.csv:3", "line 3 has 3 fields, the header has 12"),
    ),
    Case(
        "empty-source-file",
        put("source/best_response.csv", b""),
        ("source/best_response.csv", "cannot read CSV table 'best_response'"),
    ),
    Case(
        "missing-source-file",
        lambda root: (root / "mappings/MINI/source/cohorts.csv").unlink(),
        ("source/cohorts.csv", "source table 'cohorts' not found"),
    ),
    Case(
        "source-path-is-a-folder",
        sub("study.yaml", "file: source/cohorts.csv", "file: source"),
        ("mappings/MINI/source", "source table 'cohorts' not found"),
    ),
    Case(
        "csv-text-declared-as-xlsx",
        both(
            put("source/cohorts.xlsx", "subject_id,cohort\nA,1\n"),
            sub("study.yaml", "file: source/cohorts.csv", "file: source/cohorts.xlsx"),
        ),
        ("source/cohorts.xlsx", "cannot read XLSX table 'cohorts'"),
    ),
    Case(
        "unknown-source-format",
        both(
            put("source/cohorts.dat", "x"),
            sub("study.yaml", "file: source/cohorts.csv", "file: source/cohorts.dat"),
        ),
        ("source/cohorts.dat", "unknown format 'dat'"),
    ),
    Case(
        "garbage-declared-as-xpt",
        both(
            put("source/cohorts.xpt", b"not a transport file\n" * 40),
            sub("study.yaml", "file: source/cohorts.csv", "file: source/cohorts.xpt"),
        ),
        ("source/cohorts.xpt", "cannot read XPT table 'cohorts'", "not a SAS XPT v5 transport file"),
    ),
    Case(
        "mapped-column-missing-from-source",
        sub("source/adverse_events.csv", "ae_term,", "ae_trem,"),
        ("mappings/MINI/sdtm/ae.yaml:7 AETERM", "column 'ae_term' not in source 'adverse_events'", "did you mean"),
    ),
    # ---- XPT read by validate and convert ----
    Case(
        "xpt-one-byte-short",
        data_file("sdtm/dm.xpt", lambda data: data[:-1]),
        ("data/dm.xpt", "not a whole number of 80-byte records", "truncated"),
        args=VALIDATE,
        process=True,
    ),
    Case(
        "xpt-last-observation-partial",
        data_file("sdtm/dm.xpt", lambda data: data[:-80]),
        ("data/dm.xpt", "the last observation is partial"),
        args=VALIDATE,
    ),
    Case(
        "xpt-truncated-converted",
        data_file("sdtm/ae.xpt", lambda data: data[:-160]),
        ("data/ae.xpt", "the last observation is partial"),
        args=convert("ae.xpt", "ae.json"),
    ),
    Case(
        "xpt-cut-inside-the-namestrs",
        data_file("sdtm/ae.xpt", lambda data: data[:1200]),
        ("data/ae.xpt", "file ends inside the"),
        args=convert("ae.xpt", "ae.json"),
    ),
    Case(
        "xpt-namestr-count-not-a-number",
        data_file("sdtm/dm.xpt", _namestr_count),
        ("data/dm.xpt", "header does not parse"),
        args=VALIDATE,
    ),
    Case(
        "xpt-obs-header-overwritten",
        data_file("sdtm/dm.xpt", lambda data: _obs_header(data, 4640)),
        ("data/dm.xpt", "no OBS header record"),
        args=convert("dm.xpt", "dm.json"),
    ),
    Case(
        "xpt-that-is-text",
        data_file("sdtm/dm.xpt", lambda data: b"USUBJID,AGE\n" * 20),
        ("data/dm.xpt", "not a SAS XPT v5 transport file"),
        args=VALIDATE,
    ),
    # ---- Dataset-JSON read by validate and convert ----
    Case(
        "json-records-larger-than-rows",
        json_file("ae.json", _set("records", 99)),
        ("data/ae.json records", "'records' says 99 but the file holds 3"),
        args=convert("ae.json", "ae.xpt"),
    ),
    Case(
        "json-records-missing",
        json_file("ae.json", lambda document: document.pop("records")),
        ("data/ae.json", "not Dataset-JSON 1.1", "'records' is a required property"),
        args=VALIDATE,
    ),
    Case(
        "json-version-2",
        json_file("dm.json", _set("datasetJSONVersion", "2.0")),
        ("data/dm.json", "datasetJSONVersion", "does not match"),
        args=convert("dm.json", "dm.xpt"),
    ),
    Case(
        "json-unknown-datatype",
        json_file("dm.json", lambda document: document["columns"][0].__setitem__("dataType", "text")),
        ("data/dm.json", "columns/0/dataType"),
        args=VALIDATE,
    ),
    Case(
        "json-text-in-an-integer-column",
        json_file("ae.json", _cell(1, 3, "two")),
        ("data/ae.json AESEQ", "record 2", "'two' is text, dataType 'integer' needs a whole number"),
        args=convert("ae.json", "ae.xpt"),
    ),
    Case(
        "json-number-in-a-string-column",
        json_file("ae.json", _cell(0, 2, 7)),
        ("data/ae.json USUBJID", "record 1", "7 is a whole number, dataType 'string' needs text"),
        args=VALIDATE,
    ),
    Case(
        "json-true-in-an-integer-column",
        json_file("ae.json", _cell(2, 3, True)),
        ("data/ae.json AESEQ", "record 3", "True is true or false"),
        args=convert("ae.json", "ae.xpt"),
    ),
    Case(
        "json-nan-literal",
        data_file("sdtm/dataset-json/ae.json", lambda data: data.replace(b'"records": 3', b'"records": NaN')),
        ("data/ae.json", "not valid JSON", "NaN is not a JSON number"),
        args=convert("ae.json", "ae.xpt"),
    ),
    Case(
        "json-cut-in-half",
        data_file("sdtm/dataset-json/dm.json", lambda data: data[: len(data) // 2]),
        ("data/dm.json", "not valid JSON"),
        args=VALIDATE,
    ),
    Case(
        "ndjson-row-with-a-value-missing",
        data_file("sdtm/dataset-json/ae.ndjson", _ndjson_short_row),
        ("data/ae.ndjson", "record 2 has", "the columns declare"),
        args=convert("ae.ndjson", "ae.xpt"),
    ),
    Case(
        "json-rows-not-a-list",
        json_file("ae.json", _set("rows", {"a": 1})),
        ("data/ae.json", "'rows' is not a list"),
        args=convert("ae.json", "ae.xpt"),
    ),
    # ---- CSV read by convert ----
    Case(
        "csv-dataset-ragged",
        lambda root: (root / "data" / "ae.csv").write_text("USUBJID,AESEQ,AETERM\nA,1,Fatigue\nA,2\n"),
        ("data/ae.csv:3", "line 3 has 2 fields, the header has 3"),
        args=convert("ae.csv", "ae.xpt", "--allow-lossy"),
    ),
]


@params(CASES)
def test_hostile_sources(inputs_project, mini_output, case):  # noqa: F811
    check(inputs_project, mini_output, case)
