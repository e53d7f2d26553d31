"""Load and check ``mappings/<STUDY>/report.yaml`` against ``specs/schema/report.schema.json``.

Every later error about the report spec names the file, the YAML line and the key path, so a
user can go straight to the entry at fault."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from ..errors import InputError, Location
from ..paths import specs_dir

SCHEMA_NAME = "report.schema.json"


class ReportSpecError(InputError):
    """report.yaml (or the published values it points to) cannot be used as written."""


def _schema_path() -> Path:
    return specs_dir() / "schema" / SCHEMA_NAME


@lru_cache(maxsize=1)
def report_schema() -> dict:
    return json.loads(_schema_path().read_text(encoding="utf-8"))


def _line_of(node: yaml.Node | None, path: tuple) -> int | None:
    """1-based line of the YAML node at ``path`` (or of its deepest existing ancestor)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == part), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]      # the key's line reads best
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def key_path(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass
class YamlDocument:
    """A parsed YAML file that can say where any of its entries is."""

    file: Path
    data: object
    root: yaml.Node | None

    def location(self, *path) -> Location:
        return Location(str(self.file), _line_of(self.root, tuple(path)), key_path(tuple(path)) or None)

    def error(self, message: str, *path) -> ReportSpecError:
        return ReportSpecError(message, self.location(*path))


def load_yaml(file: Path) -> YamlDocument:
    text = Path(file).read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ReportSpecError(f"not valid YAML: {getattr(exc, 'problem', exc)}", Location(str(file), line)) from exc
    return YamlDocument(Path(file), data, root)


def load_report_spec(file: Path) -> YamlDocument:
    """report.yaml parsed and validated; the first schema error is raised with its line and key path."""
    import jsonschema

    document = load_yaml(file)
    validator = jsonschema.Draft202012Validator(report_schema())
    errors = sorted(validator.iter_errors(document.data), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        path = tuple(best.absolute_path)
        message = best.message
        if best.validator == "additionalProperties" and isinstance(best.instance, dict):
            allowed = sorted(best.schema.get("properties", {}))
            unknown = sorted(set(best.instance) - set(allowed))
            if unknown and allowed:
                path = (*path, unknown[0])
                message = f"unknown key '{unknown[0]}'; allowed here: {', '.join(allowed)}"
        raise document.error(f"{message} (see docs/report.md for the report vocabulary)", *path)
    return document
