"""What rules consult besides the data: the IG templates and controlled terminology.

Both come from the metadata package (``sdtmify.metadata.standards`` and ``sdtmify.metadata.ct``),
adapted here to the two questions the checks ask; nothing in this module copies IG metadata."""

from __future__ import annotations

from pathlib import Path

from ..errors import SdtmifyError, SpecError
from ..metadata import standards
from ..metadata.ct import load_ct
from ..metadata.model import CodeList
from .data import Table


class IGStandards:
    """``dataset(table)`` -> the SDTMIG 3.4 / ADaMIG 1.3 template for that dataset, or None."""

    def __init__(self) -> None:
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
        except SpecError:
            raise  # the shipped IG metadata cannot be read: stop, never skip the rules that need it
        except SdtmifyError:
            return None  # a dataset the IG does not define


def ig_standards() -> IGStandards:
    return IGStandards()


class CodelistLookup:
    """Codelists by short name (NY), OID (CL.NY) or NCI code (C66742), from ``sdtmify.metadata.ct``;
    None for a codelist the terminology does not hold (the rule then has nothing to check)."""

    def __init__(self, ct):
        self._ct = ct
        self.source = getattr(ct, "source", "") or "CDISC CT"

    def codelist(self, key: str) -> CodeList | None:
        if not self._ct.has_codelist(key):
            return None
        return self._ct.codelist(key)

    def instrument_codelist(self, category_codelist: str, value: str, suffix: str) -> str | None:
        """The codelist of an instrument named by a category term: CDISC CT names each instrument's
        test-code codelist by the category term's CDISC synonym plus a suffix (CCCAT term KPS SCALE,
        synonym KPSS01 -> KPSS01TC). None when ``value`` is no term of ``category_codelist``."""
        if not self._ct.has_codelist(category_codelist):
            return None
        term = self._ct.term_details(category_codelist, value)
        if term is None:
            return None
        names = [synonym + suffix for synonym in term.synonyms]
        return next((n for n in names if self._ct.has_codelist(n)), names[0] if names else None)


def load_terminology(path: str | Path | None = None) -> CodelistLookup:
    """CT to check against: ``path`` (a full NCI EVS package, --ct) or the shipped subset. Either one
    failing to load stops the run (exit 2): the CT rules are never skipped for want of terminology."""
    return CodelistLookup(load_ct(path))
