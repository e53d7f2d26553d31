"""Load and check ``mappings/<STUDY>/report.yaml`` against ``specs/schema/report.schema.json``.

YAML is read by the project's loader (:mod:`sdtmify.yamlio`): one parse that keeps every
line, YAML 1.2 booleans only (``Yes``, ``No``, ``On``, ``Off`` stay text), and schema messages with the
key path and a "did you mean". Every later error about the report spec names the file, the YAML line
and the key path, so a user can go straight to the entry at fault."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import yamlio
from ..errors import InputError, Location, MappingError

SCHEMA_NAME = "report"


class ReportSpecError(InputError):
    """report.yaml (or the published values it points to) cannot be used as written."""


@dataclass
class YamlDocument:
    """A parsed YAML file (:class:`~sdtmify.yamlio.LineDict` nodes) that can say where any of
    its entries is."""

    file: Path
    data: Any  # the parsed YAML: LineDict / LineList nodes and scalars

    def location(self, *path: str | int) -> Location:
        return Location(yamlio.display_path(self.file), yamlio.line_at(self.data, path), yamlio.key_path(path) or None)

    def error(self, message: str, *path: str | int) -> ReportSpecError:
        return ReportSpecError(message, self.location(*path))


def load_yaml(file: Path) -> YamlDocument:
    """One YAML file with its lines; a syntax error is a ReportSpecError at its line."""
    try:
        data = yamlio.load_yaml(Path(file))
    except MappingError as exc:
        raise ReportSpecError(f"not valid YAML: {exc.bare_message}", exc.location) from None
    return YamlDocument(Path(file), data)


def load_report_spec(file: Path) -> YamlDocument:
    """report.yaml parsed and validated; the first schema error (by line) is raised with its line and
    key path."""
    document = load_yaml(file)
    errors = yamlio.schema_errors(document.data, SCHEMA_NAME, yamlio.display_path(document.file))
    if errors:
        first = errors[0]
        raise ReportSpecError(f"{first.bare_message} (see docs/report.md for the report vocabulary)", first.location)
    return document
