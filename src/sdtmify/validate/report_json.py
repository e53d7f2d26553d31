"""The JSON report: a stable, documented shape (specs/schema/validation-report.schema.json) for CI.

Everything is sorted and carries no wall-clock time, so the same inputs give the same bytes."""

from __future__ import annotations

import json
import math
from pathlib import Path

from .. import __version__
from ..atomic import write_text
from .engine import Validation
from .notes import Notes

SCHEMA_ID = "sdtmify-validation-report/1.0"


def _clean(value):
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return int(value) if value.is_integer() else value
    return value


def report_dict(validation: Validation, *, generated: str, inputs: dict, notes: Notes = Notes()) -> dict:
    """The report; ``notes`` (the study's validation notes) put an explanation beside the rules and
    issues they explain, without changing any count."""
    counts = validation.counts()
    statuses = {s: sum(r.status == s for r in validation.results) for s in ("passed", "failed", "skipped")}
    rules = []
    for r in validation.results:
        rules.append(
            {
                "id": r.rule.id,
                "severity": r.rule.severity,
                "status": r.status,
                "findings": r.count,
                "datasets": list(r.datasets),
                "reason": r.reason,
                "skipped_in": r.skipped_in,
                "description": r.rule.description,
                "message": r.rule.message,
                "authority": {k: str(v) for k, v in sorted(r.rule.authority.items()) if v},
                "check": r.rule.family,
                "file": r.rule.file,
                "explanation": notes.explain(r.rule.id),
            }
        )
    issues = [
        {
            "rule": i.rule,
            "dataset": i.dataset,
            "severity": i.severity,
            "count": int(i.count),
            "message": i.message,
            "explanation": notes.explain(i.rule, i.dataset),
        }
        for i in validation.issues.itertuples()
    ]
    findings = []
    for f in validation.findings.itertuples():
        findings.append(
            {
                "rule": f.rule,
                "severity": f.severity,
                "dataset": f.dataset,
                "row": None if f.row is None or (isinstance(f.row, float) and math.isnan(f.row)) else int(f.row),
                "usubjid": f.usubjid or "",
                "seq": _clean(f.seq),
                "variables": [v for v in (f.variables or "").split(", ") if v],
                "values": str(f.values or ""),
                "message": f.message,
            }
        )
    datasets = [
        {
            "name": t.name,
            "standard": t.standard,
            "class": t.domain_class,
            "file": t.file,
            "records": t.records,
            "variables": len(t.frame.columns),
        }
        for t in sorted(validation.tables.values(), key=lambda t: (t.standard, t.name))
    ]
    return {
        "schema": SCHEMA_ID,
        "tool": {"name": "sdtmify", "version": __version__},
        "generated": generated,
        "inputs": {**inputs, "datasets": datasets},
        "summary": {
            "errors": counts["error"],
            "warnings": counts["warning"],
            "notices": counts["notice"],
            "rules": len(validation.results),
            "rules_passed": statuses["passed"],
            "rules_failed": statuses["failed"],
            "rules_skipped": statuses["skipped"],
        },
        "notes": _notes_summary(notes, issues),
        "rules": rules,
        "issues": issues,
        "findings": findings,
    }


def _notes_summary(notes: Notes, issues: list[dict]) -> dict:
    """How many findings the notes explain, how many warnings and errors stay unexplained, and which
    notes explain nothing (a rule that no longer fires: the note can go)."""
    explained = sum(i["count"] for i in issues if i["explanation"])
    unexplained = sum(i["count"] for i in issues if not i["explanation"] and i["severity"] in ("error", "warning"))
    fired = {i["rule"] for i in issues}
    return {
        "file": Path(notes.file).name if notes.file else "",
        "explained": explained,
        "unexplained": unexplained,
        "unused": sorted(notes.rules() - fired),
    }


def write_json(report: dict, target: Path) -> Path:
    write_text(target, json.dumps(report, indent=1, ensure_ascii=False, sort_keys=False) + "\n")
    return target
