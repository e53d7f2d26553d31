"""Regenerate the curated CT subset (specs/ct/*.tsv) from the full CDISC CT packages.

    .venv/bin/python tools/extract_ct_subset.py [--reference ../shared] [--out specs/ct]

Reads specs/ct/subset.yaml (packages, their source files under the reference folder, and the
codelists to keep) and writes, for each package, every term of those codelists in the NCI EVS text
layout, in the source's order. The subset is derived, never typed: rerun after editing subset.yaml.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from sdtmify.errors import MetadataError
from sdtmify.metadata.ct import read_cdisc_json, read_nci_text, subset_config, write_nci_text

ROOT = Path(__file__).resolve().parents[1]


def read_package(path: Path) -> pd.DataFrame:
    """A full CT package: NCI text (.txt, .txt.xz) or CDISC Library JSON (.json)."""
    return read_cdisc_json(path) if path.suffix == ".json" else read_nci_text(path)


def select_codelists(terms: pd.DataFrame, codelists: list[str], source: str) -> pd.DataFrame:
    """The codelist rows named (by short name) in ``codelists`` and all their terms, in source order."""
    heads = terms[(terms["codelist"] == "") & terms["value"].isin(codelists)]
    missing = sorted(set(codelists) - set(heads["value"]))
    if missing:
        raise MetadataError(f"codelists {', '.join(missing)} are not in {source}")
    codes = set(heads["code"])
    keep = (terms["code"].isin(codes) & (terms["codelist"] == "")) | terms["codelist"].isin(codes)
    chosen = terms[keep].copy()
    # a codelist head followed by its terms, codelists in the source's order
    first = {code: position for position, code in enumerate(heads["code"])}
    chosen["_group"] = chosen["codelist"].where(chosen["codelist"] != "", chosen["code"]).map(first)
    chosen["_head"] = chosen["codelist"] != ""
    chosen["_row"] = range(len(chosen))
    return chosen.sort_values(["_group", "_head", "_row"], kind="stable").drop(columns=["_group", "_head", "_row"])


def extract(reference: Path, config: dict) -> dict[str, pd.DataFrame]:
    """File name -> subset frame, for every package of ``config``."""
    result = {}
    for package in config["packages"]:
        source = reference / package["source"]
        terms = read_package(source)
        result[package["file"]] = select_codelists(terms, list(package["codelists"]), str(source))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reference",
        type=Path,
        default=ROOT.parent / "shared",
        help="folder holding reference/ct/... (default: ../shared)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "specs" / "ct", help="where the subset files go")
    args = parser.parse_args(argv)
    config = subset_config(ROOT / "specs" / "ct")
    try:
        subsets = extract(args.reference, config)
    except MetadataError as exc:
        print(f"extract_ct_subset: {exc}", file=sys.stderr)
        return 2
    for name, frame in subsets.items():
        write_nci_text(frame, args.out / name)
        heads = int((frame["codelist"] == "").sum())
        print(f"{args.out / name}: {heads} codelists, {len(frame) - heads} terms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
