"""`sdtmify synth`: a synthetic study resampled from NCI84 that `sdtmify build` builds, run as users run
it (the installed console script). One 40-subject study is built once for the module (~13 CPU-s)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sdtmify.readers import read_xpt_values

SDTMIFY = shutil.which("sdtmify", path=str(Path(sys.executable).parent)) or shutil.which("sdtmify") or "sdtmify"
TEMPLATE = Path(__file__).resolve().parents[1] / "mappings" / "NCI84"
SUBJECTS = 40
# per-subject source -> the SDTM domain holding one record per source row (NCI84's mappings)
ONE_RECORD_PER_ROW = {"adverse_events": "ae", "labs": "lb", "dosing": "ex", "target_lesions": "tr"}


def sdtmify(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SDTMIFY_HOME", "SOURCE_DATE_EPOCH")}
    return subprocess.run([str(SDTMIFY), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def synth(out: Path, seed: int, cwd: Path) -> subprocess.CompletedProcess:
    return sdtmify(
        "synth", "--like", str(TEMPLATE), "--subjects", str(SUBJECTS), "--out", str(out), "--seed", str(seed), cwd=cwd
    )


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """(study folder, build output folder, build process) of NCI84 resampled to 40 subjects, seed 7."""
    base = tmp_path_factory.mktemp("synth")
    done = synth(base / "study", 7, base)
    assert done.returncode == 0, done.stderr
    built = sdtmify("build", "--study", str(base / "study"), "--out", str(base / "out"), cwd=base)
    return base / "study", base / "out", built


def test_synthetic_study_builds_with_every_finding_explained(synthetic):
    study, out, built = synthetic
    assert built.returncode == 0, built.stderr[-3000:]
    validation = json.loads((out / "validation" / "validation.json").read_text(encoding="utf-8"))
    # the template's own expected warnings (validation-notes.yaml, copied), and nothing new
    assert validation["summary"]["errors"] == 0
    assert validation["notes"]["unexplained"] == 0
    assert validation["notes"]["explained"] == validation["summary"]["warnings"] > 0
    assert "published values" not in built.stdout  # none compared, so no verdict on them


def test_every_synthetic_subject_has_its_own_usubjid(synthetic):
    study, out, _ = synthetic
    dm, _ = read_xpt_values(out / "sdtm" / "dm.xpt", None)
    assert len(dm) == SUBJECTS
    assert dm["USUBJID"].is_unique
    assert dm["STUDYID"].unique().tolist() == [f"NCI84S{SUBJECTS}"]
    trace = pd.read_csv(study / "synthetic-subjects.csv", dtype=str)
    # the template subject's id, then S and the subject's number: unique, traceable
    expected = [f"{template}S{i:02d}" for i, template in enumerate(trace["template_subject_id"], 1)]
    assert trace["subject_id"].tolist() == expected
    assert sorted(dm["SUBJID"]) == sorted(expected)
    assert dm["AGE"].notna().all()  # birth dates (before 1970) moved with the subject, not lost


def test_rows_follow_the_sampled_template_subjects(synthetic):
    study, out, _ = synthetic
    trace = pd.read_csv(study / "synthetic-subjects.csv", dtype=str)
    picked = trace["template_subject_id"].value_counts()
    assert picked.sum() == SUBJECTS
    for source, domain in ONE_RECORD_PER_ROW.items():
        template = pd.read_csv(TEMPLATE / "source" / f"{source}.csv", dtype=str)["subject_id"].value_counts()
        expected = int((template.reindex(picked.index, fill_value=0) * picked).sum())
        written = pd.read_csv(study / "source" / f"{source}.csv", dtype=str)
        records, _ = read_xpt_values(out / "sdtm" / f"{domain}.xpt", None)
        assert len(written) == len(records) == expected, source
        # each new subject carries exactly its template subject's rows
        per_subject = written["subject_id"].value_counts().reindex(trace["subject_id"], fill_value=0)
        assert per_subject.tolist() == template.reindex(trace["template_subject_id"], fill_value=0).tolist()


def test_dates_move_by_the_subjects_whole_week_shift(synthetic):
    study, _, _ = synthetic
    trace = pd.read_csv(study / "synthetic-subjects.csv", dtype={"shift_days": int}).set_index("subject_id")
    assert (trace["shift_days"] % 7 == 0).all() and (trace["shift_days"] <= 0).all()
    assert trace["shift_days"].nunique() > 1
    new = pd.read_csv(study / "source" / "adverse_events.csv", dtype=str)
    old = pd.read_csv(TEMPLATE / "source" / "adverse_events.csv", dtype=str)
    subject = new["subject_id"].iloc[0]
    template, shift = trace.loc[subject, "template_subject_id"], int(trace.loc[subject, "shift_days"])
    moved = pd.to_datetime(old.loc[old["subject_id"] == template, "onset_date"], format="%d-%b-%Y")
    moved = (moved + pd.Timedelta(days=shift)).dt.strftime("%d-%b-%Y").str.upper()
    assert new.loc[new["subject_id"] == subject, "onset_date"].tolist() == moved.tolist()
    labs = pd.read_csv(study / "source" / "labs.csv", dtype=str, nrows=3)
    assert labs["collection_datetime"].str.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}").all()  # time kept


def test_synthetic_study_says_it_is_synthetic_and_compares_nothing(synthetic):
    study, out, _ = synthetic
    assert "Synthetic data, not a trial's" in (out / "README.md").read_text(encoding="utf-8")
    assert "published: false" in (study / "report.yaml").read_text(encoding="utf-8")
    assert not (study / "published.yaml").exists()
    comparison = pd.read_csv(out / "report" / "comparison.csv")
    assert comparison.empty
    assert "No published values compared" in (out / "report" / "report.md").read_text(encoding="utf-8")
    table2 = pd.read_csv(out / "report" / "table2.csv", dtype=str)
    assert not table2.empty  # the tables are still computed from the synthetic ADaM


def test_same_seed_same_bytes_other_seed_other_subjects(synthetic, tmp_path):
    study, _, _ = synthetic
    assert synth(tmp_path / "again", 7, tmp_path).returncode == 0
    assert files(tmp_path / "again") == files(study)
    assert synth(tmp_path / "other", 8, tmp_path).returncode == 0
    other = files(tmp_path / "other")
    assert other.keys() == files(study).keys()
    assert other["synthetic-subjects.csv"] != files(study)["synthetic-subjects.csv"]
    assert other["source/labs.csv"] != files(study)["source/labs.csv"]
    assert other["sdtm/dm.yaml"] == (TEMPLATE / "sdtm" / "dm.yaml").read_bytes()  # mappings copied as they are


def test_a_folder_that_holds_files_is_refused_and_left_as_it_was(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    done = synth(out, 1, tmp_path)
    assert done.returncode == 2
    assert "exists and is not empty" in done.stderr and "Traceback" not in done.stderr
    assert files(out) == {"notes.txt": b"keep me"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no staging folder left behind


@pytest.mark.parametrize(
    "argument, message",
    [
        (["--subjects", "0"], "'0' is out of range; give a number of subjects from 1 to 1,000,000"),
        (["--subjects", "ten"], "'ten' is not a whole number"),
        (["--seed", "-1"], "'-1' is out of range; give a seed from 0"),
    ],
)
def test_bad_subject_count_or_seed_is_a_usage_error(argument, message, tmp_path):
    args = {"--subjects": "5", "--seed": "1", **dict([argument])}
    done = sdtmify("synth", "--like", str(TEMPLATE), "--out", str(tmp_path / "x"), *sum(args.items(), ()), cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert not (tmp_path / "x").exists()


def test_template_that_is_not_a_study_is_refused(tmp_path):
    done = sdtmify("synth", "--like", str(tmp_path), "--subjects", "5", "--out", str(tmp_path / "x"), cwd=tmp_path)
    assert done.returncode == 2
    assert "has no study.yaml" in done.stderr


def test_blocks_of_any_size_write_the_same_files(tmp_path, monkeypatch):
    """Tables are written a block of subjects at a time; where the blocks end never shows in the files."""
    from sdtmify import synth as synth_module

    synth_module.synthesize(str(TEMPLATE), 25, tmp_path / "whole", seed=3)
    monkeypatch.setattr(synth_module, "CHUNK_ROWS", 1000)  # labs: 2 subjects a block, AE: about 25
    synth_module.synthesize(str(TEMPLATE), 25, tmp_path / "blocks", seed=3)
    assert files(tmp_path / "blocks") == files(tmp_path / "whole")


def test_out_inside_or_around_the_template_is_refused(tmp_path):
    from sdtmify.errors import InputError
    from sdtmify.synth import check_target

    with pytest.raises(InputError, match="overlaps the template study folder"):
        check_target(TEMPLATE / "synthetic", TEMPLATE)
    with pytest.raises(InputError, match="exists and is not empty"):  # the template itself, or a folder around it
        check_target(TEMPLATE.parent, TEMPLATE)
