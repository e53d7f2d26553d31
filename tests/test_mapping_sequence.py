"""--SEQ in the raw record order or by named keys (SDTMIG 3.4 section 4.1.5), on the mini NCI84 study."""

from __future__ import annotations

import sys
from pathlib import Path

from sdtmify.mapping.engine import build_sdtm
from sdtmify.study import load_study

sys.path.insert(0, str(Path(__file__).parent / "studies"))
from nci84_mini import write_mini


def ae_with_seq_order(tmp_path, order: str):
    study = write_mini(tmp_path)
    path = study / "sdtm" / "ae.yaml"
    text = path.read_text()
    assert "derive: [study_day, epoch, seq]" in text
    path.write_text(
        text.replace("derive: [study_day, epoch, seq]", f"derive: [study_day, epoch, {{seq: {{order: {order}}}}}]")
    )
    built = build_sdtm(load_study(study)).datasets["AE"]
    return built.frame.assign(SRCROW=built.lineage["SRCROW"].astype(int).to_numpy())


def test_seq_follows_the_raw_record_order(tmp_path):
    ae = ae_with_seq_order(tmp_path, "[SRCROW]")
    for _, records in ae.groupby("USUBJID"):
        by_row = records.sort_values("SRCROW")
        assert by_row["AESEQ"].tolist() == list(range(1, len(records) + 1))


def test_seq_follows_named_keys(tmp_path):
    ae = ae_with_seq_order(tmp_path, "[AETERM]")
    for _, records in ae.groupby("USUBJID"):
        by_term = records.sort_values(["AETERM", "SRCROW"], kind="mergesort")
        assert by_term["AESEQ"].tolist() == list(range(1, len(records) + 1))
