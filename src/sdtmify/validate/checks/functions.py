"""Rules that need code: each is one named, vectorized function (no loop over records).

``check: {type: function, name: study_day, args: {...}}`` runs per dataset;
``check: {type: study_function, name: ts_parameters, args: {...}}`` runs once per study."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ...derive.study_day import study_day as expected_study_day
from .. import isodate
from ..conditions import MissingDataset, MissingInput, View, evaluate
from ..data import on_distinct_of_columns, text_or_empty
from ..hits import Hits
from .define import define_datasets, define_method_texts, define_references, define_schema
from .records import prepare
from .relations import _key, group_codes, key_codes, key_text, keys_found


def study_day(view, ctx, dy: str, dtc: str, reference: str = "DM.RFSTDTC") -> list[Hits]:
    """SDTMIG 4.4.4 (CG0006, CG0220, CG0222): --DY = date - RFSTDTC + 1 on/after RFSTDTC, date - RFSTDTC
    before it. Checked where --DY and both complete date portions are present."""
    dataset, column = reference.split(".")
    if not view.join(dataset, [column]):
        raise MissingInput(f"cannot join {reference}")
    dy, dtc = view.expand(dy), view.expand(dtc)
    prepare_names(view, [dy, dtc])
    expected = on_distinct_pairs(view, dtc, reference, lambda a, b: expected_study_day(a, b).to_numpy())
    got = pd.to_numeric(view.column(dy), errors="coerce").to_numpy(dtype="float64")
    mask = ~np.isnan(expected) & ~np.isnan(got) & (got != expected)
    return [Hits(view.table.name, mask, (dy, dtc, reference), view=view, extra={"expected": expected})]


def on_distinct_pairs(view, left: str, right: str, fn) -> np.ndarray:
    """``fn(left text, right text)`` (element by element) once per distinct pair of values of two text
    columns the table keeps coded (a study day depends on the record's date and the subject's RFSTDTC
    only, and 4 million LB records hold far fewer pairs); on the whole columns otherwise."""
    coded = view.coded_text(left), view.coded_text(right)
    if coded[0] is None or coded[1] is None or not len(view.frame):
        return np.asarray(fn(view.column(left).astype("str"), view.column(right).astype("str")))
    (lcodes, lvalues), (rcodes, rvalues) = coded
    width = len(rvalues)
    pairs, distinct = pd.factorize(lcodes.astype(np.int64) * width + rcodes)
    a = pd.Series(lvalues.to_numpy(dtype=object)[distinct // width], dtype="str")
    b = pd.Series(rvalues.to_numpy(dtype=object)[distinct % width], dtype="str")
    return np.asarray(fn(a, b))[pairs]


def prepare_names(view, names) -> None:
    missing = [n for n in names if not view.has(n)]
    if missing:
        raise MissingInput("no " + ", ".join(missing))


def parent_record(view, tables, rdomain: pd.Series, idvar: pd.Series, idvarval: pd.Series) -> np.ndarray:
    """True where (RDOMAIN, USUBJID, IDVAR=IDVARVAL) names an existing parent record (SDTMIG 8.4.1).

    A null IDVAR points at the subject's DM record. Loops over distinct (RDOMAIN, IDVAR) pairs only."""
    found = np.zeros(len(view.frame), dtype=bool)
    usubjid = _key(view.column("USUBJID"))
    pairs = pd.DataFrame({"d": rdomain.astype("str"), "v": idvar.astype("str").str.strip()})
    for (domain, var), rows in pairs.groupby(["d", "v"], sort=True).groups.items():
        parent = tables.get(domain)
        if parent is None:
            continue
        positions = view.frame.index.get_indexer(rows)
        if var == "":
            subjects = set(_key(parent.frame["USUBJID"])) if "USUBJID" in parent.frame.columns else set()
            found[positions] = usubjid.iloc[positions].isin(subjects).to_numpy()
            continue
        if var not in parent.frame.columns or "USUBJID" not in parent.frame.columns:
            continue
        wanted = pd.MultiIndex.from_arrays([_key(parent.frame["USUBJID"]), _key(parent.frame[var])])
        here = pd.MultiIndex.from_arrays([usubjid.iloc[positions], idvarval.astype("str").str.strip().iloc[positions]])
        found[positions] = here.isin(wanted)
    return found


def supp_parent(view, ctx) -> list[Hits]:
    """CG0371: SUPPxx / RELREC IDVAR, IDVARVAL must identify a record of RDOMAIN for the subject."""
    prepare_names(view, ["RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL"])
    ok = parent_record(view, ctx.tables, view.column("RDOMAIN"), view.column("IDVAR"), view.column("IDVARVAL"))
    domains_present = view.column("RDOMAIN").isin(list(ctx.tables)).to_numpy()
    mask = ~ok & domains_present & ~view.null("USUBJID")
    return [Hits(view.table.name, mask, ("RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL"), view=view)]


def subject_extreme(
    view, ctx, variable: str, source: str, columns: list[str], how: str, where: dict | None = None
) -> list[Hits]:
    """CG0147/CG0148: DM.RFXSTDTC is the earliest EXSTDTC; DM.RFXENDTC the latest EXSTDTC/EXENDTC.

    Compared at the precision of the DM value; subjects without exposure records are not checked."""
    src = ctx.tables.get(source)
    if src is None:
        raise MissingInput(f"{source} dataset absent")
    missing = [c for c in columns if c not in src.frame.columns]
    if missing or variable not in view.frame.columns:
        raise MissingInput("no " + ", ".join(missing or [variable]))
    rows = evaluate(where, View(src, ctx.tables)) if where else np.ones(len(src.frame), dtype=bool)
    stacked = pd.concat(
        [pd.DataFrame({"USUBJID": src.frame.loc[rows, "USUBJID"], "dtc": src.frame.loc[rows, c]}) for c in columns]
    )
    stacked = stacked[stacked["dtc"].str.strip() != ""]
    extreme = _text_extreme_by(stacked["USUBJID"], stacked["dtc"], how)
    expected = text_or_empty(view.column("USUBJID").map(extreme))
    got = view.column(variable).astype("str")
    # Compare at the shorter of the two precisions, as SDTMIG 4.4 treats partial dates as intervals.
    # A null DM value is left to the Expected-variable rules; here only disagreeing dates count.
    mask = (expected != "").to_numpy() & ~view.null(variable) & (isodate.compare(got, expected) != 0)
    return [Hits(view.table.name, mask, (variable,), view=view, extra={f"{source} {how}": expected.to_numpy()})]


def _text_extreme_by(by: pd.Series, text: pd.Series, how: str) -> pd.Series:
    """``text.groupby(by).min()`` (or ``max``), missing text skipped: the text ranked once by its sorted
    distinct values and the ranks compared as integers (pandas compares text group by group in Python)."""
    ranks, distinct = pd.factorize(text, sort=True)
    kept = ranks >= 0
    groups, keys = pd.factorize(by[kept])
    if how == "min":
        best = np.full(len(keys), len(distinct), dtype=np.int64)
        np.minimum.at(best, groups, ranks[kept])
    else:
        best = np.full(len(keys), -1, dtype=np.int64)
        np.maximum.at(best, groups, ranks[kept])
    return pd.Series(np.asarray(distinct, dtype=object)[best], index=keys, dtype="str")


def element_continuity(view, ctx) -> list[Hits]:
    """CG0207: within a subject, SEENDTC of an element equals SESTDTC of the next element (by SESEQ)."""
    prepare_names(view, ["USUBJID", "SESTDTC", "SEENDTC"])
    order = [c for c in ("USUBJID", "SESTDTC", "SESEQ") if c in view.frame.columns]
    frame = view.frame.sort_values(order, kind="stable")
    nxt = frame.groupby("USUBJID", sort=False)["SESTDTC"].shift(-1)
    bad = nxt.notna() & (nxt != "") & (frame["SEENDTC"] != nxt)
    mask = np.zeros(len(view.frame), dtype=bool)
    mask[view.frame.index.get_indexer(frame.index[bad.to_numpy()])] = True
    next_start = pd.Series("", index=view.frame.index, dtype="str")
    next_start.loc[frame.index] = nxt.fillna("").astype("str")
    return [
        Hits(
            view.table.name,
            mask,
            ("USUBJID", "SESTDTC", "SEENDTC"),
            view=view,
            extra={"next SESTDTC": next_start.to_numpy()},
        )
    ]


def best_response(
    view, ctx, best: str, overall: str, testcd: str = "RSTESTCD", result: str = "RSSTRESC", ignore: tuple = ("NE",)
) -> list[Hits]:
    """RECIST 1.1 section 4.4: a subject's best overall response is one of the overall responses
    recorded at their time points (ignoring "NE"). Flags ``best`` records (e.g. RSTESTCD BESTRESP)
    without such an ``overall`` time-point record; the rule's args name both test codes."""
    prepare_names(view, ["USUBJID", testcd, result])
    codes = view.column(testcd)
    visits = view.frame[codes == overall]
    seen = pd.MultiIndex.from_arrays([visits["USUBJID"], visits[result]])
    here = pd.MultiIndex.from_arrays([view.column("USUBJID"), view.column(result)])
    is_best = (codes == best).to_numpy()
    mask = is_best & ~view.null(result) & ~here.isin(seen) & ~view.column(result).isin(list(ignore)).to_numpy()
    return [Hits(view.table.name, mask, ("USUBJID", testcd, result), view=view)]


def traceability(view, ctx, domain: str = "SRCDOM", variable: str = "SRCVAR", seq: str = "SRCSEQ") -> list[Hits]:
    """ADaMIG 1.3 section 3.3.8: SRCDOM/SRCVAR/SRCSEQ must point at an existing record and variable
    (SRCSEQ is the --SEQ of the USUBJID's record in SRCDOM). Loops over distinct SRCDOM values only.

    A record whose SRCDOM dataset was not given cannot be checked, which is not a finding: when no
    SRCDOM dataset is at hand the rule is skipped for this dataset with that reason (pass the SDTM
    folder with ``--sdtm``); records pointing at absent datasets are left unchecked otherwise."""
    prepare_names(view, ["USUBJID", domain])
    codes, values = _coded(view, domain)
    named = sorted(set(values[np.unique(codes[~view.null(domain)])]))
    absent = [dom for dom in named if dom not in ctx.tables]
    if named and len(absent) == len(named):
        raise MissingDataset(
            f"{domain} dataset(s) {', '.join(absent)} not given (pass the SDTM folder with validate --sdtm)"
        )
    mask = np.zeros(len(view.frame), dtype=bool)
    why = np.full(len(view.frame), "", dtype=object)
    named_at = {value: i for i, value in enumerate(values)}
    keys: tuple[pd.Series, pd.Series] | None = None  # the records' keys as text, made when first needed
    for dom in named:
        parent = ctx.tables.get(dom)
        if parent is None:
            continue
        rows = codes == named_at[dom]
        if view.has(variable):
            bad_var = rows & ~_isin(view, variable, list(parent.frame.columns)) & ~view.null(variable)
            mask |= bad_var
            why[bad_var] = f"names a variable {dom} does not have"
        seq_name = f"{parent.prefix}SEQ" if parent.prefix else "ASEQ"
        if view.has(seq) and seq_name in parent.frame.columns:
            if keys is None:
                keys = key_text(view, "USUBJID"), key_text(view, seq)
            usubjid, seqs = keys
            if "USUBJID" not in parent.frame.columns:
                raise KeyError("USUBJID")  # a parent dataset without subjects: reported as a defect, as ever
            pview = View(parent, ctx.tables)
            found = keys_found(
                [key_codes(view, "USUBJID"), key_codes(view, seq)],
                [key_codes(pview, "USUBJID"), key_codes(pview, seq_name)],
            )
            bad_seq = rows & ~view.null(seq) & ~found & (why == "")
            if bad_seq.any():
                # the message names the values looked for, built for the flagged records only
                why[bad_seq] = (
                    f"has no {dom} record with {seq_name} "
                    + seqs[bad_seq].astype("str")
                    + " for USUBJID "
                    + usubjid[bad_seq].astype("str")
                ).to_numpy()
            mask |= bad_seq
    return [Hits(view.table.name, mask, ("USUBJID", domain, variable, seq), view=view, extra={"problem": why})]


def _coded(view, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values as an object array) of a text column: records compare small integers."""
    coded = view.coded_text(name)
    if coded is not None:
        return coded[0], coded[1].to_numpy(dtype=object)
    codes, values = pd.factorize(view.column(name).astype("str"), use_na_sentinel=False)
    return codes, np.asarray(values, dtype=object)


def _isin(view, name: str, values: list) -> np.ndarray:
    """Records whose ``name`` is one of ``values`` (a text column: tested once per distinct value)."""
    if view.coded_text(name) is not None:
        terms = tuple(values)
        return view.text_test(name, lambda t: t.isin(terms).to_numpy(dtype=bool), key=("isin", terms))
    return view.column(name).isin(values).to_numpy()


def subject_has(view, ctx, dataset: str, where: dict | None = None, when: dict | None = None) -> list[Hits]:
    """Subjects (records of this dataset matching ``when``) must have a record in ``dataset``
    matching ``where``; e.g. FB0608 a subject with DTHFL = "Y" has a DS record with DSDECOD = "DEATH"."""
    other = ctx.tables.get(dataset)
    if other is None:
        raise MissingInput(f"{dataset} dataset absent")
    prepare_names(view, ["USUBJID"])
    rows = evaluate(when, view) if when else np.ones(len(view.frame), dtype=bool)
    oview = View(other, ctx.tables)
    orows = evaluate(where, oview) if where else np.ones(len(other.frame), dtype=bool)
    subjects = set(other.frame.loc[orows, "USUBJID"])
    mask = rows & ~view.column("USUBJID").isin(subjects).to_numpy()
    return [Hits(view.table.name, mask, ("USUBJID",), view=view)]


def text_values(view, ctx, test: str) -> list[Hits]:
    """Every character value of the dataset: ``leading_space`` (FDA FB1501), ``dot`` (a lone "."
    standing for missing, FB1502), ``non_ascii`` (FDA TCG 4.1.5: ASCII only in XPT v5). One finding
    per value, as CORE counts them."""
    tests = {
        "leading_space": lambda t: t.str.match(r"\s").fillna(False).to_numpy(dtype=bool),
        "dot": lambda t: (t.str.strip() == ".").to_numpy(dtype=bool),
        "non_ascii": lambda t: ~t.str.fullmatch(r"[\x20-\x7e]*").fillna(True).to_numpy(dtype=bool),
    }
    text = list(view.table.text_columns)
    # tested once per distinct value; only a column with a failing value is spread to its records
    failing = on_distinct_of_columns(view.table, text, tests[test])
    return [
        Hits(view.table.name, failing[name][view.table.factorized(name)[0]], (name,), view=view)
        for name in text
        if failing[name].any()
    ]


def idvar_exists(view, ctx) -> list[Hits]:
    """CG0370: IDVAR in SUPPxx / RELREC names a variable of the dataset named by RDOMAIN."""
    prepare_names(view, ["RDOMAIN", "IDVAR"])
    pairs = pd.DataFrame({"d": view.column("RDOMAIN"), "v": view.column("IDVAR")})
    known = {
        (d, v)
        for d, v in pairs.drop_duplicates().itertuples(index=False)
        if d in ctx.tables and v in ctx.tables[d].frame.columns
    }
    here = pd.MultiIndex.from_frame(pairs)
    ok = here.isin(pd.MultiIndex.from_tuples(sorted(known), names=["d", "v"])) if known else np.zeros(len(pairs), bool)
    mask = ~view.null("IDVAR") & view.column("RDOMAIN").isin(list(ctx.tables)).to_numpy() & ~np.asarray(ok)
    return [Hits(view.table.name, mask, ("RDOMAIN", "IDVAR"), view=view)]


def qnam_standard(view, ctx) -> list[Hits]:
    """CG0314: a SUPPxx QNAM must not be a variable the IG defines for the parent domain (it belongs
    in the parent dataset)."""
    prepare_names(view, ["RDOMAIN", "QNAM"])
    if ctx.standards is None:
        raise MissingInput("no IG metadata available")
    names: set[str] = set()
    for domain in view.column("RDOMAIN").drop_duplicates():
        parent = ctx.tables.get(domain)
        template = ctx.standards.dataset(parent) if parent is not None else None
        if template is not None:
            names |= {v.name for v in template.variables}
    mask = view.column("QNAM").isin(sorted(names)).to_numpy()
    return [Hits(view.table.name, mask, ("RDOMAIN", "QNAM"), view=view)]


def change_from_baseline(
    view, ctx, change: str = "CHG", value: str = "AVAL", base: str = "BASE", percent: bool = False
) -> list[Hits]:
    """ADaMIG 1.3 section 3.3.5: CHG = AVAL - BASE (PCHG = (AVAL - BASE) / BASE * 100), within a
    rounding tolerance of 1e-6 (relative), wherever CHG is populated.

    The IG defines CHG as a change from baseline and does not require it on the baseline record or
    before it: a null CHG is a finding only on a post-baseline record (a later ADT, or AVISITN, than
    the ABLFL = "Y" record of the subject and parameter), never on the baseline record itself."""
    prepare_names(view, [change, value, base])
    aval, bval = view.column(value).to_numpy("float64"), view.column(base).to_numpy("float64")
    got = view.column(change).to_numpy("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = (aval - bval) / bval * 100 if percent else aval - bval
    close = np.isclose(got, expected, rtol=1e-6, atol=1e-9)
    mask = ~np.isnan(got) & ~np.isnan(expected) & ~close
    mask |= np.isnan(got) & ~np.isnan(expected) & _post_baseline(view)
    return [Hits(view.table.name, mask, (change, value, base), view=view, extra={"expected": expected})]


def _post_baseline(view) -> np.ndarray:
    """True on records after the baseline record (ABLFL = "Y") of their USUBJID, PARAMCD (and BASETYPE),
    by ADT, or AVISITN when there is no ADT. False where that cannot be told."""
    n = len(view.frame)
    if not (view.physically_has("ABLFL") and view.physically_has("USUBJID") and view.physically_has("PARAMCD")):
        return np.zeros(n, dtype=bool)
    when = next((c for c in ("ADT", "AVISITN") if view.physically_has(c)), None)
    if when is None:
        return np.zeros(n, dtype=bool)
    by = [c for c in ("USUBJID", "PARAMCD", "BASETYPE") if view.physically_has(c)]
    moment = pd.to_numeric(view.column(when), errors="coerce").to_numpy("float64")
    is_base = (view.column("ABLFL") == "Y").to_numpy()
    # the latest baseline moment of each group (NaN where none): groupby(by)["_at"].transform("max")
    groups = group_codes(view, by)
    latest = np.full(int(groups.max(initial=-1)) + 1, np.nan)
    np.fmax.at(latest, groups, np.where(is_base, moment, np.nan))
    baseline_at = latest[groups]
    for name in by:  # groupby leaves out the records of a missing key
        baseline_at[view.column(name).isna().to_numpy()] = np.nan
    with np.errstate(invalid="ignore"):
        return ~is_base & ~np.isnan(moment) & ~np.isnan(baseline_at) & (moment > baseline_at)


def analysis_day(view, ctx, day: str = "ADY", date: str = "ADT", reference: str = "TRTSDT") -> list[Hits]:
    """ADaMIG 1.3 section 3.3.3: ADY = ADT - TRTSDT + 1 on or after TRTSDT, ADT - TRTSDT before it
    (no day 0). Numeric SAS dates; TRTSDT from the record or from ADSL."""
    prepare_names(view, [day, date])
    if not view.has(reference):
        if not view.join("ADSL", [reference]):
            raise MissingInput(f"no {reference} here or in ADSL")
        reference = f"ADSL.{reference}"
    diff = view.column(date).to_numpy("float64") - view.column(reference).to_numpy("float64")
    expected = np.where(diff >= 0, diff + 1, diff)
    got = view.column(day).to_numpy("float64")
    mask = ~np.isnan(got) & ~np.isnan(expected) & (got != expected)
    return [Hits(view.table.name, mask, (day, date, reference), view=view, extra={"expected": expected})]


def visit_chronology(view, ctx) -> list[Hits]:
    """SDTMIG 3.4 4.4.5: VISITNUM orders a subject's visits in time. A visit is flagged when it
    starts (SVSTDTC, date part) before a visit of the same subject with a lower VISITNUM."""
    prepare_names(view, ["USUBJID", "VISITNUM", "SVSTDTC"])
    frame = pd.DataFrame(
        {
            "USUBJID": view.column("USUBJID").to_numpy(),
            "VISITNUM": pd.to_numeric(view.column("VISITNUM"), errors="coerce").to_numpy(),
            "DAY": pd.to_datetime(
                view.column("SVSTDTC").astype(str).str[:10], format="%Y-%m-%d", errors="coerce"
            ).to_numpy(),
        }
    )
    ordered = frame.dropna(subset=["DAY", "VISITNUM"]).sort_values(["USUBJID", "VISITNUM"], kind="mergesort")
    # the latest start among the subject's lower-numbered visits
    latest_so_far = ordered.groupby("USUBJID")["DAY"].cummax()
    latest_before = latest_so_far.groupby(ordered["USUBJID"]).shift(1)
    late = ordered.index[(ordered["DAY"] < latest_before).to_numpy()]
    mask = np.zeros(len(frame), dtype=bool)
    mask[late] = True
    return [Hits(view.table.name, mask, ("USUBJID", "VISIT", "VISITNUM", "SVSTDTC"), view=view)]


def dictionary_grade(view, ctx, dictionary: str = "ctcae", term: str = "AEDECOD", grade: str = "AETOXGR") -> list[Hits]:
    """SDTMIG 3.4 AE (AETOXGR: the grade on the toxicity scale the study names, TS SEVCRIT / define.xml):
    a grade is one the scale defines for the term it is graded under. The study's dictionary
    (study.yaml ``dictionaries: {ctcae: SOURCE}``) lists those grades per MedDRA PT; a graded record whose
    AEDECOD it does not list is flagged too, since its grade cannot be checked."""
    grades = ctx.dictionaries.get(dictionary)
    if grades is None:
        raise MissingInput(
            f"no {dictionary.upper()} grade dictionary: a study build uses the one study.yaml declares "
            f"(dictionaries: {{{dictionary}: SOURCE}}); sdtmify validate takes --dictionary {dictionary}=FILE"
        )
    term, grade = view.expand(term), view.expand(grade)
    prepare_names(view, [term, grade])
    terms, values = text_or_empty(view.column(term)), text_or_empty(view.column(grade)).str.strip()
    graded = (values != "").to_numpy(dtype=bool)
    known = (terms + "\x00" + values).isin(grades.pairs).to_numpy(dtype=bool)
    defined = terms.map(grades.defined)
    allowed = defined.where(defined.notna(), f"none: the term is not in {Path(grades.file).name}")
    return [Hits(view.table.name, graded & ~known, (term, grade), view=view, extra={"defined": allowed.astype(str)})]


FUNCTIONS: dict[str, Callable[..., list[Hits]]] = {
    "text_values": text_values,
    "idvar_exists": idvar_exists,
    "qnam_standard": qnam_standard,
    "change_from_baseline": change_from_baseline,
    "analysis_day": analysis_day,
    "study_day": study_day,
    "supp_parent": supp_parent,
    "subject_extreme": subject_extreme,
    "element_continuity": element_continuity,
    "best_response": best_response,
    "traceability": traceability,
    "subject_has": subject_has,
    "visit_chronology": visit_chronology,
    "dictionary_grade": dictionary_grade,
}


def function(rule, view, ctx) -> list[Hits]:
    fn = FUNCTIONS[rule.check["name"]]
    prepare(rule, view, [])
    return fn(view, ctx, **dict(rule.check.get("args") or {}))


# ---- study-level functions -------------------------------------------------------------------


def ts_parameters(rule, ctx, tables, params: list[str], when: dict | None = None) -> list[Hits]:
    """FDA Technical Conformance Guide / SDTMIG 7.4: TS must hold these parameters (with TSVAL or
    TSVALNF). ``when`` (a condition on TS) states when the requirement applies, e.g. interventional."""
    ts = ctx.tables.get("TS")
    if ts is None or "TSPARMCD" not in ts.frame.columns:
        raise MissingInput("TS dataset absent")
    view = View(ts, ctx.tables, ("TSVALNF",))
    if when is not None and not evaluate(when, view).any():
        return [Hits("TS", items=[])]
    filled = ~view.null("TSVAL") | ~view.null("TSVALNF") if view.has("TSVAL") else ~view.null("TSVALNF")
    have = set(ts.frame.loc[filled, "TSPARMCD"])
    items = [{"variable": "TSPARMCD", "value": p, "parameter": p} for p in params if p not in have]
    return [Hits("TS", items=items)]


STUDY_FUNCTIONS: dict[str, Callable[..., list[Hits]]] = {
    "ts_parameters": ts_parameters,
    "define_datasets": define_datasets,
    "define_schema": define_schema,
    "define_references": define_references,
    "define_method_texts": define_method_texts,
}


def study_function(rule, ctx, tables) -> list[Hits]:
    return STUDY_FUNCTIONS[rule.check["name"]](rule, ctx, tables, **(rule.check.get("args") or {}))
