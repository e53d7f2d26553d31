"""CT recoding for the mapping language (the ``ct:`` modifier) on top of metadata.ct.

Raw collected text becomes the CDISC submission value (through synonyms and the NCI preferred
term); values CT does not know are refused unless the YAML declares them as sponsor terms with
``extend:``, which only an extensible codelist accepts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import yamlio
from ..errors import MetadataError
from ..metadata.ct import ControlledTerminology, load_ct


class CTRecoder:
    """The ``ct:`` modifier: raw values to submission values, with the sponsor terms a mapping declares
    (``extend:``) and errors that point at the mapping's YAML and the source rows."""

    def __init__(self, ct: ControlledTerminology):
        self.ct = ct

    @classmethod
    def load(cls, ct_file=None) -> CTRecoder:
        return cls(load_ct(ct_file))

    def recode(self, values: pd.Series, codelist: str, extend: dict, ctx, path) -> pd.Series:
        """The submission value of each raw value in ``codelist``; unmapped values are an error."""
        try:
            extensible = self.ct.is_extensible(codelist)
        except MetadataError:
            names = self.ct.codelist_names()
            raise ctx.error(
                [*path, "ct"],
                f"codelist '{codelist}' is not in the controlled terminology{yamlio.suggest(codelist, names)}",
            ) from None
        if extend and not extensible:
            raise ctx.error(
                [*path, "extend"],
                f"codelist {codelist} is not extensible; sponsor terms {', '.join(extend)} cannot be added",
            )
        # the column is hashed once: recoding works on its distinct values, spread back by position
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        every = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
        distinct = every[every != ""]
        recoded = self.ct.recode_values(codelist, distinct)
        declared = distinct.isin(list(extend)) & recoded.isna()
        recoded = recoded.where(~declared, distinct)
        unmapped = distinct[recoded.isna()]
        if len(unmapped):
            mask = values.isin(list(unmapped))
            shown = ", ".join(repr(v) for v in sorted(unmapped)[:5])
            raise ctx.error(
                [*path, "ct"],
                f"{shown} not in CT codelist {codelist} "
                f"({self.ct.codelist(codelist).c_code}) ({ctx.row_numbers(mask, 1)}); "
                f"map it to a submission value with 'map'" + (" or declare it with 'extend'" if extensible else ""),
            )
        table = dict(zip(distinct, recoded, strict=False))
        spread = every.map(table).astype(object).fillna("").to_numpy(dtype=object)
        return pd.Series(spread[codes], index=values.index, name=values.name, dtype=str)
