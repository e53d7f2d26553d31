"""``seq``: --SEQ, the record's number within its subject."""

from __future__ import annotations

from ... import yamlio
from ...derive import sequence
from ..state import LINEAGE, BuildState, DomainBuild, doc
from .base import Derivation, register


def derive_var_seq(state: BuildState, build: DomainBuild, params: dict, path: list) -> None:
    """--SEQ = 1, 2, ... per USUBJID in the order of the domain's ``keys`` (STUDYID, USUBJID and --SEQ
    left out), or of the variables in ``order`` (SRCROW: the raw record order); ties keep the source
    order (SDTMIG 3.4 section 4.1.5: --SEQ uniquely identifies a record within a subject)."""
    prefix, mapping = build.name, build.mapping
    explicit = params.get("order")
    order = explicit or [k for k in mapping.document.get("keys", []) if k not in ("STUDYID", "USUBJID", f"{prefix}SEQ")]
    missing = [k for k in order if k not in build.frame]
    if missing:
        suggestion = yamlio.suggest(missing[0], [c for c in build.frame.columns if c not in LINEAGE])
        if not explicit:  # the order comes from 'keys': say so there
            raise mapping.error(["keys"], f"key {missing[0]} is not a variable of {prefix}{suggestion}")
        raise mapping.error(path, f"cannot order by '{missing[0]}': not a variable of {prefix}{suggestion}")
    build.frame[f"{prefix}SEQ"] = sequence.sequence_number(build.frame, [*order, "SRCROW"])
    build.note(
        f"{prefix}SEQ",
        "Derived",
        f"{doc(sequence.sequence_number)} Order: {', '.join(order) or 'source row'}.",
        f"{prefix}SEQ",
    )


DERIVATION = register(
    Derivation(
        "seq",
        derive_var_seq,
        "Records are numbered 1, 2, ... within each subject, in the order of the domain's key variables "
        "or of the variables the mapping names.",
        rank=90,
        bare=True,
        schema={
            "type": "object",
            "additionalProperties": False,
            "properties": {"order": {"type": "array", "items": {"type": "string"}}},
        },
    )
)
