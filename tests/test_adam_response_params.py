"""admiralonco's response parameters on small hand-made RS sequences, one rule at a time.

Every expected value is derived by hand in the test's docstring from the written rule (RECIST 1.1
section 4.4, as docs/adam-language.md states it): days are counted from the first dose (TRTSDT, t = 0);
SD needs 42 days (``sd_min_days``); confirmation needs 28 days (``confirm_days``), at most one NE
between (``max_ne``), no SD between (``accept_sd: false``) and no PR after a CR."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sdtmify.adam import events, response, tte
from sdtmify.adam.dates import iso_to_sas_date

D0 = float(iso_to_sas_date(pd.Series(["2010-03-01"])).iloc[0])  # first dose of every subject
RULES = {"sd_min_days": 42, "confirm_days": 28, "max_ne": 1, "accept_sd": False}


def adsl(*subjects: str, deaths: dict[str, int] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame({"STUDYID": "S1", "USUBJID": list(subjects), "TRTSDT": D0})
    frame["DTHDT"] = frame["USUBJID"].map({s: D0 + t for s, t in (deaths or {}).items()}).astype("float64")
    return frame


def ovr(records: list[tuple[str, int, str]]) -> pd.DataFrame:
    """OVR records: (subject, days after the first dose, overall response)."""
    frame = pd.DataFrame(records, columns=["USUBJID", "t", "AVALC"])
    return pd.DataFrame(
        {
            "STUDYID": "S1",
            "USUBJID": frame["USUBJID"],
            "PARAMCD": "OVR",
            "AVALC": frame["AVALC"],
            "ADT": D0 + frame["t"].astype("float64"),
            "SRCDOM": "RS",
            "SRCVAR": "RSSTRESC",
            "SRCSEQ": np.arange(1, len(frame) + 1, dtype="float64"),
        }
    )


def t_of(value: float) -> int | None:
    return None if pd.isna(value) else int(value - D0)


def bor(records, subjects=("P1",), confirmation=False, cutoff=None, **rules):
    """{subject: (AVALC, t of ADT)} of derive_param_bor."""
    options = {**RULES, **rules}
    result = response.derive_param_bor(
        ovr(records),
        adsl(*subjects),
        source_paramcd="OVR",
        paramcd="CBOR" if confirmation else "BOR",
        confirmation=confirmation,
        no_assessment="MISSING",
        data_cutoff=None if cutoff is None else D0 + cutoff,
        **options,
    )
    return {row.USUBJID: (row.AVALC, t_of(row.ADT)) for row in result.itertuples()}


def rsp(records, subjects=("P1",), confirmation=False, cutoff=None, **rules):
    """{subject: (AVALC, t of ADT)} of derive_param_response (RSP, or CRSP when confirmed)."""
    options = {k: v for k, v in {**RULES, **rules}.items() if k != "sd_min_days"}
    result = response.derive_param_response(
        ovr(records),
        adsl(*subjects),
        source_paramcd="OVR",
        paramcd="CRSP" if confirmation else "RSP",
        confirmation=confirmation,
        data_cutoff=None if cutoff is None else D0 + cutoff,
        **options,
    )
    return {row.USUBJID: (row.AVALC, t_of(row.ADT)) for row in result.itertuples()}


def clinbenefit(records, subjects=("P1",), confirmation=False):
    """{subject: (AVALC, t of ADT)} of derive_param_clinbenefit from RSP (CB) or CRSP (CCB)."""
    data = ovr(records)
    code = "CRSP" if confirmation else "RSP"
    options = {k: v for k, v in RULES.items() if k != "sd_min_days"}
    responses = response.derive_param_response(
        data, adsl(*subjects), source_paramcd="OVR", paramcd=code, confirmation=confirmation, **options
    )
    result = response.derive_param_clinbenefit(
        pd.concat([data, responses], ignore_index=True),
        adsl(*subjects),
        source_paramcd="OVR",
        response_paramcd=code,
        paramcd="CCB" if confirmation else "CB",
        sd_min_days=42,
    )
    return {row.USUBJID: (row.AVALC, t_of(row.ADT)) for row in result.itertuples()}


# --- the confirmation interval ---------------------------------------------------------------------
def test_pr_confirmed_28_days_later_but_not_27():
    """PR at t = 56 and again 27 days later (t = 83): 27 < 28, so neither PR is confirmed; both count
    as SD (56 >= 42), and the confirmed BOR is SD at the first of them (t = 56); no confirmed response.
    The same PR again 28 days later (t = 84): confirmed, CBOR = PR at t = 56 and CRSP = Y at t = 56.
    Unconfirmed, both sequences give BOR = PR at t = 56 and RSP = Y at t = 56."""
    at27, at28 = [("P1", 56, "PR"), ("P1", 83, "PR")], [("P1", 56, "PR"), ("P1", 84, "PR")]
    assert bor(at27, confirmation=True) == {"P1": ("SD", 56)}
    assert rsp(at27, confirmation=True) == {"P1": ("N", None)}
    assert bor(at28, confirmation=True) == {"P1": ("PR", 56)}
    assert rsp(at28, confirmation=True) == {"P1": ("Y", 56)}
    assert bor(at27) == bor(at28) == {"P1": ("PR", 56)}
    assert rsp(at27) == {"P1": ("Y", 56)}


def test_a_response_at_the_start_of_the_sd_window_and_its_confirmation():
    """PR at t = 1 (the day after the first dose), PR at t = 28 (27 days later) and t = 29 (28 days
    later): the PR at t = 1 is confirmed by the one at t = 29, so CBOR = PR at t = 1 even though an
    SD there would be too early (1 < 42). Without the t = 29 assessment, the t = 1 and t = 28 PRs are
    unconfirmed, each counts as SD, and SD before day 42 is NE: CBOR = NE at t = 1."""
    assert bor([("P1", 1, "PR"), ("P1", 28, "PR"), ("P1", 29, "PR")], confirmation=True) == {"P1": ("PR", 1)}
    assert bor([("P1", 1, "PR"), ("P1", 28, "PR")], confirmation=True) == {"P1": ("NE", 1)}


# --- what lies between a response and its confirmation ---------------------------------------------
def test_ne_between_a_response_and_its_confirmation():
    """PR t = 56, NE t = 84, PR t = 112: one NE between the PRs (56 days apart) is allowed
    (max_ne = 1): CBOR = PR at t = 56. With max_ne = 0 the PR at t = 56 is unconfirmed and the PR at
    t = 112 has nothing after it: both count as SD, CBOR = SD at t = 56. Two NE between (t = 70, 84)
    exceed max_ne = 1: CBOR = SD at t = 56."""
    one_ne = [("P1", 56, "PR"), ("P1", 84, "NE"), ("P1", 112, "PR")]
    assert bor(one_ne, confirmation=True) == {"P1": ("PR", 56)}
    assert bor(one_ne, confirmation=True, max_ne=0) == {"P1": ("SD", 56)}
    two_ne = [("P1", 56, "PR"), ("P1", 70, "NE"), ("P1", 84, "NE"), ("P1", 112, "PR")]
    assert bor(two_ne, confirmation=True) == {"P1": ("SD", 56)}
    assert rsp(two_ne, confirmation=True) == {"P1": ("N", None)}


def test_sd_between_a_pr_and_its_confirmation_only_when_accepted():
    """PR t = 56, SD t = 84, PR t = 112: with accept_sd false the SD breaks the confirmation: the PRs
    count as SD, CBOR = SD at t = 56; with accept_sd true the PR at t = 56 is confirmed by the PR at
    t = 112: CBOR = PR at t = 56."""
    records = [("P1", 56, "PR"), ("P1", 84, "SD"), ("P1", 112, "PR")]
    assert bor(records, confirmation=True) == {"P1": ("SD", 56)}
    assert bor(records, confirmation=True, accept_sd=True) == {"P1": ("PR", 56)}


def test_sd_before_the_first_pr():
    """SD t = 21 (before day 42: NE), PR t = 63, PR t = 91: the PR at t = 63 is confirmed 28 days later,
    CBOR = BOR = PR at t = 63. With PD at t = 80 instead of the second PR the PR at t = 63 is
    unconfirmed: BOR = PR at t = 63 but CBOR = SD at t = 63 (63 >= 42; the SD at t = 21 is NE)."""
    confirmed = [("P1", 21, "SD"), ("P1", 63, "PR"), ("P1", 91, "PR")]
    assert bor(confirmed, confirmation=True) == bor(confirmed) == {"P1": ("PR", 63)}
    unconfirmed = [("P1", 21, "SD"), ("P1", 63, "PR"), ("P1", 80, "PD")]
    assert bor(unconfirmed) == {"P1": ("PR", 63)}
    assert bor(unconfirmed, confirmation=True) == {"P1": ("SD", 63)}


def test_a_pr_after_a_cr_never_confirms():
    """PR t = 56, CR t = 70, PR t = 90: the CR is 14 days after the PR (too early to confirm it); the PR
    at t = 90 is 34 days after but follows a CR, which is no confirmation; the CR at t = 70 has no later
    CR. Everything counts as SD: CBOR = SD at t = 56."""
    assert bor([("P1", 56, "PR"), ("P1", 70, "CR"), ("P1", 90, "PR")], confirmation=True) == {"P1": ("SD", 56)}


def test_cr_needs_a_cr_and_only_cr_or_ne_between():
    """CR t = 56, NE t = 70, CR t = 84: confirmed (28 days, one NE): CBOR = CR at t = 56. CR t = 56,
    PR t = 70, CR t = 100: a PR between breaks the CR's confirmation; the PR at t = 70 is confirmed by the
    CR at t = 100 (30 days, nothing between): CBOR = PR at t = 70."""
    assert bor([("P1", 56, "CR"), ("P1", 70, "NE"), ("P1", 84, "CR")], confirmation=True) == {"P1": ("CR", 56)}
    assert bor([("P1", 56, "CR"), ("P1", 70, "PR"), ("P1", 100, "CR")], confirmation=True) == {"P1": ("PR", 70)}


# --- progression, death, no assessment, data cut-off ----------------------------------------------
def test_pd_after_an_unconfirmed_pr():
    """PR t = 56, PD t = 70: BOR = PR at t = 56, RSP = Y at t = 56, CB = Y at t = 56 (a responder);
    CBOR = SD at t = 56 (unconfirmed PR, 56 >= 42), CRSP = N, and CCB = Y at t = 56 (a PR assessed at
    least 42 days after the first dose). PD = Y at t = 70. An earlier PR (t = 35, PD t = 50): the
    unconfirmed PR counts as SD, too early (35 < 42), so NE; PD is better than NE: CBOR = PD at t = 50,
    and CCB = N (nothing at 42 days or later before the PD)."""
    records = [("P1", 56, "PR"), ("P1", 70, "PD")]
    assert bor(records) == {"P1": ("PR", 56)} and rsp(records) == {"P1": ("Y", 56)}
    assert bor(records, confirmation=True) == {"P1": ("SD", 56)}
    assert rsp(records, confirmation=True) == {"P1": ("N", None)}
    assert clinbenefit(records) == clinbenefit(records, confirmation=True) == {"P1": ("Y", 56)}
    pd_flag = events.derive_param_exist_flag(
        adsl("P1"),
        ovr(records),
        source=tte.DateSource("ADRS", "ADT", where={"PARAMCD": "OVR", "AVALC": "PD"}),
        paramcd="PD",
        param="Disease Progression",
    )
    assert pd_flag[["AVALC", "SRCDOM", "SRCSEQ"]].values.tolist() == [["Y", "RS", 2.0]]
    assert t_of(pd_flag["ADT"].iloc[0]) == 70
    early = [("P1", 35, "PR"), ("P1", 50, "PD")]
    assert bor(early, confirmation=True) == {"P1": ("PD", 50)}
    assert clinbenefit(early, confirmation=True) == {"P1": ("N", None)}
    assert clinbenefit(early) == {"P1": ("Y", 35)}


def test_death_without_pd():
    """SD t = 50, no PD, death on t = 100: PD = N (no date), DEATH = Y at t = 100; PFS (event: first PD
    or death, censored at the last adequate assessment) is an event at t = 100: AVAL = 100 + 1 = 101
    days (the first dose is day 1), CNSR = 0, EVNTDESC DEATH."""
    subjects = adsl("P1", deaths={"P1": 100})
    data = ovr([("P1", 50, "SD")])
    pd_source = tte.DateSource("ADRS", "ADT", where={"PARAMCD": "OVR", "AVALC": "PD"})
    flag = events.derive_param_exist_flag(subjects, data, source=pd_source, paramcd="PD", param="PD")
    death = events.derive_param_exist_flag(
        subjects, subjects, source=tte.DateSource("ADSL", "DTHDT"), paramcd="DEATH", param="Death"
    )
    assert flag["AVALC"].tolist() == ["N"] and flag["ADT"].isna().all()
    assert death["AVALC"].tolist() == ["Y"] and t_of(death["ADT"].iloc[0]) == 100
    pfs = tte.derive_param_tte(
        subjects,
        {"ADSL": subjects, "ADRS": data},
        paramcd="PFS",
        param="PFS",
        start=tte.DateSource("ADSL", "TRTSDT"),
        events=[pd_source, tte.DateSource("ADSL", "DTHDT", description="DEATH")],
        censors=[tte.DateSource("ADRS", "ADT", where={"PARAMCD": "OVR"}, select="last", censor=1)],
    )
    assert pfs[["AVAL", "CNSR", "EVNTDESC"]].values.tolist() == [[101.0, 0.0, "DEATH"]]


def test_no_post_baseline_assessment():
    """P1 has only a baseline assessment (t = 0, on the first-dose day: not after it), P2 none at all:
    both get BOR = CBOR = MISSING (the study's no_assessment) without a date, RSP = CRSP = N, CB = N;
    the last-assessment copy (LSTA) keeps P1's baseline record, since its source filter is only
    PARAMCD = OVR, and has none for P2."""
    records, subjects = [("P1", 0, "SD")], ("P1", "P2")
    assert bor(records, subjects) == bor(records, subjects, confirmation=True)
    assert bor(records, subjects) == {"P1": ("MISSING", None), "P2": ("MISSING", None)}
    assert rsp(records, subjects, confirmation=True) == {"P1": ("N", None), "P2": ("N", None)}
    assert clinbenefit(records, subjects) == {"P1": ("N", None), "P2": ("N", None)}
    lsta = events.derive_param_extreme_record(
        ovr(records), source=tte.DateSource("ADRS", "ADT", where={"PARAMCD": "OVR"}, select="last"),
        paramcd="LSTA", param="Last Disease Assessment",
    )  # fmt: skip
    assert lsta[["USUBJID", "AVALC", "PARAMCD"]].values.tolist() == [["P1", "SD", "LSTA"]]


def test_data_cutoff_before_the_last_visit():
    """SD t = 50, PR t = 100, PR t = 130, PD t = 200, data cut-off at t = 120: only SD t = 50 and PR
    t = 100 count. BOR = PR at t = 100; the PR at t = 100 cannot be confirmed (its confirmation at t =
    130 is after the cut-off), so it counts as SD and CBOR = SD at t = 50 (the first SD); CRSP = N; no
    PD; LSTA = PR at t = 100. Without the cut-off: CBOR = PR at t = 100, CRSP = Y at t = 100, PD at t =
    200 and LSTA = PD at t = 200."""
    records = [("P1", 50, "SD"), ("P1", 100, "PR"), ("P1", 130, "PR"), ("P1", 200, "PD")]
    assert bor(records, cutoff=120) == {"P1": ("PR", 100)}
    assert bor(records, confirmation=True, cutoff=120) == {"P1": ("SD", 50)}
    assert rsp(records, confirmation=True, cutoff=120) == {"P1": ("N", None)}
    assert bor(records, confirmation=True) == {"P1": ("PR", 100)}
    assert rsp(records, confirmation=True) == {"P1": ("Y", 100)}
    source = tte.DateSource("ADRS", "ADT", where={"PARAMCD": "OVR"}, select="last")
    pd_source = tte.DateSource("ADRS", "ADT", where={"PARAMCD": "OVR", "AVALC": "PD"})
    for cutoff, last, flag in ((120, ("PR", 100), ("N", None)), (None, ("PD", 200), ("Y", 200))):
        date = None if cutoff is None else D0 + cutoff
        lsta = events.derive_param_extreme_record(
            ovr(records), source=source, paramcd="LSTA", param="LSTA", data_cutoff=date
        )
        assert (lsta["AVALC"].iloc[0], t_of(lsta["ADT"].iloc[0])) == last
        progression = events.derive_param_exist_flag(
            adsl("P1"), ovr(records), source=pd_source, paramcd="PD", param="PD", data_cutoff=date
        )
        assert (progression["AVALC"].iloc[0], t_of(progression["ADT"].iloc[0])) == flag


# --- NON-CR/NON-PD, BCP/CBCP ---------------------------------------------------------------------
def test_non_cr_non_pd_is_an_overall_response_ranked_below_sd():
    """NON-CR/NON-PD (non-target disease only) at t = 50 then PD at t = 80: NON-CR/NON-PD needs the
    SD window (50 >= 42) and ranks above PD: BOR = NON-CR/NON-PD at t = 50. At t = 30 it is too early:
    NE, and PD (t = 80) is better: BOR = PD at t = 80. It also gives clinical benefit when at 42 days
    or later (CB = Y at t = 50)."""
    assert bor([("P1", 50, "NON-CR/NON-PD"), ("P1", 80, "PD")]) == {"P1": ("NON-CR/NON-PD", 50)}
    assert bor([("P1", 30, "NON-CR/NON-PD"), ("P1", 80, "PD")]) == {"P1": ("PD", 80)}
    assert clinbenefit([("P1", 50, "NON-CR/NON-PD"), ("P1", 80, "PD")]) == {"P1": ("Y", 50)}


@pytest.mark.parametrize("confirmation, expected", [(False, "Y"), (True, "N")])
def test_bcp_and_cbcp_follow_their_best_overall_response(confirmation, expected):
    """PR t = 56, PD t = 70: BOR = PR, so BCP = Y; CBOR = SD, so CBCP = N. Each is dated as its BOR
    record (t = 56)."""
    data = ovr([("P1", 56, "PR"), ("P1", 70, "PD")])
    code = "CBOR" if confirmation else "BOR"
    best = response.derive_param_bor(
        data, adsl("P1"), source_paramcd="OVR", paramcd=code, confirmation=confirmation, **RULES
    )
    flag = response.derive_param_rsp(pd.concat([data, best]), bor_paramcd=code, paramcd="BCP")
    assert flag["AVALC"].tolist() == [expected] and t_of(flag["ADT"].iloc[0]) == 56


def test_measurable_disease_at_baseline_from_tu():
    """MDIS from TU (SDTM, ISO 8601 dates): P1 has a TARGET lesion at screening -> Y dated that day,
    traced to TU.TUDTC and its TUSEQ; P2 only a NON-TARGET one -> N without a date."""
    tu = pd.DataFrame(
        {
            "STUDYID": "S1",
            "USUBJID": ["P1", "P1", "P2"],
            "TUSEQ": [1.0, 2.0, 1.0],
            "TUSTRESC": ["TARGET", "NON-TARGET", "NON-TARGET"],
            "VISIT": "SCREENING",
            "TUDTC": ["2010-02-20", "2010-02-20", "2010-02-21"],
        }
    )
    source = tte.DateSource("TU", "TUDTC", where={"TUSTRESC": "TARGET", "VISIT": "SCREENING"})
    mdis = events.derive_param_exist_flag(adsl("P1", "P2"), tu, source=source, paramcd="MDIS", param="MDIS")
    assert mdis[["USUBJID", "AVALC", "SRCDOM", "SRCVAR", "SRCSEQ"]].fillna(0).values.tolist() == [
        ["P1", "Y", "TU", "TUDTC", 1.0],
        ["P2", "N", "", "", 0],
    ]
    assert t_of(mdis["ADT"].iloc[0]) == -9 and mdis["ADT"].isna().tolist() == [False, True]
