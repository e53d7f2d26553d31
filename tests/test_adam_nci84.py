"""NCI84 end to end: sources -> SDTM -> ADaM -> XPT (as `sdtmify build` writes them), read back by real
readers (pyreadstat, R haven) and compared with the paper's Table 3 (Mol Cancer Ther 2009;8(11):2983-91),
written here as literals."""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from sdtmify.reproducible import build_timestamp
from sdtmify.xport import SasFormat

# patient: (HER2, IL-12 dose, cycles received, best response, duration of response or SD (d), ongoing, peak IFN-g)
TABLE3 = {
    "A": ("3+", 100, 18, "SD", 475, False, 363),
    "B": ("3+", 100, 15, "PR", 329, False, 285),
    "C": ("3+", 100, 6, "PR", 128, False, 686),
    "D": ("3+", 300, 3, "SD", 143, False, 174),
    "E": ("3+", 300, 2, "PD", None, False, 0),
    "F": ("2+", 300, 3, "PD", None, False, 0),
    "G": ("3+", 300, 3, "CR", 1643, True, 1448),
    "H": ("2+", 300, 6, "SD", 126, False, 124),
    "I": ("2+", 300, 12, "PR", 303, False, 1612),
    "J": ("3+", 200, 3, "PD", None, False, 0),
    "K": ("2+", 200, 3, "SD", 100, False, 183),
    "L": ("2+", 200, 3, "PD", None, False, 0),
    "M": ("2+", 200, 15, "SD", 435, False, 331),
    "N": ("2+", 200, 2, "PD", None, False, 0),
    "O": ("2+", 200, 3, "PD", None, False, 0),
    "P": ("3+", 200, 2, "PD", None, False, 0),
    "Q": ("2+", 200, 9, "SD", 191, False, 128),
    "R": ("2+", 200, 3, "PD", None, False, 0),
    "S": ("2+", 200, 3, "PD", None, False, 0),
    "T": ("3+", 200, 8, "PR", 177, False, 262),
    "U": ("2+", 200, 3, "PD", None, False, 0),
}
ADAM = ("ADAE", "ADLB", "ADRS", "ADSL", "ADTTE")


@pytest.fixture(scope="module")
def built(nci84_output, nci84_bundles):
    """NCI84's ADaM: in memory (the session's bundles), and as ``sdtmify build`` wrote it (the session's build).

    Returns (ADaM bundle, folder of the build's ADaM XPT files, SDTM bundle, study)."""
    study, sdtm, adam = nci84_bundles
    return adam, nci84_output[0] / "adam", sdtm, study


def read(folder, name: str) -> tuple[pd.DataFrame, object]:
    return pyreadstat.read_xport(str(folder / f"{name.lower()}.xpt"), disable_datetime_conversion=True)


def per_subject(frame: pd.DataFrame, column: str) -> dict:
    return dict(zip(frame["SUBJID"], frame[column], strict=False))


def test_adsl_reproduces_table3_subject_values(built):
    folder = built[1]
    adsl, meta = read(folder, "ADSL")
    assert len(adsl) == 21 and adsl["USUBJID"].is_unique
    assert per_subject(adsl, "HER2IHC") == {p: row[0] for p, row in TABLE3.items()}
    assert per_subject(adsl, "TRT01DOS") == {p: float(row[1]) for p, row in TABLE3.items()}
    assert per_subject(adsl, "CYCLESN") == {p: float(row[2]) for p, row in TABLE3.items()}
    assert per_subject(adsl, "BOR") == {p: row[3] for p, row in TABLE3.items()}
    assert SasFormat.parse(meta.original_variable_types["TRTSDT"]) == SasFormat("DATE", 9)  # "DATE9." or "DATE9"
    assert adsl["SAFFL"].eq("Y").all()
    # the paper's footnotes: G off study for an incidental pulmonary embolism, D lost to follow-up
    assert "embolism" in per_subject(adsl, "DCTREASP")["G"].lower()
    assert per_subject(adsl, "DCSREAS")["D"] == "LOST TO FOLLOW-UP"
    assert per_subject(adsl, "EOTSTT")["A"] == "COMPLETED"


def test_headline_response_counts(built):
    adsl, _ = read(built[1], "ADSL")
    assert adsl["BOR"].value_counts().to_dict() == {"PD": 10, "SD": 6, "PR": 4, "CR": 1}
    assert (adsl["CBRFL"] == "Y").sum() == 11
    responders = adsl[adsl["BOR"].isin(["CR", "PR"])]
    assert (responders["HER2IHC"] == "3+").sum() == 4
    dlt = adsl.groupby("TRT01DOS")["DLTFL"].apply(lambda s: (s == "Y").sum()).to_dict()
    assert dlt == {100.0: 0, 200.0: 0, 300.0: 2}


def test_adrs_bor_agrees_with_collected_best_response(built):
    adam, folder = built[:2]
    adrs, _ = read(folder, "ADRS")
    bor = adrs[adrs["PARAMCD"] == "BOR"]
    assert per_subject(bor, "AVALC") == {p: row[3] for p, row in TABLE3.items()}
    assert bor["BORDIFFL"].eq("N").all() and adam.notes == []
    assert sorted(adrs["PARAMCD"].unique()) == [
        "BCP", "BOR", "CB", "CBCP", "CBOR", "CBR", "CCB", "CRSP", "DEATH", "LSTA", "MDIS", "OVR", "PD", "RSP"
    ]  # fmt: skip
    # MDIS: every patient had target lesions at the baseline scan (TU), dated that scan, before day 1
    mdis = adrs[adrs["PARAMCD"] == "MDIS"]
    assert per_subject(mdis, "AVALC") == {p: "Y" for p in TABLE3}
    assert set(mdis["SRCDOM"]) == {"TU"} and (mdis["ADY"] < 0).all()
    rsp = adrs[adrs["PARAMCD"] == "RSP"]
    assert (rsp["AVALC"] == "Y").sum() == 5
    # Confirmation (28 days): C's and T's single PRs were followed by PD, so only B, G and I respond.
    assert sorted(adrs.loc[(adrs["PARAMCD"] == "CRSP") & (adrs["AVALC"] == "Y"), "SUBJID"]) == ["B", "G", "I"]
    cbor = per_subject(adrs[adrs["PARAMCD"] == "CBOR"], "AVALC")
    assert {p: v for p, v in cbor.items() if v != TABLE3[p][3]} == {"C": "SD", "T": "SD"}


def test_adtte_durrsd_equals_table3_days(built):
    adtte, _ = read(built[1], "ADTTE")
    durrsd = adtte[adtte["PARAMCD"] == "DURRSD"]
    expected = {p: float(row[4]) for p, row in TABLE3.items() if row[4] is not None}
    assert per_subject(durrsd, "AVAL") == expected
    censored = {p for p, c in per_subject(durrsd, "CNSR").items() if c == 1}
    assert censored == {"G", "D"}  # G ongoing CR (1,643+), D lost to follow-up
    assert (durrsd["AVAL"] == durrsd["ADT"] - durrsd["STARTDT"] + 1).all()
    pfs = adtte[adtte["PARAMCD"] == "PFS"]
    assert len(pfs) == 21 and per_subject(pfs, "AVAL")["A"] == 475.0
    dor = adtte[adtte["PARAMCD"] == "DOR"]
    assert sorted(dor["SUBJID"]) == ["B", "C", "G", "I", "T"]
    assert (dor["AVAL"] < dor["SUBJID"].map(expected)).all()


def test_adtte_os_ttp_ttr_and_their_methods_in_prose(built):
    adam, folder = built[:2]
    adtte, _ = read(folder, "ADTTE")
    adsl, _ = read(folder, "ADSL")
    assert sorted(adtte["PARAMCD"].unique()) == ["DOR", "DURRSD", "OS", "PFS", "TTP", "TTR"]
    # Nobody died: OS is censored for all 21 at the last contact (DM.RFPENDTC), e.g. G at 1,643 days.
    os_ = adtte[adtte["PARAMCD"] == "OS"]
    assert os_["CNSR"].eq(1).all() and len(os_) == 21 and per_subject(os_, "AVAL")["G"] == 1643.0
    assert per_subject(os_, "ADT") == per_subject(adsl, "LSTALVDT")
    # TTP: progression only, so equal to PFS here; TTR: first dose to the first PR/CR (day 61 for all 5).
    ttp, pfs = (adtte[adtte["PARAMCD"] == c].set_index("SUBJID")["AVAL"] for c in ("TTP", "PFS"))
    assert ttp.equals(pfs)
    assert per_subject(adtte[adtte["PARAMCD"] == "TTR"], "AVAL") == dict.fromkeys("BCGIT", 61.0)
    methods = {m.oid: m.description for m in adam.metadata.methods}
    assert methods["MT.ADTTE.PFS"] == (
        "Progression-free survival. Start: ADSL.TRTSDT (FIRST DOSE). Event (CNSR = 0): the first ADRS.ADT with "
        "PARAMCD=PD, AVALC=Y (DISEASE PROGRESSION) or ADSL.DTHDT (DEATH), whichever comes first, on or after "
        "the start date. Otherwise censored at the latest of: the last ADRS.ADT with PARAMCD=OVR, AVALC=CR or PR "
        "or SD (LAST ADEQUATE TUMOR ASSESSMENT) (CNSR = 1); ADSL.TRTSDT (NO ADEQUATE POST-BASELINE ASSESSMENT) "
        "(CNSR = 2). Population: ADSL records with SAFFL=Y. AVAL = ADT - STARTDT + 1 (days). Data cut-off "
        "2007-09-21 (study.yaml): later dates are not used."
    )
    # The variable-level method states the general rule, not the first parameter's declaration.
    assert "Study parameters" not in methods["MT.ADTTE.AVAL"] and "by PARAMCD" in methods["MT.ADTTE.AVAL"]


def test_adlb_ifng_maximum_equals_table3_peaks(built):
    adlb, _ = read(built[1], "ADLB")
    ifng = adlb[adlb["PARAMCD"] == "IFNG"]
    measured = ifng[ifng["DTYPE"] == ""]  # the published peaks are of measured values
    peaks = measured.groupby("SUBJID")["AVAL"].max().reindex(sorted(TABLE3)).fillna(0).to_dict()
    assert peaks == {p: float(row[6]) for p, row in TABLE3.items()}
    below = ifng[ifng["AVALC"].str.startswith("<")]
    assert set(below["AVALC"]) == {"<10"} and set(below["DTYPE"]) == {"HALFLLOQ"} and set(below["AVAL"]) == {5.0}
    assert set(adlb["PARAMCD"]) == {"IFNG", "TNF", "CXCL10", "CXCL9", "INTLK8", "MIP1A", "RANTES"} | {
        "WBC",
        "NEUT",
        "HGB",
        "PLAT",
    }


def test_no_study_day_zero_anywhere(built):
    for name, column in (("ADLB", "ADY"), ("ADRS", "ADY"), ("ADAE", "ASTDY"), ("ADAE", "AENDY")):
        frame, _ = read(built[1], name)
        assert not (frame[column] == 0).any(), (name, column)


def test_adae_worst_grade_flag_one_per_subject_and_term(built):
    adae, _ = read(built[1], "ADAE")
    worst = adae[adae["AOCCPIFL"] == "Y"]
    assert not worst.duplicated(["USUBJID", "AEDECOD"]).any()
    top = adae[adae["TRTEMFL"] == "Y"].groupby(["USUBJID", "AEDECOD"])["ATOXGRN"].max()
    assert worst.set_index(["USUBJID", "AEDECOD"])["ATOXGRN"].sort_index().equals(top.sort_index())
    dlt = adae[adae["AEDLT"] == "Y"]
    assert sorted(dlt["SUBJID"]) == ["E", "F"] and set(dlt["AEDECOD"]) == {"Fatigue"}
    # The protocol's DLT definition (adae.yaml) flags exactly the events the investigator marked.
    assert adae["DLTFL"].tolist() == adae["AEDLT"].tolist()


def test_dlt_evaluable_population_and_dlts_by_dose_level(built):
    adam, folder = built[:2]
    adsl, _ = read(folder, "ADSL")
    assert adsl["DLTEVLFL"].eq("Y").all()  # E left before day 63 but had a DLT: evaluable
    evaluable = adsl[adsl["DLTEVLFL"] == "Y"]
    by_dose = evaluable.groupby("TRT01DOS")["DLTFL"].agg(lambda s: ((s == "Y").sum(), len(s))).to_dict()
    assert by_dose == {100.0: (0, 3), 200.0: (0, 12), 300.0: (2, 6)}  # the paper: 2 of 6 at 300 ng/kg


def test_xpt_matches_in_memory_frames_and_lineage_points_to_sdtm(built):
    adam, folder = built[:2]
    for name in ADAM:
        frame, meta = read(folder, name)
        memory = adam.datasets[name].frame
        assert list(frame.columns) == list(memory.columns)
        for column in memory.columns:
            if memory[column].dtype == "float64":
                assert np.allclose(frame[column], memory[column], equal_nan=True), (name, column)
            else:
                assert frame[column].tolist() == memory[column].tolist(), (name, column)
        lineage = adam.datasets[name].lineage
        assert lineage["SRCROW"].notna().all(), name
    adrs = adam.datasets["ADRS"]
    ovr = adrs.frame["PARAMCD"] == "OVR"
    assert set(adrs.lineage.loc[ovr, "SRCTABLE"]) == {"RS"}


def test_r_haven_reads_adsl_and_adtte(built, rscript):
    folder = built[1]
    script = (
        f'library(haven); a <- read_xpt("{folder / "adsl.xpt"}"); t <- read_xpt("{folder / "adtte.xpt"}");'
        'd <- t[t$PARAMCD == "DURRSD", ]; cat(nrow(a), sum(a$BOR == "PR"), format(a$TRTSDT[1]),'
        'attr(a$TRTSDT, "format.sas"), sum(d$AVAL), sep = "|")'
    )
    out = subprocess.run([rscript, "-e", script], capture_output=True, text=True, check=True).stdout
    adsl, _ = read(folder, "ADSL")
    first = (pd.Timestamp("1960-01-01") + pd.Timedelta(days=adsl["TRTSDT"].iloc[0])).strftime("%Y-%m-%d")
    total = sum(row[4] for row in TABLE3.values() if row[4] is not None)
    assert out.split("|") == ["21", "4", first, "DATE9", str(total)]


def test_rebuilding_gives_byte_identical_xpt_to_the_build(built, tmp_path):
    from sdtmify.adam.engine import build_adam
    from sdtmify.metadata.serialize import to_dict
    from sdtmify.writers import xpt
    from sdtmify.writers.outputs import xpt_options

    adam, folder, sdtm, study = built
    again = build_adam(study, sdtm)
    stamp = build_timestamp(study.timestamp)
    for name, dataset in again.datasets.items():
        target = tmp_path / f"{name.lower()}.xpt"
        xpt.write_xpt(dataset.frame, dataset.meta, target, created=stamp, modified=stamp, **xpt_options(study))
        assert target.read_bytes() == (folder / target.name).read_bytes(), name
    assert to_dict(again.metadata) == to_dict(adam.metadata)
