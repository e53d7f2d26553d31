"""``sdtmify adam --sdtm DIR --study S``: the ADaM layer on an SDTM folder sdtmify did not build.

The SDTM datasets are read from ``DIR`` (SAS XPT v5, or Dataset-JSON 1.1 when the folder holds no XPT;
:mod:`sdtmify.readers`), with the folder's define.xml for their metadata when there is one (labels,
codelists, origins the ADaM predecessors inherit), else the files' own labels and lengths. Then the
stages of a build that follow SDTM run on them: the study's adam/*.yaml, the writers (XPT, Dataset-JSON,
define.xml, lineage, the ADRG), the validation of ADaM and, when the study has one, the report.

Output safety is a build's: the output folder is checked before anything is read
(``paths.check_output_location``: never the study, the SDTM folder, the project root...), locked, built
beside the target and swapped in only when every stage succeeded (``guard.guarded_output``). Nothing is
written into ``DIR``."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from .adam.engine import build_adam
from .build import BuildResult
from .console import QUIET, Console
from .datasets import BuiltDataset, Bundle
from .errors import InputError, Location
from .guard import guarded_output
from .metadata import serialize, standards
from .metadata.model import Dataset, StudyMetadata
from .paths import check_output_location, output_dir, project_root
from .readers import read_dataset
from .report.paper import build_report
from .study import load_study
from .validate.define_xml import read_define
from .validate.run import exit_code as findings_exit_code
from .validate.run import validate_build
from .writers.define import write_define_files
from .writers.guides import write_guides
from .writers.lineage import write_lineage
from .writers.outputs import write_bundle

STEPS = (
    "reading the SDTM datasets",
    "deriving ADaM",
    "writing XPT, Dataset-JSON, lineage and define.xml",
    "validating",
    "recomputing the published tables",
)
DATASET_SUFFIXES = (".xpt", ".json", ".ndjson")


def sdtm_files(folder: Path) -> list[Path]:
    """The dataset files of an SDTM folder: its XPT files, or its Dataset-JSON files when it has no XPT
    (one format, never a mix: the same domain twice would be ambiguous)."""
    if not folder.is_dir():
        raise InputError("no such folder; pass a folder of SDTM .xpt or Dataset-JSON files", Location(str(folder)))
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in DATASET_SUFFIXES)
    xpt = [p for p in files if p.suffix.lower() == ".xpt"]
    if xpt:
        return xpt
    ndjson = {p.stem.lower() for p in files if p.suffix.lower() == ".ndjson"}
    # a .json next to an .ndjson of the same dataset is the same data: read the .json once
    chosen = [p for p in files if p.suffix.lower() == ".json" or p.stem.lower() not in ndjson]
    datasets = [p for p in chosen if p.suffix.lower() == ".ndjson" or _is_dataset_json(p)]
    if not datasets:
        raise InputError(
            "no SDTM datasets here; pass a folder of .xpt or Dataset-JSON (.json/.ndjson) files",
            Location(str(folder)),
        )
    return datasets


def _is_dataset_json(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(4096)
    return b'"datasetJSONVersion"' in head or b'"itemGroupOID"' in head


def read_sdtm(folder: str | Path, study, encoding: str | None = None) -> Bundle:
    """An SDTM Bundle from a folder of datasets: frames as the readers give them (Char text, Num
    float64), metadata from the folder's define.xml when present, else from the files. ``encoding``:
    the XPT text encoding (None: UTF-8, then Windows-1252)."""
    folder = Path(folder)
    read = [(path, *read_dataset(path, encoding)) for path in sdtm_files(folder)]
    define = _define_of(folder, [frame for _, frame, _ in read])
    declared = read_define(define) if define is not None else None
    datasets: dict[str, BuiltDataset] = {}
    for path, frame, meta in read:
        name = meta.name.upper()
        if name in datasets:
            raise InputError(f"dataset {name} is in two files of the folder; keep one", Location(str(path)))
        meta = _declared_meta(declared, name) or Dataset(
            name=name, label=meta.label, purpose="Tabulation", keys=meta.keys, variables=meta.variables
        )
        datasets[name] = BuiltDataset(frame=frame.reset_index(drop=True), meta=meta)
    # the study's identity as a build states it (mapping.metadata.assemble_bundle), whatever the define says
    identity = {
        "study_oid": f"ST.{study.studyid}",
        "study_name": study.studyid,
        "description": str(
            study.config["study"].get("description") or study.config["study"].get("title") or study.studyid
        ),
        "protocol_name": str(study.config["study"].get("protocol") or study.studyid),
    }
    if declared is not None:
        metadata = replace(declared, **identity)
    else:
        metadata = StudyMetadata(
            **identity, standards=(standards.SDTMIG,), datasets=tuple(ds.meta for ds in datasets.values())
        )
    return Bundle(standard="SDTM", datasets=datasets, metadata=metadata)


def _define_of(folder: Path, frames) -> Path | None:
    """The define.xml of the datasets: the folder's own, else the one their Dataset-JSON ``metaDataRef``
    names (relative to the folder, as Dataset-JSON 1.1 writes it)."""
    if (folder / "define.xml").is_file():
        return folder / "define.xml"
    for frame in frames:
        reference = (frame.attrs.get("dataset_json") or {}).get("metaDataRef")
        if reference and (folder / str(reference)).is_file():
            return folder / str(reference)
    return None


def _declared_meta(declared: StudyMetadata | None, name: str) -> Dataset | None:
    if declared is None:
        return None
    try:
        return declared.dataset(name)
    except KeyError:
        return None


def build_adam_from_sdtm(
    sdtm_dir: str,
    study: str,
    out_dir: str | None = None,
    ui: Console = QUIET,
    validate: bool = True,
    report: bool = True,
    force: bool = False,
    wait: float = 0.0,
    fail_on: str = "error",
    ct_file: str | None = None,
    encoding: str | None = None,
) -> BuildResult:
    """Build ``study``'s ADaM from the SDTM datasets in ``sdtm_dir`` into ``out_dir`` (default
    output/<STUDYID>-ADaM): ``out_dir/adam``, ``metadata/adam.json``, ``lineage/``, ``validation/`` and
    ``report/`` as a build writes them. Options as for :func:`sdtmify.build.build_study`; ``encoding`` is
    the text encoding of the SDTM XPT files, ``ct_file`` the CT the validation checks against."""
    findings_exit_code(counts={}, fail_on=fail_on)
    spec = load_study(study)
    if not spec.has_adam:
        declared = " (study.yaml stages: adam: none)" if spec.declares_none("adam") else ""
        raise InputError(f"study {spec.name} has no ADaM specification{declared}; add adam/*.yaml", Location(spec.file))
    source = Path(sdtm_dir)
    root = project_root()
    default = output_dir(spec.studyid, root)
    target = check_output_location(
        Path(out_dir) if out_dir else default.with_name(f"{default.name}-ADaM"), spec.folder, [source], root
    )
    result = BuildResult(study=spec.name, out_dir=target)
    total = len(STEPS)
    with guarded_output(target, spec.studyid, force=force, wait=wait, ui=ui) as tmp:
        ui.step(1, total, STEPS[0])
        sdtm = read_sdtm(source, spec, encoding)
        ui.step(2, total, STEPS[1])
        bundle = build_adam(spec, sdtm, ui=ui)
        ui.step(3, total, STEPS[2])
        written = {"ADaM": list(write_bundle(bundle, tmp / "adam", spec, ui=ui))}
        written["metadata"] = [serialize.dump(bundle.metadata, tmp / "metadata" / "adam.json")]
        written["lineage"] = list(write_lineage(bundle, tmp / "lineage"))
        written["ADaM"] += write_define_files(bundle, tmp / "adam", spec)
        ui.step(4, total, STEPS[3])
        outcome = validate_build(tmp, spec, ct_file=ct_file, ui=ui) if validate else None
        if outcome is not None:
            written["validation"] = list(outcome.written)
            result.findings = outcome.counts
            result.validation = outcome.report
            notes = (outcome.report or {}).get("notes")
            result.unexplained = notes.get("unexplained") if notes else None
            result.exit_code = findings_exit_code(outcome.counts, fail_on)
        written["ADaM"] += write_guides(bundle, tmp / "adam", spec, outcome.report if outcome else None)
        ui.step(5, total, STEPS[4] + ("" if spec.has_report else " (not declared by the study)"))
        if report and spec.has_report:
            paths, mismatches = build_report(spec, tmp / "adam", tmp / "report", ui=ui)
            written["report"] = list(paths)
            result.report_mismatches = mismatches
            result.exit_code = max(result.exit_code, 1 if mismatches else 0)
        ui.finish()
        result.written = {stage: sorted(os.path.relpath(p, tmp) for p in paths) for stage, paths in written.items()}
    return result
