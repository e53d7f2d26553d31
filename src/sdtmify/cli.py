"""Command line: parse arguments, call one function per command, print.

One error handler for every command (``main``): no traceback reaches the user unless ``--debug``.
Exit codes: 0 success, 1 findings/validation errors, 2 usage or input errors, 3 internal errors,
130 interrupted (Ctrl-C), 143 terminated (SIGTERM)."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import re
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from . import __version__
from .console import Console
from .errors import InputError, SdtmifyError


# Each command imports its stage inside its function, so `sdtmify --help` and usage errors stay fast.
def _cmd_build(args, ui: Console) -> int:
    if len(args.study) > 1 or args.scheduler or args.workers or args.partition_validation:
        return _build_many(args, ui)
    from .allocator import keep_freed_memory
    from .build import build_study

    keep_freed_memory()  # a build makes and drops many large columns: reuse their memory (allocator.py)
    result = build_study(args.study[0], out_dir=args.out, ui=ui, jobs=args.jobs, **_build_options(args))
    return _show_build(result, ui, "build")


def _cmd_adam(args, ui: Console) -> int:
    from .adam_only import build_adam_from_sdtm
    from .allocator import keep_freed_memory

    keep_freed_memory()
    result = build_adam_from_sdtm(args.sdtm, args.study, out_dir=args.out, ui=ui, **_build_options(args))
    return _show_build(result, ui, "adam")


def _build_options(args) -> dict:
    """The options build and adam share (and each study of a pooled build), as build_study takes them."""
    return dict(
        ct_file=args.ct,
        validate=not args.no_validate,
        report=not args.no_report,
        force=args.force,
        wait=args.wait,
        fail_on=args.fail_on,
        encoding=args.encoding,
    )


def _show_build(result, ui: Console, command: str) -> int:
    """After a build (or an ADaM-only build): the findings table, then what was written where."""
    ui.close()
    if result.validation is not None:
        from .validate.report_console import print_report

        print_report(result.validation, ui)
    ui.result(result.summary().replace("sdtmify build", f"sdtmify {command}", 1))
    return result.exit_code


def _build_many(args, ui: Console) -> int:
    """Several studies (or --scheduler): each study's build a dask task (sdtmify.pool); one line per study."""
    if args.workers and args.scheduler not in (None, "local"):
        args.subparser.error("--workers sizes a local cluster; a scheduler at an address has its own workers")
    from .pool import LOCAL, build_studies

    debug = getattr(args, "debug", False)

    def done(outcome) -> None:
        for line in outcome.log:  # what the study's build said on its console, named by study
            if line.startswith("warning: "):
                ui.warn(f"{outcome.study}: {line.removeprefix('warning: ')}")
            else:
                ui.debug(f"{outcome.study}: {line}")
        if outcome.error is not None:
            if debug and outcome.trace:
                print(f"{outcome.study}: {outcome.trace.rstrip()}", file=sys.stderr)
            ui.error(f"{outcome.study}: {_describe(outcome.error)[1]}")
        else:
            ui.info(
                f"{outcome.study}: built in {outcome.seconds:0.1f}s"
                + (f" on {outcome.worker}" if outcome.worker else "")
                + (f", validated in {outcome.partitions} partitions" if outcome.partitions else "")
            )

    outcomes = build_studies(
        args.study,
        scheduler=args.scheduler or LOCAL,
        workers=args.workers,
        out=args.out,
        options=_build_options(args),
        partition=args.partition_validation,
        ui=ui,
        on_done=done,
    )
    rows, codes = [], []
    for outcome in outcomes:
        if outcome.result is None:
            code, message = _describe(outcome.error or RuntimeError("the build returned nothing"))
            rows.append([outcome.study, code, f"failed: {message}"])
            codes.append(code)
            continue
        if ui.verbosity >= 2 and outcome.result.validation is not None:
            from .validate.report_console import print_report

            print_report(outcome.result.validation, ui)
        ui.result(outcome.result.summary())
        findings = ", ".join(f"{severity}s: {n}" for severity, n in outcome.result.findings.items())
        built = f"built: {outcome.result.out_dir}" + (f" ({findings})" if findings else "")
        rows.append([outcome.study, outcome.result.exit_code, built])
        codes.append(outcome.result.exit_code)
    ui.table(["study", "exit", "result"], rows, right=[1])
    return max(codes)


def _cmd_check(args, ui: Console) -> int:
    from .check import check_study
    from .paths import resolve_study

    resolve_study(args.study)  # a study that is not there is a usage error (2), not a finding
    messages = check_study(args.study, ct_file=args.ct, encoding=args.encoding)
    for line in messages:
        ui.result(line)
    if not messages:
        ui.result(f"{args.study}: study.yaml, SDTM, ADaM, report and analysis-results files valid")
    return 1 if messages else 0


def _cmd_init(args, ui: Console) -> int:
    from .mapping.scaffold import init_study

    if args.study and args.name and args.study != args.name:
        args.subparser.error(f"NAME {args.name!r} and --study {args.study!r} differ; give one of them")
    written = init_study(args.study or args.name, force=args.force)
    for path in written:
        ui.result(str(path))
    return 0


def _cmd_validate(args, ui: Console) -> int:
    from .validate.run import validate_command

    partitioned = None
    if args.scheduler or args.workers:
        if args.workers and args.scheduler not in (None, "local"):
            args.subparser.error("--workers sizes a local cluster; a scheduler at an address has its own workers")
        from .pool import LOCAL, partitioned_validation

        partitioned = partitioned_validation(args.scheduler or LOCAL, args.workers, ui)
    return validate_command(
        Path(args.path),
        define=args.define,
        ct_file=args.ct,
        sdtm=args.sdtm,
        notes=args.notes,
        fail_on=args.fail_on,
        max_errors_per_rule=args.max_errors_per_rule,
        report_dir=args.report_dir,
        encoding=args.encoding,
        force=args.force,
        dictionaries=args.dictionary or (),
        ui=ui,
        partitioned=partitioned,
    )


def _cmd_convert(args, ui: Console) -> int:
    from .writers.convert import convert_files, sidecar_path

    target = Path(args.target)
    if target.is_dir():
        raise InputError(f"convert target {target} is a folder; name the file to write, e.g. {target / 'dm.xpt'}")
    for path in [target] + ([sidecar_path(target)] if target.suffix.lower() == ".csv" else []):
        if os.path.lexists(path) and not args.force:
            raise InputError(f"convert target {path} exists; pass --force to replace it, or name another file")
    for path in convert_files(
        Path(args.source), target, encoding=args.encoding, allow_lossy=args.allow_lossy, warn=ui.warn
    ):
        ui.result(str(path))
    return 0


def _cmd_report(args, ui: Console) -> int:
    from .report.paper import report_command

    return report_command(args.study, ui=ui, encoding=args.encoding)


def _cmd_synth(args, ui: Console) -> int:
    from .synth import synthesize

    result = synthesize(args.like, args.subjects, args.out, seed=args.seed, ui=ui, encoding=args.encoding)
    ui.result(result.summary())
    return 0


def _cmd_spec_export(args, ui: Console) -> int:
    from .metadata.spec_xlsx import export_spec

    out = Path(args.out)
    if out.is_dir() or (os.path.lexists(out) and not args.force):
        what = "is a folder; name the workbook to write" if out.is_dir() else "exists; pass --force to replace it"
        raise InputError(f"spec export --out {out} {what}")
    ui.result(str(export_spec(args.study, out)))
    return 0


def _cmd_spec_import(args, ui: Console) -> int:
    from .metadata.spec_xlsx import import_spec

    for path in import_spec(Path(args.workbook), args.study):
        ui.result(str(path))
    return 0


EPILOG = """\
output:
  results (what was written, findings, summaries) go to stdout; progress and diagnostics to stderr.
  -q prints results, warnings and errors only; -v adds per-stage details and timings.
  On a terminal: progress bars and colour; piped, NO_COLOR=1 or TERM=dumb: plain lines.

exit codes (the same for every command):
  0    success, nothing at or above the --fail-on severity
  1    findings: validation findings at or above --fail-on (build, validate), problems in the
       study's files (check), published values not reproduced (build, report)
  2    usage or input error (bad argument, study, mapping, source, or an output folder sdtmify may not write)
  3    internal error (a bug: rerun with --debug and report the traceback)
  130  interrupted (Ctrl-C), 143 terminated (SIGTERM); the previous output is left as it was"""

FAIL_ON_HELP = "findings of this severity or worse give exit code 1 (default: error)"


class HelpFormatter(argparse.HelpFormatter):
    """Descriptions wrapped to the terminal width; the epilog (a laid-out table) kept as written."""

    def _fill_text(self, text, width, indent):
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _encoding(text: str) -> str:
    """--encoding: a text encoding Python knows, by its canonical name (checked before anything is read)."""
    import codecs

    try:
        return codecs.lookup(text).name
    except LookupError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a text encoding Python knows; use a Python codec name, e.g. utf-8, cp1252, latin-1"
        ) from None


SOURCE_ENCODING_HELP = (
    "text encoding of the source files (a Python codec name: utf-8, cp1252, latin-1...) for every source "
    "whose study.yaml entry names none (default: UTF-8; XPT sources UTF-8, then Windows-1252)"
)
DATASET_ENCODING_HELP = (
    "text encoding of the XPT datasets read (a Python codec name: utf-8, cp1252, latin-1...; "
    "default: UTF-8, then Windows-1252)"
)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not 0 <= value <= 86400 or value != value:
        raise argparse.ArgumentTypeError(f"'{text}' must be between 0 and 86400 seconds")
    return value


def _whole_number(lowest: int, highest: int, what: str):
    """An argparse type: a whole number from ``lowest`` to ``highest`` (``what`` names it in the message)."""

    def parse(text: str) -> int:
        wanted = f"give {what} from {lowest:,} to {highest:,}"
        try:
            value = int(text.replace("_", "").replace(",", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number; {wanted}") from None
        if not lowest <= value <= highest:
            raise argparse.ArgumentTypeError(f"'{text}' is out of range; {wanted}")
        return value

    return parse


def _scheduler(text: str) -> str:
    """--scheduler: ``local`` or a scheduler address as dask writes it, PROTOCOL://HOST:PORT."""
    if text == "local" or re.match(r"^(tcp|tls|ws|wss)://[^\s/]+:\d{1,5}$", text):
        return text
    raise argparse.ArgumentTypeError(
        f"'{text}' is neither 'local' nor a scheduler address PROTOCOL://HOST:PORT (e.g. tcp://scheduler.example:8786)"
    )


def _positive_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1024:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of workers from 1 to 1024")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    noise = common.add_mutually_exclusive_group()
    # SUPPRESS: a subcommand's own -q/-v must not reset one given before the subcommand.
    noise.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print results, warnings and errors only (no progress)",
    )
    noise.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print more: per-stage details and timings",
    )
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show the Python traceback of an error"
    )

    parser = argparse.ArgumentParser(
        prog="sdtmify",
        parents=[common],
        description="Turn a clinical trial's source tables into SDTM, ADaM, XPT v5, Dataset-JSON, "
        "Define-XML 2.1 and a conformance report, from declarative YAML mappings.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sdtmify {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(group, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        """A command's parser with the shared options (-q/-v/--debug), the exit-code epilog and the help layout."""
        parser: argparse.ArgumentParser = group.add_parser(
            name, parents=[common], epilog=EPILOG, formatter_class=HelpFormatter, **kwargs
        )
        return parser

    p = command(
        sub,
        "build",
        help="build SDTM, ADaM, XPT, Dataset-JSON, define.xml, report",
        description="Read mappings/STUDY/ and write output/STUDY/: SDTM and ADaM datasets "
        "as XPT v5 and Dataset-JSON, define.xml, lineage, a validation report and the paper's tables.",
    )
    p.add_argument(
        "--study",
        required=True,
        action="append",
        help="a study NAME (mappings/NAME, e.g. NCI84) or a PATH to a study folder; give it again to build "
        "several studies at once, each a task on a dask cluster (--scheduler)",
    )
    p.add_argument(
        "--ct",
        metavar="FILE",
        help="a full NCI CDISC CT file (tab-separated .txt or .txt.xz) to check against instead of the shipped subset",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="output folder (default output/STUDYID, STUDYID from study.yaml); with several --study, "
        "the folder that holds one output folder per study, DIR/STUDYID",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="if the output folder exists but was not written by sdtmify (or was changed by hand), "
        "move it aside to DIR.kept-<time> instead of refusing; nothing is deleted",
    )
    p.add_argument(
        "--wait",
        type=_positive_seconds,
        default=0.0,
        metavar="SECONDS",
        help="wait up to SECONDS for another build of the same output to finish (default 0: refuse at once)",
    )
    p.add_argument("--no-validate", action="store_true", help="skip the conformance check at the end")
    p.add_argument("--fail-on", choices=["error", "warning", "never"], default="error", help=FAIL_ON_HELP)
    p.add_argument("--encoding", type=_encoding, metavar="CODEC", help=SOURCE_ENCODING_HELP)
    p.add_argument("--no-report", action="store_true", help="skip recomputing the paper's tables")
    p.add_argument(
        "--scheduler",
        type=_scheduler,
        metavar="local|ADDRESS",
        help="build each study as a dask.distributed task: 'local' starts a cluster of worker processes "
        "on this machine (the default with several --study), an ADDRESS (tcp://HOST:PORT) uses a running "
        "scheduler whose workers see the same paths and run the same sdtmify",
    )
    p.add_argument(
        "--workers",
        type=_positive_count,
        metavar="N",
        help="worker processes of the local cluster (default: one per core; never more than one per study)",
    )
    p.add_argument(
        "--partition-validation",
        action="store_true",
        help="validate each study in partitions, a dask task per dataset reading the staged files, as sdtmify "
        "validate --scheduler does (implies --scheduler local; the same report, more CPU: see the README)",
    )
    p.add_argument(
        "--jobs",
        type=_positive_count,
        metavar="N",
        help="1 builds in one process; 2 (the default on two or more cores, or $SDTMIFY_JOBS) writes "
        "Dataset-JSON, metadata and lineage in a second process on the second core while the first validates; "
        "the outputs are the same",
    )
    p.set_defaults(func=_cmd_build, subparser=p)

    p = command(
        sub,
        "adam",
        help="build a study's ADaM from an SDTM folder sdtmify did not build",
        description="Read the SDTM datasets of a folder (XPT, or Dataset-JSON when it has no XPT; its "
        "define.xml when present) and run the study's ADaM layer on them: ADaM as XPT v5 and Dataset-JSON, "
        "define.xml, lineage, the validation of ADaM and the study's report.",
    )
    p.add_argument("--sdtm", required=True, metavar="DIR", help="the folder of SDTM .xpt or .json/.ndjson files")
    p.add_argument("--study", required=True, help="a study NAME (mappings/NAME) or a PATH: its adam/*.yaml is run")
    p.add_argument("--out", metavar="DIR", help="output folder (default output/STUDYID-ADaM)")
    p.add_argument(
        "--force",
        action="store_true",
        help="if the output folder exists but was not written by sdtmify, move it aside instead of refusing",
    )
    p.add_argument(
        "--wait",
        type=_positive_seconds,
        default=0.0,
        metavar="SECONDS",
        help="wait up to SECONDS for another run writing the same output to finish (default 0: refuse at once)",
    )
    p.add_argument("--no-validate", action="store_true", help="skip the conformance check of ADaM")
    p.add_argument("--fail-on", choices=["error", "warning", "never"], default="error", help=FAIL_ON_HELP)
    p.add_argument("--no-report", action="store_true", help="skip recomputing the study's tables")
    p.add_argument("--ct", metavar="FILE", help="a full NCI CDISC CT file to validate ADaM against")
    p.add_argument(
        "--encoding",
        type=_encoding,
        metavar="CODEC",
        help="the text encoding of the SDTM XPT files (default: UTF-8, then Windows-1252)",
    )
    p.set_defaults(func=_cmd_adam)

    p = command(
        sub,
        "check",
        help="validate a study's mappings without building",
        description="Validate study.yaml and every mapping file against the mapping-language "
        "schema and the source tables; print one line per problem with file:line and key path.",
    )
    p.add_argument("--study", required=True, help="a study NAME under mappings/ or a PATH to a study folder")
    p.add_argument("--ct", metavar="FILE", help="a full NCI CDISC CT file to check codelist values against")
    p.add_argument("--encoding", type=_encoding, metavar="CODEC", help=SOURCE_ENCODING_HELP)
    p.set_defaults(func=_cmd_check)

    p = command(
        sub,
        "init",
        help="scaffold a new study folder",
        description="Write mappings/STUDY/ with study.yaml and one annotated mapping per domain, "
        "valid against the schema.",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="the same as --study NAME")
    p.add_argument("--study", help="NAME of the new study (mappings/NAME), or a PATH that does not exist yet")
    p.add_argument(
        "--force",
        action="store_true",
        help="rewrite the scaffold files of a study sdtmify scaffolded (only files unchanged since)",
    )
    p.set_defaults(func=_cmd_init, subparser=p)

    p = command(
        sub,
        "validate",
        help="check a folder of XPT / Dataset-JSON files",
        description="Run the conformance rule catalogue on any folder of SDTM or ADaM datasets "
        "(XPT v5 or Dataset-JSON), optionally with a define.xml and a CT file.",
    )
    p.add_argument("path", help="folder with .xpt or .json/.ndjson datasets")
    p.add_argument("--define", metavar="FILE", help="define.xml to check the data against")
    p.add_argument("--ct", metavar="FILE", help="full NCI CDISC CT file (default: the shipped subset)")
    p.add_argument(
        "--notes",
        metavar="FILE",
        help="a validation-notes.yaml explaining expected findings (shown beside them; counts and exit code unchanged)",
    )
    p.add_argument(
        "--dictionary",
        action="append",
        metavar="KIND=FILE",
        help="a study dictionary the rules check coded values against, as study.yaml 'dictionaries:' declares "
        "it for the build (repeatable), e.g. ctcae=mappings/NCI84/dictionaries/ctcae.csv (AETOXGR, SD1446)",
    )
    p.add_argument(
        "--sdtm",
        metavar="DIR",
        help="SDTM datasets an ADaM folder traces back to (read, not validated; "
        "default: a sibling ../sdtm folder holding .xpt files)",
    )
    p.add_argument(
        "--fail-on",
        choices=["error", "warning", "never"],
        default="error",
        help=FAIL_ON_HELP,
    )
    p.add_argument(
        "--max-errors-per-rule",
        type=int,
        default=1000,
        metavar="N",
        help="keep at most N detailed findings per rule (counts stay exact)",
    )
    p.add_argument("--report-dir", metavar="DIR", help="write validation.xlsx and validation.json here")
    p.add_argument(
        "--force",
        action="store_true",
        help="move aside (to NAME.kept-<time>) a validation.xlsx/.json in --report-dir that sdtmify did not write",
    )
    p.add_argument("--encoding", type=_encoding, metavar="CODEC", help=DATASET_ENCODING_HELP)
    p.add_argument(
        "--scheduler",
        type=_scheduler,
        metavar="local|ADDRESS",
        help="validate in partitions (one per dataset, one for the study-level rules), each a dask.distributed "
        "task that reads the datasets it needs: 'local' starts a cluster of worker processes on this machine, an "
        "ADDRESS (tcp://HOST:PORT) uses a running scheduler whose workers see PATH at the same path; same report",
    )
    p.add_argument(
        "--workers",
        type=_positive_count,
        metavar="N",
        help="worker processes of the local cluster (default: one per core; implies --scheduler local)",
    )
    p.set_defaults(func=_cmd_validate, subparser=p)

    p = command(
        sub,
        "convert",
        help="convert between XPT, Dataset-JSON and CSV",
        description="Convert one dataset by file extension: .xpt, .json, .ndjson, .csv. A CSV is written "
        "with NAME.meta.json beside it (types, lengths, labels, formats; dates as ISO 8601) and read back with "
        "it, so XPT -> CSV -> XPT is byte-identical; lossy conversions are refused unless --allow-lossy.",
    )
    p.add_argument("source", help="input file")
    p.add_argument("target", help="output file")
    p.add_argument(
        "--encoding",
        type=_encoding,
        default="ascii",
        metavar="CODEC",
        help="text encoding of the XPT file read or written (ascii, cp1252, latin-1; default ascii)",
    )
    p.add_argument("--force", action="store_true", help="replace the target file (and its sidecar) if it exists")
    p.add_argument(
        "--allow-lossy",
        action="store_true",
        help="convert even when something is lost: a CSV without its NAME.meta.json (types and lengths guessed, "
        "no labels or formats), text longer than XPT's 200 bytes (cut)",
    )
    p.set_defaults(func=_cmd_convert)

    p = command(
        sub,
        "report",
        help="recompute the paper's tables from the ADaM XPT files",
        description="Read output/STUDY/adam/*.xpt and write tables, figures and the comparison "
        "with the published values to output/STUDY/report/.",
    )
    p.add_argument("--study", required=True, help="a study NAME under mappings/ or a PATH to a study folder")
    p.add_argument("--encoding", type=_encoding, metavar="CODEC", help=DATASET_ENCODING_HELP)
    p.set_defaults(func=_cmd_report)

    p = command(
        sub,
        "synth",
        help="write a synthetic study of N subjects resampled from a study",
        description="Write a new study folder of the same shape as STUDY for N subjects: whole subjects drawn "
        "with replacement (seeded), each with a new SUBJID, its rows in every per-subject source and its dates "
        "moved back by whole weeks; the mappings copied, a new STUDYID, and the report's comparison with "
        "published values turned off. Same seed, same files. Build it with `sdtmify build --study DIR`.",
    )
    p.add_argument(
        "--like",
        "--study",
        dest="like",
        required=True,
        metavar="STUDY",
        help="the template: a study NAME (mappings/NAME) or a PATH (--study is the same option, as in other commands)",
    )
    p.add_argument(
        "--subjects",
        required=True,
        type=_whole_number(1, 1_000_000, "a number of subjects"),
        metavar="N",
        help="number of subjects to write (1 to 1,000,000)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="the new study folder (must not exist, or be empty)")
    p.add_argument(
        "--seed",
        type=_whole_number(0, 2**63 - 1, "a seed"),
        default=1,
        metavar="S",
        help="random seed (default 1): the same seed writes byte-identical files",
    )
    p.add_argument("--encoding", type=_encoding, metavar="CODEC", help=SOURCE_ENCODING_HELP)
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("spec", parents=[common], help="export or import the metadata as an Excel spec")
    spec = p.add_subparsers(dest="spec_command", metavar="ACTION")
    q = command(
        spec,
        "export",
        help="write the study's metadata as a workbook",
    )
    q.add_argument("--study", required=True)
    q.add_argument("--out", required=True, metavar="FILE")
    q.add_argument("--force", action="store_true", help="replace the workbook if it exists")
    q.set_defaults(func=_cmd_spec_export)
    q = command(
        spec,
        "import",
        help="read a workbook back into the study's metadata",
    )
    q.add_argument("workbook")
    q.add_argument("--study", required=True)
    q.set_defaults(func=_cmd_spec_import)
    return parser


def _os_error_message(error: OSError) -> str:
    """An OSError as a person reads it: what went wrong, on which path."""
    reason = error.strerror or str(error) or type(error).__name__  # a bare TimeoutError() has no text
    where = f": {error.filename}" if error.filename else ""
    if getattr(error, "filename2", None):
        where += f" -> {error.filename2}"
    hint = ""
    if error.errno in (errno.EACCES, errno.EPERM):
        hint = " (check the permissions of that path)"
    elif error.errno == errno.ENOSPC:
        hint = " (the disk is full; the previous output was left as it was)"
    return f"{reason}{where}{hint}"


def _input_error_types() -> tuple[type[BaseException], ...]:
    """Parse errors of the readers we use that can carry a user's bad input (a malformed file)."""
    import yaml
    from pandas.errors import EmptyDataError, ParserError

    return (yaml.YAMLError, ParserError, EmptyDataError, UnicodeError)


def _describe(exc: BaseException) -> tuple[int, str]:
    """The one place an error becomes an exit code and a message for people (also each study's of a pooled build)."""
    if isinstance(exc, SdtmifyError):
        return exc.exit_code, str(exc)
    if isinstance(exc, OSError):
        return 2, _os_error_message(exc)
    if isinstance(exc, MemoryError):
        return 2, (
            "out of memory: this input needs more memory than the machine gives the process; the previous "
            "output was left as it was (README: 'How large a study one machine builds')"
        )
    if isinstance(exc, RecursionError):
        return 2, "input nested too deeply to read (a YAML or JSON file with runaway nesting?)"
    if isinstance(exc, _input_error_types()):
        return 2, f"{type(exc).__name__}: {exc}".replace("\n", " ")
    text = " ".join(str(exc).split())  # one line, whatever the library wrote
    return 3, f"internal error: {type(exc).__name__}: {text}; rerun with --debug for the traceback"


class Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl-C so that staging folders are removed on the way out."""


def _terminate(signum, frame):
    raise Terminated()


def _on_terminate(handler):
    """Install ``handler`` for SIGTERM (only possible in the main thread); returns the previous one."""
    if threading.current_thread() is not threading.main_thread() or handler is None:
        return None
    return signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    if args.func is _cmd_init and not (args.study or args.name):
        args.subparser.error("the following arguments are required: --study (or NAME)")
    quiet, verbose = getattr(args, "quiet", False), getattr(args, "verbose", False)
    debug = getattr(args, "debug", False)
    ui = Console(verbosity=0 if quiet else 2 if verbose else 1)
    previous_handler = _on_terminate(_terminate)
    caught: BaseException
    try:
        return args.func(args, ui)
    except SdtmifyError as exc:
        caught, code, message = exc, exc.exit_code, str(exc)
    except KeyboardInterrupt as exc:
        caught, code, message = exc, 130, "interrupted; the previous output was left as it was"
    except Terminated as exc:
        caught, code, message = exc, 143, "terminated (SIGTERM); the previous output was left as it was"
    except BrokenPipeError:  # e.g. `sdtmify validate ... | head`: the reader went away
        with contextlib.suppress(OSError, ValueError):  # silence the flush at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 2
    except Exception as exc:
        caught = exc
        code, message = _describe(exc)
    finally:
        ui.close()
        _on_terminate(previous_handler)
    if debug:
        traceback.print_exception(caught, file=sys.stderr)
    ui.error(message)
    return code


if __name__ == "__main__":
    sys.exit(main())
