"""Reading ``mappings/<STUDY>/adam/*.yaml``: one file per ADaM dataset, validated against
``specs/schema/adam.schema.json`` on load (unknown keys are errors; messages name file:line and key)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import yamlio
from ..errors import InputError, Location
from .checks import AdamError

SCHEMA = "adam"
# Files in the adam folder that are not dataset specifications: analysis results metadata is read
# by sdtmify.studyspec.analysis_results.
RESERVED = frozenset({"analysis_results.yaml"})


@dataclass(frozen=True)
class VariableSpec:
    name: str
    line: int | None
    label: str | None = None
    type: str | None = None
    length: int | None = None
    data_type: str | None = None
    core: str | None = None
    codelist: str | None = None
    format: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class StepSpec:
    name: str
    args: dict
    line: int | None
    index: int


@dataclass(frozen=True)
class DatasetSpec:
    """One ADaM dataset as its YAML declares it."""

    name: str
    label: str
    cls: str
    keys: tuple[str, ...]
    steps: tuple[StepSpec, ...]
    variables: tuple[VariableSpec, ...]
    file: str
    structure: str | None = None
    description: str | None = None
    variables_line: int | None = None
    not_applicable: dict[str, str] = field(default_factory=dict)  # required variable -> why the study omits it
    not_applicable_lines: dict[str, int] = field(default_factory=dict)

    def location(self, line: int | None = None, field: str | None = None) -> Location:
        return Location(self.file, line, field)


def load_dataset_spec(path: Path) -> DatasetSpec:
    """Parse and validate one dataset file; the first problem is raised as an error with file:line."""
    file = yamlio.display_path(path)
    document = yamlio.load_yaml(path)
    errors = yamlio.schema_errors(document, SCHEMA, file)
    if errors:
        # A misspelt key also leaves a required key missing; the misspelling is the useful message.
        raise min(errors, key=lambda e: (not e.bare_message.startswith("unknown key"), e.line or 0))
    steps = []
    for index, item in enumerate(document["steps"]):
        ((name, args),) = item.items()
        steps.append(StepSpec(name, yamlio.plain(args or {}), document["steps"].line_of(index), index))
    variables: list[VariableSpec] = []
    seen: dict[str, int | None] = {}  # name -> line of its first declaration
    for index, item in enumerate(document["variables"]):
        line = document["variables"].line_of(index)
        spec = VariableSpec(item, line) if isinstance(item, str) else VariableSpec(line=line, **yamlio.plain(item))
        if spec.name in seen:
            raise AdamError(
                f"variable {spec.name} is listed twice (first on line {seen[spec.name]}); keep one",
                Location(file, line, f"variables[{index}]"),
            )
        seen[spec.name] = line
        variables.append(spec)
    return DatasetSpec(
        name=document["dataset"],
        label=document["label"],
        cls=document["class"],
        keys=tuple(document["keys"]),
        steps=tuple(steps),
        variables=tuple(variables),
        file=file,
        structure=document.get("structure"),
        description=document.get("description"),
        variables_line=document.line_of("variables"),
        not_applicable=yamlio.plain(document.get("not_applicable") or {}),
        not_applicable_lines={k: document["not_applicable"].line_of(k) for k in document.get("not_applicable") or {}},
    )


def load_specs(folder: Path) -> list[DatasetSpec]:
    """Every dataset specification of a study's adam folder, in file-name order; names must be unique."""
    specs: list[DatasetSpec] = []
    names: dict[str, str] = {}  # dataset -> file
    for path in sorted(Path(folder).glob("*.yaml")):
        if path.name in RESERVED:
            continue
        spec = load_dataset_spec(path)
        if spec.name in names:
            raise AdamError(
                f"dataset {spec.name} is already declared in {names[spec.name]}; one file per dataset",
                Location(spec.file, 1, "dataset"),
            )
        names[spec.name] = spec.file
        specs.append(spec)
    return specs


def check_specs(folder: Path) -> list[str]:
    """One message per problem found in a study's adam folder without building (for ``sdtmify check``):
    schema violations of every file, unknown derivations, duplicate variables and datasets."""
    messages: list[str] = []
    names: dict[str, str] = {}  # dataset -> file
    for path in sorted(Path(folder).glob("*.yaml")):
        if path.name in RESERVED:
            continue
        try:
            spec = load_dataset_spec(path)
        except InputError as exc:
            messages.append(str(exc))
            continue
        if spec.name in names:
            messages.append(f"{spec.file}:1 dataset: dataset {spec.name} is already declared in {names[spec.name]}")
        names.setdefault(spec.name, spec.file)
    return messages
