"""Scale: a whole `sdtmify build` of an NCI84-shaped study of N subjects, per stage, against the I/O floor.

    .venv/bin/python benchmarks/bench_scale.py [--subjects 1000,10000] [--like NCI84] [--seed 1]
        [--json benchmarks/results/scale-{N}.json] [--work DIR] [--keep] [--max-memory-gb G] [--rebuild]
    .venv/bin/python benchmarks/bench_scale.py --show benchmarks/results/scale-1000.json   # a saved run's table

On a machine shared with other work, run one big N at a time and cap each measured process's address space,
so that running out of memory is a reported result, not a machine in trouble:

    .venv/bin/python benchmarks/bench_scale.py --subjects 10000 --max-memory-gb 16

For each N, in order:

1. ``sdtmify synth --like NCI84 --subjects N`` writes the study (not timed).
2. ``sdtmify build --study DIR`` runs in a fresh process with ``SDTMIFY_STAGE_LOG`` set, so the stage markers
   (:mod:`sdtmify.stagemeter`) log wall, CPU and peak RSS per stage: read sources, map (the rest of the SDTM
   mapping), derive (SDTM derivations), adam, xpt, dataset-json, lineage, define, validate, report. "other" is
   what no marker holds (interpreter start and imports, reviewer's guides, README, manifest, folder swap).
   The process's own total wall, CPU (user + sys) and peak RSS come from wait4(2).
3. The I/O floor, in another fresh process: reading the study's source files with ``pandas.read_csv`` (all
   text, as sdtmify reads them), then, with the build's final SDTM and ADaM frames loaded from its XPT files
   (not timed), writing each dataset once as XPT (sdtmify's writer) and as Dataset-JSON .json and .ndjson
   (encoded once, both files written) -- the outputs the build must produce, without the work between.
   Frames reloaded from XPT have object columns and can be slower to write than the build's own frames, so
   the "tight floor" takes for writing the less of that and the build's own xpt + dataset-json stages.

A build killed for lack of memory (a signal, or sdtmify's MemoryError) is reported as ``OUT OF MEMORY`` with
the stage that was running (the last stage the log shows entered and not left), and the benchmark goes on.
The table and a JSON document per N (``--json``, ``{N}`` replaced; default benchmarks/results/scale-{N}.json)
give every figure, with the load average before and after. ``--rebuild`` also times a second
``sdtmify build --study NCI84`` (the template) into a scratch folder."""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SDTMIFY = shutil.which("sdtmify", path=str(Path(sys.executable).parent)) or shutil.which("sdtmify") or "sdtmify"
STAGES = (
    "read sources",
    "map",
    "derive",
    "adam",
    "xpt",
    "dataset-json",
    "lineage",
    "define",
    "validate",
    "report",
)
GB = 1024**3
PAGE = os.sysconf("SC_PAGE_SIZE")


# --- running a measured child process ------------------------------------------------------------------


def _limit(max_memory: float | None):
    if not max_memory:
        return None
    limit = int(max_memory * GB)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:  # under a tighter cap already (prlimit --as): it cannot be raised
        limit = min(limit, hard)
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux /proc)."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as handle:
                found += [int(child) for child in handle.read().split()]
    except OSError:
        pass
    return found


def _resident(pid: int) -> int:
    """RSS of one process in bytes from /proc/PID/statm (the kernel's counters: cheap to read); 0 when gone."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


def _proportional(pid: int) -> int:
    """PSS of one process in bytes from /proc/PID/smaps_rollup; 0 when it is gone. The kernel walks the
    process's page tables to count it: milliseconds of CPU for gigabytes of 4 KiB pages."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


class TreeMemory(threading.Thread):
    """Samples the memory of a process and all its descendants: the highest sum of their RSS (pages shared
    copy-on-write after a fork counted in each process) and of their PSS (shared pages split between the
    processes sharing them, so they count once). A two-lane build's memory is the sum of its processes;
    wait4's ru_maxrss is the largest single process only.

    Every ``interval`` seconds it reads each process's RSS (statm: kernel counters, microseconds). PSS costs
    a walk of every page table (smaps_rollup), so it is read only when it can set a new peak (a process's PSS
    never exceeds its RSS: a summed RSS at or below the peak PSS cannot beat it) and no sooner than
    ``1 / duty - 1`` times the last PSS reading's duration after it: the walks take at most ``duty`` of one
    core (earlier versions walked every 0.1 s; at 10,000 subjects that took 39 % of one of two cores and
    slowed the two-lane build it measured by about 12 s of 80). A peak shorter than
    that gap can be missed by the PSS figure; the RSS sum, read every ``interval``, bounds it from above."""

    def __init__(self, pid: int, interval: float = 0.1, duty: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.interval, self.duty = pid, interval, duty
        self.peak_rss = self.peak_pss = 0
        self.processes = 0  # the most processes seen at once
        self.peak_parts: list[int] = []  # each process's PSS when the sum peaked (the build's first)
        self.samples = self.pss_samples = 0
        self.pss_seconds = 0.0  # the sampler's time reading PSS (its cost to the measured processes)
        self._next_pss = 0.0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.sample()
            self._done.wait(self.interval)

    def sample(self) -> None:
        pids, queue = [], [self.pid]
        while queue:
            pid = queue.pop()
            pids.append(pid)
            queue += _children(pid)
        resident = [(pid, rss) for pid in pids if (rss := _resident(pid))]
        self.samples += 1
        summed = sum(rss for _, rss in resident)
        self.peak_rss = max(self.peak_rss, summed)
        self.processes = max(self.processes, len(resident))
        now = time.perf_counter()
        if summed <= self.peak_pss or now < self._next_pss:
            return
        parts = [pss for pid, _ in resident if (pss := _proportional(pid))]
        took = time.perf_counter() - now
        self.pss_samples += 1
        self.pss_seconds += took
        self._next_pss = now + took / self.duty
        if sum(parts) > self.peak_pss:
            self.peak_pss, self.peak_parts = sum(parts), parts

    def stop(self) -> None:
        self._done.set()
        self.join()


def measured(command: list[str], env: dict | None = None, max_memory: float | None = None) -> dict:
    """Run ``command``; its exit code, wall seconds, CPU seconds (user + sys, its waited-for children's
    included) and peak RSS (wait4: the largest single process), and the peak of its process tree's summed RSS
    and PSS (:class:`TreeMemory`: RSS every 0.1 s, PSS when it can set a new peak, within 5 % of a core)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err, preexec_fn=_limit(max_memory))
        tree = TreeMemory(process.pid)
        tree.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            tree.stop()
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    return {
        "exit_code": process.returncode,
        "wall": round(wall, 2),
        "cpu": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss": usage.ru_maxrss * 1024,
        "tree_peak_rss": tree.peak_rss,
        "tree_peak_pss": tree.peak_pss,
        "processes": tree.processes,
        "tree_peak_parts": tree.peak_parts,
        "tree_samples": {"rss": tree.samples, "pss": tree.pss_samples, "pss_seconds": round(tree.pss_seconds, 2)},
        "stdout": stdout,
        "stderr": stderr,
    }


MEMORY_ERRORS = (
    "MemoryError",
    "Cannot allocate memory",
    "Unable to allocate",
    "out of memory",
)  # Python, OS, numpy, sdtmify


def out_of_memory(exit_code: int, stderr: str) -> bool:
    """Killed by a signal (the kernel's OOM killer), or a message of a failed allocation (under the cap, numpy's
    MemoryError can reach the user inside another error's message)."""
    return exit_code < 0 or any(text in stderr for text in MEMORY_ERRORS)


# --- the stage log -------------------------------------------------------------------------------------


LANE2 = " [lane 2]"  # the name suffix of stages a two-lane build ran in its second process


def stage_table(log: Path) -> tuple[dict[str, dict], str | None]:
    """Per stage: summed self wall/CPU, highest peak RSS, runs; and where the build died: the stages left open
    (killed inside them), else the innermost stage an exception ended, if any.

    Records carry the pid of the process that ran them (a two-lane build logs from a forked child too): stages
    nest per process, and a stage run by any process but the first (the build's own) is keyed ``NAME [lane 2]``
    so that its wall, which overlaps the first process's, is shown on its own row. Logs without pids (older
    builds) are one process."""
    stages: dict[str, dict] = {}
    open_stages: dict[int | None, list[str]] = {}
    failed: str | None = None
    if not log.is_file():
        return stages, None
    main_pid: int | None = None
    for line in log.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        pid = record.get("pid")
        main_pid = pid if main_pid is None else main_pid
        name = record["stage"] + ("" if pid == main_pid else LANE2)
        stack = open_stages.setdefault(pid, [])
        if record["event"] == "enter":
            stack.append(name)
            continue
        if stack:
            stack.pop()
        if record.get("error") and failed is None:
            failed = f"{name} ({record['error']})"
        entry = stages.setdefault(
            name, {"wall": 0.0, "cpu": 0.0, "peak_rss": 0, "runs": 0, "peak_scope": record["peak_scope"]}
        )
        entry["wall"] += record["self_wall"]
        entry["cpu"] += record["self_cpu"]
        entry["peak_rss"] = max(entry["peak_rss"], record["peak_rss"])
        entry["runs"] += 1
    for entry in stages.values():
        entry["wall"], entry["cpu"] = round(entry["wall"], 2), round(entry["cpu"], 2)
    still_open = [" > ".join(stack) for stack in open_stages.values() if stack]
    return stages, ("; ".join(still_open) if still_open else failed)


# --- the floor -----------------------------------------------------------------------------------------


def floor_worker(study: Path, built: Path, scratch: Path) -> dict:
    """In a fresh process: read the sources (timed), load the built frames (not timed), write them once (timed)."""
    import pandas as pd

    from sdtmify.readers import read_xpt
    from sdtmify.study import load_study
    from sdtmify.writers.datasetjson import prepare_dataset_json, write_forms
    from sdtmify.writers.xpt import write_xpt

    spec = load_study(str(study))
    read_wall, read_cpu = time.perf_counter(), time.process_time()
    rows = 0
    for source in spec.sources.values():
        frame = pd.read_csv(source.path, dtype=str, keep_default_na=False, encoding=source.encoding or "utf-8")
        rows += len(frame)
        del frame
    read = {"wall": time.perf_counter() - read_wall, "cpu": time.process_time() - read_cpu, "rows": rows}

    write = {"wall": 0.0, "cpu": 0.0, "datasets": 0, "records": 0, "skipped": []}
    for standard in ("sdtm", "adam"):
        for path in sorted((built / standard).glob("*.xpt")):
            frame, dataset = read_xpt(path)  # not timed: the floor starts from the frames in memory
            # read_xpt hangs its metadata on frame.attrs, which pandas deep-copies on every column access
            # (3x the Dataset-JSON time); the build's frames carry none
            frame.attrs = {}
            target = scratch / standard
            target.mkdir(parents=True, exist_ok=True)
            wall, cpu = time.perf_counter(), time.process_time()
            write_xpt(frame, dataset, target / path.name)
            try:
                document = prepare_dataset_json(frame, dataset, standard=standard.upper())
                # encoded once for both files, as the build does (write_prepared per file would encode twice)
                write_forms(
                    document, json_path=target / f"{path.stem}.json", ndjson_path=target / f"{path.stem}.ndjson"
                )
            except Exception as exc:  # counted, and said, rather than silently leaving the floor lower
                write["skipped"].append(f"{path.name} dataset-json: {type(exc).__name__}: {exc}")
            write["wall"] += time.perf_counter() - wall
            write["cpu"] += time.process_time() - cpu
            write["datasets"] += 1
            write["records"] += len(frame)
            del frame
    return {"read": read, "write": write}


# --- one N ---------------------------------------------------------------------------------------------


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_one(subjects: int, args, work: Path) -> dict:
    study, built, floor = work / f"study-{subjects}", work / f"out-{subjects}", work / f"floor-{subjects}"
    log = work / f"stages-{subjects}.jsonl"
    for path in (study, built, floor, log):
        if path.exists():
            raise SystemExit(f"{path} exists; give an empty --work folder")
    result: dict = {"subjects": subjects, "like": args.like, "seed": args.seed, "load_before": load_average()}
    print(f"\n== N = {subjects:,}: synth (not timed)", flush=True)
    made = subprocess.run(
        [
            SDTMIFY,
            "synth",
            "--like",
            args.like,
            "--subjects",
            str(subjects),
            "--out",
            str(study),
            "--seed",
            str(args.seed),
        ],
        capture_output=True,
        text=True,
    )
    if made.returncode:
        raise SystemExit(f"sdtmify synth failed ({made.returncode}): {made.stderr}")
    result["source_rows"] = json.loads((study / "synth.json").read_text(encoding="utf-8"))["rows"]

    print(f"== N = {subjects:,}: build (fresh process, stage log on)", flush=True)
    env = {**os.environ, "SDTMIFY_STAGE_LOG": str(log)}
    env.pop("SDTMIFY_HOME", None)
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    result["jobs"] = args.jobs
    run = measured([SDTMIFY, "build", "--study", str(study), "--out", str(built), *jobs], env, args.max_memory_gb)
    stages, died_in = stage_table(log)
    oom = out_of_memory(run["exit_code"], run["stderr"])
    status = "ok" if run["exit_code"] in (0, 1) else "out of memory" if oom else "failed"
    build = {key: run[key] for key in ("exit_code", "wall", "cpu", "peak_rss", "tree_peak_rss", "tree_peak_pss")}
    build["processes"], build["tree_peak_parts"] = run["processes"], run["tree_peak_parts"]
    build["tree_samples"] = run["tree_samples"]
    # the stage meter resets the kernel's high-water mark at each stage (so a stage's peak is its own), which
    # also resets what wait4 reports: the process's peak is the highest of the stages' and the final one
    build["peak_rss"] = max([run["peak_rss"], *(s["peak_rss"] for s in stages.values())])
    build.update(status=status, died_in=died_in if status != "ok" else None, stages=stages)
    if status != "ok":
        build["stderr_tail"] = run["stderr"][-2000:]
    # the second lane's stages overlap the first process's (its "wait for lane 2" holds the overlap): their
    # wall is shown, not added; CPU adds up across processes (wait4 counts the waited-for child's)
    marked_wall = sum(s["wall"] for name, s in stages.items() if not name.endswith(LANE2))
    marked_cpu = sum(s["cpu"] for s in stages.values())
    build["other"] = {"wall": round(run["wall"] - marked_wall, 2), "cpu": round(run["cpu"] - marked_cpu, 2)}
    result["build"] = build

    if status == "ok":
        print(f"== N = {subjects:,}: I/O floor (fresh process)", flush=True)
        worker = measured(
            [sys.executable, __file__, "--floor-worker", str(study), str(built), str(floor)], None, args.max_memory_gb
        )
        if worker["exit_code"] == 0:
            numbers = json.loads(worker["stdout"].strip().splitlines()[-1])
            wall = numbers["read"]["wall"] + numbers["write"]["wall"]
            cpu = numbers["read"]["cpu"] + numbers["write"]["cpu"]
            result["floor"] = {**numbers, "wall": round(wall, 2), "cpu": round(cpu, 2), "peak_rss": worker["peak_rss"]}
            add_ratios(result)
        else:
            oom = out_of_memory(worker["exit_code"], worker["stderr"])
            status_text = "out of memory" if oom else f"failed ({worker['exit_code']})"
            result["floor"] = {"status": status_text, "stderr_tail": worker["stderr"][-2000:]}
    result["load_after"] = load_average()
    if not args.keep:
        for path in (study, built, floor):
            shutil.rmtree(path, ignore_errors=True)
    return result


def add_ratios(result: dict) -> None:
    """Build over floor. The floor writes frames reloaded from the XPT files (object columns), which can be
    slower than the build's own writer stages; the tight floor takes, for writing, whichever is less."""
    build, floor = result["build"], result["floor"]
    written = {
        key: sum(
            build["stages"].get(name + lane, {}).get(key, 0.0)
            for name in ("xpt", "dataset-json")
            for lane in ("", LANE2)
        )
        for key in ("wall", "cpu")
    }
    tight = {key: floor["read"][key] + min(floor["write"][key], written[key]) for key in ("wall", "cpu")}
    floor["tight"] = {key: round(value, 2) for key, value in tight.items()}
    result["ratio"] = {key: round(build[key] / floor[key], 2) for key in ("wall", "cpu")}
    result["ratio_tight"] = {key: round(build[key] / tight[key], 2) for key in ("wall", "cpu")}


def rebuild(args, work: Path) -> dict:
    """``sdtmify build --study LIKE`` twice into a scratch folder; the second run's figures."""
    out = work / "rebuild"
    env = {k: v for k, v in os.environ.items() if k != "SDTMIFY_STAGE_LOG"}
    first = measured([SDTMIFY, "build", "--study", args.like, "--out", str(out)], env)
    second = measured([SDTMIFY, "build", "--study", args.like, "--out", str(out)], env)
    shutil.rmtree(out, ignore_errors=True)
    keep = ("exit_code", "wall", "cpu", "peak_rss")
    return {"first": {k: first[k] for k in keep}, "second": {k: second[k] for k in keep}, "load": load_average()}


# --- printing ------------------------------------------------------------------------------------------


def _sampled(build: dict) -> str:
    """How the tree was sampled: runs before the sampler counted its PSS readings said "every 0.1 s"."""
    counts = build.get("tree_samples")
    if not counts:
        return "sampled every 0.1 s"
    return f"PSS read {counts['pss']} times in {counts['pss_seconds']:.1f} s (RSS {counts['rss']} times)"


def _gb(value: int) -> str:
    return f"{value / GB:.2f} GB"


def table(result: dict) -> str:
    build = result["build"]
    rows = result.get("source_rows", {})
    lines = [
        f"N = {result['subjects']:,} subjects{' (--jobs ' + str(result['jobs']) + ')' if result.get('jobs') else ''} ({rows.get('labs', 0):,} lab rows, "
        f"{sum(rows.values()):,} source rows); load {result['load_before']} -> {result['load_after']}",
        f"{'stage':<21} {'wall s':>9} {'CPU s':>9} {'peak RSS':>10}",
    ]
    lane2 = sorted(name for name in build["stages"] if name.endswith(LANE2))
    for name in (*STAGES, *sorted(set(build["stages"]) - set(STAGES) - set(lane2)), *lane2):
        stage = build["stages"].get(name)
        if stage is None and any(other.startswith(name + LANE2) for other in lane2):
            continue  # this stage ran in the second lane only
        if stage is None:
            text = "OUT OF MEMORY here" if build.get("died_in") and name in build["died_in"] else "-"
            lines.append(f"{name:<21} {text:>9}")
            continue
        mark = " (process peak)" if stage["peak_scope"] == "process" else ""
        if build["status"] != "ok" and (build.get("died_in") or "").startswith(name):
            mark += f" <- {build['status'].upper()} here"
        lines.append(f"{name:<21} {stage['wall']:>9.2f} {stage['cpu']:>9.2f} {_gb(stage['peak_rss']):>10}{mark}")
    lines.append(f"{'other':<21} {build['other']['wall']:>9.2f} {build['other']['cpu']:>9.2f}")
    verdict = "" if build["status"] == "ok" else f"  {build['status'].upper()} in {build.get('died_in') or '?'}"
    lines.append(
        f"{'build total':<21} {build['wall']:>9.2f} {build['cpu']:>9.2f} {_gb(build['peak_rss']):>10}"
        f"  exit {build['exit_code']}{verdict}"
    )
    if build.get("tree_peak_rss"):
        lines.append(
            f"{'tree peak':<21} {'':>9} {'':>9} {_gb(build['tree_peak_pss']):>10}  PSS summed over "
            f"{build.get('processes', 1)} process(es), {_sampled(build)} (RSS sum {_gb(build['tree_peak_rss'])})"
            + (
                f"; at the peak: {' + '.join(_gb(part) for part in build['tree_peak_parts'])}"
                if len(build.get("tree_peak_parts", [])) > 1
                else ""
            )
        )
    if lane2:
        lines.append(f"  ({', '.join(lane2)}: run in a second process beside the first's; wall not added)")
    floor = result.get("floor")
    if floor and "read" in floor:
        lines.append(f"{'floor: read':<21} {floor['read']['wall']:>9.2f} {floor['read']['cpu']:>9.2f}")
        lines.append(f"{'floor: write':<21} {floor['write']['wall']:>9.2f} {floor['write']['cpu']:>9.2f}")
        lines.append(f"{'floor total':<21} {floor['wall']:>9.2f} {floor['cpu']:>9.2f} {_gb(floor['peak_rss']):>10}")
        tight = floor["tight"]
        lines.append(
            f"{'tight floor':<21} {tight['wall']:>9.2f} {tight['cpu']:>9.2f}  (write: the less of floor / build)"
        )
        lines.append(
            f"build / floor: wall {result['ratio']['wall']:.2f}x, CPU {result['ratio']['cpu']:.2f}x; "
            f"build / tight floor: wall {result['ratio_tight']['wall']:.2f}x, CPU {result['ratio_tight']['cpu']:.2f}x"
        )
        for note in floor["write"]["skipped"]:
            lines.append(f"  floor note: {note}")
    elif floor:
        lines.append(f"floor: {floor['status']}")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--floor-worker":
        print(json.dumps(floor_worker(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))))
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--show":  # the table of a saved result, ratios recomputed
        saved = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
        for result in saved if isinstance(saved, list) else [saved]:
            build = result["build"]
            if build["status"] == "failed" and out_of_memory(build["exit_code"], build.get("stderr_tail", "")):
                build["status"] = "out of memory"
            if build["status"] != "ok" and not build.get("died_in"):  # a log without error records
                logged = [name for name in STAGES if name in build["stages"]]
                build["died_in"] = f"{logged[-1]} (the last stage logged)" if logged else None
            if "read" in result.get("floor", {}):
                add_ratios(result)
            print(table(result))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", default="1000,10000", help="comma-separated N (default 1000,10000)")
    parser.add_argument("--like", default="NCI84", help="template study (default NCI84)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "scale-{N}.json"))
    parser.add_argument("--work", type=Path, help="scratch folder (default: a new one under /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the synthetic studies and outputs")
    parser.add_argument("--max-memory-gb", type=float, help="address-space cap of each measured process")
    parser.add_argument("--rebuild", action="store_true", help="also time a second build of --like itself")
    parser.add_argument("--jobs", type=int, help="sdtmify build --jobs (default: the build's own default)")
    args = parser.parse_args()
    counts = [int(n.replace("_", "")) for n in args.subjects.split(",") if n.strip()]
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_scale."))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        if args.rebuild:
            again = rebuild(args, work)
            print(
                f"{args.like} rebuild (second run): {again['second']['wall']:.2f} s wall, "
                f"{again['second']['cpu']:.2f} s CPU, peak {_gb(again['second']['peak_rss'])}; load {again['load']}"
            )
        for subjects in counts:
            result = run_one(subjects, args, work)
            if args.rebuild:
                result["rebuild"] = again
            results.append(result)
            print(table(result), flush=True)
            target = Path(args.json.replace("{N}", str(subjects)))
            target.parent.mkdir(parents=True, exist_ok=True)
            body = results if "{N}" not in args.json else result
            target.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
            print(f"-> {target}", flush=True)
    finally:
        if args.work is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
