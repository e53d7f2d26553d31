"""``sdtmify check``: validate every file a build reads, without writing anything.

It sits at the package top, beside build.py, because it reads the files of every stage (mapping, ADaM,
define ARM, report: the last two through :mod:`sdtmify.studyspec`); no stage imports it.

One run reports every problem it can find, each naming file:line (or file and source row) and field,
at most ``LIMIT`` of them ("... and N more"):

1. schema problems of every file (file:line key: message): study.yaml, the SDTM mappings, the ADaM
   specs (adam/*.yaml), adam/analysis_results.yaml and report.yaml;
2. when the SDTM mappings are valid, the build of SDTM in memory: every variable of every domain
   (column names, codelist values, dates...), then each domain's derivations (visits, arms, units,
   sequence...) and its conformance to SDTMIG 3.4 (Required values, lengths, keys), a domain with a
   problem being left out of the later steps so that one mistake is reported once;
3. when SDTM is clean and the study has ADaM, a dry run of the ADaM layer on that in-memory SDTM:
   each dataset up to its first failing step, the datasets that read a failed one left out."""

from __future__ import annotations

from pathlib import Path

from . import yamlio
from .adam.engine import check_adam
from .adam.spec import check_specs
from .console import QUIET
from .errors import InputError, SdtmifyError
from .mapping.engine import SdtmBuilder, apply_study_spec
from .mapping.metadata import assemble_bundle
from .mapping.terminology import CTRecoder
from .study import load_study
from .studyspec.analysis_results import FILE_NAME, parse_analysis_results
from .studyspec.report import SCHEMA_NAME
from .studyspec.report import load_yaml as load_report_yaml

LIMIT = 50


def check_study(name: str, ct_file=None, encoding: str | None = None, limit: int = LIMIT) -> list[str]:
    """One message per problem, [] when the study's files are valid and its data build (at most
    ``limit``, then "... and N more"); ``encoding`` is the text encoding of sources whose study.yaml
    entry names none."""
    # The shipped schemas first: a broken install stops the command (exit 2), it is not a problem
    # in the study's files.
    for schema in ("study", "mapping", "adam", "report"):
        yamlio.load_schema(schema)
    try:
        study = load_study(name)
    except SdtmifyError as exc:
        return [str(exc)]
    study.default_encoding(encoding)
    files = study.mapping_files("sdtm")
    if not files:
        return [f"{yamlio.display_path(study.folder / 'sdtm')}: no mapping files; write one per domain"]
    messages = []
    for path in files:
        try:
            document = yamlio.load_yaml(path)
        except SdtmifyError as exc:
            messages.append(str(exc))
            continue
        messages += [str(error) for error in yamlio.schema_errors(document, "mapping", yamlio.display_path(path))]
    downstream = downstream_problems(study.folder)
    if not messages:  # the data are checked only through mappings that are valid
        try:
            messages += data_problems(study, ct_file, adam=study.has_adam and not downstream)
        except SdtmifyError as exc:
            messages.append(str(exc))
    return capped(list(dict.fromkeys(messages + downstream)), limit)


def capped(messages: list[str], limit: int = LIMIT) -> list[str]:
    """At most ``limit`` messages, then one line saying how many more there are."""
    if len(messages) <= limit:
        return messages
    return [*messages[:limit], f"... and {len(messages) - limit} more problems (the first {limit} are shown)"]


def data_problems(study, ct_file=None, adam: bool = True) -> list[str]:
    """The problems of building the study in memory, nothing written: SDTM (every domain, see the
    module docstring), then, when SDTM is clean and ``adam``, the ADaM layer on it."""
    terminology = CTRecoder.load(ct_file)
    builder = SdtmBuilder(study, terminology)
    problems: list[str] = []
    builder.problems = problems
    try:
        domains = builder.build()
    except InputError as exc:  # a step of the whole study (SV, SE, SUPP): nothing after it can run
        return [*problems, str(exc)]
    domains = {name: build for name, build in domains.items() if name not in builder.failed}
    try:
        sdtm = apply_study_spec(study, assemble_bundle(study, domains, terminology, builder.notes, QUIET))
    except InputError:  # conformance: every domain on its own, to report each one's problem
        for name in sorted(domains):
            try:
                assemble_bundle(study, {name: domains[name]}, terminology, [], QUIET)
            except InputError as exc:
                problems.append(str(exc))
        return problems
    if problems or not adam:
        return problems
    return check_adam(study, sdtm)


def downstream_problems(folder: Path) -> list[str]:
    """Problems in the files the ADaM, define (ARM) and report stages read, found without building:
    schema and structure only (what needs the built ADaM metadata is checked by the build)."""
    messages = []
    adam = folder / "adam"
    if adam.is_dir():
        messages += check_specs(adam)
        if (adam / FILE_NAME).is_file():
            path = adam / FILE_NAME
            try:
                parse_analysis_results(yamlio.load_yaml(path), yamlio.display_path(path))
            except SdtmifyError as exc:
                messages.append(str(exc))
    report = folder / "report.yaml"
    if report.is_file():
        try:
            document = load_report_yaml(report)
        except SdtmifyError as exc:
            return messages + [str(exc)]
        messages += [
            str(error) for error in yamlio.schema_errors(document.data, SCHEMA_NAME, yamlio.display_path(report))
        ]
    return messages
