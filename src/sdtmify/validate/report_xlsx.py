"""The Excel report, laid out as reviewers know it from Pinnacle 21 and CORE:
Summary, Issue Summary, Details, Rules. Built from the JSON report dict, so both always agree."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

from ..atomic import atomic_path

# openpyxl is imported where a workbook is written (about a tenth of a second of startup): `sdtmify
# validate` without --report-dir never writes one.
_FILL = {"error": "F8CBAD", "warning": "FFE699", "notice": "DDEBF7"}


def _sheet(book, title, header, rows, widths):
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    ws = book.create_sheet(title)
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(row)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    if rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"
    return ws


def _colour_severity(ws, column: int):
    from openpyxl.styles import PatternFill

    for row in ws.iter_rows(min_row=2, min_col=column, max_col=column):
        fill = _FILL.get(row[0].value)
        if fill:
            row[0].fill = PatternFill("solid", fgColor=fill)


# The Details sheet, as Pinnacle 21 users filter it: our rule id, the CDISC CORE id, the FDA business
# rule or CDISC conformance rule id (FBxxxx, CGxxxx), then where and what was found, and the study's
# explanation from validation-notes.yaml.
DETAILS_HEADER = [
    "Rule ID",
    "CORE ID",
    "FDA/P21 ID",
    "Severity",
    "Dataset",
    "Variable",
    "Record",
    "USUBJID",
    "Seq",
    "Value",
    "Message",
    "Explanation",
]
_RULE_ID = re.compile(r"^(FB|CG)\d{4}$")


def _publisher_ids(authority: dict) -> tuple[str, str]:
    """(CORE id, FDA business rule / CDISC conformance rule ids) of a rule's authority; a reference
    that is not an id (a TCG section) stays in the Rules sheet's Authority column."""
    core = authority.get("core", "")
    others = [authority[k] for k in ("fda", "cg") if _RULE_ID.match(authority.get(k, ""))]
    return core, "; ".join(others)


def write_xlsx(report: dict, target: Path, created: dt.datetime) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    s = report["summary"]
    inputs = report["inputs"]
    summary = [
        ["Tool", f"{report['tool']['name']} {report['tool']['version']}"],
        ["Generated", report["generated"]],
        ["Data", inputs.get("path", "")],
        ["Define-XML", ", ".join(inputs.get("define", [])) or "(none)"],
        ["Controlled terminology", inputs.get("ct") or "(none)"],
        ["Errors", s["errors"]],
        ["Warnings", s["warnings"]],
        ["Notices", s["notices"]],
        ["Rules run", s["rules_passed"] + s["rules_failed"]],
        ["Rules with findings", s["rules_failed"]],
        ["Rules skipped", s["rules_skipped"]],
        ["Validation notes", (report.get("notes") or {}).get("file") or "(none)"],
        ["Findings explained", (report.get("notes") or {}).get("explained", 0)],
        [],
        ["Dataset", "Standard", "Class", "Records", "Errors", "Warnings", "Notices"],
    ]
    per: dict[str, dict[str, int]] = {}
    for issue in report["issues"]:
        per.setdefault(issue["dataset"], {"error": 0, "warning": 0, "notice": 0})[issue["severity"]] += issue["count"]
    for ds in inputs["datasets"]:
        c = per.get(ds["name"], {"error": 0, "warning": 0, "notice": 0})
        summary.append([ds["name"], ds["standard"], ds["class"], ds["records"], c["error"], c["warning"], c["notice"]])
    ws = _sheet(book, "Summary", ["Item", "Value"], summary, [26, 60, 18, 10, 10, 10, 10])
    ws.freeze_panes = None
    ids = {r["id"]: _publisher_ids(r["authority"]) for r in report["rules"]}
    explained = {(i["rule"], i["dataset"]): i.get("explanation", "") for i in report["issues"]}
    ws = _sheet(
        book,
        "Issue Summary",
        ["Rule ID", "CORE ID", "FDA/P21 ID", "Severity", "Dataset", "Found", "Message", "Explanation"],
        [
            [
                i["rule"],
                *ids[i["rule"]],
                i["severity"],
                i["dataset"],
                i["count"],
                i["message"],
                i.get("explanation", ""),
            ]
            for i in sorted(report["issues"], key=lambda i: (i["dataset"], i["rule"]))
        ],
        [12, 14, 16, 10, 10, 10, 90, 90],
    )
    _colour_severity(ws, 4)
    ws = _sheet(
        book,
        "Details",
        DETAILS_HEADER,
        [
            [
                f["rule"],
                *ids[f["rule"]],
                f["severity"],
                f["dataset"],
                ", ".join(f["variables"]),
                f["row"],
                f["usubjid"],
                f["seq"],
                f["values"],
                f["message"],
                explained.get((f["rule"], f["dataset"]), ""),
            ]
            for f in report["findings"]
        ],
        [12, 14, 16, 10, 10, 24, 8, 16, 8, 40, 90, 60],
    )
    _colour_severity(ws, 4)
    ws = _sheet(
        book,
        "Rules",
        [
            "Rule",
            "Severity",
            "Status",
            "Findings",
            "Authority",
            "Check",
            "Description",
            "Reason skipped",
            "Catalogue file",
            "Explanation",
        ],
        [
            [
                r["id"],
                r["severity"],
                r["status"],
                r["findings"],
                "; ".join(f"{k}: {v}" for k, v in r["authority"].items()),
                r["check"],
                r["description"],
                r["reason"] or r.get("skipped_in", ""),
                r["file"],
                r.get("explanation", ""),
            ]
            for r in report["rules"]
        ],
        [12, 10, 10, 10, 36, 22, 80, 50, 18, 80],
    )
    _colour_severity(ws, 2)
    book.properties.created = created
    book.properties.modified = created
    book.properties.creator = "sdtmify"
    with atomic_path(target) as tmp:
        book.save(tmp)
        _fix_zip_times(tmp, created)
    return target


def _fix_zip_times(path: Path, when: dt.datetime) -> None:
    """openpyxl stamps the zip members and docProps "modified" with the wall clock on save; rewrite
    both with ``when`` so the same inputs give the same bytes."""
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    iso = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path) as src:
        members = [(info, src.read(info.filename)) for info in src.infolist()]
    members = [
        (
            info,
            re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + iso + rb"\g<2>", data)
            if info.filename == "docProps/core.xml"
            else data,
        )
        for info, data in members
    ]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in members:
            fixed = zipfile.ZipInfo(info.filename, date_time=stamp)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            out.writestr(fixed, data)
