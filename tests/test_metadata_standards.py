"""SDTMIG 3.4 and ADaMIG 1.3 templates: names, labels, core, order, codelists, as the IGs state them."""

from __future__ import annotations

import csv

import pyreadstat
import pytest

from sdtmify.errors import MetadataError
from sdtmify.metadata.model import CORES, DATA_TYPES
from sdtmify.metadata.standards import ADAMIG, SDTMIG, adam_dataset, sdtm_dataset, sdtm_domains

NEEDED = (
    "DM",
    "EX",
    "AE",
    "RS",
    "LB",
    "DS",
    "TS",
    "TA",
    "TE",
    "TV",
    "TI",
    "SV",
    "SE",
    "CO",
    "RELREC",
    "SC",
    "VS",
    "CM",
    "MH",
)


def test_ae_template_states_aeterm_as_required_topic():
    aeterm = sdtm_dataset("AE").variable("AETERM")
    assert aeterm.label == "Reported Term for the Adverse Event"
    assert aeterm.core == "Req" and aeterm.mandatory
    assert aeterm.role == "Topic"
    assert (aeterm.type, aeterm.data_type, aeterm.length) == ("Char", "text", 0)


def test_ae_dataset_level_metadata():
    ae = sdtm_dataset("AE")
    assert (ae.label, ae.class_, ae.purpose, ae.domain) == ("Adverse Events", "EVENTS", "Tabulation", "AE")
    assert ae.structure == "One record per adverse event per subject"
    assert ae.standard_oid == SDTMIG.oid == "STD.SDTMIG.3.4"
    assert ae.keys == ("STUDYID", "USUBJID", "AEDECOD", "AESTDTC")
    assert ae.variable("AEDECOD").key_sequence == 3
    assert ae.leaf == "ae.xpt"


def test_lb_order_puts_testcd_before_test_and_identifiers_first():
    names = sdtm_dataset("LB").variable_names
    assert names[:4] == ("STUDYID", "DOMAIN", "USUBJID", "LBSEQ")
    assert names.index("LBTESTCD") + 1 == names.index("LBTEST")
    assert names.index("LBORRES") < names.index("LBSTRESC") < names.index("LBSTRESN") < names.index("LBDTC")
    orders = [var.order for var in sdtm_dataset("LB").variables]
    assert orders == list(range(1, len(orders) + 1))


@pytest.mark.parametrize(
    "domain, variable, codelist",
    [
        ("AE", "AESER", "CL.NY"),
        ("DM", "SEX", "CL.SEX"),
        ("EX", "EXROUTE", "CL.ROUTE"),
        ("EX", "EXDOSU", "CL.UNIT"),
        ("LB", "LBTESTCD", "CL.LBTESTCD"),
        ("LB", "LBNRIND", "CL.NRIND"),
        ("AE", "AEOUT", "CL.OUT"),
        ("RS", "RSTESTCD", "CL.ONCRTSCD"),
        ("DS", "DSCAT", "CL.DSCAT"),
        ("TS", "TSPARMCD", "CL.TSPARMCD"),
    ],
)
def test_codelist_oids_name_the_ct_short_name(domain, variable, codelist):
    assert sdtm_dataset(domain).variable(variable).codelist == codelist


def test_dtc_variables_are_iso8601_text_and_study_days_integers():
    lb = sdtm_dataset("LB")
    assert (lb.variable("LBDTC").type, lb.variable("LBDTC").data_type) == ("Char", "datetime")
    assert (lb.variable("LBDY").type, lb.variable("LBDY").data_type) == ("Num", "integer")
    assert lb.variable("LBSTRESN").data_type == "float"
    assert sdtm_dataset("TE").variable("TEDUR").data_type == "durationDatetime"


def test_every_needed_domain_has_a_template_with_standard_identifiers():
    assert set(NEEDED) <= set(sdtm_domains())
    for domain in NEEDED:
        template = sdtm_dataset(domain)
        assert template.variable_names[0] == "STUDYID"
        assert all(var.core in CORES and var.data_type in DATA_TYPES for var in template.variables)
        assert all(len(var.name) <= 8 and 0 < len(var.label) <= 40 for var in template.variables), domain
        assert len(set(template.variable_names)) == len(template.variables)


def test_trial_design_domains_are_reference_data():
    assert sdtm_dataset("TS").is_reference and sdtm_dataset("TA").is_reference
    assert not sdtm_dataset("DM").is_reference and not sdtm_dataset("DM").repeating


def test_suppqual_template_is_named_for_its_parent_domain():
    supp = sdtm_dataset("SUPPAE")
    assert (supp.name, supp.label, supp.domain, supp.class_) == (
        "SUPPAE",
        "Supplemental Qualifiers for AE",
        "AE",
        "RELATIONSHIP",
    )
    assert supp.variable_names == (
        "STUDYID",
        "RDOMAIN",
        "USUBJID",
        "IDVAR",
        "IDVARVAL",
        "QNAM",
        "QLABEL",
        "QVAL",
        "QORIG",
        "QEVAL",
    )
    assert supp.variable("QNAM").core == "Req" and supp.variable("QEVAL").core == "Exp"
    assert supp.leaf == "suppae.xpt"


def test_unknown_domain_is_refused_naming_the_known_ones():
    with pytest.raises(MetadataError, match=r"no domain 'XX'; known: .*AE"):
        sdtm_dataset("XX")


def test_adsl_template_has_subject_level_variables():
    adsl = adam_dataset("ADSL", "ADSL")
    assert (adsl.class_, adsl.purpose, adsl.standard_oid) == ("SUBJECT LEVEL ANALYSIS DATASET", "Analysis", ADAMIG.oid)
    for name in (
        "STUDYID",
        "USUBJID",
        "SUBJID",
        "SITEID",
        "AGE",
        "AGEU",
        "SEX",
        "RACE",
        "ETHNIC",
        "ARM",
        "ACTARM",
        "TRT01P",
        "TRT01PN",
        "TRT01A",
        "TRT01AN",
        "TRTSDT",
        "TRTEDT",
        "TRTDURD",
        "SAFFL",
        "ITTFL",
        "EFFFL",
        "EOTSTT",
        "EOSSTT",
        "DCSREAS",
        "DCTREAS",
    ):
        assert name in adsl.variable_names, name
    trtsdt = adsl.variable("TRTSDT")
    assert (trtsdt.label, trtsdt.type, trtsdt.format, trtsdt.core) == (
        "Date of First Exposure to Treatment",
        "Num",
        "DATE9.",
        "Cond",
    )
    assert adsl.variable("TRT01P").core == "Req" and adsl.variable("SAFFL").codelist == "CL.NY"
    assert adsl.variable("EOSSTT").codelist == "CL.SBJTSTAT"
    assert adsl.keys == ("STUDYID", "USUBJID") and not adsl.repeating


def test_bds_template_carries_parameters_and_adsl_predecessors():
    adlb = adam_dataset("ADLB", "BDS")
    assert adlb.class_ == "BASIC DATA STRUCTURE" and adlb.subclass is None
    assert adlb.label == "Laboratory Test Results Analysis Dataset"
    for name in (
        "PARAM",
        "PARAMCD",
        "PARAMN",
        "AVAL",
        "AVALC",
        "BASE",
        "CHG",
        "ADT",
        "ADY",
        "AVISIT",
        "AVISITN",
        "ABLFL",
        "ANL01FL",
        "ANRIND",
        "ATOXGR",
        "SRCDOM",
        "SRCVAR",
        "SRCSEQ",
        "DTYPE",
    ):
        assert name in adlb.variable_names, name
    assert adlb.variable("PARAMCD").core == "Req" and adlb.variable("AVAL").core == "Cond"
    assert adlb.variable("DTYPE").codelist == "CL.DTYPE"
    age = adlb.variable("AGE")
    assert age.core == "Perm" and age.origin.type == "Predecessor" and age.origin.description == "ADSL.AGE"
    assert adlb.variable_names.index("TRT01P") < adlb.variable_names.index("PARAMCD")


def test_tte_template_is_bds_subclass_with_censoring():
    adtte = adam_dataset("ADTTE", "TTE")
    assert (adtte.class_, adtte.subclass) == ("BASIC DATA STRUCTURE", "TIME-TO-EVENT")
    cnsr = adtte.variable("CNSR")
    assert (cnsr.label, cnsr.type) == ("Censor", "Num")
    assert adtte.variable("STARTDT").format == "DATE9."
    assert {"EVNTDESC", "CNSDTDSC", "PARAMCD", "AVAL"} <= set(adtte.variable_names)
    assert "CNSR" not in adam_dataset("ADLB", "BDS").variable_names


def test_occds_template_carries_the_sdtm_domain_variables():
    adae = adam_dataset("ADAE", "OCCDS")
    assert adae.class_ == "OCCURRENCE DATA STRUCTURE" and adae.standard_oid == "STD.ADaM-OCCDSIG.1.1"
    assert adae.variable("TRTEMFL").label == "Treatment Emergent Analysis Flag"
    assert adae.variable("ASTDT").format == "DATE9." and adae.variable("ATOXGRN").type == "Num"
    aeterm = adae.variable("AETERM")
    assert aeterm.label == "Reported Term for the Adverse Event" and aeterm.origin.description == "AE.AETERM"
    assert "DOMAIN" not in adae.variable_names
    assert len(set(adae.variable_names)) == len(adae.variables)


def test_unknown_adam_class_is_refused():
    with pytest.raises(MetadataError, match="ADaM class 'XYZ' is not one of ADSL, BDS, TTE, OCCDS"):
        adam_dataset("ADXX", "XYZ")


def test_spec_files_record_the_ig_versions(project_root):
    assert "SDTMIG 3.4" in (project_root / "specs/sdtmig-3.4/variables.csv").read_text().splitlines()[0]
    assert "ADaMIG 1.3" in (project_root / "specs/adamig-1.3/variables.csv").read_text().splitlines()[0]


def _pilot_metadata(path):
    try:
        return pyreadstat.read_xport(str(path), metadataonly=True)[1]
    except UnicodeDecodeError:
        return pyreadstat.read_xport(str(path), metadataonly=True, encoding="cp1252")[1]


# SDTMIG 3.4 renamed these labels since the SDTMIG 3.1.2 the pilot was written to.
RELABELLED_SINCE_312 = {("EX", "EXTRT"), ("EX", "EXDOSE"), ("TA", "TAETORD")}


def test_templates_agree_with_the_sas_written_pilot_on_names_labels_types_and_order(shared):
    files = sorted((shared / "reference/xpt/sdtm").glob("*.xpt"))
    assert len(files) >= 16
    for path in files:
        meta = _pilot_metadata(path)
        template = sdtm_dataset(meta.table_name)
        names = template.variable_names
        assert set(meta.column_names) <= set(names), meta.table_name
        positions = [names.index(column) for column in meta.column_names]
        assert positions == sorted(positions), f"{meta.table_name} order"
        for column in meta.column_names:
            var = template.variable(column)
            assert (var.type == "Num") == (meta.readstat_variable_types[column] == "double"), column
            if (meta.table_name, column) not in RELABELLED_SINCE_312:
                assert var.label == meta.column_names_to_labels[column], (meta.table_name, column)
    assert sdtm_dataset("EX").variable("EXTRT").label == "Name of Treatment"


def test_spec_rows_name_known_codelists(project_root):
    """Every codelist a template names is in the shipped CT subset or is an external dictionary."""
    from sdtmify.metadata.ct import load_ct

    ct = load_ct()
    named = set()
    for folder in ("sdtmig-3.4", "adamig-1.3"):
        with (project_root / "specs" / folder / "variables.csv").open() as handle:
            rows = csv.DictReader(line for line in handle if not line.startswith("#"))
            named |= {row["codelist"] for row in rows if row["codelist"]}
    unknown = sorted(name for name in named if not (ct.has_codelist(name) or ct.is_external(name)))
    assert unknown == []
    assert "NY" in named and "MEDDRA" in named


def test_only_char_variables_carry_codelists():
    """NCI codelists and the MedDRA/ISO dictionaries hold text: a Num ItemDef must not reference one
    (Define-XML 2.1: the CodeList DataType matches the ItemDef's)."""
    templates = [sdtm_dataset(domain) for domain in sdtm_domains()]
    templates += [
        adam_dataset(name, cls)
        for name, cls in (("ADSL", "ADSL"), ("ADLB", "BDS"), ("ADTTE", "TTE"), ("ADAE", "OCCDS"))
    ]
    numeric_with_codelist = [(t.name, v.name) for t in templates for v in t.variables if v.type == "Num" and v.codelist]
    assert numeric_with_codelist == []
    assert sdtm_dataset("AE").variable("AEDECOD").codelist == "CL.MEDDRA"
    assert sdtm_dataset("AE").variable("AEPTCD").codelist is None


def test_a_bad_spec_row_is_refused_with_file_line_and_column(tmp_path, monkeypatch, project_root):
    from sdtmify.metadata import standards

    folder = tmp_path / "sdtmig-3.4"
    folder.mkdir()
    (folder / "datasets.csv").write_text((project_root / "specs/sdtmig-3.4/datasets.csv").read_text())
    (folder / "variables.csv").write_text(
        "# comment\ndataset,variable,label,type,data_type,core,role,codelist\n"
        "AE,STUDYID,Study Identifier,Char,text,Req,Identifier,\n"
        "AE,AESEQ,Sequence Number,Number,integer,Req,Identifier,\n"
    )
    monkeypatch.setattr(standards, "spec_path", lambda *parts: tmp_path.joinpath(*parts))
    standards._sdtm_specs.cache_clear()
    try:
        with pytest.raises(MetadataError) as caught:
            standards.sdtm_dataset("AE")
        assert str(caught.value) == f"{folder / 'variables.csv'}:4 type: AESEQ: type 'Number' is not one of Char, Num"
    finally:
        standards._sdtm_specs.cache_clear()


def test_lb_has_the_sdtmig_3_4_variables_and_no_lblloq():
    """SDTMIG 3.4 LB lists 62 variables, among them the SDTM v2.0 additions (LBTSTCND, LBLLOD, LBPTFL...);
    --LLOQ is a Findings class qualifier, not an LB variable of the IG."""
    lb = sdtm_dataset("LB")
    assert len(lb.variables) == 62
    names = lb.variable_names
    assert names.index("LBORNRHI") + 1 == names.index("LBLLOD") and names[-2:] == ("LBPTFL", "LBPDUR")
    assert lb.variable("LBCLSIG").label == "Clinically Significant, Collected"
    assert "LBLLOQ" not in names and "LBULOQ" not in names


def test_findings_class_qualifiers_can_be_added_before_the_timing_variables():
    from sdtmify.metadata.standards import with_class_variables

    lb = with_class_variables(sdtm_dataset("LB"), ["LBLLOQ", "LBTESTCD", "LBXYZ"])
    names = lb.variable_names
    assert names[names.index("LBLLOQ") + 1] == "VISITNUM" and names[names.index("LBLLOQ") - 1] == "LBCLSIG"
    lloq = lb.variable("LBLLOQ")
    assert (lloq.label, lloq.type, lloq.core, lloq.role) == (
        "Lower Limit of Quantitation",
        "Num",
        "Perm",
        "Variable Qualifier",
    )
    assert [v.order for v in lb.variables] == list(range(1, len(names) + 1))
    assert "LBXYZ" not in names
    assert with_class_variables(sdtm_dataset("AE"), ["AELLOQ"]) == sdtm_dataset("AE")  # not an Events qualifier
