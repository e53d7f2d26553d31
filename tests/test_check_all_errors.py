"""`sdtmify check` reports every problem it can find in one run, each with its file:line and field: mapping
problems, derivation problems and conformance problems of different domains together, then a dry run of
the ADaM layer on the SDTM built in memory; at most 50, then "... and N more". On the mini NCI84 study."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nci84_mini import write_mini

from sdtmify.check import capped, check_study

ROOT = Path(__file__).resolve().parents[1]
SDTMIFY = shutil.which("sdtmify", path=str(Path(sys.executable).parent)) or "sdtmify"


def edit(study: Path, file: str, old: str, new: str) -> int:
    """Replace ``old`` in the study's ``file``; the 1-based line of the change."""
    path = study / file
    text = path.read_text()
    assert old in text, (file, old)
    path.write_text(text.replace(old, new, 1))
    return text[: text.index(old)].count("\n") + 1


def three_errors(tmp_path) -> tuple[Path, dict[str, int]]:
    """The mini study with three independent mistakes in three files and three stages."""
    study = write_mini(tmp_path)
    lines = {
        # mapping: a column the source does not have
        "ae": edit(study, "sdtm/ae.yaml", "AETERM:   {column: ae_term}", "AETERM:   {column: ae_trem}"),
        # derivation: the standardize step groups by a variable LB does not map
        "lb": edit(
            study,
            "sdtm/lb.yaml",
            "  - standardize:                      # standard units and factors from the original units (data, not code)\n      by: LBTESTCD",
            "  - standardize:\n      by: LBTSTCD",
        ),
        # conformance: a declared length shorter than the values
        "mh": edit(
            study,
            "sdtm/mh.yaml",
            "MHCAT:    {constant: PRIMARY CANCER DIAGNOSIS}",
            "MHCAT:    {constant: PRIMARY CANCER DIAGNOSIS, length: 7}",
        ),
    }
    return study, lines


@pytest.mark.slow
def test_three_independent_errors_in_three_stages_are_all_reported_in_one_run(tmp_path):
    """The installed console script, as a user runs it: exit 1, one message per problem, each naming
    its file:line and field."""
    study, lines = three_errors(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "SDTMIFY_HOME"}
    done = subprocess.run(
        [SDTMIFY, "check", "--study", str(study)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1, done.stderr
    messages = sorted(line for line in (done.stdout + done.stderr).splitlines() if "mappings/NCI84/" in line)
    assert len(messages) == 3, done.stdout + done.stderr
    ae, lb, mh = (m[m.index("mappings/NCI84/") :] for m in messages)
    assert ae.startswith(f"mappings/NCI84/sdtm/ae.yaml:{lines['ae']} AETERM: ")
    assert "column 'ae_trem' not in source 'adverse_events'" in ae and "did you mean 'ae_term'" in ae
    assert lb.startswith(f"mappings/NCI84/sdtm/lb.yaml:{lines['lb']} derive[1].standardize: ")
    assert "standardize needs LBTSTCD; map it under 'variables:'" in lb
    assert mh.startswith(f"mappings/NCI84/sdtm/mh.yaml:{lines['mh']} MHCAT.length: ")
    assert "declared length 7 is shorter than its longest value (24 bytes)" in mh


@pytest.mark.slow
def test_a_domain_with_a_problem_is_reported_once_not_again_by_its_later_steps(tmp_path):
    study = write_mini(tmp_path)
    # DM's arm assignment fails: SE (built from DM's arms) must not add a problem of its own
    edit(
        study,
        "sdtm/dm.yaml",
        "column: cohort, required: true}}",
        "column: il12_route, required: true}}",
    )
    messages = check_study(str(study))
    assert len(messages) == 1, messages
    assert "matches no arm" in messages[0] and messages[0].startswith("mappings/NCI84/sdtm/dm.yaml:")


@pytest.mark.slow
def test_the_adam_layer_is_dry_run_on_the_sdtm_built_in_memory(tmp_path):
    """Two independent ADaM problems (ADLB, ADTTE) are both reported; nothing is written."""
    study = write_mini(tmp_path)
    shutil.copytree(ROOT / "mappings" / "NCI84" / "adam", study / "adam")  # the ADaM datasets read each other
    assert check_study(str(study)) == []
    lb = edit(study, "adam/adlb.yaml", "aval_var: LBSTRESN", "aval_var: LBSTRESX")
    tte = edit(study, "adam/adtte.yaml", "date: DTHDT, description: DEATH", "date: DTHDTX, description: DEATH")
    messages = check_study(str(study))
    assert len(messages) == 2, messages
    adlb, adtte = sorted(messages)
    assert adlb.startswith("mappings/NCI84/adam/adlb.yaml:") and "LBSTRESX" in adlb
    assert adtte.startswith("mappings/NCI84/adam/adtte.yaml:") and "DTHDTX" in adtte
    assert (lb, tte) != (0, 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mappings"]


def test_problems_are_capped_at_fifty_with_a_count_of_the_rest():
    messages = [f"problem {i}" for i in range(1, 54)]
    shown = capped(messages)
    assert shown[:50] == messages[:50]
    assert shown[50:] == ["... and 3 more problems (the first 50 are shown)"]
    assert capped(messages[:50]) == messages[:50]
