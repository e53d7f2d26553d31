"""The shipped CT subset (2025-03-28), loading a full NCI file, lookups, recoding and define.xml subsets."""

from __future__ import annotations

import importlib.util

import pandas as pd
import pytest

from sdtmify.errors import MetadataError
from sdtmify.metadata.ct import load_ct, read_nci_text, subset_config

FULL_SDTM = "reference/ct/SDTM_Terminology_2025-03.txt.xz"


@pytest.fixture(scope="module")
def ct():
    return load_ct()


def test_ny_is_c66742_and_not_extensible(ct):
    ny = ct.codelist("NY")
    assert (ny.oid, ny.c_code, ny.name, ny.extensible) == ("CL.NY", "C66742", "No Yes Response", False)
    assert ny.values() == ("N", "NA", "U", "Y")
    assert ct.term("NY", "Y").c_code == "C49488"
    assert ct.codelist("C66742") == ny == ct.codelist("CL.NY")


def test_sex_m_has_its_c_code_and_matches_case_sensitively(ct):
    term = ct.term("SEX", "M")
    assert (term.coded_value, term.c_code) == ("M", "C20197")
    assert ct.codelist("SEX").c_code == "C66731"
    assert ct.term("SEX", "m") is None and ct.term("SEX", "Male") is None


def test_lbtestcd_has_the_study_cytokines_but_not_ccl3(ct):
    assert ct.term("LBTESTCD", "INTLK8").c_code == "C74836"
    for code in ("IFNG", "TNF", "CXCL10", "CXCL9", "WBC", "NEUT", "HGB", "PLAT"):
        assert ct.term("LBTESTCD", code) is not None, code
    assert ct.term("LBTESTCD", "CCL3") is None and ct.term("LBTESTCD", "CCL5") is None
    assert ct.is_extensible("LBTESTCD")


def test_recist_responses_and_assessment_codes_are_present(ct):
    responses = set(ct.values("ONCRSR"))
    assert {"CR", "PR", "SD", "PD", "NE"} <= responses
    assert ct.term("ONCRSR", "PR").c_code == "C18058"
    assert ct.term("ONCRTSCD", "OVRLRESP").c_code == "C96613"
    assert ct.term("ONCRTSCD", "BESTRESP").c_code == "C94536"
    assert ct.term("ONCRSCAT", "RECIST 1.0").c_code == "C124414"


def test_adam_and_define_codelists_come_from_their_packages(ct):
    assert set(ct.values("DATEFL")) == {"D", "M", "Y"}
    assert ct.codelist("DTYPE").standard_oid == "STD.CT.ADaM.2025-03-28"
    assert ct.codelist("PARAMTYP").values() == ("DERIVED",)
    assert ct.codelist("NY").standard_oid == "STD.CT.SDTM.2025-03-28"
    assert "SUBJECT LEVEL ANALYSIS DATASET" in ct.values("GNRLOBSC")
    standard = ct.standard("SBJTSTAT")
    assert (standard.name, standard.version, standard.type, standard.publishing_set) == (
        "CDISC/NCI",
        "2025-03-28",
        "CT",
        "ADaM",
    )


def test_recode_maps_raw_text_through_synonyms_and_preferred_terms(ct):
    assert ct.recode("SEX", "Male") == "M"
    assert ct.recode("SEX", " female ") == "F"
    assert ct.recode("ROUTE", "Intravenous") == "INTRAVENOUS"
    assert ct.recode("ROUTE", "IV") is None
    assert ct.recode("ROUTE", "IV", synonyms={"IV": "INTRAVENOUS"}) == "INTRAVENOUS"
    assert ct.recode("LBTESTCD", "IP-10") == "CXCL10"
    assert ct.recode("LBTESTCD", "MIG") == "CXCL9"
    assert ct.recode("LBTESTCD", "Interleukin 8") == "INTLK8"
    assert ct.recode("NY", "Yes") == "Y" and ct.recode("NY", None) is None


def test_recode_values_is_vectorized_and_leaves_unmatched_missing(ct):
    raw = pd.Series(["Male", "Female", None, "alien"], index=[10, 11, 12, 13])
    result = ct.recode_values("SEX", raw)
    assert list(result.index) == [10, 11, 12, 13]
    assert result.tolist()[:2] == ["M", "F"] and result.isna().tolist() == [False, False, True, True]


def test_subset_keeps_used_terms_with_c_codes_and_flags_extensions(ct):
    used = ct.subset("LBTESTCD", ["INTLK8", "IFNG", "CCL3", "IFNG", ""], sponsor_extensions=["CCL3", "CCL5"])
    assert used.values() == ("IFNG", "INTLK8", "CCL3")  # CCL5 declared but unused: not listed
    assert [item.c_code for item in used.items] == ["C81996", "C74836", None]
    assert [item.extended for item in used.items] == [False, False, True]
    assert [item.order for item in used.items] == [1, 2, 3]
    assert (used.oid, used.c_code, used.extensible) == ("CL.LBTESTCD", "C65047", True)


def test_strict_subset_refuses_undeclared_and_non_extensible_extensions(ct):
    with pytest.raises(MetadataError, match=r"Laboratory Test Code \(C65047\): CCL3 not in CT 2025-03-28"):
        ct.subset("LBTESTCD", ["CCL3"], strict=True)
    with pytest.raises(MetadataError, match=r"No Yes Response \(C66742\) is not extensible"):
        ct.subset("NY", ["Y", "MAYBE"], sponsor_extensions=["MAYBE"], strict=True)


def test_unknown_codelist_error_says_what_to_do(ct):
    with pytest.raises(MetadataError, match="codelist 'NOPE' is not in the controlled terminology.*subset.yaml"):
        ct.codelist("NOPE")
    assert not ct.has_codelist("NOPE")


def test_external_dictionaries_are_external_codelists(ct):
    meddra = ct.codelist("MEDDRA")
    assert (meddra.oid, meddra.dictionary, meddra.items) == ("CL.MEDDRA", "MedDRA", ())
    assert ct.is_external("CL.ISO3166") and not ct.is_external("NY")


def test_subset_file_records_the_package_date(project_root):
    config = subset_config(project_root / "specs" / "ct")
    sdtm = next(p for p in config["packages"] if p["publishing_set"] == "SDTM")
    assert (sdtm["date"], sdtm["file"]) == ("2025-03-28", "sdtm-ct-2025-03-28.tsv")
    assert (project_root / "specs" / "ct" / sdtm["file"]).is_file()


def _extract_tool(project_root):
    spec = importlib.util.spec_from_file_location("extract_ct_subset", project_root / "tools/extract_ct_subset.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_subset_is_what_the_tool_derives_from_the_full_packages(shared, project_root):
    tool = _extract_tool(project_root)
    folder = project_root / "specs" / "ct"
    derived = tool.extract(shared, subset_config(folder))
    assert set(derived) == {"sdtm-ct-2025-03-28.tsv", "adam-ct-2025-03-28.tsv", "define-xml-ct-2025-03-28.tsv"}
    for name, frame in derived.items():
        shipped = read_nci_text(folder / name)
        pd.testing.assert_frame_equal(shipped.reset_index(drop=True), frame.reset_index(drop=True), check_dtype=False)
    assert int((derived["sdtm-ct-2025-03-28.tsv"]["codelist"] == "").sum()) == 126


def test_tool_refuses_a_codelist_the_package_lacks(shared, project_root):
    tool = _extract_tool(project_root)
    terms = read_nci_text(shared / FULL_SDTM)
    with pytest.raises(MetadataError, match="codelists NOSUCH are not in"):
        tool.select_codelists(terms, ["NY", "NOSUCH"], "full")


def test_full_package_loads_and_is_cached(shared):
    full = load_ct(shared / FULL_SDTM)
    assert load_ct(shared / FULL_SDTM) is full
    assert load_ct(str(shared / FULL_SDTM)) is full
    assert len(full.codelist_names()) > 1100
    # a codelist outside the curated subset is available from the full package
    assert full.term("TENMW1TC", "TENMW101").c_code == "C174106"
    assert full.standard("NY").version == "2025-03-28"
    assert full.term("LBTESTCD", "INTLK8") == load_ct().term("LBTESTCD", "INTLK8")


def test_missing_ct_file_names_it(tmp_path):
    with pytest.raises(MetadataError, match=r"nothere.txt: controlled terminology file not found"):
        load_ct(tmp_path / "nothere.txt")


def test_a_file_that_is_not_nci_ct_is_refused(tmp_path):
    bad = tmp_path / "ct.txt"
    bad.write_text("a\tb\n1\t2\n")
    with pytest.raises(MetadataError, match="not an NCI EVS CT text file: columns Code"):
        load_ct(bad)


def test_test_names_follow_from_test_codes_by_shared_c_code(ct):
    names = ct.paired_values("LBTESTCD", pd.Series(["INTLK8", "CXCL10", "CCL3"]), "LBTEST")
    assert names.tolist()[:2] == ["Interleukin 8", "Chemokine (C-X-C Motif) Ligand 10"]
    assert pd.isna(names.iloc[2])
    assert ct.paired_values("ONCRTSCD", pd.Series(["OVRLRESP", "BESTRESP"]), "ONCRTS").tolist() == [
        "Overall Response",
        "Best Overall Response",
    ]


def test_every_codelist_the_lb_template_names_is_shipped(ct):
    from sdtmify.metadata.standards import sdtm_dataset

    named = {var.name: var.codelist.removeprefix("CL.") for var in sdtm_dataset("LB").variables if var.codelist}
    assert {v: c for v, c in named.items() if not ct.has_codelist(c)} == {}
    assert (named["LBTSTCND"], named["LBRESTYP"], named["LBTMTHSN"]) == ("TESTCOND", "RESTYPRS", "TSTMTHSN")
    assert ct.codelist("TSTOPOBJ").extensible is False
