"""Load YAML keeping line numbers, and validate it against a JSON Schema with messages for people.

Every mapping error must say ``file:line key.path: what is wrong and what to do``; PyYAML drops
line numbers, so mappings and sequences are loaded as dict/list subclasses that remember them."""

from __future__ import annotations

import difflib
import json
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import jsonschema
import yaml
from referencing import Registry, Resource

from .errors import Location, MappingError, SpecError
from .resources import read_spec_text, spec_path


class LineDict(dict):
    """A YAML mapping that remembers its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict

    def line_of(self, key) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A YAML sequence that remembers its own line and each item's line (1-based)."""

    line: int = 0
    item_lines: list

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


class _LineLoader(yaml.SafeLoader):
    pass


if TYPE_CHECKING:  # the C loader has the SafeLoader interface; the checker sees one class
    _FastBase = yaml.SafeLoader
else:
    _FastBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _FastLineLoader(_FastBase):
    """The same loader on libyaml's parser when PyYAML has it: large files (the rule catalogue) load
    several times faster; syntax messages are libyaml's wording."""


def _construct_mapping(loader, node):
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader, node):
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _construct_timestamp_as_text(loader, node):
    # Dates stay text: the engine parses them itself (ISO 8601, partial dates), never YAML.
    return loader.construct_scalar(node)


# YAML 1.2 booleans: only true/false. YAML 1.1 would turn the keys and values clinical data use
# every day (Yes, No, On, Off: "on: subject_id", "map: {Yes: Y}") into booleans.
for _loader in (_LineLoader, _FastLineLoader):
    _loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
    _loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp_as_text)


def plain(node):
    """LineDict/LineList trees as plain dicts and lists, for code that keeps data, not file positions."""
    if isinstance(node, dict):
        return {key: plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [plain(value) for value in node]
    return node


def display_path(path: Path) -> str:
    """How a file is named in messages: from the ``mappings/`` (or equivalent) folder down."""
    path = Path(path)
    parts = path.parts
    for anchor in ("mappings", "studies"):
        if anchor in parts:
            index = len(parts) - 1 - parts[::-1].index(anchor)
            return "/".join(parts[index:])
    return str(path)


def load_yaml(path: Path, *, fast: bool = False):
    """Parse one YAML file into LineDict/LineList nodes; syntax errors become MappingError with a line.

    ``fast`` parses with libyaml (when installed) for large machine-read files such as the rule
    catalogue; mappings keep the pure-Python parser's wording of syntax errors."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"cannot read: {exc.strerror}", Location(display_path(path))) from None
    except UnicodeDecodeError as exc:
        raise MappingError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", Location(display_path(path))) from None
    try:
        data = yaml.load(text, Loader=_FastLineLoader if fast else _LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        raise MappingError(
            f"YAML syntax: {problem}; fix the indentation or quoting on this line", Location(display_path(path), line)
        ) from None
    if data is None:
        data = LineDict()
        data.line, data.key_lines = 1, {}
    return data


def line_at(document, path) -> int | None:
    """The line of the deepest node reachable along ``path`` (keys and list indexes)."""
    node, line = document, getattr(document, "line", None)
    for part in path:
        if isinstance(node, LineDict) and part in node:
            line = node.line_of(part)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and part < len(node):
            line = node.line_of(part)
            node = node[part]
        else:
            break
    return line


def _node_at(document, path):
    node = document
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def key_path(path) -> str:
    """Dotted key path for messages; a variable's own name stands for ``variables.NAME``."""
    parts = [f"[{p}]" if isinstance(p, int) else str(p) for p in path]
    if len(parts) >= 2 and parts[0] == "variables":
        parts = parts[1:]
    text = ".".join(parts).replace(".[", "[")
    return text


def suggest(word: object, choices) -> str:
    """`` (did you mean 'x'?)`` when a close match exists, else ''."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


@cache
def load_schema(name: str) -> dict:
    """A shipped JSON Schema from specs/schema/ (``mapping``, ``study``, ``adam``, ``report``...);
    a missing or broken schema file is a SpecError."""
    path = spec_path("schema") / f"{name}.schema.json"
    try:
        return json.loads(read_spec_text(path))
    except json.JSONDecodeError as error:
        raise SpecError(f"schema is not valid JSON ({error.msg})", Location(str(path), error.lineno)) from None


@cache
def _registry():
    """Both schemas under their $id, so study.yaml conditions reuse the mapping language's."""
    resources = []
    for name in ("mapping", "study"):
        schema = load_schema(name)
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def _schema_message(error: jsonschema.ValidationError) -> str:
    """Rewrite a jsonschema error as an instruction."""
    kind = error.validator
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unexpected = sorted(set(error.instance) - set(allowed))
        bad = unexpected[0] if unexpected else "?"
        hint = suggest(bad, allowed) or f" (allowed: {', '.join(allowed)})"
        return f"unknown key '{bad}'{hint}"
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"missing required key '{missing}'"
    if kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"{error.instance!r} should be {'an' if str(expected)[0] in 'aeiou' else 'a'} {expected}"
    if kind == "enum":
        choices = ", ".join(map(str, error.validator_value))
        return f"{error.instance!r} is not one of: {choices}{suggest(error.instance, error.validator_value)}"
    if kind == "pattern":
        description = error.schema.get("description", f"the pattern {error.validator_value}")
        return f"{error.instance!r} does not match {description}"
    if kind == "maxLength":
        return f"{error.instance!r} is longer than {error.validator_value} characters"
    if kind in ("minItems", "minProperties"):
        return "must not be empty"
    if kind in ("oneOf", "anyOf"):
        return error.schema.get("description", "does not match any allowed form")
    return error.message


def schema_errors(document, schema_name: str, file: str) -> list[MappingError]:
    """All schema violations of ``document`` as MappingErrors, in file order."""
    validator = jsonschema.Draft202012Validator(load_schema(schema_name), registry=_registry())
    found = []
    for error in validator.iter_errors(document):
        # For oneOf/anyOf, the most specific sub-error says more than "no branch matched".
        best = jsonschema.exceptions.best_match([error]) if error.context else error
        path = list(best.absolute_path)
        line_path = path
        node = _node_at(document, path)
        if best.validator == "additionalProperties" and isinstance(node, dict):
            # point at the unexpected key's own line
            extra = sorted(set(node) - set(best.schema.get("properties", {})))
            line_path = [*path, extra[0]] if extra else path
        elif isinstance(node, dict) and isinstance(best.instance, str) and best.instance in node:
            # propertyNames: the key itself is wrong
            path = line_path = [*path, best.instance]
        location = Location(file, line_at(document, line_path), key_path(path) or None)
        found.append(MappingError(_schema_message(best), location))
    found.sort(key=lambda e: (e.line or 0, str(e)))
    return found


def validate(document, schema_name: str, file: str) -> None:
    """Raise the first schema violation (by line) as a MappingError."""
    errors = schema_errors(document, schema_name, file)
    if errors:
        raise errors[0]
