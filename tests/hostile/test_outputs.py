"""Hostile outputs: folders sdtmify did not write, hand-edited outputs, forged markers, debris, lock files.

sdtmify replaces only an output folder carrying its manifest with nothing added or changed; anything else is
refused before building, or with --force moved aside whole; nothing it did not write is ever deleted."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from cases import Case, leftovers, play
from harness import BUILD, FAST, tree_digest

from sdtmify.guard import MARKER

OUT = "output/NCI84"


def _add_file(project):
    (project.output / "notes.txt").write_text("my review notes")


def _edit_dataset(project):
    with open(project.output / "sdtm" / "dm.xpt", "r+b") as handle:
        handle.seek(100)
        handle.write(b"X")


def _delete_dataset(project):
    (project.output / "sdtm" / "ae.xpt").unlink()


def _add_empty_folder(project):
    (project.output / "mine").mkdir()


def _add_link(project):
    (project.output / "link").symlink_to("/etc")


def _foreign_folder(project):
    shutil.rmtree(project.output)
    (project.output / "chapter").mkdir(parents=True)
    (project.output / "chapter" / "thesis.docx").write_text("months of work")


def _empty_folder(project):
    shutil.rmtree(project.output)
    project.output.mkdir()


def _garbled_marker(project):
    (project.output / MARKER).write_text('{"tool": "sdtmify", "files": {')


def _other_tools_marker(project):
    (project.output / MARKER).write_text('{"tool": "something-else", "files": {}}')


def _marker_is_a_folder(project):
    (project.output / MARKER).unlink()
    (project.output / MARKER).mkdir()


def _forged_empty_manifest(project):
    (project.output / MARKER).write_text('{"tool": "sdtmify", "files": {}}')


def _results_file(project):
    (project.root / "results.txt").write_text("do not replace me")


def _link_elsewhere(project):
    (project.root / "elsewhere").mkdir()
    (project.root / "elsewhere" / "keep.txt").write_text("x")
    (project.root / "output" / "alias").symlink_to(project.root / "elsewhere", target_is_directory=True)


def _staging_debris(project):
    debris = project.root / "output" / ".NCI84.deadbeef.tmp"
    (debris / "sdtm").mkdir(parents=True)
    (debris / "sdtm" / "dm.xpt").write_bytes(b"half written")
    (debris / MARKER).write_text(json.dumps({"tool": "sdtmify", "staging": "NCI84"}))


def _lookalike_debris(project):
    lookalike = project.root / "output" / ".NCI84.cafebabe.tmp"
    lookalike.mkdir()
    (lookalike / "mine.txt").write_text("not sdtmify's")


def _interrupted_two_rename_swap(project):
    project.output.rename(project.root / "output" / ".NCI84.old-0badf00d.tmp")


def _neighbours(project):
    _lookalike_debris(project)
    (project.root / "output" / ".NCI84.old").mkdir()  # what older sdtmify versions left
    (project.root / "output" / ".NCI84.old" / "x.xpt").write_bytes(b"old")
    (project.root / "output" / "OTHER").mkdir()
    (project.root / "output" / "OTHER" / "keep.csv").write_text("a,b\n")
    (project.root / "output" / ".NCI84.lock").write_text("99999\n")  # a killed build's lock, not held


def _lock_is_a_link(project):
    (project.root / "output" / ".NCI84.lock").symlink_to("../mappings/NCI84/study.yaml")


def _lock_is_a_folder(project):
    (project.root / "output" / ".NCI84.lock").mkdir()


def _output_is_a_file(project):
    shutil.rmtree(project.root / "output")
    (project.root / "output").write_text("not a folder")


def _csv_and_existing_target(project):
    (project.root / "a.csv").write_text("STUDYID,AGE\nNCI84,52\n")
    (project.root / "results.xpt").write_bytes(b"someone else's transport file")


def _converted(project, outcome):
    assert (project.root / "results.xpt").read_bytes()[:80].startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD")


def _copy_previous_as_other(project):
    shutil.copytree(project.output, project.root / "output" / "OTHER")


# --- checks after the command


def _moved_aside_whole(expected_extra: dict):
    def check(project, outcome):
        kept = [p for p in (project.root / "output").iterdir() if p.name.startswith("NCI84.kept-")]
        assert len(kept) == 1, kept
        assert f"aside to {kept[0]}" in outcome.stderr
        assert tree_digest(kept[0]) == {**project.previous_output(), **expected_extra}
        project.assert_complete_output()
        assert leftovers(project.root / "output") == []

    return check


def _foreign_moved_aside(project, outcome):
    kept = [p for p in (project.root / "output").iterdir() if p.name.startswith("NCI84.kept-")]
    assert len(kept) == 1 and (kept[0] / "chapter" / "thesis.docx").read_text() == "months of work"
    assert f"aside to {kept[0]}" in outcome.stderr
    assert tree_digest(project.output) == project.previous_output()


def _rebuilt_identically(project, outcome):
    project.assert_complete_output()
    assert tree_digest(project.output) == project.previous_output()
    assert leftovers(project.root / "output") == []


def _debris_removed(project, outcome):
    assert "removed .NCI84.deadbeef.tmp left by a killed build" in outcome.stderr
    _rebuilt_identically(project, outcome)


def _lookalike_kept(project, outcome):
    assert (project.root / "output" / ".NCI84.cafebabe.tmp" / "mine.txt").read_text() == "not sdtmify's"
    assert tree_digest(project.output) == project.previous_output()


def _swap_rolled_back_then_rebuilt(project, outcome):
    assert "restored" in outcome.stderr and ".NCI84.old-0badf00d.tmp" in outcome.stderr
    _rebuilt_identically(project, outcome)


def _neighbours_untouched(project, outcome):
    _lookalike_kept(project, outcome)
    assert (project.root / "output" / ".NCI84.old" / "x.xpt").read_bytes() == b"old"
    assert (project.root / "output" / "OTHER" / "keep.csv").read_text() == "a,b\n"
    assert not (project.root / "output" / ".NCI84.lock").exists()  # a stale lock is taken over, then removed
    assert tree_digest(project.output) == project.previous_output()


def _other_replaced(project, outcome):
    project.assert_complete_output(project.root / "output" / "OTHER")
    assert tree_digest(project.root / "output" / "OTHER") == project.previous_output()


def _new_nested(project, outcome):
    project.assert_complete_output(project.root / "elsewhere" / "deep" / "NCI84")


NOT_SDTMIFY = "exists and it was not written by sdtmify (no .sdtmify-output.json); nothing was changed"
VERBOSE = ["build", "--study", "NCI84", *FAST]

CASES = [
    Case(
        "rebuild-over-own-output-is-byte-identical",
        BUILD,
        0,
        "-> {root}/output/NCI84",
        writes=OUT,
        same_as_previous=True,
    ),
    Case("added-file-refused", BUILD, 2, "1 file(s) added since sdtmify wrote it (notes.txt)", setup=_add_file),
    Case(
        "edited-dataset-refused",
        BUILD,
        2,
        "1 file(s) changed since sdtmify wrote it (sdtm/dm.xpt)",
        setup=_edit_dataset,
    ),
    Case("deleted-dataset-is-rebuilt", BUILD, 0, "", setup=_delete_dataset, writes=OUT, check=_rebuilt_identically),
    Case("added-empty-folder-refused", BUILD, 2, "added since sdtmify wrote it (mine/)", setup=_add_empty_folder),
    Case("added-symlink-refused", BUILD, 2, "added since sdtmify wrote it (link)", setup=_add_link),
    Case("foreign-folder-refused", BUILD, 2, NOT_SDTMIFY, setup=_foreign_folder),
    Case(
        "foreign-folder-with-force-moved-aside-whole",
        [*BUILD, "--force"],
        0,
        "nothing was deleted",
        setup=_foreign_folder,
        writes="output",
        check=_foreign_moved_aside,
    ),
    Case(
        "added-file-with-force-moved-aside-with-the-old-build",
        [*BUILD, "--force"],
        0,
        "nothing was deleted",
        setup=_add_file,
        writes="output",
        check=_moved_aside_whole({"notes.txt": hashlib.sha256(b"my review notes").hexdigest()}),
    ),
    Case("empty-folder-is-replaced", BUILD, 0, "", setup=_empty_folder, writes=OUT, same_as_previous=True),
    Case("garbled-marker-is-not-a-marker", BUILD, 2, NOT_SDTMIFY, setup=_garbled_marker),
    Case("another-tools-marker-is-not-a-marker", BUILD, 2, NOT_SDTMIFY, setup=_other_tools_marker),
    Case("marker-that-is-a-folder", BUILD, 2, NOT_SDTMIFY, setup=_marker_is_a_folder),
    Case(
        "forged-empty-manifest-protects-every-file",
        BUILD,
        2,
        "added since sdtmify wrote it",
        setup=_forged_empty_manifest,
    ),
    Case(
        "out-names-an-existing-file",
        [*VERBOSE, "--out", "results.txt"],
        2,
        "output folder {root}/results.txt is an existing file, not a folder",
        setup=_results_file,
    ),
    Case(
        "out-below-an-existing-file",
        [*VERBOSE, "--out", "results.txt/sub"],
        2,
        "{root}/results.txt is a file, not a folder",
        setup=_results_file,
    ),
    Case(
        "out-is-a-link-elsewhere", [*VERBOSE, "--out", "output/alias"], 2, "is a symbolic link", setup=_link_elsewhere
    ),
    Case(
        "out-new-nested-folder-is-created",
        [*BUILD, "--out", "elsewhere/deep/NCI84"],
        0,
        "-> {root}/elsewhere/deep/NCI84",
        writes="elsewhere",
        check=_new_nested,
    ),
    Case(
        "out-over-another-sdtmify-output-is-replaced",
        [*BUILD, "--out", "output/OTHER"],
        0,
        "",
        setup=_copy_previous_as_other,
        writes="output/OTHER",
        check=_other_replaced,
    ),
    Case(
        "marked-staging-debris-is-cleaned",
        VERBOSE,
        0,
        "recovered:",
        setup=_staging_debris,
        writes="output",
        check=_debris_removed,
    ),
    Case(
        "interrupted-two-rename-swap-is-rolled-back",
        VERBOSE,
        0,
        "recovered: restored",
        setup=_interrupted_two_rename_swap,
        writes="output",
        check=_swap_rolled_back_then_rebuilt,
    ),
    Case(
        "neighbours-lookalike-debris-and-stale-lock-untouched",
        BUILD,
        0,
        "",
        setup=_neighbours,
        writes="output",
        check=_neighbours_untouched,
    ),
    Case(
        "lock-file-is-a-link-to-the-study",
        BUILD,
        2,
        "cannot use the lock file {root}/output/.NCI84.lock",
        setup=_lock_is_a_link,
    ),
    Case("lock-file-is-a-folder", BUILD, 2, "cannot use the lock file", setup=_lock_is_a_folder),
    Case(
        "convert-refuses-to-overwrite-a-file",
        ["convert", "a.csv", "results.xpt"],
        2,
        "convert target results.xpt exists; pass --force to replace it",
        setup=_csv_and_existing_target,
    ),
    Case(
        "convert-target-is-a-folder",
        ["convert", "a.csv", "output"],
        2,
        "convert target output is a folder",
        setup=_csv_and_existing_target,
    ),
    Case(
        "convert-with-force-replaces-the-named-file-only",
        ["-q", "convert", "a.csv", "results.xpt", "--force", "--allow-lossy"],  # a.csv has no a.meta.json
        0,
        "results.xpt",
        setup=_csv_and_existing_target,
        writes="results.xpt",
        check=_converted,
    ),
    Case("output-parent-is-a-file", BUILD, 2, "{root}/output is a file, not a folder", setup=_output_is_a_file),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_output(case, project):
    play(case, project)
