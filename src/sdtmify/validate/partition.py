"""A validation run cut into partitions that can run apart (``sdtmify validate --scheduler``, sdtmify/pool.py).

A run is the rule catalogue over a set of datasets. Most rules are checked one dataset at a time (their check
sees one dataset, plus whatever others it looks up: DM, SV, TS, SUPPxx, the dataset SRCDOM names); those make
one partition per dataset D: every such rule whose scope may cover D (standard and name; the class is known
only once D is read), run on D alone. The study-level rules (``STUDY_LEVEL``: which datasets exist, the trial
design, define.xml as a whole) see every dataset at once and make one more partition.

A partition reads nothing up front: every dataset is a :class:`LazyTable` that reads its file the first time a
rule asks for its records, so a partition reads D and only the datasets its rules look up. Every partition
reads the written files (XPT or Dataset-JSON) itself: where partitions run on other machines, the folder must be
on a file system they share, at the same path.

Each partition returns, per rule, the engine's own result on its dataset (:func:`engine.run_rule`), its Issues
rows and at most ``max_details`` Details rows. :func:`merge` puts them together per rule in dataset order,
exactly as the serial loop over the datasets would, and ends in the engine's :func:`engine.assemble`: the
report is byte-identical to the serial run's."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path

import pandas as pd

from .. import __version__
from ..errors import InputError, Location, SdtmifyError
from .checks import STUDY_LEVEL
from .context import CodelistLookup, IGStandards, ig_standards, load_terminology
from .data import DATA_SUFFIXES, Table, _looks_like_dataset_json, table_from
from .define_xml import metadata_from, parse_define, standard_of
from .engine import FINDING_COLUMNS, Context, RuleResult, Validation, assemble, details, issue_rows, run_rule
from .rules import Rule

STUDY = "(study)"
"""The name of the partition of the study-level rules."""
KEEP_BYTES = 512 * 2**20
"""How many bytes of dataset files a worker process keeps read between partitions (DM, SV, TS and the other
datasets many rules look up are then read once per worker, not once per partition)."""

_ONE_PARTITION = threading.Lock()  # the kept tables and their per-column caches are one partition's at a time
_kept: OrderedDict[tuple, LazyTable] = OrderedDict()


class PartitionError(SdtmifyError):
    """A partition could not run: a rule failed in it, or the worker running it died."""


@dataclass(frozen=True)
class DatasetFile:
    """One dataset file as the client found it: its name (the file's, upper case), the standard its rules are
    chosen by, and whether it is only looked up (an ADaM folder's SDTM predecessors), never validated."""

    name: str
    path: str  # absolute
    standard: str  # SDTM | ADaM
    reference: bool = False

    @property
    def bytes(self) -> int:
        return os.stat(self.path).st_size


@dataclass(frozen=True)
class Inputs:
    """Everything a partition needs besides its rules; read from files by each worker, never shipped as data."""

    datasets: tuple[DatasetFile, ...]  # sorted by name, as the serial run orders its tables
    rules: tuple[Rule, ...]  # the catalogue, in its order
    defines: tuple[str, ...] = ()
    ct_file: str | None = None
    encoding: str | None = None
    dictionaries: dict = field(default_factory=dict)
    max_details: int = 1000
    version: str = __version__

    def validated(self) -> list[DatasetFile]:
        return [d for d in self.datasets if not d.reference]


@dataclass(frozen=True)
class Partition:
    """The rules to run on one dataset (``dataset``), or the study-level rules (``dataset`` is STUDY)."""

    dataset: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class TableInfo:
    """What the report says of a dataset and what the study-level partition needs to know of it unread."""

    name: str
    standard: str
    domain_class: str
    prefix: str
    file: str
    records: int
    columns: tuple[str, ...]


@dataclass
class Piece:
    """One rule's result on one partition: the engine's RuleResult, its Issues rows, its first Details rows."""

    result: RuleResult
    issues: list[dict]
    details: list[dict]


@dataclass
class PartitionResult:
    dataset: str
    pieces: dict[str, Piece]  # rule id -> its piece; a rule whose scope turned out not to cover the dataset: none
    info: TableInfo | None = None
    ct_source: str = ""


# --- the client side: which files, which partitions ---------------------------------------------------------


def dataset_files(folder: Path, standard: str | None = None, reference: bool = False) -> list[DatasetFile]:
    """The dataset files of ``folder`` as ``data.load_folder`` would read them (XPT before Dataset-JSON for the
    same dataset; JSON that is no dataset skipped), named by file; nothing is read but a JSON file's head."""
    if not folder.is_dir():
        raise InputError(
            "not a folder of datasets; pass a folder with .xpt or .json/.ndjson files", Location(str(folder))
        )
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in DATA_SUFFIXES and p.is_file())
    files.sort(key=lambda p: DATA_SUFFIXES.index(p.suffix.lower()))
    found: dict[str, DatasetFile] = {}
    for path in files:
        if path.suffix.lower() == ".json" and not _looks_like_dataset_json(path):
            continue
        name = path.stem.upper()
        given = standard or ("ADaM" if name.startswith("AD") else "SDTM")
        found.setdefault(name, DatasetFile(name, os.path.abspath(path), given, reference))
    return [found[name] for name in sorted(found)]


def may_cover(rule: Rule, dataset: DatasetFile) -> bool:
    """The rule's scope may cover the dataset: its standard and name do (its class is checked once read)."""
    if rule.standard not in ("any", dataset.standard):
        return False
    patterns = rule.scope.get("datasets")
    if patterns and not any(fnmatchcase(dataset.name, p) for p in patterns):
        return False
    return not any(fnmatchcase(dataset.name, p) for p in rule.scope.get("exclude", ()))


def plan(inputs: Inputs) -> tuple[list[Partition], list[Rule]]:
    """The partitions of a run, largest dataset first (it sets the wall time), the study-level one last; and
    the rules no dataset can be in scope of (the client reports them skipped, as the serial run does). Every
    study-level rule is in the study partition; every other rule in each dataset partition it may cover, or
    in the second list."""
    validated = sorted(inputs.validated(), key=lambda d: (-d.bytes, d.name))
    study = tuple(r for r in inputs.rules if r.check_type in STUDY_LEVEL)
    partitions = []
    covered: set[str] = set()
    for dataset in validated:
        rules = tuple(r for r in inputs.rules if r.check_type not in STUDY_LEVEL and may_cover(r, dataset))
        covered.update(r.id for r in rules)
        if rules:
            partitions.append(Partition(dataset.name, rules))
    if study:
        partitions.append(Partition(STUDY, study))
    unplaced = [r for r in inputs.rules if r.check_type not in STUDY_LEVEL and r.id not in covered]
    return partitions, unplaced


# --- the worker side ---------------------------------------------------------------------------------------


class LazyTable(Table):
    """A dataset that reads its file the first time its records or metadata are asked for (then keeps them).

    ``info`` (what another partition learnt reading it) answers records, class and prefix without reading."""

    def __init__(self, source: DatasetFile, encoding: str | None, info: TableInfo | None = None):
        self._source = source
        self._encoding = encoding
        self._read: tuple[pd.DataFrame, object] | None = None
        self._info = info
        super().__init__(source.name, None, None, source.standard, Path(source.path).name)  # type: ignore[arg-type]
        if info is not None:
            self.__dict__["domain_class"] = info.domain_class
            self.__dict__["prefix"] = info.prefix

    @property
    def frame(self) -> pd.DataFrame:
        return self._loaded()[0]

    @frame.setter
    def frame(self, value: pd.DataFrame | None) -> None:
        if value is not None:
            raise TypeError("a LazyTable's records come from its file")

    @property
    def meta(self):
        return self._loaded()[1]

    @meta.setter
    def meta(self, value) -> None:
        if value is not None:
            raise TypeError("a LazyTable's metadata come from its file")

    @property
    def records(self) -> int:
        return self._info.records if self._info is not None else len(self.frame)

    @property
    def is_read(self) -> bool:
        return self._read is not None

    def _loaded(self) -> tuple[pd.DataFrame, object]:
        if self._read is None:
            from ..readers import read_dataset

            path = Path(self._source.path)
            frame, meta = read_dataset(path, self._encoding)
            table = table_from(frame, meta, self.standard, file=path.name)
            if table.name != self.name:
                raise InputError(
                    f"holds dataset {table.name}, not {self.name}; name the file after its dataset "
                    "(or run sdtmify validate without --scheduler)",
                    Location(str(path)),
                )
            self._read = (table.frame, table.meta)
        return self._read


def _table(source: DatasetFile, encoding: str | None, info: TableInfo | None) -> LazyTable:
    """The worker's LazyTable of ``source``: the one kept from an earlier partition (with what its rules
    computed per column) while its file is unchanged, else a new one, kept if it fits :data:`KEEP_BYTES`."""
    size = source.bytes
    key = (source, encoding, _stamp(source.path))
    table = _kept.get(key)
    if table is not None:
        _kept.move_to_end(key)
        return table
    table = LazyTable(source, encoding, info)
    if size <= KEEP_BYTES:
        _drop_stale()
        _kept[key] = table
        while sum(k[0].bytes if os.path.exists(k[0].path) else 0 for k in _kept) > KEEP_BYTES:
            _kept.popitem(last=False)
    return table


def forget_stale() -> None:
    """Drop this worker's kept tables whose file is gone or changed: a pooled build's staged files move to
    its output folder once validated, and a worker building study after study must not keep them all."""
    with _ONE_PARTITION:
        _drop_stale()


def _drop_stale() -> None:
    for key in list(_kept):
        source, _, stamp = key
        try:
            now = _stamp(source.path)
        except OSError:  # gone
            now = None
        if now != stamp:
            del _kept[key]


def info_of(table: Table) -> TableInfo:
    return TableInfo(
        table.name, table.standard, table.domain_class, table.prefix, table.file, table.records, tuple(table.frame)
    )


@cache
def _standards() -> IGStandards:
    return ig_standards()


@cache
def _terminology(ct_file: str | None, _stamp: tuple) -> CodelistLookup:
    return load_terminology(ct_file)


@cache
def _define(path: str, _stamp: tuple) -> tuple[str, object]:
    root = parse_define(Path(path))
    return standard_of(root), metadata_from(root)


def _stamp(path: str | None) -> tuple:
    """What says a file changed (a worker keeps CT and define.xml read between partitions)."""
    if path is None:
        return ()
    status = os.stat(path)
    return (status.st_mtime_ns, status.st_size)


def context_for(inputs: Inputs, partition: Partition, infos: dict[str, TableInfo] | None = None) -> Context:
    """The engine's Context for one partition: every dataset there to look up, only the partition's validated."""
    infos = infos or {}
    tables: dict[str, Table] = {d.name: _table(d, inputs.encoding, infos.get(d.name)) for d in inputs.datasets}
    if partition.dataset == STUDY:
        references = frozenset(d.name for d in inputs.datasets if d.reference)
    else:
        references = frozenset(name for name in tables if name != partition.dataset)
    define, define_files = {}, {}
    for path in inputs.defines:
        standard, meta = _define(path, _stamp(path))
        define[standard] = meta
        define_files[standard] = Path(path)
    return Context(
        tables=tables,
        standards=_standards(),
        ct=_terminology(inputs.ct_file, _stamp(inputs.ct_file)),
        define=define,
        references=references,
        define_files=define_files,
        dictionaries=dict(inputs.dictionaries),
    )


def run_partition(inputs: Inputs, partition: Partition, infos: dict[str, TableInfo] | None = None) -> PartitionResult:
    """Run one partition's rules (on a dask worker, or here): per rule its result, Issues and Details rows."""
    if inputs.version != __version__:
        raise PartitionError(
            f"a worker runs sdtmify {__version__}, this command {inputs.version}; install the same version on every worker"
        )
    with _ONE_PARTITION:
        return _run(inputs, partition, infos)


def _run(inputs: Inputs, partition: Partition, infos: dict[str, TableInfo] | None) -> PartitionResult:
    ctx = context_for(inputs, partition, infos)
    out = PartitionResult(partition.dataset, {}, ct_source=ctx.ct.source if ctx.ct else "")
    table = ctx.tables.get(partition.dataset)
    for rule in partition.rules:
        if table is not None and not rule.applies_to(table.name, table.standard, table.domain_class):
            continue  # its class is not this dataset's: the serial run does not look at the dataset either
        result, hits = run_rule(rule, ctx)
        found = details(rule, hits, inputs.max_details) if hits and inputs.max_details > 0 else None
        rows = [] if found is None else found.to_dict("records")
        out.pieces[rule.id] = Piece(result, issue_rows(rule, hits), rows)
    if table is not None:
        out.info = info_of(table)
    return out


# --- back on the client: one Validation ----------------------------------------------------------------------


class Described(Table):
    """A validated dataset as the report lists it (name, standard, class, file, records, variables), unread."""

    def __init__(self, info: TableInfo):
        super().__init__(info.name, pd.DataFrame(columns=list(info.columns)), None, info.standard, info.file)  # type: ignore[arg-type]
        self._records = info.records
        self.__dict__["domain_class"] = info.domain_class
        self.__dict__["prefix"] = info.prefix

    @property
    def records(self) -> int:
        return self._records


def merge(inputs: Inputs, results: list[PartitionResult], unplaced: list[Rule]) -> Validation:
    """The partitions' pieces as one Validation, rule by rule in catalogue order and, within a rule, dataset by
    dataset in name order: what :func:`engine.run_rules` gives on the whole folder."""
    by_dataset = {r.dataset: r for r in results}
    study = by_dataset.get(STUDY)
    order = [d.name for d in inputs.validated() if d.name in by_dataset]
    empty = Context(tables={})
    skipped = {rule.id for rule in unplaced}
    outcomes, issues, found = [], [], []
    for rule in inputs.rules:
        if rule.id in skipped:
            result, _ = run_rule(rule, empty)  # no dataset in scope: the engine says so in its own words
            outcomes.append(result)
            continue
        if rule.check_type in STUDY_LEVEL:
            if study is None:
                raise PartitionError(f"rule {rule.id}: the study-level partition did not run")
            pieces = [study.pieces[rule.id]]
        else:
            pieces = [by_dataset[name].pieces[rule.id] for name in order if rule.id in by_dataset[name].pieces]
        if not pieces:
            result, _ = run_rule(rule, empty)
            outcomes.append(result)
            continue
        result = pieces[0].result if len(pieces) == 1 else _joined(rule, [p.result for p in pieces])
        outcomes.append(result)
        rows = [row for p in pieces for row in p.issues]
        issues.extend(rows)
        if rows and inputs.max_details > 0:
            kept = [row for p in pieces for row in p.details][: inputs.max_details]
            found.append(pd.DataFrame(kept, columns=FINDING_COLUMNS))
    tables = {r.info.name: Described(r.info) for r in results if r.info is not None}
    return assemble(outcomes, issues, found, {name: tables[name] for name in sorted(tables)})


def _joined(rule: Rule, parts: list[RuleResult]) -> RuleResult:
    """One rule's results on single datasets as the engine's result on all of them (engine.run_rule's ending)."""
    checked = tuple(name for p in parts for name in p.datasets)
    count = sum(p.count for p in parts)
    lacking = tuple(reason for p in parts for reason in p.lacking)
    seconds = sum(p.seconds for p in parts)
    records = sum(p.records for p in parts)
    if checked:
        return RuleResult(
            rule, "failed" if count else "passed", count, checked, "", seconds, records, "; ".join(lacking), lacking
        )
    reason = "; ".join(p.reason for p in parts if p.reason)
    return RuleResult(rule, "skipped", count, (), reason, seconds, records, "", lacking)


def describe(partitions: list[Partition]) -> str:
    """``N partitions (M rules on D datasets, S study-level)`` for the progress line."""
    datasets = [p for p in partitions if p.dataset != STUDY]
    study = sum(len(p.rules) for p in partitions if p.dataset == STUDY)
    return f"{len(partitions)} partitions ({len(datasets)} datasets, {study} study-level rules)"


__all__ = [
    "STUDY",
    "DatasetFile",
    "Inputs",
    "LazyTable",
    "Partition",
    "PartitionError",
    "PartitionResult",
    "TableInfo",
    "dataset_files",
    "forget_stale",
    "merge",
    "plan",
    "run_partition",
]
