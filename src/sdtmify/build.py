"""`sdtmify build`: every stage, in the order data flows, into a temporary folder renamed at the end.

sources -> mapping (SDTM) -> ADaM -> writers (XPT, Dataset-JSON, define.xml) -> validator -> report.
A stage whose module has not landed yet is reported plainly as not built; nothing is pretended."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import atomic_dir
from .console import QUIET, Console
from .errors import NotBuiltYet
from .paths import output_dir


@dataclass
class BuildResult:
    study: str
    out_dir: Path
    written: dict[str, list[str]] = field(default_factory=dict)    # stage -> relative paths
    not_built: list[str] = field(default_factory=list)
    findings: dict[str, int] = field(default_factory=dict)         # severity -> count
    exit_code: int = 0

    def summary(self) -> str:
        lines = [f"sdtmify build {self.study} -> {self.out_dir}"]
        for stage, paths in self.written.items():
            shown = ", ".join(Path(p).name for p in paths[:12])
            more = f" (+{len(paths) - 12} more)" if len(paths) > 12 else ""
            lines.append(f"  {stage:<12} {len(paths):>3} files: {shown}{more}")
        if self.findings:
            counts = ", ".join(f"{n} {sev}" for sev, n in self.findings.items())
            lines.append(f"  validation   {counts}")
        for item in self.not_built:
            lines.append(f"  not built yet: {item}")
        return "\n".join(lines)


def _optional(module: str, what: str, result: BuildResult):
    """Import a stage's module; when it has not landed, record that plainly and return None."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == module or module.startswith(exc.name + ".")):
            result.not_built.append(what)
            return None
        raise


def build_study(study: str, ct_file: str | None = None, out_dir: str | None = None,
                ui: Console = QUIET, validate: bool = True, report: bool = True) -> BuildResult:
    from .study import load_study

    target = Path(out_dir) if out_dir else output_dir(study)
    result = BuildResult(study=study, out_dir=target)
    spec = load_study(study)
    steps = ["SDTM", "ADaM", "XPT + Dataset-JSON", "define.xml", "validation", "report"]
    total = len(steps)

    with atomic_dir(target) as tmp:
        ui.step(1, total, "mapping sources to SDTM")
        engine = _optional("sdtmify.mapping.engine", "SDTM mapping engine (issue: mapping engine)", result)
        if engine is None:
            raise NotBuiltYet(
                f"{study}: the SDTM mapping engine has not landed yet, so nothing can be built. "
                f"Source tables are in {spec.folder / 'source'}; `sdtmify check` validates what exists.")
        sdtm = engine.build_sdtm(spec, ct_file=ct_file, ui=ui)
        bundles = [sdtm]

        ui.step(2, total, "deriving ADaM")
        adam_engine = _optional("sdtmify.adam.engine", "ADaM datasets (issue: ADaM)", result)
        if adam_engine is not None and spec.has_adam:
            bundles.append(adam_engine.build_adam(spec, sdtm, ui=ui))

        ui.step(3, total, "writing XPT and Dataset-JSON")
        from .metadata import serialize
        from .writers.lineage import write_lineage
        from .writers.outputs import write_bundle

        for bundle in bundles:
            folder = tmp / bundle.standard.lower()
            result.written[bundle.standard] = write_bundle(bundle, folder, spec, ui=ui)
            snapshot = serialize.dump(bundle.metadata, tmp / "metadata" / f"{bundle.standard.lower()}.json")
            result.written.setdefault("metadata", []).append(snapshot)
            result.written.setdefault("lineage", []).extend(write_lineage(bundle, tmp / "lineage"))

        ui.step(4, total, "writing define.xml")
        define = _optional("sdtmify.writers.define", "define.xml (issue: Define-XML)", result)
        if define is not None:
            for bundle in bundles:
                folder = tmp / bundle.standard.lower()
                result.written.setdefault("define", []).extend(define.write_define_files(bundle, folder, spec))

        ui.step(5, total, "validating")
        if validate:
            runner = _optional("sdtmify.validate.run", "validation report (issue: validator)", result)
            if runner is not None:
                outcome = runner.validate_build(tmp, spec, ct_file=ct_file, ui=ui)
                result.written["validation"] = outcome.written
                result.findings = outcome.counts
                result.exit_code = max(result.exit_code, outcome.exit_code)

        ui.step(6, total, "recomputing the paper's tables")
        if report and len(bundles) > 1:
            paper = _optional("sdtmify.report.paper", "report (issue: ADaM report)", result)
            if paper is not None and spec.has_report:
                written, mismatches = paper.build_report(spec, tmp / "adam", tmp / "report", ui=ui)
                result.written["report"] = written
                if mismatches:
                    result.exit_code = max(result.exit_code, 1)
    result.written = {k: [str(Path(p)) for p in v] for k, v in result.written.items()}
    return result
