"""build_sdtm: apply a study's mapping files to its source tables, in the order the data require.

1. every source domain's records and mapped variables (``from`` / ``parts``, each row traced to its
   source row);
2. DM's ``subject`` derivation steps (reference dates, arms, age);
3. literal-record domains (TS...), then trial design (TE, TA, TV, SE: ``mapping.design``);
4. each source domain's ``domain`` derivation steps (``mapping.derivations``: dose intervals, visit,
   standardize, toxicity grade, range indicator, study day, epoch, baseline, sequence), in the
   registry's order whatever their order in the file;
5. SV and the SE/SV timing variables; the ``check`` steps (plausible ranges) and the ``supp`` step
   (SUPP--) on every domain; 6. conformance to SDTMIG 3.4 and the metadata define.xml states.
Nothing here knows a study or a derivation: everything study-specific comes from the YAML, every
derivation from its registry entry."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import isodates, yamlio
from ..console import QUIET, Console
from ..datasets import Bundle
from ..derive import identifiers
from ..errors import InputError
from ..metadata.conform import apply_spec_to_bundle
from ..metadata.spec_xlsx import load_spec
from ..sources import ROW_ID
from ..stagemeter import stage
from . import derivations, expressions
from .algorithms.base import has_missing
from .context import MappingContext
from .design import design_domain, subject_element_timing, subject_visit_timing
from .loader import DomainMapping, load_mappings
from .metadata import assemble_bundle
from .records import records_domain
from .state import LINEAGE, BuildState, DomainBuild, VariableNote, doc
from .terminology import CTRecoder

__all__ = ["LINEAGE", "DomainBuild", "SdtmBuilder", "VariableNote", "build_sdtm"]


class SdtmBuilder(BuildState):
    """One build: map each domain's records, then run the derivation steps in the registry's order."""

    # ---- phase 1: records and variables ---------------------------------------------------------
    def source_rows(self, mapping: DomainMapping, part: dict, path: list) -> tuple[pd.DataFrame, str]:
        name = part["from"]
        rows = self.study.source(name).copy(deep=False)  # copy-on-write: a column is copied only if changed
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
                self.collect(exc)  # checking: note it, go on with the variable blank
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
                self.collect(exc)
                supp_values[qnam] = pd.Series("", index=rows.index, dtype=object)
            build.supp_notes.setdefault(qnam, self._variable_note(spec))
        frame = pd.DataFrame(ctx.values, index=rows.index, copy=False)  # copy-on-write: columns shared, not copied
        frame["SRCTABLE"] = name
        frame["SRCROW"] = rows[ROW_ID].to_numpy()
        frame["SRCPART"] = path[1] if path else 0
        return frame, rows, supp_values

    def build_source_domain(self, mapping: DomainMapping) -> DomainBuild:
        """Records from one source (``from``) or several stacked (``parts``), variables evaluated."""
        build = DomainBuild(name=mapping.domain, frame=pd.DataFrame(), mapping=mapping)
        build.note("STUDYID", "Assigned")
        build.note("DOMAIN", "Assigned")
        build.note("USUBJID", "Derived", doc(identifiers.usubjid), "USUBJID")
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
            values = frame[column]
            if str(values.dtype) == "str":  # already text: fill the gaps, no copy through object
                if has_missing(values):
                    frame[column] = values.fillna("")
            elif values.dtype == object:
                frame[column] = values.where(values.notna(), "").astype(str)
        if len(all_rows) > 1:
            # stacked sources: a message about a row must say which table it comes from
            sources = [part["from"] for _, part in mapping.parts()]
            rows = pd.concat([r.assign(SRCTABLE=s) for r, s in zip(all_rows, sources, strict=False)])
        else:
            rows = all_rows[0]
        rows = _blank_for_missing(rows)
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

    # ---- derivation steps ------------------------------------------------------------------
    def derive_subjects(self, dm: DomainBuild) -> None:
        """DM's ``subject`` steps: other domains need its reference dates and SE its arms."""
        derivations.run_phase("subject", self, dm)

    def derive_domain(self, build: DomainBuild) -> None:
        """A source domain's ``domain`` steps; a ``subject`` step declared outside DM is an error."""
        if build.name != "DM":
            for name in build.mapping.derivations():
                if derivations.DERIVATIONS[name].phase == "subject":
                    raise build.mapping.error(
                        build.mapping.derivation_path(name),
                        f"{name} derives DM variables; declare it in dm.yaml's 'derive:'",
                    )
        derivations.run_phase("domain", self, build)

    def check_domain(self, build: DomainBuild) -> None:
        """The ``check`` steps every domain gets (plausible ranges)."""
        derivations.run_phase("check", self, build)

    def supp_domains(self, build: DomainBuild) -> list[DomainBuild]:
        """The ``supp`` step: the SUPP-- domain of ``build`` when it has supplemental qualifiers."""
        return derivations.run_phase("supp", self, build)

    # ---- the whole build ------------------------------------------------------------------
    def attempt(self, domain: str, step, *args) -> None:
        """One step of ``domain``. Building: as is. Checking: a problem is recorded, the domain marked
        failed and the build goes on with the other domains (a failed domain's later steps would only
        repeat its problem in other words)."""
        if self.problems is None:
            step(*args)
            return
        if domain in self.failed:
            return
        before = len(self.problems)
        try:
            step(*args)
        except InputError as exc:
            self.collect(exc)
        if len(self.problems) > before:
            self.failed.add(domain)

    def build(self) -> dict[str, DomainBuild]:
        by_kind: dict[str, list[DomainMapping]] = {"source": [], "records": [], "design": []}
        for mapping in load_mappings(self.study):
            by_kind[mapping.kind].append(mapping)
        for mapping in by_kind["source"]:
            self.ui.debug(f"  {mapping.domain}: records from {', '.join(p['from'] for _, p in mapping.parts())}")
            self.attempt(
                mapping.domain, lambda m: self.domains.__setitem__(m.domain, self.build_source_domain(m)), mapping
            )
        if "DM" in self.domains:
            with stage("derive"):
                self.attempt("DM", self.derive_subjects, self.domains["DM"])
        if "DM" in self.failed:  # checking: every later step reads DM (reference dates, arms)
            return {}
        for mapping in by_kind["records"]:
            self.attempt(mapping.domain, lambda m: self.domains.__setitem__(m.domain, records_domain(self, m)), mapping)
        design = {m.document["design"]: m for m in by_kind["design"]}
        for kind in ("TE", "TA", "TV", "SE"):
            if kind in design:
                self.attempt(kind, lambda k: self.domains.__setitem__(k, design_domain(self, design[k])), kind)
        if "SE" in self.failed:  # checking: epochs are read from SE
            return {}
        for name, build in sorted(self.domains.items()):
            if build.mapping is not None and build.mapping.kind == "source":
                with stage("derive"):
                    self.attempt(name, self.derive_domain, build)
        if self.failed:  # checking: SV, SE (its days, SESEQ) and SUPP need every domain whole
            whole = {name: build for name, build in self.domains.items() if name not in self.failed | {"SE"}}
            for name in sorted(whole):
                self.attempt(name, self.check_domain, whole[name])
            return whole
        if "SV" in design:
            self.domains["SV"] = design_domain(self, design["SV"])
            subject_visit_timing(self, self.domains["SV"])
        if "SE" in self.domains:
            subject_element_timing(self, self.domains["SE"])
        for name in sorted(self.domains):
            self.attempt(name, self.check_domain, self.domains[name])
        for name in sorted(self.domains):
            for made in self.supp_domains(self.domains[name]):
                self.domains[made.name] = made
        return self.domains


def _blank_for_missing(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` as object columns with "" for missing; a column with nothing missing is not copied
    through ``where`` (source text columns never have anything missing)."""
    gaps = [column for column in rows.columns if has_missing(rows[column])]
    rows = rows.astype(object)
    for column in gaps:
        rows[column] = rows[column].where(rows[column].notna(), "")
    return rows


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


def build_sdtm(study, ct_file=None, ui: Console = QUIET) -> Bundle:
    """Apply the study's SDTM mappings: a Bundle of conformed datasets with full metadata and lineage."""
    terminology = CTRecoder.load(ct_file)
    builder = SdtmBuilder(study, terminology, ui)
    with isodates.remembering_dates():  # the derivations read each --DTC several times
        domains = builder.build()
    bundle = assemble_bundle(study, domains, terminology, builder.notes, ui)
    return apply_study_spec(study, bundle, ui)


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
