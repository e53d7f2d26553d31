"""SUPPxx: collected values without a standard variable (SDTMIG 3.4 section 8.4)."""

from __future__ import annotations

import pandas as pd

QNAM_MAX, QLABEL_MAX = 8, 40


class QualifierError(ValueError):
    """A supplemental qualifier whose QNAM or QLABEL breaks SDTMIG 3.4 8.4.1; ``qnam`` names it."""

    def __init__(self, qnam: str, message: str):
        super().__init__(message)
        self.qnam = qnam


def _as_text(values: pd.Series) -> pd.Series:
    """IDVARVAL is text: 3.0 -> "3"."""
    if values.dtype == "float64":
        return values.astype(str).str.replace(r"\.0$", "", regex=True).where(values.notna(), "")
    return values.astype(str)


def supplemental_qualifiers(
    parent: pd.DataFrame,
    domain: str,
    values: dict[str, pd.Series],
    labels: dict[str, str | None],  # a missing label is refused here, naming the QNAM
    origins: dict[str, str],
    evaluators: dict[str, str],
    idvar: str | None,
) -> pd.DataFrame:
    """One SUPPxx record per parent record and QNAM with a non-blank value (SDTMIG 3.4 8.4.1).

    RDOMAIN is the parent domain; IDVAR/IDVARVAL identify the parent record (--SEQ; blank for DM,
    where USUBJID alone identifies it); QNAM <= 8 and QLABEL <= 40 characters; QORIG the origin;
    QEVAL who evaluated an assessed value (blank for collected data)."""
    pieces = []
    for qnam, value in values.items():
        label = labels.get(qnam) or ""
        if not label:
            raise QualifierError(
                qnam, f"{domain} qualifier {qnam} needs a 'label' (QLABEL, at most {QLABEL_MAX} characters)"
            )
        if len(qnam) > QNAM_MAX or len(label) > QLABEL_MAX:
            raise QualifierError(
                qnam,
                f"QNAM must be at most {QNAM_MAX} and QLABEL at most {QLABEL_MAX} "
                f"characters; label {label!r} has {len(label)}",
            )
        text = value.astype(str)
        keep = text.str.strip() != ""
        piece = pd.DataFrame(
            {
                "STUDYID": parent.loc[keep, "STUDYID"],
                "RDOMAIN": domain,
                "USUBJID": parent.loc[keep, "USUBJID"],
                "IDVAR": idvar or "",
                "IDVARVAL": _as_text(parent.loc[keep, idvar]) if idvar else "",
                "QNAM": qnam,
                "QLABEL": label,
                "QVAL": text[keep],
                "QORIG": origins[qnam],
                "QEVAL": evaluators.get(qnam, ""),
                "SRCTABLE": parent.loc[keep, "SRCTABLE"],
                "SRCROW": parent.loc[keep, "SRCROW"],
            }
        )
        pieces.append(piece)
    columns = [
        "STUDYID",
        "RDOMAIN",
        "USUBJID",
        "IDVAR",
        "IDVARVAL",
        "QNAM",
        "QLABEL",
        "QVAL",
        "QORIG",
        "QEVAL",
        "SRCTABLE",
        "SRCROW",
    ]
    if not pieces:
        return pd.DataFrame(columns=columns)
    supp = pd.concat(pieces, ignore_index=True)[columns]
    order = pd.to_numeric(supp["IDVARVAL"], errors="coerce")
    supp = supp.assign(_order=order).sort_values(["USUBJID", "_order", "QNAM"], kind="mergesort")
    return supp.drop(columns="_order").reset_index(drop=True)
