"""The console summary, laid out as Pinnacle 21 users read it: one row per rule and dataset with
findings (rule id, severity, dataset, count, message), worst first, then the totals. Nothing is cut:
the console wraps on a terminal, a pipe gets whole lines."""

from __future__ import annotations

from ..console import SEVERITY_STYLE, Console

_RANK = {"error": 0, "warning": 1, "notice": 2}
HEADER = ("rule", "severity", "dataset", "count", "message")


def issue_rows(report: dict, limit: int = 40) -> tuple[list[list[str]], list[str | None]]:
    """The table's rows and their styles; an explanation from validation-notes.yaml is a row of its own
    under the issue it explains."""
    issues = sorted(report["issues"], key=lambda i: (_RANK[i["severity"]], i["rule"], i["dataset"]))
    rows: list[list[str]] = []
    styles: list[str | None] = []
    for i in issues[:limit]:
        rows.append([i["rule"], i["severity"], i["dataset"], str(i["count"]), i["message"]])
        styles.append(SEVERITY_STYLE.get(i["severity"]))
        if i.get("explanation"):
            rows.append(["", "", "", "", f"explained: {i['explanation']}"])
            styles.append("dim")
    return rows, styles


def summary_lines(report: dict, limit: int = 40) -> list[str]:
    """What follows the table: rows left out, the totals, rules that could not check, the notes."""
    s = report["summary"]
    lines = []
    if len(report["issues"]) > limit:
        lines.append(
            f"... {len(report['issues']) - limit} more rule/dataset rows in validation.xlsx and validation.json"
        )
    lines.append(
        f"validation: {s['errors']} errors, {s['warnings']} warnings, {s['notices']} notices; "
        f"{s['rules']} rules: {s['rules_failed']} with findings, {s['rules_passed']} passed, "
        f"{s['rules_skipped']} skipped"
    )
    for rule in report["rules"]:
        if rule.get("skipped_in"):
            lines.append(f"{rule['id']} could not check {rule['skipped_in']}")
    notes = report.get("notes") or {}
    if notes.get("file"):
        lines.append(
            f"notes: {notes['explained']} findings explained in {notes['file']}, "
            f"{notes['unexplained']} errors and warnings unexplained"
            + (f"; notes for rules without findings: {', '.join(notes['unused'])}" if notes["unused"] else "")
        )
    return lines


def print_report(report: dict, ui: Console, limit: int = 40) -> None:
    """The findings table and the totals on stdout (results: shown with -q too)."""
    rows, styles = issue_rows(report, limit)
    if rows:
        ui.table(HEADER, rows, right=(3,), styles=styles)
    for line in summary_lines(report, limit):
        ui.result(line)
