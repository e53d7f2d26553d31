"""Where the project's folders are (mappings/, specs/, output/), and what `--study` and `--out` may name.

The standards' metadata (specs/) is package data: see :mod:`sdtmify.resources`.

The project root is $SDTMIFY_HOME, else the nearest folder above the working directory holding
``mappings/`` and ``specs/``, else the source checkout this package was installed from (editable).

One path model (README "Paths and outputs"):
- ``--study NAME`` (a bare name: no slash, not ``.`` or ``..``) is ``<root>/mappings/NAME``, else a study
  shipped inside the package; ``--study PATH`` (anything else) is that folder.
- the default output folder is ``<root>/output/<STUDYID>``, STUDYID read from study.yaml, never from the
  raw argument;
- an output folder may never be, contain or lie inside the study folder or a declared source file, nor be
  the project root, mappings/, specs/, the working directory, the home folder or a filesystem root
  (``check_output_location``); such a request is refused before anything is written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from . import resources
from .errors import InputError

# A bare study name or STUDYID as a folder name: the study.yaml schema's STUDYID alphabet, a little wider.
_BARE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}$")


def _looks_like_root(path: Path) -> bool:
    return (path / "specs").is_dir() and (path / "mappings").is_dir()


def project_root() -> Path:
    env = os.environ.get("SDTMIFY_HOME")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if _looks_like_root(candidate):
            return candidate
    checkout = Path(__file__).resolve().parents[2]
    if _looks_like_root(checkout):
        return checkout
    return here


def is_bare_name(argument: str) -> bool:
    """True for ``NCI84``; False for anything that names a path (``./NCI84``, ``..``, ``/x``, ``a/b``)."""
    if not argument or argument in (".", ".."):
        return False
    if "/" in argument or os.sep in argument or (os.altsep and os.altsep in argument):
        return False
    return not Path(argument).is_absolute()


def _check_name(name: str, what: str) -> str:
    if not _BARE.match(name) or name in (".", ".."):
        raise InputError(
            f"{what} {name!r} is not a plain folder name: use 1-64 letters, digits, '_', '-' or '.', "
            "starting with a letter, digit or '_'"
        )
    return name


def study_dir(name: str, root: Path | None = None) -> Path:
    """``<root>/mappings/NAME`` for a bare study name (no path: a path is refused, nothing escapes mappings/)."""
    return (root or project_root()) / "mappings" / _check_name(name, "study name")


def _shipped_study(name: str) -> Path | None:
    """A study shipped inside the package (the NCI84 example), or None."""
    return resources.example_study(name)


def _suggest(name: str, mappings: Path) -> str:
    import difflib

    try:
        names = sorted(p.name for p in mappings.iterdir() if (p / "study.yaml").is_file())
    except OSError:
        return ""
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6) or [n for n in names if n.lower() == name.lower()]
    return f" (did you mean '{close[0]}'?)" if close else ""


def resolve_study(argument: str | os.PathLike, root: Path | None = None) -> Path:
    """The study folder ``--study`` names (resolved; it holds study.yaml), or an InputError saying why not."""
    text = os.fspath(argument)
    if not text.strip():
        raise InputError("--study is empty: give a study NAME (mappings/NAME) or the path of a study folder")
    if "\x00" in text:
        raise InputError(f"--study {text!r}: a path cannot contain a NUL character")
    if is_bare_name(text):
        folder = study_dir(text, root)
        if not folder.is_dir():
            shipped = _shipped_study(text)
            if shipped is not None:
                return shipped.resolve()
            raise InputError(
                f"study '{text}' not found: no folder {folder}{_suggest(text, folder.parent)}; create it with "
                f"`sdtmify init --study {text}` (or give a path, e.g. --study ./{text})"
            )
    else:
        folder = Path(text).expanduser()
        if not folder.exists():
            raise InputError(f"--study {text}: no such folder ({os.path.abspath(folder)})")
        if not folder.is_dir():
            raise InputError(f"--study {text}: {os.path.abspath(folder)} is a file, not a study folder")
    if not (folder / "study.yaml").is_file():
        hint = f"create one with `sdtmify init --study {text}`" if is_bare_name(text) else "is it a study folder?"
        raise InputError(f"study '{text}' has no study.yaml in {folder.resolve()}; {hint}")
    return folder.resolve()


def output_dir(studyid: str, root: Path | None = None) -> Path:
    """The default output folder ``<root>/output/<STUDYID>`` (STUDYID from study.yaml, never a raw argument)."""
    return (root or project_root()) / "output" / _check_name(studyid, "STUDYID")


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_output_location(
    output: Path,
    study_folder: Path | None = None,
    inputs: Iterable[Path] = (),
    root: Path | None = None,
) -> Path:
    """Refuse an output folder that would overwrite or move what the user owns; return it resolved.

    Everything is compared after resolving symbolic links, so a link cannot smuggle the study in."""
    given = Path(output).expanduser()
    if given.is_symlink():
        raise InputError(
            f"output folder {given} is a symbolic link (to {os.path.realpath(given)}); give the real folder"
        )
    if given.exists() and not given.is_dir():
        raise InputError(
            f"output folder {given.absolute()} is an existing file, not a folder; choose another folder with `sdtmify build --out`"
        )
    for parent in given.absolute().parents:
        if parent.exists() and not parent.is_dir():
            raise InputError(
                f"output folder {given.absolute()}: {parent} is a file, not a folder; choose another folder with `sdtmify build --out`"
            )
    out = given.resolve()
    if study_folder is not None:
        study = Path(study_folder).resolve()
        if _within(out, study) or _within(study, out):
            relation = "is" if out == study else "lies inside" if _within(out, study) else "contains"
            raise InputError(
                f"output folder {out} {relation} the study folder {study}; choose another folder with `sdtmify build --out`"
            )
    for source in inputs:
        source = Path(source).resolve()
        if _within(source, out) or _within(out, source):
            relation = "is" if out == source else "contains" if _within(source, out) else "lies inside"
            raise InputError(
                f"output folder {out} {relation} the input file {source}; choose another folder with `sdtmify build --out`"
            )
    root = (root or project_root()).resolve()
    named = {"the project root": root, "mappings/": root / "mappings", "specs/": resources.specs_dir().resolve()}
    for label, folder in named.items():
        if _within(folder, out):
            raise InputError(
                f"output folder {out} is or contains {label} ({folder}); choose another folder with `sdtmify build --out`"
            )
    for label in ("mappings/", "specs/"):
        if _within(out, named[label]):
            raise InputError(
                f"output folder {out} lies inside {label} ({named[label]}); choose another folder with `sdtmify build --out`"
            )
    for parent in out.parents:
        if (parent / ".sdtmify-output.json").is_file():
            raise InputError(
                f"output folder {out} lies inside the sdtmify output folder {parent}; choose another folder with `sdtmify build --out`"
            )
    cwd = Path.cwd().resolve()
    if _within(cwd, out):
        raise InputError(
            f"output folder {out} is or contains the working directory {cwd}; choose another folder with `sdtmify build --out`"
        )
    home = Path.home().resolve()
    if _within(home, out):
        raise InputError(
            f"output folder {out} is or contains the home folder {home}; choose another folder with `sdtmify build --out`"
        )
    if out.parent == out:
        raise InputError(f"output folder {out} is a filesystem root; choose another folder with `sdtmify build --out`")
    return out
