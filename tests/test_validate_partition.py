"""One validation cut into partitions (`sdtmify validate PATH --scheduler local|ADDRESS`, validate/partition.py):
one per dataset and one for the study-level rules, each a dask task that reads the datasets it needs. The
report is byte for byte the serial run's; a partition that fails stops the run on one line, writing nothing.

The cluster (2 worker processes) is started once for the module and reached by its address, as a cluster
elsewhere would be: the installed console script is the client."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sdtmify.validate.checks import STUDY_LEVEL
from sdtmify.validate.partition import STUDY, DatasetFile, Inputs, plan
from sdtmify.validate.rules import Rule, load_rules

ROOT = Path(__file__).resolve().parents[1]
SDTMIFY = shutil.which("sdtmify", path=str(Path(sys.executable).parent)) or shutil.which("sdtmify") or "sdtmify"
NCI84 = ROOT / "mappings" / "NCI84"


def sdtmify(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"} | {"SOURCE_DATE_EPOCH": "1700000000"}
    return subprocess.run([SDTMIFY, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def scheduler():
    """The address of a LocalCluster of 2 single-threaded worker processes, for the whole module."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        memory_limit=0,
    ) as cluster:
        yield cluster.scheduler_address


def test_the_plan_runs_every_rule_once_per_dataset_it_may_cover(tmp_path):
    names = {"DM": "SDTM", "AE": "SDTM", "LB": "SDTM", "SUPPAE": "SDTM", "ADSL": "ADaM", "ADAE": "ADaM"}
    files = []
    for size, (name, standard) in enumerate(names.items()):
        path = tmp_path / f"{name.lower()}.xpt"
        path.write_bytes(b"x" * (100 * size))
        files.append(DatasetFile(name, str(path), standard))
    rules = load_rules()
    partitions, unplaced = plan(Inputs(datasets=tuple(sorted(files, key=lambda f: f.name)), rules=tuple(rules)))

    # the largest file first (it sets the wall time), the study-level rules last
    assert [p.dataset for p in partitions] == ["ADAE", "ADSL", "SUPPAE", "LB", "AE", "DM", STUDY]
    study = {r.id for r in partitions[-1].rules}
    assert study == {r.id for r in rules if r.check_type in STUDY_LEVEL} and len(study) == 7
    placed: dict[str, list[str]] = {}
    for partition in partitions[:-1]:
        ids = [r.id for r in partition.rules]
        assert len(ids) == len(set(ids))  # once per partition
        assert not study & set(ids)
        for rule_id in ids:
            placed.setdefault(rule_id, []).append(partition.dataset)
    # every rule is somewhere, and only one of: the study partition, dataset partitions, no dataset at all
    assert sorted(study | set(placed) | {r.id for r in unplaced}) == sorted(r.id for r in rules)
    assert not set(placed) & {r.id for r in unplaced} and not study & {r.id for r in unplaced}

    by_id = {r.id: r for r in rules}
    only_dm = [r for r in rules if r.scope.get("datasets") == ["DM"] and r.check_type not in STUDY_LEVEL]
    assert only_dm and all(placed[r.id] == ["DM"] for r in only_dm)
    adam = [r.id for r in rules if r.standard == "ADaM" and r.check_type not in STUDY_LEVEL]
    assert adam and all(set(placed.get(i, [])) <= {"ADSL", "ADAE"} for i in adam)
    sdtm = [i for i, where in placed.items() if by_id[i].standard == "SDTM"]
    assert all(not {"ADSL", "ADAE"} & set(placed[i]) for i in sdtm)
    # rules for datasets this study does not have (TS, say) are the client's: skipped, no dataset in scope
    ts_only = [r for r in rules if r.scope.get("datasets") == ["TS"] and r.check_type not in STUDY_LEVEL]
    assert ts_only and all(r in unplaced for r in ts_only)


def test_partitioned_validation_of_nci84_is_byte_identical_to_the_serial_run(nci84_output, scheduler, tmp_path):
    folder, _ = nci84_output
    common = [
        "validate",
        str(folder),
        *("--notes", str(NCI84 / "validation-notes.yaml")),
        *("--dictionary", f"ctcae={NCI84 / 'dictionaries' / 'ctcae.csv'}"),
        *("--max-errors-per-rule", "5"),  # Details cut across datasets: the partitions' rows are merged, then cut
    ]
    serial = sdtmify(*common, "--report-dir", str(tmp_path / "serial"))
    pooled = sdtmify(*common, "--report-dir", str(tmp_path / "pooled"), "--scheduler", scheduler)
    assert serial.returncode == pooled.returncode == 0, pooled.stderr
    for name in ("validation.json", "validation.xlsx"):
        assert (tmp_path / "pooled" / name).read_bytes() == (tmp_path / "serial" / name).read_bytes(), name
    assert pooled.stdout.replace("pooled", "serial") == serial.stdout
    assert pooled.stderr.splitlines()[0].startswith("validating 28 datasets in 29 partitions on the dask scheduler at")
    report = json.loads((tmp_path / "pooled" / "validation.json").read_text())
    assert report["summary"]["warnings"] > 0 and len(report["inputs"]["datasets"]) == 28
    # the cut: a rule with more findings than kept keeps exactly 5 Details rows
    kept = {}
    for finding in report["findings"]:
        kept[finding["rule"]] = kept.get(finding["rule"], 0) + 1
    counts = {issue["rule"]: 0 for issue in report["issues"]}
    for issue in report["issues"]:
        counts[issue["rule"]] += issue["count"]
    assert any(counts[rule] > 5 and kept[rule] == 5 for rule in counts)


def test_a_failing_partition_stops_the_run_on_one_line_and_writes_nothing(nci84_output, scheduler, tmp_path):
    from sdtmify.console import QUIET
    from sdtmify.pool import PoolError, validate_partitions
    from sdtmify.validate.partition import dataset_files

    folder, _ = nci84_output
    copy = tmp_path / "sdtm"
    shutil.copytree(folder / "sdtm", copy, ignore=shutil.ignore_patterns("dataset-json"))
    (copy / "cm.xpt").write_bytes((copy / "cm.xpt").read_bytes()[:1000])  # cut short: the CM partition fails
    done = sdtmify("validate", str(copy), "--report-dir", str(tmp_path / "report"), "--scheduler", scheduler)
    assert done.returncode == 2
    [error] = [line for line in done.stderr.splitlines() if line.startswith("error")]
    assert error.startswith(f"error: {copy / 'cm.xpt'}") and "Traceback" not in done.stderr
    assert not (tmp_path / "report").exists() or not any((tmp_path / "report").iterdir())

    # a rule that fails (a defect: a study-level check raising) names its partition and what it raised
    broken = Rule("ZZ0001", "error", "m", "d", {"sponsor": "test"}, {"standard": "SDTM"}, {"type": "dataset_present"})
    inputs = Inputs(datasets=tuple(dataset_files(folder / "sdtm", "SDTM")), rules=(broken,))
    with pytest.raises(PoolError) as caught:
        validate_partitions(inputs, scheduler=scheduler, workers=None, ui=QUIET)
    assert str(caught.value) == (
        "validation partition (study) failed (KeyError: 'datasets'); "
        "run sdtmify validate without --scheduler to see where"
    )
