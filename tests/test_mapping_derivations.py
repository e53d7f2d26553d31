"""The SDTM derivation steps are a registry: each step one module with its schema fragment, its rule
and its method prose; mapping.schema.json is generated from the fragments; the engine runs the steps
a mapping declares in the registry's order, whatever their order in the file."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pandas as pd
import pytest

from sdtmify.errors import InputError
from sdtmify.mapping import derivations, schema
from sdtmify.mapping.derivations import base
from sdtmify.mapping.engine import build_sdtm
from sdtmify.mapping.loader import DomainMapping
from sdtmify.mapping.state import DomainBuild
from sdtmify.study import load_study

sys.path.insert(0, str(Path(__file__).parent / "studies"))
from nci84_mini import ROOT, write_mini

DOCS = ROOT / "docs" / "mapping-language.md"


def test_schema_file_is_generated_from_the_registries():
    shipped = json.loads((ROOT / "specs" / "schema" / "mapping.schema.json").read_text(encoding="utf-8"))
    assert shipped["$defs"]["derivation"] == derivations.derivation_schema()
    assert schema.generated(json.loads(json.dumps(shipped))) == shipped


def test_the_vocabulary_runs_in_the_documented_order():
    order = [d.name for phase in derivations.PHASES for d in derivations.in_order(phase)]
    assert order == [
        "reference_dates",
        "arm",
        "age",
        "dose_intervals",
        "visit",
        "standardize",
        "toxicity_grade",
        "reference_range_indicator",
        "study_day",
        "epoch",
        "baseline",
        "seq",
        "plausibility",
        "supp",
    ]


def test_every_step_states_its_sdtmig_rule_and_method_prose():
    for step in derivations.DERIVATIONS.values():
        assert "SDTMIG 3.4" in step.rule, step.name
        assert step.apply.__name__.startswith(("derive_", "assert_")), step.name
        assert step.method.endswith(".") and "{" not in step.method, step.name


def test_the_docs_list_every_step_with_its_rule():
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## Derivations (`derive:`)") : text.index("## Value-level metadata")]
    listed = re.findall(r"^\| `(\w+)`", section, flags=re.MULTILINE)
    assert listed == [d.name for phase in derivations.PHASES for d in derivations.in_order(phase)]
    for step in derivations.DERIVATIONS.values():
        assert step.method in section, step.name


STEP_MODULE = '''
from sdtmify.mapping.derivations.base import Derivation, register


def derive_var_testfl(state, build, params, path):
    """--TESTFL = the value given (SDTMIG 3.4 section 4.1: an illustration)."""
    build.frame[f"{build.name}TESTFL"] = params.get("value", "Y")


DERIVATION = register(
    Derivation(
        "test_flag",
        derive_var_testfl,
        "Every record is flagged.",
        rank=95,
        bare=True,
        schema={"type": "object", "additionalProperties": False, "properties": {"value": {"type": "string"}}},
    )
)
'''


def test_a_step_registered_in_one_module_is_in_the_schema_and_runs(tmp_path):
    module = tmp_path / "test_flag.py"
    module.write_text(STEP_MODULE, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("test_flag_step", module)
    assert spec is not None and spec.loader is not None
    try:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
        assert derivations.DERIVATIONS["test_flag"].rule.startswith("--TESTFL = the value given")
        generated = derivations.derivation_schema()
        assert generated["oneOf"][0]["enum"][-1] == "test_flag"
        assert generated["oneOf"][1]["properties"]["test_flag"]["properties"] == {"value": {"type": "string"}}
        assert [d.name for d in derivations.in_order("domain")][-1] == "test_flag"  # after seq (rank 90)
        document = {"domain": "AE", "derive": [{"test_flag": {"value": "N"}}, "seq"]}
        mapping = DomainMapping("AE", document, Path("ae.yaml"), "ae.yaml")
        frame = pd.DataFrame({"USUBJID": ["S1", "S1"], "SRCROW": [2, 1]})
        build = DomainBuild("AE", frame, mapping)
        derivations.run_phase("domain", None, build)  # type: ignore[arg-type]  # neither step reads it
        assert build.frame["AETESTFL"].tolist() == ["N", "N"]
        assert build.frame["AESEQ"].tolist() == [2, 1]  # seq ran too: source row order
    finally:
        derivations.DERIVATIONS.pop("test_flag", None)
    assert "test_flag" not in derivations.derivation_schema()["oneOf"][0]["enum"]


def test_a_second_step_cannot_take_a_registered_name():
    with pytest.raises(ValueError, match="derivation 'seq' is already registered"):
        base.register(base.Derivation("seq", lambda *a: None, "Numbered.", bare=True))
    with pytest.raises(ValueError, match="phase must be one of subject, domain, check, supp"):
        base.register(base.Derivation("later", lambda *a: None, "Later.", phase="after", bare=True))


def test_a_dm_step_declared_in_another_domain_names_its_line(tmp_path):
    study = write_mini(tmp_path)
    path = study / "sdtm" / "ae.yaml"
    text = path.read_text()
    assert "derive: [study_day, epoch, seq]" in text
    path.write_text(text.replace("derive: [study_day, epoch, seq]", "derive: [study_day, epoch, seq, reference_dates]"))
    line = next(i for i, row in enumerate(path.read_text().splitlines(), start=1) if "derive:" in row)
    with pytest.raises(InputError) as info:
        build_sdtm(load_study(study))
    assert str(info.value) == (
        f"mappings/NCI84/sdtm/ae.yaml:{line} derive[3]: reference_dates derives DM variables; "
        f"declare it in dm.yaml's 'derive:'"
    )
