"""Every key the ADaM YAML accepts (specs/schema/adam.schema.json) is documented in
docs/adam-language.md: each step has its own entry, and each of its keys is named in that entry
(``description`` and ``where`` are documented once for all steps)."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "specs" / "schema" / "adam.schema.json").read_text(encoding="utf-8"))
DOC = (ROOT / "docs" / "adam-language.md").read_text(encoding="utf-8")
EVERY_STEP = {"description", "where"}  # "Each entry also takes `description:`"; "## Filters (`where`)"


def entry(name: str) -> str | None:
    """The documentation of one step: its bold paragraph up to the next entry or heading, or its
    table row(s) (the ADSL table)."""
    found = re.search(r"\*\*" + re.escape(name) + r"\*\*", DOC)
    if found:
        end = re.search(r"\n\*\*(derive_|records)|\n#", DOC[found.end() :])
        return DOC[found.start() : found.end() + (end.start() if end else len(DOC))]
    rows = [line for line in DOC.splitlines() if line.startswith(f"| `{name}")]
    return "\n".join(rows) or None


def names(key: str, text: str) -> bool:
    return re.search(r"(`|\b)" + re.escape(key) + r"(`|:)", text) is not None


def section(heading: str) -> str:
    start = DOC.index(heading)
    end = DOC.find("\n## ", start + len(heading))
    return DOC[start : end if end > 0 else len(DOC)]


def test_every_step_and_each_of_its_keys_is_documented_in_its_entry():
    steps = SCHEMA["properties"]["steps"]["items"]["properties"]
    undocumented = {}
    for step, definition in steps.items():
        text = entry(step)
        if text is None:
            undocumented[step] = ["(no entry)"]
            continue
        keys = [k for k in definition.get("properties", {}) if k not in EVERY_STEP and not names(k, text)]
        if keys:
            undocumented[step] = keys
    assert undocumented == {}


def test_dataset_variable_and_source_keys_are_documented():
    dataset_file = section("## A dataset file")
    top = [k for k in SCHEMA["properties"] if not names(k, dataset_file)]
    variable = SCHEMA["properties"]["variables"]["items"]["oneOf"][1]["properties"]
    listed = [k for k in variable if k != "name" and not names(k, dataset_file)]
    source = [k for k in SCHEMA["$defs"]["source"]["properties"] if not names(k, DOC)]
    assert (top, listed, source) == ([], [], [])


def test_the_check_sees_a_missing_key():
    """The check itself: a key absent from an entry is reported."""
    assert not names("sd_min_dayz", entry("derive_param_bor"))
    assert names("sd_min_days", entry("derive_param_bor")) or names("sd_min_days", DOC)
