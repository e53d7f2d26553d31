"""``README.md`` at the top of a build's output folder: which study, where its data come from, and
what each folder holds, for a reader who receives the folder without the mappings.

Generic: every study-specific word comes from study.yaml (``study.title``, ``sponsor``, ``protocol``,
``provenance``); nothing names a path outside the output folder, so the bytes do not depend on
where the study or the output live."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from ..atomic import write_text

if TYPE_CHECKING:
    from ..study import Study

FILE_NAME = "README.md"
# What each output folder holds, in the order data flow through the build.
FOLDERS = (
    (
        "sdtm",
        "SDTM datasets: SAS XPT v5 (`*.xpt`), Dataset-JSON 1.1 (`dataset-json/`), `define.xml` (+ its stylesheet "
        "`define2-1.xsl`) + `define.html`, and the draft reviewer's guide `csdrg.md` / `csdrg.html`",
    ),
    (
        "adam",
        "ADaM datasets: SAS XPT v5, Dataset-JSON 1.1, `define.xml` with analysis results metadata (+ `define2-1.xsl`) "
        "+ `define.html`, and the draft reviewer's guide `adrg.md` / `adrg.html`",
    ),
    ("metadata", "the metadata the datasets were written from (names, labels, lengths, codelists, origins), as JSON"),
    ("lineage", "for every record, the source table and row it came from"),
    ("validation", "the conformance report: `validation.xlsx` for reviewers, `validation.json` for tools"),
    ("report", "the paper's tables and figures recomputed from the ADaM datasets, compared with the published values"),
)


def readme_text(study: Study, folders: set[str]) -> str:
    """The README of one build; ``folders`` are the top-level folders the build wrote."""
    identity = study.config.get("study") or {}
    lines = [f"# {study.studyid}: sdtmify output", ""]
    if identity.get("title"):
        lines += [str(identity["title"]), ""]
    if study.provenance:
        lines += [f"**Data provenance: {study.provenance.rstrip('.')}.**", ""]
    for label, key in (("Sponsor", "sponsor"), ("Protocol", "protocol")):
        if identity.get(key):
            lines.append(f"- {label}: {identity[key]}")
    stamp = study.timestamp.isoformat(sep=" ") if study.timestamp else ""
    lines.append(f"- Built by sdtmify {__version__} from the study's mappings ({study.name}/study.yaml)")
    if stamp:
        lines.append(f"- Build time stamped into every file: {stamp}")
    lines += ["", "| Folder | Contents |", "| --- | --- |"]
    lines += [f"| `{name}/` | {text} |" for name, text in FOLDERS if name in folders]
    return "\n".join(lines) + "\n"


def write_readme(folder: Path, study: Study) -> Path:
    """Write ``folder/README.md`` describing the folders present in ``folder``."""
    folder = Path(folder)
    present = {p.name for p in folder.iterdir() if p.is_dir()}
    target = folder / FILE_NAME
    write_text(target, readme_text(study, present))
    return target
