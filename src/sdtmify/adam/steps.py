"""The YAML step vocabulary: each ``derive_...`` key of a dataset's ``steps`` calls one library
function with the arguments the YAML gives, and records where each new variable comes from.

A step either adds variables to the dataset being built or appends new records (parameters);
what it adds is recorded as define.xml origins: Predecessor (``DM.AGE``) for copied values, Derived
(with a method whose text is the function's rule plus the study's parameters) for computed ones."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..distinct import sort_order
from . import bds, dlt, events, merge, occds, response, subject, tte
from .checks import AdamError, assert_columns, filter_rows
from .dates import impute_iso_dates, iso_to_sas_date


@dataclass
class ParamInfo:
    """Where a parameter's AVAL/AVALC come from: a predecessor variable or a derivation."""

    predecessors: dict[str, str] = field(default_factory=dict)  # {"AVALC": "RS.RSSTRESC"}
    method: str | None = None  # method text when derived
    codelist: str | None = None  # CT short name or sponsor codelist name for AVALC
    # Variables a later step derives on the parameter's records, with that step's method text
    # (e.g. {"AVAL": "AVAL is the numeric code of AVALC ..."} for OVR, whose AVALC is collected).
    derived: dict[str, str] = field(default_factory=dict)


@dataclass
class Context:
    """What a step can see: every SDTM dataset and every ADaM dataset built so far (by name), and
    the provenance of the dataset being built."""

    dataset: str
    frames: dict[str, pd.DataFrame]
    predecessors: dict[str, str] = field(default_factory=dict)  # variable -> "DM.AGE"
    methods: dict[str, str] = field(default_factory=dict)  # variable -> method text
    params: dict[str, ParamInfo] = field(default_factory=dict)  # PARAMCD -> ParamInfo
    codelists: dict[str, str] = field(default_factory=dict)  # variable -> codelist name
    notes: list[str] = field(default_factory=list)
    aval_codings: list[str] = field(default_factory=list)  # method texts of AVAL-from-AVALC steps
    data_cutoff: str | None = None  # ISO 8601 date from study.yaml (study.data_cutoff)

    @property
    def cutoff_date(self) -> float | None:
        """The data cut-off as a numeric SAS date (None when the study declares none)."""
        if not self.data_cutoff:
            return None
        value = iso_to_sas_date(pd.Series([self.data_cutoff])).iloc[0]
        if pd.isna(value):
            raise AdamError(f"study.yaml study.data_cutoff: {self.data_cutoff!r} is not a complete date (YYYY-MM-DD)")
        return float(value)

    def with_cutoff(self, args: dict) -> dict:
        """The step's arguments for its method text, with the study's data cut-off when it has one."""
        return {**args, "data_cutoff": self.data_cutoff} if self.data_cutoff else args

    def frame(self, name: str, step: str) -> pd.DataFrame:
        if name not in self.frames:
            raise AdamError(f"{step}: no dataset {name}; available: {', '.join(sorted(self.frames))}")
        return self.frames[name]


@dataclass(frozen=True)
class Step:
    """One vocabulary entry: the library function whose docstring states the rule, and its adaptor."""

    function: Callable
    apply: Callable[[Context, pd.DataFrame, dict], pd.DataFrame]
    appends: bool = False
    # The method text of the variables the step adds, when the default (rule + all arguments) would
    # describe one parameter's declaration as if it were the whole variable's.
    describe: Callable[[dict], str] | None = None


def rule_text(function: Callable) -> str:
    """The rule a derivation implements: the first paragraph of its docstring, on one line."""
    doc = inspect.getdoc(function) or ""
    return " ".join(doc.split("\n\n")[0].split()).replace("``", "")


def references(name: str, args: dict) -> set[str]:
    """The datasets a step reads besides the one it builds."""
    found = {args[key] for key in ("from", "supp") if key in args}
    if name == "derive_param_tte":
        found |= {
            args["start"]["dataset"],
            *(s["dataset"] for s in args.get("events", ())),
            *(s["dataset"] for s in args["censors"]),
        }
    if name == "derive_var_dltevlfl":
        found |= {args["dosed"]["from"], args["events"]["from"]}
    if name in ("derive_param_exist_flag", "derive_param_extreme_record"):
        found.add(args["source"]["dataset"])
    if name in (
        "derive_param_bor",
        "derive_param_cbr",
        "derive_param_tte",
        "derive_param_response",
        "derive_param_clinbenefit",
        "derive_param_exist_flag",
    ):
        found.add("ADSL")
    return found


def _names(value) -> dict[str, str]:
    """``new_vars`` given as a list means "same name"."""
    return {v: v for v in value} if isinstance(value, list) else dict(value)


def _kw(args: dict, *names: str, **renames: str) -> dict:
    """The YAML arguments passed on to a library function (tuples for lists)."""
    out = {}
    for name in names:
        if name in args:
            value = args[name]
            out[name] = tuple(value) if isinstance(value, list) else value
    for target, source in renames.items():
        if source in args:
            out[target] = args[source]
    return out


# --- adaptors, one per vocabulary entry ------------------------------------------------------------


def _records(ctx: Context, frame: pd.DataFrame, args: dict) -> pd.DataFrame:
    """The analysis records start as one record per record of the predecessor dataset meeting
    ``where`` (ADSL: one per DM subject; ADAE: one per AE event), every variable keeping its value
    (ADaMIG 1.3 section 3.1.5, origin Predecessor); ``keep`` limits the variables carried."""
    source = ctx.frame(args["from"], "records")
    rows = filter_rows(source, args.get("where"), args["from"], "records")
    if "keep" in args:
        assert_columns(rows, args["keep"], args["from"], "records")
        rows = rows[[*args["keep"], *(c for c in ("_SRCTABLE", "_SRCROW") if c in rows.columns)]]
    for name in rows.columns:
        if not name.startswith("_"):
            ctx.predecessors.setdefault(name, f"{args['from']}.{name}")
    return rows.reset_index(drop=True)


def _where_text(where: dict | None) -> str:
    if not where:
        return ""
    return " where " + " and ".join(f"{k} = {_show(v)}" for k, v in where.items())


def _merged(ctx, frame, args):
    new_vars = _names(args["new_vars"])
    for new, old in new_vars.items():
        ctx.predecessors.setdefault(new, f"{args['from']}.{old}{_where_text(args.get('where'))}")
    return merge.derive_vars_merged(
        frame,
        ctx.frame(args["from"], "derive_vars_merged"),
        new_vars=new_vars,
        add_name=args["from"],
        **_kw(args, "by", "where", "order", "mode"),
    )


def _exist_flag(ctx, frame, args):
    return merge.derive_var_merged_exist_flag(
        frame,
        ctx.frame(args["from"], "derive_var_merged_exist_flag"),
        add_name=args["from"],
        **_kw(args, "new_var", "where", "true_value", "false_value"),
    )


def _summary(ctx, frame, args):
    return merge.derive_var_merged_summary(
        frame,
        ctx.frame(args["from"], "derive_var_merged_summary"),
        add_name=args["from"],
        **_kw(args, "new_var", "analysis_var", "function", "where", "missing", "pattern"),
    )


def _supp(ctx, frame, args):
    for new, qnam in args["variables"].items():
        ctx.predecessors.setdefault(new, f"{args['supp']}.QVAL where QNAM = {qnam}")
    return merge.derive_vars_supp(
        frame,
        ctx.frame(args["supp"], "derive_vars_supp"),
        variables=dict(args["variables"]),
        supp_name=args["supp"],
        **_kw(args, "numeric"),
    )


def _recode(ctx, frame, args):
    return merge.derive_var_recode(frame, **_kw(args, "source", "new_var", "values", "numeric", "where"))


def derive_vars_dt(
    dataset: pd.DataFrame,
    *,
    dates: dict[str, str],
    highest_imputation: str | None = None,
    date_imputation: str = "first",
) -> pd.DataFrame:
    """Analysis dates (``{ASTDT: AESTDTC, ...}``) are the numeric SAS dates of ISO 8601 --DTC values
    (ADaMIG 1.3 section 3.1.4, *DT). Without ``highest_imputation`` partial dates stay missing. With it
    ("D": the day; "M": the month and day), a missing part is imputed by ``date_imputation`` (first:
    the 1st and January 1st; mid: the 15th and June 30th; last: the month's last day and December
    31st), and each date gets its imputation flag *DTF (ADTF, ASTDTF): "D" or "M" when imputed, else
    empty (ADaMIG 1.3 section 3.1.4: imputed dates are flagged)."""
    assert_columns(dataset, list(dates.values()), "the dataset", "derive_vars_dt")
    result = dataset.copy(deep=False)
    for new, old in dates.items():
        if highest_imputation is not None and len(new) > 7:
            raise AdamError(f"derive_vars_dt: {new} is too long for its imputation flag {new}F (8 characters at most)")
        if highest_imputation is None:
            result[new] = iso_to_sas_date(dataset[old])
            continue
        try:
            result[new], result[f"{new}F"] = impute_iso_dates(
                dataset[old], highest=highest_imputation, rule=date_imputation
            )
        except ValueError as exc:
            raise AdamError(f"derive_vars_dt: {exc}") from None
    return result


def derive_vars_copy(dataset: pd.DataFrame, *, variables: dict[str, str]) -> pd.DataFrame:
    """Analysis variables that take their predecessor's value unchanged (``{ATOXGR: AETOXGR}``),
    ADaMIG 1.3 section 3.1.5 (origin Predecessor)."""
    assert_columns(dataset, list(variables.values()), "the dataset", "derive_vars_copy")
    result = dataset.copy(deep=False)
    for new, old in variables.items():
        result[new] = dataset[old]
    return result


def _copy(ctx, frame, args):
    for new, old in args["variables"].items():
        ctx.predecessors.setdefault(new, ctx.predecessors.get(old, f"{ctx.dataset}.{old}"))
    return derive_vars_copy(frame, variables=dict(args["variables"]))


def _dt(ctx, frame, args):
    return derive_vars_dt(frame, dates=dict(args["dates"]), **_kw(args, "highest_imputation", "date_imputation"))


def _trtsdt(ctx, frame, args):
    return subject.derive_var_trtsdt(
        frame, ctx.frame(args["from"], "derive_var_trtsdt"), **_kw(args, "new_var", "date_var", "dose_var", "where")
    )


def _trtedt(ctx, frame, args):
    return subject.derive_var_trtedt(
        frame,
        ctx.frame(args["from"], "derive_var_trtedt"),
        **_kw(args, "new_var", "date_var", "fallback_var", "dose_var", "where"),
    )


def _trtdurd(ctx, frame, args):
    return subject.derive_var_trtdurd(frame, **_kw(args, "start", "end", "new_var"))


def _trt01(ctx, frame, args):
    result = subject.derive_vars_trt01(frame, **_kw(args, "planned", "actual", "numbers"))
    ctx.predecessors.setdefault("TRT01P", f"DM.{args.get('planned', 'ARM')}")
    ctx.predecessors.setdefault("TRT01A", f"DM.{args.get('actual', 'ACTARM')}")
    return result


def derive_var_saffl(
    adsl: pd.DataFrame, ex: pd.DataFrame, *, new_var: str = "SAFFL", dose_var: str = "EXDOSE", where: dict | None = None
) -> pd.DataFrame:
    """The safety population flag is "Y" for a subject who received any dose of study treatment (an
    EX record with a dose above zero), else "N" (ADaMIG 1.3 SAFFL)."""
    dosed = subject._dosed(ex, dose_var, where, f"derive_var_saffl({new_var})")
    result = adsl.copy(deep=False)
    result[new_var] = np.where(adsl["USUBJID"].isin(set(dosed["USUBJID"])), "Y", "N").astype(str)
    return result


def _saffl(ctx, frame, args):
    return derive_var_saffl(
        frame, ctx.frame(args["from"], "derive_var_saffl"), **_kw(args, "new_var", "dose_var", "where")
    )


def _efffl(ctx, frame, args):
    return subject.derive_var_efffl(
        frame,
        ctx.frame(args["from"], "derive_var_efffl"),
        **_kw(args, "new_var", "where", "date_var", "reference", "exclude", "result_var"),
    )


def _disposition(ctx, frame, args):
    return subject.derive_vars_disposition(
        frame,
        ctx.frame(args["from"], "derive_vars_disposition"),
        **_kw(args, "where", "status_var", "reason_var", "completed", "date_var", "specify_var", "specify_when"),
    )


def _findings(ctx, frame, args):
    domain = args["from"]
    records = bds.derive_params_from_findings(
        ctx.frame(domain, "derive_params_from_findings"),
        domain=domain,
        **_kw(
            args,
            "where",
            "paramcd",
            "paramcd_var",
            "param",
            "param_template",
            "avalc_var",
            "aval_var",
            "date_var",
            "seq_var",
            "visit_var",
            "visitnum_var",
            "keep",
        ),
    )
    sources = {
        var: f"{domain}.{args[key]}" for var, key in (("AVAL", "aval_var"), ("AVALC", "avalc_var")) if args.get(key)
    }
    for code in records["PARAMCD"].unique():
        ctx.params[code] = ParamInfo(predecessors=sources, codelist=args.get("codelist"))
    for new, old in (args.get("keep") or {}).items():
        ctx.predecessors.setdefault(new, f"{domain}.{old}")
    for var, old in (("AVISIT", args.get("visit_var", "VISIT")), ("AVISITN", args.get("visitnum_var", "VISITNUM"))):
        if old:
            ctx.predecessors.setdefault(var, f"{domain}.{old}")
    for var, description in {**sources, "STUDYID": f"{domain}.STUDYID", "USUBJID": f"{domain}.USUBJID"}.items():
        ctx.predecessors.setdefault(var, description)
    if args.get("paramcd_var"):
        ctx.predecessors.setdefault("PARAMCD", f"{domain}.{args['paramcd_var']}")
    return records


def _dy(ctx, frame, args):
    return bds.derive_vars_dy(frame, dates=dict(args["dates"]), **_kw(args, "reference"))


def _aval_codes(ctx, frame, args):
    # AVAL exists already (empty) from the step that made the records: this step is its derivation,
    # for the parameters it codes (value level) and, with any other coding step, for AVAL as a whole.
    text = method_text(bds.derive_var_aval_from_avalc, args)
    result = bds.derive_var_aval_from_avalc(frame, **_kw(args, "codes", "where"))
    if "PARAMCD" in frame.columns:
        coded = filter_rows(frame, args.get("where"), "the dataset", "derive_var_aval_from_avalc")["PARAMCD"]
        for code in coded.unique():
            ctx.params.setdefault(code, ParamInfo()).derived["AVAL"] = text
    ctx.aval_codings.append(text)
    ctx.methods["AVAL"] = " ".join(ctx.aval_codings)
    return result


def _ablfl(ctx, frame, args):
    return bds.derive_var_ablfl(frame, **_kw(args, "reference", "on_reference_day", "by", "new_var"))


def _base(ctx, frame, args):
    return bds.derive_var_base(frame, **_kw(args, "source_var", "new_var"))


def _blq_text(args: dict) -> str:
    """The define method of AVAL (below-limit records) and DTYPE, in words, from the declared rule."""
    rule = args["rule"]
    said = {
        "half_lloq": 'AVAL is one half of that limit and DTYPE is "HALFLLOQ"',
        "lloq": 'AVAL is the limit itself and DTYPE is "LLOQ"',
        "missing": "AVAL stays missing and DTYPE is null",
    }.get(rule, rule)
    return (
        "A result reported below the lower limit of quantitation (AVALC is '<' followed by the limit, e.g. "
        f"'<10' in the unit of AVAL): {said}; AVALC keeps the reported text. Quantified results keep their "
        "value with DTYPE null."
    )


def _aval_blq(ctx, frame, args):
    # AVAL exists already (from the findings records): on the parameters holding a below-limit result,
    # this step is part of its derivation (value level), as is DTYPE as a whole.
    result = bds.derive_var_aval_blq(frame, **_kw(args, "rule", "prefix"))
    text = _blq_text(args)
    if args["rule"] != "missing" and "PARAMCD" in frame.columns:
        for code in result.loc[result["DTYPE"] != "", "PARAMCD"].unique():
            info = ctx.params.setdefault(code, ParamInfo())
            source = info.predecessors.pop("AVAL", None)  # no longer a copy on every record: derived
            info.derived["AVAL"] = (f"AVAL is {source} on quantified results. " if source else "") + text
    return result


def _chg(ctx, frame, args):
    return bds.derive_var_chg(frame, **_kw(args, "reference", "include_baseline"))


def _anl01fl(ctx, frame, args):
    return bds.derive_var_anl01fl(frame, **_kw(args, "where", "reference", "until", "new_var", "worst_per_date"))


def _worst(ctx, frame, args):
    return bds.derive_var_worst_flag(frame, **_kw(args, "by", "analysis_var", "tie_break", "new_var", "where"))


def derive_var_obs_number(
    dataset: pd.DataFrame, *, order: tuple[str, ...], new_var: str = "ASEQ", by: tuple[str, ...] = ("USUBJID",)
) -> pd.DataFrame:
    """The analysis sequence number (ASEQ) numbers each subject's records 1, 2, ... in the order
    of the sort keys, uniquely identifying a record within the subject (ADaMIG 1.3 ASEQ)."""
    assert_columns(dataset, [*by, *order], "the dataset", "derive_var_obs_number")
    # Sort the key columns only (the other variables never move); in that order a subject's records
    # are contiguous, so each record's number is its distance from the start of its run.
    keys = list(dict.fromkeys([*by, *order]))
    ranked = sort_order(dataset, keys)  # sort_values(keys, kind="stable")'s order, with less work
    position = np.arange(len(ranked))
    run_start = np.maximum.accumulate(np.where(_group_starts(dataset[list(by)].take(ranked)), position, 0))
    numbers = np.empty(len(ranked), dtype="float64")
    numbers[ranked] = position - run_start + 1
    result = dataset.copy(deep=False)
    result[new_var] = numbers
    return result


def _group_starts(ordered: pd.DataFrame) -> np.ndarray:
    """True on each record of ``ordered`` (sorted by its columns) whose values differ from the
    record before it: the first record of each group. Two missing values are equal."""
    starts = np.zeros(len(ordered), dtype=bool)
    starts[:1] = True
    for name in ordered.columns:
        values = ordered[name].to_numpy()
        current, previous = values[1:], values[:-1]
        # sorted records differ from the one before them rarely: only those few are tested for missing
        differ = np.flatnonzero(current != previous)
        both_missing = pd.isna(current[differ]) & pd.isna(previous[differ])
        starts[1 + differ[~both_missing]] = True
    return starts


def _aseq(ctx, frame, args):
    return derive_var_obs_number(frame, **_kw(args, "order", "new_var", "by"))


def _trtemfl(ctx, frame, args):
    return occds.derive_var_trtemfl(
        frame, **_kw(args, "start_date", "end_date", "trt_start", "trt_end", "end_window_days", "new_var")
    )


def _atoxgrn(ctx, frame, args):
    return occds.derive_var_atoxgrn(frame, **_kw(args, "source", "new_var"))


def _bor(ctx, frame, args):
    records = response.derive_param_bor(
        frame,
        ctx.frame("ADSL", "derive_param_bor"),
        **_kw(
            args,
            "source_paramcd",
            "paramcd",
            "param",
            "reference",
            "sd_min_days",
            "confirmation",
            "confirm_days",
            "max_ne",
            "accept_sd",
            "no_assessment",
            "order",
            "where",
        ),
        data_cutoff=ctx.cutoff_date,
    )
    ctx.params[args["paramcd"]] = ParamInfo(
        method=method_text(response.derive_param_bor, ctx.with_cutoff(args)), codelist=args.get("codelist")
    )
    return records


_CONFIRMATION = ("confirmation", "confirm_days", "max_ne", "accept_sd")


def _response(ctx, frame, args):
    records = response.derive_param_response(
        frame,
        ctx.frame("ADSL", "derive_param_response"),
        **_kw(args, "source_paramcd", "paramcd", "param", "reference", "order", "where", *_CONFIRMATION),
        data_cutoff=ctx.cutoff_date,
    )
    ctx.params[args["paramcd"]] = ParamInfo(
        method=method_text(response.derive_param_response, ctx.with_cutoff(args)), codelist="NY"
    )
    return records


def _clinbenefit(ctx, frame, args):
    records = response.derive_param_clinbenefit(
        frame,
        ctx.frame("ADSL", "derive_param_clinbenefit"),
        **_kw(
            args, "source_paramcd", "response_paramcd", "paramcd", "param", "reference", "sd_min_days", "order", "where"
        ),
        data_cutoff=ctx.cutoff_date,
    )
    ctx.params[args["paramcd"]] = ParamInfo(
        method=method_text(response.derive_param_clinbenefit, ctx.with_cutoff(args)), codelist="NY"
    )
    return records


def _date_source(spec: dict, censor: int = 0) -> tte.DateSource:
    return tte.DateSource(
        dataset=spec["dataset"],
        date=spec["date"],
        where=spec.get("where"),
        select=spec.get("select", "first" if censor == 0 else "last"),
        censor=spec.get("censor", censor),
        description=spec.get("description", ""),
    )


def _source_method(function: Callable, ctx: Context, args: dict) -> str:
    """The rule, then the declared source in prose (not as a raw mapping), then the other parameters."""
    source = _date_source(args["source"])
    text = args.get("description") or rule_text(function)
    text += f" Source: {tte.describe_source(source)}."
    rest = {k: v for k, v in ctx.with_cutoff(args).items() if k != "source"}
    return method_text(lambda: None, {**rest, "description": text})


def _exist_flag_param(ctx, frame, args):
    source = _date_source(args["source"])
    records = events.derive_param_exist_flag(
        ctx.frame("ADSL", "derive_param_exist_flag"),
        ctx.frame(source.dataset, "derive_param_exist_flag"),
        source=source,
        data_cutoff=ctx.cutoff_date,
        **_kw(args, "paramcd", "param", "population"),
    )
    ctx.params[args["paramcd"]] = ParamInfo(
        method=_source_method(events.derive_param_exist_flag, ctx, args), codelist="NY"
    )
    return records


def _extreme_record(ctx, frame, args):
    source = _date_source(args["source"])
    records = events.derive_param_extreme_record(
        ctx.frame(source.dataset, "derive_param_extreme_record"),
        source=source,
        data_cutoff=ctx.cutoff_date,
        **_kw(args, "paramcd", "param"),
    )
    info = ParamInfo(
        method=_source_method(events.derive_param_extreme_record, ctx, args), codelist=args.get("codelist")
    )
    ctx.params[args["paramcd"]] = info
    return records


def _bor_collected(ctx, frame, args):
    result, notes = response.derive_vars_bor_collected(
        frame,
        ctx.frame(args["from"], "derive_vars_bor_collected"),
        **_kw(args, "where", "result_var", "bor_paramcd", "collected_var", "flag_var"),
    )
    ctx.predecessors.setdefault(
        args.get("collected_var", "BORCOLL"), f"{args['from']}.{args.get('result_var', 'RSSTRESC')}"
    )
    ctx.notes.extend(f"{ctx.dataset}: {line}" for line in notes)
    return result


def _rsp(ctx, frame, args):
    ctx.params[args["paramcd"]] = ParamInfo(method=method_text(response.derive_param_rsp, args), codelist="NY")
    return response.derive_param_rsp(frame, **_kw(args, "bor_paramcd", "paramcd", "param", "responses"))


def _cbr(ctx, frame, args):
    ctx.params[args["paramcd"]] = ParamInfo(
        method=method_text(response.derive_param_cbr, ctx.with_cutoff(args)), codelist="NY"
    )
    return response.derive_param_cbr(
        frame,
        ctx.frame("ADSL", "derive_param_cbr"),
        **_kw(
            args,
            "bor_paramcd",
            "source_paramcd",
            "paramcd",
            "param",
            "reference",
            "responses",
            "stable",
            "progression",
            "not_evaluable",
            "sd_min_duration_days",
        ),
        data_cutoff=ctx.cutoff_date,
    )


def _tte(ctx, frame, args):
    start = _date_source(args["start"])
    event_sources = [_date_source(s, 0) for s in args["events"]]
    censor_sources = [_date_source(s, 1) for s in args["censors"]]
    records = tte.derive_param_tte(
        ctx.frame("ADSL", "derive_param_tte"),
        ctx.frames,
        paramcd=args["paramcd"],
        param=args["param"],
        start=start,
        events=event_sources,
        censors=censor_sources,
        data_cutoff=ctx.cutoff_date,
        **_kw(args, "population", "add_one"),
    )
    # The method is the sponsor's summary (if any) followed by the declaration in prose: the same
    # sources the derivation read, so the reviewer's text cannot drift from the rule.
    prose = tte.describe_tte(
        start=start,
        events=event_sources,
        censors=censor_sources,
        population=args.get("population"),
        add_one=args.get("add_one", True),
        data_cutoff=ctx.data_cutoff,
    )
    summary = args.get("description") or rule_text(tte.derive_param_tte)
    ctx.params[args["paramcd"]] = ParamInfo(method=f"{summary} {prose}")
    ctx.predecessors.setdefault("STUDYID", "ADSL.STUDYID")
    ctx.predecessors.setdefault("USUBJID", "ADSL.USUBJID")
    return records


def _dltfl(ctx, frame, args):
    return dlt.derive_var_dltfl(
        frame,
        **_kw(
            args,
            "min_grade",
            "window_days",
            "where",
            "grade_var",
            "always_grade",
            "min_duration_days",
            "reference",
            "start_date",
            "end_date",
            "new_var",
        ),
    )


def _dltevlfl(ctx, frame, args):
    dosed, found = args["dosed"], args["events"]
    return dlt.derive_var_dltevlfl(
        frame,
        ctx.frame(dosed["from"], "derive_var_dltevlfl"),
        ctx.frame(found["from"], "derive_var_dltevlfl"),
        dosed_where=dosed.get("where"),
        dose_var=dosed.get("dose_var", "EXDOSE"),
        dlt_var=found.get("flag_var", "DLTFL"),
        **_kw(args, "window_days", "reference", "observed_until", "new_var"),
    )


def _tte_variables() -> str:
    return (
        rule_text(tte.derive_param_tte) + " Each parameter's start, event and censoring sources, population and "
        "data cut-off are stated in its own method (value-level metadata by PARAMCD)."
    )


STEPS: dict[str, Step] = {
    "records": Step(_records, _records),
    "derive_vars_merged": Step(merge.derive_vars_merged, _merged),
    "derive_var_merged_exist_flag": Step(merge.derive_var_merged_exist_flag, _exist_flag),
    "derive_var_merged_summary": Step(merge.derive_var_merged_summary, _summary),
    "derive_vars_supp": Step(merge.derive_vars_supp, _supp),
    "derive_var_recode": Step(merge.derive_var_recode, _recode),
    "derive_vars_copy": Step(derive_vars_copy, _copy),
    "derive_vars_dt": Step(derive_vars_dt, _dt),
    "derive_var_trtsdt": Step(subject.derive_var_trtsdt, _trtsdt),
    "derive_var_trtedt": Step(subject.derive_var_trtedt, _trtedt),
    "derive_var_trtdurd": Step(subject.derive_var_trtdurd, _trtdurd),
    "derive_vars_trt01": Step(subject.derive_vars_trt01, _trt01),
    "derive_var_saffl": Step(derive_var_saffl, _saffl),
    "derive_var_efffl": Step(subject.derive_var_efffl, _efffl),
    "derive_vars_disposition": Step(subject.derive_vars_disposition, _disposition),
    "derive_params_from_findings": Step(bds.derive_params_from_findings, _findings, appends=True),
    "derive_vars_dy": Step(bds.derive_vars_dy, _dy),
    "derive_var_aval_from_avalc": Step(bds.derive_var_aval_from_avalc, _aval_codes),
    "derive_var_ablfl": Step(bds.derive_var_ablfl, _ablfl),
    "derive_var_base": Step(bds.derive_var_base, _base),
    "derive_var_chg": Step(bds.derive_var_chg, _chg),
    "derive_var_aval_blq": Step(bds.derive_var_aval_blq, _aval_blq, describe=_blq_text),
    "derive_var_anl01fl": Step(bds.derive_var_anl01fl, _anl01fl),
    "derive_var_worst_flag": Step(bds.derive_var_worst_flag, _worst),
    "derive_var_obs_number": Step(derive_var_obs_number, _aseq),
    "derive_var_trtemfl": Step(occds.derive_var_trtemfl, _trtemfl),
    "derive_var_atoxgrn": Step(occds.derive_var_atoxgrn, _atoxgrn),
    "derive_param_bor": Step(response.derive_param_bor, _bor, appends=True),
    "derive_vars_bor_collected": Step(response.derive_vars_bor_collected, _bor_collected),
    "derive_param_rsp": Step(response.derive_param_rsp, _rsp, appends=True),
    "derive_param_cbr": Step(response.derive_param_cbr, _cbr, appends=True),
    "derive_param_tte": Step(tte.derive_param_tte, _tte, appends=True, describe=lambda args: _tte_variables()),
    "derive_param_response": Step(response.derive_param_response, _response, appends=True),
    "derive_param_clinbenefit": Step(response.derive_param_clinbenefit, _clinbenefit, appends=True),
    "derive_param_exist_flag": Step(events.derive_param_exist_flag, _exist_flag_param, appends=True),
    "derive_param_extreme_record": Step(events.derive_param_extreme_record, _extreme_record, appends=True),
    "derive_var_dltfl": Step(dlt.derive_var_dltfl, _dltfl),
    "derive_var_dltevlfl": Step(dlt.derive_var_dltevlfl, _dltevlfl),
}


def _show(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def method_text(function: Callable, args: dict) -> str:
    """A MethodDef description: the YAML's ``description`` or the function's rule, followed by the
    study's parameters so that a reviewer sees the values used (e.g. ``sd_min_days = 42``)."""
    text = args.get("description") or rule_text(function)
    shown = {k: v for k, v in args.items() if k not in ("description", "param", "paramcd", "codelist")}
    if shown:
        text += " Study parameters: " + "; ".join(f"{k} = {_show(v)}" for k, v in shown.items()) + "."
    return text
