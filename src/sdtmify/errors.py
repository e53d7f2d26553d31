"""Errors meant for people: each names the file, the line or row, and the field at fault."""

from __future__ import annotations

from dataclasses import dataclass


class SdtmifyError(Exception):
    """Base class. ``exit_code`` is what the CLI returns: 2 for usage/input errors, 1 for findings."""

    exit_code = 2


@dataclass
class Location:
    """Where a problem is: a file, optionally a line (YAML/CSV) or row, and a field/key path."""

    file: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        text = self.file
        if self.line is not None:
            text += f":{self.line}"
        if self.field:
            text += f" {self.field}"
        return text


class InputError(SdtmifyError):
    """Bad input: a mapping, a source table, a spec. The message starts with its location."""

    def __init__(self, message: str, location: Location | None = None):
        self.location = location
        self.bare_message = message
        super().__init__(f"{location}: {message}" if location else message)

    @property
    def line(self) -> int | None:
        """The line of the input the error is about, when known (for sorting messages by line)."""
        return self.location.line if self.location else None


class MappingError(InputError):
    """A mapping file that does not validate or cannot be applied."""


class SourceError(InputError):
    """A source table that cannot be read or holds a bad value."""


class MetadataError(InputError):
    """Metadata (IG specs, CT, define) that is inconsistent."""


class SpecError(MetadataError):
    """A file sdtmify ships (rule catalogue, CT subset, schema, IG metadata, the Define-XML XSD) is
    missing, unreadable or malformed. Never caught to skip a check: the command stops with exit 2."""


class WriteError(SdtmifyError):
    """A dataset that cannot be written as asked (e.g. a value longer than its declared length)."""
