"""Cases of the hostile-input corpus for inputs (YAML, sources, dates, encodings, lengths, duplicates).

A case is a mutation of the mini study (or of a file the mini build wrote), the command a user would
run, the exit code it must end with (2: input error) and fragments its message must hold: the file,
the line or row, the field. Every case also checks that no traceback is printed, that nothing outside
output/ changed and that the previous output folder is byte-for-byte intact."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness import run, run_inprocess, tree_digest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "studies"))
from nci84_mini import ROOT as REPO
from nci84_mini import write_mini

_STUDY_LINES = (REPO / "mappings" / "NCI84" / "study.yaml").read_text(encoding="utf-8").splitlines()
STUDY_END = len(_STUDY_LINES)
"""Lines of the study.yaml the mini study copies: text appended to it starts on line STUDY_END + 1."""


def study_line(start: str) -> int:
    """The line of study.yaml that starts with ``start`` (e.g. "  cohorts:"), so cases survive edits to it."""
    return next(number for number, line in enumerate(_STUDY_LINES, start=1) if line.startswith(start))


def mapping_line(file: str, start: str) -> int:
    """The line of the NCI84 mapping file (``"ae.yaml"``) the mini study copies that starts with ``start``
    (e.g. "  AESTDTC:"), so cases survive edits to the mapping."""
    lines = (REPO / "mappings" / "NCI84" / "sdtm" / file).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if line.startswith(start))


STUDY = Path("mappings") / "MINI"
BUILD = ("build", "--study", "MINI", "--no-validate")


@dataclass
class Case:
    id: str
    mutate: Callable[[Path], None]
    fragments: tuple[str, ...]
    args: tuple[str, ...] = BUILD
    code: int = 2
    absent: tuple[str, ...] = ()  # text the output must not hold (e.g. a foreign file's content)
    process: bool = False  # run the console script as a real process (a sample of cases)
    extra: Callable[[Path], None] | None = None  # a further check on the project after the run

    def __str__(self) -> str:
        return self.id


def params(cases: list[Case]):
    ids = [case.id for case in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return pytest.mark.parametrize("case", cases, ids=ids)


# ---- mutations -----------------------------------------------------------------------------------
def sub(relative: str, old: str, new: str, count: int = 1) -> Callable[[Path], None]:
    """Replace text in a study file (``relative`` to mappings/MINI); the old text must be there."""

    def mutate(root: Path) -> None:
        path = root / STUDY / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new, count), encoding="utf-8")

    return mutate


def put(relative: str, data: str | bytes) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        path = root / STUDY / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))

    return mutate


def append(relative: str, text: str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        path = root / STUDY / relative
        path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")

    return mutate


def csv_line(relative: str, number: int, line: str) -> Callable[[Path], None]:
    """Replace line ``number`` (1-based; 1 is the header) of a CSV source."""

    def mutate(root: Path) -> None:
        path = root / STUDY / relative
        lines = path.read_text(encoding="utf-8").split("\n")
        lines[number - 1] = line
        path.write_text("\n".join(lines), encoding="utf-8")

    return mutate


def csv_value(relative: str, old: str, new: str) -> Callable[[Path], None]:
    return sub(relative, old, new)


def both(*mutations: Callable[[Path], None]) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        for mutation in mutations:
            mutation(root)

    return mutate


# ---- running -------------------------------------------------------------------------------------
def _write_study(root: Path) -> None:
    """The mini study as mappings/MINI with STUDYID MINI (so its output folder is output/MINI whether it is
    named after the folder or the study id), and specs/ marking the project root."""
    study = write_mini(root)
    study.rename(root / STUDY)
    config = root / STUDY / "study.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("studyid: NCI84", "studyid: MINI", 1), encoding="utf-8"
    )
    (root / "specs").mkdir()


_BUILT: dict[str, Path] = {}


@pytest.fixture(scope="session")
def mini_output(tmp_path_factory) -> Path:
    """The mini study built once per test session (SDTM, no validation): the 'previous output' every build
    case starts from, and the XPT / Dataset-JSON files reader cases damage. Each test module imports this
    fixture, which pytest would run once per module: the module-level cache makes it once in all."""
    if "out" not in _BUILT:
        root = tmp_path_factory.mktemp("mini_built")
        _write_study(root)
        outcome = run_inprocess(list(BUILD), root)
        assert outcome.code == 0, outcome.stderr
        _BUILT["out"] = root / "output" / "MINI"
    return _BUILT["out"]


@pytest.fixture
def inputs_project(tmp_path) -> Path:
    """A throw-away project root: mappings/MINI (the mini study), specs/ (marks the root), no output yet.
    The input cases use their own fixture so that they do not depend on how the path and output cases
    set up theirs."""
    _write_study(tmp_path)
    return tmp_path


def check(project: Path, mini_output: Path, case: Case) -> None:
    """Run one case and check all it must hold."""
    shutil.copytree(mini_output, project / "output" / "MINI")
    (project / "data").mkdir(exist_ok=True)
    (project / "specs").mkdir(exist_ok=True)  # marks the project root (mappings/ + specs/) for sdtmify
    case.mutate(project)
    outside = tree_digest(project, exclude=("output",))
    previous = tree_digest(project / "output" / "MINI")
    outcome = (run if case.process else run_inprocess)(list(case.args), project)
    said = outcome.stdout + outcome.stderr
    assert "Traceback" not in said, said
    assert outcome.code == case.code, said
    for fragment in case.fragments:
        assert fragment in said, f"{fragment!r} not in:\n{said}"
    for text in case.absent:
        assert text not in said, f"{text!r} printed:\n{said}"
    assert tree_digest(project, exclude=("output",)) == outside, "files outside output/ changed"
    if case.code != 0:  # a successful build replaces its own previous output; a failed one never touches it
        assert tree_digest(project / "output" / "MINI") == previous, "the previous output changed"
    if case.code != 0:  # no partial output: nothing new beside the previous output (hidden lock files aside)
        left = sorted(p.name for p in (project / "output").iterdir() if not p.name.startswith("."))
        assert left == ["MINI"], left
    if case.extra is not None:
        case.extra(project)


def data_file(name: str, damage: Callable[[bytes], bytes] | None = None, rename: str | None = None):
    """Copy a file the mini build wrote (relative to output/MINI) into data/, optionally damaged."""

    def mutate(root: Path) -> None:
        source = root / "output" / "MINI" / name
        target = root / "data" / (rename or Path(name).name)
        data = source.read_bytes()
        target.write_bytes(damage(data) if damage else data)

    return mutate


def json_file(name: str, change: Callable[[dict], None]):
    """Copy output/MINI/sdtm/dataset-json/<name> into data/ after ``change(document)``."""

    def damage(data: bytes) -> bytes:
        document = json.loads(data)
        change(document)
        return json.dumps(document, ensure_ascii=False).encode()

    return data_file(f"sdtm/dataset-json/{name}", damage)


def convert(name: str, target: str, *options: str) -> tuple[str, ...]:
    """``sdtmify convert data/<name> output/<target>``: the target must not appear when the input is bad."""
    return ("convert", f"data/{name}", f"output/{target}", *options)
