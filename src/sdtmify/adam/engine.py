"""``build_adam``: ADaM datasets from the SDTM Bundle, as ``mappings/<STUDY>/adam/*.yaml`` declare them.

Each dataset's steps run in order. A step that reads another ADaM dataset waits until that dataset
is complete, with one exception that makes the usual ADSL <-> ADRS loop work: when ADSL itself waits
for dataset X (e.g. the best overall response from ADRS), X reads ADSL as it stands (treatment dates
and flags derived so far); ADSL then finishes once X is complete. Any other cycle is an error."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..console import QUIET, Console
from ..datasets import BuiltDataset, Bundle
from ..distinct import sort_order
from ..errors import InputError, Location
from ..mapping.engine import apply_study_spec
from ..metadata.ct import load_ct
from ..metadata.model import Comment, Dataset, Method, StudyMetadata
from ..metadata.oids import codelist_oid, comment_oid
from ..metadata.standards import ADAM_OCCDSIG, ADAMIG
from . import metadata as meta
from .checks import AdamError
from .merge import as_char
from .spec import DatasetSpec, load_specs
from .steps import STEPS, Context, method_text, references

SUBJECT_LEVEL = "ADSL"


@dataclass
class _State:
    spec: DatasetSpec
    ctx: Context
    frame: pd.DataFrame | None = None
    next_step: int = 0
    assigned: set = field(default_factory=set)
    failed: bool = False  # checking: a step failed, or read a dataset whose step failed

    @property
    def done(self) -> bool:
        return self.next_step >= len(self.spec.steps)

    @property
    def built(self) -> pd.DataFrame:
        """The records the steps have produced so far (the first step creates them)."""
        if self.frame is None:
            raise AdamError(f"{self.spec.name}: no step has produced records", Location(self.spec.file, 1, "steps"))
        return self.frame


def with_lineage(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """An SDTM frame with the hidden lineage columns every derived record inherits."""
    return frame.assign(_SRCTABLE=name, _SRCROW=np.arange(1, len(frame) + 1, dtype="float64"))


def _run_step(state: _State, index: int) -> None:
    step = state.spec.steps[index]
    entry = STEPS[step.name]
    before = set(state.frame.columns) if state.frame is not None else set()
    current = state.frame if state.frame is not None else pd.DataFrame()
    try:
        produced = entry.apply(state.ctx, current, step.args)
    except AdamError as exc:
        if exc.location is not None:
            raise
        raise AdamError(exc.bare_message, Location(state.spec.file, step.line, f"steps[{index}].{step.name}")) from None
    if entry.appends and state.frame is not None:
        produced = pd.concat([current, produced], ignore_index=True)
        for name in produced.columns:
            if produced[name].dtype == object or pd.api.types.is_string_dtype(produced[name]):
                produced[name] = as_char(produced[name])
    text = entry.describe(step.args) if entry.describe else method_text(entry.function, step.args)
    for name in produced.columns:
        if name not in before and not name.startswith("_"):
            state.ctx.methods.setdefault(name, text)
            if name in ("PARAMCD", "PARAM") and ("paramcd" in step.args or "param" in step.args):
                state.assigned.add(name)
    state.frame = produced


def _blocked_on(state: _State, states: dict[str, _State]) -> str | None:
    """The ADaM dataset the next step must wait for, if any."""
    step = state.spec.steps[state.next_step]
    for name in sorted(references(step.name, step.args) - {state.spec.name}):
        other = states.get(name)
        if other is None or other.done:
            continue
        # The ADSL <-> BDS loop: ADSL waits for this dataset, so this dataset reads ADSL as it stands.
        if name == SUBJECT_LEVEL and other.frame is not None and _blocked_on(other, states) == state.spec.name:
            continue
        return name
    return None


def run_steps(
    specs: list[DatasetSpec],
    frames: dict[str, pd.DataFrame],
    ui: Console = QUIET,
    data_cutoff: str | None = None,
    problems: list[str] | None = None,
) -> dict[str, _State]:
    """Run every dataset's steps, interleaving datasets as their dependencies allow. ``data_cutoff``
    (ISO 8601 date, study.yaml ``study.data_cutoff``) reaches every step that reads dated events.
    ``problems`` (``sdtmify check``): a failing step is recorded there instead of raised, its dataset
    stops, and so does every dataset whose steps read it (their problem would be the same one)."""
    states = {spec.name: _State(spec, Context(spec.name, frames, data_cutoff=data_cutoff)) for spec in specs}
    progress = True
    while progress and not all(s.done for s in states.values()):
        progress = False
        for state in states.values():
            while not state.done and _blocked_on(state, states) is None:
                _attempt_step(state, states, problems)
                state.next_step += 1
                frames[state.spec.name] = state.frame
                progress = True
            if state.done and not state.failed:
                ui.debug(f"  {state.spec.name}: {len(state.built)} records")
    waiting: dict[str, str] = {}  # dataset -> the dataset it waits for
    for name, s in states.items():
        other = None if s.done else _blocked_on(s, states)
        if other is not None:
            waiting[name] = other
    if waiting:
        name, other = next(iter(waiting.items()))
        state = states[name]
        step = state.spec.steps[state.next_step]
        raise AdamError(
            f"{step.name} reads {other}, which is waiting for {waiting.get(other) or 'nothing'}: "
            f"the datasets depend on each other in a cycle; move the step or split the derivation",
            Location(state.spec.file, step.line, f"steps[{state.next_step}]"),
        )
    return states


def _attempt_step(state: _State, states: dict[str, _State], problems: list[str] | None) -> None:
    """The next step of ``state``; when checking, a problem stops its dataset instead of the run."""
    if problems is None:
        _run_step(state, state.next_step)
        return
    step = state.spec.steps[state.next_step]
    reads = references(step.name, step.args) - {state.spec.name}
    try:
        if not any(states[name].failed for name in reads if name in states):
            _run_step(state, state.next_step)
            return
    except InputError as exc:
        problems.append(str(exc))
    state.failed = True
    state.next_step = len(state.spec.steps) - 1  # done once the caller moves past this step


def check_adam(study, sdtm: Bundle) -> list[str]:
    """Every problem of building the study's ADaM on ``sdtm`` in memory, nothing written
    (``sdtmify check``): each dataset runs until its first failing step; the datasets that read a
    failed one stop there too; the others are finished (typed, described) and their problems added."""
    specs = load_specs(study.folder / "adam")
    frames = {name: with_lineage(ds.frame, name) for name, ds in sdtm.datasets.items()}
    problems: list[str] = []
    try:
        states = run_steps(specs, frames, data_cutoff=_data_cutoff(study), problems=problems)
    except InputError as exc:  # a dependency cycle: nothing more can run
        return [*problems, str(exc)]
    lookup = meta.Lookup(sdtm=sdtm.metadata, adam={})
    for spec in _finish_order(specs):
        if states[spec.name].failed:
            continue
        try:
            finish(states[spec.name], lookup, frames, {})
        except InputError as exc:
            problems.append(str(exc))
    return problems


def _typed(frame: pd.DataFrame, variable) -> pd.Series:
    """The column as the writers expect it: text with "" for missing, or float64 numbers
    (a Num variable holding text was refused when its metadata was built)."""
    values = frame[variable.name]
    if variable.type == "Char":
        return as_char(values)
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    return pd.to_numeric(values.where(values != ""), errors="coerce").astype("float64")


def _check_not_applicable(spec, template_required: list[str], declared: set[str]) -> None:
    """A study may leave out an ADaMIG-required variable its analysis does not use (TRT01P in a
    single-arm study analysed without a planned treatment), saying why under ``not_applicable``;
    the name must be a required variable of the class template and must not also be declared."""
    for name in spec.not_applicable:
        if name not in template_required:
            raise AdamError(
                f"{name} is not a required variable of an ADaMIG {spec.cls} dataset; 'not_applicable' lists only "
                f"those (required: {', '.join(template_required)})",
                Location(spec.file, spec.not_applicable_lines.get(name), f"not_applicable.{name}"),
            )
        if name in declared:
            raise AdamError(
                f"{name} is both declared in 'variables' and listed as not applicable; keep one",
                Location(spec.file, spec.not_applicable_lines.get(name), f"not_applicable.{name}"),
            )


def finish(
    state: _State, lookup: meta.Lookup, frames: dict[str, pd.DataFrame], methods: dict[str, Method]
) -> BuiltDataset:
    """Sort by the keys, keep the declared variables in their order, type them, describe them."""
    spec, ctx, frame = state.spec, state.ctx, state.built
    missing = [v for v in spec.variables if v.name not in frame.columns]
    if missing:
        first = missing[0]
        raise AdamError(
            f"{first.name} is not derived by any step; add a step that derives it or remove it from 'variables'",
            Location(spec.file, first.line, f"variables.{first.name}"),
        )
    template, template_vars = meta.template_variables(spec)
    declared = {v.name for v in spec.variables}
    template_required = [v.name for v in template.variables if v.core == "Req"]
    _check_not_applicable(spec, template_required, declared)
    required = [n for n in template_required if n not in declared and n not in spec.not_applicable]
    if required:
        raise AdamError(
            f"{', '.join(required)} {'is' if len(required) == 1 else 'are'} required in every ADaMIG "
            f"{spec.cls} dataset; add {'it' if len(required) == 1 else 'them'} to 'variables'",
            Location(spec.file, spec.variables_line, "variables"),
        )
    keys = [k for k in spec.keys if k in frame.columns]
    # Sort the keys alone, then move only the declared variables and the lineage: the steps leave
    # helper and SDTM columns behind, and moving each costs a pass over every record.
    # the order of sort_values(keys, kind="stable", na_position="first"), with less work
    ranked = sort_order(frame, keys, missing_first=True)
    kept = [*dict.fromkeys(v.name for v in spec.variables), *(c for c in ("_SRCTABLE", "_SRCROW") if c in frame)]
    frame = frame[kept].reset_index(drop=True)
    if not np.array_equal(ranked, np.arange(len(frame))):  # SDTM comes sorted, so an ADaM dataset often is
        frame = frame.take(ranked).reset_index(drop=True)
    variables = []
    for order, vspec in enumerate(spec.variables, start=1):
        described = ctx.predecessors.get(vspec.name)
        predecessor = lookup.predecessor(described, frames) if described else None
        variable = meta.variable_meta(vspec, order, frame, template_vars, predecessor, spec)
        origin, method = meta.origin_of(vspec.name, ctx, spec.name, state.assigned)
        if method:
            if not ctx.methods.get(vspec.name):
                raise AdamError(
                    f"{vspec.name} is derived but no step states how; add a 'description' to the step that derives it",
                    Location(spec.file, vspec.line, f"variables.{vspec.name}"),
                )
            methods[method] = Method(
                oid=method, name=f"Algorithm for {spec.name}.{vspec.name}", description=ctx.methods[vspec.name]
            )
        variables.append(replace(variable, origin=origin, method=method))
    # copy=False: the typed columns are new or shared copy-on-write; a copy would double the memory.
    out = pd.DataFrame({v.name: _typed(frame, v) for v in variables}, copy=False)
    if "PARAMCD" in out.columns:
        variables = [_with_param_metadata(v, spec.name, out, ctx, methods) for v in variables]
    key_seq = {name: index for index, name in enumerate(keys, start=1)}
    variables = [replace(v, key_sequence=key_seq.get(v.name)) for v in variables]
    dataset = Dataset(
        name=spec.name,
        label=spec.label,
        purpose="Analysis",
        standard_oid=template.standard_oid,
        class_=template.class_,
        subclass=template.subclass,
        structure=spec.structure or template.structure,
        repeating=template.repeating,
        keys=tuple(keys),
        variables=tuple(variables),
        leaf=f"{spec.name.lower()}.xpt",
    )
    lineage = pd.DataFrame(
        {
            "SRCTABLE": as_char(frame["_SRCTABLE"]) if "_SRCTABLE" in frame else "",
            "SRCROW": frame["_SRCROW"].astype("float64") if "_SRCROW" in frame else np.nan,
        },
        index=frame.index,
        copy=False,
    )
    lookup.adam[spec.name] = dataset
    return BuiltDataset(frame=out, meta=dataset, lineage=lineage)


def _with_param_metadata(variable, dataset: str, frame: pd.DataFrame, ctx: Context, methods: dict[str, Method]):
    changes: dict[str, Any] = {}
    if variable.name == "PARAMCD":
        changes["codelist"] = codelist_oid(f"{dataset}.PARAMCD")
    elif variable.name == "PARAM":
        changes["codelist"] = codelist_oid(f"{dataset}.PARAM")
    elif variable.name in meta.PARAM_VARIABLES and ctx.params:
        changes["value_levels"] = meta.value_levels(dataset, variable, frame, ctx, methods)
    return replace(variable, **changes) if changes else variable


def _codelists(built: dict[str, BuiltDataset], sdtm: Bundle, ct) -> list:
    used: dict[str, set[str]] = {}
    parameter_lists = []
    for name, dataset in built.items():
        for variable in dataset.meta.variables:
            levels = [
                (lv.codelist, dataset.frame.loc[dataset.frame["PARAMCD"] == lv.where[0].values[0], variable.name])
                for lv in variable.value_levels
                if lv.codelist
            ]
            if variable.codelist and variable.codelist.startswith(codelist_oid(f"{name}.")):
                continue
            if variable.codelist and variable.type == "Char":
                levels.append((variable.codelist, dataset.frame[variable.name]))
            for oid, values in levels:
                used.setdefault(oid, set()).update(set(values.to_numpy(dtype=object)))  # typed text: no NaN
        if "PARAMCD" in dataset.frame.columns:
            parameter_lists += meta.parameter_codelists(name, dataset.frame)
    return meta.build_codelists(used, sdtm.metadata, ct) + parameter_lists


def build_adam(study, sdtm: Bundle, ui: Console = QUIET) -> Bundle:
    """The study's ADaM datasets (standard "ADaM"), their define.xml metadata and the build notes."""
    specs = load_specs(study.folder / "adam")
    if not specs:
        raise AdamError(
            "no ADaM dataset specification found; add one YAML file per dataset",
            Location(f"mappings/{study.folder.name}/adam"),
        )
    frames = {name: with_lineage(ds.frame, name) for name, ds in sdtm.datasets.items()}
    states = run_steps(specs, frames, ui, data_cutoff=_data_cutoff(study))
    lookup = meta.Lookup(sdtm=sdtm.metadata, adam={})
    methods: dict[str, Method] = {}
    built = {}
    for spec in _finish_order(specs):
        built[spec.name] = finish(states[spec.name], lookup, frames, methods)
        ui.debug(f"  {spec.name}: {len(built[spec.name].frame)} records, {len(spec.variables)} variables")
    comments = _not_applicable_comments(specs, built)
    ct = load_ct()
    codelists = _codelists(built, sdtm, ct)
    _drop_empty_codelists(built, {cl.oid for cl in codelists})
    used_oids = {cl.standard_oid for cl in codelists if cl.standard_oid}
    used_oids |= {ds.meta.standard_oid for ds in built.values()}
    known = {s.oid: s for s in (ADAMIG, ADAM_OCCDSIG, *ct.standards.values(), *sdtm.metadata.standards)}
    standards = tuple(known[oid] for oid in sorted(used_oids) if oid in known)
    source = sdtm.metadata
    metadata = StudyMetadata(
        study_oid=source.study_oid,
        study_name=source.study_name,
        description=source.description,
        protocol_name=source.protocol_name,
        standards=standards,
        datasets=tuple(built[s.name].meta for s in specs),
        codelists=tuple(codelists),
        methods=tuple(methods[oid] for oid in sorted(methods)),
        comments=comments,
        documents=source.documents,
    )
    notes = [note for s in specs for note in states[s.name].ctx.notes]
    ordered = {s.name: built[s.name] for s in specs}
    # The study's imported spec (mappings/<S>/spec/adam.json, `sdtmify spec import`) is laid over the
    # derived metadata exactly as for SDTM: labels, origins, methods, comments and lengths it states.
    return apply_study_spec(study, Bundle(standard="ADaM", datasets=ordered, metadata=metadata, notes=notes), ui)


def _not_applicable_comments(specs: list[DatasetSpec], built: dict[str, BuiltDataset]) -> tuple[Comment, ...]:
    """A dataset that leaves out ADaMIG-required variables (``not_applicable``) says so, with the study's
    reason, in a define.xml comment on the dataset (def:CommentDef; the variable itself is absent, so
    there is no ItemDef to hang it on); the ADRG lists the dataset comments."""
    comments = []
    for spec in specs:
        if not spec.not_applicable:
            continue
        reasons = "; ".join(f"{name}: {reason.strip().rstrip('.')}" for name, reason in spec.not_applicable.items())
        oid = comment_oid(spec.name)
        text = f"Not included although the ADaMIG {spec.cls} dataset requires them: {reasons}."
        comments.append(Comment(oid=oid, description=text))
        built[spec.name].meta = replace(built[spec.name].meta, comment=oid)
    return tuple(comments)


def _data_cutoff(study) -> str | None:
    """The study's data cut-off date (study.yaml ``study.data_cutoff``, ISO 8601), if it declares one."""
    value = (getattr(study, "config", None) or {}).get("study", {}).get("data_cutoff")
    return str(value) if value else None


def _drop_empty_codelists(built: dict[str, BuiltDataset], kept: set[str]) -> None:
    """A variable whose values are all empty refers to no codelist (define.xml needs at least one term)."""
    for dataset in built.values():
        variables = tuple(
            replace(
                v,
                codelist=v.codelist if v.codelist in kept else None,
                value_levels=tuple(
                    replace(lv, codelist=lv.codelist if lv.codelist in kept else None) for lv in v.value_levels
                ),
            )
            for v in dataset.meta.variables
        )
        dataset.meta = replace(dataset.meta, variables=variables)


def _finish_order(specs: list[DatasetSpec]) -> list[DatasetSpec]:
    """ADSL first, so that other datasets' ADSL predecessors find its finished metadata."""
    return sorted(specs, key=lambda s: s.name != SUBJECT_LEVEL)
