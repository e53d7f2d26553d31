"""Tables as CSV, Markdown and HTML, and the self-contained HTML report (figures embedded as PNG).

Text is built by hand, not by pandas' HTML/Markdown writers, so the output is byte-stable across
pandas versions and needs no optional dependency."""

from __future__ import annotations

import base64
import csv
import html
import io

import pandas as pd

CSS = """body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.4}table{border-collapse:collapse;margin:.6em 0 1.4em;font-size:.9em}
th,td{border-bottom:1px solid #ddd;padding:.25em .7em;text-align:left;vertical-align:top}
th{border-bottom:2px solid #444;background:#f5f5f5}caption{text-align:left;font-weight:600;padding:.3em 0}
td.num{text-align:right}.match{color:#1b7837}.within-rounding{color:#8c6d00}.mismatch{color:#b2182b;
font-weight:700}.explained{color:#555}.synthetic{color:#5e3c99}p.note{font-size:.85em;color:#555;margin:.2em 0}
img{max-width:100%;height:auto;border:1px solid #eee;margin:.4em 0 1.2em}"""


def to_csv(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([str(c) for c in frame.columns])
    writer.writerows([["" if v is None else str(v) for v in row] for row in frame.itertuples(index=False)])
    return buffer.getvalue()


def _md_escape(value) -> str:
    return ("" if value is None else str(value)).replace("|", "\\|").replace("\n", " ")


def to_markdown(frame: pd.DataFrame, title: str | None = None, notes: list[str] | None = None) -> str:
    lines = [f"### {title}", ""] if title else []
    lines.append("| " + " | ".join(_md_escape(c) for c in frame.columns) + " |")
    lines.append("|" + "|".join("---" for _ in frame.columns) + "|")
    lines += ["| " + " | ".join(_md_escape(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    lines += [""] + [_md_escape(n).replace("*", "\\*") + "  " for n in notes or []]
    return "\n".join(lines).rstrip() + "\n"


def _looks_numeric(text: str) -> bool:
    core = text.replace(",", "").replace("%", "").replace("+", "").replace("–", "").replace(".", "").strip()
    return core.isdigit()


def _numeric_column(values: pd.Series) -> bool:
    """Right-align a column whose every shown value reads as a number ("—" and blanks aside)."""
    shown = [str(v) for v in values if v is not None and str(v) not in ("", "—")]
    return bool(shown) and all(_looks_numeric(v) for v in shown)


def to_html_table(
    frame: pd.DataFrame, title: str | None = None, notes: list[str] | None = None, row_classes: list[str] | None = None
) -> str:
    """An HTML table; numeric cells right-aligned; ``row_classes`` style whole rows (e.g. by status)."""
    out = ["<table>"]
    if title:
        out.append(f"<caption>{html.escape(title)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns) + "</tr></thead>")
    out.append("<tbody>")
    numeric = [_numeric_column(frame[c]) for c in frame.columns]
    for i, row in enumerate(frame.itertuples(index=False)):
        css = f' class="{row_classes[i]}"' if row_classes else ""
        cells = []
        for value, right in zip(row, numeric, strict=True):
            text = "" if value is None else str(value)
            opening = '<td class="num">' if right else "<td>"
            cells.append(f"{opening}{html.escape(text)}</td>")
        out.append(f"<tr{css}>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    out += [f'<p class="note">{html.escape(n)}</p>' for n in notes or []]
    return "\n".join(out) + "\n"


def html_page(title: str, body: str, footer: str = "") -> str:
    foot = f'<p class="note">{html.escape(footer)}</p>' if footer else ""
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}'
        f"</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{html.escape(title)}</h1>\n{body}{foot}\n"
        "</body>\n</html>\n"
    )


def html_image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">\n'


def status_class(status: str) -> str:
    return status.replace(" ", "-")
