"""`sdtmify synth`: a study folder of N synthetic subjects resampled from a template study (scale tests).

Everything is read from the template's declarations, never from its content:

- study.yaml ``subjects:`` names the subject table and its id column. A declared source that holds its
  subject column (``sources.<name>.subject``, else ``subjects.subject_column``, else ``subjects.subjid``)
  is per-subject: its rows follow their subject. Any other source (a coding dictionary) is study-level and
  copied byte for byte.
- N subjects are drawn with replacement from the template's subjects (numpy's PCG64 seeded by ``--seed``).
  Each gets a new unique subject id, its template subject's id followed by ``S`` and its number zero-padded
  to the width of N (``AS0001``, ``01-701-1015S0002``...): unique, and a mapping that reads a part of the id
  (a site in ``01-701-1015``) still finds it. Each gets a copy of every row of its template subject, so
  USUBJID is unique too.
- All dates of a new subject move back by one whole number of weeks (0 to ``MAX_SHIFT_WEEKS``, drawn from
  the same seed): the intervals inside a subject (study days, durations, age at consent) stay as in the
  template, weekdays stay weekdays, and no date moves past the template's data cut-off. A column is a date
  column when every non-empty value is a full ISO 8601 date (with or without a time) or DD-MON-YYYY; it is
  written back in its own layout. When a per-subject column holds other date-like text (partial dates,
  another layout), no date of the study is moved, since moving some dates of a subject and not others would
  break its timeline; ``synth.json`` says which column stopped it.
- study.yaml is written with a new STUDYID (the template's followed by ``S<N>``) and a ``study.provenance``
  saying the data are synthetic; the mappings (sdtm/, adam/, spec/, validation-notes.yaml) are copied;
  report.yaml is copied with ``published: false``: the tables are recomputed, but a resampled study cannot
  reproduce a publication's numbers, so nothing is compared. ``synthetic-subjects.csv`` traces each new
  subject to its template subject and shift.

Per-subject tables are written in blocks of about ``CHUNK_ROWS`` rows with vectorized index arithmetic (no
per-row or per-subject Python), so 100,000 subjects (about 40 million lab rows for NCI84) never need more
than one block in memory. Same template, N and seed: byte-identical files. The folder is written beside
``--out`` and renamed into place at the end, so a failed run leaves nothing behind; an ``--out`` that exists
and is not an empty folder is refused (nothing the user owns is replaced)."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from . import yamlio
from .atomic import rename_new
from .console import QUIET, Console
from .errors import InputError, Location
from .sources import ROW_ID, read_source
from .study import SourceTable, Study, load_study

MAX_SUBJECTS = 1_000_000
MAX_SEED = 2**63 - 1
MAX_SHIFT_WEEKS = 104
CHUNK_ROWS = 500_000
STUDYID_LENGTH = 20  # study.schema.json: STUDYID of 1-20 characters
MAPPING_FOLDERS = ("sdtm", "adam", "spec")
COPIED_FILES = ("validation-notes.yaml",)
MANIFEST = "synth.json"
SUBJECT_TRACE = "synthetic-subjects.csv"

_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})((?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?)$")
_DMY = re.compile(r"^(\d{1,2})-([A-Za-z]{3})-(\d{4})$")
# Text that looks like (part of) a date without being a full one of the two layouts above.
_DATELIKE = re.compile(r"\d{4}-\d{2}|[A-Za-z]{3}-\d{4}|\d{1,2}/\d{1,2}/\d{2,4}|\b(?:UN|UNK)-")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@dataclass
class SynthResult:
    """What ``synthesize`` wrote: the study folder, its STUDYID, and the rows of each source table."""

    folder: Path
    studyid: str
    subjects: int
    seed: int
    rows: dict[str, int] = field(default_factory=dict)
    shifted: list[str] = field(default_factory=list)  # "source.column" moved by the subject's shift
    no_shift_reason: str | None = None

    def summary(self) -> str:
        lines = [f"sdtmify synth {self.studyid}: {self.subjects} subjects (seed {self.seed}) -> {self.folder}"]
        for name, count in self.rows.items():
            lines.append(f"  {name:<20} {count:>12,} rows")
        if self.no_shift_reason:
            lines.append(f"  dates not shifted: {self.no_shift_reason}")
        lines.append(f"  build it with: sdtmify build --study {self.folder}")
        return "\n".join(lines)


# --- arguments -------------------------------------------------------------------------------------------


def check_subjects(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= MAX_SUBJECTS:
        raise InputError(f"--subjects {value!r}: give a whole number of subjects from 1 to {MAX_SUBJECTS:,}")
    return int(value)


def check_seed(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= MAX_SEED:
        raise InputError(f"--seed {value!r}: give a whole number from 0 to {MAX_SEED}")
    return int(value)


def synthetic_studyid(template: str, subjects: int) -> str:
    """The template's STUDYID followed by ``S<N>`` (cut to fit 20 characters): NCI84 -> NCI84S1000."""
    suffix = f"S{subjects}"
    return template[: STUDYID_LENGTH - len(suffix)] + suffix


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_target(out: str | os.PathLike, template: Path) -> Path:
    """``--out`` resolved: absent or an empty folder, and neither inside nor around the template study."""
    given = Path(out).expanduser()
    if given.is_symlink():
        raise InputError(f"--out {out}: {given.absolute()} is a symbolic link; give a new folder")
    if given.exists():
        if not given.is_dir():
            raise InputError(f"--out {out}: {given.absolute()} is an existing file; give a new folder")
        if any(given.iterdir()):
            raise InputError(
                f"--out {out}: {given.resolve()} exists and is not empty; give a new folder (synth never "
                "writes into or replaces a folder that holds files)"
            )
    for parent in given.absolute().parents:
        if parent.exists() and not parent.is_dir():
            raise InputError(f"--out {out}: {parent} is a file, not a folder")
    target = given.resolve()
    if _within(target, template) or _within(template, target):
        raise InputError(f"--out {out}: {target} overlaps the template study folder {template}; give another folder")
    if target.parent == target:
        raise InputError(f"--out {out}: a filesystem root cannot be a study folder")
    return target


# --- reading the template ------------------------------------------------------------------------------


@dataclass
class _Table:
    """One per-subject source of the template, rows ordered by template subject."""

    name: str
    column: str  # subject id column
    columns: list[str]
    values: dict[str, np.ndarray]  # each column's text, rows grouped by subject (template order within one)
    starts: np.ndarray  # first row of each template subject
    counts: np.ndarray  # rows of each template subject
    target: str  # path relative to the new study folder
    encoding: str
    dates: dict[str, _DateColumn] = field(default_factory=dict)
    dropped: int = 0  # rows whose subject is not in the subject table


@dataclass
class _DateColumn:
    """A date column as day numbers (days since 1970-01-01) where ``present``, and the text after the date."""

    layout: str  # "iso" or "dmy"
    days: np.ndarray
    present: np.ndarray
    rest: np.ndarray
    padded: bool = True  # DD-MON-YYYY: two-digit days
    upper: bool = True  # DD-MON-YYYY: upper-case months


def _subject_column(study: Study, source: SourceTable) -> str:
    subjects = study.config["subjects"]
    if source.name == subjects["source"]:
        return str(subjects["subjid"])
    return str(source.subject or subjects.get("subject_column") or subjects["subjid"])


def _read_text(source: SourceTable) -> tuple[pd.DataFrame, str]:
    """A source as text exactly as written (CSV: no stripping), and the encoding to write it back in."""
    if source.format == "csv":
        encoding = source.encoding or "utf-8"
        try:
            frame = pd.read_csv(source.path, dtype=str, keep_default_na=False, encoding=encoding)
        except (OSError, UnicodeError, ValueError, pd.errors.ParserError) as exc:
            raise InputError(f"cannot read source '{source.name}': {exc}", Location(str(source.path))) from None
        return frame, encoding
    frame = read_source(source.path, source.format, source.sheet, source.encoding, name=source.name)
    return frame.drop(columns=[ROW_ID]), "utf-8"


def _columns(source: SourceTable) -> list[str]:
    if source.format == "csv":
        try:
            header = pd.read_csv(source.path, dtype=str, nrows=0, encoding=source.encoding or "utf-8")
        except (OSError, UnicodeError, ValueError, pd.errors.ParserError) as exc:
            raise InputError(f"cannot read source '{source.name}': {exc}", Location(str(source.path))) from None
        return [str(c) for c in header.columns]
    return list(_read_text(source)[0].columns)


def _date_column(values: pd.Series) -> _DateColumn | str | None:
    """The column as a date column; a reason (str) when it looks like dates that cannot be shifted; None
    when it holds no dates."""
    filled = values != ""
    if not filled.any():
        return None
    present = values[filled]
    for layout, pattern in (("iso", _ISO), ("dmy", _DMY)):
        parts = present.str.extract(pattern)
        if parts.isna().any(axis=None):
            continue
        if layout == "iso":
            iso, rest = parts[0], parts[1].fillna("")
        else:
            months = parts[1].str.upper().map({m: f"{i + 1:02d}" for i, m in enumerate(_MONTHS)})
            if months.isna().any():
                continue
            iso, rest = parts[2] + "-" + months + "-" + parts[0].str.zfill(2), pd.Series("", index=parts.index)
        stamps = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce")
        if stamps.isna().any():
            bad = present[stamps.isna()].iloc[0]
            return f"'{bad}' is not a calendar date"
        mask = filled.to_numpy()
        days = np.zeros(len(mask), dtype="int64")
        days[mask] = stamps.to_numpy().astype("datetime64[D]").astype("int64")
        full_rest = np.full(len(mask), "", dtype=object)
        full_rest[mask] = rest.to_numpy(dtype=object)
        column = _DateColumn(layout, days, mask, full_rest)
        if layout == "dmy":
            column.padded = bool((parts[0].str.len() == 2).all())
            column.upper = bool((parts[1] == parts[1].str.upper()).all())
        return column
    looks = present[present.str.contains(_DATELIKE)]
    if len(looks):
        return f"'{looks.iloc[0]}' looks like a date but is neither a full ISO 8601 date nor DD-MON-YYYY"
    return None


def _target_path(study: Study, source: SourceTable, converted: bool) -> str:
    """Where a source goes in the new folder: its place in the template, else source/<name>.<ext>."""
    try:
        relative = source.path.resolve().relative_to(study.folder.resolve()).as_posix()
    except ValueError:
        relative = None
    if converted or relative is None:
        return f"source/{source.name}.csv" if converted else f"source/{source.name}{source.path.suffix}"
    return relative


def _load_table(study: Study, source: SourceTable, ids: pd.Index) -> tuple[_Table, str | None]:
    column = _subject_column(study, source)
    frame, encoding = _read_text(source)
    keys = list(source.keys)
    if keys and column not in keys:
        raise InputError(
            f"source '{source.name}' holds the subject column '{column}' but its keys {keys} do not include "
            "it: copies of a subject's rows would repeat the keys; add the subject column to its keys",
            Location(study.file, source.line, f"sources.{source.name}.keys"),
        )
    codes = ids.get_indexer(frame[column].str.strip())
    known = codes >= 0
    dropped = int((~known).sum())
    if dropped:
        frame, codes = frame[known], codes[known]
    order = np.argsort(codes, kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    counts = np.bincount(codes, minlength=len(ids)).astype("int64")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype("int64")
    table = _Table(
        source.name,
        column,
        list(frame.columns),
        {name: frame[name].to_numpy(dtype=object) for name in frame.columns},
        starts,
        counts,
        _target_path(study, source, source.format != "csv"),
        encoding,
        dropped=dropped,
    )
    reason = None
    for name in frame.columns:
        if name == column:
            continue
        found = _date_column(frame[name])
        if isinstance(found, str):
            reason = reason or f"{source.name}.{name}: {found}"
        elif found is not None:
            table.dates[name] = found
    return table, reason


# --- writing the synthetic tables ----------------------------------------------------------------------


def _format_days(column: _DateColumn, days: np.ndarray) -> np.ndarray:
    """Day numbers back to text in the column's own layout (formatted once per distinct day)."""
    distinct, inverse = np.unique(days, return_inverse=True)
    iso = np.datetime_as_string(distinct.astype("datetime64[D]"), unit="D")
    if column.layout == "iso":
        texts = iso.astype(object)
    else:
        texts = np.array(
            [
                f"{int(d[8:10]):02d}-" if column.padded else f"{int(d[8:10])}-"
                for d in iso  # a loop over distinct days, not rows
            ],
            dtype=object,
        )
        months = np.array(_MONTHS if column.upper else [m.title() for m in _MONTHS], dtype=object)
        month_index = np.array([int(d[5:7]) - 1 for d in iso], dtype="int64")
        texts = texts + months[month_index] + np.array([f"-{d[:4]}" for d in iso], dtype=object)
    return texts[inverse.reshape(-1)]


def _block(
    table: _Table, picks: np.ndarray, new_ids: np.ndarray, shifts: np.ndarray | None
) -> tuple[pd.DataFrame, int]:
    """The rows of one block of new subjects: each new subject's template rows, relabelled and shifted."""
    per_subject = table.counts[picks]
    total = int(per_subject.sum())
    first = np.repeat(table.starts[picks], per_subject)
    before = np.repeat(np.cumsum(per_subject) - per_subject, per_subject)
    rows = first + (np.arange(total, dtype="int64") - before)
    out = {name: values[rows] for name, values in table.values.items()}
    out[table.column] = np.repeat(new_ids, per_subject)
    if shifts is not None:
        moved_by = np.repeat(shifts, per_subject)
        for name, column in table.dates.items():
            days, present = column.days[rows], column.present[rows]
            text = np.full(total, "", dtype=object)
            if present.any():
                text[present] = _format_days(column, days[present] + moved_by[present]) + column.rest[rows][present]
            out[name] = text
    return pd.DataFrame(out, columns=table.columns), total


def _write_table(table: _Table, folder: Path, picks: np.ndarray, new_ids: np.ndarray, shifts: np.ndarray | None) -> int:
    path = folder / table.target
    path.parent.mkdir(parents=True, exist_ok=True)
    widest = max(1, int(table.counts.max()) if len(table.counts) else 1)
    block = max(1, CHUNK_ROWS // widest)
    written = 0
    with open(path, "w", encoding=table.encoding, newline="") as handle:
        pd.DataFrame(columns=table.columns).to_csv(handle, index=False, lineterminator="\n")
        for begin in range(0, len(picks), block):  # blocks of subjects, each written whole
            end = begin + block
            moved = None if shifts is None else shifts[begin:end]
            frame, count = _block(table, picks[begin:end], new_ids[begin:end], moved)
            if count:
                frame.to_csv(handle, index=False, header=False, lineterminator="\n")
            written += count
    return written


# --- the study's own files -----------------------------------------------------------------------------


def _dump_yaml(path: Path, data, header: str) -> None:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False)
    path.write_text(header + text, encoding="utf-8", newline="\n")


def _header(study: Study, subjects: int, seed: int, what: str) -> str:
    return (
        f"# {what} of a synthetic study written by `sdtmify synth --like {study.name} --subjects {subjects} "
        f"--seed {seed}`\n# from {yamlio.display_path(study.folder)} (comments of the template are not kept).\n"
    )


def _study_yaml(study: Study, studyid: str, subjects: int, seed: int, targets: Mapping[str, str], shifted: bool):
    data = yamlio.plain(study.config)
    meta = data["study"]
    template_provenance = str(meta.get("provenance") or "").strip().rstrip(".")
    moved = "each subject's dates moved back by whole weeks" if shifted else "dates as in the template"
    meta["studyid"] = studyid
    if meta.get("title"):
        meta["title"] = f"{meta['title']} [synthetic: {subjects} subjects resampled from {study.studyid}]"
    meta["provenance"] = (
        f"Synthetic data, not a trial's: {subjects} subjects resampled with replacement (seed {seed}) from study "
        f"{study.studyid} by sdtmify synth, {moved}"
        + (f". Template: {template_provenance}" if template_provenance else "")
    )
    for name, entry in data["sources"].items():
        source = study.sources[name]
        entry["file"] = targets[name]
        if source.format != "csv" and name in targets and targets[name].endswith(".csv"):
            entry.pop("sheet", None)
            entry["format"] = "csv"
            entry.pop("encoding", None)
    data.pop("source_roots", None)
    return data


def _copy_mappings(study: Study, folder: Path) -> None:
    for name in MAPPING_FOLDERS:
        source = study.folder / name
        if source.is_dir():
            shutil.copytree(source, folder / name, symlinks=False)
    for name in COPIED_FILES:
        if (study.folder / name).is_file():
            shutil.copyfile(study.folder / name, folder / name)


def _report_yaml(study: Study, folder: Path, subjects: int, seed: int) -> None:
    """report.yaml without the comparison: a resampled study has no publication to reproduce."""
    path = study.folder / "report.yaml"
    if not path.is_file():
        return
    data = yamlio.plain(yamlio.load_yaml(path))
    data["published"] = False
    _dump_yaml(folder / "report.yaml", data, _header(study, subjects, seed, "report.yaml"))


# --- the command ---------------------------------------------------------------------------------------


def synthesize(
    like: str,
    subjects: int,
    out: str | os.PathLike,
    seed: int = 1,
    ui: Console = QUIET,
    encoding: str | None = None,
) -> SynthResult:
    """Write a synthetic study of ``subjects`` subjects resampled from the study ``like`` (a name under
    mappings/, the shipped example, or a folder) into the new folder ``out`` (module docstring);
    ``encoding`` the text encoding of template sources whose study.yaml entry names none."""
    subjects, seed = check_subjects(subjects), check_seed(seed)
    try:
        study = load_study(like)
    except InputError as exc:  # the path model's messages name --study; here the option is --like
        if not str(exc).startswith("--study "):
            raise
        raise InputError("--like " + str(exc).removeprefix("--study ")) from None
    study.default_encoding(encoding)
    target = check_target(out, study.folder.resolve())
    studyid = synthetic_studyid(study.studyid, subjects)

    subject_source = study.sources[study.config["subjects"]["source"]]
    subject_frame, _ = _read_text(subject_source)
    id_column = _subject_column(study, subject_source)
    if id_column not in subject_frame.columns:
        raise InputError(
            f"subject id column '{id_column}' is not in source '{subject_source.name}'",
            Location(study.file, None, "subjects.subjid"),
        )
    ids = pd.Index(pd.unique(subject_frame[id_column].str.strip()))
    if not len(ids):
        raise InputError(
            f"source '{subject_source.name}' holds no subjects to resample", Location(str(subject_source.path))
        )

    tables: list[_Table] = []
    copied: dict[str, SourceTable] = {}
    no_shift_reason = None
    for name, source in study.sources.items():
        column = _subject_column(study, source)
        if column in _columns(source):
            table, reason = _load_table(study, source, ids)
            tables.append(table)
            no_shift_reason = no_shift_reason or reason
        else:
            copied[name] = source
    targets = {t.name: t.target for t in tables}
    targets.update({name: _target_path(study, source, False) for name, source in copied.items()})

    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(ids), size=subjects)
    shift_weeks = rng.integers(0, MAX_SHIFT_WEEKS + 1, size=subjects)  # drawn even when unused: picks stay put
    shifts = None if no_shift_reason else -7 * shift_weeks
    width = len(str(subjects))
    numbers = np.char.zfill(np.arange(1, subjects + 1).astype(str), width)
    template_ids = ids.to_numpy(dtype=str)[picks]
    new_ids = np.char.add(np.char.add(template_ids, "S"), numbers).astype(object)

    result = SynthResult(target, studyid, subjects, seed, no_shift_reason=no_shift_reason)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        for table in tables:
            ui.debug(f"synth: {table.name} ({int(table.counts.sum())} template rows)")
            result.rows[table.name] = _write_table(table, staging, picks, new_ids, shifts)
            if shifts is not None:
                result.shifted += [f"{table.name}.{name}" for name in table.dates]
        for name, source in copied.items():
            path = staging / targets[name]
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source.path, path)
            readme, folder = source.path.parent / "README.md", Path(targets[name]).parent.as_posix()
            # the notes of a dictionary's folder go with it, never those describing the template's subjects
            if readme.is_file() and not any(Path(t.target).parent.as_posix() == folder for t in tables):
                shutil.copyfile(readme, path.parent / "README.md")
        _copy_mappings(study, staging)
        _report_yaml(study, staging, subjects, seed)
        data = _study_yaml(study, studyid, subjects, seed, targets, shifts is not None)
        _dump_yaml(staging / "study.yaml", data, _header(study, subjects, seed, "study.yaml"))
        trace = pd.DataFrame(
            {
                "subject_id": new_ids,
                "template_subject_id": ids.to_numpy(dtype=object)[picks],
                "shift_days": np.zeros(subjects, dtype="int64") if shifts is None else shifts,
            }
        )
        trace.to_csv(staging / SUBJECT_TRACE, index=False, lineterminator="\n")
        manifest = {
            "tool": "sdtmify synth",
            "template": study.name,
            "template_studyid": study.studyid,
            "studyid": studyid,
            "subjects": subjects,
            "seed": seed,
            "template_subjects": len(ids),
            "rows": result.rows,
            "rows_without_subject": {t.name: t.dropped for t in tables if t.dropped},
            "copied": sorted(copied),
            "dates_shifted": result.shifted,
            "dates_not_shifted_because": no_shift_reason,
            "shift": f"0 to {MAX_SHIFT_WEEKS} whole weeks back per subject",
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8", newline="\n")
        os.chmod(staging, 0o777 & ~_umask())
        if target.is_dir():
            target.rmdir()  # empty (checked above); rmdir refuses a folder that gained files since
        rename_new(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


__all__ = ["MAX_SUBJECTS", "SynthResult", "check_seed", "check_subjects", "synthesize", "synthetic_studyid"]
