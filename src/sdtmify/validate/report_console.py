"""The console summary: one line per rule and dataset with findings, worst first, then the totals."""

from __future__ import annotations

_RANK = {"error": 0, "warning": 1, "notice": 2}


def console_lines(report: dict, limit: int = 40) -> list[str]:
    s = report["summary"]
    issues = sorted(report["issues"], key=lambda i: (_RANK[i["severity"]], i["rule"], i["dataset"]))
    lines = []
    if issues:
        width = max(len(i["rule"]) for i in issues)
        lines.append(f"{'severity':<8}  {'rule':<{width}}  {'dataset':<8}  {'found':>7}  message")
        for i in issues[:limit]:
            text = _short(i["message"], 80)
            lines.append(f"{i['severity']:<8}  {i['rule']:<{width}}  {i['dataset']:<8}  {i['count']:>7}  {text}")
            if i.get("explanation"):
                lines.append(f"{'':<8}  {'':<{width}}  {'':<8}  {'':>7}  explained: {_short(i['explanation'], 100)}")
        if len(issues) > limit:
            lines.append(f"... {len(issues) - limit} more rule/dataset lines in the reports")
    lines.append(
        f"validation: {s['errors']} errors, {s['warnings']} warnings, {s['notices']} notices; "
        f"{s['rules']} rules: {s['rules_failed']} with findings, {s['rules_passed']} passed, "
        f"{s['rules_skipped']} skipped"
    )
    for rule in report["rules"]:
        if rule.get("skipped_in"):
            lines.append(f"{rule['id']} could not check {_short(rule['skipped_in'], 160)}")
    notes = report.get("notes") or {}
    if notes.get("file"):
        lines.append(
            f"notes: {notes['explained']} findings explained in {notes['file']}, "
            f"{notes['unexplained']} errors and warnings unexplained"
            + (f"; notes for rules without findings: {', '.join(notes['unused'])}" if notes["unused"] else "")
        )
    return lines


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
