"""The package data declared in pyproject.toml cover what the tool reads at run time, and the editable
install reads the repository's own specs/ and mappings/ through the same package names as the wheel
(tests/test_wheel.py installs the wheel itself)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from sdtmify import paths, resources

ROOT = Path(__file__).resolve().parents[1]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def _shipped(package: str, folder: Path) -> set[str]:
    """The files the package-data patterns select (glob semantics, as setuptools: ``*`` stops at '/')."""
    patterns = SETUPTOOLS["package-data"][package]
    return {p.relative_to(folder).as_posix() for pattern in patterns for p in folder.glob(pattern) if p.is_file()}


def test_the_package_list_names_every_package_folder_under_src():
    found = {
        ".".join(p.parent.relative_to(ROOT / "src").parts) for p in (ROOT / "src" / "sdtmify").rglob("__init__.py")
    }
    assert sorted(SETUPTOOLS["packages"]) == sorted(found | {"sdtmify.specs", "sdtmify.examples"})
    assert SETUPTOOLS["package-dir"] == {"": "src", "sdtmify.specs": "specs", "sdtmify.examples": "mappings"}


def test_every_spec_file_is_package_data():
    files = {
        p.relative_to(ROOT / "specs").as_posix()
        for p in (ROOT / "specs").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.name != "__init__.py"
    }
    assert len(files) == 30  # with stylesheets/define2-1.xsl and schema/dataset-json-1.1.schema.json
    assert _shipped("sdtmify.specs", ROOT / "specs") == files


def test_the_example_ships_everything_but_its_generator():
    folder = ROOT / "mappings"
    study = {
        p.relative_to(folder).as_posix()
        for p in (folder / "NCI84").rglob("*")
        if p.is_file() and "generator" not in p.parts and "__pycache__" not in p.parts
    }
    shipped = _shipped("sdtmify.examples", folder)
    assert shipped == study
    assert {"NCI84/study.yaml", "NCI84/report.yaml", "NCI84/published.yaml", "NCI84/source/subjects.csv"} <= shipped


def test_the_editable_install_reads_the_repository_folders():
    assert resources.specs_dir() == ROOT / "specs"
    assert resources.example_study("NCI84") == ROOT / "mappings" / "NCI84"


def test_example_study_takes_a_folder_name_only():
    assert resources.example_study("ONCO2") is None
    assert resources.example_study("../mappings/NCI84") is None
    assert resources.example_study("NCI84/sdtm") is None
    assert resources.example_study("") is None


def test_a_bare_study_name_falls_back_to_the_shipped_example_for_reading_only(tmp_path):
    assert paths.resolve_study("NCI84", root=tmp_path) == ROOT / "mappings" / "NCI84"
    assert paths.study_dir("NCI84", root=tmp_path) == tmp_path / "mappings" / "NCI84"  # where init writes
    (tmp_path / "mappings" / "NCI84").mkdir(parents=True)
    (tmp_path / "mappings" / "NCI84" / "study.yaml").write_text("study: {studyid: NCI84}\n")
    assert paths.resolve_study("NCI84", root=tmp_path) == (tmp_path / "mappings" / "NCI84").resolve()
    assert paths.study_dir("OTHER", root=tmp_path) == tmp_path / "mappings" / "OTHER"
