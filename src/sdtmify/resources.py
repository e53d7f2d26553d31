"""The files sdtmify ships: the standards' metadata (``specs``) and the example studies.

Both are package data read through :mod:`importlib.resources`: in a wheel they are ``sdtmify/specs/``
and ``sdtmify/examples/``; in an editable install pyproject.toml maps the repository's top-level
``specs/`` and ``mappings/`` onto the same package names. Nothing here looks at the working directory:
the rules, CT, schemas and IG metadata a run uses are those of the installed sdtmify.

A shipped file that is missing or unreadable is a :class:`SpecError` (exit status 2, one line):
a tool that cannot read its own specs must not carry on with fewer of them."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from .errors import Location, SpecError

SPECS_PACKAGE = "sdtmify.specs"
EXAMPLES_PACKAGE = "sdtmify.examples"
_REINSTALL = "reinstall sdtmify (or restore the file from git in a checkout)"


def _package_folder(package: str) -> Path:
    """The folder of a data package on disk."""
    try:
        root = files(package)
    except ModuleNotFoundError:
        raise SpecError(f"sdtmify's package data '{package}' is not installed; {_REINSTALL}") from None
    if not isinstance(root, Path) or not root.is_dir():
        # e.g. a zipped install: the loaders need real files (paths in messages, mtimes for caches)
        raise SpecError(f"sdtmify's package data '{package}' is not a folder on disk ({root}); install it unpacked")
    return root


@cache
def specs_dir() -> Path:
    """The shipped standards' metadata: IG variables, CT subset, JSON Schemas, rule catalogue."""
    return _package_folder(SPECS_PACKAGE)


def spec_path(*parts: str) -> Path:
    """A shipped spec file or folder, e.g. ``spec_path("rules")``; SpecError when absent."""
    path = specs_dir().joinpath(*parts)
    if not path.exists():
        raise SpecError(f"shipped spec {'/'.join(parts)} is missing; {_REINSTALL}", Location(str(path)))
    return path


def read_spec_text(path: Path) -> str:
    """The text of a spec file (UTF-8); a missing, unreadable or undecodable file is a SpecError."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"spec file missing; {_REINSTALL}", Location(str(path))) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise SpecError(f"spec file cannot be read ({reason}); {_REINSTALL}", Location(str(path))) from None


def example_study(name: str) -> Path | None:
    """The shipped example study ``name`` (e.g. NCI84) as a folder holding study.yaml, else None."""
    try:
        root = _package_folder(EXAMPLES_PACKAGE)
    except SpecError:
        return None
    if not name or Path(name).name != name or name.startswith("."):
        return None  # a plain folder name, never a path out of the package
    folder = root / name
    return folder if (folder / "study.yaml").is_file() else None
