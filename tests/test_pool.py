"""Many studies at once (`sdtmify build --study A --study B ... --scheduler local|ADDRESS`, sdtmify/pool.py):
each study's build a dask.distributed task, run here on a LocalCluster of 2 worker processes through the
installed console script, each study's validation cut into partitions (`--partition-validation`). The outputs
are byte for byte those of the plain serial build; a study that fails fails alone, named on one line, and the
exit code is the worst study's."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sdtmify.build import build_study
from sdtmify.mapping.scaffold import init_study

ROOT = Path(__file__).resolve().parents[1]
SDTMIFY = shutil.which("sdtmify", path=str(Path(sys.executable).parent)) or shutil.which("sdtmify") or "sdtmify"
EPOCH = "1700000000"  # 2023-11-14T22:13:20Z: not the default timestamp, so it must reach the workers
XPT_STAMP = b"14NOV23:22:13:20"


def sdtmify(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout=300) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("SDTMIFY_HOME", "SOURCE_DATE_EPOCH")}
    return subprocess.run(
        [SDTMIFY, *args], cwd=cwd, env=environ | (env or {}), capture_output=True, text=True, timeout=timeout
    )


def digests(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A project root with two small studies of different shapes (the `sdtmify init` scaffold and EDC3),
    and BROKEN and BROKEN2: the scaffold with a mapping naming a column its source does not have."""
    home = tmp_path_factory.mktemp("pool") / "home"
    (home / "mappings").mkdir(parents=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SDTMIFY_HOME", str(home))
        init_study("ALPHA")
        init_study("BROKEN")
        init_study("BROKEN2")
    shutil.copytree(ROOT / "tests" / "studies" / "EDC3", home / "mappings" / "EDC3")
    for broken in ("BROKEN", "BROKEN2"):
        dm = home / "mappings" / broken / "sdtm" / "dm.yaml"
        dm.write_text(dm.read_text().replace("{column: site_id}", "{column: site_code}"))
    return home


@pytest.fixture(scope="module")
def pooled(home) -> subprocess.CompletedProcess:
    """ALPHA, EDC3 (by path), BROKEN, BROKEN2 and NOPE (no such study) built in one pooled run on 2 workers,
    each validation in partitions. Four builds on two single-threaded workers is the shape that deadlocks when a
    build waiting for its partitions lets the next build take its thread (each worker then holds a waiting build
    and a build blocked behind it, and no partition gets a thread): the timeout fails the test instead."""
    return sdtmify(
        "build",
        *("--study", "ALPHA", "--study", str(home / "mappings" / "EDC3"), "--study", "BROKEN", "--study", "BROKEN2"),
        *("--study", "NOPE", "--out", str(home.parent / "pooled"), "--scheduler", "local", "--workers", "2"),
        "--partition-validation",
        cwd=home.parent,
        env={"SDTMIFY_HOME": str(home), "SOURCE_DATE_EPOCH": EPOCH},
        timeout=180,
    )


@pytest.fixture(scope="module")
def serial(home, tmp_path_factory) -> Path:
    """ALPHA and EDC3 built one after the other, in this process, as the plain build does; ALPHA's as a
    remote worker would run its job (:func:`sdtmify.pool.run_job`, called directly: no dask, no partitions) in
    a working directory and environment of its own: the job brings the client's project root and
    SOURCE_DATE_EPOCH, and the worker's own come back afterwards."""
    from sdtmify.pool import plan_builds, run_job

    folder = home.parent / "serial"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SDTMIFY_HOME", str(home))
        patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
        jobs, failed = plan_builds(["ALPHA"], str(folder / "ALPHA"), {}, verbosity=0, partition=True)
        [(_, job)] = jobs
        assert failed == [] and job.study == "ALPHA" and job.out_dir == str(folder / "ALPHA")
        assert job.environ == {"SOURCE_DATE_EPOCH": EPOCH, "SDTMIFY_HOME": str(home)}
        build_study(str(home / "mappings" / "EDC3"), out_dir=str(folder / "EDC3"))

        elsewhere = tmp_path_factory.mktemp("worker")
        patch.setenv("SDTMIFY_HOME", str(elsewhere / "home"))  # the worker's own settings
        patch.delenv("SOURCE_DATE_EPOCH")
        patch.chdir(elsewhere)
        outcome = run_job(job)
        assert outcome.error is None, outcome.trace
        assert outcome.partitions == 0  # not on a worker holding a build slot: validated in its own thread
        assert os.environ["SDTMIFY_HOME"] == str(elsewhere / "home") and "SOURCE_DATE_EPOCH" not in os.environ
    return folder


def test_pooled_outputs_are_byte_identical_to_the_serial_build(pooled, serial, home):
    folder = serial
    for studyid in ("ALPHA", "EDC3"):
        expected = digests(folder / studyid)
        assert len(expected) > 20
        assert digests(home.parent / "pooled" / studyid) == expected, studyid
    # SOURCE_DATE_EPOCH reached the workers: the XPT header carries its time, not the default
    assert XPT_STAMP in (home.parent / "pooled" / "ALPHA" / "sdtm" / "dm.xpt").read_bytes()[:400]


def test_each_pooled_validation_ran_as_one_task_per_dataset_and_one_study_level(pooled, serial, home):
    """The worker that built a study says how many partition tasks validated it: one per dataset, one more
    for the study-level rules; the report they merge into is the serial build's (compared above)."""
    said = {}
    for line in pooled.stderr.splitlines():
        study, _, rest = line.partition(": built in ")
        if rest:
            said[study] = rest.split(", validated in ")[-1] if ", validated in " in rest else ""
    datasets = {
        study: len(report["inputs"]["datasets"])
        for study, report in (
            ("ALPHA", json.loads((serial / "ALPHA" / "validation" / "validation.json").read_text())),
            (
                str(home / "mappings" / "EDC3"),
                json.loads((serial / "EDC3" / "validation" / "validation.json").read_text()),
            ),
        )
    }
    assert datasets["ALPHA"] > 1 and datasets[str(home / "mappings" / "EDC3")] > 1
    assert said == {
        "ALPHA": f"{datasets['ALPHA'] + 1} partitions",
        str(home / "mappings" / "EDC3"): f"{datasets[str(home / 'mappings' / 'EDC3')] + 1} partitions",
    }, pooled.stderr


def test_a_failing_study_fails_alone_on_one_line_and_sets_the_exit_code(pooled, home):
    done = pooled
    # ALPHA clean (0), EDC3 one conformance error (1), BROKEN, BROKEN2 and NOPE input errors (2): the worst wins
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 3, done.stderr
    assert errors[0].startswith("error: NOPE: study 'NOPE' not found: no folder ")  # before anything ran
    failed = {line.split(": ")[1]: line for line in errors[1:]}  # in the order they failed
    assert sorted(failed) == ["BROKEN", "BROKEN2"]
    for broken, line in failed.items():
        assert line.startswith(f"error: {broken}: mappings/{broken}/sdtm/dm.yaml:")
        assert "site_code" in line and "did you mean 'site_id'" in line
    assert "Traceback" not in done.stderr and "distributed" not in done.stderr
    assert not (home.parent / "pooled" / "BROKEN").exists() and not (home.parent / "pooled" / "BROKEN2").exists()
    lines = done.stdout.splitlines()
    header = [i for i, line in enumerate(lines) if line.split() == ["study", "exit", "result"]]
    assert len(header) == 1, done.stdout  # the table comes last, after each study's summary
    table = lines[header[0] :]
    rows = {line.split()[0]: line.split(maxsplit=2)[1:] for line in table[1:]}
    assert rows["ALPHA"] == ["0", f"built: {home.parent / 'pooled' / 'ALPHA'} (errors: 0, warnings: 0, notices: 0)"]
    assert rows[str(home / "mappings" / "EDC3")][0] == "1"
    assert rows["BROKEN"][0] == "2" and rows["BROKEN"][1].startswith("failed: mappings/BROKEN/sdtm/dm.yaml:")
    assert rows["BROKEN2"][0] == "2"
    assert rows["NOPE"][0] == "2"
    assert list(rows) == ["ALPHA", str(home / "mappings" / "EDC3"), "BROKEN", "BROKEN2", "NOPE"]  # the order given
    assert "sdtmify build ALPHA -> " in done.stdout and "sdtmify build EDC3 -> " in done.stdout


def test_an_address_without_a_scheduler_is_one_line_quickly(home):
    started = time.monotonic()
    done = sdtmify(
        "build",
        *("--study", "ALPHA", "--scheduler", "tcp://127.0.0.1:9"),
        cwd=home.parent,
        env={"SDTMIFY_HOME": str(home), "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"},
    )
    # the wait is the 1 s the message states; this bound only catches a hang (Python starts slowly on a busy machine)
    assert time.monotonic() - started < 90
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "building 1 study on the dask scheduler at tcp://127.0.0.1:9",
        "error: --scheduler tcp://127.0.0.1:9: no dask scheduler answered "
        "(Timed out trying to connect to tcp://127.0.0.1:9 after 1 s)",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scheduler", "scheduler.example"], "argument --scheduler: 'scheduler.example' is neither 'local' nor"),
        (["--workers", "0"], "argument --workers: '0' is not a number of workers from 1 to 1024"),
        (["--scheduler", "tcp://127.0.0.1:9", "--workers", "2"], "--workers sizes a local cluster"),
    ],
)
def test_bad_pool_options_are_usage_errors(home, args, message):
    done = sdtmify("build", "--study", "ALPHA", *args, cwd=home.parent, env={"SDTMIFY_HOME": str(home)})
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_two_studies_writing_one_folder_are_refused_before_anything_runs(home):
    done = sdtmify(
        "build",
        *("--study", "ALPHA", "--study", str(home / "mappings" / "ALPHA"), "--out", str(home.parent / "twice")),
        cwd=home.parent,
        env={"SDTMIFY_HOME": str(home)},
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: --study ALPHA and --study {home / 'mappings' / 'ALPHA'} would both write "
        f"{home.parent / 'twice' / 'ALPHA'} (STUDYID ALPHA); build them separately, each with its own --out"
    )
    assert not (home.parent / "twice").exists()


def test_help_never_imports_dask(home):
    for args in (["--help"], ["build", "--help"], ["validate", "--help"]):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "sdtmify.cli", *args],
            capture_output=True,
            text=True,
            env=os.environ | {"SDTMIFY_HOME": str(home)},
        )
        imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
        assert imported and not any(name.split(".")[0] in ("dask", "distributed") for name in imported), args
