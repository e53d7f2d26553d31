"""Helpers for the report tests: small ADaM XPT files written with pyreadstat (XPT v5).

``paper_shaped_adam`` lays out ADaM datasets that carry the paper's per-patient facts (Table 3) and
aggregates (Tables 2 and 4) the way the ADaM stage names them, so report.yaml can be exercised
before (and independently of) a full build. Values the paper does not publish are made up here,
each chosen only to meet the published aggregate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat


def write_xpt(frame: pd.DataFrame, folder: Path, name: str) -> Path:
    """``frame`` as ``folder/<name>.xpt`` (SAS transport v5), numbers as doubles, text as char."""
    folder.mkdir(parents=True, exist_ok=True)
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            out[column] = out[column].astype(object).where(out[column].notna(), "").astype(str)
        else:
            out[column] = pd.to_numeric(out[column]).astype("float64")
    path = folder / f"{name.lower()}.xpt"
    pyreadstat.write_xport(out, str(path), table_name=name.upper(), file_format_version=5)
    return path


AE_TERMS = {
    "Fatigue": "Fatigue",
    "Chills": "Chills",
    "Nausea": "Nausea",
    "Alopecia": "Alopecia",
    "Anorexia": "Decreased appetite",
    "Neuropathy": "Neuropathy peripheral",
    "Arthralgia": "Arthralgia",
    "Myalgia": "Myalgia",
    "Anemia": "Anaemia",
    "Leukopenia": "Leukopenia",
    "Neutropenia": "Neutropenia",
    "Thrombocytopenia": "Thrombocytopenia",
}


def paper_shaped_adam(published: dict, folder: Path) -> dict[str, pd.DataFrame]:
    """ADSL, ADTTE, ADLB, ADAE reproducing every published number, written to ``folder``."""
    patients = pd.DataFrame(published["table3"]["patients"])
    n = len(patients)
    t2 = published["table2"]
    subjid = patients["patient"].tolist()
    usubjid = [f"NCI84-001-{s}" for s in subjid]
    # Ages: median and range as published, the rest spread between them.
    low, mid, high = t2["age"]["min"], t2["age"]["median"], t2["age"]["max"]
    ages = [
        low,
        *np.linspace(low + 2, mid - 1, n // 2 - 1).round().astype(int),
        mid,
        *np.linspace(mid + 1, high - 2, n // 2 - 1).round().astype(int),
        high,
    ]
    women = patients["tumor_type"].eq("Breast")
    extra_women = t2["sex"]["Female"] - int(women.sum())
    women.loc[patients.index[~women][:extra_women]] = True
    karnofsky = []
    for category, count in t2["karnofsky"].items():
        karnofsky += [t2["karnofsky_scores"][category][0]] * count
    sites = [1] * t2["metastatic_sites"]["1"] + [2] * t2["metastatic_sites"]["2"] + [3] * t2["metastatic_sites"][">=3"]
    regimens = [0] * t2["prior_regimens"]["0"] + [1] * t2["prior_regimens"]["1"] + [2] * t2["prior_regimens"][">=2"]
    benefit = patients["best_response"].isin(["CR", "PR", "SD"])
    adsl = pd.DataFrame(
        {
            "STUDYID": "NCI84",
            "USUBJID": usubjid,
            "SUBJID": subjid,
            "SAFFL": "Y",
            "AGE": ages,
            "SEX": np.where(women, "F", "M"),
            "KARNSCR": karnofsky,
            "TUMTYPE": patients["tumor_type"],
            "HER2IHC": patients["her2"],
            "METSITN": sites,
            "PRREGN": regimens,
            "PRPACFL": np.where(patients.index < t2["prior_paclitaxel"], "Y", "N"),
            "TRT01DOS": patients["il12_dose"],
            "TRT01RTE": patients["il12_route"],
            "CYCLESN": patients["cycles"],
            "BOR": patients["best_response"],
            "CBRFL": np.where(benefit, "Y", "N"),
            "EOSSTT": np.where(patients["duration_ongoing"], "ONGOING", "DISCONTINUED"),
            "EOTSTT": np.where(
                patients["best_response"].eq("SD").cumsum().le(published["text"]["sd_completed_one_year"])
                & patients["best_response"].eq("SD"),
                "COMPLETED",
                "DISCONTINUED",
            ),
            "DLTFL": np.where(patients["patient"].isin(published["text"]["dlt"]["patients"]), "Y", "N"),
            "DLTEVLFL": "Y",
        }
    )
    durations = patients["duration_days"].astype(float)
    adtte = pd.concat(
        [
            pd.DataFrame(
                {
                    "USUBJID": np.array(usubjid)[benefit],
                    "PARAMCD": "DURRSD",
                    "AVAL": durations[benefit],
                    "CNSR": patients.loc[benefit, "duration_ongoing"].astype(int),
                }
            ),
            pd.DataFrame(
                {
                    "USUBJID": usubjid,
                    "PARAMCD": "PFS",
                    "AVAL": durations.fillna(40 + pd.Series(range(n)).astype(float)),
                    "CNSR": patients["duration_ongoing"].astype(int),
                }
            ),
        ],
        ignore_index=True,
    )
    lab_rows = []
    for i, row in patients.iterrows():  # a handful of records per patient: fixture, not data path
        peak = float(row["peak_ifng"])
        for day, share in ((1, 0.0), (26, 1.0), (47, 0.5), (68, 0.3)):
            value = peak * share
            detectable = value >= 10
            lab_rows.append(
                {
                    "USUBJID": usubjid[i],
                    "PARAMCD": "IFNG",
                    "ADY": day,
                    # below the limit of 10: AVAL imputed at half the limit, as NCI84's adlb.yaml declares
                    "AVAL": value if detectable else 5.0,
                    "AVALC": f"{value:g}" if detectable else "<10",
                    "DTYPE": "" if detectable else "HALFLLOQ",
                }
            )
        for code, base in (("CXCL10", 500.0), ("CXCL9", 300.0), ("MIP1A", 40.0), ("INTLK8", 30.0)):
            lab_rows.append(
                {
                    "USUBJID": usubjid[i],
                    "PARAMCD": code,
                    "ADY": 26,
                    "AVAL": base * (4 if benefit[i] else 1) + i,
                    "AVALC": "",
                    "DTYPE": "",
                }
            )
    adlb = pd.DataFrame(lab_rows)
    adae_rows = []
    dlt = set(published["text"]["dlt"]["patients"])
    for row in published["table4"]["rows"]:
        order = sorted(subjid, key=lambda s: (s not in dlt, s)) if row["toxicity"] == "Fatigue" else subjid
        position = 0
        for grade in (4, 3, 2, 1):
            for subject in order[position : position + row["counts"][f"grade{grade}"]]:
                adae_rows.append(
                    {
                        "USUBJID": f"NCI84-001-{subject}",
                        "AEDECOD": AE_TERMS[row["toxicity"]],
                        "ATOXGRN": grade,
                        "TRTEMFL": "Y",
                        "AEDLT": "Y" if row["toxicity"] == "Fatigue" and subject in dlt else "N",
                    }
                )
            position += row["counts"][f"grade{grade}"]
    adae = pd.DataFrame(adae_rows)
    datasets = {"ADSL": adsl, "ADTTE": adtte, "ADLB": adlb, "ADAE": adae}
    for name, frame in datasets.items():
        write_xpt(frame, folder, name)
    return datasets
