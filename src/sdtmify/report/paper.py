"""`sdtmify report`: a study's published results recomputed from its ADaM XPT files on disk.

report.yaml declares the population, per-subject values, tables, statistics and figures and maps
each recomputed cell to its published value; this module runs them in that order, compares, and
writes ``report/`` (tables as CSV, Markdown and HTML; figures as PNG; a comparison; report.html)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import __version__
from ..atomic import atomic_dir, checkpoint
from ..console import QUIET, Console
from ..guard import updating
from ..paths import output_dir
from ..study import load_study
from ..studyspec.report import YamlDocument, load_report_spec, load_yaml
from ..yamlio import suggest
from . import figures as figs
from . import render
from .adam import AdamMissing, read_adam
from .cells import Cell, Table
from .codes import shared_codes
from .compare import (
    EXPLAINED,
    MATCH,
    MISMATCH,
    ROUNDING,
    SYNTHETIC,
    Comparison,
    PublishedPathError,
    compare_cell,
    comparison_frame,
    unexplained,
)
from .select import UnknownVariable, lookup, where_mask
from .stats import compute_statistic
from .subjects import add_subject_values
from .tables import STATISTIC_LABELS, listing_table, summary_table, worst_grade_table

_VARIABLE = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
DEFAULT_RULES = {"summary": "exact", "listing": "exact", "worst_grade": "percent_of_n"}
NOT_COMPARED = "No published values compared: report.yaml declares none (published: false)."


@contextlib.contextmanager
def entry(document: YamlDocument, *path) -> Iterator[None]:
    """Turn a variable the data lacks (:class:`~sdtmify.report.select.UnknownVariable`) or an impossible
    request in one report.yaml entry into an error naming that entry's file, line and key path.

    A KeyError is not caught: the spec was validated, so one means a bug, and it keeps its traceback."""
    try:
        yield
    except UnknownVariable as exc:
        raise document.error(
            f"{exc}; check the name against the ADaM dataset (or a subject_values entry)", *path
        ) from exc
    except (ValueError, TypeError) as exc:
        raise document.error(str(exc), *path) from exc


@dataclass
class Report:
    """Everything recomputed, before it is written."""

    title: str
    subjects: pd.DataFrame
    tables: dict[str, Table] = field(default_factory=dict)
    statistics: dict[str, dict[str, Cell]] = field(default_factory=dict)
    figures: dict[str, figs.Figure] = field(default_factory=dict)
    comparisons: list[Comparison] = field(default_factory=list)

    @property
    def cells(self) -> dict[str, Cell]:
        every = {}
        for table in self.tables.values():
            every.update(table.cells)
        for cells in self.statistics.values():
            every.update(cells)
        return every


def datasets_used(spec: Mapping) -> list[str]:
    """Every ADaM dataset report.yaml reads, population first."""
    names = [spec["population"]["dataset"]]
    for group in ("subject_values", "tables", "figures"):
        for item in (spec.get(group) or {}).values():
            if item.get("dataset"):
                names.append(item["dataset"])
    return list(dict.fromkeys(names))


def referenced_names(spec) -> set[str]:
    """Every key and text in report.yaml that could name a variable (upper case, up to 8 characters).

    Over-inclusive on purpose (a value such as "PD" is kept if a dataset had such a column): it only
    decides which columns are worth reading."""
    found: set[str] = set()
    stack = [spec]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and _VARIABLE.match(item):
            found.add(item)
    return found


def population_frame(spec: Mapping, datasets: Mapping[str, pd.DataFrame], document: YamlDocument) -> pd.DataFrame:
    """The analysis population (ADSL records meeting ``population.where``), one row per subject."""
    pop = spec["population"]
    with entry(document, "population"):
        frame = datasets[pop["dataset"]]
        frame = frame.loc[where_mask(frame, pop.get("where"))].reset_index(drop=True)
        subject = spec["subject"]
        duplicated = lookup(frame, subject).duplicated()
        if duplicated.any():
            doubled = ", ".join(map(str, frame.loc[duplicated, subject]))
            raise ValueError(
                f"{pop['dataset']} has more than one record for {subject} {doubled}: "
                "the population needs one record per subject"
            )
    return frame


def recompute(
    spec: Mapping, datasets: Mapping[str, pd.DataFrame], document: YamlDocument, published: YamlDocument | None
) -> Report:
    """All tables, statistics, figures and comparisons declared in report.yaml."""
    subject = spec["subject"]
    subjects = population_frame(spec, datasets, document)
    for name, rule in (spec.get("subject_values") or {}).items():
        with entry(document, "subject_values", name):
            subjects = add_subject_values(subjects, datasets, {name: rule}, subject)
    report = Report(spec["title"], subjects)
    for table_id, table_spec in (spec.get("tables") or {}).items():
        with entry(document, "tables", table_id):
            kind = table_spec["kind"]
            if kind == "summary":
                report.tables[table_id] = summary_table(table_id, table_spec, subjects)
            elif kind == "listing":
                report.tables[table_id] = listing_table(table_id, table_spec, subjects)
            else:
                report.tables[table_id] = worst_grade_table(
                    table_id, table_spec, subjects, datasets[table_spec["dataset"]], subject
                )
    for stat_id, stat_spec in (spec.get("statistics") or {}).items():
        with entry(document, "statistics", stat_id):
            report.statistics[stat_id] = compute_statistic(stat_id, stat_spec, subjects)
    for figure_id, figure_spec in (spec.get("figures") or {}).items():
        with entry(document, "figures", figure_id):
            kind = figure_spec["kind"]
            if kind == "swimmer":
                report.figures[figure_id] = figs.swimmer_plot(figure_spec, subjects)
            elif kind == "timecourse":
                report.figures[figure_id] = figs.timecourse_plot(
                    figure_spec, subjects, datasets[figure_spec["dataset"]], subject
                )
            else:
                table = report.tables.get(figure_spec["table"])
                if table is None:
                    raise document.error(
                        f"table '{figure_spec['table']}' is not declared under tables"
                        f"{suggest(figure_spec['table'], report.tables)}",
                        "figures",
                        figure_id,
                        "table",
                    )
                report.figures[figure_id] = figs.grouped_bar_chart(figure_spec, table)
    report.comparisons = compare_all(spec, report, document, published)
    return report


# --- comparison plan -------------------------------------------------------------------------


@dataclass
class Planned:
    """One cell to compare, where report.yaml asks for it."""

    cell: str
    path: str
    rule: str
    explain: str | None
    ongoing: str | None
    where: tuple


def _entries(published, default_rule: str, base_key: str, where: tuple) -> Iterator[Planned]:
    """``published: path`` compares the cell ``base_key``; ``published: {suffix: path | {path, rule,
    explain}}`` compares ``base_key/suffix`` for each suffix."""
    if isinstance(published, str):
        yield Planned(base_key, published, default_rule, None, None, where)
        return
    for suffix, target in published.items():
        key = f"{base_key}/{suffix}"
        if isinstance(target, str):
            yield Planned(key, target, default_rule, None, None, (*where, suffix))
        else:
            yield Planned(
                key,
                target["path"],
                target.get("rule", default_rule),
                target.get("explain"),
                target.get("ongoing"),
                (*where, suffix),
            )


def compares(spec: Mapping) -> bool:
    """False when report.yaml says ``published: false``: no publication to reproduce (a synthetic study)."""
    return spec.get("published") is not False


def plan(spec: Mapping, report: Report) -> list[Planned]:
    """Every comparison report.yaml declares, in the order it declares them (none with ``published: false``)."""
    planned: list[Planned] = []
    if not compares(spec):
        return planned
    for table_id, table_spec in (spec.get("tables") or {}).items():
        rule = DEFAULT_RULES[table_spec["kind"]]
        if table_spec["kind"] == "summary":
            for i, row in enumerate(table_spec["rows"]):
                items = [*[s for s in row.get("statistics", []) if isinstance(s, Mapping)], *row.get("categories", [])]
                for item in items:
                    if not isinstance(item, Mapping) or "published" not in item:
                        continue
                    name = item.get("label") or _statistic_label(item.get("statistic"))
                    where = ("tables", table_id, "rows", i)
                    planned += _entries(
                        item["published"], item.get("rule", rule), f"{table_id}/{row['label']}/{name}", where
                    )
            continue
        published = table_spec.get("published")
        if not published:
            continue
        rows_of = {key.split("/")[1] for key in report.tables[table_id].cells}
        rule = published.get("rule", rule)
        explained = published.get("explain", {}) or {}
        for row_key in sorted(rows_of):
            base = published["path"].format(key=published.get("keys", {}).get(row_key, row_key))
            for label, target in published["columns"].items():
                target = {"field": target} if isinstance(target, str) else target
                cell = f"{table_id}/{row_key}/{label}"
                ongoing = f"{base}.{target['ongoing']}" if target.get("ongoing") else None
                planned.append(
                    Planned(
                        cell,
                        f"{base}.{target['field']}",
                        target.get("rule", rule),
                        explained.get(cell),
                        ongoing,
                        ("tables", table_id, "published"),
                    )
                )
    for stat_id, stat_spec in (spec.get("statistics") or {}).items():
        if "published" in stat_spec:
            planned += _entries(
                stat_spec["published"], stat_spec.get("rule", "exact"), stat_id, ("statistics", stat_id, "published")
            )
    for i, item in enumerate(spec.get("compare") or []):
        planned.append(
            Planned(
                item["cell"],
                item["published"],
                item.get("rule", "exact"),
                item.get("explain"),
                item.get("ongoing"),
                ("compare", i),
            )
        )
    return planned


def _statistic_label(name: str | None) -> str:
    return STATISTIC_LABELS.get(str(name), str(name))


def compare_all(
    spec: Mapping, report: Report, document: YamlDocument, published: YamlDocument | None
) -> list[Comparison]:
    cells = report.cells
    rows: list[Comparison] = []
    if published is None:
        return rows
    for item in plan(spec, report):
        if item.cell not in cells:
            near = sorted(k for k in cells if k.split("/")[0] == item.cell.split("/")[0])[:8]
            raise document.error(
                f"no recomputed result '{item.cell}' to compare"
                f"{'; results of that entry: ' + ', '.join(near) if near else ''}",
                *item.where,
            )
        try:
            rows.append(
                compare_cell(cells[item.cell], item.path, published.data, item.rule, item.explain, item.ongoing)
            )
        except PublishedPathError as exc:
            raise document.error(
                f"published value for '{item.cell}' not found in {published.file.name}: {exc}", *item.where
            ) from exc
    return rows


# --- writing ---------------------------------------------------------------------------------


def headline_frame(spec: Mapping, report: Report) -> pd.DataFrame:
    """Each statistic's cells beside the published value they are compared with."""
    judged = {c.cell: c for c in report.comparisons}
    lines = []
    for stat_id, cells in report.statistics.items():
        label = spec["statistics"][stat_id].get("label", stat_id)
        for key, cell in cells.items():
            comparison = judged.get(key)
            if cell.detail and comparison is None:
                continue  # denominators and group medians: in cells.csv, not headlined
            lines.append(
                [
                    label,
                    key[len(stat_id) + 1 :] or stat_id,
                    cell.display,
                    "" if comparison is None else str(comparison.published),
                    "" if comparison is None else comparison.status,
                    "" if comparison is None else comparison.note,
                ]
            )
            label = ""
    return pd.DataFrame(
        lines, columns=["Statistic", "Result", "Recomputed", "Published", "Status", "Note"], dtype=object
    )


def cells_frame(report: Report) -> pd.DataFrame:
    """Every recomputed result, machine-readable: key, value, display, count and denominator."""
    return pd.DataFrame(
        [
            [
                c.key,
                "" if c.value is None else str(c.value),
                c.display,
                "" if c.count is None else str(c.count),
                "" if c.n is None else str(c.n),
                "Y" if c.censored else "",
                c.synthetic or "",
            ]
            for c in report.cells.values()
        ],
        columns=["KEY", "VALUE", "DISPLAY", "COUNT", "N", "CENSORED", "SYNTHETIC"],
        dtype=object,
    )


def _status_counts(comparisons: list[Comparison]) -> str:
    counts = pd.Series([c.status for c in comparisons], dtype=object).value_counts()
    order = [MATCH, ROUNDING, EXPLAINED, SYNTHETIC, MISMATCH]
    return ", ".join(f"{int(counts[status])} {status}" for status in order if status in counts.index)


def write_report(report: Report, spec: Mapping, folder: Path, footer: str) -> list[Path]:
    """Every output file of the report under ``folder`` (already a temporary folder)."""
    written: list[Path] = []

    def put(name: str, content: str | bytes) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="\n")
        written.append(path)
        checkpoint(f"report-{len(written)}")  # a crash test may kill the report here (atomic.checkpoint)

    summary = (
        f"{len(report.comparisons)} published values compared: {_status_counts(report.comparisons)}; "
        f"{unexplained(report.comparisons)} unexplained mismatch(es)."
        if compares(spec)
        else NOT_COMPARED
    )
    body = [
        f"<p>{render.html.escape(spec.get('description', ''))}</p>\n" if spec.get("description") else "",
        f"<p><strong>{render.html.escape(summary)}</strong></p>\n",
    ]
    markdown = [f"# {report.title}", "", f"**{summary}**", ""]
    for table_id, table in report.tables.items():
        put(f"{table_id}.csv", render.to_csv(table.frame))
        put(f"{table_id}.md", render.to_markdown(table.frame, table.title, table.notes))
        fragment = render.to_html_table(table.frame, None, table.notes)
        put(f"{table_id}.html", render.html_page(table.title, fragment, footer))
        body.append(f"<h2>{render.html.escape(table.title)}</h2>\n{fragment}")
        markdown.append(render.to_markdown(table.frame, table.title, table.notes))
    headline = headline_frame(spec, report)
    put("headline.csv", render.to_csv(headline))
    put("headline.md", render.to_markdown(headline, "Headline results"))
    body.append(
        "<h2>Headline results</h2>\n"
        + render.to_html_table(headline, None, None, [render.status_class(s) for s in headline["Status"]])
    )
    markdown.append(render.to_markdown(headline, "Headline results"))
    for figure_id, drawn in report.figures.items():
        title = spec["figures"][figure_id]["title"]
        put(f"figures/{figure_id}.png", drawn.png)
        note = f"<p><em>{render.html.escape(drawn.note)}</em></p>\n" if drawn.note else ""
        body.append(f"<h2>{render.html.escape(title)}</h2>\n" + note + render.html_image(drawn.png, title))
        markdown.append(
            f"### {title}\n\n"
            + (f"*{drawn.note}*\n\n" if drawn.note else "")
            + f"![{title}](figures/{figure_id}.png)\n"
        )
    put("cells.csv", render.to_csv(cells_frame(report)))
    comparison = comparison_frame(report.comparisons)
    put("comparison.csv", render.to_csv(comparison))
    put("comparison.md", render.to_markdown(comparison, "Comparison with the published values", [summary]))
    body.append(
        "<h2>Comparison with the published values</h2>\n"
        + render.to_html_table(comparison, None, [summary], [render.status_class(s) for s in comparison["Status"]])
    )
    markdown.append(render.to_markdown(comparison, "Comparison with the published values", [summary]))
    put("report.md", "\n".join(markdown) + f"\n*{footer}*\n")
    put("report.html", render.html_page(report.title, "".join(body), footer))
    return written


def build_report(
    study,
    adam_dir: Path,
    out_dir: Path,
    ui: Console = QUIET,
    encoding: str | None = None,
    datasets: Mapping[Path, tuple] | None = None,
) -> tuple[list[Path], int | None]:
    """Recompute the study's report from the ADaM XPT files in ``adam_dir``; write ``out_dir``
    atomically. Returns the paths written and the number of unexplained mismatches (None when report.yaml
    says ``published: false``: nothing compared).

    ``datasets``: what reading some of those files gives, ``{path: (frame, Dataset)}``, already in memory
    (``sdtmify build`` passes the frames it has just written, see ``writers.readback``)."""
    document = load_report_spec(study.folder / "report.yaml")
    spec = document.data
    published = None
    if compares(spec):
        published_file = study.folder / spec.get("published", "published.yaml")
        if not published_file.is_file():
            raise document.error(
                f"published values file {published_file.name} not found in {study.folder}", "published"
            )
        published = load_yaml(published_file)
    with shared_codes():  # each text column factorized once for all the conditions on it
        frames = read_adam(
            Path(adam_dir), datasets_used(spec), keep=referenced_names(spec), encoding=encoding, given=datasets
        )
        ui.debug(f"report: read {', '.join(f'{k} ({len(v)} records)' for k, v in frames.items())}")
        report = recompute(spec, frames, document, published)
        del frames
    stamp = study.timestamp.isoformat(sep=" ") if getattr(study, "timestamp", None) else ""
    provenance = getattr(study, "provenance", "")
    footer = (
        f"Recomputed by sdtmify {__version__} from the ADaM XPT files of {study.name}"
        f"{'; build time ' + stamp if stamp else ''}."
        f"{' Data: ' + provenance.rstrip('.') + '.' if provenance else ''}"
    )
    with atomic_dir(out_dir) as tmp:
        relative = write_report(report, spec, tmp, footer)
    written = [Path(out_dir) / p.relative_to(tmp) for p in relative]
    if published is None:
        ui.info(f"report: {NOT_COMPARED}")
        return written, None
    mismatches = unexplained(report.comparisons)
    ui.info(f"report: {len(report.comparisons)} published values compared: {_status_counts(report.comparisons)}")
    for row in report.comparisons:
        if row.status == MISMATCH:
            ui.warn(
                f"{row.cell}: recomputed {row.recomputed}, published {row.published} at "
                f"{row.published_path} ({row.note})"
            )
    return written, mismatches


def report_command(study_name: str, ui: Console = QUIET, encoding: str | None = None) -> int:
    """CLI: read output/<study>/adam/, write output/<study>/report/. Exit 1 on any unexplained
    mismatch, 2 when the ADaM files (or report.yaml) are missing."""
    study = load_study(study_name)
    if study.declares_none("report"):
        ui.error(f"{study.file}: the study declares no report (stages: report: none); nothing to recompute")
        return 2
    if not study.has_report:
        ui.error(
            f"{study.folder / 'report.yaml'} not found: declare the tables to recompute there (see docs/report.md)"
        )
        return 2
    target = output_dir(study.studyid)
    try:
        with updating(target, ui=ui):
            written, mismatches = build_report(study, target / "adam", target / "report", ui=ui, encoding=encoding)
    except AdamMissing as exc:
        ui.error(str(exc).replace("<STUDY>", study.name))
        return exc.exit_code
    ui.result(f"sdtmify report {study.name} -> {target / 'report'}: {len(written)} files")
    if mismatches:
        ui.error(
            f"{mismatches} recomputed value(s) differ from the published ones without a documented "
            f"reason: see {target / 'report' / 'comparison.md'}"
        )
        return 1
    return 0
