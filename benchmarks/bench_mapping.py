"""SDTM mapping speed and memory: NCI84 with its lab table scaled up, through ``build_sdtm``.

    .venv/bin/python benchmarks/bench_mapping.py [--factor 60] [--dir /dev/shm] [--profile]

NCI84's labs.csv (8,312 rows) is copied ``--factor`` times into a temporary copy of the study
(default 60: about 500,000 LB records; ``--factor 600``: about 5 million). Copy k shifts every
collection time by k minutes, so LB's keys (USUBJID, LBTESTCD, LBDTC) stay unique and every
derivation (visits, standardization, toxicity grade, study day, epoch, baseline, --SEQ) does real work.
Then ``build_sdtm`` runs once. Reported: seconds to read the sources, and per domain its records, the
seconds spent mapping + deriving it and conforming it (sorting, types, lengths, value-level metadata),
and records/s; the whole build's records/s; the peak RSS of the process (``resource.getrusage``).
``--profile`` also prints the 25 most expensive functions (cProfile, cumulative time).
The last line is JSON with every number.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sdtmify.mapping import engine, metadata  # noqa: E402
from sdtmify.study import load_study  # noqa: E402

STUDY = ROOT / "mappings" / "NCI84"


def scaled_study(folder: Path, factor: int) -> Path:
    """A copy of NCI84 whose labs.csv holds ``factor`` time-shifted copies of every row."""
    target = folder / "NCI84"
    shutil.copytree(STUDY, target, ignore=shutil.ignore_patterns("adam", "generator", "report.yaml"))
    labs = pd.read_csv(STUDY / "source" / "labs.csv", dtype=str, keep_default_na=False)
    when = pd.to_datetime(labs["collection_datetime"], format="%Y-%m-%dT%H:%M")
    copies = []
    for k in range(factor):
        copy = labs.copy()
        copy["collection_datetime"] = (when + pd.Timedelta(minutes=k)).dt.strftime("%Y-%m-%dT%H:%M")
        copies.append(copy)
    pd.concat(copies, ignore_index=True).to_csv(target / "source" / "labs.csv", index=False)
    return target


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_build(study) -> tuple[dict, dict[str, dict[str, float]]]:
    """Run build_sdtm, timing each domain's mapping/derivation and conformance."""
    per_domain: dict[str, dict[str, float]] = defaultdict(lambda: {"map": 0.0, "conform": 0.0})

    def timing(function, phase, name_of):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                per_domain[name_of(args)][phase] += time.perf_counter() - start

        return wrapper

    builder = engine.SdtmBuilder
    originals = {name: getattr(builder, name) for name in ("build_source_domain", "derive_domain", "supp_domains")}
    original_conform = metadata._conform
    builder.build_source_domain = timing(originals["build_source_domain"], "map", lambda a: a[1].domain)
    builder.derive_domain = timing(originals["derive_domain"], "map", lambda a: a[1].name)
    builder.supp_domains = timing(originals["supp_domains"], "map", lambda a: f"SUPP{a[1].name}")
    metadata._conform = timing(original_conform, "conform", lambda a: a[1].name)
    try:
        start = time.perf_counter()
        bundle = engine.build_sdtm(study)
        total = time.perf_counter() - start
    finally:
        for name, function in originals.items():
            setattr(builder, name, function)
        metadata._conform = original_conform
    return {"bundle": bundle, "seconds": total}, per_domain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=int, default=60, help="copies of labs.csv (60: ~500k LB records)")
    parser.add_argument("--dir", default=None, help="where the temporary study copy goes (e.g. /dev/shm)")
    parser.add_argument("--profile", action="store_true", help="print the 25 most expensive functions")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = scaled_study(Path(tmp), args.factor)
        study = load_study(folder)
        start = time.perf_counter()
        for name in study.sources:
            study.source(name)  # read and cache every source table
        read_seconds = time.perf_counter() - start
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        result, per_domain = timed_build(study)
        if profiler:
            profiler.disable()
    bundle, seconds = result["bundle"], result["seconds"]
    rows = []
    print(f"NCI84 x{args.factor} labs: sources read in {read_seconds:.2f} s; build_sdtm {seconds:.2f} s")
    print(f"{'domain':<8} {'records':>10} {'map s':>8} {'conform s':>10} {'records/s':>12}")
    for name in sorted(bundle.datasets):
        records = len(bundle.datasets[name].frame)
        spent = per_domain.get(name, {"map": 0.0, "conform": 0.0})
        busy = spent["map"] + spent["conform"]
        rate = records / busy if busy else float("nan")
        rows.append(
            {
                "domain": name,
                "records": records,
                "map_seconds": round(spent["map"], 3),
                "conform_seconds": round(spent["conform"], 3),
                "records_per_second": round(rate),
            }
        )
        print(f"{name:<8} {records:>10,} {spent['map']:>8.2f} {spent['conform']:>10.2f} {rate:>12,.0f}")
    total_records = sum(r["records"] for r in rows)
    peak = _peak_rss_mb()
    print(
        f"all      {total_records:>10,} records in {seconds:.2f} s: {total_records / seconds:,.0f} records/s; "
        f"peak RSS {peak:,.0f} MB"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    print(
        json.dumps(
            {
                "factor": args.factor,
                "read_seconds": round(read_seconds, 3),
                "build_seconds": round(seconds, 3),
                "records": total_records,
                "records_per_second": round(total_records / seconds),
                "peak_rss_mb": round(peak, 1),
                "domains": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
