"""The rule catalogue: ``specs/rules/*.yaml`` loaded into :class:`Rule` objects and checked for shape.

Each rule is data: an id, the authority it implements, a scope, a severity, a message template
naming the values found, and one check from the vocabulary in ``validate/checks``. A malformed rule
is an input error naming the file, line and key.

``specs/rules/catalogue.yaml`` declares every rule file and its number of rules; loading fails closed
(SpecError, exit status 2) when a declared file is missing or unreadable, an undeclared file
appears, or a file holds a different number of rules than declared."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path

from ..errors import InputError, Location, SpecError
from ..resources import spec_path
from ..yamlio import LineDict, load_yaml, plain
from .checks import CHECKS
from .checks.functions import FUNCTIONS, STUDY_FUNCTIONS
from .conditions import COMBINATORS, DATE_OPERATORS, OPERATORS, TEXT_OPERATORS, VIEW_OPERATORS

SEVERITIES = ("error", "warning", "notice")
STANDARDS = ("SDTM", "ADaM", "any")
AUTHORITY_KEYS = ("core", "cg", "fda", "adamig", "define", "sdtmig", "sponsor")
# The keys a rule may have. Anything else is refused: in a YAML flow mapping an unquoted text with a
# comma ("description: A, B") silently becomes two keys, and the description is cut at the comma.
RULE_KEYS = ("id", "severity", "message", "description", "authority", "scope", "check", "tags")
RULES_FOLDER = "rules"
CATALOGUE = "catalogue.yaml"


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    message: str
    description: str
    authority: dict
    scope: dict
    check: dict
    file: str = ""
    line: int | None = None
    tags: tuple[str, ...] = field(default=())

    @property
    def check_type(self) -> str:
        return self.check["type"]

    @property
    def standard(self) -> str:
        """SDTM, ADaM or any: every rule declares it (checked on load), so an SDTM rule never runs on
        an ADaM dataset and an ADaM rule never on an SDTM one; ``any`` is for the file-format and
        define.xml rules that hold for both (XPT v5 limits, FDA TCG 4.1.5)."""
        return self.scope["standard"]

    @property
    def family(self) -> str:
        """The check family, used to group benchmark numbers and the Rules sheet."""
        if self.check_type == "function":
            return f"function:{self.check['name']}"
        return self.check_type

    def authority_text(self) -> str:
        parts = []
        for key in AUTHORITY_KEYS:
            value = self.authority.get(key)
            if value:
                parts.append(value if key in ("core", "cg", "fda") else f"{key}: {value}")
        return "; ".join(str(p) for p in parts)

    def applies_to(self, name: str, standard: str, domain_class: str) -> bool:
        """Scope: standard (SDTM | ADaM | any, required), datasets (glob patterns), classes, exclude."""
        if self.standard not in ("any", standard):
            return False
        datasets = self.scope.get("datasets")
        if datasets and not any(fnmatchcase(name, pattern) for pattern in datasets):
            return False
        classes = self.scope.get("classes")
        if classes and domain_class not in classes:
            return False
        return not any(fnmatchcase(name, pattern) for pattern in self.scope.get("exclude", ()))


def load_rules(folder: Path | None = None) -> list[Rule]:
    """All rules of ``folder`` (default: the shipped specs/rules), sorted by id; ids must be unique.

    The shipped folder must hold ``catalogue.yaml`` and agree with it (see the module docstring); a
    folder given by the caller is checked against its catalogue when it has one."""
    folder = Path(folder) if folder is not None else spec_path(RULES_FOLDER)
    declared = _declared_counts(folder / CATALOGUE, required=folder == spec_path(RULES_FOLDER))
    files = tuple(sorted(p for p in folder.glob("*.yaml") if p.name != CATALOGUE))
    if declared is not None:
        _check_files(folder, files, declared)
    try:
        mtimes = tuple(p.stat().st_mtime_ns for p in files)
    except OSError as error:
        raise SpecError(f"rule file cannot be read ({error.strerror})", Location(str(error.filename))) from None
    rules = list(_load(files, mtimes))
    if declared is not None:
        found = Counter(rule.file for rule in rules)
        for name, count in declared.items():
            if found[name] != count:
                raise SpecError(
                    f"holds {found[name]} rule(s) but {CATALOGUE} declares {count}; "
                    f"restore the file or correct its count in {CATALOGUE}",
                    Location(str(folder / name)),
                )
    return rules


def _declared_counts(path: Path, required: bool) -> dict[str, int] | None:
    """``catalogue.yaml``'s ``files:`` mapping (rule file name -> number of rules)."""
    if not path.is_file():
        if required:
            raise SpecError(
                "rule catalogue missing: the validator will not run without it; reinstall sdtmify", Location(str(path))
            )
        return None
    document = load_yaml(path)
    files = document.get("files") if isinstance(document, LineDict) else None
    if not isinstance(files, LineDict) or not files:
        raise SpecError("the catalogue declares no rule files under 'files:'", Location(str(path)))
    for name, count in files.items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise SpecError(
                f"{name}: a rule count is a positive whole number, not {count!r}",
                Location(str(path), files.line_of(name), name),
            )
    return {str(name): count for name, count in files.items()}


def _check_files(folder: Path, files: tuple[Path, ...], declared: dict[str, int]) -> None:
    """Every declared rule file is present; every present rule file is declared."""
    present = {path.name for path in files}
    missing = sorted(set(declared) - present)
    if missing:
        raise SpecError(
            f"rule file missing ({CATALOGUE} declares {declared[missing[0]]} rule(s) in it); "
            "the validator will not run with part of its catalogue; reinstall sdtmify",
            Location(str(folder / missing[0])),
        )
    extra = sorted(present - set(declared))
    if extra:
        raise SpecError(
            f"rule file not declared in {CATALOGUE}; add it there with its number of rules",
            Location(str(folder / extra[0])),
        )


@lru_cache(maxsize=8)
def _load(files: tuple[Path, ...], _mtimes: tuple[int, ...]) -> tuple[Rule, ...]:
    """Parse the catalogue files (cached until a file changes: rules are immutable)."""
    rules: dict[str, Rule] = {}
    for path in files:
        # libyaml parser: the catalogue loads several times faster; lines are kept for the messages
        doc = load_yaml(path, fast=True)
        if not isinstance(doc, dict):
            raise SpecError("a rule file is a mapping with a 'rules:' list", Location(str(path), 1))
        for raw in doc.get("rules", []):
            line = raw.line
            where = Location(str(path), line)
            for key in ("id", "severity", "message", "check", "authority"):
                if key not in raw:
                    raise InputError(f"rule has no '{key}'", Location(str(path), line, key))
            unknown = [str(k) for k in raw if k not in RULE_KEYS]
            if unknown:
                raise InputError(
                    f"rule {raw['id']}: unknown key(s) {', '.join(repr(k) for k in unknown)}; a rule has "
                    f"only {', '.join(RULE_KEYS)} (quote a text that holds a comma)",
                    Location(str(path), line, unknown[0]),
                )
            if raw["severity"] not in SEVERITIES:
                raise InputError(
                    f"severity '{raw['severity']}' is not one of {', '.join(SEVERITIES)}",
                    Location(str(path), line, "severity"),
                )
            check = plain(raw["check"])
            if check.get("type") not in CHECKS:
                raise InputError(
                    f"check type '{check.get('type')}' unknown; known: {', '.join(sorted(CHECKS))}",
                    Location(str(path), getattr(raw["check"], "line", line), "check.type"),
                )
            authority = plain(raw["authority"])
            if not any(authority.get(k) for k in AUTHORITY_KEYS):
                raise InputError(
                    f"authority names none of {', '.join(AUTHORITY_KEYS)}", Location(str(path), line, "authority")
                )
            if check["type"] in ("function", "study_function"):
                known = FUNCTIONS if check["type"] == "function" else STUDY_FUNCTIONS
                if check.get("name") not in known:
                    raise InputError(
                        f"no {check['type']} named '{check.get('name')}'; known: {', '.join(sorted(known))}",
                        Location(str(path), getattr(raw["check"], "line", line), "check.name"),
                    )
            for problem in _condition_problems(check):
                raise InputError(problem, Location(str(path), getattr(raw["check"], "line", line), "check"))
            scope = plain(raw.get("scope") or {})
            if not isinstance(scope, dict) or scope.get("standard") not in STANDARDS:
                found = scope.get("standard") if isinstance(scope, dict) else scope
                raise InputError(
                    f"rule {raw['id']}: scope.standard is {found!r}; declare the standard the rule checks: "
                    f"{', '.join(STANDARDS)} (an SDTM rule never runs on ADaM datasets, nor the reverse)",
                    Location(str(path), getattr(raw.get("scope"), "line", line), "scope.standard"),
                )
            if raw["id"] in rules:
                raise InputError(f"rule id {raw['id']} already used in {rules[raw['id']].file}", where)
            rules[raw["id"]] = Rule(
                id=raw["id"],
                severity=raw["severity"],
                message=raw["message"].strip(),
                description=str(raw.get("description", raw["message"])).strip(),
                authority=authority,
                scope=scope,
                check=check,
                file=path.name,
                line=line,
                tags=tuple(raw.get("tags", ())),
            )
    return tuple(rules[k] for k in sorted(rules))


_CONDITION_KEYS = ("when", "where", "target_where")


def _condition_problems(check: dict) -> list[str]:
    """Unknown operators in a check's conditions (found when loading, not in the middle of a run)."""
    known = set(OPERATORS) | set(VIEW_OPERATORS) | set(TEXT_OPERATORS) | set(DATE_OPERATORS) | {"present", "null", None}
    problems: list[str] = []

    def walk(cond, where):
        if not isinstance(cond, dict):
            problems.append(f"{where}: a condition is a mapping, not {cond!r}")
            return
        for key, value in cond.items():
            if key in COMBINATORS:
                for item in value if isinstance(value, list) else [value]:
                    walk(item, f"{where}.{key}")
            elif isinstance(value, dict):
                problems.extend(f"{where}.{key}: unknown operator '{op}'" for op in value if op not in known)

    for key in _CONDITION_KEYS:
        if key in check:
            walk(check[key], f"check.{key}")
    for key, value in (check.get("args") or {}).items():
        if key in ("where", "when") and value:
            walk(value, f"check.args.{key}")
    return problems
