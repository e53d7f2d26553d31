"""Empty is valid (issue #12 item 9): a study with no adverse events and no labs builds, writes empty
datasets that read back with 0 rows, and define.xml says they have no data (def:HasNoData)."""

from __future__ import annotations

import json

import pyreadstat
from harness import run_inprocess
from inputs_support import inputs_project  # noqa: F401
from lxml import etree

DEF = "http://www.cdisc.org/ns/def/v2.1"
ODM = "http://www.cdisc.org/ns/odm/v1.3"


def test_a_study_without_adverse_events_or_labs_builds_empty_datasets(inputs_project):  # noqa: F811
    project = inputs_project
    for name in ("adverse_events", "labs"):
        source = project / "mappings" / "MINI" / "source" / f"{name}.csv"
        source.write_text(source.read_text().splitlines()[0] + "\n")
    outcome = run_inprocess(["build", "--study", "MINI", "--no-validate"], project)
    assert outcome.code == 0, outcome.stderr
    out = project / "output" / "MINI" / "sdtm"
    for dataset, some_variables in (("ae", {"AETERM", "AESTDTC", "AESTDY"}), ("lb", {"LBTESTCD", "VISIT", "LBDY"})):
        frame, meta = pyreadstat.read_xport(str(out / f"{dataset}.xpt"))
        assert frame.shape[0] == 0 and meta.number_rows == 0
        assert some_variables <= set(frame.columns)  # an empty dataset keeps its variables
        document = json.loads((out / "dataset-json" / f"{dataset}.json").read_text())
        assert document["records"] == 0 and document["rows"] == []
    define = etree.parse(str(out / "define.xml"))
    no_data = {
        group.get("Name")
        for group in define.iter(f"{{{ODM}}}ItemGroupDef")
        if group.get(f"{{{DEF}}}HasNoData") == "Yes"
    }
    assert {"AE", "LB"} <= no_data and "DM" not in no_data
