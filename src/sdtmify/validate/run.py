"""Entry points: ``sdtmify validate PATH`` (any folder of datasets) and the last step of ``sdtmify build``."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from ..console import QUIET, Console
from ..errors import InputError, Location
from ..guard import claim_files, record_files, set_aside
from ..mapping.loader import declared_unknowns
from ..reproducible import build_timestamp
from ..sources import detect_format, read_source
from .context import ig_standards, load_terminology
from .data import Table, load_folder
from .define_xml import metadata_from, parse_define, standard_of
from .dictionaries import DICTIONARY_KINDS, load_dictionaries
from .engine import Context, Validation, run_rules
from .notes import NOTES_FILE, Notes, load_notes
from .partition import DatasetFile, Inputs, dataset_files
from .report_console import print_report
from .report_json import report_dict, write_json
from .report_xlsx import write_xlsx
from .rules import Rule, load_rules

Partitioned = Callable[[Inputs], tuple[Validation, str]]
"""Runs a validation's partitions somewhere (sdtmify.pool: dask) and returns it with the CT's name."""

_build_partitions: ContextVar[Partitioned | None] = ContextVar("sdtmify_build_partitions", default=None)


@contextlib.contextmanager
def partitioned_builds(run: Partitioned) -> Iterator[None]:
    """Within: the validation of a build (:func:`validate_build`) runs as partitions through ``run`` (a pooled
    build's task, sdtmify.pool), which read the staged dataset files instead of the frames in memory; the
    report is the same. The setting is this thread's (a context variable), never another build's."""
    token = _build_partitions.set(run)
    try:
        yield
    finally:
        _build_partitions.reset(token)


FAIL_ON = ("error", "warning", "never")
REPORT_FILES = ["validation.json", "validation.xlsx"]
REPORT_MARKER = ".sdtmify-validation.json"  # what `sdtmify validate --report-dir` wrote, with sha256s


@dataclass
class Outcome:
    written: list[Path] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    exit_code: int = 0
    validation: Validation | None = None
    report: dict | None = None


def exit_code(counts: dict[str, int], fail_on: str) -> int:
    """1 when there are findings of ``fail_on`` severity or worse; ``never`` always gives 0."""
    if fail_on not in FAIL_ON:
        raise InputError(f"--fail-on {fail_on!r}: use one of {', '.join(FAIL_ON)}")
    if fail_on == "never":
        return 0
    worst = counts.get("error", 0) + (counts.get("warning", 0) if fail_on == "warning" else 0)
    return 1 if worst else 0


def validate_tables(
    tables: dict[str, Table],
    *,
    defines: Sequence[Path] = (),
    ct_file=None,
    rules: list[Rule] | None = None,
    max_errors_per_rule: int = 1000,
    standards="auto",
    ct="auto",
    references: dict[str, Table] | None = None,
    dictionaries: dict | None = None,
) -> tuple[Validation, Context]:
    """Run the catalogue on ``tables``; ``standards``/``ct`` may be given (tests) or found ("auto").

    ``references`` are tables read only so that look-ups resolve (an ADaM folder's SDTM predecessors):
    no rule checks them. ``dictionaries`` are the study's (``validate.dictionaries``: ctcae -> grades)."""
    define_meta, define_files = {}, {}
    for path in defines:
        root = parse_define(Path(path))
        standard = standard_of(root)
        define_meta[standard] = metadata_from(root)
        define_files[standard] = Path(path)
    extra = {name: t for name, t in (references or {}).items() if name not in tables}
    ctx = Context(
        tables=dict(sorted({**tables, **extra}.items())),
        standards=ig_standards() if standards == "auto" else standards,
        ct=load_terminology(ct_file) if ct == "auto" else ct,
        define=define_meta,
        references=frozenset(extra),
        define_files=define_files,
        dictionaries=dict(dictionaries or {}),
    )
    rules = load_rules() if rules is None else rules
    return run_rules(rules, ctx, max_details=max_errors_per_rule), ctx


def _load_data(
    path: Path, standard: str | None = None, encoding: str | None = None, given: Mapping[Path, tuple] | None = None
) -> dict[str, Table]:
    """A folder of datasets, or a build output folder holding sdtm/ and adam/. The standard of a plain
    folder's datasets is ``standard`` (its define.xml's) when known, else read from each name (AD*:
    ADaM); it decides which rules run on them (SDTM rules never on ADaM datasets, nor the reverse).
    ``given``: what reading some of the files gives, already in memory (``load_folder``)."""
    if _is_build_folder(path):
        tables = {}
        for folder, standard in ((path / "sdtm", "SDTM"), (path / "adam", "ADaM")):
            if folder.is_dir():
                tables.update(load_folder(folder, standard, encoding, given))
        return dict(sorted(tables.items()))
    return load_folder(path, standard, encoding, given)


def _is_build_folder(path: Path) -> bool:
    return (path / "sdtm").is_dir() or (path / "adam").is_dir()


def _predecessors(path: Path, tables: dict[str, Table], sdtm, ui: Console, encoding=None) -> dict[str, Table]:
    """The SDTM datasets an ADaM folder traces back to (SRCDOM, DM look-ups): ``--sdtm DIR``, else a
    sibling ``../sdtm`` holding .xpt files. Read, never validated."""
    found = _predecessor_folder(path, [t.standard for t in tables.values()], sdtm)
    if found is None:
        return {}
    folder, how = found
    references = {name: t for name, t in load_folder(folder, "SDTM", encoding).items() if name not in tables}
    ui.info(f"SDTM predecessors: {len(references)} datasets from {folder} ({how}; looked up, not validated)")
    return references


def _predecessor_folder(path: Path, standards: list[str], sdtm) -> tuple[Path, str] | None:
    """Where an ADaM folder's SDTM predecessors are, and how that was decided; None: nowhere."""
    if sdtm is not None:
        folder = Path(sdtm)
        if not folder.is_dir():
            raise InputError(
                "validate --sdtm: not a folder; pass the folder of SDTM .xpt or Dataset-JSON files",
                Location(str(folder)),
            )
        how = "validate --sdtm"
    else:
        folder = path.parent / "sdtm"
        if (
            _is_build_folder(path)
            or not standards
            or any(standard != "ADaM" for standard in standards)
            or folder.resolve() == path.resolve()
            or not any(folder.glob("*.xpt"))
        ):
            return None
        how = "found beside the ADaM folder"
    return folder, how


def _partition_inputs(
    path: Path,
    standard: str | None,
    sdtm,
    ui: Console,
    *,
    defines: Sequence[Path],
    ct_file: str | None,
    **settings,
) -> tuple[Inputs, frozenset[str]]:
    """What the partitions of ``sdtmify validate --scheduler`` (or of a pooled build) read: the same files the
    serial run reads, listed, not read (the workers read them), with ``defines`` and ``ct_file`` made absolute
    (a worker may run in another folder); and the names of the predecessors (looked up, not validated)."""
    settings["defines"] = tuple(str(Path(d).resolve()) for d in defines)
    settings["ct_file"] = str(Path(ct_file).resolve()) if ct_file else None
    if _is_build_folder(path):
        files: list[DatasetFile] = []
        for folder, given in ((path / "sdtm", "SDTM"), (path / "adam", "ADaM")):
            if folder.is_dir():
                files += dataset_files(folder, given)
        files = sorted({f.name: f for f in reversed(files)}.values(), key=lambda f: f.name)  # the first of a name
    else:
        files = dataset_files(path, standard)
    if not files:
        raise InputError("no .xpt, .json or .ndjson datasets found", Location(str(path)))
    found = _predecessor_folder(path, [f.standard for f in files], sdtm)
    references: list[DatasetFile] = []
    if found is not None:
        folder, how = found
        names = {f.name for f in files}
        references = [f for f in dataset_files(folder, "SDTM", reference=True) if f.name not in names]
        ui.info(f"SDTM predecessors: {len(references)} datasets from {folder} ({how}; looked up, not validated)")
    datasets = tuple(sorted(files + references, key=lambda f: f.name))
    return Inputs(datasets=datasets, rules=tuple(load_rules()), **settings), frozenset(f.name for f in references)


def _found_defines(path: Path) -> list[Path]:
    return [p for p in (path / "define.xml", path / "sdtm" / "define.xml", path / "adam" / "define.xml") if p.is_file()]


def _report(
    validation: Validation,
    ctx: Context,
    *,
    path: str,
    defines: list[Path],
    ct_label: str | None,
    created: dt.datetime,
    report_dir: Path | None,
    ui: Console,
    notes: Notes = Notes(),
    show: bool = True,
) -> Outcome:
    inputs = {
        "path": path,
        "define": [p.name for p in defines],
        "ct": ct_label or "",
        "references": sorted(ctx.references),
    }
    if notes.file:
        inputs["notes"] = Path(notes.file).name
    report = report_dict(validation, generated=created.isoformat(timespec="seconds"), inputs=inputs, notes=notes)
    written = []
    if report_dir is not None:
        written.append(write_json(report, report_dir / "validation.json"))
        written.append(write_xlsx(report, report_dir / "validation.xlsx", created))
    if show:
        print_report(report, ui)
    return Outcome(written=written, counts=validation.counts(), validation=validation, report=report)


def validate_command(
    path: Path,
    *,
    define=None,
    ct_file=None,
    sdtm=None,
    fail_on="error",
    max_errors_per_rule=1000,
    report_dir=None,
    notes=None,
    encoding: str | None = None,
    force: bool = False,
    dictionaries: Sequence[str] = (),
    ui: Console = QUIET,
    partitioned: Partitioned | None = None,
) -> int:
    """``sdtmify validate``: 0 clean, 1 findings at ``fail_on`` or worse, 2 for input errors (raised).

    ``partitioned``: run the validation as partitions (``--scheduler``, validate/partition.py), which read
    the datasets themselves; the report is the same.

    ``report_dir``: validation.json and validation.xlsx replace only files sdtmify wrote there (recorded in
    ``.sdtmify-validation.json``); any other file of that name is refused before anything is read, or with
    ``force`` moved aside to ``NAME.kept-<time>``."""
    path = Path(path)
    report_dir = Path(report_dir) if report_dir else None
    if report_dir is not None:  # refuse before anything is read
        claim_files(
            report_dir, REPORT_FILES, REPORT_MARKER, force, "sdtmify validate --report-dir", "sdtmify validate --force"
        )
    if not path.exists():
        raise InputError("no such folder; pass a folder of .xpt or .json/.ndjson datasets", Location(str(path)))
    if max_errors_per_rule is not None and max_errors_per_rule < 0:
        raise InputError("validate --max-errors-per-rule must be 0 or more")
    exit_code(counts={}, fail_on=fail_on)
    if notes is not None and not Path(notes).is_file():
        raise InputError("validate --notes: no such file; pass a validation-notes.yaml", Location(str(notes)))
    explanations = load_notes(notes)
    study_dictionaries = _dictionaries(dictionaries)
    defines = [Path(define)] if define else _found_defines(path)
    declared = (
        {standard_of(parse_define(d)) for d in defines} if path.is_dir() and not _is_build_folder(path) else set()
    )
    standard = declared.pop() if len(declared) == 1 else None
    if partitioned is None:
        tables = _load_data(path, standard, encoding)
        if not tables:
            raise InputError("no .xpt, .json or .ndjson datasets found", Location(str(path)))
        references = _predecessors(path, tables, sdtm, ui, encoding)
        validation, ctx = validate_tables(
            tables,
            defines=defines,
            ct_file=ct_file,
            max_errors_per_rule=max_errors_per_rule,
            references=references,
            dictionaries=study_dictionaries,
        )
        ct_source = ctx.ct.source if ctx.ct else None
    else:
        inputs, referenced = _partition_inputs(
            path,
            standard,
            sdtm,
            ui,
            defines=defines,
            ct_file=ct_file,
            encoding=encoding,
            dictionaries=study_dictionaries,
            max_details=max_errors_per_rule,
        )
        validation, ct_source = partitioned(inputs)
        ctx = Context(tables={}, references=referenced)
    ct_label = Path(ct_file).name if ct_file else ct_source
    if report_dir is not None:  # again: the folder may have changed while the datasets were checked
        foreign = claim_files(
            report_dir, REPORT_FILES, REPORT_MARKER, force, "sdtmify validate --report-dir", "sdtmify validate --force"
        )
        set_aside(foreign, ui)
    outcome = _report(
        validation,
        ctx,
        path=path.name,
        defines=defines,
        ct_label=ct_label,
        created=build_timestamp(),
        report_dir=report_dir,
        ui=ui,
        notes=explanations,
    )
    if report_dir is not None:
        record_files(report_dir, REPORT_FILES, REPORT_MARKER)
    for written in outcome.written:
        ui.result(str(written))
    return exit_code(outcome.counts, fail_on)


def _dictionaries(given: Sequence[str]) -> dict:
    """``--dictionary KIND=FILE`` (repeatable): the study dictionaries the rules check coded values
    against, as ``sdtmify build`` hands them over from study.yaml ``dictionaries:``."""
    declared = {}
    for text in given:
        kind, _, file = text.partition("=")
        if not file or kind not in DICTIONARY_KINDS:
            raise InputError(
                f"validate --dictionary {text!r}: give KIND=FILE with KIND one of {', '.join(DICTIONARY_KINDS)} "
                f"(e.g. ctcae=mappings/NCI84/dictionaries/ctcae.csv)"
            )
        path = Path(file)
        if not path.is_file():
            raise InputError("validate --dictionary: no such file", Location(file))
        declared[kind] = (read_source(path, detect_format(path), name=kind), file)
    return load_dictionaries(declared)


def validate_build(
    out_folder: Path, study, ct_file=None, ui: Console = QUIET, datasets: Mapping[Path, tuple] | None = None
) -> Outcome:
    """The last step of ``sdtmify build``: validate out_folder/sdtm and /adam with their define.xml,
    write out_folder/validation/validation.{json,xlsx}, with the study's explanations of expected
    findings (``mappings/<STUDY>/validation-notes.yaml``) beside them. The build prints the table
    (``report_console.print_report``) with its own summary, once the progress bar is gone.

    ``datasets``: what reading the build's XPT files gives, ``{path: (frame, Dataset)}``, from the frames
    still in memory (``writers.outputs.bundle_as_read``), so that the files just written are not read
    again; the findings are those of ``sdtmify validate`` on the folder. define.xml is read from disk.
    Within :func:`partitioned_builds` (a pooled build's ``--partition-validation``) the partitions read the
    files instead, and the report is the same."""
    out_folder = Path(out_folder)
    study_folder = getattr(study, "folder", None)
    notes = load_notes(Path(study_folder) / NOTES_FILE if study_folder else None)
    if study_folder and (Path(study_folder) / "sdtm").is_dir():  # Required values declared unknown: their reason
        notes = notes.with_unknowns(declared_unknowns(study))
    defines = _found_defines(out_folder)
    declared = study.dictionaries() if hasattr(study, "dictionaries") else {}
    partitioned = _build_partitions.get()
    if partitioned is None:
        tables = _load_data(out_folder, given=datasets)
        validation, ctx = validate_tables(
            tables, defines=defines, ct_file=ct_file, dictionaries=load_dictionaries(declared)
        )
        ct_source = ctx.ct.source if ctx.ct else None
    else:  # the files just written, listed (the partitions read them), as `sdtmify validate --scheduler` does
        inputs, _ = _partition_inputs(
            out_folder, None, None, ui, defines=defines, ct_file=ct_file, dictionaries=load_dictionaries(declared)
        )
        validation, ct_source = partitioned(inputs)
        ctx = Context(tables={})
    ct_label = Path(ct_file).name if ct_file else ct_source
    created = getattr(study, "timestamp", None) or build_timestamp()
    outcome = _report(
        validation,
        ctx,
        path=getattr(study, "name", out_folder.name),
        defines=defines,
        ct_label=ct_label,
        created=created,
        report_dir=out_folder / "validation",
        ui=ui,
        notes=notes,
        show=False,
    )
    outcome.exit_code = exit_code(outcome.counts, "error")
    return outcome
