"""NCI84's SDTM, built from its YAML and source tables, against what the paper publishes.

Published values are written here as literals (Mol Cancer Ther 2009;8(11):2983-91, Tables 3 and 4),
independently of mappings/NCI84/published.yaml."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sdtmify.mapping.engine import build_sdtm
from sdtmify.study import load_study

ROOT = Path(__file__).resolve().parents[1]

SOURCES = ROOT / "mappings" / "NCI84" / "source"

PATIENTS = list("ABCDEFGHIJKLMNOPQRSTU")
# Table 3: best response and peak IFN-gamma (pg/mL; None = never above the detection limit)
TABLE3 = {
    "A": ("SD", 363),
    "B": ("PR", 285),
    "C": ("PR", 686),
    "D": ("SD", 174),
    "E": ("PD", None),
    "F": ("PD", None),
    "G": ("CR", 1448),
    "H": ("SD", 124),
    "I": ("PR", 1612),
    "J": ("PD", None),
    "K": ("SD", 183),
    "L": ("PD", None),
    "M": ("SD", 331),
    "N": ("PD", None),
    "O": ("PD", None),
    "P": ("PD", None),
    "Q": ("SD", 128),
    "R": ("PD", None),
    "S": ("PD", None),
    "T": ("PR", 262),
    "U": ("PD", None),
}
# Table 4: patients by worst grade (grade 1, 2, 3, 4), whole-patient counts of the published percentages
TABLE4 = {
    "Fatigue": (1, 16, 3, 0),
    "Chills": (16, 1, 0, 0),
    "Nausea": (8, 6, 0, 0),
    "Alopecia": (5, 7, 0, 0),
    "Anorexia": (4, 6, 1, 0),
    "Neuropathy": (7, 2, 2, 0),
    "Arthralgia": (5, 4, 1, 0),
    "Myalgia": (5, 5, 0, 0),
    "Anemia": (5, 4, 0, 0),
    "Leukopenia": (1, 2, 5, 1),
    "Neutropenia": (0, 0, 3, 3),
    "Thrombocytopenia": (2, 0, 0, 0),
}
TABLE4_TERM = {"Decreased appetite": "Anorexia", "Neuropathy peripheral": "Neuropathy", "Anaemia": "Anemia"}


@pytest.fixture(scope="module")
def bundle(nci84_bundles):
    return nci84_bundles[1]


def frame(bundle, name) -> pd.DataFrame:
    return bundle.datasets[name].frame


def test_usubjid_is_studyid_site_subject(bundle):
    dm = frame(bundle, "DM")
    assert dm["USUBJID"].tolist() == [f"NCI84-001-{p}" for p in PATIENTS]
    assert dm["SUBJID"].tolist() == PATIENTS


def test_rfstdtc_is_first_dose_per_subject(bundle):
    dosing = pd.read_csv(SOURCES / "dosing.csv", dtype=str)
    first = dosing.groupby("subject_id")["admin_date"].min()
    last = dosing.groupby("subject_id")["admin_date"].max()
    dm = frame(bundle, "DM").set_index("SUBJID")
    assert dm["RFSTDTC"].to_dict() == first.to_dict()
    assert dm["RFXSTDTC"].to_dict() == first.to_dict()
    assert dm["RFXENDTC"].to_dict() == last.to_dict()
    consent = pd.read_csv(SOURCES / "subjects.csv", dtype=str).set_index("subject_id")["consent_date"]
    assert dm["RFICDTC"].to_dict() == consent.to_dict()


def test_age_at_consent_equals_collected_age(bundle):
    subjects = pd.read_csv(SOURCES / "subjects.csv", dtype=str).set_index("subject_id")
    dm = frame(bundle, "DM").set_index("SUBJID")
    assert dm["AGE"].astype(int).to_dict() == subjects["age"].astype(int).to_dict()
    assert set(dm["AGEU"]) == {"YEARS"}
    assert dm["AGE"].median() == 56 and dm["AGE"].min() == 41 and dm["AGE"].max() == 81


def test_arms_follow_table3_dose_levels(bundle):
    dm = frame(bundle, "DM").set_index("SUBJID")
    assert dm.loc[list("ABC"), "ARMCD"].unique().tolist() == ["IL12IV100"]
    assert dm.loc[list("DEFGHI"), "ARMCD"].unique().tolist() == ["IL12IV300"]
    assert dm.loc[list("JKLMNOPQRSTU"), "ARMCD"].unique().tolist() == ["IL12SC200"]
    assert (dm["ACTARMCD"] == dm["ARMCD"]).all()


def test_study_day_is_never_zero(bundle):
    checked = {}
    for name, built in bundle.datasets.items():
        for column in built.frame.columns:
            if column.endswith("DY") and built.frame[column].dtype == "float64" and column != "VISITDY":
                values = built.frame[column].dropna()
                assert (values != 0).all(), f"{name}.{column} has a day 0"
                checked[f"{name}.{column}"] = len(values)
    # every study day variable, with its dated records (AEENDY: 8 AEs not resolved; RSDY: BESTRESP has no date)
    assert checked == {
        "AE.AESTDY": 189,
        "AE.AEENDY": 181,
        "CV.CVDY": 21,
        "DM.DMDY": 21,
        "DS.DSSTDY": 62,
        "DV.DVSTDY": 3,
        "EX.EXSTDY": 1101,
        "EX.EXENDY": 1101,
        "IE.IEDY": 3,
        "LB.LBDY": 8312,
        "MH.MHDY": 21,
        "MI.MIDY": 21,
        "RS.RSDY": 94,
        "SE.SESTDY": 84,
        "SE.SEENDY": 84,
        "SV.SVSTDY": 1049,
        "SV.SVENDY": 1049,
        "TR.TRDY": 327,
        "TU.TUDY": 70,
    }


def test_first_dose_is_study_day_1(bundle):
    ex = frame(bundle, "EX")
    dm = frame(bundle, "DM").set_index("USUBJID")
    on_first_day = ex[ex["EXSTDTC"] == ex["USUBJID"].map(dm["RFSTDTC"])]
    assert set(on_first_day["EXSTDY"]) == {1.0}
    assert len(on_first_day["USUBJID"].unique()) == 21


@pytest.mark.parametrize("name", ["AE", "EX", "LB", "RS", "DS", "SE"])
def test_seq_is_unique_within_subject(bundle, name):
    data = frame(bundle, name)
    seq = f"{name}SEQ"
    assert not data.duplicated(["USUBJID", seq]).any()
    # consecutive from 1 within each subject
    counts = data.groupby("USUBJID")[seq].agg(["min", "max", "count"])
    assert (counts["min"] == 1).all() and (counts["max"] == counts["count"]).all()


def test_every_codelist_value_is_in_ct_or_a_declared_extension(bundle):
    from sdtmify.metadata.ct import load_ct

    ct = load_ct()
    for codelist in bundle.metadata.codelists:
        if codelist.dictionary:
            continue
        for item in codelist.items:
            if item.extended:
                assert codelist.extensible, f"{codelist.oid} {item.coded_value}"
                continue
            term = ct.term(codelist.oid, item.coded_value)
            assert term is not None and term.c_code == item.c_code, f"{codelist.oid}: {item.coded_value}"
    testcd = bundle.metadata.codelist("CL.LBTESTCD")
    assert {i.coded_value for i in testcd.items if i.extended} == set()  # every test code is in CT
    codes = {i.coded_value: i.c_code for i in testcd.items if not i.extended}
    assert (codes["IFNG"], codes["MIP1A"], codes["RANTES"]) == ("C81996", "C82023", "C81957")


def test_codelist_values_in_data_are_stated(bundle):
    """Every Char value of a variable with a codelist is among the codelist's stated terms."""
    stated = {cl.oid: set(cl.values()) for cl in bundle.metadata.codelists if not cl.dictionary}
    for name, built in bundle.datasets.items():
        for var in built.meta.variables:
            if var.codelist in stated and var.type == "Char":
                values = set(built.frame[var.name]) - {""}
                assert values <= stated[var.codelist], f"{name}.{var.name}: {values - stated[var.codelist]}"


def test_rs_best_response_equals_table3(bundle):
    rs = frame(bundle, "RS")
    best = rs[rs["RSTESTCD"] == "BESTRESP"].set_index("USUBJID")["RSORRES"]
    assert best.to_dict() == {f"NCI84-001-{p}": TABLE3[p][0] for p in PATIENTS}
    recist = rs[rs["RSTESTCD"] != "KPSS0101"]
    assert set(recist["RSCAT"]) == {"RECIST 1.0"} and set(rs["RSCAT"]) == {"RECIST 1.0", "KPS SCALE"}
    assert set(recist["RSEVAL"]) == {"INVESTIGATOR"}


def test_no_response_before_il12(bundle):
    rs = frame(bundle, "RS")
    after_cycle1 = rs[rs["VISIT"] == "AFTER CYCLE 1"]
    assert len(after_cycle1) == 21
    assert not after_cycle1["RSORRES"].isin(["CR", "PR"]).any()


def test_lb_ifng_peaks_equal_table3(bundle):
    lb = frame(bundle, "LB")
    ifng = lb[lb["LBTESTCD"] == "IFNG"]
    peaks = ifng.groupby("USUBJID")["LBSTRESN"].max()
    for patient, (_, peak) in TABLE3.items():
        value = peaks[f"NCI84-001-{patient}"]
        if peak is None:
            assert pd.isna(value), patient
            assert set(ifng.loc[ifng["USUBJID"] == f"NCI84-001-{patient}", "LBSTRESC"]) <= {"<10", ""}
        else:
            assert value == peak, patient


def test_below_limit_results_keep_text_and_no_number(bundle):
    lb = frame(bundle, "LB")
    below = lb[lb["LBORRES"].str.startswith("<")]
    assert len(below) > 100
    assert (below["LBSTRESC"] == below["LBORRES"]).all()
    assert below["LBSTRESN"].isna().all()
    assert (below["LBNRIND"] == "").all()


def test_hemoglobin_is_converted_to_g_per_l(bundle):
    lb = frame(bundle, "LB")
    hgb = lb[(lb["LBTESTCD"] == "HGB") & (lb["LBORRES"] != "")]
    assert set(hgb["LBORRESU"]) == {"g/dL"} and set(hgb["LBSTRESU"]) == {"g/L"}
    original = pd.to_numeric(hgb["LBORRES"])
    assert ((hgb["LBSTRESN"] - original * 10).abs() < 1e-9).all()


def test_ae_worst_grades_give_table4_counts(bundle):
    ae = frame(bundle, "AE")
    ae = ae.assign(TERM=ae["AEDECOD"].map(lambda t: TABLE4_TERM.get(t, t)), GRADE=ae["AETOXGR"].astype(int))
    worst = ae.groupby(["TERM", "USUBJID"])["GRADE"].max().reset_index()
    for term, expected in TABLE4.items():
        counts = worst[worst["TERM"] == term]["GRADE"].value_counts()
        assert tuple(int(counts.get(g, 0)) for g in (1, 2, 3, 4)) == expected, term


def test_lab_toxicity_grade_matches_worst_hematologic_ae(bundle):
    lb, ae = frame(bundle, "LB"), frame(bundle, "AE")
    graded = lb[lb["LBTOXGR"] != ""].assign(GRADE=lambda f: f["LBTOXGR"].astype(int))
    worst_lab = graded.groupby(["USUBJID", "LBTESTCD"])["GRADE"].max()
    for pt, testcd in (
        ("Neutropenia", "NEUT"),
        ("Leukopenia", "WBC"),
        ("Anaemia", "HGB"),
        ("Thrombocytopenia", "PLAT"),
    ):
        worst_ae = ae[ae["AEDECOD"] == pt].groupby("USUBJID")["AETOXGR"].max().astype(int)
        for usubjid in worst_lab.index.get_level_values(0).unique():
            assert worst_lab.get((usubjid, testcd), 0) == worst_ae.get(usubjid, 0), (usubjid, testcd)


def test_dose_limiting_toxicity_in_suppae_for_e_and_f_only(bundle):
    supp = frame(bundle, "SUPPAE")
    dlt = supp[(supp["QNAM"] == "AEDLT") & (supp["QVAL"] == "Y")]
    assert sorted(dlt["USUBJID"]) == ["NCI84-001-E", "NCI84-001-F"]
    ae = frame(bundle, "AE").set_index(["USUBJID", "AESEQ"])
    for _, row in dlt.iterrows():
        parent = ae.loc[(row["USUBJID"], float(row["IDVARVAL"]))]
        assert parent["AEDECOD"] == "Fatigue" and parent["AETOXGR"] == "3"
    assert set(supp["IDVAR"]) == {"AESEQ"} and set(supp["QLABEL"]) == {"Dose-Limiting Toxicity"}


def test_suppdm_holds_only_counts_without_a_record_level_home(bundle):
    supp = frame(bundle, "SUPPDM")
    assert set(supp["QNAM"]) == {"METSITES", "PRIORREG"}
    assert (supp["IDVAR"] == "").all() and (supp["RDOMAIN"] == "DM").all()
    assert supp["QNAM"].str.len().max() <= 8 and supp["QLABEL"].str.len().max() <= 40


def test_baseline_facts_in_their_domains_match_the_source(bundle):
    """Karnofsky in RS (KPS SCALE), HER2 in MI, LVEF in CV, primary cancer in MH, prior paclitaxel in CM:
    one record per patient each, with the value of subjects.csv."""
    subjects = pd.read_csv(SOURCES / "subjects.csv", dtype=str).set_index("subject_id")
    usubjid = "NCI84-001-" + subjects.index
    rs = frame(bundle, "RS")
    kps = rs[rs["RSTESTCD"] == "KPSS0101"].set_index("USUBJID")
    assert set(kps["RSCAT"]) == {"KPS SCALE"} and set(kps["RSTEST"]) == {"KPSS01-Karnofsky Performance Status"}
    assert set(kps["RSEVAL"]) == {"INVESTIGATOR"}  # the eligibility assessment is the investigator's
    assert kps.loc[usubjid, "RSSTRESC"].tolist() == subjects["karnofsky"].tolist()
    assert (
        kps.loc["NCI84-001-C", "RSORRES"] == "Cares for self; unable to carry on normal activity or to do active work."
    )
    mi = frame(bundle, "MI").set_index("USUBJID")
    assert set(mi["MITESTCD"]) == {"HER2"} and mi.loc[usubjid, "MIORRES"].tolist() == subjects["her2_ihc"].tolist()
    cv = frame(bundle, "CV").set_index("USUBJID")
    assert (
        set(cv["CVTESTCD"]) == {"LVEF"}
        and cv.loc[usubjid, "CVSTRESN"].tolist() == subjects["lvef"].astype(float).tolist()
    )
    assert set(cv["CVLOBXFL"]) == {"Y"}
    cm = frame(bundle, "CM").set_index("USUBJID")
    assert set(cm["CMTRT"]) == {"PACLITAXEL"} and set(cm["CMPRESP"]) == {"Y"}
    assert (cm["CMOCCUR"] == "Y").sum() == (subjects["prior_paclitaxel"] == "Yes").sum() == 4
    mh = frame(bundle, "MH").set_index("USUBJID")
    assert mh.loc["NCI84-001-D", "MHTERM"] == "Colorectal cancer" and set(mh["MHCAT"]) == {"PRIMARY CANCER DIAGNOSIS"}
    assert len(kps) == len(mi) == len(cv) == len(cm) == len(mh) == 21


def test_karnofsky_70_is_an_unmet_inclusion_and_a_deviation(bundle):
    """Inclusion INCL04 (Karnofsky > 70%) was not met by the three patients enrolled with 70 (C, N, P)."""
    ie, dv = frame(bundle, "IE"), frame(bundle, "DV")
    kps70 = ["NCI84-001-C", "NCI84-001-N", "NCI84-001-P"]
    assert ie[["USUBJID", "IETESTCD", "IECAT", "IEORRES", "IESTRESC"]].values.tolist() == [
        [u, "INCL04", "INCLUSION", "N", "N"] for u in kps70
    ]
    assert dv["USUBJID"].tolist() == kps70 and set(dv["DVCAT"]) == {"ELIGIBILITY CRITERIA NOT MET"}
    ti = frame(bundle, "TI").set_index("IETESTCD")
    assert ie["IETEST"].iloc[0] == ti.loc["INCL04", "IETEST"]


def test_ex_one_record_per_administration_in_protocol_units(bundle):
    ex = frame(bundle, "EX")
    dosing = pd.read_csv(SOURCES / "dosing.csv", dtype=str)
    assert len(ex) == len(dosing)
    il12 = ex[ex["EXTRT"] == "INTERLEUKIN-12"]
    assert set(il12["EXDOSU"]) == {"ng/kg"}
    assert set(ex["EXROUTE"]) == {"INTRAVENOUS", "SUBCUTANEOUS"}
    # cycle 1 has no IL-12 (Table 1); cycle and day are in VISIT/VISITNUM
    assert not il12["VISITNUM"].lt(200).any()
    loading = ex[(ex["EXTRT"] == "TRASTUZUMAB") & (ex["VISITNUM"] == 101)]
    assert set(loading["EXDOSE"]) == {4.0} and set(loading["VISIT"]) == {"CYCLE 1 DAY 1"}
    assert (ex.loc[ex["EXADJ"] != "", "EXTRT"] == "INTERLEUKIN-12").all()


def test_lineage_points_at_the_source_rows(bundle):
    lb = bundle.datasets["LB"]
    labs = pd.read_csv(SOURCES / "labs.csv", dtype=str, keep_default_na=False)
    rows = lb.lineage["SRCROW"].to_numpy() - 1
    assert (lb.lineage["SRCTABLE"] == "labs").all()
    assert (labs["collection_datetime"].to_numpy()[rows] == lb.frame["LBDTC"].to_numpy()).all()
    rs = bundle.datasets["RS"]
    assert set(rs.lineage["SRCTABLE"]) == {"tumor_assessments", "best_response", "subjects"}


def test_epochs_follow_the_subject_elements(bundle):
    ds = frame(bundle, "DS")
    consent = ds[ds["DSDECOD"] == "INFORMED CONSENT OBTAINED"]
    assert set(consent["EPOCH"]) == {"SCREENING"}
    ex = frame(bundle, "EX")
    assert set(ex["EPOCH"]) == {"TREATMENT"}


def test_trial_design_has_three_cohorts_and_il12_from_cycle_2(bundle):
    ta = frame(bundle, "TA")
    assert sorted(ta["ARMCD"].unique()) == ["IL12IV100", "IL12IV300", "IL12SC200"]
    assert ta[ta["TAETORD"] == 2]["ETCD"].unique().tolist() == ["TP"]
    se = frame(bundle, "SE")
    il12_start = se[se["ETCD"].str.startswith("TPI")].set_index("USUBJID")["SESTDY"]
    assert (il12_start == 23).all()  # cycle 2 day 2 of 21-day cycles
    ti = frame(bundle, "TI")
    assert "Karnofsky performance status > 70%" in set(ti["IETEST"])


def test_frames_follow_the_contract(bundle):
    for name, built in bundle.datasets.items():
        assert tuple(built.frame.columns) == built.meta.variable_names, name
        for var in built.meta.variables:
            column = built.frame[var.name]
            if var.type == "Char":
                assert not column.isna().any(), f"{name}.{var.name}"
                assert not (column == "nan").any(), f"{name}.{var.name}"
                assert var.length >= max(1, int(column.str.encode("utf-8").str.len().max() or 0))
            else:
                assert column.dtype == "float64", f"{name}.{var.name}"
            assert var.origin is not None, f"{name}.{var.name} has no origin"
        assert len(built.lineage) == len(built.frame)


def test_value_level_metadata_for_lb_rs_and_supp(bundle):
    lb = bundle.datasets["LB"].meta.variable("LBORRES")
    assert {vl.where[0].values[0] for vl in lb.value_levels} >= {"IFNG", "MIP1A", "HGB"}
    rs = bundle.datasets["RS"].meta.variable("RSORRES")
    assert {vl.where[0].values[0] for vl in rs.value_levels} == {"OVRLRESP", "BESTRESP", "KPSS0101"}
    qval = bundle.datasets["SUPPAE"].meta.variable("QVAL")
    assert [vl.label for vl in qval.value_levels] == ["Dose-Limiting Toxicity"]
    methods = {m.oid: m.description for m in bundle.metadata.methods}
    assert "no day 0" in methods["MT.AE.AESTDY"]


def test_build_is_deterministic(mini_home):
    """Two builds in one process give equal frames and metadata (test_build compares NCI84's files across
    processes); the 3-patient study keeps this cheap."""
    bundle = build_sdtm(load_study("NCI84"))
    again = build_sdtm(load_study("NCI84"))
    assert list(again.datasets) == list(bundle.datasets)
    for name, built in bundle.datasets.items():
        pd.testing.assert_frame_equal(built.frame, again.datasets[name].frame)
    assert again.metadata == bundle.metadata
    assert bundle.datasets["DM"].frame["USUBJID"].tolist() == ["NCI84-001-A", "NCI84-001-B", "NCI84-001-E"]


@pytest.mark.slow
def test_full_nci_ct_file_gives_the_same_codes(bundle, shared):
    """--ct with the full 2025-03 NCI EVS package: same terms and C-codes as the shipped subset."""
    full = build_sdtm(load_study("NCI84"), ct_file=shared / "reference" / "ct" / "SDTM_Terminology_2025-03.txt.xz")
    assert full.metadata.codelists == bundle.metadata.codelists
    pd.testing.assert_frame_equal(full.datasets["LB"].frame, bundle.datasets["LB"].frame)


def test_ts_coded_values_match_their_ct_codes(bundle, shared):
    """TSVALCD is the NCI C-code of TSVAL (SDTMIG 3.4 section 7.6.1)."""
    from sdtmify.metadata.ct import read_nci_text

    terms = read_nci_text(shared / "reference" / "ct" / "SDTM_Terminology_2025-03.txt.xz")
    values = terms.groupby("code")["value"].agg(set)
    ts = frame(bundle, "TS")
    coded = ts[ts["TSVCDREF"] == "CDISC CT"]
    assert len(coded) == 16
    for _, row in coded.iterrows():
        assert row["TSVAL"] in values[row["TSVALCD"]], (row["TSPARMCD"], row["TSVAL"], row["TSVALCD"])
    assert ts.loc[ts["TSPARMCD"] == "ACTSUB", "TSVAL"].tolist() == ["21"]
    consent = pd.read_csv(SOURCES / "subjects.csv", dtype=str)["consent_date"].min()
    assert ts.loc[ts["TSPARMCD"] == "SSTDTC", "TSVAL"].tolist() == [consent]
    assert set(ts["TSPARMCD"]) == {
        *("ACTSUB", "ADDON", "AGEMAX", "AGEMIN", "CURTRT", "DCUTDESC", "DCUTDTC", "DOSE", "DOSFRQ", "DOSU"),
        *("HLTSUBJI", "INDIC", "INTMODEL", "INTTYPE", "LENGTH", "NARMS", "OBJPRIM", "OBJSEC", "OUTMSPRI", "PCLAS"),
        *("PLANSUB", "RANDOM", "REGID", "ROUTE", "SDTIGVER", "SDTMVER", "SENDTC", "SEVCRIT", "SEXPOP", "SPONSOR"),
        *("SSTDTC", "STOPRULE", "STYPE", "TBLIND", "TCNTRL", "TDIGRP", "TITLE", "TPHASE", "TRT", "TTYPE"),
    }
    assert len(ts) == 46  # CURTRT and TTYPE twice; DOSE and ROUTE once per dose level (100, 300, 200)


def test_ts_carries_registry_dictionary_codes_cutoff_and_severity_criteria(bundle):
    """SDTMIG 3.4 7.6.1 / FDA TCG 6.6.1: registry id, SNOMED diagnosis group, UNII products, the data
    cut-off of study.yaml and the CTCAE version in which AEs are graded."""
    ts = frame(bundle, "TS").set_index(["TSPARMCD", "TSSEQ"])
    assert tuple(ts.loc[("REGID", 1), ["TSVAL", "TSVALCD", "TSVCDREF"]]) == (
        "NCT00028535",
        "NCT00028535",
        "ClinicalTrials.gov",
    )
    assert tuple(ts.loc[("TDIGRP", 1), ["TSVALCD", "TSVCDREF"]]) == ("363346000", "SNOMED")
    products = ts.loc[ts.index.get_level_values(0) == "CURTRT", ["TSVAL", "TSVALCD", "TSVCDREF"]]
    assert products.values.tolist() == [["TRASTUZUMAB", "P188ANX8CK", "UNII"], ["PACLITAXEL", "P88XT4IS4D", "UNII"]]
    assert tuple(ts.loc[("DOSFRQ", 1), ["TSVAL", "TSVALCD"]]) == ("2 TIMES PER WEEK", "C64497")
    assert ts.loc[("DCUTDTC", 1), "TSVAL"] == load_study("NCI84").config["study"]["data_cutoff"] == "2007-09-21"
    assert ts.loc[("SENDTC", 1), "TSVAL"] == "2007-09-21"
    assert "version 3.0" in ts.loc[("SEVCRIT", 1), "TSVAL"]
    assert {"OUTMSPRI", "STOPRULE", "DCUTDESC"} <= set(ts.index.get_level_values(0))


@pytest.mark.slow
def test_xpt_files_read_back_equal(bundle, tmp_path):
    """`sdtmify build` writes XPT v5; a real reader (pyreadstat) gives back the same values."""
    import numpy as np
    import pyreadstat

    from sdtmify.writers.outputs import write_bundle

    study = load_study("NCI84")
    write_bundle(bundle, tmp_path, study)
    for name in ("DM", "AE", "LB", "RS", "SUPPAE", "TS"):
        data, meta = pyreadstat.read_xport(str(tmp_path / f"{name.lower()}.xpt"))
        built = bundle.datasets[name]
        assert list(data.columns) == list(built.meta.variable_names), name
        assert len(data) == len(built.frame), name
        for var in built.meta.variables:
            got, want = data[var.name], built.frame[var.name]
            if var.type == "Num":
                assert np.allclose(got.to_numpy(dtype=float), want.to_numpy(dtype=float), equal_nan=True), (
                    f"{name}.{var.name}"
                )
            else:
                assert got.fillna("").astype(str).str.rstrip().tolist() == want.str.rstrip().tolist(), (
                    f"{name}.{var.name}"
                )
        labels = {var.name: var.label for var in built.meta.variables}
        assert meta.column_names_to_labels == labels, name


def test_every_domain_is_sorted_and_unique_by_its_keys(bundle):
    """One source of truth: the keys define.xml states (KeySequence) sort the records and identify each one."""
    for name, built in bundle.datasets.items():
        keys = list(built.meta.keys)
        assert keys, name
        stated = sorted((v.key_sequence, v.name) for v in built.meta.variables if v.key_sequence)
        assert [n for _, n in stated] == keys, name
        records = built.frame[keys]
        assert not records.duplicated().any(), name
        ordered = records.sort_values(keys, kind="mergesort")
        assert ordered.index.tolist() == list(range(len(records))), f"{name} is not sorted by {keys}"


def test_mapping_keys_are_the_dataset_keys(bundle):
    """ds.yaml's keys, not the IG's natural keys, are the DS keys (they used to disagree)."""
    assert bundle.datasets["DS"].meta.keys == ("STUDYID", "USUBJID", "DSSTDTC", "DSDECOD")
    assert bundle.datasets["LB"].meta.keys == ("STUDYID", "USUBJID", "LBTESTCD", "LBDTC")
    assert bundle.datasets["SUPPAE"].meta.keys[:3] == ("STUDYID", "RDOMAIN", "USUBJID")


def test_limit_of_quantitation_is_lblloq_not_supplb(bundle):
    """LB assumption 5: the Findings qualifier --LLOQ may be added to LB, so no SUPPLB is needed."""
    assert "SUPPLB" not in bundle.datasets
    lb = frame(bundle, "LB")
    labs = pd.read_csv(SOURCES / "labs.csv", dtype=str, keep_default_na=False)
    cytokine = lb["LBCAT"] == "CYTOKINE"
    ifng = lb["LBTESTCD"] == "IFNG"
    assert set(lb.loc[ifng, "LBLLOQ"]) == {float(labs.loc[labs["test"] == "IFN-gamma", "lloq"].iloc[0])}
    assert lb.loc[~cytokine, "LBLLOQ"].isna().all()
    variable = bundle.datasets["LB"].meta.variable("LBLLOQ")
    assert (variable.label, variable.type, variable.core, variable.role) == (
        "Lower Limit of Quantitation",
        "Num",
        "Perm",
        "Variable Qualifier",
    )
    names = bundle.datasets["LB"].meta.variable_names
    assert names.index("LBTOXGR") < names.index("LBLLOQ") < names.index("VISITNUM")


def test_unscheduled_visits_are_numbered_after_every_earlier_visit(bundle):
    """SDTMIG 3.4 4.4.5: an unscheduled visit's VISITNUM follows the subject's visits before it, of any
    domain (a scan after cycle 4 comes after cycle 4's dosing visits, not after the last scan)."""
    sv = frame(bundle, "SV")
    unscheduled = sv[sv["VISIT"].str.startswith("UNSCHEDULED")]
    assert len(unscheduled) == 11
    for row in unscheduled.itertuples():
        same = sv[(sv["USUBJID"] == row.USUBJID) & (sv["SVSTDTC"] < row.SVSTDTC)]
        assert same["VISITNUM"].max() < row.VISITNUM, (row.USUBJID, row.VISIT)
        later = sv[(sv["USUBJID"] == row.USUBJID) & (sv["SVSTDTC"] > row.SVSTDTC)]
        assert (later["VISITNUM"] > row.VISITNUM).all(), (row.USUBJID, row.VISIT)


def test_trial_visits_are_numbered_in_the_order_of_their_planned_days(bundle):
    tv = frame(bundle, "TV").sort_values("VISITNUM")
    assert tv["VISITDY"].astype(float).is_monotonic_increasing
    assert tv.loc[tv["VISIT"] == "MONTH 6", "VISITNUM"].astype(float).tolist() == [914.0]


def test_lb_tests_not_done_carry_no_result_unit_or_range(bundle):
    """SDTMIG 3.4 4.5.1.2: a test not done (LBSTAT = NOT DONE, LBREASND) has no result, unit or range."""
    lb = frame(bundle, "LB")
    not_done = lb[lb["LBSTAT"] == "NOT DONE"]
    assert len(not_done) == 176 and (not_done["LBREASND"] != "").all()
    for column in ("LBORRES", "LBORRESU", "LBORNRLO", "LBORNRHI", "LBSTRESC", "LBSTRESU", "LBNRIND"):
        assert (not_done[column] == "").all(), column
    assert not_done[["LBSTRESN", "LBSTNRLO", "LBSTNRHI", "LBLLOQ"]].isna().all().all()


def recist_from_sums(sums: list[float]) -> list[str]:
    """RECIST target response of each post-baseline sum of diameters (``sums[0]`` is baseline): CR when
    0; PD when >= 120% of the nadir (smallest earlier sum, baseline included) and >= 5 mm above it;
    PR when <= 70% of baseline; SD otherwise."""
    responses, nadir = [], sums[0]
    for total in sums[1:]:
        if total == 0:
            responses.append("CR")
        elif total >= 1.2 * nadir and total - nadir >= 5:
            responses.append("PD")
        elif total <= 0.7 * sums[0]:
            responses.append("PR")
        else:
            responses.append("SD")
        nadir = min(nadir, total)
    return responses


def test_recist_from_sums_by_hand():
    # baseline 100: 70 is PR (30% down), 71 SD, nadir 70 -> 84 is PD (20% and 14 mm), 0 CR, then 4 is not PD (< 5 mm)
    assert recist_from_sums([100, 70, 71, 84]) == ["PR", "SD", "PD"]
    assert recist_from_sums([100, 0, 4, 5]) == ["CR", "PR", "PD"]
    assert recist_from_sums([20, 23]) == ["SD"]  # 15% up: not PD


def test_target_lesion_sums_reproduce_every_collected_response(bundle):
    """TU holds the baseline target lesions, TR their diameters at baseline and every RS assessment;
    the response derived from the sums of diameters equals the collected RS OVRLRESP each time."""
    tu, tr, rs = frame(bundle, "TU"), frame(bundle, "TR"), frame(bundle, "RS")
    assert set(tu["TUSTRESC"]) == {"TARGET"} and tu["USUBJID"].nunique() == 21
    assert set(tr["TRTESTCD"]) == {"LDIAM"} and set(tr["TRSTRESU"]) == {"mm"}
    # every TR record belongs to a TU lesion, and every lesion is measured at every scan
    assert set(zip(tr["USUBJID"], tr["TRLNKID"], strict=True)) == set(zip(tu["USUBJID"], tu["TULNKID"], strict=True))
    sums = tr.groupby(["USUBJID", "TRDTC"])["TRSTRESN"].agg(["sum", "count"])
    lesions = tu.groupby("USUBJID").size()
    assert (sums["count"] == sums.index.get_level_values(0).map(lesions)).all()
    ovr = rs[rs["RSTESTCD"] == "OVRLRESP"]
    compared = 0
    for usubjid, collected in ovr.groupby("USUBJID"):
        collected = collected.sort_values("RSDTC")
        baseline_date = tu.loc[tu["USUBJID"] == usubjid, "TUDTC"].iloc[0]
        per_scan = sums.loc[usubjid, "sum"]
        assert list(per_scan.index) == [baseline_date, *collected["RSDTC"]]
        assert recist_from_sums(per_scan.tolist()) == collected["RSORRES"].tolist(), usubjid
        compared += len(collected)
    assert compared == len(ovr) == 73
