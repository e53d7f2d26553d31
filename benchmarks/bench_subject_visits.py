"""SV speed: ``derive.visits.subject_visits`` on NCI84's built domains tiled to many subjects.

    .venv/bin/python benchmarks/bench_subject_visits.py [--copies 60]

NCI84 is built once (SDTM only, in memory); every domain with VISITNUM is then copied ``--copies``
times, copy k's subjects renamed USUBJID-k (60 copies of NCI84's 84 subjects: 5,040 subjects), and
SV is derived from the copies. Reported: subjects, visit records read, SV records, wall and CPU
seconds of the derivation alone. The last line is JSON with every number.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sdtmify.derive import visits  # noqa: E402
from sdtmify.mapping.engine import SdtmBuilder  # noqa: E402
from sdtmify.mapping.terminology import CTRecoder  # noqa: E402
from sdtmify.study import load_study  # noqa: E402


def tiled(frames: dict[str, pd.DataFrame], copies: int) -> dict[str, pd.DataFrame]:
    """Each frame ``copies`` times over, copy k's USUBJID suffixed with -k."""
    out = {}
    for name, frame in frames.items():
        pieces = [frame.assign(USUBJID=frame["USUBJID"] + f"-{k}") for k in range(copies)]
        out[name] = pd.concat(pieces, ignore_index=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=60, help="copies of NCI84's subjects (60: 5,040 subjects)")
    args = parser.parse_args()
    builder = SdtmBuilder(load_study(ROOT / "mappings" / "NCI84"), CTRecoder.load())
    domains = builder.build()
    frames = {n: b.frame for n, b in domains.items() if "VISITNUM" in b.frame and n not in ("SV", "TV")}
    frames = tiled(frames, args.copies)
    subjects = pd.concat([f["USUBJID"] for f in frames.values()]).nunique()
    records = sum(len(f) for f in frames.values())
    wall, cpu = time.perf_counter(), time.process_time()
    sv = visits.subject_visits(frames, builder.schedule)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"{subjects} subjects, {records} records with a visit -> {len(sv)} SV records: {wall:.2f} s ({cpu:.2f} s CPU)"
    )
    numbers = {"subjects": int(subjects), "records": records, "sv": len(sv), "seconds": wall, "cpu_seconds": cpu}
    print(json.dumps(numbers))


if __name__ == "__main__":
    main()
