"""The trial design domains a mapping declares with ``design:`` (TE, TA, TV from study.yaml; SE and SV
from the subjects' data), one builder per dataset, and the timing variables SE and SV get once
every domain is derived (SDTMIG 3.4 chapters 5 and 7)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..derive import epoch as epoch_rules
from ..derive import sequence, study_day, trial_design, visits
from .loader import DomainMapping
from .state import LINEAGE, BuildState, DomainBuild, doc


def _elements(state: BuildState, mapping: DomainMapping) -> pd.DataFrame:
    return trial_design.trial_elements(state.study.config["trial_design"])


def _arms(state: BuildState, mapping: DomainMapping) -> pd.DataFrame:
    return trial_design.trial_arms(state.study.config["trial_design"])


def _visits(state: BuildState, mapping: DomainMapping) -> pd.DataFrame:
    if state.schedule.empty:
        raise mapping.error(["design"], "TV needs a visit schedule under 'visits:' in study.yaml")
    return trial_design.trial_visits(state.schedule)


def _subject_elements(state: BuildState, mapping: DomainMapping) -> pd.DataFrame:
    dm = state.domains.get("DM")
    if dm is None or "ACTARMCD" not in dm.frame:
        raise mapping.error(["design"], "SE needs DM with the 'arm' derivation (ACTARMCD)")
    design = state.study.config["trial_design"]
    starts = {
        element["ETCD"]: state.resolve_date_rule(
            element["start"], ["trial_design", "elements", index, "start"], state.study.file, state.study.config
        )
        for index, element in enumerate(design["elements"])
    }
    frame = dm.frame.copy()
    if "RFPENDTC" not in frame:
        frame["RFPENDTC"] = ""
    se = trial_design.subject_elements(frame, design, starts)
    se["SRCTABLE"] = "DM"
    se["SRCROW"] = se["USUBJID"].map(dm.frame.set_index("USUBJID")["SRCROW"]).to_numpy()
    return se


def _subject_visits(state: BuildState, mapping: DomainMapping) -> pd.DataFrame:
    return visits.subject_visits({name: build.frame for name, build in state.domains.items()}, state.schedule)


# dataset -> (builder, the method text of its derived variables; None: Protocol, from study.yaml)
DESIGNS: dict[str, tuple[Callable[[BuildState, DomainMapping], pd.DataFrame], Callable | None]] = {
    "TE": (_elements, None),
    "TA": (_arms, None),
    "TV": (_visits, None),
    "SE": (_subject_elements, trial_design.subject_elements),
    "SV": (_subject_visits, visits.subject_visits),
}


def design_domain(state: BuildState, mapping: DomainMapping) -> DomainBuild:
    """The design dataset ``mapping`` declares, with STUDYID, DOMAIN, lineage and define.xml notes."""
    kind = mapping.document["design"]
    design = state.study.config.get("trial_design", {}) or {}
    if kind in ("TA", "TE", "SE") and not design.get("elements"):
        raise mapping.error(["design"], f"{kind} needs 'trial_design:' with arms and elements in study.yaml")
    builder, rule = DESIGNS[kind]
    frame = builder(state, mapping).copy()
    if "SRCTABLE" not in frame:
        frame["SRCTABLE"] = "study.yaml"
        frame["SRCROW"] = np.arange(1, len(frame) + 1)
    frame.insert(0, "STUDYID", state.studyid)
    frame.insert(1, "DOMAIN", kind)
    build = DomainBuild(name=kind, frame=frame, mapping=mapping)
    for column in frame.columns:
        if column in LINEAGE:
            continue
        if column in ("STUDYID", "DOMAIN"):
            build.note(column, "Assigned")
        elif rule is None:
            build.note(column, "Protocol")
        else:
            build.note(column, "Derived", doc(rule), column)
    return build


def subject_visit_timing(state: BuildState, sv: DomainBuild) -> None:
    """SVSTDY/SVENDY from DM.RFSTDTC (SDTMIG 3.4 section 4.4.4) and, when SE is built, the EPOCH of
    the visit's start (section 4.1.3.1)."""
    frame = sv.frame
    rfstdtc = state.dm_column("RFSTDTC", frame["USUBJID"])
    frame["SVSTDY"] = study_day.study_day(frame["SVSTDTC"], rfstdtc)
    frame["SVENDY"] = study_day.study_day(frame["SVENDTC"], rfstdtc)
    _note_study_days(sv, "SVSTDY", "SVENDY")
    if "SE" in state.domains:
        frame["EPOCH"] = epoch_rules.epoch(frame["USUBJID"], frame["SVSTDTC"], state.domains["SE"].frame)
        sv.note("EPOCH", "Derived", doc(epoch_rules.epoch), "EPOCH")


def subject_element_timing(state: BuildState, se: DomainBuild) -> None:
    """SESTDY/SEENDY from DM.RFSTDTC (SDTMIG 3.4 section 4.4.4) and SESEQ in element order."""
    frame = se.frame
    rfstdtc = state.dm_column("RFSTDTC", frame["USUBJID"])
    frame["SESTDY"] = study_day.study_day(frame["SESTDTC"], rfstdtc)
    frame["SEENDY"] = study_day.study_day(frame["SEENDTC"], rfstdtc)
    frame["SESEQ"] = sequence.sequence_number(frame, ["SESTDTC", "TAETORD"])
    _note_study_days(se, "SESTDY", "SEENDY")
    se.note("SESEQ", "Derived", f"{doc(sequence.sequence_number)} Order: SESTDTC, TAETORD.", "SESEQ")


def _note_study_days(build: DomainBuild, *names: str) -> None:
    """define.xml's origin and method of study days derived here, worded as the ``study_day`` step words
    them for every other domain."""
    for name in names:
        build.note(name, "Derived", f"{doc(study_day.study_day)} Reference: DM.RFSTDTC.", name)
