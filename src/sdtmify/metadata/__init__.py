"""One source of truth for names, labels, types, lengths, codelists, origins and methods."""

from .model import (  # noqa: F401
    CodeList,
    CodeListItem,
    Comment,
    Condition,
    Dataset,
    Document,
    Method,
    Origin,
    Standard,
    StudyMetadata,
    ValueLevel,
    Variable,
)
