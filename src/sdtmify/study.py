"""Load and validate a study folder (``mappings/<STUDY>/``) into a plain ``Study`` object.

study.yaml is checked against specs/schema/study.schema.json (unknown keys are errors, each
message names file:line and key path); source tables are read lazily and cached."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from . import yamlio
from .errors import InputError, Location, MappingError
from .paths import is_bare_name, resolve_study
from .reproducible import build_timestamp
from .sources import check_keys, detect_format, read_source
from .stagemeter import stage


@dataclass(frozen=True)
class SourceTable:
    """One declared source table (study.yaml ``sources:``)."""

    name: str
    path: Path
    format: str
    sheet: str | None = None
    encoding: str | None = None
    keys: tuple[str, ...] = ()
    subject: str | None = None
    description: str = ""
    line: int | None = None


@dataclass
class Study:
    name: str
    folder: Path
    config: dict
    sources: dict[str, SourceTable]
    timestamp: dt.datetime
    _cache: dict = field(default_factory=dict, repr=False)

    def default_encoding(self, encoding: str | None) -> None:
        """``--encoding``: the text encoding of every source that declares none in study.yaml."""
        if encoding:
            self.sources = {n: replace(s, encoding=s.encoding or encoding) for n, s in self.sources.items()}
            self._cache.clear()

    @property
    def studyid(self) -> str:
        return str(self.config["study"]["studyid"])

    @property
    def provenance(self) -> str:
        """study.yaml ``study.provenance``: where the data come from when not the trial's database, or ''."""
        return str(self.config["study"].get("provenance") or "").strip()

    @property
    def file(self) -> str:
        """study.yaml as messages name it."""
        return yamlio.display_path(self.folder / "study.yaml")

    @property
    def xpt_options(self) -> dict:
        return dict(self.config.get("output", {}).get("xpt", {}) or {})

    @property
    def has_adam(self) -> bool:
        return (self.folder / "adam").is_dir()

    @property
    def has_report(self) -> bool:
        return (self.folder / "report.yaml").is_file()

    @property
    def standards(self) -> dict:
        return {"sdtm": "2.0", "sdtmig": "3.4", **dict(self.config.get("standards", {}) or {})}

    @property
    def subject_column(self) -> str:
        subjects = self.config["subjects"]
        return subjects.get("subject_column", subjects["subjid"])

    def mapping_files(self, standard: str = "sdtm") -> list[Path]:
        """The domain mapping files of one standard, in name order."""
        return sorted((self.folder / standard).glob("*.yaml"))

    def source(self, name: str) -> pd.DataFrame:
        """A declared source table as str columns plus SRCROW; read once, then cached."""
        if name not in self.sources:
            raise MappingError(
                f"no source table '{name}'{yamlio.suggest(name, self.sources)}; "
                f"declare it under 'sources:' in study.yaml",
                Location(self.file),
            )
        if name not in self._cache:
            spec = self.sources[name]
            with stage("read sources"):
                frame = read_source(spec.path, spec.format, spec.sheet, spec.encoding, name=name)
                check_keys(frame, spec.keys, name, Location(self.file, spec.line, f"sources.{name}.keys"))
            self._cache[name] = frame
        return self._cache[name]


def _source_roots(document, folder: Path) -> list[Path]:
    """The study folder and the folders study.yaml allows under ``source_roots:``, symlinks resolved."""
    return [folder.resolve(), *((folder / root).resolve() for root in document.get("source_roots", ()) or ())]


def _confined_source(folder: Path, roots: list[Path], spec, name: str, file: str) -> Path:
    """A source file's real path (symlinks followed), refused unless it lies in the study folder or an
    allowed root: a mapping must never read, or echo in an error, a file the user did not mean to give."""
    path = (folder / spec["file"]).resolve()
    if not any(path.is_relative_to(root) for root in roots):
        allowed = "the study folder" if len(roots) == 1 else "the study folder or a 'source_roots:' folder"
        raise InputError(
            f"'{spec['file']}' of source '{name}' resolves to {path}, outside {allowed}; move the file into "
            f"the study folder, or allow its folder with 'source_roots: [FOLDER]' in study.yaml",
            Location(file, spec.line_of("file"), f"sources.{name}.file"),
        )
    return path


def load_study(name_or_path: str | Path) -> Study:
    """Read and validate a study's study.yaml: ``mappings/<name>/`` for a bare name, else the folder given
    (the path model of ``paths.resolve_study``)."""
    folder = resolve_study(name_or_path)
    text = str(name_or_path)
    name = text if is_bare_name(text) else folder.name
    config_path = folder / "study.yaml"
    document = yamlio.load_yaml(config_path)
    file = yamlio.display_path(config_path)
    yamlio.validate(document, "study", file)
    sources = {}
    roots = _source_roots(document, folder)
    for source_name, spec in document["sources"].items():
        path = _confined_source(folder, roots, spec, source_name, file)
        sources[source_name] = SourceTable(
            name=source_name,
            path=path,
            format=spec.get("format") or detect_format(path),
            sheet=spec.get("sheet"),
            encoding=spec.get("encoding"),
            keys=tuple(spec.get("keys", ())),
            subject=spec.get("subject"),
            description=spec.get("description", ""),
            line=document["sources"].line_of(source_name),
        )
    subjects = document["subjects"]
    if subjects["source"] not in sources:
        raise MappingError(
            f"source '{subjects['source']}' is not declared under 'sources:'"
            f"{yamlio.suggest(subjects['source'], sources)}",
            Location(file, subjects.line_of("source"), "subjects.source"),
        )
    output = document.get("output", {}) or {}
    try:
        timestamp = build_timestamp(output.get("timestamp"))
    except ValueError as error:  # matches the schema's pattern but is no calendar date, e.g. 2026-02-30
        raise InputError(
            f"'{output['timestamp']}' is not a valid date/time ({error}); write it as YYYY-MM-DD or "
            f"YYYY-MM-DDThh:mm:ss",
            Location(file, yamlio.line_at(document, ["output", "timestamp"]), "output.timestamp"),
        ) from None
    return Study(name=name, folder=folder, config=document, sources=sources, timestamp=timestamp)
