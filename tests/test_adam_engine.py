"""build_adam end to end on a small hand-made SDTM Bundle, through the study's own ADaM YAML."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdtmify.adam.engine import build_adam
from sdtmify.datasets import BuiltDataset, Bundle
from sdtmify.metadata.model import StudyMetadata
from sdtmify.metadata.standards import sdtm_dataset

ROOT = Path(__file__).resolve().parents[1]
NCI84 = ROOT / "mappings" / "NCI84"


@dataclass
class FakeStudy:
    folder: Path
    name: str = "FIXTURE"


def sas_date_to_iso(values: pd.Series) -> list[str]:
    """ISO 8601 dates ("" when missing) of numeric SAS dates (days since 1960-01-01), to compare with."""
    stamps = pd.Timestamp("1960-01-01") + pd.to_timedelta(pd.to_numeric(values, errors="coerce"), unit="D")
    return stamps.dt.strftime("%Y-%m-%d").fillna("").astype(str).tolist()


def _date(first: str, days: int) -> str:
    return (pd.Timestamp(first) + pd.Timedelta(days=days)).strftime("%Y-%m-%d")


# subject: (arm code, first dose, overall responses as (days after first dose, response), collected BOR)
SUBJECTS = {
    "A": ("IL12IV100", "2003-01-06", [(20, "SD"), (62, "SD"), (150, "SD"), (474, "PD")], "SD"),
    "B": ("IL12IV100", "2003-02-03", [(20, "SD"), (62, "PR"), (200, "PR"), (328, "PD")], "PR"),
    "E": ("IL12IV300", "2003-03-03", [(20, "SD"), (44, "PD")], "PD"),
    "G": ("IL12IV300", "2003-04-07", [(20, "SD"), (62, "PR"), (120, "CR"), (1642, "CR")], "CR"),
    "N": ("IL12SC200", "2003-05-05", [], "PD"),
}
ARMS = {
    code: f"IL-12 {dose} + Trastuzumab + Paclitaxel"
    for code, dose in (("IL12IV100", "100 ng/kg IV"), ("IL12IV300", "300 ng/kg IV"), ("IL12SC200", "200 ng/kg SC"))
}


def _frame(rows: list[dict], domain: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame.insert(0, "STUDYID", "NCI84")
    frame.insert(1, "DOMAIN", domain) if not domain.startswith("SUPP") else None
    seq = f"{domain}SEQ"
    if not domain.startswith("SUPP") and domain != "DM":
        frame[seq] = frame.groupby("USUBJID").cumcount().astype("float64") + 1
    return frame


def sdtm_bundle() -> Bundle:
    dm, suppdm, ex, rs, ds, ae, suppae, lb = [], [], [], [], [], [], [], []
    mi, cm, mh, tu = [], [], [], []
    for index, (subjid, (arm, first, responses, collected)) in enumerate(SUBJECTS.items()):
        usubjid = f"NCI84-001-{subjid}"
        dm.append(
            {
                "USUBJID": usubjid,
                "SUBJID": subjid,
                "SITEID": "001",
                "AGE": 50.0 + index,
                "AGEU": "YEARS",
                "SEX": "F",
                "RACE": "NOT REPORTED",
                "ETHNIC": "NOT REPORTED",
                "ARMCD": arm,
                "ARM": ARMS[arm],
                "ACTARMCD": arm,
                "ACTARM": ARMS[arm],
                "RFSTDTC": first,
                "RFPENDTC": _date(first, 300),
                "DTHFL": "",
                "DTHDTC": "",
            }
        )
        # baseline facts in their domains (RS KPS SCALE, MI, CM, MH); counts in SUPPDM
        mi.append({"USUBJID": usubjid, "MITESTCD": "HER2", "MIORRES": "3+", "MISTRESC": "3+"})
        cm.append({"USUBJID": usubjid, "CMTRT": "PACLITAXEL", "CMCAT": "PRIOR ANTICANCER THERAPY", "CMOCCUR": "N"})
        mh.append({"USUBJID": usubjid, "MHTERM": "Breast cancer", "MHCAT": "PRIMARY CANCER DIAGNOSIS"})
        tu.append(
            {
                "USUBJID": usubjid,
                "TULNKID": "T01",
                "TUTESTCD": "TUMIDENT",
                "TUSTRESC": "TARGET",
                "TUDTC": _date(first, -10),
            }
        )
        rs.append(
            {
                "USUBJID": usubjid,
                "RSTESTCD": "KPSS0101",
                "RSSTRESC": "90",
                "RSSTRESN": 90.0,
                "RSDTC": _date(first, -10),
                "VISIT": "",
                "VISITNUM": np.nan,
            }
        )
        for qnam, value in (("METSITES", "2"), ("PRIORREG", "1")):
            suppdm.append(
                {
                    "RDOMAIN": "DM",
                    "USUBJID": usubjid,
                    "IDVAR": "",
                    "IDVARVAL": "",
                    "QNAM": qnam,
                    "QLABEL": qnam.title(),
                    "QVAL": value,
                }
            )
        cycles = 2 if subjid in ("E", "N") else 3
        for cycle in range(cycles):
            ex.append(
                {
                    "USUBJID": usubjid,
                    "EXTRT": "PACLITAXEL",
                    "EXDOSE": 175.0,
                    "EXDOSU": "mg/m2",
                    "EXSTDTC": _date(first, 21 * cycle),
                    "EXENDTC": _date(first, 21 * cycle),
                    "VISIT": f"CYCLE {cycle + 1} DAY 1",
                    "VISITNUM": 100.0 * (cycle + 1) + 1,
                }
            )
            ex.append(
                {
                    **ex[-1],
                    "EXTRT": "TRASTUZUMAB",
                    "EXDOSE": 2.0,
                    "EXSTDTC": _date(first, 21 * cycle + 7),
                    "EXENDTC": _date(first, 21 * cycle + 7),
                    "VISIT": f"CYCLE {cycle + 1} DAY 8",
                    "VISITNUM": 100.0 * (cycle + 1) + 8,
                }
            )
        for days, value in responses:
            rs.append(
                {
                    "USUBJID": usubjid,
                    "RSTESTCD": "OVRLRESP",
                    "RSSTRESC": value,
                    "RSDTC": _date(first, days),
                    "VISIT": f"DAY {days + 1}",
                    "VISITNUM": float(days + 1),
                }
            )
        rs.append(
            {
                "USUBJID": usubjid,
                "RSTESTCD": "BESTRESP",
                "RSSTRESC": collected,
                "RSDTC": "",
                "VISIT": "",
                "VISITNUM": np.nan,
            }
        )
        ds.append(
            {
                "USUBJID": usubjid,
                "DSCAT": "DISPOSITION EVENT",
                "DSSCAT": "STUDY TREATMENT",
                "DSDECOD": "COMPLETED" if subjid == "A" else "PROGRESSIVE DISEASE",
                "DSTERM": "As collected",
                "DSSTDTC": _date(first, 60),
            }
        )
        ae.append(
            {
                "USUBJID": usubjid,
                "AETERM": "tired",
                "AEDECOD": "Fatigue",
                "AEBODSYS": "General disorders",
                "AESER": "N",
                "AEREL": "POSSIBLE",
                "AEACN": "DOSE NOT CHANGED",
                "AEOUT": "RECOVERED/RESOLVED",
                "AETOXGR": "2",
                "AESTDTC": _date(first, 3),
                "AEENDTC": _date(first, 9),
            }
        )
        ae.append(
            {
                "USUBJID": usubjid,
                "AETERM": "very tired",
                "AEDECOD": "Fatigue",
                "AEBODSYS": "General disorders",
                "AESER": "N",
                "AEREL": "RELATED" if subjid == "E" else "POSSIBLE",
                "AEACN": "DOSE NOT CHANGED",
                "AEOUT": "RECOVERED/RESOLVED",
                "AETOXGR": "3" if subjid == "E" else "1",
                "AESTDTC": _date(first, 30),
                "AEENDTC": "",
            }
        )
        if subjid == "E":
            suppae.append(
                {
                    "RDOMAIN": "AE",
                    "USUBJID": usubjid,
                    "IDVAR": "AESEQ",
                    "IDVARVAL": "2",
                    "QNAM": "AEDLT",
                    "QLABEL": "Dose-Limiting Toxicity",
                    "QVAL": "Y",
                }
            )
        peak = {"A": "363", "B": "285", "G": "1448"}.get(subjid, "<10")
        for days, value in ((0, "<10"), (22, peak), (25, "<10")):
            lb.append(
                {
                    "USUBJID": usubjid,
                    "LBTESTCD": "IFNG",
                    "LBTEST": "Interferon Gamma",
                    "LBCAT": "CYTOKINE",
                    "LBSTRESC": value,
                    "LBSTRESN": float(value) if value[0] != "<" else np.nan,
                    "LBSTRESU": "pg/mL",
                    "LBSTNRLO": np.nan,
                    "LBSTNRHI": np.nan,
                    "LBNRIND": "",
                    "LBTOXGR": "",
                    "LBSTAT": "",
                    "LBDTC": _date(first, days) + "T08:00",
                    "VISIT": f"DAY {days + 1}",
                    "VISITNUM": float(days + 1),
                }
            )
        lb.append(
            {
                "USUBJID": usubjid,
                "LBTESTCD": "IFNG",
                "LBTEST": "Interferon Gamma",
                "LBCAT": "CYTOKINE",
                "LBSTRESC": "",
                "LBSTRESN": np.nan,
                "LBSTRESU": "",
                "LBSTNRLO": np.nan,
                "LBSTNRHI": np.nan,
                "LBNRIND": "",
                "LBTOXGR": "",
                "LBSTAT": "NOT DONE",
                "LBDTC": _date(first, 29),
                "VISIT": "DAY 30",
                "VISITNUM": 30.0,
            }
        )
    frames = {
        "DM": _frame(dm, "DM"),
        "SUPPDM": _frame(suppdm, "SUPPDM"),
        "EX": _frame(ex, "EX"),
        "RS": _frame(rs, "RS"),
        "DS": _frame(ds, "DS"),
        "AE": _frame(ae, "AE"),
        "SUPPAE": _frame(suppae, "SUPPAE"),
        "LB": _frame(lb, "LB"),
        "MI": _frame(mi, "MI"),
        "CM": _frame(cm, "CM"),
        "MH": _frame(mh, "MH"),
        "TU": _frame(tu, "TU"),
    }
    metas = {name: sdtm_dataset(name) for name in frames}
    datasets = {name: BuiltDataset(frame=frames[name], meta=metas[name]) for name in frames}
    metadata = StudyMetadata(
        study_oid="NCI84",
        study_name="NCI84",
        description="fixture",
        protocol_name="NCI84",
        datasets=tuple(metas.values()),
    )
    return Bundle(standard="SDTM", datasets=datasets, metadata=metadata)


@pytest.fixture(scope="module")
def adam() -> Bundle:
    return build_adam(FakeStudy(NCI84), sdtm_bundle())


def by_subject(frame: pd.DataFrame, column: str, where: dict | None = None) -> dict:
    rows = frame
    for name, value in (where or {}).items():
        rows = rows[rows[name] == value]
    return dict(zip(rows["USUBJID"].str[-1], rows[column], strict=False))


def test_the_five_datasets_with_frames_matching_their_metadata(adam):
    assert list(adam.datasets) == ["ADAE", "ADLB", "ADRS", "ADSL", "ADTTE"]
    assert adam.standard == "ADaM"
    for name, built in adam.datasets.items():
        assert tuple(built.frame.columns) == built.meta.variable_names, name
        assert len(built.lineage) == len(built.frame), name
        for var in built.meta.variables:
            column = built.frame[var.name]
            if var.type == "Num":
                assert column.dtype == "float64", (name, var.name)
            else:
                assert not column.isna().any(), (name, var.name)
                assert var.length >= max(1, column.str.encode("utf-8").str.len().max()), (name, var.name)


def test_adsl_one_record_per_subject_with_treatment_dates(adam):
    adsl = adam.datasets["ADSL"].frame
    assert adsl["USUBJID"].is_unique and len(adsl) == len(SUBJECTS)
    assert by_subject(adsl, "TRT01PN") == {"A": 1.0, "B": 1.0, "E": 2.0, "G": 2.0, "N": 3.0}
    assert by_subject(adsl, "TRT01DOS") == {"A": 100.0, "B": 100.0, "E": 300.0, "G": 300.0, "N": 200.0}
    assert sas_date_to_iso(adsl["TRTSDT"]) == [v[1] for v in SUBJECTS.values()]
    assert sas_date_to_iso(adsl["TRTEDT"])[0] == _date("2003-01-06", 2 * 21 + 7)
    assert by_subject(adsl, "CYCLESN") == {"A": 3.0, "B": 3.0, "E": 2.0, "G": 3.0, "N": 2.0}
    assert by_subject(adsl, "EFFFL") == {"A": "Y", "B": "Y", "E": "Y", "G": "Y", "N": "N"}
    assert by_subject(adsl, "EOTSTT")["A"] == "COMPLETED" and by_subject(adsl, "DCTREAS")["E"] == "PROGRESSIVE DISEASE"
    assert by_subject(adsl, "EOSSTT") == dict.fromkeys("ABEGN", "ONGOING")
    assert by_subject(adsl, "DLTFL") == {"A": "N", "B": "N", "E": "Y", "G": "N", "N": "N"}
    assert by_subject(adsl, "KARNSCR")["A"] == 90.0 and by_subject(adsl, "HER2IHC")["A"] == "3+"
    meta = adam.datasets["ADSL"].meta
    assert meta.variable("TRTSDT").format == "DATE9." and meta.variable("TRTSDT").type == "Num"
    assert meta.variable("AGE").origin.type == "Predecessor" and meta.variable("AGE").origin.description == "DM.AGE"
    assert meta.variable("METSITN").origin.description == "SUPPDM.QVAL where QNAM = METSITES"
    assert meta.variable("KARNSCR").origin.description == "RS.RSSTRESN where RSTESTCD = KPSS0101"
    assert by_subject(adsl, "TUMTYPE")["A"] == "Breast" and by_subject(adsl, "PRPACFL")["A"] == "N"
    assert meta.class_ == "SUBJECT LEVEL ANALYSIS DATASET" and meta.keys == ("STUDYID", "USUBJID")


def test_adsl_bor_and_clinical_benefit_come_from_adrs(adam):
    adsl = adam.datasets["ADSL"].frame
    assert by_subject(adsl, "BOR") == {"A": "SD", "B": "PR", "E": "PD", "G": "CR", "N": "NE"}
    assert by_subject(adsl, "CBRFL") == {"A": "Y", "B": "Y", "E": "N", "G": "Y", "N": "N"}


def test_adrs_parameters_and_disagreement_with_the_collected_bor(adam):
    adrs = adam.datasets["ADRS"].frame
    assert sorted(adrs["PARAMCD"].unique()) == [
        "BCP",
        "BOR",
        "CB",
        "CBCP",
        "CBOR",
        "CBR",
        "CCB",
        "CRSP",
        "DEATH",
        "LSTA",
        "MDIS",
        "OVR",
        "PD",
        "RSP",
    ]
    assert by_subject(adrs, "AVAL", {"PARAMCD": "BOR"}) == {"A": 3.0, "B": 2.0, "E": 4.0, "G": 1.0, "N": 5.0}
    assert by_subject(adrs, "AVALC", {"PARAMCD": "RSP"}) == {"A": "N", "B": "Y", "E": "N", "G": "Y", "N": "N"}
    assert by_subject(adrs, "BORDIFFL", {"PARAMCD": "BOR"}) == {"A": "N", "B": "N", "E": "N", "G": "N", "N": "Y"}
    assert adam.notes == ["ADRS: NCI84-001-N: derived best overall response NE, collected PD"]
    ovr = adrs[adrs["PARAMCD"] == "OVR"]
    assert (ovr["ADY"] > 0).all() and 0 not in ovr["ADY"].tolist()
    assert ovr["SRCDOM"].eq("RS").all() and ovr["SRCVAR"].eq("RSSTRESC").all()
    # ANL01FL: post-baseline assessments up to the first PD
    assert ovr.loc[ovr["USUBJID"].str.endswith("E"), "ANL01FL"].tolist() == ["Y", "Y"]
    lineage = adam.datasets["ADRS"].lineage
    assert set(lineage.loc[adrs["PARAMCD"] == "OVR", "SRCTABLE"]) == {"RS"}
    no_assessment = (adrs["PARAMCD"] == "BOR") & adrs["USUBJID"].str.endswith("N")
    assert lineage.loc[no_assessment, ["SRCTABLE", "SRCROW"]].values.tolist() == [["DM", 5.0]]


def test_adtte_durations_and_censoring(adam):
    adtte = adam.datasets["ADTTE"].frame
    assert by_subject(adtte, "AVAL", {"PARAMCD": "DURRSD"}) == {"A": 475.0, "B": 329.0, "G": 1643.0}
    assert by_subject(adtte, "CNSR", {"PARAMCD": "DURRSD"}) == {"A": 0.0, "B": 0.0, "G": 1.0}
    assert by_subject(adtte, "CNSDTDSC", {"PARAMCD": "DURRSD"})["G"] == "LAST ADEQUATE TUMOR ASSESSMENT"
    assert by_subject(adtte, "AVAL", {"PARAMCD": "DOR"}) == {"B": 329.0 - 62, "G": 1643.0 - 62}
    pfs = by_subject(adtte, "AVAL", {"PARAMCD": "PFS"})
    assert pfs == {"A": 475.0, "B": 329.0, "E": 45.0, "G": 1643.0, "N": 1.0}
    assert by_subject(adtte, "CNSR", {"PARAMCD": "PFS"})["N"] == 2.0


def test_adae_flags(adam):
    adae = adam.datasets["ADAE"].frame
    assert len(adae) == 2 * len(SUBJECTS)
    assert adae["TRTEMFL"].eq("Y").all()
    assert adae.loc[adae["AOCCPIFL"] == "Y", "USUBJID"].is_unique
    worst = adae[adae["AOCCPIFL"] == "Y"]
    assert by_subject(worst, "ATOXGRN") == {"A": 2.0, "B": 2.0, "E": 3.0, "G": 2.0, "N": 2.0}
    assert by_subject(adae, "ASTDY", {"AETERM": "tired"}) == dict.fromkeys("ABEGN", 4.0)
    assert by_subject(adae, "AEDLT", {"AETERM": "very tired"})["E"] == "Y"


def test_adlb_ifng_peak_and_baseline(adam):
    adlb = adam.datasets["ADLB"].frame
    assert "" not in adlb["AVALC"].tolist()  # the NOT DONE record is left out
    ifng = adlb[adlb["PARAMCD"] == "IFNG"]
    measured = ifng["AVAL"].where(ifng["DTYPE"] == "")  # "<10" is half the LLOQ (DTYPE HALFLLOQ)
    peaks = measured.groupby(ifng["USUBJID"].str[-1]).max()
    assert peaks.fillna(0).to_dict() == {"A": 363.0, "B": 285.0, "E": 0.0, "G": 1448.0, "N": 0.0}
    assert ifng.loc[ifng["ABLFL"] == "Y", "ADY"].eq(1).all() and ifng["ABLFL"].eq("Y").sum() == 5
    assert ifng["BASEC"].eq("<10").all() and ifng["BASE"].eq(5.0).all()
    assert ifng["PARAM"].iloc[0] == "Interferon Gamma (pg/mL)"


def test_metadata_methods_value_levels_and_codelists(adam):
    metadata = adam.metadata
    assert [s.name for s in metadata.standards if s.type == "IG"] == ["ADaM-OCCDSIG", "ADaMIG"]
    methods = {m.oid: m for m in metadata.methods}
    assert "sd_min_days = 42" in methods["MT.ADRS.BOR"].description
    assert "RECIST 1.0" in methods["MT.ADRS.BOR"].description
    aval = adam.datasets["ADRS"].meta.variable("AVALC")
    levels = {lv.where[0].values[0]: lv for lv in aval.value_levels}
    assert levels["OVR"].origin.description == "RS.RSSTRESC"
    assert levels["BOR"].method == "MT.ADRS.BOR" and levels["RSP"].codelist == "CL.NY"
    codelists = {cl.oid: cl for cl in metadata.codelists}
    assert codelists["CL.ADRS.PARAMCD"].values() == tuple(
        ["BCP", "BOR", "CB", "CBCP", "CBOR", "CBR", "CCB", "CRSP", "DEATH", "LSTA", "MDIS", "OVR", "PD", "RSP"]
    )
    assert set(codelists["CL.ONCRSR"].values()) == {"CR", "PR", "SD", "PD", "NE"}
    assert all(item.c_code for item in codelists["CL.ONCRSR"].items)
    trtemfl = adam.datasets["ADAE"].meta.variable("TRTEMFL")
    assert trtemfl.origin.type == "Derived" and methods[trtemfl.method].description.startswith("TRTEMFL is")
