"""Find, load and validate a study's mapping files (one per output domain)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import yamlio
from ..errors import Location, MappingError


@dataclass
class DomainMapping:
    """One validated mapping file."""

    domain: str
    document: dict
    path: Path
    file: str

    @property
    def kind(self) -> str:
        """``source`` (rows from a table), ``records`` (literal rows) or ``design`` (from study.yaml)."""
        if "design" in self.document:
            return "design"
        if "records" in self.document:
            return "records"
        return "source"

    def parts(self) -> list[tuple[list, dict]]:
        """(path, part) of each source part: the file itself, or each item of ``parts:``."""
        if "parts" in self.document:
            return [(["parts", i], part) for i, part in enumerate(self.document["parts"])]
        if "from" in self.document:
            return [([], self.document)]
        return []

    def error(self, path, message: str) -> MappingError:
        return MappingError(
            message, Location(self.file, yamlio.line_at(self.document, list(path)), yamlio.key_path(path) or None)
        )

    def derivations(self) -> dict[str, dict]:
        """The ``derive:`` list as {name: parameters}."""
        result: dict[str, dict] = {}
        for item in self.document.get("derive", []) or []:
            if isinstance(item, str):
                result[item] = {}
            else:
                ((name, params),) = item.items()
                result[name] = dict(params or {})
        return result

    def unknown_reasons(self) -> dict[str, str]:
        """Variables declared ``unknown: "reason"``: a value the source does not hold (e.g. COUNTRY) is a
        truthful null, reported by the validator with the reason, instead of a value made up to pass."""
        reasons: dict[str, str] = {}
        for _, part in [([], self.document), *self.parts()]:
            for variable, spec in (part.get("variables") or {}).items():
                if isinstance(spec, dict) and spec.get("unknown"):
                    reasons.setdefault(variable, str(spec["unknown"]).strip())
        return reasons

    def derivation_path(self, name: str) -> list:
        for index, item in enumerate(self.document.get("derive", []) or []):
            if item == name or (isinstance(item, dict) and name in item):
                return ["derive", index] + ([] if isinstance(item, str) else [name])
        return ["derive"]


def load_mapping(path: Path, study) -> DomainMapping:
    """Load one mapping file, validate it against the schema and the study's declared sources."""
    document = yamlio.load_yaml(path)
    file = yamlio.display_path(path)
    yamlio.validate(document, "mapping", file)
    mapping = DomainMapping(domain=document["domain"], document=document, path=path, file=file)
    kinds = [key for key in ("from", "parts", "records", "design") if key in document]
    if len(kinds) != 1:
        found = " and ".join(kinds) if kinds else "none"
        raise mapping.error(
            [],
            f"a mapping needs exactly one of 'from' (a source table), 'parts' (several), "
            f"'records' (literal rows) or 'design' (from study.yaml); found {found}",
        )
    for where, part in mapping.parts():
        if part["from"] not in study.sources:
            raise mapping.error(
                [*where, "from"],
                f"source '{part['from']}' is not declared in study.yaml{yamlio.suggest(part['from'], study.sources)}",
            )
        for qnam, spec in (part.get("supp") or {}).items():
            if "label" not in spec:
                raise mapping.error([*where, "supp", qnam], "needs a 'label' (QLABEL, at most 40 characters)")
    stem = path.stem.upper()
    if stem != mapping.domain:
        raise mapping.error(
            ["domain"],
            f"domain {mapping.domain} is mapped in '{path.name}'; name the file {mapping.domain.lower()}.yaml",
        )
    return mapping


def load_mappings(study, standard: str = "sdtm") -> list[DomainMapping]:
    """Every mapping file of the study, validated, in file-name order."""
    files = study.mapping_files(standard)
    if not files:
        raise MappingError(
            f"no mapping files in {study.folder / standard}; write one per domain (see `sdtmify init`)",
            Location(yamlio.display_path(study.folder / standard)),
        )
    return [load_mapping(path, study) for path in files]


def declared_unknowns(study, standard: str = "sdtm") -> list[tuple[str, str, str, str]]:
    """(domain, variable, reason, file) of every variable a study's mappings declare ``unknown:``."""
    return [
        (mapping.domain, variable, reason, mapping.file)
        for mapping in load_mappings(study, standard)
        for variable, reason in sorted(mapping.unknown_reasons().items())
    ]
