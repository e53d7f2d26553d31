"""The README's "Your first study in ten minutes" runs as written: init -> check -> build -> validate, each
with exit code 0, and the scaffolded study builds and validates with no finding."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def walkthrough() -> list[list[str]]:
    blocks = re.findall(r"^```sh\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)
    (block,) = [b for b in blocks if "README walkthrough" in b]
    return [
        shlex.split(line, comments=True) for line in block.splitlines() if line.strip() and not line.startswith("#")
    ]


def test_the_walkthrough_runs_clean(tmp_path):
    (tmp_path / "mappings").mkdir()
    (tmp_path / "specs").mkdir()
    env = {**os.environ, "SDTMIFY_HOME": str(tmp_path), "SOURCE_DATE_EPOCH": "1767225600"}
    env.pop("NO_COLOR", None)
    commands = walkthrough()
    assert [c[:2] for c in commands] == [
        ["sdtmify", "init"],
        ["sdtmify", "check"],
        ["sdtmify", "build"],
        ["sdtmify", "validate"],
    ]
    script = Path(sys.executable).parent / "sdtmify"
    outputs = {}
    for command in commands:
        done = subprocess.run(
            [str(script), *command[1:]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        outputs[command[1]] = done.stdout
    assert "MYSTUDY: study.yaml, SDTM" in outputs["check"]
    for command in ("build", "validate"):
        assert "validation: 0 errors, 0 warnings, 0 notices;" in outputs[command], outputs[command]
    report = json.loads((tmp_path / "output" / "MYSTUDY" / "validation" / "validation.json").read_text())
    assert report["summary"]["errors"] == report["summary"]["warnings"] == report["summary"]["notices"] == 0
    assert report["issues"] == [] and report["summary"]["rules_passed"] > 200
    datasets = {d["name"]: d["records"] for d in report["inputs"]["datasets"]}
    assert datasets["DM"] == 3 and datasets["TS"] >= 19 and {"AE", "EX", "LB", "SE", "TA", "TE", "TV"} <= set(datasets)
