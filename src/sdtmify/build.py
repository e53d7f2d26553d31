"""`sdtmify build`: every stage, in the order data flows, into a staging folder swapped in at the end.

sources -> mapping (SDTM) -> ADaM -> writers (XPT, Dataset-JSON, define.xml, lineage) -> validator -> report.
The output folder is checked before anything is written (``paths.check_output_location``: never the study,
a source, the project root...), locked, built beside the target and swapped into place only when every
stage succeeded (``guard.guarded_output``), so a failed or killed build leaves the previous output as it was."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import lanes, stagemeter
from .adam.engine import build_adam
from .console import QUIET, Console
from .guard import Known, guarded_output
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
    known: Known = {}  # digests the second lane took of the files it wrote, for the manifest

    with guarded_output(target, spec.studyid, force=force, wait=wait, ui=ui, known=known) as tmp:
        ui.step(1, total, STEPS[0])
        with stagemeter.stage("map"):
            bundles = [build_sdtm(spec, ct_file=ct_file, ui=ui)]

        ui.step(2, total, STEPS[1] + not_declared["adam"])
        if spec.has_adam:
            with stagemeter.stage("adam"):
                bundles.append(build_adam(spec, bundles[0], ui=ui))

        ui.step(3, total, STEPS[2])
        checking = _Checks(spec, tmp, result, ct_file, validate, report, fail_on, not_declared)
        if not (lanes_here and lanes.ready(ui)):
            _write_files(bundles, tmp, spec, ui, written)
            checking.run(bundles, ui, written)
        else:
            written = _two_lanes(bundles, tmp, spec, ui, checking, known)
        del bundles

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
    metadata or lineage files: define.xml, the validation, the reviewer's guides and the report."""

    spec: Any
    tmp: Path
    result: BuildResult
    ct_file: str | None
    validate: bool
    report: bool
    fail_on: str
    not_declared: dict[str, str]

    def run(self, bundles: list, ui: Console, written: dict[str, list[Path]]) -> None:
        """Steps 4-6 on ``bundles``, which it empties once the guides, their last readers, are written
        (so the report's memory does not add to the bundles')."""
        spec, tmp, result, total = self.spec, self.tmp, self.result, len(STEPS)
        ui.step(4, total, STEPS[3])
        for bundle in bundles:
            with stagemeter.stage("define"):
                written[bundle.standard].extend(write_define_files(bundle, tmp / bundle.standard.lower(), spec))

        ui.step(5, total, STEPS[4])
        reporting = self.report and spec.has_adam and spec.has_report
        # the datasets as reading the XPT files just written gives them, from the frames in memory: the
        # validator and the report use these instead of reading the files back
        with stagemeter.stage("validate"):
            as_read = {
                bundle.standard: bundle_as_read(bundle, tmp / bundle.standard.lower(), spec)
                for bundle in bundles
                if self.validate or (reporting and bundle.standard == "ADaM")
            }
        if self.validate:
            every = {path: read for files in as_read.values() for path, read in files.items()}
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

        ui.step(6, total, STEPS[5] + self.not_declared["report"])
        # release every frame no later stage reads, so the report's memory does not add to the build's:
        # the guides were the bundles' last readers, the validator the SDTM read-back's
        bundles.clear()
        del bundle
        as_read.pop("SDTM", None)
        if reporting:
            with stagemeter.stage("report"):
                paths, mismatches = build_report(
                    spec, tmp / "adam", tmp / "report", ui=ui, datasets=as_read.get("ADaM")
                )
            written["report"] = list(paths)
            result.report_mismatches = mismatches
            if mismatches:
                result.exit_code = max(result.exit_code, 1)


def _two_lanes(bundles: list, tmp: Path, spec, ui: Console, checking: _Checks, known: Known) -> dict[str, list[Path]]:
    """Steps 3-6 on two cores. The XPT files are written first (the validator lists and may read them);
    then a forked child writes the Dataset-JSON, metadata and lineage files and hashes what it wrote
    (``known``, for the manifest), while this process runs steps 4-6 (:class:`_Checks`). Neither lane reads
    what the other writes. What each lane says is recorded and replayed after the join in the serial order,
    and ``written`` is merged in that order, so the console and the outputs are those of ``--jobs 1``. An
    error in this lane waits for the second (whose error, coming first in the serial order, would win);
    Ctrl-C and SIGTERM (BaseException) do not wait: leaving ``lanes.forked`` kills the child."""
    first: dict[str, list[Path]] = {}
    for bundle in bundles:
        first[bundle.standard] = write_bundle(bundle, tmp / bundle.standard.lower(), spec, forms=("xpt",))

    def second_lane(said: Console) -> tuple[dict[str, list[Path]], Known]:
        written: dict[str, list[Path]] = {}  # filled in the serial build's order: the summary's
        _write_files(bundles, tmp, spec, said, written, forms=("dataset-json",))
        for standard, paths in first.items():
            written[standard][:0] = paths
        with stagemeter.stage("hash"):
            return written, guard_digests([path for paths in written.values() for path in paths])

    checked: dict[str, list[Path]] = {standard: [] for standard in first}
    said = lanes.Recorder(ui)
    with lanes.forked(second_lane, ui, "writing Dataset-JSON, metadata and lineage") as lane:
        for bundle in bundles:  # the child writes it first and drops it: this process holds it no longer
            _drop_lineage(bundle)
        try:
            checking.run(bundles, said, checked)
        except Exception:  # the serial build meets the second lane's error first, if it has one: that one wins
            lane.join(ui)
            lanes.replay(said.calls, ui)
            raise
        written, digests = lane.join(ui)
    known.update(digests)
    lanes.replay(said.calls, ui)
    for stage, paths in checked.items():
        written.setdefault(stage, []).extend(paths)
    return written
