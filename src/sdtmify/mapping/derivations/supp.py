"""``supp``: the SUPP-- dataset of a domain's supplemental qualifiers."""

from __future__ import annotations

from ...derive import supp as supp_rules
from ..state import LINEAGE, BuildState, DomainBuild, VariableNote, doc
from .base import Derivation, register


def supp_path(document: dict, qnam: str) -> list:
    """Where a supplemental qualifier is declared: ``supp.QNAM``, or in the first part that declares it."""
    if qnam in (document.get("supp") or {}):
        return ["supp", qnam]
    for index, part in enumerate(document.get("parts") or []):
        if qnam in (part.get("supp") or {}):
            return ["parts", index, "supp", qnam]
    return ["supp"]


def derive_supp_domain(state: BuildState, build: DomainBuild, params: dict, path: list) -> DomainBuild | None:
    """SUPP--: one record per parent record and qualifier (QNAM) with a value, IDVAR --SEQ (none for
    DM), QLABEL, QORIG and QEVAL as the mapping's ``supp:`` declares (SDTMIG 3.4 section 8.4)."""
    if not build.supp_values:
        return None
    idvar = None if build.name == "DM" else f"{build.name}SEQ"
    if idvar and idvar not in build.frame:
        raise build.mapping.error(
            ["supp"], f"SUPP{build.name} needs {idvar} to point at its parent records; add 'seq' to 'derive:'"
        )
    labels = {q: n.label for q, n in build.supp_notes.items()}
    origins = {q: n.origin for q, n in build.supp_notes.items()}
    evaluators = {q: n.qeval for q, n in build.supp_notes.items()}
    try:
        frame = supp_rules.supplemental_qualifiers(
            build.frame, build.name, build.supp_values, labels, origins, evaluators, idvar
        )
    except supp_rules.QualifierError as error:
        raise build.mapping.error(supp_path(build.mapping.document, error.qnam), str(error)) from None
    result = DomainBuild(name=f"SUPP{build.name}", frame=frame, mapping=build.mapping)
    for column in frame.columns:
        if column in LINEAGE:
            continue
        if column in ("STUDYID", "RDOMAIN", "IDVAR", "QNAM", "QLABEL", "QORIG", "QEVAL"):
            result.note(column, "Assigned")
        else:
            result.note(
                column,
                "Derived",
                f"{column} of the parent {build.name} record ({doc(supp_rules.supplemental_qualifiers)})",
                column,
            )
    result.notes["QVAL"] = VariableNote(origin="Collected")
    return result


DERIVATION = register(
    Derivation(
        "supp",
        derive_supp_domain,
        "Each supplemental qualifier with a value becomes one SUPP-- record pointing at its parent record by --SEQ.",
        phase="supp",
        declared=False,
    )
)
