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

import yaml

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
    import jsonschema

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
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value, not a list or mapping", key_node.start_mark
            )
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


MAX_BYTES = 5 * 1024 * 1024
"""Largest YAML file read (5 MB): a mapping is a few kB, the rule catalogue about 150 kB."""
MAX_ALIAS_NODES = 10_000
"""Most nodes aliases may add beyond those written out: ``*ref`` re-uses a subtree, and nested anchors
("billion laughs") multiply it until the expanded document no longer fits in memory."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and sequences; mappings need a handful of levels."""


def _line_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _decode(data: bytes, file: str) -> str:
    """UTF-8 text (a leading BOM dropped), or a MappingError naming the line of the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = _line_of_offset(data, exc.start)
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise MappingError(
            f"byte 0x{data[exc.start]:02x} at column {column} is not UTF-8; save the file as UTF-8 "
            f"(it looks like Latin-1/Windows-1252 text)",
            Location(file, line),
        ) from None


def _check_shape(root: yaml.Node, file: str) -> None:
    """Refuse alias fan-out beyond MAX_ALIAS_NODES, nesting beyond MAX_DEPTH and recursive aliases, on the
    composed node graph (aliases are shared nodes there), before anything is constructed or expanded."""
    size: dict[int, int] = {}  # node id -> nodes once expanded
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            open_nodes.discard(key)
            size[key] = 1 + sum(size[id(child)] for child in children)
            depth[key] = 1 + max((depth[id(child)] for child in children), default=0)
            if depth[key] > MAX_DEPTH:
                raise MappingError(
                    f"nested deeper than {MAX_DEPTH} levels; flatten the structure",
                    Location(file, node.start_mark.line + 1),
                )
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise MappingError(
                "an alias refers to a node that contains it (a recursive alias); remove the '*' reference",
                Location(file, node.start_mark.line + 1),
            )
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(children) if id(child) not in size)
    # Fan-out: every repeated reference to a node adds its whole expanded subtree again.
    seen: set[int] = set()
    added = 0
    pending = [root]
    while pending:
        node = pending.pop()
        for child in _children(node):
            if id(child) in seen:
                added += size[id(child)]
                if added > MAX_ALIAS_NODES:
                    raise MappingError(
                        f"aliases expand to more than {MAX_ALIAS_NODES:,} extra nodes (an alias bomb?); "
                        f"write the values out or use fewer '*' references",
                        Location(file, node.start_mark.line + 1),
                    )
            else:
                seen.add(id(child))
                pending.append(child)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load_yaml(path: Path, *, fast: bool = False):
    """Parse one YAML file into LineDict/LineList nodes; syntax errors become MappingError with a line.

    Files over MAX_BYTES, text that is not UTF-8, aliases expanding beyond MAX_ALIAS_NODES and nesting
    beyond MAX_DEPTH are refused before construction, so a hostile file fails fast with its location.
    ``fast`` parses with libyaml (when installed) for large machine-read files such as the rule
    catalogue; mappings keep the pure-Python parser's wording of syntax errors."""
    path = Path(path)
    file = display_path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise MappingError(f"cannot read: {exc.strerror}", Location(file)) from None
    if len(raw) > MAX_BYTES:
        raise MappingError(f"larger than {MAX_BYTES // (1024 * 1024)} MB; a YAML file here is a few kB", Location(file))
    text = _decode(raw, file)
    loader = None
    try:
        loader = (_FastLineLoader if fast else _LineLoader)(text)
        root = loader.get_single_node()
        if root is not None:
            _check_shape(root, file)
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        if isinstance(exc, yaml.constructor.ConstructorError) and problem.startswith("duplicate key"):
            message = f"YAML syntax: {problem}: each key may appear once in a mapping; remove or rename one"
        elif isinstance(exc, yaml.constructor.ConstructorError):
            message = f"YAML value: {problem}"
        else:
            message = f"YAML syntax: {problem}; fix the indentation or quoting on this line"
        raise MappingError(message, Location(file, line)) from None
    except yaml.reader.ReaderError as exc:  # a control character the YAML reader refuses
        line = text.count("\n", 0, exc.position) + 1
        raise MappingError(
            f"character U+{ord(exc.character) if isinstance(exc.character, str) else exc.character:04X} "
            "is not allowed in YAML; remove it",
            Location(file, line),
        ) from None
    except RecursionError:
        raise MappingError(f"nested deeper than {MAX_DEPTH} levels; flatten the structure", Location(file)) from None
    finally:
        if loader is not None:
            loader.dispose()
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
    # jsonschema and referencing (a tenth of a second of startup) are imported when a document is
    # checked against a schema: `sdtmify validate` loads YAML (the rule catalogue) but checks none.
    from referencing import Registry, Resource

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
    import jsonschema

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
    # a misspelt key first: "unknown key 'soruces' (did you mean 'sources'?)" says more than the
    # "missing required key 'sources'" it causes
    errors.sort(key=lambda e: e.bare_message.startswith("missing required key"))
    if errors:
        raise errors[0]
