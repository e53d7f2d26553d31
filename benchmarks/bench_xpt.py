"""XPT v5 write speed and memory: sdtmify's writer against pyreadstat.write_xport, on an LB-shaped frame.

    .venv/bin/python benchmarks/bench_xpt.py [--rows 3000000] [--dir /dev/shm] [--keep DIR]

Each writer runs in its own process (under /usr/bin/time -v when present) that builds the same
deterministic frame -- 12 character columns declared 1-200 bytes wide, 6 numeric columns -- and then
writes it once. Reported per writer: seconds for the write alone, records/s, the CPU seconds of the write
(user + system of the whole process, writer threads included: the figure least disturbed by other jobs on a
shared machine) and records per CPU-second, MB/s of the file it wrote,
and memory: the frame's size (pandas deep memory_usage, which counts a string shared by many cells once
per cell, and the process RSS growth while the frame was built, which counts it once), the RSS just
before writing, and the peak RSS of the whole process.

pyreadstat sizes character columns to their longest value, not the declared length, so its file is
smaller; the speed ratio is therefore given on records/s (the same data) as well as on MB/s. The writer
``pyreadstat-padded`` (``--writers sdtmify,pyreadstat,pyreadstat-padded``) pads every value to its declared
length before the timed write, so that pyreadstat writes the same bytes as ours.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

# name, declared length, how values are made
CHAR_COLUMNS = [
    ("STUDYID", 12, "constant"),
    ("DOMAIN", 2, "constant"),
    ("USUBJID", 20, "subject"),
    ("LBTESTCD", 8, "test"),
    ("LBTEST", 40, "test"),
    ("LBCAT", 40, "test"),
    ("LBORRES", 200, "result"),
    ("LBORRESU", 20, "test"),
    ("LBSTRESC", 200, "result"),
    ("LBNRIND", 1, "flag"),
    ("VISIT", 40, "visit"),
    ("LBDTC", 19, "datetime"),
]
NUM_COLUMNS = ["LBSEQ", "LBSTRESN", "LBSTNRLO", "LBSTNRHI", "VISITNUM", "LBDY"]
TESTS = [
    ("ALT", "Alanine Aminotransferase", "CHEMISTRY", "U/L"),
    ("AST", "Aspartate Aminotransferase", "CHEMISTRY", "U/L"),
    ("HGB", "Hemoglobin", "HEMATOLOGY", "g/dL"),
    ("WBC", "Leukocytes", "HEMATOLOGY", "10^9/L"),
    ("GLUC", "Glucose", "CHEMISTRY", "mmol/L"),
    ("CREAT", "Creatinine", "CHEMISTRY", "umol/L"),
    ("PLAT", "Platelets", "HEMATOLOGY", "10^9/L"),
    ("SODIUM", "Sodium", "CHEMISTRY", "mmol/L"),
]
VISITS = ["SCREENING", "CYCLE 1 DAY 1", "CYCLE 1 DAY 8", "CYCLE 2 DAY 1", "CYCLE 3 DAY 1", "END OF TREATMENT"]


def _rss_now() -> int:
    with open("/proc/self/status") as handle:
        return int(re.search(r"VmRSS:\s+(\d+)", handle.read())[1]) * 1024


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _reset_peak() -> bool:
    """Linux: writing 5 to clear_refs resets VmHWM, so the write phase's own peak can be read after."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _peak_since_reset() -> int:
    with open("/proc/self/status") as handle:
        return int(re.search(r"VmHWM:\s+(\d+)", handle.read())[1]) * 1024


def _objects(texts: np.ndarray) -> np.ndarray:
    """Each cell its own str object, as a reader that does not share strings would leave them."""
    return np.array(texts.tolist(), dtype=object)


def make_frame(rows: int, seed: int = 2009) -> pd.DataFrame:
    """A deterministic LB-shaped frame; pooled columns share their string objects (as pandas' CSV reader
    shares repeated strings), results and datetimes are distinct objects."""
    rng = np.random.default_rng(seed)
    test = rng.integers(0, len(TESTS), rows)
    visit = rng.integers(0, len(VISITS), rows)
    subject = np.arange(rows) // 240
    data = {}
    step = 250_000
    for name, _length, kind in CHAR_COLUMNS:
        if kind == "constant":
            pool = np.array(["NCI84-IL12-T" if name == "STUDYID" else "LB"], dtype=object)
            data[name] = pool[np.zeros(rows, dtype=np.int64)]
        elif kind == "test":
            index = {"LBTESTCD": 0, "LBTEST": 1, "LBCAT": 2, "LBORRESU": 3}[name]
            data[name] = np.array([t[index] for t in TESTS], dtype=object)[test]
        elif kind == "visit":
            data[name] = np.array(VISITS, dtype=object)[visit]
        elif kind == "flag":
            data[name] = np.array(["N", "L", "H", ""], dtype=object)[rng.integers(0, 4, rows)]
        elif kind == "subject":
            pool = np.array([f"NCI84-{i:05d}" for i in range(subject.max() + 1)], dtype=object)
            data[name] = pool[subject]
        elif kind == "result":
            parts = []
            for start in range(0, rows, step):
                values = np.round(rng.lognormal(3, 1, min(step, rows - start)), 2).astype(str)
                parts.append(_objects(values))
            data[name] = np.concatenate(parts)
        else:  # datetime
            parts = []
            base = np.datetime64("2006-03-01T08:00")
            for start in range(0, rows, step):
                minutes = rng.integers(0, 60 * 24 * 700, min(step, rows - start)).astype("timedelta64[m]")
                parts.append(_objects(np.datetime_as_string(base + minutes, unit="s")))
            data[name] = np.concatenate(parts)
    data["LBSEQ"] = (np.arange(rows) % 240 + 1).astype(np.float64)
    data["LBSTRESN"] = np.round(rng.lognormal(3, 1, rows), 2)
    data["LBSTNRLO"] = np.round(rng.uniform(0, 10, rows), 1)
    data["LBSTNRHI"] = np.round(rng.uniform(20, 100, rows), 1)
    data["VISITNUM"] = visit.astype(np.float64) + 1
    data["LBDY"] = np.where(rng.random(rows) < 0.05, np.nan, rng.integers(-14, 400, rows)).astype(np.float64)
    frame = pd.DataFrame(data, copy=False)
    if pd.__version__ >= "3":  # the default text dtype of the pandas in use
        for name, _length, _kind in CHAR_COLUMNS:
            frame[name] = frame[name].astype(pd.StringDtype(na_value=np.nan))
    return frame


def dataset_metadata():
    from sdtmify.metadata.model import Dataset, Variable

    variables = [
        Variable(name=n, label=n.title(), type="Char", length=w, data_type="text", order=i)
        for i, (n, w, _k) in enumerate(CHAR_COLUMNS, start=1)
    ]
    variables += [
        Variable(name=n, label=n.title(), type="Num", length=8, data_type="float", order=20 + i)
        for i, n in enumerate(NUM_COLUMNS)
    ]
    return Dataset(name="LB", label="Laboratory Test Results", purpose="Tabulation", variables=tuple(variables))


def child(writer: str, rows: int, out: Path) -> None:
    baseline = _rss_now()
    frame = make_frame(rows)
    built = _rss_now()
    deep = int(frame.memory_usage(deep=True).sum())
    dataset = dataset_metadata()
    if writer == "pyreadstat-padded":
        # The same bytes as ours: pyreadstat sizes a column by its longest value, so pad every value to
        # the declared length first (not timed; this is what using it for submission files would need).
        for var in dataset.variables:
            if var.type == "Char":
                frame[var.name] = frame[var.name].str.ljust(var.length)
    before = _rss_now()
    reset = _reset_peak()
    start = time.perf_counter()
    cpu_start = time.process_time()
    if writer == "sdtmify":
        from sdtmify.writers.xpt import write_xpt

        write_xpt(frame, dataset, out)
    elif writer in ("pyreadstat", "pyreadstat-padded"):
        import pyreadstat

        pyreadstat.write_xport(
            frame,
            str(out),
            file_format_version=5,
            table_name="LB",
            file_label=dataset.label,
            column_labels=[v.label for v in dataset.variables],
        )
    elif writer == "datasetjson":
        from sdtmify.writers.datasetjson import write_dataset_json

        write_dataset_json(frame, dataset, out, ndjson=out.suffix == ".ndjson")
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(
        json.dumps(
            {
                "writer": writer,
                "rows": rows,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "bytes": out.stat().st_size,
                "frame_deep": deep,
                "frame_rss": built - baseline,
                "rss_before_write": before,
                "peak_rss_child": _peak_rss(),
                "peak_rss_write": _peak_since_reset() if reset else None,
            }
        )
    )


def run(writer: str, rows: int, out: Path) -> dict:
    command = [sys.executable, __file__, "--child", writer, "--rows", str(rows), "--out", str(out)]
    timer = shutil.which("time") and Path("/usr/bin/time").exists()
    if timer:
        command = ["/usr/bin/time", "-v", *command]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{writer} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    result["peak_rss"] = int(match[1]) * 1024 if match else result["peak_rss_child"]
    result["peak_source"] = "/usr/bin/time -v" if match else "getrusage"
    return result


def report(result: dict) -> str:
    mb = 1024 * 1024
    write_peak = result["peak_rss_write"] or result["peak_rss"]
    return (
        f"{result['writer']:<12} {result['seconds']:7.2f} s  {result['rows'] / result['seconds']:>11,.0f} rec/s"
        f"  CPU {result['cpu_seconds']:6.2f} s = {result['rows'] / result['cpu_seconds']:>10,.0f} rec/CPU-s"
        f"  {result['bytes'] / mb / result['seconds']:7.1f} MB/s ({result['bytes'] / mb:,.0f} MB)"
        f"  frame {result['frame_deep'] / mb:,.0f} MB deep / {result['frame_rss'] / mb:,.0f} MB RSS growth"
        f"  RSS before write {result['rss_before_write'] / mb:,.0f} MB"
        f"  peak while writing {write_peak / mb:,.0f} MB (+{(write_peak - result['rss_before_write']) / mb:,.0f} MB)"
        f" = {write_peak / result['frame_deep']:.2f}x deep frame / {write_peak / result['rss_before_write']:.2f}x"
        f" RSS before  [process peak {result['peak_rss'] / mb:,.0f} MB, {result['peak_source']}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    parser.add_argument(
        "--dir",
        type=Path,
        help="write the files in a temporary folder under DIR (e.g. /dev/shm to measure the writers without the disk)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--writers", default="sdtmify,pyreadstat")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows, args.out)
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_xpt.", dir=args.dir))
    folder.mkdir(parents=True, exist_ok=True)
    results = {}
    try:
        for writer in args.writers.split(","):
            suffix = {"datasetjson": ".ndjson"}.get(writer, ".xpt")
            results[writer] = run(writer, args.rows, folder / f"{writer}{suffix}")
            print(report(results[writer]), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    if "sdtmify" in results and "pyreadstat" in results:
        ours, theirs = results["sdtmify"], results["pyreadstat"]
        peak = ours["peak_rss_write"] or ours["peak_rss"]
        mbps = (ours["bytes"] / ours["seconds"]) / (theirs["bytes"] / theirs["seconds"])
        print(
            f"speed ratio: {theirs['seconds'] / ours['seconds']:.1f}x pyreadstat in records/s, {mbps:.1f}x in MB/s "
            f"(target >= 4x); "
            f"peak RSS while writing {peak / ours['frame_deep']:.2f}x the deep frame size, "
            f"{peak / ours['rss_before_write']:.2f}x the process RSS holding the frame (target <= 1.2x)"
        )
    print(json.dumps({"rows": args.rows, "folder": str(folder.parent), "results": results}))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
