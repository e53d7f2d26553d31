"""`sdtmify build`: every stage, in the order data flows, into a staging folder swapped in at the end.

sources -> mapping (SDTM) -> ADaM -> writers (XPT, Dataset-JSON, define.xml, lineage) -> validator -> report.
The output folder is checked before anything is written (``paths.check_output_location``: never the study,
a source, the project root...), locked, built beside the target and swapped into place only when every
stage succeeded (``guard.guarded_output``), so a failed or killed build leaves the previous output as it was."""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from . import lanes, stagemeter
from .adam.engine import build_adam
from .console import QUIET, Console
from .guard import Known, guarded_output, recording
from .guard import digests as guard_digests
from .mapping.engine import build_sdtm
from .metadata import serialize
from .paths import check_output_location, output_dir, project_root
from .report.paper import build_report
from .study import load_study
from .validate.run import exit_code as findings_exit_code
from .validate.run import validate_build
from .writers.define import write_define_files
from .writers.guides import write_guides
from .writers.lineage import write_lineage
from .writers.outputs import bundle_as_read, write_bundle

STAGES = ("adam", "report")  # the stages a study may declare it has not (study.yaml ``stages:``)
STEPS = (
    "mapping sources to SDTM",
    "deriving ADaM",
    "writing XPT, Dataset-JSON and lineage",
    "writing define.xml",
    "validating",
    "recomputing the published tables",
)


@dataclass
class BuildResult:
    study: str
    out_dir: Path
    written: dict[str, list[str]] = field(default_factory=dict)  # stage -> paths relative to out_dir
    findings: dict[str, int] = field(default_factory=dict)  # severity -> count
    unexplained: int | None = None  # findings with no note in validation-notes.yaml
    report_mismatches: int | None = None
    exit_code: int = 0
    validation: dict | None = field(default=None, repr=False)  # the validation report (console table)
    undeclared: list[str] = field(default_factory=list)  # stages study.yaml declares 'none' (adam, report)

    def summary(self) -> str:
        """What was written where: one line per stage with file counts by kind."""
        lines = [f"sdtmify build {self.study} -> {self.out_dir}"]
        for stage, paths in self.written.items():
            kinds = Counter(Path(p).suffix.lstrip(".") or "file" for p in paths)
            folders = sorted({Path(p).parts[0] + ("/" if len(Path(p).parts) > 1 else "") for p in paths})
            by_kind = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
            lines.append(f"  {stage:<11} {len(paths):>4} files in {', '.join(folders)} ({by_kind})")
        for stage in self.undeclared:
            lines.append(f"  {stage:<11} not declared by the study (study.yaml stages: {stage}: none)")
        if self.findings:
            counts = ", ".join(f"{severity}s: {n}" for severity, n in self.findings.items())
            explained = (
                ""
                if self.unexplained is None or not sum(self.findings.values())
                else " (all explained by validation-notes.yaml)"
                if self.unexplained == 0
                else f" ({self.unexplained} not explained by validation-notes.yaml)"
            )
            lines.append(f"  conformance {counts}{explained}: validation/validation.xlsx")
        if self.report_mismatches is not None:
            verdict = (
                "all published values reproduced"
                if not self.report_mismatches
                else f"{self.report_mismatches} unexplained mismatch(es) with the published values"
            )
            lines.append(f"  report      {verdict}: report/comparison.md")
        return "\n".join(lines)


def build_study(
    study: str,
    ct_file: str | None = None,
    out_dir: str | None = None,
    ui: Console = QUIET,
    validate: bool = True,
    report: bool = True,
    force: bool = False,
    wait: float = 0.0,
    fail_on: str = "error",
    encoding: str | None = None,
    jobs: int | None = None,
) -> BuildResult:
    """Build ``study`` (a bare name under mappings/ or a study folder path) into ``out_dir`` (default
    output/<STUDYID>). ``force`` moves an existing folder sdtmify did not write aside instead of refusing;
    ``wait`` is how many seconds to wait for another build of the same output; ``fail_on`` is the
    severity of validation findings that makes the exit code 1 (as for ``sdtmify validate``);
    ``encoding`` the text encoding of sources whose study.yaml entry names none; ``jobs`` 1 builds in one
    process, 2 in two lanes on two cores (:func:`_two_lanes`; default: ``lanes.jobs_wanted``)."""
    findings_exit_code(counts={}, fail_on=fail_on)  # a bad value is refused before anything is built
    lanes.jobs_wanted(jobs)
    spec = load_study(study)
    spec.default_encoding(encoding)
    root = project_root()
    inputs = [source.path for source in spec.sources.values()] + ([Path(ct_file)] if ct_file else [])
    target = check_output_location(
        Path(out_dir) if out_dir else output_dir(spec.studyid, root), spec.folder, inputs, root
    )
    result = BuildResult(study=spec.name, out_dir=target)
    result.undeclared = [stage for stage in STAGES if spec.declares_none(stage)]
    not_declared = {stage: " (not declared by the study)" if stage in result.undeclared else "" for stage in STAGES}
    total = len(STEPS)
    written: dict[str, list[Path]] = {}

    lanes_here = lanes.jobs_wanted(jobs) >= 2
    known: Known = {}  # digests taken of the files written (as written, or by a lane), for the manifest

    with guarded_output(target, spec.studyid, force=force, wait=wait, ui=ui, known=known) as tmp:
        ui.step(1, total, STEPS[0])
        with stagemeter.stage("map"):
            sdtm = build_sdtm(spec, ct_file=ct_file, ui=ui)

        checking = _Checks(spec, tmp, result, ct_file, validate, report, fail_on, not_declared)
        if lanes_here and lanes.ready(ui):
            written = _two_lanes(sdtm, tmp, spec, ui, checking, known)
        else:
            bundles = [sdtm]
            del sdtm
            ui.step(2, total, STEPS[1] + not_declared["adam"])
            if spec.has_adam:
                with stagemeter.stage("adam"):
                    bundles.append(build_adam(spec, bundles[0], ui=ui))
            ui.step(3, total, STEPS[2])
            with recording(known):
                _write_files(bundles, tmp, spec, ui, written)
            as_read = checking.check(bundles, ui, written)
            checking.report_step(as_read, ui, written)

        ui.finish()
        from .writers.readme import write_readme

        written["readme"] = [write_readme(tmp, spec)]
        result.written = {stage: sorted(os.path.relpath(p, tmp) for p in paths) for stage, paths in written.items()}
    return result


def _write_files(
    bundles: list, tmp: Path, spec, ui: Console, written: dict[str, list[Path]], forms=("xpt", "dataset-json")
) -> None:
    """Step 3: each bundle's lineage (then dropped: nothing else reads it), its datasets (as ``forms``) and its
    metadata snapshot. ``written`` gets its keys in the order the summary shows them."""
    for bundle in bundles:
        for note in bundle.notes:
            ui.debug(f"{bundle.standard}: {note}")
        datasets = written.setdefault(bundle.standard, [])
        metadata = written.setdefault("metadata", [])
        lineage = written.setdefault("lineage", [])
        with stagemeter.stage("lineage"):
            lineage.extend(write_lineage(bundle, tmp / "lineage"))
        _drop_lineage(bundle)
        datasets.extend(write_bundle(bundle, tmp / bundle.standard.lower(), spec, ui=ui, forms=forms))
        metadata.append(serialize.dump(bundle.metadata, tmp / "metadata" / f"{bundle.standard.lower()}.json"))


def _drop_lineage(bundle) -> None:
    bundle.datasets = {name: replace(built, lineage=None) for name, built in bundle.datasets.items()}


@dataclass
class _Checks:
    """Steps 4 to 6, which read the frames and the XPT files and define.xml on disk, never the Dataset-JSON,
    metadata or lineage files: define.xml, the validation and the reviewer's guides (:meth:`check`), then
    the report (:meth:`report_step`), which reads the ADaM datasets only."""

    spec: Any
    tmp: Path
    result: BuildResult
    ct_file: str | None
    validate: bool
    report: bool
    fail_on: str
    not_declared: dict[str, str]

    @property
    def reporting(self) -> bool:
        return bool(self.report and self.spec.has_adam and self.spec.has_report)

    def as_read(self, bundle) -> dict[Path, tuple] | None:
        """The datasets of ``bundle`` as reading the XPT files written (or to be written) gives them, from
        the frames in memory: the validator and the report use these instead of reading the files back.
        None: no later step reads them."""
        if not (self.validate or (self.reporting and bundle.standard == "ADaM")):
            return None
        with stagemeter.stage("validate"):
            return bundle_as_read(bundle, self.tmp / bundle.standard.lower(), self.spec)

    def define(self, bundles: list, ui: Console, written: dict[str, list[Path]]) -> None:
        """Step 4: each bundle's define.xml (with its HTML view and stylesheet)."""
        ui.step(4, len(STEPS), STEPS[3])
        for bundle in bundles:
            with stagemeter.stage("define"):
                written[bundle.standard].extend(
                    write_define_files(bundle, self.tmp / bundle.standard.lower(), self.spec)
                )

    def check(
        self,
        bundles: list,
        ui: Console,
        written: dict[str, list[Path]],
        as_read: dict[str, dict[Path, tuple] | None] | None = None,
        before_validation: Callable[[], None] = lambda: None,
    ) -> dict[Path, tuple] | None:
        """Steps 4 and 5 on ``bundles``, which it empties once the guides, their last readers, are written
        (so the report's memory does not add to the bundles'); gives the ADaM datasets as read (the report's)
        or None. ``as_read``: those already at hand, by standard; ``before_validation`` is called once
        define.xml is written, before the other datasets are read back (which reads the XPT files' headers)
        and the validator lists the XPT files."""
        spec, tmp, result = self.spec, self.tmp, self.result
        self.define(bundles, ui, written)
        ui.step(5, len(STEPS), STEPS[4])
        before_validation()
        read = dict(as_read or {})
        for bundle in bundles:
            if bundle.standard not in read:
                read[bundle.standard] = self.as_read(bundle)
        if self.validate:
            every = {path: frame for files in read.values() if files for path, frame in files.items()}
            with stagemeter.stage("validate"):
                outcome = validate_build(tmp, spec, ct_file=self.ct_file, ui=ui, datasets=every)
            del every
            written["validation"] = list(outcome.written)
            result.findings = outcome.counts
            result.validation = outcome.report
            notes = (outcome.report or {}).get("notes")
            result.unexplained = notes.get("unexplained") if notes else None
            result.exit_code = max(result.exit_code, findings_exit_code(outcome.counts, self.fail_on))
            del outcome  # its Validation holds the validator's tables and their caches

        # draft reviewer's guides (cSDRG, ADRG) from the metadata, study.yaml and the conformance report
        for bundle in bundles:
            written[bundle.standard].extend(
                write_guides(bundle, tmp / bundle.standard.lower(), spec, result.validation)
            )
        # release every frame no later stage reads, so the report's memory does not add to the build's:
        # the guides were the bundles' last readers, the validator the SDTM read-back's
        bundles.clear()
        del bundle
        return read.get("ADaM")

    def report_step(self, as_read: dict[Path, tuple] | None, ui: Console, written: dict[str, list[Path]]) -> None:
        """Step 6: the report recomputed from the ADaM datasets (``as_read``: as read from their XPT files)."""
        ui.step(6, len(STEPS), STEPS[5] + self.not_declared["report"])
        if self.reporting:
            written["report"], self.result.report_mismatches = self.recompute(as_read, ui)
            if self.result.report_mismatches:
                self.result.exit_code = max(self.result.exit_code, 1)

    def recompute(self, as_read: dict[Path, tuple] | None, ui: Console) -> tuple[list[Path], int | None]:
        with stagemeter.stage("report"):
            paths, mismatches = build_report(self.spec, self.tmp / "adam", self.tmp / "report", ui=ui, datasets=as_read)
        return list(paths), mismatches


def _two_lanes(sdtm, tmp: Path, spec, ui: Console, checking: _Checks, known: Known) -> dict[str, list[Path]]:
    """Steps 2-6 on two cores: each piece of work starts as soon as the data it reads is final, in the lane
    that keeps the two cores busy until both finish together.

    - This process (lane 1) derives ADaM, writes its XPT files, writes define.xml, validates (the validator
      lists the XPT files on disk and reads both define.xml) and writes the guides.
    - Lane 2 is a chain of forked children, each starting when the one before has finished: the first,
      forked as soon as SDTM is final, writes SDTM's XPT, Dataset-JSON, metadata and lineage while ADaM is
      derived; the second, forked once ADaM's XPT files are written, ADaM's Dataset-JSON, metadata and
      lineage. Each hashes what it wrote (``known``, for the manifest).
    - The report, recomputed from the ADaM datasets (it reads nothing the validation writes), goes where a
      core would otherwise sit idle: when ADaM's XPT files are written while lane 2 still writes the SDTM
      files (a large study: their Dataset-JSON takes longer than ADaM's derivation), lane 1 recomputes it
      before define.xml, instead of waiting for the files the validator reads; else it ends lane 2, as a
      third child.

    No lane reads what another writes, but the validator, which waits for the SDTM files (and the report,
    which may read ADaM XPT files: they are written before it starts). What each lane (and the report, in
    either) says is recorded and replayed in the serial build's order, and ``written`` is merged in that
    order, so the console and the outputs are those of ``--jobs 1``. An error waits for the lanes whose work
    comes first in the serial order (their error would win); Ctrl-C and SIGTERM (BaseException) do not
    wait: leaving ``lanes.forked`` kills the children."""
    total, not_declared = len(STEPS), checking.not_declared
    with contextlib.ExitStack() as lanes_open:
        sdtm_files = lanes_open.enter_context(
            lanes.forked(
                partial(_files_lane, sdtm, tmp, spec, forms=("xpt", "dataset-json")),
                ui,
                "writing the SDTM XPT, Dataset-JSON, metadata and lineage files",
            )
        )
        _drop_lineage(sdtm)  # the child writes it: this process holds it no longer
        bundles = [sdtm]
        ui.step(2, total, STEPS[1] + not_declared["adam"])
        if spec.has_adam:
            with stagemeter.stage("adam"):
                bundles.append(build_adam(spec, sdtm, ui=ui))
        del sdtm
        ui.step(3, total, STEPS[2])

        said = lanes.Recorder(ui)  # what this lane says from now on comes after what the files' lanes say
        waiting: list = [sdtm_files]  # the lanes whose work comes before this lane's, in the serial order
        files: list[tuple[dict[str, list[Path]], Known]] = []  # their values, in that order
        joining: list = []  # the lane being joined: an error now is that lane's, which wins over this one's

        def join_next() -> None:
            joining.append(waiting.pop(0))
            files.append(joining[-1].join(ui))
            joining.pop()

        reporting = None
        checked: dict[str, list[Path]] = {bundle.standard: [] for bundle in bundles}
        try:
            as_read: dict[str, dict[Path, tuple] | None] = {}
            if spec.has_adam:
                adam = bundles[1]
                adam_xpt = write_bundle(adam, tmp / "adam", spec, forms=("xpt",))
                as_read["ADaM"] = checking.as_read(adam)
                adam_files = _aside(
                    lanes_open,
                    partial(_files_lane, adam, tmp, spec, forms=("dataset-json",), first=adam_xpt),
                    ui,
                    "writing the ADaM Dataset-JSON, metadata and lineage files",
                    after=sdtm_files,
                )
                waiting.append(adam_files)
                _drop_lineage(adam)
                del adam
                if checking.reporting:
                    recompute = partial(_report_lane, checking, as_read["ADaM"])
                    if sdtm_files.working():  # the validator would wait for them: the report fills that time
                        reporting = _Done(recompute, ui)
                    else:
                        reporting = _aside(
                            lanes_open, recompute, ui, "recomputing the published tables", after=adam_files
                        )
            # the validator lists the XPT files: the SDTM ones must be on disk
            checking.check(bundles, said, checked, as_read, before_validation=join_next)
            del as_read
            while waiting:
                join_next()
        except Exception:  # the serial build meets the files' lanes' errors first, if they have one: those win
            if joining:  # a lane's error (it said what it said before it): what this lane said never comes
                raise
            while waiting:
                join_next()
            lanes.replay(said.calls, ui)
            raise
        lanes.replay(said.calls, ui)

        written: dict[str, list[Path]] = {}  # in the serial build's order: the summary's
        for paths_by_stage, digests in files:
            known.update(digests)
            for stage, paths in paths_by_stage.items():
                written.setdefault(stage, []).extend(paths)
        for stage, paths in checked.items():
            written.setdefault(stage, []).extend(paths)
        ui.step(6, total, STEPS[5] + not_declared["report"])
        if reporting is not None:
            written["report"], mismatches, digests = reporting.join(ui)
            known.update(digests)
            checking.result.report_mismatches = mismatches
            if mismatches:
                checking.result.exit_code = max(checking.result.exit_code, 1)
    return written


def _files_lane(
    bundle, tmp: Path, spec, said: Console, forms: tuple[str, ...], first: Sequence[Path] = ()
) -> tuple[dict[str, list[Path]], Known]:
    """A lane's step 3 for one bundle: its lineage, datasets (as ``forms``) and metadata, with ``first``
    (its files written already, by this process's parent) listed first; and the digests of them all: those
    taken while writing, and ``first``'s, read here so that the parent, whose lane is the longer, does not
    hash them."""
    written: dict[str, list[Path]] = {}
    taken: Known = {}
    with recording(taken):
        _write_files([bundle], tmp, spec, said, written, forms=forms)
    written[bundle.standard][:0] = list(first)
    with stagemeter.stage("hash"):
        return written, guard_digests([path for paths in written.values() for path in paths], taken)


def _report_lane(checking: _Checks, as_read, said: Console) -> tuple[list[Path], int | None, Known]:
    """Step 6 in a lane: the report's files, its count of mismatches, and the files' digests."""
    paths, mismatches = checking.recompute(as_read, said)
    with stagemeter.stage("hash"):
        return paths, mismatches, guard_digests(paths)


class _Done:
    """Work run here rather than in a lane (a lane cannot be forked now): its value or error and what it
    said, given by :meth:`join` as a lane's are."""

    def __init__(self, work: Callable[[Console], Any], ui: Console):
        self._said = lanes.Recorder(ui)
        self._error: Exception | None = None
        try:
            self._value = work(self._said)
        except Exception as error:
            self._error = error

    def join(self, ui: Console) -> Any:
        lanes.replay(self._said.calls, ui)
        if self._error is not None:
            raise self._error
        return self._value


def _aside(stack: contextlib.ExitStack, work: Callable[[Console], Any], ui: Console, what: str, after) -> Any:
    """``work`` in a lane forked after ``after`` when one can be forked now, else run here."""
    if isinstance(after, lanes.Lane) and lanes.ready(ui):
        return stack.enter_context(lanes.forked(work, ui, what, after=after))
    ui.resume()  # ready() may have paused the progress bar
    return _Done(work, ui)
