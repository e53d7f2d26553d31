"""Run the rule catalogue on a set of tables: every rule ends passed, failed or skipped (with why).

Checks return :class:`Hits` (a boolean mask over a dataset's records, or dataset-level items);
the engine counts them exactly and keeps at most ``max_details`` detailed findings per rule, so
formatting messages never scales with the number of records."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import SpecError
from .checks import CHECKS, STUDY_LEVEL
from .conditions import MissingDataset, MissingInput, View
from .context import CodelistLookup, IGStandards
from .data import Table
from .hits import Hits
from .rules import Rule

SEVERITY_ORDER = {"error": 0, "warning": 1, "notice": 2}


@dataclass
class Context:
    """What checks may consult besides the tables: IG metadata, CT, define.xml."""

    tables: dict[str, Table]
    standards: IGStandards | None = None  # .dataset(table) -> metadata.model.Dataset | None
    ct: CodelistLookup | None = None  # .codelist(code) -> metadata.model.CodeList | None
    define: dict = field(default_factory=dict)  # standard -> metadata.model.StudyMetadata
    # Tables read only to resolve references (the SDTM predecessors of an ADaM folder, --sdtm):
    # look-ups see them, rules do not check them.
    references: frozenset = frozenset()
    define_files: dict = field(default_factory=dict)  # standard -> Path of the define.xml read
    # Study dictionaries (study.yaml dictionaries:, validate/dictionaries.py): kind -> dictionary
    dictionaries: dict = field(default_factory=dict)

    def validated(self) -> dict[str, Table]:
        """The tables rules check: every table but the references."""
        return {name: t for name, t in self.tables.items() if name not in self.references}


@dataclass
class RuleResult:
    rule: Rule
    status: str  # passed | failed | skipped
    count: int = 0
    datasets: tuple[str, ...] = ()
    reason: str = ""
    seconds: float = 0.0
    records: int = 0  # records examined (for the benchmark)
    skipped_in: str = ""  # datasets the rule could not check while it ran on others, and why
    # the reasons of the datasets skipped for want of another dataset, whether the rule ran elsewhere or
    # not (skipped_in says them only when it did): partitioned runs (validate/partition.py) merge on them
    lacking: tuple[str, ...] = ()


class _SafeValues(dict):
    def __missing__(self, key):
        return f"<{key}>"


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def fill(template: str, values: dict) -> str:
    """Put values into a message template: ``{AESER}``, ``{DM.RFSTDTC}``, ``{next SESTDTC}``.

    Not str.format: names may hold dots and blanks, and a missing name shows as <name>."""
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)] if m.group(1) in values else f"<{m.group(1)}>", template)


def _text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def run_rule(rule: Rule, ctx: Context) -> tuple[RuleResult, list[Hits]]:
    """Run one rule on every dataset in its scope."""
    started = time.perf_counter()
    check = CHECKS[rule.check_type]
    validated = ctx.validated()
    in_scope = [t for t in validated.values() if rule.applies_to(t.name, t.standard, t.domain_class)]
    hits: list[Hits] = []
    checked: list[str] = []
    reasons: list[str] = []
    lacking: list[str] = []  # datasets skipped for want of another dataset, or because the check failed
    records = 0
    if rule.check_type in STUDY_LEVEL:
        if rule.standard != "any" and not any(t.standard == rule.standard for t in validated.values()):
            # a study-level SDTM rule has nothing to say about a folder of ADaM datasets, and vice versa
            reasons.append(f"no {rule.standard} dataset validated")
        else:
            try:
                hits = check(rule, ctx, in_scope)
                checked = sorted({t.name for t in in_scope} | {h.dataset for h in hits}) or ["(study)"]
                records = sum(t.records for t in in_scope)
            except MissingInput as exc:
                reasons.append(str(exc))
    else:
        if not in_scope:
            reasons.append(_scope_text(rule))
        for table in in_scope:
            view = View(table, ctx.tables, tuple(rule.check.get("optional", ())))
            try:
                found = check(rule, view, ctx)
            except MissingInput as exc:
                reasons.append(f"{table.name}: {exc}")
                if isinstance(exc, MissingDataset):
                    lacking.append(reasons[-1])
                continue
            except SpecError:
                raise  # a shipped spec the rule needs cannot be read: the whole run stops (exit 2)
            except MemoryError:
                raise  # out of memory ends the run (exit 2); it is not one rule's defect
            except Exception as exc:  # a defect must not stop the other rules; it is reported, not hidden
                reasons.append(f"{table.name}: could not run ({type(exc).__name__}: {exc}); please report")
                lacking.append(reasons[-1])  # said even when the rule ran on other datasets
                continue
            checked.append(table.name)
            records += table.records
            hits.extend(h for h in found if h.count)
    hits = [h for h in hits if h.count]
    count = sum(h.count for h in hits)
    skipped_in = ""
    if checked:
        status = "failed" if count else "passed"
        reason = ""
        # a rule that ran on some datasets says which it could not check: never silently passed there
        skipped_in = "; ".join(lacking)
    else:
        status = "skipped"
        reason = "; ".join(reasons) or _scope_text(rule)
    return RuleResult(
        rule, status, count, tuple(checked), reason, time.perf_counter() - started, records, skipped_in, tuple(lacking)
    ), hits


def _scope_text(rule: Rule) -> str:
    parts = [rule.standard if rule.standard != "any" else "any standard"]
    if rule.scope.get("datasets"):
        parts.append("datasets " + ", ".join(rule.scope["datasets"]))
    if rule.scope.get("classes"):
        parts.append("classes " + ", ".join(rule.scope["classes"]))
    return "no dataset in scope (" + "; ".join(parts) + ")"


FINDING_COLUMNS = ["rule", "severity", "dataset", "row", "usubjid", "seq", "variables", "values", "message"]


def details(rule: Rule, hits: list[Hits], limit: int) -> pd.DataFrame:
    """At most ``limit`` findings of one rule as rows of the Details table (row is 1-based)."""
    out: list[dict] = []
    for hit in hits:
        if len(out) >= limit:
            break
        room = limit - len(out)
        severity = hit.severity or rule.severity
        if hit.mask is not None:
            out.extend(_row_details(rule, hit, severity, room))
        else:
            prefix = hit.dataset[:2] if rule.standard == "SDTM" and not hit.dataset.startswith("SUPP") else ""
            template = rule.message.replace("--", prefix)
            for item in (hit.items or [])[:room]:
                values = _SafeValues({k: _text(v) for k, v in item.items()})
                values.setdefault("dataset", hit.dataset)
                variables = item.get("variable", "")
                out.append(
                    {
                        "rule": rule.id,
                        "severity": item.get("severity", severity),
                        "dataset": hit.dataset,
                        "row": None,
                        "usubjid": "",
                        "seq": None,
                        "variables": variables,
                        "values": _text(item.get("value", "")),
                        "message": fill(template, values),
                    }
                )
    return pd.DataFrame(out, columns=FINDING_COLUMNS)


ABSENT = "<not in dataset>"


def _readable(view: View, name: str) -> bool:
    """A value to show: the column exists. An absent ``optional`` variable reads as null for the
    check, but a message must not call it null (an absent Perm/Cond variable is not an empty one)."""
    return view.has(name) and (view.physically_has(name) or view.expand(name) not in view.optional)


def _row_details(rule: Rule, hit: Hits, severity: str, room: int) -> list[dict]:
    view, mask = hit.view, hit.mask
    if view is None or mask is None:  # a check's mistake, not the data's
        raise TypeError(f"rule {rule.id}: a record-level hit on {hit.dataset} needs both its mask and its view")
    positions = np.flatnonzero(mask)[:room]
    frame = view.frame
    shown = [view.expand(v) for v in hit.show]
    columns = {}
    for name in shown:
        if name in hit.extra:
            columns[name] = np.asarray(hit.extra[name])[positions]
        elif _readable(view, name):
            columns[name] = view.column(name).to_numpy()[positions]
        else:
            columns[name] = np.full(len(positions), ABSENT, dtype=object)
    for name, series in hit.extra.items():
        if name not in columns:
            columns[name] = np.asarray(series)[positions]
    template = rule.message.replace("--", view.table.prefix)
    for name in _PLACEHOLDER.findall(template):  # the message may name variables it does not show
        if name not in columns and view.has(name):
            columns[name] = (
                view.column(name).to_numpy()[positions]
                if _readable(view, name)
                else np.full(len(positions), ABSENT, dtype=object)
            )
    usubjid = frame["USUBJID"].to_numpy()[positions] if "USUBJID" in frame.columns else [""] * len(positions)
    seq_name = f"{view.table.prefix}SEQ" if view.table.prefix else "ASEQ"
    seq = frame[seq_name].to_numpy()[positions] if seq_name in frame.columns else [None] * len(positions)
    rows = []
    # Bounded by max_errors_per_rule: formatting the messages of the kept findings only.
    for i, pos in enumerate(positions):
        seq_value = seq[i]
        values = _SafeValues({name: _text(col[i]) for name, col in columns.items()})
        values["dataset"] = hit.dataset
        values["prefix"] = view.table.prefix
        values["variables"] = ", ".join(shown)
        values["values"] = ", ".join(values[name] for name in shown)
        rows.append(
            {
                "rule": rule.id,
                "severity": severity,
                "dataset": hit.dataset,
                "row": int(pos) + 1,
                "usubjid": _text(usubjid[i]),
                "seq": None if seq_value is None or _text(seq_value) == "" else float(seq_value),
                "variables": ", ".join(shown),
                "values": ", ".join(values[name] for name in shown),
                "message": fill(template, values),
            }
        )
    return rows


@dataclass
class Validation:
    """Everything a report needs: per-rule results, per rule/dataset counts, capped details."""

    results: list[RuleResult]
    issues: pd.DataFrame  # rule, dataset, severity, count, message (one per rule x dataset)
    findings: pd.DataFrame  # FINDING_COLUMNS, capped per rule
    tables: dict[str, Table]

    def counts(self) -> dict[str, int]:
        """Number of findings per severity (exact, not capped)."""
        out = {sev: 0 for sev in SEVERITY_ORDER}
        for row in self.issues.itertuples():
            out[row.severity] += int(row.count)
        return out


def _last_rules(rules: list[Rule], ctx: Context) -> dict[int, list[Table]]:
    """For each rule, the validated tables no later rule has in its scope: their per-column caches can
    go once it is done (peak memory is then that of the tables still being checked, not of all)."""
    last: dict[str, int] = {}
    tables = ctx.validated()
    for i, rule in enumerate(rules):
        for table in tables.values():
            if rule.applies_to(table.name, table.standard, table.domain_class):
                last[table.name] = i
    done: dict[int, list[Table]] = {}
    for name, i in last.items():
        done.setdefault(i, []).append(tables[name])
    return done


def run_rules(rules: list[Rule], ctx: Context, max_details: int = 1000) -> Validation:
    results, issues, found = [], [], []
    done = _last_rules(rules, ctx)
    for i, rule in enumerate(rules):
        result, hits = run_rule(rule, ctx)
        results.append(result)
        issues.extend(issue_rows(rule, hits))
        if hits and max_details > 0:
            found.append(details(rule, hits, max_details))
        del hits
        for table in done.get(i, ()):
            table.release()
    return assemble(results, issues, found, ctx.validated())


def issue_rows(rule: Rule, hits: list[Hits]) -> list[dict]:
    """One Issues row per hit: rule, dataset, severity, exact count, the rule's description."""
    return [
        {
            "rule": rule.id,
            "dataset": hit.dataset,
            "severity": hit.severity or rule.severity,
            "count": hit.count,
            "message": rule.description,
        }
        for hit in hits
    ]


def assemble(
    results: list[RuleResult], issues: list[dict], found: list[pd.DataFrame], tables: dict[str, Table]
) -> Validation:
    """The Validation of ``results`` in catalogue order: Issues summed per rule and dataset, Details sorted.
    A serial run and a partitioned one (validate/partition.py) both end here, so they give the same report."""
    issue_frame = pd.DataFrame(issues, columns=["rule", "dataset", "severity", "count", "message"])
    if len(issue_frame):
        issue_frame = issue_frame.groupby(["rule", "dataset", "severity", "message"], as_index=False, sort=True)[
            "count"
        ].sum()[["rule", "dataset", "severity", "count", "message"]]
    findings = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=FINDING_COLUMNS)
    if len(findings):
        findings = findings.sort_values(
            ["rule", "dataset", "row", "variables"], na_position="first", kind="stable"
        ).reset_index(drop=True)
    return Validation(results, issue_frame, findings, tables)
