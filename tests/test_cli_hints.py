"""Every option a message names exists on the command that can print it.

The test walks every string in src/sdtmify (docstrings and comments aside) for `--option`. A hint that
names its command (`sdtmify build --study X`, `init --study`, `with validate --sdtm`) is checked against
that command's parser; otherwise against every command whose code imports the module holding it (the
module's import closure from the command's entry point), so a reader's hint must hold for every command
that reads through it."""

from __future__ import annotations

import argparse
import ast
import re
from functools import cache
from pathlib import Path

import pytest

from sdtmify.cli import build_parser

SRC = Path(__file__).resolve().parents[1] / "src" / "sdtmify"
# Where each command's work starts (the module its cli handler calls).
ENTRIES = {
    "build": ["sdtmify.build", "sdtmify.pool"],
    "adam": ["sdtmify.adam_only"],
    "synth": ["sdtmify.synth"],
    "check": ["sdtmify.check", "sdtmify.paths"],
    "init": ["sdtmify.mapping.scaffold"],
    "validate": ["sdtmify.validate.run"],
    "convert": ["sdtmify.writers.convert"],
    "report": ["sdtmify.report.paper"],
    "spec export": ["sdtmify.metadata.spec_xlsx"],
    "spec import": ["sdtmify.metadata.spec_xlsx"],
}
COMMAND = r"(build|adam|synth|check|init|validate|convert|report|spec export|spec import)"
OPTION = re.compile(
    r"(?<![\w(-])--[a-z][a-z-]*[a-z](?![\w-]|:#|:\d)"
)  # not CSS custom properties (--ink:#123, var(--ink))
NAMED = re.compile(rf"(?:sdtmify |^|`|with ){COMMAND}\b")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in SRC.rglob("*.py")}


def syntax_tree(name: str) -> ast.Module:
    return ast.parse(MODULES[name].read_text(encoding="utf-8"))


# The sources do not change during a run: each module's imports are read once and each command's import
# closure is walked once, not once per hint (79 hints x 10 commands x ~150 parsed modules: 45 CPU-s).
@cache
def imported(name: str) -> frozenset[str]:
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(syntax_tree(name)):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rsplit(".", 1)[0]
            target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            for alias in node.names:
                found.update(c for c in (f"{target}.{alias.name}", target) if c in MODULES)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in MODULES)
    return frozenset(found)


@cache
def closure(starts: tuple[str, ...]) -> frozenset[str]:
    seen: set[str] = set()
    todo = list(starts)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(imported(name))
    return frozenset(seen)


def options_of(parser: argparse.ArgumentParser, command: str) -> set[str]:
    sub = parser
    for word in command.split():
        action = next(a for a in sub._actions if isinstance(a, argparse._SubParsersAction))
        sub = action.choices[word]
    return {s for a in sub._actions for s in a.option_strings}


def texts(tree: ast.AST):
    """(line, text) of every string that is not a docstring; an f-string as one text, its expressions
    written out (a hint chosen inside one stays in its sentence)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    inside_fstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            inside_fstrings.update(id(v) for v in ast.walk(node))
            yield (
                node.lineno,
                "".join(v.value if isinstance(v, ast.Constant) else f"{{{ast.unparse(v.value)}}}" for v in node.values),
            )
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings and id(node) not in inside_fstrings:
                yield node.lineno, node.value


def hints() -> list[tuple[str, int, str, str]]:
    found = []
    for name in sorted(MODULES):
        if name == "sdtmify.cli":  # the parser's own help texts and the handlers, checked below
            continue
        for line, text in texts(syntax_tree(name)):
            for option in OPTION.findall(text):
                found.append((name, line, option, text))
    return found


HINTS = hints()


def test_the_walk_finds_the_hints_we_know():
    named = {(m, o) for m, _, o, _ in HINTS}
    assert ("sdtmify.readers", "--encoding") in named
    assert ("sdtmify.paths", "--study") in named and ("sdtmify.metadata.ct", "--ct") in named
    assert len(HINTS) > 30


@pytest.mark.parametrize(("module", "line", "option", "text"), HINTS, ids=[f"{h[0]}:{h[1]}:{h[2]}" for h in HINTS])
def test_every_hint_names_an_option_of_its_command(module, line, option, text):
    parser = build_parser()
    named = NAMED.findall(text)
    commands = named or [c for c, starts in ENTRIES.items() if module in closure(tuple(starts))]
    assert commands, f"{module}:{line}: no command reaches this module"
    lacking = [c for c in commands if option not in options_of(parser, c)]
    assert not lacking, f"{module}:{line} names {option}, which `sdtmify {' / '.join(lacking)}` lacks: {text!r}"


def test_cli_handlers_name_their_own_options():
    parser = build_parser()
    tree = ast.parse((SRC / "cli.py").read_text(encoding="utf-8"))
    for function in (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("_cmd_")):
        command = function.name[len("_cmd_") :].replace("_", " ")
        for _, text in texts(function):
            for option in OPTION.findall(text):
                assert option in options_of(parser, command), f"{function.name} names {option}: {text!r}"


def test_a_wrong_encoding_name_is_exit_2_naming_the_option(capsys):
    from sdtmify.cli import main

    for argv in (
        ["build", "--study", "NCI84", "--encoding", "latin-9x"],
        ["check", "--study", "NCI84", "--encoding", "latin-9x"],
        ["validate", "x", "--encoding", "latin-9x"],
        ["convert", "a.xpt", "b.csv", "--encoding", "latin-9x"],
        ["report", "--study", "NCI84", "--encoding", "latin-9x"],
    ):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "argument --encoding: 'latin-9x' is not a text encoding Python knows" in err, argv


def test_report_waiting_on_a_build_does_not_suggest_a_wait_option_it_lacks(tmp_path):
    """`sdtmify report` takes the build lock but has no --wait: its refusal names no such option, while
    the build's does."""
    from sdtmify.errors import SdtmifyError
    from sdtmify.guard import build_lock, updating

    target = tmp_path / "output" / "S1"
    target.mkdir(parents=True)
    with build_lock(target):
        with pytest.raises(SdtmifyError) as by_report, updating(target):
            pass
        with pytest.raises(SdtmifyError) as by_build, build_lock(target):
            pass
    assert "is writing" in str(by_report.value) and "--wait" not in str(by_report.value)
    assert "pass --wait SECONDS to wait for it" in str(by_build.value)
    assert "--wait" in options_of(build_parser(), "build") and "--wait" not in options_of(build_parser(), "report")
