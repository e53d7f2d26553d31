"""Where the project's folders are: mappings/ and output/.

The project root is $SDTMIFY_HOME, else the nearest folder above the working directory holding
``mappings/`` and ``specs/``, else the source checkout this package was installed from (editable).
The standards' metadata (specs) is package data: see :mod:`sdtmify.resources`.
"""

from __future__ import annotations

import os
from pathlib import Path

from .resources import example_study


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


def study_dir(study: str, root: Path | None = None, shipped: bool = True) -> Path:
    """``<root>/mappings/<study>``; when that folder does not exist and ``shipped``, the shipped example
    study of that name (so ``sdtmify build --study NCI84`` works from an installed wheel in an empty
    folder). Commands that write into the study folder pass ``shipped=False``: the installed package
    is never written to."""
    folder = (root or project_root()) / "mappings" / study
    if shipped and not folder.exists():
        return example_study(study) or folder
    return folder


def output_dir(study: str, root: Path | None = None) -> Path:
    return (root or project_root()) / "output" / study
