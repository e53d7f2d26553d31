"""Lineage CSVs print key numbers as Python does, less a trailing ".0": one rule for every value."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sdtmify.writers.lineage import lineage_frame


def test_lineage_keys_print_whole_numbers_without_point_zero_and_keep_the_rest():
    values = [1.0, 12.0, 0.0, -0.0, -3.0, 2.5, 1e15, 1e16, 999999999999999.8, 1e-07, np.nan, np.inf]
    frame = pd.DataFrame({"USUBJID": ["S"] * len(values), "LBSEQ": values})
    lineage = pd.DataFrame({"SRCTABLE": ["labs"] * len(values), "SRCROW": np.arange(1.0, len(values) + 1)})
    table = lineage_frame(frame, ("USUBJID",), lineage)
    assert table["LBSEQ"].tolist() == [
        "1", "12", "0", "-0", "-3", "2.5", "1000000000000000", "1e+16", "999999999999999.8", "1e-07", "", "inf"
    ]  # fmt: skip
    assert table["SRCROW"].tolist() == list(range(1, len(values) + 1))
    assert list(table.columns) == ["USUBJID", "LBSEQ", "SRCTABLE", "SRCROW"]
