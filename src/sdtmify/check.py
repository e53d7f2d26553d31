"""``sdtmify check``: validate every file a build reads, without writing anything.

It sits at the package top, beside build.py, because it reads the files of every stage (mapping, ADaM,
define ARM, report: the last two through :mod:`sdtmify.studyspec`); no stage imports it.

Every schema problem of every file is listed (file:line key: message): the SDTM mappings, the ADaM
specs (adam/*.yaml), adam/analysis_results.yaml and report.yaml. When the SDTM files are valid, the
mappings are applied in memory to the source tables so that column names, codelist values, dates and
visit names are checked too: every variable of every domain, each problem reported (at most 50)."""

from __future__ import annotations

from pathlib import Path

from . import yamlio
from .adam.spec import check_specs
from .errors import SdtmifyError
from .mapping.engine import check_sdtm
from .study import load_study
from .studyspec.analysis_results import FILE_NAME, parse_analysis_results
from .studyspec.report import SCHEMA_NAME
from .studyspec.report import load_yaml as load_report_yaml


def check_study(name: str, ct_file=None, encoding: str | None = None) -> list[str]:
    """One message per problem, [] when the study's mappings are valid; ``encoding`` is the text
    encoding of sources whose study.yaml entry names none."""
    # The shipped schemas first: a broken install stops the command (exit 2), it is not a problem
    # in the study's files.
    for schema in ("study", "mapping", "adam", "report"):
        yamlio.load_schema(schema)
    try:
        study = load_study(name)
    except SdtmifyError as exc:
        return [str(exc)]
    study.default_encoding(encoding)
    messages = []
    files = study.mapping_files("sdtm")
    if not files:
        return [f"{yamlio.display_path(study.folder / 'sdtm')}: no mapping files; write one per domain"]
    for path in files:
        try:
            document = yamlio.load_yaml(path)
        except SdtmifyError as exc:
            messages.append(str(exc))
            continue
        messages += [str(error) for error in yamlio.schema_errors(document, "mapping", yamlio.display_path(path))]
    messages += downstream_problems(study.folder)
    if messages:
        return messages
    try:
        return check_sdtm(study, ct_file=ct_file)
    except SdtmifyError as exc:
        return [str(exc)]


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
