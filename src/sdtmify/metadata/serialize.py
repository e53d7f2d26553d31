"""StudyMetadata to and from plain JSON, so a build's metadata can be kept beside its datasets."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

from ..atomic import write_text
from . import model


def to_dict(obj):
    """A dataclass tree as JSON-ready dicts/lists (tuples become lists, None fields are kept)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(item) for item in obj]
    if isinstance(obj, dict):
        return {key: to_dict(value) for key, value in obj.items()}
    return obj


def _build(cls, data):
    hints = typing.get_type_hints(cls, vars(model))
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        kwargs[f.name] = _convert(hints[f.name], data[f.name])
    return cls(**kwargs)


def _convert(hint, value):
    if value is None:
        return None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is tuple:
        return tuple(_convert(args[0], item) for item in value)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value) if inner else value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value)
    return value


def from_dict(data: dict) -> model.StudyMetadata:
    return _build(model.StudyMetadata, data)


def dump(metadata: model.StudyMetadata, path: str | Path) -> Path:
    write_text(path, json.dumps(to_dict(metadata), indent=1, sort_keys=False, ensure_ascii=False) + "\n")
    return Path(path)


def load(path: str | Path) -> model.StudyMetadata:
    return from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
