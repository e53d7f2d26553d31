"""A small but realistic SDTM and ADaM metadata + data fixture for the Define-XML tests.

It stands in for the engines' Bundles: DM, AE (MedDRA-coded) with SUPPAE (value-level by QNAM),
LB with value-level metadata by LBTESTCD and a sponsor-extended LBTESTCD codelist; ADSL, ADRS
(BDS, value lists by PARAMCD), ADLB and ADTTE (TIME-TO-EVENT subclass); methods with formal
expressions, comments, documents and analysis results metadata."""

from __future__ import annotations

import functools
import tempfile
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import yaml

from sdtmify.datasets import BuiltDataset, Bundle
from sdtmify.metadata.model import (
    CodeList,
    CodeListItem,
    Comment,
    Condition,
    Dataset,
    Document,
    Method,
    Origin,
    Standard,
    StudyMetadata,
    ValueLevel,
    Variable,
)

STUDY = "NCI84X"
SDTMIG = Standard("STD.SDTMIG.3-4", "SDTMIG", "3.4")
ADAMIG = Standard("STD.ADaMIG.1-3", "ADaMIG", "1.3")
SDTM_CT = Standard("STD.CT.SDTM.2025-03-28", "CDISC/NCI", "2025-03-28", type="CT", publishing_set="SDTM")
ADAM_CT = Standard("STD.CT.ADaM.2025-03-28", "CDISC/NCI", "2025-03-28", type="CT", publishing_set="ADaM")

CRF = Origin("Collected", "Investigator", document="LF.ACRF", pages="3 4")
SPONSOR = Origin("Assigned", "Sponsor")
DERIVED = Origin("Derived", "Sponsor")
DOCUMENTS = (
    Document("LF.ACRF", "Annotated CRF", "acrf.pdf"),
    Document("LF.PROTOCOL", "Protocol NCI 84", "protocol.pdf"),
)


def _v(name, label, type_="Char", data_type="text", **kw) -> Variable:
    return Variable(name=name, label=label, type=type_, length=kw.pop("length", 8), data_type=data_type, order=0, **kw)


def _num(name, label, data_type="integer", **kw) -> Variable:
    return _v(name, label, "Num", data_type, length=8, **kw)


def _dataset(meta: Dataset, frame: pd.DataFrame) -> BuiltDataset:
    """Number the variables, and fit each Char length to the data, as the engine does."""
    variables = []
    for order, var in enumerate(meta.variables, start=1):
        length = var.length
        if var.type == "Char":
            length = max(1, int(frame[var.name].astype(str).str.len().max()))
        variables.append(replace(var, order=order, length=length))
    meta = replace(meta, variables=tuple(variables))
    return BuiltDataset(frame=frame[list(meta.variable_names)], meta=meta)


def _cl(oid, name, terms, c_code=None, extensible=False, standard=SDTM_CT.oid, **kw) -> CodeList:
    items = []
    for order, term in enumerate(terms, start=1):
        value, decode, code, *extended = term
        items.append(CodeListItem(value, decode, code, extended=bool(extended), order=order))
    return CodeList(
        oid=oid, name=name, c_code=c_code, extensible=extensible, items=tuple(items), standard_oid=standard, **kw
    )


def sdtm_bundle() -> Bundle:
    ids = ["NCI84X-001", "NCI84X-002", "NCI84X-003"]
    dm = pd.DataFrame(
        {
            "STUDYID": STUDY,
            "DOMAIN": "DM",
            "USUBJID": ids,
            "SUBJID": ["001", "002", "003"],
            "AGE": [56.0, 41.0, 81.0],
            "SEX": ["M", "F", "M"],
        }
    )
    dm_meta = Dataset(
        name="DM",
        label="Demographics",
        purpose="Tabulation",
        standard_oid=SDTMIG.oid,
        class_="SPECIAL PURPOSE",
        structure="One record per subject",
        domain="DM",
        repeating=False,
        keys=("STUDYID", "USUBJID"),
        variables=(
            _v("STUDYID", "Study Identifier", role="Identifier", core="Req", origin=SPONSOR),
            _v("DOMAIN", "Domain Abbreviation", role="Identifier", core="Req", origin=SPONSOR),
            _v(
                "USUBJID",
                "Unique Subject Identifier",
                role="Identifier",
                core="Req",
                origin=DERIVED,
                method="MT.USUBJID",
            ),
            _v("SUBJID", "Subject Identifier for the Study", role="Topic", core="Req", origin=CRF),
            _num("AGE", "Age", role="Record Qualifier", core="Exp", origin=CRF),
            _v("SEX", "Sex", role="Record Qualifier", core="Req", codelist="CL.SEX", origin=CRF),
        ),
    )
    ae = pd.DataFrame(
        {
            "STUDYID": STUDY,
            "DOMAIN": "AE",
            "USUBJID": [ids[0], ids[0], ids[2]],
            "AESEQ": [1.0, 2.0, 1.0],
            "AETERM": ["FATIGUE", "NEUTROPENIA", "ARTHRALGIA"],
            "AEDECOD": ["Fatigue", "Neutropenia", "Arthralgia"],
            "AESER": ["N", "N", "Y"],
            "AESTDTC": ["2004-03-02", "2004-03-09T10:30", "2004-05"],
            "AESTDY": [8.0, 15.0, float("nan")],
        }
    )
    ae_meta = Dataset(
        name="AE",
        label="Adverse Events",
        purpose="Tabulation",
        standard_oid=SDTMIG.oid,
        class_="EVENTS",
        structure="One record per adverse event per subject",
        domain="AE",
        keys=("STUDYID", "USUBJID", "AEDECOD", "AESTDTC"),
        variables=(
            _v("STUDYID", "Study Identifier", role="Identifier", core="Req", origin=SPONSOR),
            _v("DOMAIN", "Domain Abbreviation", role="Identifier", core="Req", origin=SPONSOR),
            _v(
                "USUBJID",
                "Unique Subject Identifier",
                role="Identifier",
                core="Req",
                origin=DERIVED,
                method="MT.USUBJID",
            ),
            _num("AESEQ", "Sequence Number", role="Identifier", core="Req", origin=DERIVED, method="MT.SEQ"),
            _v("AETERM", "Reported Term for the Adverse Event", role="Topic", core="Req", origin=CRF),
            _v(
                "AEDECOD",
                "Dictionary-Derived Term",
                role="Synonym Qualifier",
                core="Req",
                codelist="CL.MEDDRA",
                origin=Origin("Assigned", "Sponsor", "Coded with MedDRA 12.0"),
            ),
            _v("AESER", "Serious Event", role="Record Qualifier", core="Exp", codelist="CL.NY", origin=CRF),
            _v(
                "AESTDTC",
                "Start Date/Time of Adverse Event",
                data_type="datetime",
                role="Timing",
                core="Exp",
                origin=CRF,
            ),
            _num(
                "AESTDY",
                "Study Day of Start of Adverse Event",
                role="Timing",
                core="Perm",
                origin=DERIVED,
                method="MT.STUDYDAY",
            ),
        ),
    )
    suppae = pd.DataFrame(
        {
            "STUDYID": STUDY,
            "RDOMAIN": "AE",
            "USUBJID": [ids[0], ids[2]],
            "IDVAR": "AESEQ",
            "IDVARVAL": "1",
            "QNAM": ["AEDLT", "AEDLT"],
            "QLABEL": "Dose-Limiting Toxicity",
            "QVAL": ["Y", "N"],
            "QORIG": "CRF",
            "QEVAL": "",
        }
    )
    supp_vlm = (
        ValueLevel(
            where=(Condition("QNAM", ("AEDLT",)),),
            name="QVAL",
            label="Dose-Limiting Toxicity",
            data_type="text",
            length=1,
            codelist="CL.NY",
            origin=CRF,
        ),
    )
    suppae_meta = Dataset(
        name="SUPPAE",
        label="Supplemental Qualifiers for AE",
        purpose="Tabulation",
        standard_oid=SDTMIG.oid,
        class_="RELATIONSHIP",
        structure="One record per IDVAR, IDVARVAL, and QNAM value per subject",
        domain="SUPPAE",
        keys=("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"),
        comment="COM.SUPPAE",
        variables=(
            _v("STUDYID", "Study Identifier", role="Identifier", core="Req", origin=SPONSOR),
            _v("RDOMAIN", "Related Domain Abbreviation", role="Identifier", core="Req", origin=SPONSOR),
            _v("USUBJID", "Unique Subject Identifier", role="Identifier", core="Req", origin=DERIVED),
            _v("IDVAR", "Identifying Variable", role="Identifier", core="Exp", origin=SPONSOR),
            _v("IDVARVAL", "Identifying Variable Value", role="Identifier", core="Exp", origin=DERIVED),
            _v("QNAM", "Qualifier Variable Name", role="Topic", core="Req", codelist="CL.QNAM", origin=SPONSOR),
            _v("QLABEL", "Qualifier Variable Label", role="Synonym Qualifier", core="Req", origin=SPONSOR),
            _v("QVAL", "Data Value", role="Result Qualifier", core="Req", value_levels=supp_vlm, origin=CRF),
            _v("QORIG", "Origin", role="Record Qualifier", core="Req", origin=SPONSOR),
            _v("QEVAL", "Evaluator", role="Record Qualifier", core="Exp", origin=SPONSOR),
        ),
    )
    lb = pd.DataFrame(
        {
            "STUDYID": STUDY,
            "DOMAIN": "LB",
            "USUBJID": [ids[0], ids[0], ids[1], ids[1]],
            "LBSEQ": [1.0, 2.0, 1.0, 2.0],
            "LBTESTCD": ["CXCL10", "IFNG", "IFNG", "PERK"],
            "LBTEST": [
                "Chemokine (C-X-C Motif) Ligand 10",
                "Interferon Gamma",
                "Interferon Gamma",
                "Phosphorylated ERK",
            ],
            "LBORRES": ["210", "1612", "<10", "2.5"],
            "LBORRESU": ["pg/mL", "pg/mL", "pg/mL", "fold"],
            "LBSTRESN": [210.0, 1612.0, float("nan"), 2.5],
            "LBDTC": ["2004-03-02", "2004-03-02", "2004-04-01", "2004-04-01"],
        }
    )
    lb_where = {code: (Condition("LBTESTCD", (code,)),) for code in ("CXCL10", "IFNG", "PERK")}
    lb_vlm_orres = tuple(
        ValueLevel(
            where=lb_where[code],
            name="LBORRES",
            label=f"Result for {code}",
            data_type="text",
            length=4,
            origin=Origin("Collected", "Vendor"),
        )
        for code in ("CXCL10", "IFNG", "PERK")
    )
    lb_vlm_stresn = (
        ValueLevel(
            where=lb_where["IFNG"],
            name="LBSTRESN",
            label="Interferon Gamma (pg/mL)",
            data_type="float",
            length=8,
            significant_digits=1,
            origin=DERIVED,
            method="MT.LBSTRESN",
        ),
        ValueLevel(
            where=lb_where["PERK"],
            name="LBSTRESN",
            label="p-ERK fold increase",
            data_type="float",
            length=8,
            significant_digits=2,
            origin=DERIVED,
            method="MT.LBSTRESN",
        ),
    )
    lb_meta = Dataset(
        name="LB",
        label="Laboratory Test Results",
        purpose="Tabulation",
        standard_oid=SDTMIG.oid,
        class_="FINDINGS",
        structure="One record per lab test per time point per visit per subject",
        domain="LB",
        keys=("STUDYID", "USUBJID", "LBTESTCD", "LBDTC"),
        variables=(
            _v("STUDYID", "Study Identifier", role="Identifier", core="Req", origin=SPONSOR),
            _v("DOMAIN", "Domain Abbreviation", role="Identifier", core="Req", origin=SPONSOR),
            _v("USUBJID", "Unique Subject Identifier", role="Identifier", core="Req", origin=DERIVED),
            _num("LBSEQ", "Sequence Number", role="Identifier", core="Req", origin=DERIVED, method="MT.SEQ"),
            _v(
                "LBTESTCD",
                "Lab Test or Examination Short Name.",
                role="Topic",
                core="Req",
                codelist="CL.LBTESTCD",
                origin=SPONSOR,
            ),
            _v("LBTEST", "Lab Test or Examination Name", role="Synonym Qualifier", core="Req", origin=SPONSOR),
            _v(
                "LBORRES",
                "Result or Finding in Original Units",
                role="Result Qualifier",
                core="Exp",
                origin=Origin("Collected", "Vendor"),
                value_levels=lb_vlm_orres,
            ),
            _v(
                "LBORRESU",
                "Original Units",
                role="Variable Qualifier",
                core="Exp",
                origin=Origin("Collected", "Vendor"),
            ),
            _num(
                "LBSTRESN",
                "Numeric Result/Finding in Standard Units",
                data_type="float",
                role="Result Qualifier",
                core="Exp",
                origin=DERIVED,
                method="MT.LBSTRESN",
                significant_digits=2,
                value_levels=lb_vlm_stresn,
            ),
            _v(
                "LBDTC",
                "Date/Time of Specimen Collection",
                data_type="date",
                role="Timing",
                core="Exp",
                origin=Origin("Collected", "Vendor"),
            ),
        ),
    )
    built = {
        b.meta.name: b
        for b in (_dataset(dm_meta, dm), _dataset(ae_meta, ae), _dataset(suppae_meta, suppae), _dataset(lb_meta, lb))
    }
    codelists = (
        _cl("CL.NY", "No Yes Response", [("N", "No", "C49487"), ("Y", "Yes", "C49488")], c_code="C66742"),
        _cl("CL.SEX", "Sex", [("F", "Female", "C16576"), ("M", "Male", "C20197")], c_code="C66731"),
        _cl(
            "CL.LBTESTCD",
            "Laboratory Test Code",
            [("CXCL10", None, "C112238"), ("IFNG", None, "C81996"), ("PERK", None, None, True)],
            c_code="C65047",
            extensible=True,
        ),
        _cl(
            "CL.QNAM",
            "Supplemental Qualifier Name",
            [("AEDLT", "Dose-Limiting Toxicity", None)],
            standard=None,
            sponsor_defined=True,
        ),
        CodeList(oid="CL.MEDDRA", name="MedDRA", dictionary="MedDRA", dictionary_version="12.0"),
    )
    metadata = StudyMetadata(
        study_oid=STUDY,
        study_name=STUDY,
        description="IL-12 with trastuzumab and paclitaxel, phase I",
        protocol_name="NCI protocol 84",
        standards=(SDTMIG, SDTM_CT),
        datasets=tuple(b.meta for b in built.values()),
        codelists=codelists,
        methods=(
            Method(
                "MT.USUBJID",
                "USUBJID",
                "Concatenation of STUDYID and SUBJID with a hyphen",
                expression="STUDYID || '-' || SUBJID",
                expression_context="SQL",
            ),
            Method("MT.SEQ", "--SEQ", "Sequence of records within USUBJID, in key order (SDTMIG 4.1.5)"),
            Method(
                "MT.STUDYDAY",
                "Study day",
                "--DTC minus RFSTDTC plus 1 when on or after RFSTDTC; no day 0",
                expression="(date(AESTDTC) - date(RFSTDTC)).days + (date(AESTDTC) >= date(RFSTDTC))",
                expression_context="Python 3.11",
            ),
            Method("MT.LBSTRESN", "LBSTRESN", "Numeric value of LBSTRESC when it is a number", document="LF.PROTOCOL"),
        ),
        comments=(Comment("COM.SUPPAE", "Dose-limiting toxicity as judged by the investigator", "LF.PROTOCOL"),),
        documents=DOCUMENTS,
    )
    return Bundle("SDTM", built, metadata)


def adam_bundle() -> Bundle:
    ids = ["NCI84X-001", "NCI84X-002", "NCI84X-003"]
    adsl = pd.DataFrame(
        {
            "STUDYID": STUDY,
            "USUBJID": ids,
            "AGE": [56.0, 41.0, 81.0],
            "SEX": ["M", "F", "M"],
            "SAFFL": "Y",
            "TRTSDT": [16131.0, 16140.0, 16150.0],
        }
    )
    adsl_meta = Dataset(
        name="ADSL",
        label="Subject-Level Analysis Dataset",
        purpose="Analysis",
        standard_oid=ADAMIG.oid,
        class_="SUBJECT LEVEL ANALYSIS DATASET",
        structure="One record per subject",
        repeating=False,
        keys=("STUDYID", "USUBJID"),
        variables=(
            _v("STUDYID", "Study Identifier", core="Req", origin=Origin("Predecessor", description="DM.STUDYID")),
            _v(
                "USUBJID",
                "Unique Subject Identifier",
                core="Req",
                origin=Origin("Predecessor", description="DM.USUBJID"),
            ),
            _num("AGE", "Age", core="Req", origin=Origin("Predecessor", description="DM.AGE")),
            _v("SEX", "Sex", core="Req", codelist="CL.SEX", origin=Origin("Predecessor", description="DM.SEX")),
            _v("SAFFL", "Safety Population Flag", core="Cond", codelist="CL.NY", origin=DERIVED, method="MT.SAFFL"),
            _num(
                "TRTSDT",
                "Date of First Exposure to Treatment",
                core="Cond",
                format="DATE9.",
                origin=DERIVED,
                method="MT.TRTSDT",
            ),
        ),
    )
    adrs = pd.DataFrame(
        {
            "STUDYID": STUDY,
            "USUBJID": [ids[0], ids[0], ids[1], ids[1], ids[2], ids[2]],
            "PARAMCD": ["BOR", "CBR", "BOR", "CBR", "BOR", "CBR"],
            "PARAM": [
                "Best Overall Response",
                "Clinical Benefit",
                "Best Overall Response",
                "Clinical Benefit",
                "Best Overall Response",
                "Clinical Benefit",
            ],
            "AVALC": ["PR", "Y", "PD", "N", "SD", "Y"],
            "ADT": [16180.0, 16180.0, 16200.0, 16200.0, 16210.0, 16210.0],
        }
    )
    bor, cbr = (Condition("PARAMCD", ("BOR",)),), (Condition("PARAMCD", ("CBR",)),)
    adrs_meta = Dataset(
        name="ADRS",
        label="Response Analysis Dataset",
        purpose="Analysis",
        standard_oid=ADAMIG.oid,
        class_="BASIC DATA STRUCTURE",
        structure="One record per subject per parameter",
        keys=("STUDYID", "USUBJID", "PARAMCD"),
        comment="COM.ADRS",
        variables=(
            _v("STUDYID", "Study Identifier", core="Req", origin=Origin("Predecessor", description="ADSL.STUDYID")),
            _v(
                "USUBJID",
                "Unique Subject Identifier",
                core="Req",
                origin=Origin("Predecessor", description="ADSL.USUBJID"),
            ),
            _v("PARAMCD", "Parameter Code", core="Req", codelist="CL.PARAMCD.ADRS", origin=SPONSOR),
            _v("PARAM", "Parameter", core="Req", codelist="CL.PARAM.ADRS", origin=SPONSOR),
            _v(
                "AVALC",
                "Analysis Value (C)",
                core="Cond",
                origin=DERIVED,
                value_levels=(
                    ValueLevel(
                        where=bor,
                        name="AVALC",
                        label="Best overall response",
                        data_type="text",
                        length=2,
                        codelist="CL.ONCRSR",
                        origin=DERIVED,
                        method="MT.BOR",
                    ),
                    ValueLevel(
                        where=cbr,
                        name="AVALC",
                        label="Clinical benefit (CR, PR or SD)",
                        data_type="text",
                        length=1,
                        codelist="CL.NY",
                        origin=DERIVED,
                        method="MT.CBR",
                    ),
                ),
            ),
            _num("ADT", "Analysis Date", core="Cond", format="DATE9.", origin=DERIVED, method="MT.ADT"),
        ),
    )
    adlb = pd.DataFrame(
        {
            "STUDYID": STUDY,
            "USUBJID": [ids[0], ids[1]],
            "PARAMCD": ["IFNG", "IFNG"],
            "PARAM": "Interferon Gamma (pg/mL)",
            "AVAL": [1612.0, 0.0],
            "ANL01FL": ["Y", "Y"],
        }
    )
    adlb_meta = Dataset(
        name="ADLB",
        label="Laboratory Analysis Dataset",
        purpose="Analysis",
        standard_oid=ADAMIG.oid,
        class_="BASIC DATA STRUCTURE",
        structure="One record per subject per parameter",
        keys=("STUDYID", "USUBJID", "PARAMCD"),
        variables=(
            _v("STUDYID", "Study Identifier", core="Req", origin=Origin("Predecessor", description="LB.STUDYID")),
            _v(
                "USUBJID",
                "Unique Subject Identifier",
                core="Req",
                origin=Origin("Predecessor", description="LB.USUBJID"),
            ),
            _v("PARAMCD", "Parameter Code", core="Req", codelist="CL.PARAMCD.ADLB", origin=SPONSOR),
            _v("PARAM", "Parameter", core="Req", origin=SPONSOR),
            _num(
                "AVAL",
                "Analysis Value",
                data_type="float",
                significant_digits=1,
                core="Cond",
                origin=DERIVED,
                method="MT.AVAL.PEAK",
            ),
            _v("ANL01FL", "Analysis Flag 01", core="Cond", codelist="CL.NY", origin=DERIVED, method="MT.AVAL.PEAK"),
        ),
    )
    adtte = pd.DataFrame(
        {"STUDYID": STUDY, "USUBJID": ids, "PARAMCD": "PFS", "AVAL": [47.0, 6.0, 62.0], "CNSR": [0.0, 0.0, 1.0]}
    )
    adtte_meta = Dataset(
        name="ADTTE",
        label="Time-to-Event Analysis Dataset",
        purpose="Analysis",
        standard_oid=ADAMIG.oid,
        class_="BASIC DATA STRUCTURE",
        subclass="TIME-TO-EVENT",
        structure="One record per subject per parameter",
        keys=("STUDYID", "USUBJID", "PARAMCD"),
        variables=(
            _v("STUDYID", "Study Identifier", core="Req", origin=Origin("Predecessor", description="ADSL.STUDYID")),
            _v(
                "USUBJID",
                "Unique Subject Identifier",
                core="Req",
                origin=Origin("Predecessor", description="ADSL.USUBJID"),
            ),
            _v("PARAMCD", "Parameter Code", core="Req", origin=SPONSOR),
            _num("AVAL", "Analysis Value", core="Cond", origin=DERIVED, method="MT.PFS"),
            _num("CNSR", "Censor", core="Cond", origin=DERIVED, method="MT.PFS"),
        ),
    )
    built = {
        b.meta.name: b
        for b in (
            _dataset(adsl_meta, adsl),
            _dataset(adrs_meta, adrs),
            _dataset(adlb_meta, adlb),
            _dataset(adtte_meta, adtte),
        )
    }
    sponsor = dict(standard=None, sponsor_defined=True)
    codelists = (
        _cl("CL.NY", "No Yes Response", [("N", "No", "C49487"), ("Y", "Yes", "C49488")], c_code="C66742"),
        _cl("CL.SEX", "Sex", [("F", "Female", "C16576"), ("M", "Male", "C20197")], c_code="C66731"),
        _cl(
            "CL.ONCRSR",
            "Oncology Response Assessment Result",
            [
                ("CR", "Complete Response", "C4870"),
                ("PR", "Partial Response", "C18058"),
                ("SD", "Stable Disease", "C18213"),
                ("PD", "Progressive Disease", "C35571"),
            ],
            c_code="C96785",
            extensible=True,
        ),
        _cl("CL.PARAMCD.ADRS", "ADRS Parameter Code", [("BOR", None, None), ("CBR", None, None)], **sponsor),
        _cl(
            "CL.PARAM.ADRS",
            "ADRS Parameter",
            [("Best Overall Response", None, None), ("Clinical Benefit", None, None)],
            **sponsor,
        ),
        _cl("CL.PARAMCD.ADLB", "ADLB Parameter Code", [("IFNG", "Interferon Gamma (pg/mL)", None)], **sponsor),
    )
    metadata = StudyMetadata(
        study_oid=STUDY,
        study_name=STUDY,
        description="IL-12 with trastuzumab and paclitaxel, phase I",
        protocol_name="NCI protocol 84",
        standards=(ADAMIG, ADAM_CT, SDTM_CT),
        datasets=tuple(b.meta for b in built.values()),
        codelists=codelists,
        methods=(
            Method("MT.SAFFL", "SAFFL", "Y when the subject received any study treatment, else N"),
            Method("MT.TRTSDT", "TRTSDT", "Date part of the first EX.EXSTDTC"),
            Method("MT.BOR", "BOR", "Best overall response per RECIST 1.0; SD must last at least 42 days"),
            Method("MT.CBR", "CBR", "Y when the best overall response is CR, PR or SD, else N"),
            Method("MT.ADT", "ADT", "Date of the assessment that determined the response"),
            Method(
                "MT.AVAL.PEAK",
                "Peak value",
                "Highest LBSTRESN of the subject over all cycles",
                expression="lb.groupby('USUBJID').LBSTRESN.max()",
                expression_context="Python 3.11 (pandas)",
            ),
            Method("MT.PFS", "PFS", "Days from TRTSDT to progression or death; censored at the last assessment"),
        ),
        comments=(Comment("COM.ADRS", "Responses assessed every two cycles"),),
        documents=DOCUMENTS,
    )
    return Bundle("ADaM", built, metadata)


def analysis_results() -> dict:
    """The ADaM fixture's Analysis Results Metadata, as a study's adam/analysis_results.yaml states it."""
    return {
        "displays": [
            {
                "id": "T3",
                "name": "Table 3",
                "title": "Best overall response and clinical benefit by subject",
                "documents": ["LF.PROTOCOL"],
                "results": [
                    {
                        "id": "T3.BOR",
                        "description": "Best overall response (RECIST): counts of CR, PR, SD, PD",
                        "reason": "SPECIFIED IN PROTOCOL",
                        "purpose": "PRIMARY OUTCOME MEASURE",
                        "parameter": "ADRS.PARAMCD",
                        "datasets": [{"dataset": "ADRS", "where": {"PARAMCD": "BOR"}, "variables": ["AVALC"]}],
                        "documentation": "Frequency of each best overall response over all treated subjects",
                    },
                    {
                        "id": "T3.CBR",
                        "description": "Clinical benefit rate (CR + PR + SD)",
                        "reason": "SPECIFIED IN PROTOCOL",
                        "purpose": "PRIMARY OUTCOME MEASURE",
                        "parameter": "ADRS.PARAMCD",
                        "datasets": [{"dataset": "ADRS", "where": {"PARAMCD": "CBR"}, "variables": ["AVALC"]}],
                        "code": {
                            "context": "Python 3.11 (pandas)",
                            "text": "adrs.query(\"PARAMCD == 'CBR'\").AVALC.eq('Y').mean()",
                        },
                    },
                ],
            },
            {
                "id": "F1A",
                "name": "Figure 1A",
                "title": "Peak IFN-gamma by clinical benefit",
                "results": [
                    {
                        "id": "F1A.FISHER",
                        "description": "Fisher's exact test: detectable IFN-gamma versus clinical benefit",
                        "reason": "SPECIFIED IN SAP",
                        "purpose": "EXPLORATORY OUTCOME MEASURE",
                        "datasets": [
                            {"dataset": "ADRS", "where": {"PARAMCD": "CBR"}, "variables": ["AVALC"]},
                            {"dataset": "ADLB", "where": {"PARAMCD": "IFNG", "ANL01FL": "Y"}, "variables": ["AVAL"]},
                        ],
                        "documentation": "Two-sided Fisher's exact test of the 2x2 table clinical benefit x (AVAL > 0)",
                    },
                ],
            },
        ]
    }


@functools.lru_cache(maxsize=1)
def _study_folder() -> Path:
    """A study folder holding only adam/analysis_results.yaml (what the define writer reads for ARM)."""
    folder = Path(tempfile.mkdtemp(prefix="sdtmify-define-"))
    (folder / "adam").mkdir()
    (folder / "adam" / "analysis_results.yaml").write_text(
        yaml.safe_dump(analysis_results(), sort_keys=False), encoding="utf-8"
    )
    return folder


def study_config(folder: Path | None = None, timestamp: str = "2026-01-02T03:04:05"):
    """A stand-in for the loaded study: what write_define_files reads from it (by default a folder
    whose adam/analysis_results.yaml is :func:`analysis_results`)."""
    return SimpleNamespace(name=STUDY, timestamp=timestamp, sponsor="NCI CTEP", folder=folder or _study_folder())


def write_xpts(bundle: Bundle, folder: Path) -> Path:
    """The bundle's datasets as XPT v5 beside define.xml (pyreadstat, as a real reader can check)."""
    import pyreadstat

    folder.mkdir(parents=True, exist_ok=True)
    for name, built in bundle.datasets.items():
        meta = built.meta
        pyreadstat.write_xport(
            built.frame,
            folder / f"{name.lower()}.xpt",
            file_label=meta.label,
            table_name=name,
            column_labels={v.name: v.label for v in meta.variables},
            file_format_version=5,
            variable_format={v.name: v.format for v in meta.variables if v.format},
        )
    return folder
