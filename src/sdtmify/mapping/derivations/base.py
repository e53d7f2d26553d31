"""The registry of SDTM derivation steps and the runner that applies them to a domain.

A step is one entry of a domain file's ``derive:`` list (``seq``, ``study_day``, ``baseline``...), or
a step every domain gets (supplemental qualifiers, plausible ranges). Each lives in its own module of
this package and registers itself with :func:`register`, giving

* ``apply(state, build, params, path)``: the adaptor that reads the domain being built, calls the
  pure vectorized functions of ``sdtmify.derive`` (their docstrings state the SDTMIG rule and become
  the define.xml method texts) and records what it derived; its own docstring names the rule;
* ``schema``: the JSON-Schema of the step's parameters (``derive: [{name: {...}}]``), or None when
  the step takes none; ``bare``: whether the step may be written as its name alone. The
  ``$defs/derivation`` part of specs/schema/mapping.schema.json is generated from these fragments,
  in registration order, and a test holds the file equal to them;
* ``method``: what the step does, as prose for a reviewer (the docs' vocabulary table);
* ``phase`` and ``rank``: when it runs. Steps run in a fixed order whatever their order in the file:
  ``subject`` steps on DM first (other domains need its dates and arms), then trial design, then
  ``domain`` steps on each domain, then ``check`` and ``supp`` steps on every domain.

The names are the YAML keys studies already use; the functions they call follow admiral's grammar
(one function per derivation, named after the variable it derives)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..state import BuildState, DomainBuild

PHASES = ("subject", "domain", "check", "supp")

# apply(state, build, params, path) -> a new domain (SUPP--) or None
Apply = Callable[[BuildState, DomainBuild, dict, list], "DomainBuild | None"]


@dataclass(frozen=True)
class Derivation:
    """One entry of the step vocabulary (see the module docstring)."""

    name: str
    apply: Apply
    method: str
    phase: str = "domain"
    rank: int = 0
    schema: dict | None = None  # the parameters' JSON Schema; None: the step takes none
    bare: bool = False  # may be written as its name alone (``- seq``)
    declared: bool = True  # False: runs on every domain, no ``derive:`` entry

    @property
    def rule(self) -> str:
        """The rule the step implements: the first paragraph of its adaptor's docstring."""
        text = self.apply.__doc__ or ""
        return " ".join(text.split("\n\n")[0].split()).replace("``", "")


DERIVATIONS: dict[str, Derivation] = {}


def register(derivation: Derivation) -> Derivation:
    """Add a step to the vocabulary; its name must be new and its phase known."""
    if derivation.name in DERIVATIONS:
        raise ValueError(f"derivation '{derivation.name}' is already registered")
    if derivation.phase not in PHASES:
        raise ValueError(f"derivation '{derivation.name}': phase must be one of {', '.join(PHASES)}")
    if derivation.declared and derivation.schema is None and not derivation.bare:
        raise ValueError(f"derivation '{derivation.name}': a declared step needs a schema or bare=True")
    DERIVATIONS[derivation.name] = derivation
    return derivation


def in_order(phase: str) -> list[Derivation]:
    """The steps of a phase in the order they run."""
    return sorted((d for d in DERIVATIONS.values() if d.phase == phase), key=lambda d: d.rank)


def derivation_schema() -> dict:
    """``$defs/derivation`` of mapping.schema.json: a step's name alone, or {name: parameters}."""
    declared = [d for d in DERIVATIONS.values() if d.declared]
    return {
        "oneOf": [
            {"type": "string", "enum": [d.name for d in declared if d.bare]},
            {
                "type": "object",
                "additionalProperties": False,
                "minProperties": 1,
                "maxProperties": 1,
                "properties": {d.name: d.schema for d in declared if d.schema is not None},
            },
        ]
    }


def run_phase(phase: str, state: BuildState, build: DomainBuild) -> list[DomainBuild]:
    """Apply the steps of ``phase`` to one domain: those its mapping declares, and those every domain
    gets; the new domains they make (SUPP--) are returned."""
    declared = build.mapping.derivations() if build.mapping is not None else {}
    made = []
    for derivation in in_order(phase):
        if derivation.declared and derivation.name not in declared:
            continue
        params = declared.get(derivation.name, {})
        path = build.mapping.derivation_path(derivation.name) if build.mapping is not None else ["derive"]
        result = derivation.apply(state, build, params, path)
        if result is not None:
            made.append(result)
    return made
