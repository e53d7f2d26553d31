"""What an SDTM build holds while it runs: each domain being built (its frame, lineage and define.xml
notes) and the study-wide state the derivations read (subjects, DM, the visit schedule, the visits
seen so far). The engine fills it; the derivation steps (``mapping.derivations``) read and extend it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .. import yamlio
from ..console import QUIET, Console
from ..derive import identifiers, visits
from ..derive.reference_dates import pick_per_subject
from ..errors import InputError, Location, MappingError
from . import expressions
from .context import MappingContext
from .loader import DomainMapping

LINEAGE = ("SRCTABLE", "SRCROW", "SRCPART")


@dataclass
class VariableNote:
    """What define.xml needs to know about how a variable was produced."""

    origin: str
    source_party: str | None = None
    method: str | None = None  # text of the method (Derived)
    method_name: str | None = None
    comment: str | None = None
    length: int | None = None
    codelist: str | None = None  # a CT codelist named with ``ct:``
    extend: dict = field(default_factory=dict)
    label: str | None = None
    qeval: str = ""


@dataclass
class DomainBuild:
    """One domain while it is being built: its frame (with lineage columns) and its notes."""

    name: str
    frame: pd.DataFrame
    mapping: DomainMapping
    ctx: MappingContext | None = None  # only domains built from source rows have one
    notes: dict[str, VariableNote] = field(default_factory=dict)
    supp_values: dict[str, pd.Series] = field(default_factory=dict)
    supp_notes: dict[str, VariableNote] = field(default_factory=dict)
    part_codelists: dict[str, dict[int, str]] = field(default_factory=dict)  # variable -> part -> ct

    def note(self, variable: str, origin: str = "Derived", method: str | None = None, name: str | None = None):
        self.notes.setdefault(variable, VariableNote(origin=origin, method=method, method_name=name))

    def source_context(self) -> MappingContext:
        """The context of a domain built from source rows (its derivations evaluate expressions on them)."""
        if self.ctx is None:
            raise self.mapping.error(["derive"], f"{self.name} has no source rows to derive from")
        return self.ctx


def doc(function) -> str:
    """A derivation's method text for define.xml: its docstring, which states the rule."""
    text = (function.__doc__ or function.__name__).strip()
    return " ".join(text.replace("``", "").split())


class BuildState:
    """The study-wide state of one build, as the derivation steps see it."""

    def __init__(self, study, ct, ui: Console = QUIET):
        self.study = study
        self.ct = ct
        self.ui = ui
        self.studyid = study.studyid
        self.domains: dict[str, DomainBuild] = {}
        self.notes: list[str] = []
        self.schedule = visits.planned_visits(study.config.get("visits", {}) or {})
        # scheduled visits (USUBJID, date, VISITNUM) of the domains derived so far: unscheduled visits
        # of later domains are numbered after the last of them (derive.visits.assign_visits)
        self.seen_visits: list[pd.DataFrame] = []
        self._subjects: pd.DataFrame | None = None
        # `sdtmify check` collects the problems of every variable and domain here instead of stopping
        # at the first; None (a build) stops at the first.
        self.problems: list[str] | None = None
        self.failed: set[str] = set()  # checking: domains with a problem (their later steps are skipped)

    def collect(self, exc: InputError) -> None:
        """Record a problem when checking; re-raise it when building."""
        if self.problems is None:
            raise exc
        self.problems.append(str(exc))

    def subject_table(self) -> pd.DataFrame:
        """SUBJID, SITEID, USUBJID per subject, from study.yaml ``subjects:``."""
        if self._subjects is not None:
            return self._subjects
        spec = self.study.config["subjects"]
        table = self.study.source(spec["source"])
        where = ["subjects"]
        for key in ("subjid", "siteid"):
            if key in spec and spec[key] not in table.columns:
                raise MappingError(
                    f"column '{spec[key]}' not in source '{spec['source']}'{yamlio.suggest(spec[key], table.columns)}",
                    Location(self.study.file, yamlio.line_at(self.study.config, [*where, key]), f"subjects.{key}"),
                )
        subjid = table[spec["subjid"]].astype(str)
        siteid = (
            table[spec["siteid"]].astype(str)
            if "siteid" in spec
            else pd.Series(str(spec.get("site", "")), index=table.index)
        )
        template = spec.get(
            "usubjid", "{STUDYID}-{SITEID}-{SUBJID}" if "siteid" in spec or "site" in spec else "{STUDYID}-{SUBJID}"
        )
        frame = pd.DataFrame(
            {"SUBJID": subjid, "SITEID": siteid, "USUBJID": identifiers.usubjid(self.studyid, siteid, subjid, template)}
        )
        duplicated = frame["SUBJID"].duplicated()
        if duplicated.any():
            raise MappingError(
                f"subject '{frame.loc[duplicated, 'SUBJID'].iloc[0]}' appears twice in source "
                f"'{spec['source']}'; one row per subject",
                Location(self.study.file, yamlio.line_at(self.study.config, [*where, "subjid"]), "subjects.subjid"),
            )
        subjects = frame.set_index("SUBJID", drop=False)
        self._subjects = subjects
        return subjects

    def dm_column(self, variable: str, usubjid: pd.Series) -> pd.Series:
        """DM's ``variable`` for each record's subject ("" when DM or the variable is not built)."""
        dm = self.domains.get("DM")
        if dm is None or variable not in dm.frame:
            return pd.Series("", index=usubjid.index, dtype=object)
        return usubjid.map(dm.frame.set_index("USUBJID")[variable]).fillna("").astype(str)

    def resolve_date_rule(self, rule: dict, where: list, file: str, document) -> pd.Series:
        """A date per USUBJID from a rule: a source column or another domain's variable, first/last."""
        location = Location(file, yamlio.line_at(document, where), yamlio.key_path(where))
        pick = rule.get("pick", "first")
        if "source" in rule:
            table = self.study.source(rule["source"])
            if rule.get("column") not in table.columns:
                raise MappingError(
                    f"column '{rule.get('column')}' not in source '{rule['source']}'"
                    f"{yamlio.suggest(rule.get('column'), table.columns)}",
                    location,
                )
            source = self.study.sources[rule["source"]]
            subject = source.subject or self.study.subject_column
            ctx = MappingContext(study=self.study, file=file, document=document, rows=table, source_name=rule["source"])
            rows = table
            if "where" in rule:
                rows = table[expressions.condition(rule["where"], ctx, [*where, "where"])]
                ctx.rows = rows
            spec = {"iso8601": rule["column"], **({"formats": rule["formats"]} if "formats" in rule else {})}
            dtc = expressions.op_iso8601(spec, ctx, where)
            usubjid = rows[subject].astype(str).map(self.subject_table()["USUBJID"]).fillna("")
        elif "domain" in rule:
            if rule["domain"] not in self.domains:
                raise MappingError(
                    f"domain '{rule['domain']}' is not built (no mapping file for it)"
                    f"{yamlio.suggest(rule['domain'], self.domains)}",
                    location,
                )
            frame = self.domains[rule["domain"]].frame
            if rule.get("variable") not in frame.columns:
                raise MappingError(
                    f"variable '{rule.get('variable')}' not in {rule['domain']}"
                    f"{yamlio.suggest(rule.get('variable'), frame.columns)}",
                    location,
                )
            if "where" in rule:
                ctx = MappingContext(
                    study=self.study,
                    file=file,
                    document=document,
                    rows=frame,
                    values={c: frame[c] for c in frame.columns},
                )
                frame = frame[expressions.condition(rule["where"], ctx, [*where, "where"])]
            dtc, usubjid = frame[rule["variable"]].astype(str), frame["USUBJID"].astype(str)
        else:
            raise MappingError("a date rule needs 'source' + 'column' or 'domain' + 'variable'", location)
        return pick_per_subject(dtc, usubjid, pick, int(rule.get("add_days", 0)))
