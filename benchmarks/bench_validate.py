"""Benchmark the validator: a synthetic study with a large LB, or the CDISC pilot SDTM against CORE's CPU time.

    .venv/bin/python benchmarks/bench_validate.py [--records 5000000] [--subjects 5000]
    .venv/bin/python benchmarks/bench_validate.py --pilot [--path DIR] [--runs 5]

Default mode: builds DM, TA, TE, TV, SV, TS and LB in memory (no file I/O, so the numbers are the
validator's), runs the whole rule catalogue, and prints records per second per rule family (records
examined / seconds spent by the rules of that family), the total time and the peak memory (max RSS).

``--pilot``: the whole catalogue on a folder of datasets, by default the CDISC pilot SDTM
(../shared/reference/xpt/sdtm, the files CDISC CORE 0.16 validates in 126-143 CPU-s). Two figures,
each the median of ``--runs`` runs, stated against the 2.5 CPU-s target (50x faster than CORE):

- process: CPU seconds (user + sys) of the whole ``sdtmify validate DIR --fail-on never -q`` process,
  the installed console script, startup and imports included (from the kernel's rusage of the child);
- in-process: CPU seconds to read the folder (``validate.run._load_data``) and to run the rules
  (``validate.run.validate_tables``: rule catalogue, IG metadata and CT loaded, every rule run,
  findings kept), each measured by ``time.process_time`` in a fresh child process, so nothing is cached
  from an earlier run."""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
PILOT = ROOT.parent / "shared" / "reference" / "xpt" / "sdtm"
TARGET_CPU_S = 2.5  # CDISC CORE 0.16: 126-143 CPU-s on the pilot (../shared/reference/core/timings.md); 50x faster

from sdtmify.metadata.model import Dataset, Variable  # noqa: E402
from sdtmify.validate.context import ig_standards, load_terminology  # noqa: E402
from sdtmify.validate.data import table_from  # noqa: E402
from sdtmify.validate.engine import Context, run_rules  # noqa: E402
from sdtmify.validate.rules import load_rules  # noqa: E402

TESTS = [
    ("ALB", "Albumin", "g/L", 35, 50),
    ("ALP", "Alkaline Phosphatase", "U/L", 40, 130),
    ("ALT", "Alanine Aminotransferase", "U/L", 7, 56),
    ("AST", "Aspartate Aminotransferase", "U/L", 10, 40),
    ("BILI", "Bilirubin", "umol/L", 3, 21),
    ("CREAT", "Creatinine", "umol/L", 60, 110),
    ("GLUC", "Glucose", "mmol/L", 3.9, 5.6),
    ("HGB", "Hemoglobin", "g/L", 120, 160),
    ("PLAT", "Platelets", "10^9/L", 150, 400),
    ("WBC", "Leukocytes", "10^9/L", 4, 11),
    ("SODIUM", "Sodium", "mmol/L", 135, 145),
    ("K", "Potassium", "mmol/L", 3.5, 5.1),
    ("CL", "Chloride", "mmol/L", 98, 107),
    ("CA", "Calcium", "mmol/L", 2.2, 2.6),
    ("PHOS", "Phosphate", "mmol/L", 0.8, 1.5),
    ("UREAN", "Urea Nitrogen", "mmol/L", 2.5, 7.1),
    ("NEUT", "Neutrophils", "10^9/L", 2, 7.5),
    ("LYM", "Lymphocytes", "10^9/L", 1, 4),
    ("MONO", "Monocytes", "10^9/L", 0.2, 1),
    ("EOS", "Eosinophils", "10^9/L", 0, 0.5),
]


def _meta(name: str, frame: pd.DataFrame, label: str) -> Dataset:
    variables = tuple(
        Variable(
            name=c,
            label=c.title(),
            type="Num" if frame[c].dtype.kind == "f" else "Char",
            length=8 if frame[c].dtype.kind == "f" else max(1, int(frame[c].str.len().max() or 1)),
            data_type="text",
            order=i,
        )
        for i, c in enumerate(frame.columns, start=1)
    )
    return Dataset(name=name, label=label, purpose="Tabulation", variables=variables)


def _pool(values) -> np.ndarray:
    """An object array of distinct Python strings, so large columns share them (as a reader's would)."""
    return np.array([str(v) for v in values], dtype=object)


def build(records: int, subjects: int, seed: int = 84) -> dict:
    rng = np.random.default_rng(seed)
    per_subject = records // subjects
    visits = max(1, per_subject // len(TESTS))
    ids = _pool(f"BENCH-{i:05d}" for i in range(subjects))
    start = pd.Timestamp("2020-01-06") + pd.to_timedelta(rng.integers(0, 700, subjects), unit="D")
    rfst = _pool(start.strftime("%Y-%m-%d"))
    dm = pd.DataFrame(
        {
            "STUDYID": "BENCH",
            "DOMAIN": "DM",
            "USUBJID": ids,
            "SUBJID": _pool(f"{i:05d}" for i in range(subjects)),
            "RFSTDTC": rfst,
            "RFENDTC": _pool((start + pd.Timedelta(days=400)).strftime("%Y-%m-%d")),
            "SITEID": "01",
            "AGE": rng.integers(18, 85, subjects).astype(float),
            "AGEU": "YEARS",
            "SEX": _pool(["F", "M"])[rng.integers(0, 2, subjects)],
            "ARMCD": "A",
            "ARM": "Drug A",
            "ACTARMCD": "A",
            "ACTARM": "Drug A",
            "COUNTRY": "USA",
        }
    )
    n = subjects * visits * len(TESTS)
    subj = np.repeat(np.arange(subjects), visits * len(TESTS))
    visit = np.tile(np.repeat(np.arange(visits), len(TESTS)), subjects)
    test = np.tile(np.arange(len(TESTS)), subjects * visits)
    lo = np.array([t[3] for t in TESTS], dtype=float)[test]
    hi = np.array([t[4] for t in TESTS], dtype=float)[test]
    value = np.round(lo + (hi - lo) * rng.uniform(-0.3, 1.3, n), 1)
    value_text = pd.Series(value).map("{:g}".format).to_numpy(dtype=object)  # one conversion per record
    # dates: visit k is 14*k days after the subject's RFSTDTC (so LBDY = 14*k + 1)
    days = pd.DatetimeIndex(start)[subj] + pd.to_timedelta(visit * 14, unit="D")
    date_pool, date_codes = np.unique(days.strftime("%Y-%m-%d"), return_inverse=True)
    date_text = _pool(date_pool)[date_codes]
    nrind = np.where(value < lo, "LOW", np.where(value > hi, "HIGH", "NORMAL"))
    seq = np.tile(np.arange(1, visits * len(TESTS) + 1, dtype=float), subjects)
    lb = pd.DataFrame(
        {
            "STUDYID": "BENCH",
            "DOMAIN": "LB",
            "USUBJID": ids[subj],
            "LBSEQ": seq,
            "LBTESTCD": _pool(t[0] for t in TESTS)[test],
            "LBTEST": _pool(t[1] for t in TESTS)[test],
            "LBCAT": "CHEMISTRY",
            "LBORRES": value_text,
            "LBORRESU": _pool(t[2] for t in TESTS)[test],
            "LBSTRESC": value_text,
            "LBSTRESN": value,
            "LBSTRESU": _pool(t[2] for t in TESTS)[test],
            "LBSTNRLO": lo,
            "LBSTNRHI": hi,
            "LBNRIND": _pool(["LOW", "HIGH", "NORMAL"])[
                np.searchsorted(np.array(["HIGH", "LOW", "NORMAL"]), nrind).choose([1, 0, 2])
            ],
            "LBLOBXFL": np.where(visit == 0, "Y", ""),
            "VISITNUM": (visit + 1).astype(float),
            "VISIT": _pool(f"VISIT {k + 1}" for k in range(visits))[visit],
            "EPOCH": "TREATMENT",
            "LBDTC": date_text,
            "LBDY": (visit * 14 + 1).astype(float),
        }
    )
    sv = pd.DataFrame(
        {
            "STUDYID": "BENCH",
            "DOMAIN": "SV",
            "USUBJID": ids[np.repeat(np.arange(subjects), visits)],
            "VISITNUM": np.tile(np.arange(1, visits + 1, dtype=float), subjects),
            "VISIT": _pool(f"VISIT {k + 1}" for k in range(visits))[np.tile(np.arange(visits), subjects)],
            "EPOCH": "TREATMENT",
        }
    )
    ta = pd.DataFrame(
        {
            "STUDYID": "BENCH",
            "DOMAIN": "TA",
            "ARMCD": "A",
            "ARM": "Drug A",
            "TAETORD": [1.0],
            "ETCD": "TRT",
            "ELEMENT": "Treatment",
            "TABRANCH": "",
            "TATRANS": "",
            "EPOCH": "TREATMENT",
        }
    )
    te = pd.DataFrame(
        {
            "STUDYID": "BENCH",
            "DOMAIN": "TE",
            "ETCD": ["TRT"],
            "ELEMENT": "Treatment",
            "TESTRL": "First dose",
            "TEENRL": "Last dose",
            "TEDUR": "",
        }
    )
    tv = pd.DataFrame(
        {
            "STUDYID": "BENCH",
            "DOMAIN": "TV",
            "VISITNUM": np.arange(1, visits + 1, dtype=float),
            "VISIT": [f"VISIT {k + 1}" for k in range(visits)],
            "ARMCD": "A",
            "TVSTRL": "Planned",
        }
    )
    out = {}
    for name, frame, label in (
        ("DM", dm, "Demographics"),
        ("LB", lb, "Laboratory Test Results"),
        ("SV", sv, "Subject Visits"),
        ("TA", ta, "Trial Arms"),
        ("TE", te, "Trial Elements"),
        ("TV", tv, "Trial Visits"),
    ):
        out[name] = table_from(frame, _meta(name, frame, label), "SDTM", file=f"{name.lower()}.xpt")
    return out


def _in_process(path: Path) -> dict:
    """Read and rules CPU seconds of one validation of ``path`` in this (fresh) process."""
    from sdtmify.validate.run import _load_data, validate_tables

    started = time.process_time()
    tables = _load_data(path)
    read = time.process_time() - started
    started = time.process_time()
    validation, _ = validate_tables(tables)
    rules = time.process_time() - started
    return {"read_s": read, "rules_s": rules, "findings": validation.counts(), "rules": len(validation.results)}


def _sdtmify() -> str:
    script = Path(sys.executable).with_name("sdtmify")
    return str(script) if script.exists() else "sdtmify"


def _child_cpu(command: list[str]) -> float:
    """CPU seconds (user + sys) of one child process, from the kernel's accounting of waited-for children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def pilot(path: Path, runs: int) -> int:
    if not path.is_dir():
        raise SystemExit(f"{path}: not a folder of datasets (the CDISC pilot SDTM is ../shared/reference/xpt/sdtm)")
    command = [_sdtmify(), "validate", str(path), "--fail-on", "never", "-q"]
    process, read, rules, findings = [], [], [], None
    for i in range(runs):
        process.append(_child_cpu(command))
        out = subprocess.run(
            [sys.executable, __file__, "--in-process", str(path)], stdout=subprocess.PIPE, text=True, check=True
        )
        inner = json.loads(out.stdout.splitlines()[-1])
        read.append(inner["read_s"])
        rules.append(inner["rules_s"])
        findings = inner["findings"]
        print(
            f"run {i + 1}: process {process[-1]:.2f} CPU-s, read {read[-1]:.2f} s, rules {rules[-1]:.2f} s",
            file=sys.stderr,
        )
    med = {k: statistics.median(v) for k, v in (("process", process), ("read", read), ("rules", rules))}
    load = os.getloadavg()[0]
    print(f"{' '.join(command)}   (median of {runs}; load average {load:.1f})")
    print(f"{'measure':<50}{'CPU-s':>8}{'target':>8}")
    for label, key in (
        ("whole process (startup + imports + read + rules)", "process"),
        ("  in-process: reading the datasets", "read"),
        ("  in-process: running the rules", "rules"),
    ):
        if key == "process":
            verdict = "meets the target" if med[key] <= TARGET_CPU_S else "misses the target"
            print(f"{label:<50}{med[key]:>8.2f}{TARGET_CPU_S:>8.1f}  {verdict}")
        else:
            print(f"{label:<50}{med[key]:>8.2f}")
    rest = med["process"] - med["read"] - med["rules"]
    print(f"{'  (startup, imports, report: the rest)':<50}{rest:>8.2f}")
    print(
        f"CDISC CORE 0.16 on these files: 126-143 CPU-s -> {126 / med['process']:.0f}x to {143 / med['process']:.0f}x"
    )
    result = {
        "path": str(path),
        "command": command,
        "runs": runs,
        "process_cpu_s": process,
        "read_cpu_s": read,
        "rules_cpu_s": rules,
        "median": med,
        "target_cpu_s": TARGET_CPU_S,
        "meets_target": med["process"] <= TARGET_CPU_S,
        "load_average": load,
        "findings": findings,
    }
    print(json.dumps(result))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5_000_000)
    parser.add_argument("--subjects", type=int, default=5_000)
    parser.add_argument("--ct", help="full NCI CT file for the codelist rules (default: the shipped subset)")
    parser.add_argument("--pilot", action="store_true", help="CPU seconds on a folder of datasets (the CDISC pilot)")
    parser.add_argument("--path", type=Path, default=PILOT, help="folder for --pilot (default: the CDISC pilot SDTM)")
    parser.add_argument("--runs", type=int, default=5, help="runs for --pilot; the median is reported")
    parser.add_argument("--in-process", type=Path, help=argparse.SUPPRESS)  # one child run of --pilot
    args = parser.parse_args(argv)
    if args.in_process:
        print(json.dumps(_in_process(args.in_process)))
        return 0
    if args.pilot:
        return pilot(args.path, args.runs)
    started = time.perf_counter()
    tables = build(args.records, args.subjects)
    built = time.perf_counter() - started
    ctx = Context(tables=tables, standards=ig_standards(), ct=load_terminology(args.ct))
    rules = load_rules()
    started = time.perf_counter()
    validation = run_rules(rules, ctx, max_details=1000)
    total = time.perf_counter() - started
    families: dict[str, list[float]] = defaultdict(lambda: [0.0, 0, 0])
    for r in validation.results:
        fam = families[r.rule.family]
        fam[0] += r.seconds
        fam[1] += r.records
        fam[2] += 1
    lb = tables["LB"].records
    print(f"synthetic study: LB {lb:,} records, DM {tables['DM'].records:,} subjects (built in {built:.1f} s)")
    print(f"{'rule family':<34}{'rules':>6}{'seconds':>10}{'records/s':>16}")
    for name, (seconds, records, count) in sorted(families.items(), key=lambda kv: -kv[1][0]):
        rate = f"{records / seconds:,.0f}" if seconds >= 0.01 and records else "-"  # too fast to time
        print(f"{name:<34}{count:>6}{seconds:>10.2f}{rate:>16}")
    counts = validation.counts()
    statuses = {s: sum(r.status == s for r in validation.results) for s in ("passed", "failed", "skipped")}
    print(
        f"all {len(rules)} rules: {total:.1f} s ({lb / total:,.0f} LB records/s overall); {statuses}; findings {counts}"
    )
    print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
