"""End to end: `sdtmify build` of NCI84 into a temporary folder, then the paper's Tables 2-4 read
back from the ADaM XPT files it wrote (pyreadstat, as a reviewer would) and from the report.

The expected values are re-stated here from the paper's text, independently of published.yaml, so
that a typo in either place fails a test."""

from __future__ import annotations

import pandas as pd
import pyreadstat
import pytest

pytestmark = pytest.mark.slow

# Table 3 of the paper, as printed (tumor type, patient (HER2), dose level, cycles, best response,
# duration of response or SD in days, peak IFN-gamma in pg/mL).
TABLE3 = """
Breast A (3+) 100 18 SD 475 363
Breast B (3+) 100 15 PR 329 285
Breast C (3+) 100 6 PR 128 686
Colorectal D (3+) 300 3 SD 143 174
Breast E (3+) 300 2 PD — 0
Colorectal F (2+) 300 3 PD — 0
Breast G (3+) 300 3 CR 1,643+ 1,448
Breast H (2+) 300 6 SD 126 124
Esophagus I (2+) 300 12 PR 303 1,612
Colorectal J (3+) 200 3 PD — 0
Colorectal K (2+) 200 3 SD 100 183
Colorectal L (2+) 200 3 PD — 0
Stomach M (2+) 200 15 SD 435 331
Thyroid N (2+) 200 2 PD — 0
Pancreas O (2+) 200 3 PD — 0
Breast P (3+) 200 2 PD — 0
Stomach Q (2+) 200 9 SD 191 128
Esophagus R (2+) 200 3 PD — 0
Esophagus S (2+) 200 3 PD — 0
Esophagus T (3+) 200 8 PR 177 262
Colorectal U (2+) 200 3 PD — 0
"""
# Table 4: toxicity -> printed % at grades 1, 2, 3 and Total (of 21 patients).
TABLE4 = {
    "Fatigue": (5, 76, 14, 95),
    "Chills": (76, 5, 0, 81),
    "Nausea": (38, 29, 0, 67),
    "Alopecia": (24, 33, 0, 57),
    "Anorexia": (18, 29, 5, 52),
    "Neuropathy": (33, 10, 10, 53),
    "Arthralgia": (24, 20, 5, 49),
    "Myalgia": (24, 24, 0, 48),
    "Anemia": (24, 20, 0, 44),
    "Leukopenia": (5, 10, 24, 44),
    "Neutropenia": (0, 0, 15, 30),
    "Thrombocytopenia": (10, 0, 0, 10),
}


def table3_rows() -> pd.DataFrame:
    rows = []
    for line in TABLE3.strip().splitlines():
        tumor, patient, her2, dose, cycles, best, duration, peak = line.split()
        rows.append(
            {
                "SUBJID": patient,
                "TUMTYPE": tumor,
                "HER2IHC": her2.strip("()"),
                "DOSE": int(dose),
                "CYCLESN": int(cycles),
                "BOR": best,
                "DURATION": duration.replace(",", ""),
                "PEAK": int(peak.replace(",", "")),
            }
        )
    return pd.DataFrame(rows).set_index("SUBJID")


@pytest.fixture(scope="session")
def nci84_build(nci84_output):
    """NCI84 built once into a temporary folder (every stage, report included)."""
    return nci84_output


def read_xpt(folder, name: str) -> pd.DataFrame:
    frame, _meta = pyreadstat.read_xport(str(folder / "adam" / f"{name}.xpt"))
    return frame


def test_build_writes_the_report_with_no_unexplained_mismatch(nci84_build):
    out, result = nci84_build
    assert result.report_mismatches == 0
    comparison = pd.read_csv(out / "report" / "comparison.csv", dtype=str, keep_default_na=False)
    # every published value is judged: reproduced, within the paper's rounding, or synthetic (documented)
    assert comparison["Status"].value_counts().to_dict() == {"match": 266, "within rounding": 14, "synthetic": 5}
    for name in ("table2", "table3", "table4"):
        for suffix in ("csv", "md", "html"):
            assert (out / "report" / f"{name}.{suffix}").is_file()


def test_table3_per_patient_values_from_the_adam_xpt_files(nci84_build):
    out, _ = nci84_build
    expected = table3_rows()
    adsl = read_xpt(out, "adsl").set_index("SUBJID").loc[expected.index]
    assert adsl["TUMTYPE"].tolist() == expected["TUMTYPE"].tolist()
    assert adsl["HER2IHC"].tolist() == expected["HER2IHC"].tolist()
    assert adsl["TRT01DOS"].astype(int).tolist() == expected["DOSE"].tolist()
    assert adsl["CYCLESN"].astype(int).tolist() == expected["CYCLESN"].tolist()
    assert adsl["BOR"].tolist() == expected["BOR"].tolist()

    adtte = read_xpt(out, "adtte")
    durrsd = adtte[adtte["PARAMCD"] == "DURRSD"].set_index("USUBJID")
    by_subject = adsl.reset_index().set_index("USUBJID")["SUBJID"]
    recomputed = {by_subject[u]: (int(r.AVAL), int(r.CNSR)) for u, r in durrsd.iterrows()}
    printed = expected.loc[expected["DURATION"] != "—", "DURATION"]
    assert sorted(recomputed) == sorted(printed.index)
    for subject, text in printed.items():
        assert recomputed[subject][0] == int(text.rstrip("+")), subject
    assert recomputed["G"][1] == 1  # 1,643+: ongoing, censored

    adlb = read_xpt(out, "adlb")
    ifng = adlb[adlb["PARAMCD"] == "IFNG"]
    measured = ifng["DTYPE"].fillna("") == ""  # the published peaks are of measured values (not half the LLOQ)
    peak = ifng["AVAL"].where(measured).groupby(ifng["USUBJID"]).max().fillna(0)
    peaks = {by_subject[u]: int(v) for u, v in peak.items()}
    assert peaks == expected["PEAK"].to_dict()


def test_table3_as_reported(nci84_build):
    out, _ = nci84_build
    expected = table3_rows()
    table = pd.read_csv(out / "report" / "table3.csv", dtype=str, keep_default_na=False).set_index("Patient")
    assert table.loc[expected.index, "Duration of response or SD (d)"].tolist() == expected["DURATION"].tolist()
    assert table.loc[expected.index, "Peak IFN-γ level (pg/mL)"].astype(int).tolist() == expected["PEAK"].tolist()
    assert table.loc[expected.index, "Best response"].tolist() == expected["BOR"].tolist()


def test_table2_counts_from_adsl(nci84_build):
    out, _ = nci84_build
    adsl = read_xpt(out, "adsl")
    assert len(adsl) == 21
    assert (adsl["AGE"].median(), adsl["AGE"].min(), adsl["AGE"].max()) == (56, 41, 81)
    assert adsl["SEX"].value_counts().to_dict() == {"M": 11, "F": 10}
    karnofsky = adsl["KARNSCR"].map(lambda k: "90-100" if k >= 90 else "80-90" if k >= 80 else "70-80")
    assert karnofsky.value_counts().to_dict() == {"90-100": 12, "80-90": 6, "70-80": 3}
    assert adsl["TUMTYPE"].value_counts().to_dict() == {
        "Breast": 7,
        "Colorectal": 6,
        "Esophagus": 4,
        "Stomach": 2,
        "Pancreas": 1,
        "Thyroid": 1,
    }
    sites = adsl["METSITN"].clip(upper=3).value_counts().to_dict()
    assert sites == {1: 5, 2: 5, 3: 11}
    regimens = adsl["PRREGN"].clip(upper=2).value_counts().to_dict()
    assert regimens == {0: 5, 1: 4, 2: 12}
    assert (adsl["PRPACFL"] == "Y").sum() == 4
    table = pd.read_csv(out / "report" / "table2.csv", dtype=str, keep_default_na=False)
    assert table["Value"].tolist()[:2] == ["56", "41–81"]


def test_table4_worst_grades_within_documented_rounding(nci84_build):
    out, _ = nci84_build
    adae = read_xpt(out, "adae")
    adae = adae[adae["TRTEMFL"] == "Y"]
    worst = adae.groupby(["AEDECOD", "USUBJID"])["ATOXGRN"].max().reset_index()
    names = {"Anorexia": "Decreased appetite", "Neuropathy": "Neuropathy peripheral", "Anemia": "Anaemia"}
    for toxicity, printed in TABLE4.items():
        grades = worst.loc[worst["AEDECOD"].str.casefold() == names.get(toxicity, toxicity).casefold(), "ATOXGRN"]
        counts = [int((grades == g).sum()) for g in (1, 2, 3)] + [len(grades)]
        # Documented rounding: each printed % of 21 stands for the whole-patient count nearest to it.
        assert counts == [int(p * 21 / 100 + 0.5) for p in printed], toxicity
    report = pd.read_csv(out / "report" / "table4.csv", dtype=str, keep_default_na=False).set_index("Toxicity")
    assert report.loc["Fatigue"].tolist() == ["5", "76", "14", "95"]
    assert report.loc["Anorexia", "Grade 1 (%)"] == "19"  # 4/21; the paper prints 18


R_SCRIPT = r"""
library(haven)
d <- commandArgs(TRUE)[1]
adsl <- read_xpt(file.path(d, "adsl.xpt"))
adlb <- read_xpt(file.path(d, "adlb.xpt"))
adtte <- read_xpt(file.path(d, "adtte.xpt"))
ifng <- adlb[adlb$PARAMCD == "IFNG" & adlb$DTYPE == "", ]
peak <- tapply(ifng$AVAL, ifng$USUBJID, function(x) if (all(is.na(x))) 0 else max(x, na.rm = TRUE))
adsl$PEAK <- ifelse(is.na(peak[adsl$USUBJID]), 0, peak[adsl$USUBJID])
adsl$DET <- adsl$PEAK >= 10
tab <- table(factor(adsl$CBRFL, levels = c("Y", "N")), factor(adsl$DET, levels = c(TRUE, FALSE)))
cat(sprintf("fisher_p=%.15g\n", fisher.test(tab)$p.value))
pfs <- adtte[adtte$PARAMCD == "PFS" & adtte$CNSR == 0, ]
det <- adsl$DET[match(pfs$USUBJID, adsl$USUBJID)]
cat(sprintf("mw_p=%.15g\n", suppressWarnings(wilcox.test(pfs$AVAL[det], pfs$AVAL[!det])$p.value)))
cx <- adlb[adlb$PARAMCD == "CXCL10", ]
cxpk <- tapply(cx$AVAL, cx$USUBJID, max, na.rm = TRUE)
adsl$CX <- cxpk[adsl$USUBJID]
s <- adsl[!is.na(adsl$CX) & adsl$CX > 0, ]
cat(sprintf("kw_p=%.15g\n", kruskal.test(s$CX, factor(s$CBRFL))$p.value))
cat(sprintf("peak_%s=%.15g\n", adsl$SUBJID, adsl$PEAK), sep = "")
cat(sprintf("bor_%s=%d\n", names(table(adsl$BOR)), as.integer(table(adsl$BOR))), sep = "")
"""


@pytest.mark.r
def test_r_haven_reading_the_same_xpt_agrees_with_the_report(nci84_build, rscript, tmp_path):
    """A reviewer's R session (haven + stats) reading the ADaM XPT files gets the report's numbers."""
    import subprocess

    out, _ = nci84_build
    script = tmp_path / "check.R"
    script.write_text(R_SCRIPT, encoding="utf-8")
    run = subprocess.run([rscript, str(script), str(out / "adam")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    r = dict(line.split("=", 1) for line in run.stdout.strip().splitlines())
    cells = pd.read_csv(out / "report" / "cells.csv", dtype=str, keep_default_na=False).set_index("KEY")["VALUE"]
    assert float(cells["ifng_vs_benefit/p"]) == pytest.approx(float(r["fisher_p"]), rel=1e-9)
    assert float(cells["pfs_by_ifng/p"]) == pytest.approx(float(r["mw_p"]), rel=1e-9)
    assert float(cells["ip10_by_benefit/p"]) == pytest.approx(float(r["kw_p"]), rel=1e-9)
    for subject, peak in table3_rows()["PEAK"].items():
        assert float(r[f"peak_{subject}"]) == peak
        assert float(cells[f"table3/{subject}/Peak IFN-γ level (pg/mL)"]) == peak
    for level in ("CR", "PR", "SD", "PD"):
        assert cells[f"best_response/{level}"] == r[f"bor_{level}"]


def test_the_report_from_the_files_is_the_report_the_build_made_from_memory(nci84_build, tmp_path):
    """The build recomputes the report from the ADaM frames in memory (writers.readback); the report
    recomputed from the ADaM XPT files it wrote is the same, byte for byte."""
    from sdtmify.report.paper import build_report
    from sdtmify.study import load_study

    out, _ = nci84_build
    written, mismatches = build_report(load_study("NCI84"), out / "adam", tmp_path / "report")
    assert mismatches == 0
    from_files = {p.relative_to(tmp_path / "report"): p.read_bytes() for p in written}
    from_build = {p.relative_to(out / "report"): p.read_bytes() for p in (out / "report").rglob("*") if p.is_file()}
    assert from_files == from_build
