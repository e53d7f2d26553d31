"""build_sdtm: apply a study's mapping files to its source tables, in the order the data require.

1. every domain's records and mapped variables (sources, literal records);
2. DM's derivations (reference dates from EX and the sources, arms, age);
3. trial design (TE, TA, TV from study.yaml; SE from DM and the element start rules);
4. each domain's derivations: visit, standardize, toxicity grade, range indicator, study day,
   epoch, baseline flags, sequence;
5. SUPPxx, SV; 6. conformance to SDTMIG 3.4 and the metadata define.xml states.
Nothing here knows a study: everything study-specific comes from the YAML."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import yamlio
from ..console import QUIET, Console
from ..datasets import Bundle
from ..derive import age as age_rules
from ..derive import arms as arm_rules
from ..derive import baseline as baseline_rules
from ..derive import epoch as epoch_rules
from ..derive import (
    exposure,
    findings,
    identifiers,
    plausibility,
    sequence,
    study_day,
    supp,
    trial_design,
    visits,
)
from ..derive.reference_dates import REFERENCE_DATES, pick_per_subject
from ..errors import InputError, Location, MappingError, MetadataError
from ..metadata import standards
from ..metadata.conform import apply_spec_to_bundle
from ..metadata.spec_xlsx import load_spec
from ..sources import ROW_ID
from ..stagemeter import stage
from . import expressions
from .context import MappingContext
from .loader import DomainMapping, load_mappings
from .metadata import assemble_bundle
from .terminology import CTRecoder

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


def _doc(function) -> str:
    """A derivation's method text for define.xml: its docstring, which states the rule."""
    text = (function.__doc__ or function.__name__).strip()
    return " ".join(text.replace("``", "").split())


def _supp_path(document: dict, qnam: str) -> list:
    """Where a supplemental qualifier is declared: ``supp.QNAM``, or in the first part that declares it."""
    if qnam in (document.get("supp") or {}):
        return ["supp", qnam]
    for index, part in enumerate(document.get("parts") or []):
        if qnam in (part.get("supp") or {}):
            return ["parts", index, "supp", qnam]
    return ["supp"]


class SdtmBuilder:
    """Holds the state of one build; each phase is a method, run in the order of ``build``."""

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

    def _collect(self, exc: InputError) -> None:
        """Record a problem when checking; re-raise it when building."""
        if self.problems is None:
            raise exc
        self.problems.append(str(exc))

    # ---- subjects -------------------------------------------------------------------------
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

    # ---- phase 1: records and variables ---------------------------------------------------------
    def source_rows(self, mapping: DomainMapping, part: dict, path: list) -> tuple[pd.DataFrame, str]:
        name = part["from"]
        rows = self.study.source(name).copy()
        if "unpivot" in part:
            spec = part["unpivot"]
            missing = [c for c in spec["columns"] if c not in rows.columns]
            if missing:
                raise mapping.error(
                    [*path, "unpivot", "columns"],
                    f"column '{missing[0]}' not in source '{name}'{yamlio.suggest(missing[0], rows.columns)}",
                )
            keep = [c for c in rows.columns if c not in spec["columns"]]
            rows = rows.melt(id_vars=keep, value_vars=spec["columns"], var_name=spec["name"], value_name=spec["value"])
            if not spec.get("keep_blank", False):
                rows = rows[rows[spec["value"]].astype(str).str.strip() != ""]
            rows = rows.sort_values([ROW_ID], kind="mergesort").reset_index(drop=True)
        return rows, name

    def subject_ids(self, mapping: DomainMapping, part: dict, path: list, ctx: MappingContext) -> pd.Series:
        source = self.study.sources[ctx.source_name]
        column = part.get("subject") or source.subject or self.study.subject_column
        where = [*path, "subject"] if "subject" in part else [*path, "from"]
        if column not in ctx.rows.columns:
            raise mapping.error(
                where,
                f"source '{ctx.source_name}' has no subject column '{column}'; "
                f"name it with 'subject:'{yamlio.suggest(column, ctx.rows.columns)}",
            )
        raw = ctx.rows[column].astype(str)
        usubjid = raw.map(self.subject_table()["USUBJID"])
        unknown = usubjid.isna()
        if unknown.any():
            raise mapping.error(
                where,
                f"subject '{raw[unknown].iloc[0]}' ({ctx.row_numbers(unknown, 1)} of "
                f"'{ctx.source_name}') is not in the subjects table; correct the source",
            )
        return usubjid.astype(str)

    def build_part(self, mapping: DomainMapping, part: dict, path: list, build: DomainBuild):
        """The records and variables of one source part: (frame, rows, supp values)."""
        rows, name = self.source_rows(mapping, part, path)
        ctx = MappingContext(
            study=self.study, file=mapping.file, document=mapping.document, rows=rows, source_name=name, ct=self.ct
        )
        if "where" in part:
            keep = expressions.condition(part["where"], ctx, [*path, "where"])
            ctx.rows = rows = rows[keep]
        ctx.values.update(
            {
                "STUDYID": pd.Series(self.studyid, index=rows.index, dtype=object),
                "DOMAIN": pd.Series(mapping.domain, index=rows.index, dtype=object),
                "USUBJID": self.subject_ids(mapping, part, path, ctx),
            }
        )
        for variable, spec in (part.get("variables") or {}).items():
            try:
                ctx.values[variable] = expressions.evaluate(spec, ctx, [*path, "variables", variable])
            except InputError as exc:
                self._collect(exc)  # checking: note it, go on with the variable blank
                ctx.values[variable] = pd.Series("", index=rows.index, dtype=object)
            build.notes.setdefault(variable, self._variable_note(spec)).extend.update(_extensions(spec))
            codelists = _ct_names(spec)
            if codelists:
                build.part_codelists.setdefault(variable, {})[path[1] if path else 0] = codelists[0]
        supp_values = {}
        for qnam, spec in (part.get("supp") or {}).items():
            try:
                supp_values[qnam] = expressions.as_text(expressions.evaluate(spec, ctx, [*path, "supp", qnam]))
            except InputError as exc:
                self._collect(exc)
                supp_values[qnam] = pd.Series("", index=rows.index, dtype=object)
            build.supp_notes.setdefault(qnam, self._variable_note(spec))
        frame = pd.DataFrame(ctx.values, index=rows.index)
        frame["SRCTABLE"] = name
        frame["SRCROW"] = rows[ROW_ID].to_numpy()
        frame["SRCPART"] = path[1] if path else 0
        return frame, rows, supp_values

    def build_source_domain(self, mapping: DomainMapping) -> DomainBuild:
        """Records from one source (``from``) or several stacked (``parts``), variables evaluated."""
        build = DomainBuild(name=mapping.domain, frame=pd.DataFrame(), mapping=mapping)
        build.note("STUDYID", "Assigned")
        build.note("DOMAIN", "Assigned")
        build.note("USUBJID", "Derived", _doc(identifiers.usubjid), "USUBJID")
        frames, all_rows, supps = [], [], []
        for path, part in mapping.parts():
            frame, rows, supp_values = self.build_part(mapping, part, path, build)
            frames.append(frame)
            all_rows.append(rows)
            supps.append(supp_values)
        offsets = np.cumsum([0, *[len(f) for f in frames]])
        for i in range(len(frames)):
            index = pd.RangeIndex(offsets[i], offsets[i + 1])
            frames[i].index = all_rows[i].index = index
            for value in supps[i].values():
                value.index = index
        frame = pd.concat(frames) if len(frames) > 1 else frames[0]
        for column in frame.columns:
            if frame[column].dtype == object or str(frame[column].dtype) == "str":
                frame[column] = frame[column].astype(object).where(frame[column].notna(), "").astype(str)
        if len(all_rows) > 1:
            # stacked sources: a message about a row must say which table it comes from
            sources = [part["from"] for _, part in mapping.parts()]
            rows = pd.concat([r.assign(SRCTABLE=s) for r, s in zip(all_rows, sources, strict=False)])
        else:
            rows = all_rows[0]
        rows = rows.astype(object).where(rows.notna(), "")
        build.frame = frame
        build.ctx = MappingContext(
            study=self.study,
            file=mapping.file,
            document=mapping.document,
            rows=rows,
            source_name=" + ".join(p["from"] for _, p in mapping.parts()),
            ct=self.ct,
        )
        for qnam in build.supp_notes:
            pieces = [
                s.get(qnam, pd.Series("", index=f.index, dtype=object)) for s, f in zip(supps, frames, strict=False)
            ]
            build.supp_values[qnam] = pd.concat(pieces).astype(str)
        return build

    @staticmethod
    def _variable_note(spec) -> VariableNote:
        codelists = _ct_names(spec)
        origin = expressions.default_origin(spec)
        return VariableNote(
            origin=origin,
            source_party=spec.get("source_party"),
            # a Derived variable without a stated method gets its algorithm's method text
            method=expressions.method_text(spec) if origin == "Derived" else spec.get("method"),
            comment=spec.get("comment"),
            length=spec.get("length"),
            codelist=codelists[0] if codelists else None,
            extend=_extensions(spec),
            label=spec.get("label"),
            qeval=spec.get("qeval", ""),
        )

    def build_records_domain(self, mapping: DomainMapping) -> DomainBuild:
        """Literal rows (e.g. TS, TI): values as written, or a summary of a built dataset
        (``{first: DM.RFICDTC}``, ``{count: DM.USUBJID}``); STUDYID and DOMAIN added."""
        records = mapping.document["records"]
        summaries = {}
        rows = []
        for index, record in enumerate(records):
            row = {}
            for key, value in record.items():
                if isinstance(value, dict):
                    ((how, target),) = value.items()
                    row[key] = self.summary(how, target, mapping, ["records", index, key])
                    summaries[key] = f"{how} of {target}"
                else:
                    row[key] = "" if value is None else value if isinstance(value, str) else f"{value:g}"
            rows.append(row)
        frame = pd.DataFrame(rows)
        frame = frame.astype(object).where(frame.notna(), "")  # a key absent from a record is blank
        frame.insert(0, "STUDYID", self.studyid)
        frame.insert(1, "DOMAIN", mapping.domain)
        frame["SRCTABLE"] = f"sdtm/{mapping.path.name}"
        frame["SRCROW"] = np.arange(1, len(frame) + 1)
        build = DomainBuild(name=mapping.domain, frame=frame, mapping=mapping)
        for column in frame.columns:
            if column in LINEAGE:
                continue
            if column in summaries:
                build.note(
                    column,
                    "Derived",
                    f"Literal values, or a summary of the built data where stated (e.g. the {summaries[column]}).",
                    column,
                )
            else:
                build.note(column, "Assigned" if column in ("STUDYID", "DOMAIN") else "Protocol")
        return build

    def summary(self, how: str, target: str, mapping: DomainMapping, path: list) -> str:
        """first/last (ISO 8601 text sorts in time) or count of distinct values of DOMAIN.VARIABLE."""
        domain, variable = target.split(".")
        if domain not in self.domains or variable not in self.domains[domain].frame:
            raise mapping.error(
                path,
                f"{target} is not built before {mapping.domain}; summaries can use "
                f"{', '.join(sorted(self.domains))} variables",
            )
        values = self.domains[domain].frame[variable].astype(str)
        values = values[values != ""]
        if how == "count":
            return str(values.nunique())
        if values.empty:
            return ""
        return values.min() if how == "first" else values.max()

    # ---- phase 2: DM derivations ------------------------------------------------------------
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

    @staticmethod
    def _refuse_conflict(build: DomainBuild, column: str, derived: pd.Series) -> None:
        """A variable both mapped under ``variables:`` and derived must agree: a derivation never
        silently overwrites what the mapping says."""
        mapped = (build.mapping.document.get("variables") or {}) if build.mapping else {}
        if column not in mapped or column not in build.frame:
            return
        given = build.frame[column].astype(str)
        differs = given != derived.astype(str)
        if differs.any():
            first = differs[differs].index[0]
            raise build.mapping.error(
                ["variables", column],
                f"mapped value '{given[first]}' ({build.source_context().row_numbers(differs, 1)}) differs from the derived "
                f"'{derived[first]}'; map {column} or derive it, not both",
            )

    def derive_dm(self, dm: DomainBuild) -> None:
        derivations = dm.mapping.derivations()
        frame = dm.frame
        if "reference_dates" in derivations:
            rules = self.study.config.get("reference_dates", {}) or {}
            if not rules:
                raise dm.mapping.error(
                    dm.mapping.derivation_path("reference_dates"),
                    "reference_dates needs rules under 'reference_dates:' in study.yaml",
                )
            for variable in REFERENCE_DATES:
                if variable in rules:
                    dates = self.resolve_date_rule(
                        rules[variable], ["reference_dates", variable], self.study.file, self.study.config
                    )
                    frame[variable] = frame["USUBJID"].map(dates).fillna("").astype(str)
                    rule = rules[variable]
                    origin = "Collected" if "source" in rule and "pick" not in rule else "Derived"
                    text = rule.get("method") or _describe_rule(variable, rule)
                    dm.notes[variable] = VariableNote(origin=origin, method=text, method_name=variable)
        if "arm" in derivations:
            params = derivations["arm"]
            path = [*dm.mapping.derivation_path("arm"), "from"]
            raw = expressions.as_text(expressions.evaluate(params["from"], dm.source_context(), path))
            design = self.study.config.get("trial_design", {}) or {}
            if not design.get("arms"):
                raise dm.mapping.error(path, "arm needs 'trial_design: arms:' in study.yaml")
            assigned, unknown = arm_rules.planned_arm(raw, design["arms"])
            if unknown.any():
                known = ", ".join(a["ARMCD"] for a in design["arms"])
                raise dm.mapping.error(
                    path,
                    f"'{raw[unknown].iloc[0]}' ({dm.source_context().row_numbers(unknown, 1)}) matches "
                    f"no arm ({known}); add it to an arm's 'match' in study.yaml",
                )
            methods = dict.fromkeys(("ARMCD", "ARM"), _doc(arm_rules.planned_arm))
            treated = frame.get("RFXSTDTC", pd.Series("", index=frame.index)).astype(str) != ""
            if params["actual"] == "planned":
                actual = arm_rules.actual_arm_as_planned(assigned["ARMCD"], assigned["ARM"], treated)
                rule = arm_rules.actual_arm_as_planned
            else:
                actual_path = [*dm.mapping.derivation_path("arm"), "actual"]
                raw_actual = expressions.as_text(
                    expressions.evaluate(params["actual"], dm.source_context(), actual_path)
                )
                received, unknown = arm_rules.planned_arm(raw_actual, design["arms"])
                if unknown.any():
                    raise dm.mapping.error(
                        actual_path,
                        f"actual arm '{raw_actual[unknown].iloc[0]}' ({dm.source_context().row_numbers(unknown, 1)}) matches "
                        f"no arm ({', '.join(a['ARMCD'] for a in design['arms'])}); add it to an arm's 'match'",
                    )
                actual = arm_rules.actual_arm_from_data(assigned["ARMCD"], received)
                rule = arm_rules.actual_arm_from_data
            arms = pd.concat([assigned, actual], axis=1)
            screen_failure = pd.Series(False, index=frame.index)
            if "screen_failure" in params:
                sf_path = [*dm.mapping.derivation_path("arm"), "screen_failure"]
                screen_failure = expressions.condition(params["screen_failure"], dm.source_context(), sf_path)
            arms = arm_rules.arm_null_reason(arms, screen_failure)
            null_reason = f" {_doc(arm_rules.arm_null_reason)}" if "screen_failure" in params else ""
            methods.update(dict.fromkeys(actual.columns, _doc(rule) + null_reason))
            for column, method in methods.items():
                self._refuse_conflict(dm, column, arms[column])
                frame[column] = arms[column]
                if column in ("ARMCD", "ARM"):
                    origin = "Derived" if column == "ARM" or "map" in params["from"] else "Collected"
                    dm.notes[column] = VariableNote(origin=origin, method=method, method_name=column)
                else:
                    dm.note(column, "Derived", method, column)
        if "age" in derivations:
            params = derivations["age"]
            path = dm.mapping.derivation_path("age")
            for key in ("birth", "at"):
                if params[key] not in frame.columns:
                    raise dm.mapping.error(
                        [*path, key],
                        f"variable '{params[key]}' is not in DM{yamlio.suggest(params[key], frame.columns)}",
                    )
            frame["AGE"] = age_rules.age_in_years(frame[params["birth"]], frame[params["at"]])
            frame["AGEU"] = np.where(frame["AGE"].notna(), "YEARS", "")
            dm.notes["AGE"] = VariableNote(origin="Derived", method=_doc(age_rules.age_in_years), method_name="AGE")
            dm.note("AGEU", "Assigned")

    # ---- phase 3: trial design ----------------------------------------------------------------
    def design_frame(self, mapping: DomainMapping) -> DomainBuild:
        kind = mapping.document["design"]
        design = self.study.config.get("trial_design", {}) or {}
        if kind in ("TA", "TE", "SE") and not design.get("elements"):
            raise mapping.error(["design"], f"{kind} needs 'trial_design:' with arms and elements in study.yaml")
        if kind == "TE":
            frame = trial_design.trial_elements(design)
        elif kind == "TA":
            frame = trial_design.trial_arms(design)
        elif kind == "TV":
            if self.schedule.empty:
                raise mapping.error(["design"], "TV needs a visit schedule under 'visits:' in study.yaml")
            frame = trial_design.trial_visits(self.schedule)
        elif kind == "SE":
            frame = self.subject_elements(mapping)
        else:
            frame = self.subject_visits()
        frame = frame.copy()
        if "SRCTABLE" not in frame:
            frame["SRCTABLE"] = "study.yaml"
            frame["SRCROW"] = np.arange(1, len(frame) + 1)
        frame.insert(0, "STUDYID", self.studyid)
        frame.insert(1, "DOMAIN", kind)
        build = DomainBuild(name=kind, frame=frame, mapping=mapping)
        method = {"SE": _doc(trial_design.subject_elements), "SV": _doc(SdtmBuilder.subject_visits)}.get(kind)
        for column in frame.columns:
            if column in LINEAGE:
                continue
            if column in ("STUDYID", "DOMAIN"):
                build.note(column, "Assigned")
            elif kind in ("TA", "TE", "TV"):
                build.note(column, "Protocol")
            else:
                build.note(column, "Derived", method, column)
        return build

    def element_starts(self, mapping) -> dict[str, pd.Series]:
        design = self.study.config["trial_design"]
        starts = {}
        for index, element in enumerate(design["elements"]):
            starts[element["ETCD"]] = self.resolve_date_rule(
                element["start"], ["trial_design", "elements", index, "start"], self.study.file, self.study.config
            )
        return starts

    def subject_elements(self, mapping) -> pd.DataFrame:
        dm = self.domains.get("DM")
        if dm is None or "ACTARMCD" not in dm.frame:
            raise mapping.error(["design"], "SE needs DM with the 'arm' derivation (ACTARMCD)")
        frame = dm.frame.copy()
        if "RFPENDTC" not in frame:
            frame["RFPENDTC"] = ""
        se = trial_design.subject_elements(frame, self.study.config["trial_design"], self.element_starts(mapping))
        se["SRCTABLE"] = "DM"
        se["SRCROW"] = se["USUBJID"].map(dm.frame.set_index("USUBJID")["SRCROW"]).to_numpy()
        return se

    def subject_visits(self) -> pd.DataFrame:
        """SV: one record per subject and visit seen in any domain (SDTMIG 3.4 section 5.4)."""
        pieces = []
        for name, build in sorted(self.domains.items()):
            frame = build.frame
            if "VISITNUM" not in frame or name in ("SV", "TV"):
                continue
            date = next((c for c in (f"{name}DTC", f"{name}STDTC") if c in frame), None)
            if date is None:
                continue
            part = frame[["USUBJID", "VISITNUM", "VISIT", date, "SRCTABLE", "SRCROW"]].rename(columns={date: "DTC"})
            pieces.append(part[part["VISITNUM"].notna() & (part["DTC"].astype(str).str.len() >= 10)])
        if not pieces:
            return pd.DataFrame(columns=["USUBJID", "VISITNUM", "VISIT", "SVSTDTC", "SVENDTC", "SRCTABLE", "SRCROW"])
        seen = pd.concat(pieces, ignore_index=True)
        seen["DAY"] = seen["DTC"].astype(str).str.slice(0, 10)
        seen = seen.sort_values(["USUBJID", "VISITNUM", "DAY", "SRCTABLE", "SRCROW"], kind="mergesort")
        grouped = seen.groupby(["USUBJID", "VISITNUM"], sort=True)
        sv = grouped.agg(
            VISIT=("VISIT", "first"),
            SVSTDTC=("DAY", "min"),
            SVENDTC=("DAY", "max"),
            SRCTABLE=("SRCTABLE", "first"),
            SRCROW=("SRCROW", "first"),
        ).reset_index()
        scheduled = sv["VISITNUM"].isin(self.schedule["VISITNUM"])
        sv["SVUPDES"] = np.where(scheduled, "", "Unscheduled assessment")
        return sv[["USUBJID", "VISITNUM", "VISIT", "SVSTDTC", "SVENDTC", "SVUPDES", "SRCTABLE", "SRCROW"]]

    # ---- phase 4: per-domain derivations -------------------------------------------------
    def dm_column(self, variable: str, usubjid: pd.Series) -> pd.Series:
        dm = self.domains.get("DM")
        if dm is None or variable not in dm.frame:
            return pd.Series("", index=usubjid.index, dtype=object)
        return usubjid.map(dm.frame.set_index("USUBJID")[variable]).fillna("").astype(str)

    def derive_domain(self, build: DomainBuild) -> None:
        mapping, frame, prefix = build.mapping, build.frame, build.name
        derivations = mapping.derivations()
        if "dose_intervals" in derivations:
            frame = self._dose_intervals(build, derivations["dose_intervals"])
        ctx = build.source_context()
        ctx.values = {c: frame[c] for c in frame.columns}
        if "visit" in derivations:
            params = derivations["visit"]
            path = [*mapping.derivation_path("visit")]
            raw = expressions.as_text(expressions.evaluate(params["from"], ctx, [*path, "from"]))
            date_var = params.get("date", f"{prefix}DTC" if f"{prefix}DTC" in frame else f"{prefix}STDTC")
            dtc = frame[date_var] if date_var in frame else None
            assigned, unknown = visits.assign_visits(
                raw,
                frame["USUBJID"],
                dtc,
                self.schedule,
                (self.study.config.get("visits") or {}).get("unscheduled"),
                seen=pd.concat(self.seen_visits, ignore_index=True) if self.seen_visits else None,
            )
            if unknown.any():
                raise mapping.error(
                    [*path, "from"],
                    f"visit '{raw[unknown].iloc[0]}' ({ctx.row_numbers(unknown, 1)}) "
                    f"is not in the visit schedule of study.yaml; add it to a "
                    f"visit's 'match' or to 'unscheduled'",
                )
            frame["VISITNUM"], frame["VISIT"] = assigned["VISITNUM"], assigned["VISIT"]
            if dtc is not None:
                self.seen_visits.append(visits.scheduled_visits(frame["USUBJID"], dtc, frame["VISITNUM"]))
            build.note("VISITNUM", "Derived", _doc(visits.assign_visits), "VISITNUM")
            build.note("VISIT", "Derived", _doc(visits.assign_visits), "VISIT")
            if params.get("visitdy"):
                frame["VISITDY"] = visits.planned_study_day(frame["VISITNUM"], self.schedule)
                build.note("VISITDY", "Derived", _doc(visits.planned_study_day), "VISITDY")
        if "standardize" in derivations:
            self._standardize(build, derivations["standardize"])
        if "toxicity_grade" in derivations:
            params = derivations["toxicity_grade"]
            value = frame[f"{prefix}STRESN"] if f"{prefix}STRESN" in frame else pd.Series(np.nan, index=frame.index)
            low = frame.get(f"{prefix}STNRLO", pd.Series(np.nan, index=frame.index))
            high = frame.get(f"{prefix}STNRHI", pd.Series(np.nan, index=frame.index))
            frame[f"{prefix}TOXGR"] = findings.toxicity_grade(value, frame[params["by"]], low, high, params["grades"])
            thresholds = "; ".join(
                f"{test}: {spec['direction']} {spec['thresholds']}" for test, spec in params["grades"].items()
            )
            build.notes[f"{prefix}TOXGR"] = VariableNote(
                origin="Derived",
                method_name=f"{prefix}TOXGR",
                method=f"{_doc(findings.toxicity_grade)} Criteria: {params['criteria']}; thresholds "
                f"(grades 1..n, standard units): {thresholds}.",
            )
        if "reference_range_indicator" in derivations:
            value = frame.get(f"{prefix}STRESN", pd.Series(np.nan, index=frame.index))
            low = frame.get(f"{prefix}STNRLO", pd.Series(np.nan, index=frame.index))
            high = frame.get(f"{prefix}STNRHI", pd.Series(np.nan, index=frame.index))
            frame[f"{prefix}NRIND"] = findings.reference_range_indicator(value, low, high)
            build.note(f"{prefix}NRIND", "Derived", _doc(findings.reference_range_indicator), f"{prefix}NRIND")
        if "study_day" in derivations:
            reference = derivations["study_day"].get("reference", "RFSTDTC")
            rfstdtc = self.dm_column(reference, frame["USUBJID"])
            for dtc, dy in _day_pairs(prefix, frame.columns, _ig_variables(prefix)):
                frame[dy] = study_day.study_day(frame[dtc], rfstdtc)
                build.note(dy, "Derived", f"{_doc(study_day.study_day)} Reference: DM.{reference}.", dy)
        if "epoch" in derivations:
            date_var = derivations["epoch"].get("date") or next(
                (c for c in (f"{prefix}STDTC", f"{prefix}DTC") if c in frame), None
            )
            if date_var is None or "SE" not in self.domains:
                raise mapping.error(
                    mapping.derivation_path("epoch"),
                    "epoch needs a --STDTC/--DTC variable and an SE mapping (design: SE)",
                )
            frame["EPOCH"] = epoch_rules.epoch(frame["USUBJID"], frame[date_var], self.domains["SE"].frame)
            build.note("EPOCH", "Derived", _doc(epoch_rules.epoch), "EPOCH")
        if "baseline" in derivations:
            params = derivations["baseline"]
            date_var = params.get("date", f"{prefix}DTC")
            result = params.get("result", f"{prefix}ORRES")
            reference = self.dm_column(params.get("reference", "RFXSTDTC"), frame["USUBJID"])
            has_result = frame[result].astype(str).str.strip() != ""
            flags = params.get("flags", ["LOBXFL"])
            if "BLFL" in flags and "blfl" not in params:
                raise mapping.error(
                    mapping.derivation_path("baseline"),
                    f"flags lists BLFL but the baseline definition is missing: add 'blfl: LOBXFL' "
                    f"when {prefix}BLFL marks the same records as {prefix}LOBXFL",
                )
            flag = baseline_rules.last_observation_before_exposure(frame, params["by"], date_var, reference, has_result)
            for which in flags:
                if which == "LOBXFL":
                    frame[f"{prefix}{which}"] = flag
                    method = _doc(baseline_rules.last_observation_before_exposure)
                else:
                    frame[f"{prefix}{which}"] = baseline_rules.baseline_flag_from_lobxfl(flag)
                    method = _doc(baseline_rules.baseline_flag_from_lobxfl)
                build.note(f"{prefix}{which}", "Derived", method, f"{prefix}{which}")

    @staticmethod
    def _dose_intervals(build: DomainBuild, params: dict) -> pd.DataFrame:
        """Collapse the records into constant dosing intervals; the source rows and SUPP values follow."""
        prefix, path = build.name, build.mapping.derivation_path("dose_intervals")
        start, end = params.get("start", f"{prefix}STDTC"), params.get("end", f"{prefix}ENDTC")
        names = [*(("by", n) for n in params["by"]), *(("within", n) for n in params.get("within", []))]
        for key, name in [*names, ("start", start), ("end", end)]:
            if name not in build.frame:
                raise build.mapping.error(
                    [*path, key], f"'{name}' is not a variable of {prefix}{yamlio.suggest(name, build.frame.columns)}"
                )
        kept, begins, ends = exposure.constant_dose_intervals(
            build.frame, list(params["by"]), start, end, int(params.get("gap_days", 1)), params.get("within")
        )
        frame = build.frame.loc[kept].copy()
        frame[start], frame[end] = begins, ends
        build.frame = frame
        context = build.source_context()
        context.rows = context.rows.loc[kept]
        build.supp_values = {q: values.loc[kept] for q, values in build.supp_values.items()}
        method = f"{_doc(exposure.constant_dose_intervals)} Same values of: {', '.join(params['by'])}."
        for column in (start, end):
            build.notes[column] = VariableNote(origin="Derived", method=method, method_name=column)
        return frame

    def _unit_key(self, units: pd.Series) -> pd.Series:
        """A unit as the CT UNIT submission value when CT knows it ("bpm" -> "BEATS/MIN"), else as
        written, upper case: a conversion matches whatever case or ``ct:`` recode the unit went through."""
        try:
            recoded = self.ct.ct.recode_values("UNIT", units.astype(str))
        except MetadataError:  # a CT file without the UNIT codelist: compare as written
            recoded = pd.Series(None, index=units.index, dtype=object)
        return recoded.where(recoded.notna(), units).astype(str).str.strip().str.upper()

    def _standardize(self, build: DomainBuild, params: dict) -> None:
        frame, prefix, mapping = build.frame, build.name, build.mapping
        path = mapping.derivation_path("standardize")
        for needed in (f"{prefix}ORRES", f"{prefix}ORRESU", params["by"]):
            if needed not in frame:
                raise mapping.error(path, f"standardize needs {needed}; map it under 'variables:'")
        result = findings.standardize_results(
            frame[f"{prefix}ORRES"],
            frame[f"{prefix}ORRESU"],
            frame[params["by"]],
            params.get("units", {}),
            params.get("below_limit", "<"),
            self._unit_key,
        )
        unknown = result["UNKNOWN_UNIT"]
        if unknown.any():
            test = frame.loc[unknown, params["by"]].iloc[0]
            unit = frame.loc[unknown, f"{prefix}ORRESU"].iloc[0]
            raise mapping.error(
                [*path, "units"],
                f"no conversion factor from '{unit}' for {test} "
                f"({build.source_context().row_numbers(unknown, 1)}); add it to that test's 'factors'",
            )
        method = _doc(findings.standardize_results)
        factors = "; ".join(
            f"{t}: {s['unit']} {dict(s.get('factors') or {})}" for t, s in params.get("units", {}).items()
        )
        for part in ("STRESC", "STRESN", "STRESU"):
            frame[f"{prefix}{part}"] = result[part]
            build.notes[f"{prefix}{part}"] = VariableNote(
                origin="Derived", method_name=f"{prefix}{part}", method=f"{method} Factors: {factors}."
            )
        for orig, std in (("ORNRLO", "STNRLO"), ("ORNRHI", "STNRHI")):
            if f"{prefix}{orig}" in frame:
                numbers = pd.to_numeric(frame[f"{prefix}{orig}"].astype(str).replace("", None), errors="coerce")
                frame[f"{prefix}{std}"] = result["CONVERT"](numbers).astype("float64").round(10)
                build.note(
                    f"{prefix}{std}",
                    "Derived",
                    f"{prefix}{orig} converted with the factor of {prefix}STRESU",
                    f"{prefix}{std}",
                )

    def derive_sequence(self, build: DomainBuild) -> None:
        derivations = build.mapping.derivations() if build.mapping else {}
        if "seq" not in derivations:
            return
        prefix = build.name
        explicit = derivations["seq"].get("order")
        order = explicit or [
            k for k in build.mapping.document.get("keys", []) if k not in ("STUDYID", "USUBJID", f"{prefix}SEQ")
        ]
        missing = [k for k in order if k not in build.frame]
        if missing:
            suggestion = yamlio.suggest(missing[0], [c for c in build.frame.columns if c not in LINEAGE])
            if not explicit:  # the order comes from 'keys': say so there
                raise build.mapping.error(["keys"], f"key {missing[0]} is not a variable of {prefix}{suggestion}")
            raise build.mapping.error(
                build.mapping.derivation_path("seq"),
                f"cannot order by '{missing[0]}': not a variable of {prefix}{suggestion}",
            )
        build.frame[f"{prefix}SEQ"] = sequence.sequence_number(build.frame, [*order, "SRCROW"])
        build.note(
            f"{prefix}SEQ",
            "Derived",
            f"{_doc(sequence.sequence_number)} Order: {', '.join(order) or 'source row'}.",
            f"{prefix}SEQ",
        )

    # ---- phase 5: SUPP --------------------------------------------------------------------
    def supp_domain(self, build: DomainBuild) -> DomainBuild | None:
        if not build.supp_values:
            return None
        idvar = None if build.name == "DM" else f"{build.name}SEQ"
        if idvar and idvar not in build.frame:
            raise build.mapping.error(
                ["supp"], f"SUPP{build.name} needs {idvar} to point at its parent records; add 'seq' to 'derive:'"
            )
        labels = {q: n.label for q, n in build.supp_notes.items()}
        origins = {q: n.origin for q, n in build.supp_notes.items()}
        evaluators = {q: n.qeval for q, n in build.supp_notes.items()}
        try:
            frame = supp.supplemental_qualifiers(
                build.frame, build.name, build.supp_values, labels, origins, evaluators, idvar
            )
        except supp.QualifierError as error:
            raise build.mapping.error(_supp_path(build.mapping.document, error.qnam), str(error)) from None
        name = f"SUPP{build.name}"
        result = DomainBuild(name=name, frame=frame, mapping=build.mapping)
        for column in frame.columns:
            if column in LINEAGE:
                continue
            if column in ("STUDYID", "RDOMAIN", "IDVAR", "QNAM", "QLABEL", "QORIG", "QEVAL"):
                result.note(column, "Assigned")
            else:
                result.note(
                    column,
                    "Derived",
                    f"{column} of the parent {build.name} record ({_doc(supp.supplemental_qualifiers)})",
                    column,
                )
        result.notes["QVAL"] = VariableNote(origin="Collected")
        return result

    # ---- the whole build ------------------------------------------------------------------
    def check_ranges(self, build: DomainBuild) -> None:
        """Numeric variables within their plausible range (default AGE 0-130; study.yaml ``plausibility:
        ranges:``); the first record outside is an error naming its source row."""
        for variable, (low, high) in plausibility.value_ranges(self.study.config).items():
            if variable not in build.frame.columns:
                continue
            outside = plausibility.outside_range(build.frame[variable], low, high)
            if not outside.any():
                continue
            first = build.frame[outside].iloc[0]
            where = f"row {int(first['SRCROW'])}" if "SRCROW" in first.index else "a record"
            if "SRCTABLE" in first.index and first["SRCTABLE"]:
                where += f" of '{first['SRCTABLE']}'"
            count = int(outside.sum())
            more = f" ({count} records in all)" if count > 1 else ""
            limits = f"{'' if low is None else f'{low:g}'}-{'' if high is None else f'{high:g}'}"
            message = (
                f"{build.name} {variable} = {float(pd.to_numeric(first[variable])):g} ({where}) is outside the plausible range "
                f"{limits}{more}; correct the source, or if it is right set 'plausibility: ranges: {variable}:' "
                f"in study.yaml"
            )
            path = ["variables", variable]
            if build.mapping is not None:
                if variable not in (build.mapping.document.get("variables") or {}):
                    path = ["derive"] if "derive" in build.mapping.document else []
                raise build.mapping.error(path, message)
            raise MappingError(message, Location(self.study.file))

    def build(self) -> dict[str, DomainBuild]:
        mappings = load_mappings(self.study)
        by_kind: dict[str, list[DomainMapping]] = {"source": [], "records": [], "design": []}
        for mapping in mappings:
            by_kind[mapping.kind].append(mapping)
        for mapping in by_kind["source"]:
            self.ui.debug(f"  {mapping.domain}: records from {', '.join(p['from'] for _, p in mapping.parts())}")
            try:
                self.domains[mapping.domain] = self.build_source_domain(mapping)
            except InputError as exc:
                self._collect(exc)
        if self.problems:  # checking: later phases would only repeat these problems in other words
            return self.domains
        if "DM" in self.domains:
            with stage("derive"):
                self.derive_dm(self.domains["DM"])
        for mapping in by_kind["records"]:
            self.domains[mapping.domain] = self.build_records_domain(mapping)
        design = {m.document["design"]: m for m in by_kind["design"]}
        for kind in ("TE", "TA", "TV", "SE"):
            if kind in design:
                self.domains[kind] = self.design_frame(design[kind])
        for _name, build in sorted(self.domains.items()):
            if build.mapping is not None and build.mapping.kind == "source":
                with stage("derive"):
                    self.derive_domain(build)
                    self.derive_sequence(build)
        if "SV" in design:
            self.domains["SV"] = self.design_frame(design["SV"])
            sv = self.domains["SV"]
            rfstdtc = self.dm_column("RFSTDTC", sv.frame["USUBJID"])
            sv.frame["SVSTDY"] = study_day.study_day(sv.frame["SVSTDTC"], rfstdtc)
            sv.frame["SVENDY"] = study_day.study_day(sv.frame["SVENDTC"], rfstdtc)
            if "SE" in self.domains:
                sv.frame["EPOCH"] = epoch_rules.epoch(
                    sv.frame["USUBJID"], sv.frame["SVSTDTC"], self.domains["SE"].frame
                )
        if "SE" in self.domains:
            se = self.domains["SE"]
            rfstdtc = self.dm_column("RFSTDTC", se.frame["USUBJID"])
            se.frame["SESTDY"] = study_day.study_day(se.frame["SESTDTC"], rfstdtc)
            se.frame["SEENDY"] = study_day.study_day(se.frame["SEENDTC"], rfstdtc)
            se.frame["SESEQ"] = sequence.sequence_number(se.frame, ["SESTDTC", "TAETORD"])
        for name in sorted(self.domains):
            self.check_ranges(self.domains[name])
        for name in sorted(self.domains):
            supp_build = self.supp_domain(self.domains[name])
            if supp_build is not None:
                self.domains[supp_build.name] = supp_build
        return self.domains


def _nested(spec) -> list[dict]:
    """An expression and every expression inside it (when/else/coalesce branches)."""
    found = [spec]
    for branch in spec.get("when", []) or []:
        found += _nested(branch["then"])
    if "else" in spec:
        found += _nested(spec["else"])
    for item in spec.get("coalesce", []) or []:
        found += _nested(item)
    return found


def _extensions(spec) -> dict:
    """Sponsor terms declared with ``extend`` anywhere in an expression."""
    declared: dict = {}
    for part in _nested(spec):
        declared.update(part.get("extend") or {})
    return declared


def _ct_names(spec) -> list[str]:
    """The CT codelists an expression recodes to, at any depth (when/else/coalesce branches)."""
    found = [spec["ct"]] if "ct" in spec else []
    for branch in spec.get("when", []) or []:
        found += _ct_names(branch["then"])
    for key in ("else",):
        if key in spec:
            found += _ct_names(spec[key])
    for item in spec.get("coalesce", []) or []:
        found += _ct_names(item)
    return found


def _describe_rule(variable: str, rule: dict) -> str:
    where = f"{rule['source']}.{rule['column']}" if "source" in rule else f"{rule.get('domain')}.{rule.get('variable')}"
    text = f"{variable} = the {rule.get('pick', 'first')} value of {where} per subject"
    if "where" in rule:
        text += " among records meeting the study's condition"
    if rule.get("add_days"):
        text += f", plus {rule['add_days']} day(s)"
    return text + "."


def _ig_variables(domain: str) -> set[str] | None:
    """The variables SDTMIG 3.4 lists for ``domain`` (None when the IG has no such domain)."""
    try:
        return set(standards.sdtm_dataset(domain).variable_names)
    except MetadataError:
        return None


def _day_pairs(prefix: str, columns, allowed: set[str] | None = None) -> list[tuple[str, str]]:
    """(--DTC, --DY), (--STDTC, --STDY), (--ENDTC, --ENDY) present in the domain (SDTMIG 3.4 4.4.4),
    for the --DY variables the domain has in the IG: AE has AEDTC but no AEDY, so a mapped AEDTC
    gets no study day rather than stopping the build."""
    pairs = []
    for dtc, dy in (
        (f"{prefix}DTC", f"{prefix}DY"),
        (f"{prefix}STDTC", f"{prefix}STDY"),
        (f"{prefix}ENDTC", f"{prefix}ENDY"),
    ):
        if dtc in columns and (allowed is None or dy in allowed):
            pairs.append((dtc, dy))
    return pairs


def build_sdtm(study, ct_file=None, ui: Console = QUIET) -> Bundle:
    """Apply the study's SDTM mappings: a Bundle of conformed datasets with full metadata and lineage."""
    terminology = CTRecoder.load(ct_file)
    builder = SdtmBuilder(study, terminology, ui)
    domains = builder.build()
    bundle = assemble_bundle(study, domains, terminology, builder.notes, ui)
    return apply_study_spec(study, bundle, ui)


def check_sdtm(study, ct_file=None, limit: int = 50) -> list[str]:
    """Every problem a build of the study's SDTM would meet, without writing anything: all variables
    of all source domains are applied, each failing one reported (file:line, source row, field); when
    they all apply, the rest of the build runs and its first problem is reported. At most ``limit``."""
    terminology = CTRecoder.load(ct_file)
    builder = SdtmBuilder(study, terminology)
    builder.problems = []
    try:
        domains = builder.build()
        if not builder.problems:
            apply_study_spec(study, assemble_bundle(study, domains, terminology, builder.notes, QUIET))
    except InputError as exc:
        builder.problems.append(str(exc))
    problems = list(dict.fromkeys(builder.problems))
    if len(problems) > limit:
        problems = [*problems[:limit], f"... and {len(problems) - limit} more problems (the first {limit} are shown)"]
    return problems


def apply_study_spec(study, bundle: Bundle, ui: Console = QUIET) -> Bundle:
    """The bundle with the study's imported spec applied (``mappings/<S>/spec/<standard>.json``, written by
    ``sdtmify spec import``): labels, origins, methods, comments and lengths it declares, checked against
    the data (see :func:`sdtmify.metadata.conform.apply_declared_metadata`). No spec: the bundle as built."""
    spec = load_spec(study.folder, bundle.standard)
    if spec is None:
        return bundle
    source = yamlio.display_path(study.folder / "spec" / f"{bundle.standard.lower()}.json")
    notes = apply_spec_to_bundle(bundle, spec, source)
    ui.debug(f"  applied {source}" + (f" ({len(notes)} notes)" if notes else ""))
    return bundle
