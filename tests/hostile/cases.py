"""The shape of a hostile case: arguments, expected exit code and message, what may change on disk."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness import Outcome, Project, run_inprocess, tree_digest


@dataclass(frozen=True)
class Case:
    """One careless or hostile command.

    ``args`` and ``fragment`` may hold ``{root}`` (the project root) and ``{tmp}`` (its parent).
    ``setup(project)`` prepares the tree before the snapshot and may return extra environment variables.
    ``writes`` is the one folder (relative to the root) the command may create or replace; None means the
    whole tree must stay byte-for-byte unchanged. ``same_as_previous``: what it writes must equal the
    previous build's output byte for byte (a rebuild of the unchanged study)."""

    id: str
    args: list[str]
    code: int
    fragment: str
    setup: Callable[[Project], dict | None] | None = None
    cwd: str = "."
    writes: str | None = None
    same_as_previous: bool = False
    check: Callable[[Project, Outcome], None] | None = None
    env: dict = field(default_factory=dict)


def fill(text: str, project: Project) -> str:
    return text.replace("{root}", str(project.root)).replace("{tmp}", str(project.root.parent))


def play(case: Case, project: Project) -> Outcome:
    """Run the case in-process and make every check it declares."""
    env = dict(case.env)
    if case.setup:
        env.update(case.setup(project) or {})
    before = project.snapshot()
    outcome = run_inprocess([fill(a, project) for a in case.args], cwd=project.root / case.cwd, env=env)
    outcome.expect(case.code, fill(case.fragment, project))
    if case.writes is None:
        after = project.snapshot()
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        assert not changed, f"a refused command changed the tree: {changed[:10]}"
    else:
        project.assert_outside_unchanged(before, output=case.writes)
        if case.same_as_previous:
            written = project.root / case.writes
            project.assert_complete_output(written)
            assert tree_digest(written) == project.previous_output(), "the rebuild differs from the previous build"
    if case.check:
        case.check(project, outcome)
    return outcome


def leftovers(folder: Path, name: str = "NCI84") -> list[str]:
    """Staging, lock or aside folders of ``name`` left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{name}."))
