"""The shared line-tracking YAML loader: its libyaml fast path reads files exactly as the pure-Python one."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sdtmify.errors import MappingError
from sdtmify.yamlio import LineDict, LineList, load_yaml, plain

ROOT = Path(__file__).resolve().parents[1]


def lines(node):
    """Every node's own line and its keys' or items' lines, as plain data to compare."""
    if isinstance(node, LineDict):
        return {"line": node.line, "keys": dict(node.key_lines), "values": {k: lines(v) for k, v in node.items()}}
    if isinstance(node, LineList):
        return {"line": node.line, "items": list(node.item_lines), "values": [lines(v) for v in node]}
    return node


@pytest.mark.parametrize("folder", ["specs/rules", "mappings/NCI84"])
def test_the_libyaml_path_gives_the_same_values_and_lines(folder):
    files = sorted((ROOT / folder).rglob("*.yaml"))
    assert files
    for path in files:
        assert lines(load_yaml(path, fast=True)) == lines(load_yaml(path)), path


@pytest.mark.parametrize("fast", [False, True])
def test_both_paths_keep_yaml_1_2_booleans_dates_as_text_and_refuse_duplicate_keys(tmp_path, fast):
    path = tmp_path / "m.yaml"
    path.write_text("map: {Yes: Y, No: N, on: x}\nflag: true\nwhen: 2004-03-07\n")
    assert plain(load_yaml(path, fast=fast)) == {
        "map": {"Yes": "Y", "No": "N", "on": "x"},
        "flag": True,
        "when": "2004-03-07",
    }
    path.write_text("a: 1\nb:\n  c: 2\n  c: 3\n")
    with pytest.raises(MappingError, match=r"m.yaml:4: YAML syntax: duplicate key 'c'"):
        load_yaml(path, fast=fast)


def test_plain_gives_builtin_dicts_and_lists(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("a: [1, {b: 2}]\n")
    data = plain(load_yaml(path, fast=True))
    assert data == {"a": [1, {"b": 2}]}
    assert type(data) is dict and type(data["a"]) is list and type(data["a"][1]) is dict
    assert yaml.safe_load(path.read_text()) == data
