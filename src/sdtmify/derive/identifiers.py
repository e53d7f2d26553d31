"""Subject identifiers (SDTMIG 3.4 section 4.1.2)."""

from __future__ import annotations

import re

import pandas as pd


def usubjid(studyid: str, siteid: pd.Series, subjid: pd.Series, template: str) -> pd.Series:
    """USUBJID: unique across all studies of the submission (SDTMIG 3.4 section 4.1.2, DM USUBJID).

    Built from the study's documented template, e.g. ``{STUDYID}-{SITEID}-{SUBJID}``."""
    parts = {
        "STUDYID": pd.Series(studyid, index=subjid.index, dtype=object),
        "SITEID": siteid.astype(str),
        "SUBJID": subjid.astype(str),
    }
    pieces = re.split(r"\{(STUDYID|SITEID|SUBJID)\}", template)
    result = pd.Series("", index=subjid.index, dtype=object)
    for i, piece in enumerate(pieces):
        result = result + (parts[piece] if i % 2 else piece)
    return result.astype(str)
