"""Draft reviewer's guides: the clinical Study Data Reviewer's Guide (cSDRG, SDTM) and the Analysis
Data Reviewer's Guide (ADRG, ADaM), in the section order of the PHUSE templates, as Markdown and HTML.

Everything in them comes from what the build already holds: study.yaml (title, protocol, description,
provenance, standards and dictionary versions, data cut-off), the datasets' metadata (labels, classes,
structures, keys, comments, supplemental qualifiers, parameters) and the conformance report with the
explanations of validation-notes.yaml. No study logic lives here: a sentence a reviewer needs that the
metadata cannot give is left as a marked placeholder for the sponsor to write ("Sponsor to complete").

A guide is a list of blocks (heading, paragraph, table, list) rendered twice, so the Markdown and the
HTML always say the same thing."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from ..atomic import write_text

TO_COMPLETE = "Sponsor to complete."


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


Block = Heading | Paragraph | Table | Bullets


# ---- rendering ------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}\n")
        elif isinstance(block, Paragraph):
            out.append(f"{block.text}\n")
        elif isinstance(block, Bullets):
            out.append("".join(f"- {item}\n" for item in block.items))
        else:
            lines = [
                "| " + " | ".join(_md_cell(h) for h in block.header) + " |",
                "|" + "---|" * len(block.header),
                *("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows),
            ]
            out.append("\n".join(lines) + "\n")
    return "\n".join(out)


def _anchor(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def render_html(blocks: list[Block], title: str) -> str:
    esc = html.escape
    body: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f'<h{block.level} id="{_anchor(block.text)}">{esc(block.text)}</h{block.level}>')
        elif isinstance(block, Paragraph):
            body.append(f"<p>{esc(block.text)}</p>")
        elif isinstance(block, Bullets):
            body.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in block.items) + "</ul>")
        else:
            head = "".join(f"<th>{esc(h)}</th>" for h in block.header)
            rows = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>" for row in block.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    style = (
        "body{font-family:Arial,Helvetica,sans-serif;font-size:14px;margin:1.5em 3em;max-width:70em;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0 1.2em}th,td{border:1px solid #bbb;padding:3px 8px;"
        "vertical-align:top;text-align:left}th{background:#e8eef8}h1{font-size:22px}h2{font-size:18px;"
        "border-bottom:2px solid #36c}h3{font-size:15px}"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="UTF-8"><title>{esc(title)}</title>'
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


# ---- shared sections ------------------------------------------------------------------------


def _config(spec) -> dict:
    config = getattr(spec, "config", None)
    return config if isinstance(config, dict) else {}


def _study(spec) -> dict:
    return dict(_config(spec).get("study") or {})


def _standards_table(spec, metadata) -> Table:
    """Standards and dictionaries with their versions: the metadata's standards, then study.yaml's."""
    rows = [
        (f"{s.name} ({s.publishing_set})" if s.publishing_set else s.name, s.version, s.type)
        for s in metadata.standards
    ]
    declared = _config(spec).get("standards") or {}
    names = {"meddra": "MedDRA", "ctcae": "NCI CTCAE (adverse event and laboratory grading)"}
    for key, label in names.items():
        if declared.get(key):
            rows.append((label, str(declared[key]), "Dictionary"))
    return Table(("Standard or dictionary", "Version", "Type"), tuple(rows))


def _introduction(spec, kind: str, standard: str) -> list[Block]:
    study = _study(spec)
    blocks: list[Block] = [
        Heading(2, "1. Introduction"),
        Heading(3, "1.1 Purpose"),
        Paragraph(
            f"This {kind} describes the {standard} data of study {study.get('studyid', '')} "
            f"({study.get('protocol', '')}) for a regulatory reviewer: the standards used, the datasets, "
            "the study-specific choices and the conformance findings with their explanations."
        ),
    ]
    if study.get("provenance"):
        blocks.append(Paragraph(f"Provenance: {study['provenance']}."))
    return blocks


def _protocol(spec, metadata) -> list[Block]:
    study = _study(spec)
    arms = (_config(spec).get("trial_design") or {}).get("arms") or []
    blocks: list[Block] = [
        Heading(2, "2. Protocol Description"),
        Heading(3, "2.1 Protocol Number and Title"),
        Table(
            ("Item", "Value"),
            (
                ("Protocol", str(study.get("protocol", ""))),
                ("Title", str(study.get("title", ""))),
                ("Sponsor", str(study.get("sponsor", ""))),
                ("Data cut-off", str(study.get("data_cutoff", "")) or "Not stated"),
            ),
        ),
        Heading(3, "2.2 Protocol Design"),
        Paragraph(str(study.get("description") or metadata.description or TO_COMPLETE)),
    ]
    if arms:
        blocks.append(Table(("ARMCD", "Arm"), tuple((str(a.get("ARMCD", "")), str(a.get("ARM", ""))) for a in arms)))
    return blocks


def _conformance(report: dict | None, standard: str, number: int) -> list[Block]:
    blocks: list[Block] = [
        Heading(2, f"{number}. Data Conformance Summary"),
        Heading(3, f"{number}.1 Conformance Inputs"),
    ]
    if not report:
        return [*blocks, Paragraph("The conformance check was not run for this build.")]
    tool = report.get("tool") or {}
    inputs = report.get("inputs") or {}
    blocks.append(
        Bullets(
            (
                f"Validator: {tool.get('name', '')} {tool.get('version', '')} with its rule catalogue "
                f"({(report.get('summary') or {}).get('rules', '')} rules, traced to CDISC CORE and FDA rule ids)",
                f"Controlled terminology: {inputs.get('ct', '')}",
                f"Define-XML 2.1: {standard.lower()}/define.xml, checked against the data and its schema",
            )
        )
    )
    names = _standard_datasets(report, standard)
    issues = [i for i in report.get("issues") or [] if i.get("dataset") in names]
    blocks.append(Heading(3, f"{number}.2 Issues Summary"))
    if not issues:
        blocks.append(Paragraph(f"The validator reported no finding on the {standard} datasets."))
        return blocks
    rows = tuple(
        (
            str(i.get("rule", "")),
            str(i.get("dataset", "")),
            str(i.get("severity", "")),
            str(i.get("count", "")),
            str(i.get("message", "")),
            str(i.get("explanation") or "Unexplained: sponsor to explain."),
        )
        for i in sorted(issues, key=lambda i: (str(i.get("dataset")), str(i.get("rule"))))
    )
    blocks.append(Table(("Rule", "Dataset", "Severity", "Count", "Message", "Explanation"), rows))
    unexplained = sum(1 for i in issues if not i.get("explanation"))
    blocks.append(Paragraph(f"Findings without an explanation: {unexplained}."))
    return blocks


def _standard_datasets(report: dict, standard: str) -> set[str]:
    datasets = (report.get("inputs") or {}).get("datasets") or []
    adam = {d.get("name") for d in datasets if str(d.get("name", "")).startswith("AD")}
    every = {d.get("name") for d in datasets}
    return adam if standard == "ADaM" else every - adam


def _comment(metadata, oid: str | None) -> str:
    if not oid:
        return ""
    return next((c.description for c in metadata.comments if c.oid == oid), "")


# ---- cSDRG ----------------------------------------------------------------------------------


def csdrg_blocks(spec, bundle, report: dict | None) -> list[Block]:
    """The cSDRG in the PHUSE template's order: introduction, protocol, subject data, conformance."""
    metadata = bundle.metadata
    study = _study(spec)
    blocks: list[Block] = [Heading(1, f"Clinical Study Data Reviewer's Guide: {study.get('studyid', '')}")]
    blocks += _introduction(spec, "clinical Study Data Reviewer's Guide", "SDTM")
    blocks += [Heading(3, "1.2 Study Data Standards and Dictionary Inventory"), _standards_table(spec, metadata)]
    blocks += _protocol(spec, metadata)
    trial_design = [d for d in metadata.datasets if d.class_.upper() == "TRIAL DESIGN"]
    blocks += [
        Heading(3, "2.3 Trial Design Datasets"),
        Table(
            ("Dataset", "Label", "Records"), tuple((d.name, d.label, _records(bundle, d.name)) for d in trial_design)
        ),
        Heading(2, "3. Subject Data Description"),
        Heading(3, "3.1 Overview"),
        Paragraph(
            "Datasets are SAS XPT version 5 files with Dataset-JSON 1.1 copies, described by define.xml "
            "(Define-XML 2.1) and its stylesheet."
        ),
        Heading(3, "3.2 Annotated CRF"),
        Paragraph(TO_COMPLETE if not metadata.documents else ", ".join(doc.title for doc in metadata.documents)),
        Heading(3, "3.3 SDTM Subject Domains"),
        Table(
            ("Dataset", "Label", "Class", "Structure", "Keys", "Records"),
            tuple(
                (d.name, d.label, d.class_, d.structure, ", ".join(d.keys), _records(bundle, d.name))
                for d in metadata.datasets
                if d.class_.upper() != "TRIAL DESIGN"
            ),
        ),
        Heading(3, "3.4 Dataset-Specific Information"),
    ]
    explained: dict[str, list[str]] = {}
    for issue in (report or {}).get("issues") or []:
        if issue.get("explanation"):
            explained.setdefault(issue["dataset"], []).append(f"{issue['rule']}: {issue['explanation']}")
    for ds in metadata.datasets:
        notes = [n for n in (_comment(metadata, ds.comment), *explained.get(ds.name, [])) if n]
        if notes:
            blocks += [Heading(4, f"{ds.name} ({ds.label})"), Bullets(tuple(notes))]
    blocks += [Heading(3, "3.5 Non-Standard Variables (Supplemental Qualifiers)"), _supp_table(bundle)]
    blocks += _conformance(report, "SDTM", 4)
    return blocks


def _records(bundle, name: str) -> str:
    built = bundle.datasets.get(name)
    return str(len(built.frame)) if built is not None else ""


def _supp_table(bundle) -> Table:
    rows = []
    for name, built in sorted(bundle.datasets.items()):
        frame = built.frame
        if not name.startswith("SUPP") or "QNAM" not in frame:
            continue
        grouped = frame.groupby(["QNAM", "QLABEL", "QORIG"], sort=True).size()
        for (qnam, qlabel, qorig), count in grouped.items():
            rows.append((name, str(qnam), str(qlabel), str(qorig), str(count)))
    return Table(("Dataset", "QNAM", "QLABEL", "Origin", "Records"), tuple(rows))


# ---- ADRG -----------------------------------------------------------------------------------


def adrg_blocks(spec, bundle, report: dict | None) -> list[Block]:
    """The ADRG in the PHUSE template's order: introduction, protocol, analysis considerations,
    data creation, dataset descriptions, conformance, programs."""
    metadata = bundle.metadata
    study = _study(spec)
    blocks: list[Block] = [Heading(1, f"Analysis Data Reviewer's Guide: {study.get('studyid', '')}")]
    blocks += _introduction(spec, "Analysis Data Reviewer's Guide", "ADaM")
    blocks += [Heading(3, "1.2 Study Data Standards and Dictionary Inventory"), _standards_table(spec, metadata)]
    blocks += _protocol(spec, metadata)
    adsl = next((d for d in metadata.datasets if d.name == "ADSL"), None)
    core = tuple(v.name for v in adsl.variables) if adsl else ()
    flags = tuple(f"{v.name}: {v.label}" for v in (adsl.variables if adsl else ()) if v.name.endswith("FL"))
    blocks += [
        Heading(2, "3. Analysis Considerations Related to Multiple Analysis Datasets"),
        Heading(3, "3.1 Core Variables"),
        Paragraph("ADSL variables: " + ", ".join(core) + "." if core else TO_COMPLETE),
        Heading(3, "3.2 Population Flags"),
        Bullets(flags) if flags else Paragraph(TO_COMPLETE),
        Heading(2, "4. Analysis Data Creation and Processing Issues"),
        Heading(3, "4.1 Data Dependencies"),
        Paragraph(
            "Every ADaM dataset is derived from the SDTM datasets of the same build; ADSL is derived first and "
            "its variables are merged into the others."
        ),
    ]
    if study.get("data_cutoff"):
        blocks.append(Paragraph(f"Data cut-off: {study['data_cutoff']}; assessments after it are not analysed."))
    imputed = _imputations(bundle)
    if imputed:
        blocks += [Heading(3, "4.2 Imputations"), Bullets(imputed)]
    blocks += [
        Heading(2, "5. Analysis Dataset Descriptions"),
        Heading(3, "5.1 Overview"),
        Table(
            ("Dataset", "Label", "Class", "Structure", "Keys", "Records"),
            tuple(
                (d.name, d.label, d.class_, d.structure, ", ".join(d.keys), _records(bundle, d.name))
                for d in metadata.datasets
            ),
        ),
        Heading(3, "5.2 Analysis Parameters"),
        _parameter_table(bundle),
    ]
    comments = [(d.name, _comment(metadata, d.comment)) for d in metadata.datasets if d.comment]
    if comments:
        blocks += [Heading(3, "5.3 Dataset Comments"), Bullets(tuple(f"{n}: {c}" for n, c in comments))]
    blocks += _conformance(report, "ADaM", 6)
    blocks += [
        Heading(2, "7. Submission of Programs"),
        Paragraph(
            "The datasets, define.xml and the published tables are produced by `sdtmify build` from the "
            "declarative mapping files of the study; no separate analysis programs are submitted."
        ),
    ]
    return blocks


def _imputations(bundle) -> tuple[str, ...]:
    """Each dataset's imputed analysis values (a DTYPE variable): its define method, with the records."""
    metadata = bundle.metadata
    methods = {m.oid: m.description for m in metadata.methods}
    found = []
    for dataset in metadata.datasets:
        variable = next((v for v in dataset.variables if v.name == "DTYPE"), None)
        built = bundle.datasets.get(dataset.name)
        if variable is None or built is None or variable.method not in methods:
            continue
        counts = built.frame["DTYPE"].astype(str).str.strip().value_counts()
        counts = counts[counts.index != ""]
        kinds = ", ".join(f"{value} {count:,}" for value, count in sorted(counts.items()))
        found.append(f"{dataset.name} (DTYPE: {kinds or 'none'}): {methods[variable.method]}")
    return tuple(found)


def _parameter_table(bundle) -> Table:
    rows = []
    for name, built in sorted(bundle.datasets.items()):
        frame = built.frame
        if "PARAMCD" not in frame or "PARAM" not in frame:
            continue
        counts = frame.groupby(["PARAMCD", "PARAM"], sort=True).size()
        for (paramcd, param), count in counts.items():
            rows.append((name, str(paramcd), str(param), str(count)))
    return Table(("Dataset", "PARAMCD", "PARAM", "Records"), tuple(rows))


# ---- writing ----------------------------------------------------------------------------------

GUIDES = {"SDTM": ("csdrg", csdrg_blocks), "ADaM": ("adrg", adrg_blocks)}


def write_guides(bundle, folder: Path, spec, report: dict | None) -> list[Path]:
    """Write ``csdrg.md``/``csdrg.html`` (SDTM) or ``adrg.md``/``adrg.html`` (ADaM) into ``folder``."""
    if bundle.standard not in GUIDES:
        return []
    stem, make = GUIDES[bundle.standard]
    blocks = make(spec, bundle, report)
    title = blocks[0].text if isinstance(blocks[0], Heading) else stem
    md_path, html_path = Path(folder) / f"{stem}.md", Path(folder) / f"{stem}.html"
    write_text(md_path, render_markdown(blocks))
    write_text(html_path, render_html(blocks, title))
    return [md_path, html_path]
