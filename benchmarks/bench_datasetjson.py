"""Dataset-JSON 1.1 write speed: .json and .ndjson of the same LB-shaped frame as bench_xpt.py.

    .venv/bin/python benchmarks/bench_datasetjson.py [--rows 3000000]

Each format is written in its own process (see bench_xpt.py for the frame and the memory columns);
MB/s is the size of the JSON written over the seconds of the write alone."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_xpt import report, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--dir", type=Path, help="write in a temporary folder under DIR (e.g. /dev/shm)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_datasetjson.", dir=args.dir))
    results = {}
    try:
        for suffix in (".ndjson", ".json"):
            result = run("datasetjson", args.rows, folder / f"lb{suffix}")
            result["writer"] = f"dataset-json {suffix}"
            results[suffix] = result
            print(report(result), flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps({"rows": args.rows, "results": results}))


if __name__ == "__main__":
    main()
