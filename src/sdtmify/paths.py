"""Where the project's folders are: mappings/, specs/, output/.

The project root is $SDTMIFY_HOME, else the nearest folder above the working directory holding
``mappings/`` and ``specs/``, else the source checkout this package was installed from (editable).
"""

from __future__ import annotations

import os
from pathlib import Path


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


def specs_dir() -> Path:
    """The standards' metadata shipped with the project (IG variables, CT subset, schemas, rules)."""
    checkout = Path(__file__).resolve().parents[2] / "specs"
    return checkout if checkout.is_dir() else project_root() / "specs"


def study_dir(study: str, root: Path | None = None) -> Path:
    return (root or project_root()) / "mappings" / study


def output_dir(study: str, root: Path | None = None) -> Path:
    return (root or project_root()) / "output" / study
