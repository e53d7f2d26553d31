"""ADaM speed and memory: NCI84's SDTM tiled to many subjects, through ``build_adam``.

    .venv/bin/python benchmarks/bench_adam.py [--lb-records 1000000] [--profile [N]]

NCI84's SDTM is built once (``build_sdtm``), then every SDTM dataset is tiled K times: copy k of a
record belongs to a new subject ``<USUBJID>-K<k>`` (SUBJID gets the same suffix), so every subject of
copy k has the same records, dates and results as the original subject. K is the smallest number giving
at least ``--lb-records`` LB records (default 1,000,000; ``--lb-records 5000000`` for 5 million).
Then ``build_adam`` runs once. Reported: per ADaM dataset its records, the seconds its steps took
(summed over its steps, which the engine interleaves across datasets) and the seconds spent finishing
it (sort, types, define.xml metadata); the seconds of codelists and the rest of build_adam; the whole
build's seconds (wall clock, and CPU time of the process: steadier on a busy machine); the peak RSS
of the process before and after build_adam (``resource.getrusage``).
``--profile`` also prints the N most expensive functions (cProfile, cumulative time; default 30).
The last line is JSON with every number.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import pstats
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sdtmify.adam import engine, steps  # noqa: E402
from sdtmify.datasets import BuiltDataset, Bundle  # noqa: E402
from sdtmify.mapping.engine import build_sdtm  # noqa: E402
from sdtmify.study import load_study  # noqa: E402


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tile_frame(frame: pd.DataFrame, copies: int) -> pd.DataFrame:
    """``copies`` copies of ``frame``, copy k's subjects renamed ``<USUBJID>-K<k>`` (vectorized: the
    new names are built once per subject and copy, then indexed). The records stay in SDTM order (by
    subject, then as in the original), as a real SDTM dataset sorted by its keys would be."""
    rows = np.tile(np.arange(len(frame)), copies)
    copy = np.repeat(np.arange(copies), len(frame))
    if "USUBJID" in frame.columns:
        subject = pd.factorize(frame["USUBJID"])[0]  # order of appearance = sorted SDTM order
        placed = np.lexsort((rows, copy, subject[rows]))
        rows, copy = rows[placed], copy[placed]
    tiled = frame.iloc[rows].reset_index(drop=True)
    for name in ("USUBJID", "SUBJID"):
        if name not in frame.columns:
            continue
        codes, subjects = pd.factorize(frame[name].astype(str))
        renamed = np.array([[f"{s}-K{k:04d}" for s in subjects] for k in range(copies)], dtype=object)
        tiled[name] = pd.Series(renamed[copy, codes[rows]] if len(subjects) else [], dtype=frame[name].dtype)
    return tiled


def tiled_bundle(sdtm: Bundle, copies: int) -> Bundle:
    datasets = {
        name: BuiltDataset(frame=tile_frame(ds.frame, copies), meta=ds.meta, lineage=ds.lineage)
        for name, ds in sdtm.datasets.items()
    }
    return Bundle(standard=sdtm.standard, datasets=datasets, metadata=sdtm.metadata, notes=sdtm.notes)


def timed_build_adam(study, sdtm: Bundle) -> tuple[object, dict[str, dict], float]:
    """Run build_adam, timing every step by the dataset it builds (and by step name), and each
    dataset's finish."""
    per_dataset: dict[str, dict[str, float]] = defaultdict(lambda: {"steps": 0.0, "finish": 0.0})
    per_step: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    original_steps = dict(steps.STEPS)
    original_finish = engine.finish

    def timed_apply(name, entry):
        def apply(ctx, frame, args):
            start = time.perf_counter()
            try:
                return entry.apply(ctx, frame, args)
            finally:
                seconds = time.perf_counter() - start
                per_dataset[ctx.dataset]["steps"] += seconds
                per_step[ctx.dataset][name] += seconds

        return apply

    def timed_finish(state, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original_finish(state, *args, **kwargs)
        finally:
            per_dataset[state.spec.name]["finish"] += time.perf_counter() - start

    for name, entry in original_steps.items():
        steps.STEPS[name] = steps.Step(entry.function, timed_apply(name, entry), entry.appends)
    engine.finish = timed_finish
    try:
        start, cpu = time.perf_counter(), time.process_time()
        adam = engine.build_adam(study, sdtm)
        total = time.perf_counter() - start
        per_dataset["_total"]["cpu"] = time.process_time() - cpu
    finally:
        steps.STEPS.update(original_steps)
        engine.finish = original_finish
    for name, timings in per_step.items():
        per_dataset[name]["by_step"] = dict(timings)
    return adam, per_dataset, total


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", default="NCI84", help="the study whose SDTM is tiled (default NCI84)")
    parser.add_argument(
        "--lb-records",
        type=int,
        default=1_000_000,
        help="at least this many LB records after tiling (default 1,000,000)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        nargs="?",
        const=30,
        default=0,
        help="print the N most expensive functions (cProfile, cumulative)",
    )
    args = parser.parse_args(argv)

    study = load_study(args.study)
    start = time.perf_counter()
    sdtm = build_sdtm(study)
    sdtm_seconds = time.perf_counter() - start
    base_lb = len(sdtm.datasets["LB"].frame)
    copies = max(1, math.ceil(args.lb_records / base_lb))
    start = time.perf_counter()
    tiled = tiled_bundle(sdtm, copies)
    tile_seconds = time.perf_counter() - start
    subjects = len(tiled.datasets["DM"].frame)
    lb_records = len(tiled.datasets["LB"].frame)
    print(
        f"SDTM built in {sdtm_seconds:.1f} s; tiled x{copies} in {tile_seconds:.1f} s: "
        f"{subjects:,} subjects, {lb_records:,} LB records"
    )
    rss_before = _peak_rss_mb()

    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    adam, per_dataset, total = timed_build_adam(study, tiled)
    if profiler:
        profiler.disable()
    rss_after = _peak_rss_mb()

    cpu = per_dataset["_total"]["cpu"]
    numbers = {
        "copies": copies,
        "subjects": subjects,
        "lb_records": lb_records,
        "seconds": round(total, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mb_before": round(rss_before),
        "peak_rss_mb": round(rss_after),
        "datasets": {},
    }
    accounted = 0.0
    for name, ds in adam.datasets.items():
        timing = per_dataset[name]
        seconds = timing["steps"] + timing["finish"]
        accounted += seconds
        by_step = {step: round(s, 2) for step, s in sorted(timing.get("by_step", {}).items(), key=lambda i: -i[1])}
        numbers["datasets"][name] = {
            "records": len(ds.frame),
            "steps_s": round(timing["steps"], 2),
            "finish_s": round(timing["finish"], 2),
            "by_step": by_step,
        }
        print(
            f"{name:6s} {len(ds.frame):>10,} records  steps {timing['steps']:6.2f} s  finish "
            f"{timing['finish']:6.2f} s  {len(ds.frame) / max(seconds, 1e-9):>12,.0f} records/s"
        )
        slowest = [f"{step} {s:.2f}" for step, s in list(by_step.items())[:3] if s >= 0.01]
        if slowest:
            print(f"       slowest steps: {', '.join(slowest)}")
    numbers["other_s"] = round(total - accounted, 2)
    print(
        f"build_adam {total:.2f} s, {cpu:.2f} s CPU (codelists and metadata {total - accounted:.2f} s); peak RSS "
        f"{rss_before:,.0f} MB before, {rss_after:,.0f} MB after"
    )
    if profiler:
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(args.profile)
    print(json.dumps(numbers))
    return numbers


if __name__ == "__main__":
    main()
