"""Define-XML metadata of NCI84's SDTM and ADaM bundles, as built in memory: every MethodDef states
its rule, external dictionaries carry their Define-XML CT names, and ADaM value-level metadata
(data type, length per PARAMCD) agrees with the data."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

# Define-XML CT "Dictionary Name" (codelist C66788): the values ExternalCodeList/@Dictionary may take.
DICTIONARY_CODELIST = "C66788"


def define_xml_dictionary_names() -> set[str]:
    """Read straight from the Define-XML CT package shipped in specs/ct (not through sdtmify)."""
    (path,) = sorted((ROOT / "specs" / "ct").glob("define-xml-ct-*.tsv"))
    with path.open(encoding="utf-8") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        names = {row["CDISC Submission Value"] for row in rows if row["Codelist Code"] == DICTIONARY_CODELIST}
    assert "MedDRA" in names and "WHODD" in names
    return names


@pytest.fixture(scope="module")
def bundles(nci84_bundles):
    _, sdtm, adam = nci84_bundles
    return {"SDTM": sdtm, "ADaM": adam}


@pytest.mark.parametrize("standard", ["SDTM", "ADaM"])
def test_every_method_states_its_rule(bundles, standard):
    methods = bundles[standard].metadata.methods
    empty = [m.oid for m in methods if not (m.description or "").strip()]
    assert methods and not empty, f"MethodDefs without a description: {empty}"


@pytest.mark.parametrize("standard", ["SDTM", "ADaM"])
def test_external_dictionaries_use_define_xml_ct_names(bundles, standard):
    allowed = define_xml_dictionary_names()
    external = {cl.oid: cl.dictionary for cl in bundles[standard].metadata.codelists if cl.dictionary}
    assert external, "NCI84 codes AEs with MedDRA: an ExternalCodeList is expected"
    assert {oid: name for oid, name in external.items() if name not in allowed} == {}


def test_adam_meddra_keeps_the_study_version(bundles):
    meddra = next(cl for cl in bundles["ADaM"].metadata.codelists if cl.oid == "CL.MEDDRA")
    sdtm = next(cl for cl in bundles["SDTM"].metadata.codelists if cl.oid == "CL.MEDDRA")
    assert (meddra.dictionary, meddra.dictionary_version) == ("MedDRA", sdtm.dictionary_version)
    assert meddra.dictionary_version


def test_ovr_aval_method_states_the_response_coding(bundles):
    """OVR's AVALC is collected (RS.RSSTRESC); its AVAL is the code of AVALC: that is the method."""
    adrs = bundles["ADaM"].datasets["ADRS"].meta
    methods = {m.oid: m for m in bundles["ADaM"].metadata.methods}
    levels = {(lv.name, lv.where[0].values[0]): lv for v in adrs.variables for lv in v.value_levels}
    ovr_avalc, ovr_aval = levels[("AVALC", "OVR")], levels[("AVAL", "OVR")]
    assert (ovr_avalc.origin.type, ovr_avalc.origin.description) == ("Predecessor", "RS.RSSTRESC")
    assert ovr_avalc.method is None
    assert ovr_aval.method == "MT.ADRS.OVR"
    assert methods["MT.ADRS.OVR"].description.startswith("AVAL is the numeric code of AVALC")
    assert "CR: 1" in methods["MT.ADRS.OVR"].description
    # BOR: AVALC is the RECIST rule; its AVAL is the same coding, under its own MethodDef.
    assert levels[("AVALC", "BOR")].method == "MT.ADRS.BOR"
    assert methods["MT.ADRS.BOR"].description.startswith("Best overall response by RECIST 1.1")
    assert "confirmation = false" in methods["MT.ADRS.BOR"].description
    # CBOR: the confirmed best overall response states its confirmation rule and the study's values.
    cbor = methods["MT.ADRS.CBOR"].description
    assert "confirmation = true; confirm_days = 28; max_ne = 1; accept_sd = false" in cbor
    assert "data_cutoff = 2007-09-21" in cbor
    assert levels[("AVAL", "BOR")].method == "MT.ADRS.BOR.AVAL"
    assert "CR: 1" in methods["MT.ADRS.BOR.AVAL"].description
    assert levels[("AVAL", "CBR")].method == "MT.ADRS.CBR.AVAL"
    assert "Y: 1; N: 0" in methods["MT.ADRS.CBR.AVAL"].description.replace("{", "").replace("}", "").replace(", ", "; ")
    # ADRS.AVAL as a whole is described by both coding steps, not only the last one.
    aval = next(v for v in adrs.variables if v.name == "AVAL")
    assert methods[aval.method].description.count("AVAL is the numeric code of AVALC") == 2


def test_value_level_type_and_length_agree_with_each_parameter(bundles):
    adlb = bundles["ADaM"].datasets["ADLB"]
    frame = adlb.frame
    levels = {(lv.name, lv.where[0].values[0]): lv for v in adlb.meta.variables for lv in v.value_levels}
    for code, rows in frame.groupby("PARAMCD"):
        text = rows.loc[rows["AVALC"] != "", "AVALC"]
        assert levels[("AVALC", code)].length == text.str.encode("utf-8").str.len().max(), code
        numbers = rows["AVAL"].dropna()
        if numbers.empty:
            assert ("AVAL", code) not in levels
        else:
            expected = "integer" if np.all(np.mod(numbers, 1) == 0) else "float"
            assert levels[("AVAL", code)].data_type == expected, code
    assert {lv.data_type for (name, _), lv in levels.items() if name == "AVAL"} == {"integer", "float"}


def test_adam_datasets_are_sorted_by_their_keys_and_lineage_follows_the_records(bundles):
    for name, built in bundles["ADaM"].datasets.items():
        resorted = built.frame.sort_values(list(built.meta.keys), kind="stable", na_position="first")
        assert resorted.index.equals(built.frame.index), name
    sdtm = bundles["SDTM"].datasets
    for name, domain, seq in (("ADLB", "LB", "LBSEQ"), ("ADRS", "RS", "RSSEQ")):
        built = bundles["ADaM"].datasets[name]
        from_domain = (built.lineage["SRCTABLE"] == domain).to_numpy()
        # ADRS's subject-level parameters without an assessment behind them (DEATH, N responders) trace to DM;
        # MDIS to the subject's first TU lesion
        counts = built.lineage["SRCTABLE"].value_counts().to_dict()
        assert counts == {"ADLB": {"LB": 8136}, "ADRS": {"RS": 248, "DM": 77, "TU": 21}}[name], name
        rows = built.lineage.loc[from_domain, "SRCROW"].astype(int).to_numpy() - 1
        source = sdtm[domain].frame
        assert source[seq].to_numpy()[rows].tolist() == built.frame.loc[from_domain, "SRCSEQ"].tolist(), name
        assert source["USUBJID"].to_numpy()[rows].tolist() == built.frame.loc[from_domain, "USUBJID"].tolist(), name
