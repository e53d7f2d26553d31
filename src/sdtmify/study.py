"""Load and validate a study folder (``mappings/<STUDY>/``) into a plain ``Study`` object.

study.yaml is checked against specs/schema/study.schema.json (unknown keys are errors, each
message names file:line and key path); source tables are read lazily and cached."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from . import stagemeter, yamlio
from .errors import InputError, Location, MappingError
from .paths import is_bare_name, resolve_study
from .reproducible import build_timestamp
from .sources import check_keys, detect_format, read_source


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
        return (self.folder / "adam").is_dir() and not self.declares_none("adam")

    @property
    def has_report(self) -> bool:
        return (self.folder / "report.yaml").is_file() and not self.declares_none("report")

    def declares_none(self, stage: str) -> bool:
        """study.yaml ``stages: {stage: none}``: the study states it has no such stage (no ADaM, no
        report), so a build says the stage is not declared rather than showing it as skipped."""
        return (self.config.get("stages") or {}).get(stage) == "none"

    @property
    def standards(self) -> dict:
        return {"sdtm": "2.0", "sdtmig": "3.4", **dict(self.config.get("standards", {}) or {})}

    @property
    def subject_column(self) -> str:
        subjects = self.config["subjects"]
        return subjects.get("subject_column", subjects["subjid"])

    def dictionaries(self) -> dict[str, tuple[pd.DataFrame, str]]:
        """study.yaml ``dictionaries:``: kind (``ctcae``) -> (the source's table, the source file as
        messages name it), for the validator to check coded values against."""
        declared = dict(self.config.get("dictionaries") or {})
        return {
            kind: (self.source(name), yamlio.display_path(self.sources[name].path)) for kind, name in declared.items()
        }

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
            with stagemeter.stage("read sources"):
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


# what each stage of study.yaml ``stages:`` reads: the files whose presence the declaration must agree with
STAGE_FILES = {"adam": ("adam/", "adam/*.yaml"), "report": ("the study folder", "report.yaml")}


def _check_stages(document, folder: Path, file: str) -> None:
    """``stages:`` agrees with the files: ``none`` with ADaM YAML (or a report.yaml) present is an error,
    since a build would otherwise silently leave out what the folder holds; ``required`` without them
    is an error too (the stage the study promises cannot run)."""
    for stage, declared in (document.get("stages") or {}).items():
        name, pattern = STAGE_FILES[stage]
        found = sorted(p.name for p in folder.glob(pattern) if p.is_file())
        where = Location(file, yamlio.line_at(document, ["stages", stage]), f"stages.{stage}")
        if declared == "none" and found:
            shown = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
            raise InputError(
                f"the study declares no {stage} stage but {name} holds {shown}; remove 'stages: {stage}: none' "
                f"to build it, or move the files out of the study folder",
                where,
            )
        if stage == "adam" and declared == "none" and not (document.get("stages") or {}).get("report") == "none":
            if (folder / "report.yaml").is_file():
                raise InputError(
                    "the study declares no adam stage but has a report.yaml, whose tables are computed from "
                    "ADaM; declare 'report: none' too, or remove 'adam: none'",
                    where,
                )
        if declared == "required" and not found:
            raise InputError(
                f"'{stage}: required' but there is no {pattern}; write it, or declare '{stage}: none'",
                where,
            )


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
    _check_stages(document, folder, file)
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
    for kind, source_name in (document.get("dictionaries") or {}).items():
        if source_name not in sources:
            raise MappingError(
                f"dictionary {kind}: source '{source_name}' is not declared under 'sources:'"
                f"{yamlio.suggest(source_name, sources)}",
                Location(file, yamlio.line_at(document, ["dictionaries", kind]), f"dictionaries.{kind}"),
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
