"""Every recipe of the cookbook in docs/mapping-language.md runs: raw columns in, the mapping applied,
the SDTM values (or the error message) shown in the docs out. The docs cannot drift from the code."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sdtmify import yamlio
from sdtmify.errors import MappingError
from sdtmify.mapping import expressions
from sdtmify.mapping.context import MappingContext
from sdtmify.mapping.terminology import CTRecoder

DOCS = Path(__file__).resolve().parents[1] / "docs" / "mapping-language.md"
RECIPE = re.compile(r"^```yaml recipe\n(.*?)^```", re.MULTILINE | re.DOTALL)


def recipes() -> list[str]:
    return RECIPE.findall(DOCS.read_text(encoding="utf-8"))


class RecipeStudy:
    """The source tables a recipe's lookups read (``sources:``), as the real study serves them: text."""

    def __init__(self, tables: dict):
        self.tables = {
            name: pd.DataFrame({c: ["" if v is None else str(v) for v in vs] for c, vs in cols.items()})
            for name, cols in tables.items()
        }

    def source(self, name: str) -> pd.DataFrame:
        if name not in self.tables:
            raise MappingError(f"no source table '{name}'")
        return self.tables[name]


def text_column(values: list) -> list[str]:
    return ["" if v is None else str(v) for v in values]


def apply_recipe(text: str, tmp_path: Path) -> tuple[dict, MappingContext]:
    file = tmp_path / "recipe.yaml"
    file.write_text(text, encoding="utf-8")
    doc = yamlio.load_yaml(file)
    yamlio.validate({"domain": "XX", "from": "raw", "variables": doc["variables"]}, "mapping", "recipe.yaml")
    rows = pd.DataFrame({name: text_column(values) for name, values in doc["raw"].items()})
    rows["SRCROW"] = np.arange(1, len(rows) + 1)
    ctx = MappingContext(
        study=RecipeStudy(doc.get("sources") or {}),
        file="recipe.yaml",
        document=doc,
        rows=rows,
        source_name="raw",
        ct=CTRecoder.load(),
    )
    for variable, spec in doc["variables"].items():
        ctx.values[variable] = expressions.evaluate(spec, ctx, ["variables", variable])
    return doc, ctx


def same(actual, expected) -> bool:
    if expected is None:
        return actual == "" or (isinstance(actual, float) and math.isnan(actual))
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        return isinstance(actual, float) and actual == pytest.approx(expected)
    return actual == str(expected)


def test_the_cookbook_has_recipes():
    assert len(recipes()) >= 20


@pytest.mark.parametrize("text", recipes(), ids=lambda t: next(iter(re.findall(r"^  (\w+):", t, re.M)), "recipe"))
def test_recipe_gives_what_the_docs_say(text, tmp_path):
    if "\nerror: " in text:
        with pytest.raises(MappingError) as info:
            apply_recipe(text, tmp_path)
        doc = yamlio.load_yaml(tmp_path / "recipe.yaml")
        assert str(info.value) == doc["error"]
        return
    doc, ctx = apply_recipe(text, tmp_path)
    for variable, expected in doc["sdtm"].items():
        actual = ctx.values[variable].tolist()
        assert len(actual) == len(expected), variable
        mismatches = [(a, e) for a, e in zip(actual, expected, strict=True) if not same(a, e)]
        assert not mismatches, f"{variable}: got {actual}, the docs say {list(expected)}"


def test_every_algorithm_has_a_recipe():
    def keys(node) -> set:
        if isinstance(node, dict):
            return set(node).union(*(keys(v) for v in node.values()))
        if isinstance(node, list):
            return set().union(*(keys(v) for v in node))
        return set()

    used = set().union(*(keys(yaml.safe_load(text)["variables"]) for text in recipes()))
    missing = [name for name in [*expressions.OPERATIONS, *expressions.MODIFIERS] if name not in used]
    assert not missing, f"algorithms without a cookbook recipe: {missing}"
