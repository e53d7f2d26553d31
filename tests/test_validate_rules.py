"""Every rule of specs/rules, both ways: it runs and finds nothing on the clean fixture study, and
its mutation (tests/fixtures/validate/mutations.yaml) makes it flag exactly the expected records."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from fixtures.validate import study  # tests/fixtures/validate/study.py: the clean study and its mutations

from sdtmify.validate.context import IGStandards, load_terminology
from sdtmify.validate.define_xml import read_define
from sdtmify.validate.dictionaries import grade_dictionary
from sdtmify.validate.engine import Context, details, run_rule
from sdtmify.validate.rules import AUTHORITY_KEYS, load_rules

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "validate"
RULES = load_rules()
MUTATIONS = yaml.safe_load((FIXTURES / "mutations.yaml").read_text(encoding="utf-8"))
# Values the clean define.xml lists for a few variables (its codelists), used by the define rules.
DEFINE_CODELISTS = {"AE.AESER": ["N", "Y"], "DM.SEX": ["F", "M"], "ADSL.SAFFL": ["N", "Y"]}

CLEAN = study.build_frames()
STANDARDS = IGStandards()
# The clean study's CTCAE grade dictionary (study.yaml dictionaries:), for SD1446.
DICTIONARIES = {
    "ctcae": grade_dictionary(
        pd.DataFrame({"preferred_term": ["Headache", "Pneumonia"], "grades": ["1;2;3;4", "1;2;3;4;5"]}), "ctcae.csv"
    )
}


def needs_ct(rule) -> bool:
    return rule.check_type == "codelist"


def needs_define(rule) -> bool:
    return rule.check_type == "define" or rule.check.get("name", "").startswith("define_")


@pytest.fixture(scope="module")
def terminology(shared):
    return load_terminology(shared / "reference" / "ct" / "SDTM_Terminology_2025-03.txt.xz")


# The clean study's define.xml files, written and read once: (metadata by standard, path by standard).
_CLEAN_DEFINES: dict[str, tuple] = {}


def _defines(tmp_path: Path, define_change) -> tuple[dict, dict]:
    """define.xml always describes the clean study: a mutation of the data is then a disagreement. Only the
    define rules' mutations change it (and only those rules need the files: they check the XML itself)."""
    if define_change is None and _CLEAN_DEFINES:
        return _CLEAN_DEFINES["meta"], _CLEAN_DEFINES["files"]
    defines, files = {}, {}
    for standard in ("SDTM", "ADaM"):
        path = study.write_define(CLEAN, tmp_path / standard / "define.xml", standard, DEFINE_CODELISTS, define_change)
        defines[standard] = read_define(path)
        files[standard] = path
    if define_change is None:
        _CLEAN_DEFINES.update(meta=defines, files=files)
    return defines, files


def context(frames, tmp_path: Path, ct=None, define_change=None, with_define=True) -> Context:
    """The validator's context on in-memory ``frames`` (no XPT is written); define.xml only when asked."""
    defines, files = _defines(tmp_path, define_change) if with_define else ({}, {})
    return Context(
        tables=study.tables(frames),
        standards=STANDARDS,
        ct=ct,
        define=dict(defines),
        define_files=dict(files),
        dictionaries=DICTIONARIES,
    )


def flagged(hits) -> dict:
    """dataset -> sorted 1-based rows (row-level) or number of findings (dataset-level)."""
    out: dict = {}
    for hit in hits:
        if hit.mask is not None:
            out.setdefault(hit.dataset, set()).update((np.flatnonzero(hit.mask) + 1).tolist())
        else:
            out[hit.dataset] = out.get(hit.dataset, 0) + len(hit.items)
    return {k: sorted(v) if isinstance(v, set) else v for k, v in out.items() if v}


def _ct_for(rule, request):
    return request.getfixturevalue("terminology") if needs_ct(rule) else None


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_runs_and_passes_on_the_clean_study(rule, tmp_path, request):
    result, hits = run_rule(rule, context(CLEAN, tmp_path, _ct_for(rule, request), with_define=needs_define(rule)))
    assert result.status == "passed", f"{rule.id}: {result.status} {result.reason} {flagged(hits)}"
    assert result.datasets, f"{rule.id} checked no dataset"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_flags_exactly_the_mutated_records(rule, tmp_path, request):
    case = MUTATIONS.get(rule.id)
    assert case is not None, f"{rule.id} has no failing fixture in mutations.yaml"
    mutation = case["fail"]
    frames = study.mutate(CLEAN, mutation)
    ctx = context(frames, tmp_path, _ct_for(rule, request), mutation.get("define"), with_define=needs_define(rule))
    result, hits = run_rule(rule, ctx)
    assert result.status == "failed", f"{rule.id}: {result.status} {result.reason}"
    assert flagged(hits) == case["expect"]
    # every placeholder of the message template is filled with a value found
    for message in details(rule, hits, 5)["message"]:
        assert not re.search(r"<(?!not in dataset>)[^<>]*>", message), f"{rule.id}: {message}"


def test_every_rule_is_traced_to_an_authority():
    for rule in RULES:
        assert any(rule.authority.get(k) for k in AUTHORITY_KEYS), rule.id


def test_catalogue_has_at_least_150_rules_with_unique_ids():
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 150


def test_core_ids_and_conformance_rule_ids_match_the_core_catalogue(shared):
    import json

    core = {
        r["core_id"]: r
        for r in json.loads((shared / "reference" / "core" / "pilot-sdtmig-3.4-rules.json").read_text())["rules"]
    }
    for rule in RULES:
        core_id = rule.authority.get("core")
        if not core_id:
            continue
        assert core_id in core, f"{rule.id}: {core_id} is not a CORE SDTMIG 3.4 rule"
        if rule.authority.get("cg"):
            listed = {c.strip() for c in core[core_id]["cdisc_rule_id"].split(",")}
            assert set(str(rule.authority["cg"]).replace(" ", "").split(",")) <= listed, rule.id


def test_no_mutation_names_an_unknown_rule():
    assert set(MUTATIONS) <= {r.id for r in RULES}


@pytest.mark.parametrize("rule_id", ["SD1201", "SD1603", "SD1608", "SD1625", "SD1105", "SD1216", "SD1018"])
def test_large_datasets_flag_the_same_records(rule_id, tmp_path):
    """24,000 records (keys as integer codes from 20,000 on; text checks per distinct value): the
    records flagged are the mutated ones, as on the small fixture."""
    frame, meta = CLEAN["LB"]
    big = pd.concat([frame] * 3000, ignore_index=True)  # 24,000 records
    big["LBSEQ"] = np.arange(1, len(big) + 1, dtype=float)
    bad = [5, 12_345, 23_999]
    big.loc[bad, "LBDTC"] = "2020-02-30"
    big.loc[bad, "LBSTRESC"] = "030"
    big.loc[bad, "LBTESTCD"] = "1ALT"
    big.loc[bad, "VISITNUM"] = 9.0
    big.loc[bad[1], "LBSEQ"] = 1.0
    big.loc[bad, "LBTEST"] = "Alanine Transaminase"
    wrong_day = [8, 100, 23_990]  # records with a valid LBDTC and a wrong LBDY
    big.loc[wrong_day, "LBDY"] = 99.0
    big.loc[bad, "LBCAT"] = " CHEMISTRY"
    frames = dict(CLEAN, LB=(big, meta))
    rule = next(r for r in RULES if r.id == rule_id)
    _, hits = run_rule(rule, context(frames, tmp_path, with_define=False))
    rows = flagged(hits).get("LB", [])
    if rule_id == "SD1105":  # LBSEQ 1 reused: the original record of that subject and the changed one
        first = int(np.flatnonzero((big["USUBJID"] == big.loc[bad[1], "USUBJID"]) & (big["LBSEQ"] == 1))[0])
        assert rows == sorted([first + 1, bad[1] + 1])
    elif rule_id == "SD1216":
        assert rows == [b + 1 for b in wrong_day]
    else:
        assert rows == [b + 1 for b in bad]


def test_a_joined_column_follows_the_table_it_is_joined_from():
    """Joined columns are computed once per pair of tables and shared by the rules; a table reused with
    another DM (as the mutation tests do) sees that DM's values, never the earlier join's."""
    from sdtmify.validate.conditions import View
    from sdtmify.validate.data import table_from

    tables = study.tables(CLEAN)
    ae = tables["AE"]
    first = View(ae, tables)
    assert first.join("DM", ["RFSTDTC"])
    dm = tables["DM"].frame
    expected = ae.frame["USUBJID"].map(dict(zip(dm["USUBJID"], dm["RFSTDTC"], strict=True)))
    assert first.column("DM.RFSTDTC").tolist() == expected.tolist()
    assert not first.null("DM.RFSTDTC").any()
    again = View(ae, tables)
    assert again.join("DM", ["RFSTDTC"]) and again.column("DM.RFSTDTC") is first.column("DM.RFSTDTC")
    frame, meta = CLEAN["DM"]
    blank = table_from(frame.assign(RFSTDTC=pd.Series([""] * len(frame), dtype="str")), meta, "SDTM")
    second = View(ae, {**tables, "DM": blank})
    assert second.join("DM", ["RFSTDTC"])
    assert set(second.column("DM.RFSTDTC")) == {""} and second.null("DM.RFSTDTC").all()
    with pytest.raises(ValueError, match="read-only"):
        second.null("DM.RFSTDTC")[0] = False  # shared by every rule: nobody may change it


def _rule_on_several_datasets(tmp_path):
    """A record-level rule that runs on at least two of the clean study's datasets, and its clean result."""
    from sdtmify.validate.checks import STUDY_LEVEL

    for rule in RULES:
        if rule.check_type in STUDY_LEVEL or needs_ct(rule) or needs_define(rule):
            continue
        result, _ = run_rule(rule, context(CLEAN, tmp_path, with_define=False))
        if len(result.datasets) >= 2:
            return rule, result
    raise AssertionError("no rule of the catalogue runs on two datasets of the clean study")


def test_a_check_that_fails_on_one_dataset_is_said_even_when_it_ran_on_others(tmp_path, monkeypatch):
    """A defect in a check on one dataset must not read as "passed" there: the rule still runs on the other
    datasets, and skipped_in names the one it could not check and why."""
    from sdtmify.validate import engine

    rule, clean = _rule_on_several_datasets(tmp_path)
    broken = clean.datasets[0]
    original = engine.CHECKS[rule.check_type]

    def failing(rule_, view, ctx):
        if view.table.name == broken:
            raise KeyError("a defect")
        return original(rule_, view, ctx)

    monkeypatch.setitem(engine.CHECKS, rule.check_type, failing)
    result, _ = run_rule(rule, context(CLEAN, tmp_path, with_define=False))
    assert result.status == "passed"
    assert result.datasets == clean.datasets[1:]
    assert result.skipped_in == f"{broken}: could not run (KeyError: 'a defect'); please report"


def test_out_of_memory_in_a_check_ends_the_run(tmp_path, monkeypatch):
    """Running out of memory is not one rule's defect to be skipped: it reaches the caller (exit 2, out of
    memory), so a rule is never reported as checked on a dataset the machine could not hold."""
    from sdtmify.validate import engine

    rule, _ = _rule_on_several_datasets(tmp_path)

    def exhausted(rule_, view, ctx):
        raise MemoryError

    monkeypatch.setitem(engine.CHECKS, rule.check_type, exhausted)
    with pytest.raises(MemoryError):
        run_rule(rule, context(CLEAN, tmp_path, with_define=False))
