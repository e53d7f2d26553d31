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

from . import stagemeter
from .adam.engine import build_adam
from .console import QUIET, Console
from .guard import guarded_output
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
) -> BuildResult:
    """Build ``study`` (a bare name under mappings/ or a study folder path) into ``out_dir`` (default
    output/<STUDYID>). ``force`` moves an existing folder sdtmify did not write aside instead of refusing;
    ``wait`` is how many seconds to wait for another build of the same output; ``fail_on`` is the
    severity of validation findings that makes the exit code 1 (as for ``sdtmify validate``);
    ``encoding`` the text encoding of sources whose study.yaml entry names none."""
    findings_exit_code(counts={}, fail_on=fail_on)  # a bad value is refused before anything is built
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

    with guarded_output(target, spec.studyid, force=force, wait=wait, ui=ui) as tmp:
        ui.step(1, total, STEPS[0])
        with stagemeter.stage("map"):
            bundles = [build_sdtm(spec, ct_file=ct_file, ui=ui)]

        ui.step(2, total, STEPS[1] + not_declared["adam"])
        if spec.has_adam:
            with stagemeter.stage("adam"):
                bundles.append(build_adam(spec, bundles[0], ui=ui))

        ui.step(3, total, STEPS[2])
        for bundle in bundles:
            for note in bundle.notes:
                ui.debug(f"{bundle.standard}: {note}")
            folder = tmp / bundle.standard.lower()
            written[bundle.standard] = list(write_bundle(bundle, folder, spec, ui=ui))
            written.setdefault("metadata", []).append(
                serialize.dump(bundle.metadata, tmp / "metadata" / f"{bundle.standard.lower()}.json")
            )
            with stagemeter.stage("lineage"):
                written.setdefault("lineage", []).extend(write_lineage(bundle, tmp / "lineage"))
            # the lineage is written: nothing else reads it
            bundle.datasets = {name: replace(built, lineage=None) for name, built in bundle.datasets.items()}

        ui.step(4, total, STEPS[3])
        for bundle in bundles:
            with stagemeter.stage("define"):
                written[bundle.standard].extend(write_define_files(bundle, tmp / bundle.standard.lower(), spec))

        ui.step(5, total, STEPS[4])
        reporting = report and spec.has_adam and spec.has_report
        # the datasets as reading the XPT files just written gives them, from the frames in memory: the
        # validator and the report use these instead of reading the files back
        with stagemeter.stage("validate"):
            as_read = {
                bundle.standard: bundle_as_read(bundle, tmp / bundle.standard.lower(), spec)
                for bundle in bundles
                if validate or (reporting and bundle.standard == "ADaM")
            }
        if validate:
            every = {path: read for files in as_read.values() for path, read in files.items()}
            with stagemeter.stage("validate"):
                outcome = validate_build(tmp, spec, ct_file=ct_file, ui=ui, datasets=every)
            del every
            written["validation"] = list(outcome.written)
            result.findings = outcome.counts
            result.validation = outcome.report
            notes = (outcome.report or {}).get("notes")
            result.unexplained = notes.get("unexplained") if notes else None
            result.exit_code = max(result.exit_code, findings_exit_code(outcome.counts, fail_on))
            del outcome  # its Validation holds the validator's tables and their caches

        # draft reviewer's guides (cSDRG, ADRG) from the metadata, study.yaml and the conformance report
        for bundle in bundles:
            written[bundle.standard].extend(
                write_guides(bundle, tmp / bundle.standard.lower(), spec, result.validation)
            )

        ui.step(6, total, STEPS[5] + not_declared["report"])
        # release every frame no later stage reads, so the report's memory does not add to the build's:
        # the guides were the bundles' last readers, the validator the SDTM read-back's
        del bundles, bundle
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

        ui.finish()
        from .writers.readme import write_readme

        written["readme"] = [write_readme(tmp, spec)]
        result.written = {stage: sorted(os.path.relpath(p, tmp) for p in paths) for stage, paths in written.items()}
    return result
