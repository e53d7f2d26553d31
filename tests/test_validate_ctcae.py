"""SD1446: AETOXGR is a grade the study's CTCAE version defines for the term (NCI84: CTCAE v3.0, the study
dictionary mappings/NCI84/dictionaries/ctcae.csv declared in study.yaml ``dictionaries: {ctcae: ...}``)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from sdtmify.errors import InputError, MappingError
from sdtmify.study import load_study
from sdtmify.validate.data import load_folder
from sdtmify.validate.dictionaries import grade_dictionary, load_dictionaries
from sdtmify.validate.engine import Context, details, run_rule
from sdtmify.validate.rules import load_rules

RULE = next(r for r in load_rules() if r.id == "SD1446")


@pytest.fixture(scope="module")
def nci84(nci84_output):
    folder, _ = nci84_output
    study = load_study("NCI84")
    return load_folder(folder / "sdtm", "SDTM"), load_dictionaries(study.dictionaries())


def run(tables, dictionaries, ae: pd.DataFrame | None = None):
    if ae is not None:
        tables = dict(tables, AE=tables["AE"].with_frame(ae))
    return run_rule(RULE, Context(tables=tables, dictionaries=dictionaries))


def test_nci84_grades_are_all_defined_by_ctcae_v3(nci84):
    result, hits = run(*nci84)
    assert (result.status, result.datasets, result.count) == ("passed", ("AE",), 0)


def test_pulmonary_embolism_graded_3_fires_because_ctcae_v3_grades_an_embolism_4(nci84):
    tables, dictionaries = nci84
    ae = tables["AE"].frame.copy()
    embolism = np.flatnonzero(ae["AEDECOD"] == "Pulmonary embolism")
    assert len(embolism) == 1 and ae.loc[embolism[0], "AETOXGR"] == "4"
    ae.loc[embolism[0], "AETOXGR"] = "3"
    result, hits = run(tables, dictionaries, ae)
    assert (result.status, [np.flatnonzero(h.mask).tolist() for h in hits]) == ("failed", [[int(embolism[0])]])
    message = details(RULE, hits, 5).iloc[0]["message"]
    assert message == ("AETOXGR '3' is not a grade the study's CTCAE defines for 'Pulmonary embolism' (defined: 4, 5)")


def test_a_term_missing_from_the_dictionary_is_flagged(nci84):
    tables, dictionaries = nci84
    ae = tables["AE"].frame.copy()
    ae.loc[0, "AEDECOD"] = "Hiccups"
    result, hits = run(tables, dictionaries, ae)
    assert [np.flatnonzero(h.mask).tolist() for h in hits] == [[0]]
    assert "(defined: none: the term is not in ctcae.csv)" in details(RULE, hits, 5).iloc[0]["message"]


def test_without_a_dictionary_the_rule_says_why_it_skipped(nci84):
    result, _ = run(nci84[0], {})
    assert result.status == "skipped" and "no CTCAE grade dictionary" in result.reason


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        ({"preferred_term": ["Nausea"], "grades": ["1;2;6"]}, "ctcae.csv:2 grades: '6' of 'Nausea' is no CTCAE grade"),
        ({"preferred_term": ["Nausea", "Nausea"], "grades": ["1", "2"]}, "ctcae.csv:3: preferred_term repeated"),
        ({"preferred_term": ["Nausea"]}, "ctcae.csv: no column grades"),
    ],
)
def test_a_bad_dictionary_is_an_error_naming_file_and_line(rows, error):
    frame = pd.DataFrame(rows).assign(SRCROW=lambda f: range(1, len(f) + 1))
    with pytest.raises(InputError) as caught:
        grade_dictionary(frame, "ctcae.csv")
    assert str(caught.value).startswith(error)


def test_study_yaml_naming_an_undeclared_source_is_an_error(tmp_path):
    from sdtmify.paths import resolve_study

    folder = tmp_path / "NCI84"
    shutil.copytree(resolve_study("NCI84"), folder)
    yaml_file = folder / "study.yaml"
    yaml_file.write_text(yaml_file.read_text().replace("ctcae: ctcae_grades", "ctcae: ctcae_grade"))
    with pytest.raises(MappingError) as caught:
        load_study(folder)
    assert "dictionaries.ctcae" in str(caught.value) and "did you mean 'ctcae_grades'" in str(caught.value)


def test_validate_takes_the_dictionary_on_the_command_line(nci84_output, tmp_path):
    """`sdtmify validate --dictionary ctcae=FILE` runs SD1446 as the build does; a bad KIND=FILE is a usage
    error naming what to give, a missing file an error naming it; without it SD1446 says why it skipped."""
    import json

    from sdtmify.cli import main
    from sdtmify.paths import resolve_study

    folder, _ = nci84_output
    dictionary = resolve_study("NCI84") / "dictionaries" / "ctcae.csv"
    reports = tmp_path / "with"
    assert (
        main(
            [
                "-q",
                "validate",
                str(folder / "sdtm"),
                "--dictionary",
                f"ctcae={dictionary}",
                "--report-dir",
                str(reports),
            ]
        )
        == 0
    )
    rules = {r["id"]: r for r in json.loads((reports / "validation.json").read_text())["rules"]}
    assert rules["SD1446"]["status"] == "passed"
    assert main(["-q", "validate", str(folder / "sdtm"), "--report-dir", str(tmp_path / "without")]) == 0
    rules = {r["id"]: r for r in json.loads((tmp_path / "without" / "validation.json").read_text())["rules"]}
    assert rules["SD1446"]["status"] == "skipped"
    assert "sdtmify validate takes --dictionary ctcae=FILE" in rules["SD1446"]["reason"]
    assert main(["-q", "validate", str(folder / "sdtm"), "--dictionary", "meddra=x.csv"]) == 2
    assert main(["-q", "validate", str(folder / "sdtm"), "--dictionary", f"ctcae={tmp_path / 'none.csv'}"]) == 2
