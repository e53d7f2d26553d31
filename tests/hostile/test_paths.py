"""Hostile paths: --study and --out naming the wrong places, init escaping mappings/.

Every case: expected exit code and message, no traceback, the tree byte-for-byte unchanged outside the
one folder the command may write, and the previous output intact unless it is rebuilt identically."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from cases import Case, play
from harness import FAST

from sdtmify.mapping.scaffold import init_study


def _alias_to_study(project):
    (project.root / "output" / "alias").symlink_to("../mappings/NCI84", target_is_directory=True)


def _copy_study_as_other1(project):
    copy = project.root / "elsewhere" / "MYCOPY"
    shutil.copytree(project.study, copy)
    text = (copy / "study.yaml").read_text()
    (copy / "study.yaml").write_text(text.replace("studyid: NCI84", "studyid: OTHER1", 1))


def _ct_file(project):
    (project.root / "ct").mkdir()
    (project.root / "ct" / "terms.txt").write_text("Code\tCodelist Code\n")


def _home_inside(project):
    (project.root / "home").mkdir()
    (project.root / "home" / "letters.txt").write_text("private")
    return {"HOME": str(project.root / "home")}


def _scaffolded_then_edited(project):
    env = {"SDTMIFY_HOME": str(project.root)}
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        init_study("NEW8")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    study_yaml = project.root / "mappings" / "NEW8" / "study.yaml"
    study_yaml.write_text(study_yaml.read_text() + "# my notes\n")


def _init_wrote_new9(project, outcome):
    folder = project.root / "mappings" / "NEW9"
    assert (folder / "study.yaml").read_text().count("studyid: NEW9") == 1
    assert json.loads((folder / ".sdtmify-init.json").read_text())["tool"] == "sdtmify"


def _output_named_by_studyid(project, outcome):
    assert (project.root / "output" / "OTHER1" / "sdtm" / "dm.xpt").is_file()
    assert not (project.root / "output" / "MYCOPY").exists()
    project.assert_previous_output_intact()


STUDY = [
    Case(
        "study-absolute-path-rebuilds-output-by-studyid",
        ["-q", "build", "--study", "{root}/mappings/NCI84", *FAST],
        0,
        "{root}/output/NCI84",
        writes="output/NCI84",
        same_as_previous=True,
    ),
    Case(
        "study-relative-path-from-output-folder",
        ["-q", "build", "--study", "../mappings/NCI84", *FAST],
        0,
        "{root}/output/NCI84",
        cwd="output",
        writes="output/NCI84",
        same_as_previous=True,
    ),
    Case(
        "study-dot-inside-the-study-folder",
        ["-q", "build", "--study", ".", *FAST],
        0,
        "{root}/output/NCI84",
        cwd="mappings/NCI84",
        writes="output/NCI84",
        same_as_previous=True,
    ),
    Case(
        "study-path-with-another-studyid-writes-output-studyid",
        ["-q", "build", "--study", "elsewhere/MYCOPY", *FAST],
        0,
        "{root}/output/OTHER1",
        setup=_copy_study_as_other1,
        writes="output/OTHER1",
        check=_output_named_by_studyid,
    ),
    Case("study-dot-at-project-root", ["build", "--study", "."], 2, "has no study.yaml in {root};"),
    Case("study-dotdot-from-output", ["build", "--study", ".."], 2, "has no study.yaml in {root};", cwd="output"),
    Case("study-empty-string", ["build", "--study", ""], 2, "--study is empty"),
    Case("study-with-nul-byte", ["build", "--study", "NCI84\x00"], 2, "NUL character"),
    Case(
        "study-unknown-name",
        ["build", "--study", "NOSUCH"],
        2,
        "study 'NOSUCH' not found: no folder {root}/mappings/NOSUCH",
    ),
    Case("study-name-in-wrong-case-suggests", ["build", "--study", "nci84"], 2, "(did you mean 'NCI84'?)"),
    Case("study-is-a-file", ["build", "--study", "mappings/NCI84/study.yaml"], 2, "is a file, not a study folder"),
    Case("study-path-that-does-not-exist", ["build", "--study", "./nowhere/NCI84"], 2, "no such folder"),
    Case("study-system-folder", ["build", "--study", "/etc"], 2, "has no study.yaml in /etc"),
    Case(
        "study-escape-to-passwd",
        ["build", "--study", "../../../../../../etc/passwd"],
        2,
        "is a file, not a study folder",
    ),
    Case("study-name-with-shell-characters", ["build", "--study", "NCI84;rm -rf"], 2, "is not a plain folder name"),
]

OUT = [
    Case(
        "out-is-the-study-folder",
        ["build", "--study", "NCI84", "--out", "mappings/NCI84"],
        2,
        "output folder {root}/mappings/NCI84 is the study folder {root}/mappings/NCI84",
    ),
    Case(
        "out-inside-the-study-folder",
        ["build", "--study", "NCI84", "--out", "mappings/NCI84/source"],
        2,
        "output folder {root}/mappings/NCI84/source lies inside the study folder {root}/mappings/NCI84",
    ),
    Case(
        "out-is-mappings",
        ["build", "--study", "NCI84", "--out", "mappings"],
        2,
        "output folder {root}/mappings contains the study folder {root}/mappings/NCI84",
    ),
    Case(
        "out-is-the-project-root",
        ["build", "--study", "NCI84", "--out", "."],
        2,
        "output folder {root} contains the study folder",
    ),
    Case(
        "out-is-the-filesystem-root",
        ["build", "--study", "NCI84", "--out", "/"],
        2,
        "output folder / contains the study folder",
    ),
    Case(
        "out-dotdot-back-into-the-study",
        ["build", "--study", "NCI84", "--out", "output/NCI84/../../mappings/NCI84"],
        2,
        "is the study folder {root}/mappings/NCI84",
    ),
    Case(
        "out-is-a-declared-source-file",
        ["build", "--study", "NCI84", "--out", "mappings/NCI84/source/subjects.csv"],
        2,
        "subjects.csv is an existing file, not a folder",
    ),
    Case(
        "out-is-a-link-to-the-study",
        ["build", "--study", "NCI84", "--out", "output/alias"],
        2,
        "output folder output/alias is a symbolic link",
        setup=_alias_to_study,
    ),
    Case(
        "out-through-a-link-into-the-study",
        ["build", "--study", "NCI84", "--out", "output/alias/new"],
        2,
        "lies inside the study folder {root}/mappings/NCI84",
        setup=_alias_to_study,
    ),
    Case("out-inside-specs", ["build", "--study", "NCI84", "--out", "specs/mine"], 2, "lies inside specs/"),
    Case(
        "out-contains-the-ct-input",
        ["build", "--study", "NCI84", "--ct", "ct/terms.txt", "--out", "ct"],
        2,
        "output folder {root}/ct contains the input file {root}/ct/terms.txt",
        setup=_ct_file,
    ),
    Case(
        "out-is-the-home-folder",
        ["build", "--study", "NCI84", "--out", "home"],
        2,
        "output folder {root}/home is or contains the home folder {root}/home",
        setup=_home_inside,
    ),
    Case(
        "out-inside-the-previous-output",
        ["build", "--study", "NCI84", "--out", "output/NCI84/nested"],
        2,
        "lies inside the sdtmify output folder {root}/output/NCI84",
    ),
    Case(
        "working-directory-inside-the-output",
        ["build", "--study", "NCI84", *FAST],
        2,
        "output folder {root}/output/NCI84 is or contains the working directory {root}/output/NCI84/sdtm",
        cwd="output/NCI84/sdtm",
    ),
    Case(
        "out-below-a-file",
        ["build", "--study", "NCI84", "--out", "mappings/NCI84/study.yaml/x"],
        2,
        "study.yaml is a file, not a folder",
    ),
]

INIT = [
    Case(
        "init-relative-escape",
        ["init", "--study", "../../escape"],
        2,
        "lies outside the working directory and the project root",
    ),
    Case(
        "init-absolute-elsewhere",
        ["init", "--study", "{tmp}/elsewhere/NEW"],
        2,
        "lies outside the working directory and the project root",
    ),
    Case(
        "init-force-over-the-real-study-by-path",
        ["init", "--study", "../mappings/NCI84", "--force"],
        2,
        "exists; give a new folder",
        cwd="output",
    ),
    Case(
        "init-force-over-a-study-not-scaffolded",
        ["init", "--study", "NCI84", "--force"],
        2,
        "is a study sdtmify did not scaffold (no .sdtmify-init.json); --force never overwrites it",
    ),
    Case("init-existing-study-without-force", ["init", "--study", "NCI84"], 2, "exists; use --force"),
    Case(
        "init-inside-a-study",
        ["init", "--study", "mappings/NCI84/sub/NEW"],
        2,
        "would lie inside the study folder {root}/mappings/NCI84",
    ),
    Case(
        "init-inside-an-output",
        ["init", "--study", "output/NCI84/NEW"],
        2,
        "would lie inside the output folder {root}/output/NCI84",
    ),
    Case("init-name-that-is-no-studyid", ["init", "--study", "bad name"], 2, "is not a plain folder name"),
    Case("init-name-too-long-for-studyid", ["init", "--study", "A" * 30], 2, "becomes STUDYID"),
    Case(
        "init-force-over-edited-scaffold",
        ["init", "--study", "NEW8", "--force"],
        2,
        "study.yaml was changed since `sdtmify init` wrote it",
        setup=_scaffolded_then_edited,
    ),
    Case(
        "init-new-name-writes-only-mappings-new",
        ["-q", "init", "--study", "NEW9"],
        0,
        "{root}/mappings/NEW9/study.yaml",
        writes="mappings/NEW9",
        check=_init_wrote_new9,
    ),
]

CASES = STUDY + OUT + INIT


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_path(case, project):
    play(case, project)


def test_bare_name_falls_back_to_a_study_shipped_in_the_package(project, monkeypatch, tmp_path):
    """mappings/NAME first; else sdtmify.resources.example_study(NAME) (the packaged examples)."""
    from sdtmify import paths
    from sdtmify.paths import resolve_study

    shipped = tmp_path / "package" / "examples" / "DEMO"
    shutil.copytree(project.study, shipped)
    shutil.copytree(project.study, tmp_path / "package" / "examples" / "NCI84")
    monkeypatch.setattr(paths.resources, "example_study", lambda name: tmp_path / "package" / "examples" / name)
    monkeypatch.setenv("SDTMIFY_HOME", str(project.root))
    assert resolve_study("DEMO") == shipped.resolve()
    assert resolve_study("NCI84") == project.study.resolve()  # the project's own study wins
