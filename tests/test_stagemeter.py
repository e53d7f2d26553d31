"""The stage recorder behind benchmarks/bench_scale.py: nothing when off; when on, wall/CPU per stage with
nested stages' time taken out of their parent's own time, and the peak memory of each stage."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from sdtmify import stagemeter
from sdtmify.stagemeter import stage


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "stages.jsonl"
    stagemeter.record_to(path)
    yield path
    stagemeter.record_to(None)


def records(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_off_a_marker_is_one_shared_do_nothing_context(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert not stagemeter.recording()
    assert stage("xpt") is stage("validate")
    with stage("xpt"):
        pass
    assert list(tmp_path.iterdir()) == []


def test_a_nested_stage_is_taken_out_of_its_parents_own_time(log):
    with stage("map"):
        sum(range(200_000))
        with stage("read sources"):
            sum(range(400_000))
    enter_map, enter_read, read, outer = records(log)
    assert (enter_map, enter_read) == (
        {"event": "enter", "stage": "map", "depth": 0, "pid": os.getpid()},
        {"event": "enter", "stage": "read sources", "depth": 1, "pid": os.getpid()},
    )
    assert read["pid"] == outer["pid"] == os.getpid()
    assert (read["stage"], read["depth"], outer["stage"], outer["depth"]) == ("read sources", 1, "map", 0)
    assert read["self_cpu"] == read["cpu"] and read["self_wall"] == read["wall"]
    assert outer["self_cpu"] + read["cpu"] == pytest.approx(outer["cpu"], abs=2e-4)
    assert outer["self_wall"] + read["wall"] == pytest.approx(outer["wall"], abs=2e-4)
    assert outer["wall"] >= read["wall"] > 0


def test_each_stage_has_its_own_peak_memory(log):
    with stage("build"):
        with stage("big"):
            block = np.ones(40_000_000)  # 320 MB, touched
            del block
        with stage("small"):
            small = np.ones(1000)
            del small
    big, small, build = [r for r in records(log) if r["event"] == "exit"]
    assert big["peak_rss"] >= 320_000_000
    assert build["peak_rss"] >= big["peak_rss"]  # the parent's peak holds its children's
    if small["peak_scope"] == "stage":  # VmHWM could be reset: the small stage does not inherit the big one's peak
        assert small["peak_rss"] < big["peak_rss"] - 250_000_000
    else:  # only the process's peak so far is known
        assert small["peak_rss"] >= big["peak_rss"]


def test_a_stage_that_fails_is_recorded_and_the_error_goes_on(log):
    with pytest.raises(ValueError, match="bad source"):
        with stage("read sources"):
            raise ValueError("bad source")
    enter, exit = records(log)
    assert (enter["event"], exit["event"], exit["stage"], exit["error"]) == (
        "enter",
        "exit",
        "read sources",
        "ValueError",
    )


def _bench_scale():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_scale.py"
    spec = importlib.util.spec_from_file_location("bench_scale", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_scale_keeps_the_second_lanes_stages_apart(tmp_path):
    """A two-lane build's log interleaves two processes: stages nest per pid, the child's get their own rows."""

    def exit_record(pid, name, depth, wall, cpu):
        return {
            "event": "exit",
            "stage": name,
            "depth": depth,
            "pid": pid,
            "wall": wall,
            "cpu": cpu,
            "self_wall": wall,
            "self_cpu": cpu,
            "peak_rss": 1,
            "peak_scope": "stage",
            "rss": 1,
        }

    lines = [
        {"event": "enter", "stage": "validate", "depth": 0, "pid": 10},
        {"event": "enter", "stage": "dataset-json", "depth": 0, "pid": 11},
        exit_record(11, "dataset-json", 0, 3.0, 2.5),
        exit_record(10, "validate", 0, 4.0, 3.5),
        {"event": "enter", "stage": "lineage", "depth": 0, "pid": 11},  # the child died in here
    ]
    log = tmp_path / "stages.jsonl"
    log.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    stages, died_in = _bench_scale().stage_table(log)
    assert {name: (s["wall"], s["cpu"]) for name, s in stages.items()} == {
        "dataset-json [lane 2]": (3.0, 2.5),
        "validate": (4.0, 3.5),
    }
    assert died_in == "lineage [lane 2]"


def test_bench_scale_tree_memory_counts_copy_on_write_pages_once(tmp_path):
    """A parent touches 256 MiB, forks, and both sleep: the summed RSS counts the shared pages twice, the PSS
    once; PSS (a page-table walk) is read only while it could still set a new peak."""
    import sys

    script = (
        "import os, time\n"
        "block = bytearray(256 * 2**20)\n"
        "block[::4096] = b'x' * len(block[::4096])\n"
        "if os.fork() == 0:\n    time.sleep(0.8)\n    os._exit(0)\n"
        "time.sleep(0.8)\nos.wait()\n"
    )
    run = _bench_scale().measured([sys.executable, "-c", script])
    mib = 2**20
    assert run["exit_code"] == 0 and run["processes"] == 2
    assert 512 * mib <= run["tree_peak_rss"] < 600 * mib
    assert 256 * mib <= run["tree_peak_pss"] < 300 * mib
    assert 1 <= run["tree_samples"]["pss"] < run["tree_samples"]["rss"]
