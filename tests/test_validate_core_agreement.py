"""Our findings agree with CDISC CORE's on the SAS-written CDISC pilot SDTM files.

For every CORE rule we implement (authority.core) that CORE could evaluate on the pilot (status
SUCCESS or ISSUE REPORTED), we flag the same number of records per dataset and every sample record
CORE lists. Differences we stand by are listed in JUSTIFIED with the counts on both sides and why."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sdtmify.validate.context import IGStandards
from sdtmify.validate.data import load_folder
from sdtmify.validate.engine import Context, run_rule
from sdtmify.validate.rules import load_rules

# CORE id -> {dataset: (our count, CORE's count)} and the reason we differ.
JUSTIFIED = {
    "CORE-000294": (
        {"TS": (3, 1)},
        "TS assumptions make AGEMIN and LENGTH ISO 8601 durations too: the pilot's '50 years' (AGEMIN) "
        "and '26 weeks' (LENGTH) are flagged by us; CORE checks a narrower parameter list (AGEMAX only).",
    ),
    "CORE-000238": (
        {"DM": (4, 0)},
        "CG0147 makes RFXENDTC the latest of EXSTDTC and EXENDTC. Four pilot subjects have a last EX record "
        "starting the day after RFXENDTC with no EXENDTC (e.g. 01-701-1133: EXSTDTC 2013-04-05, RFXENDTC "
        "2013-04-04); CORE compares EXENDTC only.",
    ),
    "CORE-000211": (
        {"SUPPDM": (1197, 963)},
        "CG0528 bars population flags from SUPPDM. CORE's list of population QNAMs omits EFFICACY "
        "(234 records: the efficacy population); we count it as the population flag it is.",
    ),
    "CORE-000741": (
        {"TS": (6, 33)},
        "FB1111 wants INTMODEL, INTTYPE and PCLAS in TS. CORE reports every TS record (33); we report one "
        "finding per missing parameter, and our rule checks the whole FDA TCG list (6 missing here).",
    ),
}
# CORE findings on datasets that are not in ../shared/reference/xpt/sdtm (CORE was run with CM and MH
# files we do not have) are not compared.


@pytest.fixture(scope="module")
def pilot(shared):
    tables = load_folder(shared / "reference" / "xpt" / "sdtm", "SDTM")
    return Context(tables=tables, standards=IGStandards())


@pytest.fixture(scope="module")
def core(shared):
    folder = shared / "reference" / "core"
    status = {
        r["core_id"]: r["status"] for r in json.loads((folder / "pilot-sdtmig-3.4-rules.json").read_text())["rules"]
    }
    found: dict = {}
    for issue in json.loads((folder / "pilot-sdtmig-3.4-findings.json").read_text())["issues"]:
        if status.get(issue["core_id"]) == "ISSUE REPORTED":
            rows = [s["row"] for s in issue["sample"] if "row" in s]
            found.setdefault(issue["core_id"], {})[issue["dataset"]] = (issue["issues"], rows)
    return status, found


def ours_by_core_id(ctx) -> dict:
    """CORE id -> {dataset: (count, flagged 1-based rows or None for dataset-level findings)}."""
    out: dict = {}
    for rule in load_rules():
        core_id = rule.authority.get("core")
        if not core_id or rule.standard == "ADaM":
            continue
        _, hits = run_rule(rule, ctx)
        per = out.setdefault(core_id, {})
        for hit in hits:
            count, rows = per.get(hit.dataset, (0, set()))
            if hit.mask is not None:
                rows = rows | set((np.flatnonzero(hit.mask) + 1).tolist())
            per[hit.dataset] = (count + hit.count, rows)
    return out


def test_pilot_findings_agree_with_core(pilot, core):
    status, found = core
    ours = ours_by_core_id(pilot)
    compared, mismatches = 0, []
    for core_id, per in sorted(ours.items()):
        if status.get(core_id) not in ("SUCCESS", "ISSUE REPORTED"):
            continue
        compared += 1
        theirs = {ds: v for ds, v in found.get(core_id, {}).items() if ds in pilot.tables}
        our_counts = {ds: c for ds, (c, _) in per.items() if c}
        their_counts = {ds: c for ds, (c, _) in theirs.items()}
        if core_id in JUSTIFIED:
            expected = JUSTIFIED[core_id][0]
            assert {ds: (our_counts.get(ds, 0), their_counts.get(ds, 0)) for ds in expected} == expected, core_id
            continue
        if our_counts != their_counts:
            mismatches.append(f"{core_id}: ours {our_counts} CORE {their_counts}")
            continue
        for ds, (_, sample) in theirs.items():
            rows = per[ds][1]
            if rows:  # row-level: every record CORE shows is one we flag
                missing = set(sample) - rows
                if missing:
                    mismatches.append(f"{core_id} {ds}: CORE sample rows {sorted(missing)} not flagged by us")
    assert not mismatches, "\n".join(mismatches)
    assert compared >= 100


def test_agreement_covers_every_rule_core_reported_issues_for(pilot, core):
    """Each CORE rule with findings on files we have is one we implement (or is justified)."""
    status, found = core
    implemented = {r.authority.get("core") for r in load_rules()}
    reported = {cid for cid, per in found.items() if any(ds in pilot.tables for ds in per)}
    not_ours = sorted(reported - implemented)
    # CORE-000767 (FAOBJ vs --DECOD via RELREC) needs an FA dataset the pilot does not have: CORE's own
    # finding is an artefact of RELREC.FAOBJ being "Not in dataset". CORE-000793 restates CORE-000321
    # (FB1601 vs FB3201), which we implement as SD1219.
    assert not_ours == ["CORE-000767", "CORE-000793"]
