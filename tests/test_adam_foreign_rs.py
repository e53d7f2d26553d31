"""admiralonco's parameter set declared in YAML over RECIST SDTM that sdtmify did not build: two
evaluators (RSEVAL), a partial RSDTC, two readings on one date, NON-CR/NON-PD, and a data cut-off in
study.yaml. Each expected value is derived by hand in the docstrings (first dose on day 1 = t 0)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from sdtmify.adam.engine import build_adam
from sdtmify.datasets import BuiltDataset, Bundle
from sdtmify.metadata.model import StudyMetadata
from sdtmify.metadata.standards import sdtm_dataset

FIRST = pd.Timestamp("2014-01-01")

ADSL = """
dataset: ADSL
label: Subject-Level Analysis Dataset
class: ADSL
keys: [STUDYID, USUBJID]
steps:
  - records: {from: DM}
  - derive_vars_trt01: {planned: ARM, actual: ACTARM, numbers: {A: 1}}
  - derive_var_trtsdt: {from: EX}
  - derive_var_trtedt: {from: EX}
  - derive_vars_dt: {dates: {DTHDT: DTHDTC}}
variables: [STUDYID, USUBJID, SUBJID, SITEID, AGE, AGEU, SEX, RACE, ARM, ACTARM, TRT01P, TRT01PN, TRT01A,
            TRT01AN, TRTSDT, TRTEDT, DTHDT]
"""

ADRS = """
dataset: ADRS
label: Response Analysis Dataset
class: BDS
keys: [STUDYID, USUBJID, PARAMCD, ADT, SRCSEQ]
steps:
  # The investigator's readings only; their dates as collected, partial ones imputed to the 1st.
  - derive_params_from_findings:
      from: RS
      where: {RSTESTCD: OVRLRESP, RSEVAL: INVESTIGATOR}
      paramcd: OVR
      param: Overall Response by Investigator
      avalc_var: RSSTRESC
      date_var: RSDTC
      seq_var: RSSEQ
      keep: {RSDTC: RSDTC}
  - derive_vars_dt: {dates: {ADT: RSDTC}, highest_imputation: D, date_imputation: first}
  - derive_vars_merged: {from: ADSL, new_vars: [TRTSDT]}
  # One reading per date, the worst; the response parameters read only those (where ANL01FL = Y).
  - derive_var_anl01fl: {where: {PARAMCD: OVR}, worst_per_date: [PD, NE, SD, NON-CR/NON-PD, PR, CR]}
  - derive_param_bor: {source_paramcd: OVR, paramcd: BOR, param: Best Overall Response,
                       sd_min_days: 42, confirmation: false, no_assessment: MISSING, where: {ANL01FL: "Y"}}
  - derive_param_bor: {source_paramcd: OVR, paramcd: CBOR, param: Best Confirmed Overall Response,
                       sd_min_days: 42, confirmation: true, no_assessment: MISSING, where: {ANL01FL: "Y"}}
  - derive_param_response: {source_paramcd: OVR, paramcd: CRSP, param: Confirmed Response, confirmation: true,
                            where: {ANL01FL: "Y"}}
  - derive_param_exist_flag:
      paramcd: PD
      param: Disease Progression
      source: {dataset: ADRS, date: ADT, where: {PARAMCD: OVR, AVALC: PD}}
  - derive_param_exist_flag: {paramcd: DEATH, param: Death, source: {dataset: ADSL, date: DTHDT}}
  - derive_param_extreme_record:
      paramcd: LSTA
      param: Last Disease Assessment
      source: {dataset: ADRS, date: ADT, where: {PARAMCD: OVR, ANL01FL: "Y"}, select: last}
variables: [STUDYID, USUBJID, PARAMCD, PARAM, AVALC, ADT,
            {name: ADTF, label: "Analysis Date Imputation Flag", type: Char}, ANL01FL, SRCDOM, SRCVAR, SRCSEQ]
"""


@dataclass
class ForeignStudy:
    folder: Path
    name: str = "FOREIGN"
    config: dict = field(default_factory=lambda: {"study": {"studyid": "X1", "data_cutoff": "2014-12-31"}})


def iso(t: int) -> str:
    return (FIRST + pd.Timedelta(days=t)).strftime("%Y-%m-%d")


def sdtm() -> Bundle:
    subjects = ["X1-01", "X1-02", "X1-03"]
    dm = pd.DataFrame(
        {
            "STUDYID": "X1",
            "USUBJID": subjects,
            "SUBJID": ["01", "02", "03"],
            "SITEID": "1",
            "AGE": 60.0,
            "AGEU": "YEARS",
            "SEX": "F",
            "RACE": "ASIAN",
            "ARM": "A",
            "ACTARM": "A",
            "DTHDTC": ["", "", iso(120)],
        }
    )
    ex = pd.DataFrame({"STUDYID": "X1", "USUBJID": subjects, "EXDOSE": 10.0, "EXSTDTC": iso(0), "EXENDTC": iso(60)})
    readings = [
        # 01: PR t 56, PR t 84 (confirmed), and a partial date "2014-05" (-> 2014-05-01, t 120, SD), a PD
        # by the independent reviewer that the investigator filter leaves out, and a PD after the cut-off.
        ("X1-01", iso(56), "PR", "INVESTIGATOR"),
        ("X1-01", iso(84), "PR", "INVESTIGATOR"),
        ("X1-01", "2014-05", "SD", "INVESTIGATOR"),
        ("X1-01", iso(100), "PD", "INDEPENDENT ASSESSOR"),
        ("X1-01", "2015-02-01", "PD", "INVESTIGATOR"),
        # 02: NON-CR/NON-PD t 50, then two readings on t 90: SD and PD.
        ("X1-02", iso(50), "NON-CR/NON-PD", "INVESTIGATOR"),
        ("X1-02", iso(90), "SD", "INVESTIGATOR"),
        ("X1-02", iso(90), "PD", "INVESTIGATOR"),
        # 03: no post-baseline assessment; died on t 120.
        ("X1-03", iso(0), "SD", "INVESTIGATOR"),
    ]
    rs = pd.DataFrame(readings, columns=["USUBJID", "RSDTC", "RSSTRESC", "RSEVAL"]).assign(
        STUDYID="X1", RSTESTCD="OVRLRESP", VISIT="", VISITNUM=float("nan")
    )
    rs["RSSEQ"] = rs.groupby("USUBJID").cumcount().astype("float64") + 1
    frames = {"DM": dm, "EX": ex, "RS": rs}
    metas = {name: sdtm_dataset(name) for name in frames}
    metadata = StudyMetadata(
        study_oid="X1", study_name="X1", description="x", protocol_name="X1", datasets=tuple(metas.values())
    )
    datasets = {name: BuiltDataset(frame=frames[name], meta=metas[name]) for name in frames}
    return Bundle(standard="SDTM", datasets=datasets, metadata=metadata)


@pytest.fixture(scope="module")
def adrs(tmp_path_factory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("foreign") / "FOREIGN"
    (folder / "adam").mkdir(parents=True)
    (folder / "adam" / "adsl.yaml").write_text(ADSL, encoding="utf-8")
    (folder / "adam" / "adrs.yaml").write_text(ADRS, encoding="utf-8")
    frame = build_adam(ForeignStudy(folder), sdtm()).datasets["ADRS"].frame
    frame["t"] = (frame["ADT"] - float((FIRST - pd.Timestamp("1960-01-01")).days)).astype("Int64")
    return frame


def values(adrs: pd.DataFrame, paramcd: str) -> dict:
    rows = adrs[adrs["PARAMCD"] == paramcd]
    triples = zip(rows["USUBJID"], rows["AVALC"], rows["t"], strict=True)
    return {u[-2:]: (a, None if pd.isna(t) else int(t)) for u, a, t in triples}


def test_partial_date_imputed_and_flagged_and_other_evaluators_left_out(adrs):
    """Investigator readings only (01: four, the independent PD left out). "2014-05" becomes 2014-05-01
    (t 120) with ADTF "D"; complete dates have no flag."""
    ovr = adrs[(adrs["PARAMCD"] == "OVR") & adrs["USUBJID"].eq("X1-01")]
    assert ovr["AVALC"].tolist() == ["PR", "PR", "SD", "PD"]
    assert ovr["t"].tolist() == [56, 84, 120, 396] and ovr["ADTF"].tolist() == ["", "", "D", ""]


def test_parameters_follow_the_rules_within_the_data_cut_off(adrs):
    """Cut-off 2014-12-31 (t 364): 01's PD on 2015-02-01 is ignored. 01: PR t 56 confirmed by PR t 84
    -> BOR = CBOR = PR at t 56, CRSP Y at t 56, PD N, LSTA = SD at t 120 (the last flagged reading
    within the cut-off). 02: ANL01FL keeps only the PD of t 90 (the worst of SD and PD that day), and
    the response parameters read only ANL01FL records: NON-CR/NON-PD t 50 (>= 42 days), then PD t 90
    -> BOR = CBOR = NON-CR/NON-PD at t 50 (without the filter the SD of t 90 would make it SD); LSTA =
    PD at t 90, PD = Y at t 90. 03: only a reading on the first-dose day, which is not post-baseline ->
    BOR = CBOR = MISSING without a date, no LSTA (no ANL01FL record); DEATH Y at t 120."""
    assert values(adrs, "BOR") == {"01": ("PR", 56), "02": ("NON-CR/NON-PD", 50), "03": ("MISSING", None)}
    assert values(adrs, "CBOR") == values(adrs, "BOR")
    assert values(adrs, "CRSP") == {"01": ("Y", 56), "02": ("N", None), "03": ("N", None)}
    assert values(adrs, "PD") == {"01": ("N", None), "02": ("Y", 90), "03": ("N", None)}
    assert values(adrs, "DEATH") == {"01": ("N", None), "02": ("N", None), "03": ("Y", 120)}
    assert values(adrs, "LSTA") == {"01": ("SD", 120), "02": ("PD", 90)}
    flagged = adrs[(adrs["PARAMCD"] == "OVR") & adrs["USUBJID"].eq("X1-02")]
    assert flagged["ANL01FL"].tolist() == ["Y", "", "Y"]  # t 50; t 90: SD not flagged, PD flagged
