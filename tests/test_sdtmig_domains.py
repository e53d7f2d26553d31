"""The shipped SDTMIG 3.4 metadata covers the IG's general-observation-class domains: each has its
identifiers and its topic variable, keys among its variables, labels within 40 characters and
codelists that exist in the shipped CT; and a study can map one of them (TU) from YAML alone."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sdtmify.mapping.engine import build_sdtm
from sdtmify.metadata.ct import load_ct
from sdtmify.metadata.standards import sdtm_dataset, sdtm_domains
from sdtmify.study import load_study

sys.path.insert(0, str(Path(__file__).parent / "studies"))
from nci84_mini import write_mini

TOPIC = {"INTERVENTIONS": "TRT", "EVENTS": "TERM", "FINDINGS": "TESTCD"}
IG_DOMAINS = {
    "INTERVENTIONS": ["AG", "CM", "EC", "EX", "ML", "PR", "SU"],
    "EVENTS": ["AE", "CE", "DS", "DV", "HO", "MH"],
    "FINDINGS": [
        *("BS", "CP", "CV", "DA", "DD", "EG", "FA", "FT", "GF", "IE", "IS", "LB", "MB", "MI", "MK", "MS"),
        *("NV", "OE", "PC", "PE", "PP", "QS", "RE", "RP", "RS", "SC", "SR", "SS", "TR", "TU", "UR", "VS"),
    ],
}


@pytest.mark.parametrize("klass,domain", [(k, d) for k, ds in IG_DOMAINS.items() for d in ds])
def test_domain_has_identifiers_and_its_topic_variable(klass, domain):
    assert domain in sdtm_domains()
    dataset = sdtm_dataset(domain)
    assert dataset.class_ == klass
    names = dataset.variable_names
    assert names[:4] == ("STUDYID", "DOMAIN", "USUBJID", f"{domain}SEQ")
    topic = dataset.variable(f"{domain}{TOPIC[klass]}")
    assert (topic.role, topic.core) == ("Topic", "Req")
    if klass == "FINDINGS":
        test = dataset.variable(f"{domain}TEST")
        assert names.index(f"{domain}TESTCD") + 1 == names.index(f"{domain}TEST")
        assert (test.role, test.core) == ("Synonym Qualifier", "Req")
    assert set(dataset.keys) <= set(names)


def test_every_domain_variable_is_well_formed_and_its_codelist_exists():
    ct = load_ct()
    for domain in sdtm_domains():
        for variable in sdtm_dataset(domain).variables:
            assert 1 <= len(variable.label) <= 40, (domain, variable.name)
            assert len(variable.name) <= 8, (domain, variable.name)
            if variable.codelist:
                name = variable.codelist.removeprefix("CL.")
                assert ct.has_codelist(name) or ct.is_external(name), (domain, variable.name, name)


def test_tumor_identification_codelists_come_from_ct():
    tu = sdtm_dataset("TU")
    assert tu.variable("TUTESTCD").codelist.endswith("TUTESTCD")
    assert tu.variable("TUSTRESC").codelist.endswith("TUIDRS")
    assert sdtm_dataset("EG").variable("EGTESTCD").codelist.endswith("EGTESTCD")


def test_a_study_maps_tu_from_yaml(tmp_path):
    study = write_mini(tmp_path)
    (study / "sdtm" / "tu.yaml").write_text(
        "domain: TU\n"
        "from: tumor_assessments\n"
        "keys: [STUDYID, USUBJID, TULNKID, VISITNUM]\n"
        "variables:\n"
        "  TULNKID:  {template: 'T01'}\n"
        "  TUTESTCD: {constant: TUMIDENT, ct: TUTESTCD}\n"
        "  TUTEST:   {constant: Tumor Identification, ct: TUTEST}\n"
        "  TUORRES:  {constant: TARGET}\n"
        "  TUSTRESC: {variable: TUORRES, ct: TUIDRS}\n"
        "  TUEVAL:   {column: evaluator, transform: upper, ct: EVAL}\n"
        "  TUDTC:    {iso8601: assessment_date}\n"
        "derive:\n"
        "  - visit: {from: {column: visit}, date: TUDTC}\n"
        "  - study_day\n"
        "  - seq\n"
    )
    built = build_sdtm(load_study(study)).datasets["TU"]
    frame = built.frame
    assert len(frame) > 0
    assert set(frame["TUTESTCD"]) == {"TUMIDENT"} and set(frame["TUSTRESC"]) == {"TARGET"}
    assert list(frame.columns[:5]) == ["STUDYID", "DOMAIN", "USUBJID", "TUSEQ", "TULNKID"]
    assert built.meta.variable("TUSTRESC").label == "Tumor/Lesion ID Result Std. Format"
    assert (frame["TUDY"] > 0).all()
