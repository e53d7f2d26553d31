"""What rules consult besides the data: the IG templates and controlled terminology.

Both come from the metadata package (``sdtmify.metadata.standards`` and ``sdtmify.metadata.ct``),
adapted here to the two questions the checks ask; nothing in this module copies IG metadata."""

from __future__ import annotations

import lzma
from functools import lru_cache
from pathlib import Path

import pandas as pd

from ..errors import InputError, Location, SdtmifyError
from ..metadata.model import CodeList, CodeListItem
from .data import Table


class IGStandards:
    """``dataset(table)`` -> the SDTMIG 3.4 / ADaMIG 1.3 template for that dataset, or None."""

    def __init__(self):
        from ..metadata import standards
        self._standards = standards
        self._cache: dict[tuple[str, str], object] = {}

    def dataset(self, table: Table):
        key = (table.name, table.domain_class)
        if key not in self._cache:
            self._cache[key] = self._lookup(table)
        return self._cache[key]

    def _lookup(self, table: Table):
        try:
            if table.standard == "SDTM":
                return self._standards.sdtm_dataset(table.name)
            cls = table.domain_class
            if cls == "BDS" and "CNSR" in table.frame.columns:
                cls = "TTE"
            if cls not in ("ADSL", "BDS", "TTE", "OCCDS"):
                return None
            return self._standards.adam_dataset(table.name, cls)
        except SdtmifyError:
            return None


def ig_standards() -> IGStandards | None:
    try:
        return IGStandards()
    except ImportError:
        return None


class Terminology:
    """Codelists by NCI code (C66742) or CDISC submission value of the codelist (NY)."""

    def __init__(self, codelists: dict[str, CodeList], source: str):
        self._by_key = codelists
        self.source = source

    def codelist(self, key: str) -> CodeList | None:
        return self._by_key.get(key.upper())


def read_nci_ct(path: Path) -> Terminology:
    """The NCI EVS tab-separated CT file (.txt or .txt.xz): codelist rows have no "Codelist Code"."""
    opener = lzma.open if path.suffix == ".xz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            frame = pd.read_csv(handle, sep="\t", dtype="str", keep_default_na=False)
    except (OSError, lzma.LZMAError, ValueError) as exc:
        raise InputError(f"cannot read CT file: {exc}", Location(str(path))) from exc
    needed = {"Code", "Codelist Code", "CDISC Submission Value"}
    if not needed <= set(frame.columns):
        raise InputError(f"not an NCI CDISC CT file (columns {', '.join(sorted(needed))} expected)",
                         Location(str(path)))
    heads = frame[frame["Codelist Code"] == ""]
    terms = frame[frame["Codelist Code"] != ""]
    grouped = {code: group for code, group in terms.groupby("Codelist Code", sort=False)}
    out: dict[str, CodeList] = {}
    for head in heads.itertuples(index=False):   # one iteration per codelist (~1,000), not per record
        group = grouped.get(head.Code)
        items = () if group is None else tuple(
            CodeListItem(coded_value=v, c_code=c) for v, c in zip(group["CDISC Submission Value"], group["Code"]))
        cl = CodeList(oid=f"CL.{head[4]}", name=head[3], c_code=head.Code,
                      extensible=head[2].strip().lower() == "yes", items=items)
        out[head.Code.upper()] = cl
        out.setdefault(head[4].upper(), cl)
    return Terminology(out, str(path))


def load_terminology(path: str | Path | None = None) -> Terminology | None:
    """CT to check against: ``path`` (a full NCI file) or the metadata package's shipped subset."""
    if path:
        return _cached_nci(str(Path(path).resolve()))
    try:
        from ..metadata.ct import load_ct
    except ImportError:
        return None
    try:
        ct = load_ct()
    except SdtmifyError:
        return None
    return _adapt(ct)


@lru_cache(maxsize=4)
def _cached_nci(path: str) -> Terminology:
    return read_nci_ct(Path(path))


def _adapt(ct) -> Terminology | None:
    """Wrap the metadata package's CT object (codelists as metadata.model.CodeList) by code and name."""
    codelists = getattr(ct, "codelists", None)
    if codelists is None:
        return None
    values = codelists.values() if isinstance(codelists, dict) else codelists
    out: dict[str, CodeList] = {}
    for cl in values:
        if not isinstance(cl, CodeList):
            continue
        if cl.c_code:
            out[cl.c_code.upper()] = cl
        out.setdefault(cl.oid.removeprefix("CL.").upper(), cl)
    return Terminology(out, "shipped CT subset") if out else None
