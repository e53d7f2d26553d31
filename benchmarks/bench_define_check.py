"""define.xml <-> XPT consistency check speed on a large LB, split into reading the XPT and checking it.

    .venv/bin/python benchmarks/bench_define_check.py [--rows 1000000]

Builds a deterministic LB of ``--rows`` records (sorted by its keys STUDYID, USUBJID, LBTESTCD, LBDTC;
LBTESTCD in a 12-term codelist; LBORRES and LBSTRESN with value-level metadata per LBTESTCD), writes it
with sdtmify's XPT writer and its define.xml, then times ``sdtmify.readers.read_dataset`` and the checks
of ``sdtmify.validate.define_check`` (labels, lengths, types, order, key order and uniqueness, codelist
values including value-level ones) on the records already read. Prints one line per step and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sdtmify.datasets import BuiltDataset, Bundle  # noqa: E402
from sdtmify.metadata.model import (  # noqa: E402
    CodeList,
    CodeListItem,
    Condition,
    Dataset,
    StudyMetadata,
    ValueLevel,
    Variable,
)

TESTS = ["ALB", "ALT", "AST", "BILI", "CREAT", "CXCL10", "HGB", "IFNG", "NEUT", "PLAT", "TNF", "WBC"]


def lb_frame(rows: int) -> pd.DataFrame:
    per_subject = 600
    subjects = max(1, rows // per_subject)
    index = np.arange(rows)
    subject = np.minimum(index // per_subject, subjects - 1)
    within = index - subject * per_subject
    test = within % len(TESTS)
    visit = within // len(TESTS)
    frame = pd.DataFrame(
        {
            "STUDYID": "BENCH",
            "DOMAIN": "LB",
            "USUBJID": pd.Series(subject).map("BENCH-{:06d}".format).to_numpy(),
            "LBSEQ": (within + 1).astype(float),
            "LBTESTCD": np.array(TESTS)[test],
            "LBORRES": pd.Series((index % 997).astype(str)).to_numpy(),
            "LBSTRESN": (index % 997).astype(float),
            "LBDTC": (pd.Timestamp("2004-01-01") + pd.to_timedelta(visit, unit="D")).strftime("%Y-%m-%d"),
        }
    )
    return frame.sort_values(["STUDYID", "USUBJID", "LBTESTCD", "LBDTC"], kind="stable").reset_index(drop=True)


def lb_metadata() -> Dataset:
    def var(name, label, type_, length, data_type, order, **kw):
        return Variable(name=name, label=label, type=type_, length=length, data_type=data_type, order=order, **kw)

    vlm = lambda name, data_type, length: tuple(  # noqa: E731
        ValueLevel(
            where=(Condition("LBTESTCD", (t,)),), name=name, label=f"{name} for {t}", data_type=data_type, length=length
        )
        for t in TESTS
    )
    return Dataset(
        name="LB",
        label="Laboratory Test Results",
        purpose="Tabulation",
        class_="FINDINGS",
        structure="One record per lab test per visit per subject",
        keys=("STUDYID", "USUBJID", "LBTESTCD", "LBDTC"),
        variables=(
            var("STUDYID", "Study Identifier", "Char", 5, "text", 1, core="Req"),
            var("DOMAIN", "Domain Abbreviation", "Char", 2, "text", 2, core="Req"),
            var("USUBJID", "Unique Subject Identifier", "Char", 12, "text", 3, core="Req"),
            var("LBSEQ", "Sequence Number", "Num", 8, "integer", 4, core="Req"),
            var(
                "LBTESTCD",
                "Lab Test or Examination Short Name.",
                "Char",
                6,
                "text",
                5,
                core="Req",
                codelist="CL.LBTESTCD",
            ),
            var(
                "LBORRES",
                "Result or Finding in Original Units",
                "Char",
                3,
                "text",
                6,
                value_levels=vlm("LBORRES", "text", 3),
            ),
            var(
                "LBSTRESN",
                "Numeric Result/Finding in Standard Units",
                "Num",
                8,
                "float",
                7,
                value_levels=vlm("LBSTRESN", "float", 8),
            ),
            var("LBDTC", "Date/Time of Specimen Collection", "Char", 10, "date", 8),
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    from lxml import etree

    from sdtmify.readers import read_dataset
    from sdtmify.validate.define_check import XptData, check_dataset
    from sdtmify.validate.define_xml import codelist_values as _codelists
    from sdtmify.validate.define_xml import item_groups as _groups
    from sdtmify.validate.define_xml import where_clauses as _where_clauses
    from sdtmify.writers.define import write_define_files
    from sdtmify.writers.xpt import write_xpt

    meta = lb_metadata()
    codelist = CodeList("CL.LBTESTCD", "Laboratory Test Code", items=tuple(CodeListItem(t) for t in TESTS))
    metadata = StudyMetadata("BENCH", "BENCH", "benchmark", "benchmark", datasets=(meta,), codelists=(codelist,))
    frame = lb_frame(args.rows)
    numbers = {}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        write_xpt(frame, meta, folder / "lb.xpt")
        write_define_files(
            Bundle("SDTM", {"LB": BuiltDataset(frame, meta)}, metadata), folder, SimpleNamespace(timestamp=None)
        )
        started = time.perf_counter()
        read, read_meta = read_dataset(folder / "lb.xpt")
        numbers["read_seconds"] = time.perf_counter() - started
        root = etree.parse(str(folder / "define.xml")).getroot()
        data = XptData(
            folder / "lb.xpt",
            "LB",
            read_meta.label,
            read,
            {v.name: v.label for v in read_meta.variables},
            {v.name: v.length for v in read_meta.variables},
            {v.name: v.type == "Num" for v in read_meta.variables},
        )
        started = time.perf_counter()
        messages = check_dataset(_groups(root)[0], data, _codelists(root), _where_clauses(root), "define.xml")
        numbers["check_seconds"] = time.perf_counter() - started
    numbers.update(
        rows=args.rows, messages=len(messages), check_records_per_second=args.rows / numbers["check_seconds"]
    )
    print(f"read {args.rows:,} LB records: {numbers['read_seconds']:.2f} s")
    print(
        f"check them against define.xml: {numbers['check_seconds']:.2f} s "
        f"({numbers['check_records_per_second']:,.0f} records/s), {len(messages)} messages"
    )
    print(json.dumps(numbers))


if __name__ == "__main__":
    main()
