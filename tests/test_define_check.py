"""define.xml against its XPT files: each kind of disagreement, broken once, gives one precise message."""

from __future__ import annotations

import re

import pyreadstat
import pytest
from define_fixtures import adam_bundle, sdtm_bundle, study_config, write_xpts
from lxml import etree

from sdtmify.validate.define_check import as_text, check_define_against_data
from sdtmify.writers.define import write_define_files

NS = {
    "odm": "http://www.cdisc.org/ns/odm/v1.3",
    "def": "http://www.cdisc.org/ns/def/v2.1",
    "arm": "http://www.cdisc.org/ns/arm/v1.0",
}
DEF = "{http://www.cdisc.org/ns/def/v2.1}"


def _build(folder, bundle):
    write_define_files(bundle, folder, study_config())
    write_xpts(bundle, folder)
    return folder / "define.xml"


@pytest.fixture
def sdtm(tmp_path):
    return _build(tmp_path / "sdtm", sdtm_bundle())


@pytest.fixture
def adam(tmp_path):
    return _build(tmp_path / "adam", adam_bundle())


def _edit(define, xpath, change):
    """Apply ``change`` to the one element at ``xpath`` in define.xml; return that element's line."""
    tree = etree.parse(str(define))
    (element,) = tree.getroot().xpath(xpath, namespaces=NS)
    change(element)
    tree.write(str(define), xml_declaration=True, encoding="UTF-8")
    # the line in the file as rewritten (the xml-stylesheet instruction may move what follows it)
    (element,) = etree.parse(str(define)).getroot().xpath(xpath, namespaces=NS)
    return element.sourceline


def _line(define, xpath):
    (element,) = etree.parse(str(define)).getroot().xpath(xpath, namespaces=NS)
    return element.sourceline


def _rewrite_xpt(define, name, change_frame, label=None):
    """Rewrite one XPT with its frame changed, keeping names, labels and the dataset label."""
    path = define.parent / f"{name.lower()}.xpt"
    frame, meta = pyreadstat.read_xport(str(path))
    frame = change_frame(frame)
    labels = {k: v for k, v in meta.column_names_to_labels.items() if k in frame.columns}
    pyreadstat.write_xport(
        frame,
        str(path),
        file_label=label if label is not None else meta.file_label,
        column_labels=labels,
        table_name=name,
        file_format_version=5,
    )


@pytest.mark.parametrize("make", [_build])
def test_fixture_define_agrees_with_its_data(tmp_path, make):
    for bundle in (sdtm_bundle(), adam_bundle()):
        define = make(tmp_path / bundle.standard, bundle)
        assert check_define_against_data(define, define.parent) == []


def test_variable_label_differs(sdtm):
    _edit(
        sdtm,
        "//odm:ItemDef[@OID='IT.AE.AETERM']/odm:Description/odm:TranslatedText",
        lambda el: setattr(el, "text", "Reported Term"),
    )
    line = _line(sdtm, "//odm:ItemDef[@OID='IT.AE.AETERM']")
    assert check_define_against_data(sdtm, sdtm.parent) == [
        f"define.xml:{line}: AE.AETERM: label 'Reported Term' in define.xml but "
        "'Reported Term for the Adverse Event' in ae.xpt"
    ]


def test_dataset_label_differs(sdtm):
    _rewrite_xpt(sdtm, "DM", lambda f: f, label="Demography")
    (message,) = check_define_against_data(sdtm, sdtm.parent)
    assert re.fullmatch(
        r"define\.xml:\d+: dataset DM: label 'Demographics' in define\.xml but 'Demography' in dm\.xpt", message
    )


def test_length_differs(sdtm):
    line = _edit(sdtm, "//odm:ItemDef[@OID='IT.AE.AETERM']", lambda el: el.set("Length", "200"))
    assert check_define_against_data(sdtm, sdtm.parent) == [
        f"define.xml:{line}: AE.AETERM: Length 200 in define.xml but 11 in ae.xpt"
    ]


def test_datetime_itemdef_has_no_length_to_compare(sdtm):
    """Define-XML 2.1: Length is given for text, integer and float only; a datetime ItemDef has none,
    and one stated anyway is not compared with the XPT length."""
    item = "//odm:ItemDef[@OID='IT.AE.AESTDTC']"
    assert _edit(sdtm, item, lambda el: el.attrib.pop("Length", None)) > 0
    assert etree.parse(str(sdtm)).getroot().xpath(item, namespaces=NS)[0].get("DataType") == "datetime"
    assert check_define_against_data(sdtm, sdtm.parent) == []
    _edit(sdtm, item, lambda el: el.set("Length", "8"))
    assert check_define_against_data(sdtm, sdtm.parent) == []


def test_variable_missing_from_the_data(sdtm):
    _rewrite_xpt(sdtm, "AE", lambda f: f.drop(columns=["AESER"]))
    (message,) = check_define_against_data(sdtm, sdtm.parent)
    assert re.fullmatch(r"define\.xml:\d+: AE\.AESER is in define\.xml but not in ae\.xpt", message)


def test_variable_missing_from_define(sdtm):
    _rewrite_xpt(sdtm, "AE", lambda f: f.assign(AEXTRA="x"))
    assert check_define_against_data(sdtm, sdtm.parent) == [
        "ae.xpt: AE.AEXTRA is in ae.xpt but not in define.xml; add an ItemRef and ItemDef for it or drop the column"
    ]


def test_type_differs(sdtm):
    line = _edit(sdtm, "//odm:ItemDef[@OID='IT.AE.AESEQ']", lambda el: el.set("DataType", "text"))
    assert check_define_against_data(sdtm, sdtm.parent) == [
        f"define.xml:{line}: AE.AESEQ: DataType text in define.xml (character) but ae.xpt stores it as numeric"
    ]


def test_records_out_of_key_order(sdtm):
    _rewrite_xpt(sdtm, "LB", lambda f: f.iloc[[0, 2, 1, 3]])
    assert check_define_against_data(sdtm, sdtm.parent) == [
        "lb.xpt: records are not sorted by the LB keys STUDYID, USUBJID, LBTESTCD, LBDTC from define.xml "
        "(record 3 sorts before record 2)"
    ]


def test_key_sequence_must_run_from_one(sdtm):
    _edit(
        sdtm,
        "//odm:ItemGroupDef[@OID='IG.DM']/odm:ItemRef[@ItemOID='IT.DM.USUBJID']",
        lambda el: el.set("KeySequence", "3"),
    )
    group_line = _line(sdtm, "//odm:ItemGroupDef[@OID='IG.DM']")
    assert check_define_against_data(sdtm, sdtm.parent) == [
        f"define.xml:{group_line}: dataset DM: KeySequence values [1, 3] should run 1..2"
    ]


def test_keys_must_identify_each_record(sdtm):
    _rewrite_xpt(sdtm, "LB", lambda f: f.assign(LBTESTCD="CXCL10", LBDTC="2004-03-02"))
    assert check_define_against_data(sdtm, sdtm.parent) == [
        "lb.xpt: 4 records share their LB keys STUDYID, USUBJID, LBTESTCD, LBDTC (e.g. STUDYID='NCI84X', "
        "USUBJID='NCI84X-001', LBTESTCD='CXCL10', LBDTC='2004-03-02'); the keys must identify each record"
    ]


def test_variable_order_differs_from_order_number(sdtm):
    _rewrite_xpt(sdtm, "DM", lambda f: f[["STUDYID", "DOMAIN", "USUBJID", "SUBJID", "SEX", "AGE"]])
    (message,) = check_define_against_data(sdtm, sdtm.parent)
    assert re.fullmatch(
        r"define\.xml:\d+: dataset DM: variable order differs from OrderNumber at position 5: "
        r"AGE in define\.xml, SEX in dm\.xpt",
        message,
    )


def test_codelist_value_not_in_codelist(sdtm):
    _rewrite_xpt(sdtm, "AE", lambda f: f.assign(AESER=["N", "X", "Y"]))
    (message,) = check_define_against_data(sdtm, sdtm.parent)
    assert re.fullmatch(
        r"ae\.xpt: AE\.AESER: 1 value\(s\) not in codelist CL\.NY \(No Yes Response\) of "
        r"define\.xml:\d+: 'X' in 1 record\(s\)",
        message,
    )


def test_value_level_codelist_applies_under_its_where_clause(adam):
    # "Y" is a valid CBR value but not a valid best overall response.
    _rewrite_xpt(adam, "ADRS", lambda f: f.assign(AVALC=["Y", "Y", "PD", "N", "SD", "Y"]))
    (message,) = check_define_against_data(adam, adam.parent)
    assert re.fullmatch(
        r"adrs\.xpt: ADRS\.AVALC where PARAMCD EQ BOR: 1 value\(s\) not in codelist CL\.ONCRSR "
        r"\(Oncology Response Assessment Result\) of define\.xml:\d+: 'Y' in 1 record\(s\)",
        message,
    )


def test_sponsor_extended_terms_and_dictionaries_are_accepted(sdtm):
    # PERK is a sponsor extension of LBTESTCD; AEDECOD is checked against MedDRA elsewhere, not here.
    _rewrite_xpt(sdtm, "AE", lambda f: f.assign(AEDECOD=["Fatigue", "NotMedDRA11", "Zz"]))
    assert check_define_against_data(sdtm, sdtm.parent) == []


def test_dangling_oid_reference(sdtm):
    line = _edit(sdtm, "//odm:ItemDef[@OID='IT.AE.AESER']/odm:CodeListRef", lambda el: el.set("CodeListOID", "CL.NOPE"))
    assert check_define_against_data(sdtm, sdtm.parent) == [
        f"define.xml:{line}: CodeListRef CodeListOID='CL.NOPE' refers to no CodeList"
    ]


def test_dangling_arm_references(adam):
    line = _edit(
        adam,
        "//arm:AnalysisResult[@OID='AR.T3.BOR']//arm:AnalysisVariable",
        lambda el: el.set("ItemOID", "IT.ADRS.AVAL"),
    )
    assert check_define_against_data(adam, adam.parent) == [
        f"define.xml:{line}: AnalysisVariable ItemOID='IT.ADRS.AVAL' refers to no ItemDef"
    ]


def test_unused_definition(sdtm):
    def add_method(mdv):
        odm = "{http://www.cdisc.org/ns/odm/v1.3}"
        method = etree.SubElement(mdv, odm + "MethodDef", OID="MT.UNUSED", Name="Unused", Type="Computation")
        etree.SubElement(etree.SubElement(method, odm + "Description"), odm + "TranslatedText").text = "Never used"
        mdv.insert(list(mdv).index(mdv.find("odm:MethodDef", NS)), method)

    _edit(sdtm, "//odm:MetaDataVersion", add_method)
    (message,) = check_define_against_data(sdtm, sdtm.parent)
    assert re.fullmatch(r"define\.xml:\d+: MethodDef 'MT\.UNUSED' is defined but nothing refers to it", message)


def test_dataset_file_missing_and_file_not_described(sdtm):
    (sdtm.parent / "suppae.xpt").rename(sdtm.parent / "suppxx.xpt")
    messages = check_define_against_data(sdtm, sdtm.parent)
    assert len(messages) == 2
    assert re.fullmatch(r"define\.xml:\d+: dataset SUPPAE points to suppae\.xpt, which is not in .+", messages[0])
    assert messages[1] == (
        "suppxx.xpt: dataset SUPPXX is not described in define.xml; add its ItemGroupDef or remove the file"
    )


def test_numbers_compare_with_codelists_as_text():
    import pandas as pd

    assert list(as_text(pd.Series([1.0, 2.5, float("nan")]))) == ["1", "2.5"]
    assert list(as_text(pd.Series(["Y", "", None], dtype=object))) == ["Y"]


def test_definition_without_description(sdtm):
    line = _edit(
        sdtm, "//odm:MethodDef[@OID='MT.SEQ']/odm:Description/odm:TranslatedText", lambda el: setattr(el, "text", " ")
    )
    method_line = _line(sdtm, "//odm:MethodDef[@OID='MT.SEQ']")
    assert line == method_line + 2
    assert check_define_against_data(sdtm, sdtm.parent) == [
        f"define.xml:{method_line}: MethodDef 'MT.SEQ' has no description; "
        "state what it is (a label, or how the value is derived)"
    ]


def test_key_order_compares_records_with_their_predecessor():
    import pandas as pd

    from sdtmify.validate.define_check import key_order

    frame = pd.DataFrame({"USUBJID": ["A", "A", "B", "A", "A"], "DAY": [1.0, float("nan"), 1.0, 1.0, 1.0]})
    # Missing sorts first (as in SAS), so record 2 (A, .) sorts before record 1 (A, 1).
    assert key_order(frame, ["USUBJID", "DAY"]).tolist() == [-1, 1, -1, 0]
