"""`sdtmify adam --sdtm DIR --study S`: the ADaM layer on an SDTM folder sdtmify did not build. Fed the
SDTM files of NCI84's build (XPT with the folder's define.xml, or Dataset-JSON whose metaDataRef names
it), it writes the same ADaM as the build, byte for byte: XPT, Dataset-JSON, define.xml, ADRG."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sdtmify.adam_only import build_adam_from_sdtm, read_sdtm
from sdtmify.errors import InputError
from sdtmify.study import load_study

SDTMIFY = shutil.which("sdtmify", path=str(Path(sys.executable).parent)) or "sdtmify"


def sdtm_copy(built: Path, target: Path, kinds=(".xpt",), define: bool = True) -> Path:
    """A folder holding only the SDTM data files (and define.xml) of a build, as another tool leaves them."""
    target.mkdir(parents=True)
    source = built / "sdtm" if ".xpt" in kinds else built / "sdtm" / "dataset-json"
    for path in sorted(source.iterdir()):
        if path.suffix in kinds:
            shutil.copy2(path, target / path.name)
    if define:
        shutil.copy2(built / "sdtm" / "define.xml", target / "define.xml")
    return target


def test_adam_from_sdtm_xpt_files_is_the_builds_adam_byte_for_byte(nci84_output, tmp_path):
    built, _ = nci84_output
    sdtm = sdtm_copy(built, tmp_path / "their-sdtm")
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k not in ("SDTMIFY_HOME", "SOURCE_DATE_EPOCH")}
    done = subprocess.run(
        [SDTMIFY, "adam", "--sdtm", str(sdtm), "--study", "NCI84", "--out", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert f"sdtmify adam NCI84 -> {out}" in done.stdout
    assert "report      all published values reproduced: report/comparison.md" in done.stdout
    expected = sorted(p.relative_to(built / "adam") for p in (built / "adam").rglob("*") if p.is_file())
    written = sorted(p.relative_to(out / "adam") for p in (out / "adam").rglob("*") if p.is_file())
    assert written == expected
    different = [str(p) for p in expected if (out / "adam" / p).read_bytes() != (built / "adam" / p).read_bytes()]
    assert different == []
    assert (out / "validation" / "validation.json").is_file() and not (out / "sdtm").exists()
    assert sorted(p.name for p in sdtm.iterdir()) == sorted(p.name for p in (tmp_path / "their-sdtm").iterdir())


def test_dataset_json_files_read_as_the_xpt_files_do(nci84_output, tmp_path):
    built, _ = nci84_output
    study = load_study("NCI84")
    from_json = read_sdtm(built / "sdtm" / "dataset-json", study)  # define.xml found through metaDataRef
    from_xpt = read_sdtm(built / "sdtm", study)
    assert sorted(from_json.datasets) == sorted(from_xpt.datasets)
    assert len(from_xpt.datasets) == 23
    for name, dataset in from_xpt.datasets.items():
        pd.testing.assert_frame_equal(from_json.datasets[name].frame, dataset.frame, check_dtype=False, obj=name)
    assert from_json.metadata.codelists == from_xpt.metadata.codelists
    assert from_json.metadata.study_name == "NCI84"


def test_a_domain_the_adam_specs_need_is_named_when_missing(nci84_output, tmp_path):
    built, _ = nci84_output
    sdtm = sdtm_copy(built, tmp_path / "sdtm", define=False)
    (sdtm / "mi.xpt").unlink()
    with pytest.raises(InputError) as info:
        build_adam_from_sdtm(str(sdtm), "NCI84", out_dir=str(tmp_path / "out"), validate=False, report=False)
    message = str(info.value)
    assert message.startswith("mappings/NCI84/adam/adsl.yaml:") and "no dataset MI" in message
    assert not (tmp_path / "out").exists()


def test_a_variable_the_adam_specs_need_is_named_when_missing(nci84_output, tmp_path):
    built, _ = nci84_output
    sdtm = sdtm_copy(built, tmp_path / "sdtm", kinds=(".json",), define=False)
    path = sdtm / "mi.json"
    document = json.loads(path.read_text())
    drop = next(i for i, c in enumerate(document["columns"]) if c["name"] == "MIORRES")
    document["columns"].pop(drop)
    document["rows"] = [row[:drop] + row[drop + 1 :] for row in document["rows"]]
    path.write_text(json.dumps(document))
    with pytest.raises(InputError) as info:
        build_adam_from_sdtm(str(sdtm), "NCI84", out_dir=str(tmp_path / "out"), validate=False, report=False)
    message = str(info.value)
    assert message.startswith("mappings/NCI84/adam/adsl.yaml:") and "MIORRES" in message and "MI" in message
    assert not (tmp_path / "out").exists()


def test_the_output_may_not_be_the_sdtm_folder_or_lie_inside_it(tmp_path):
    sdtm = tmp_path / "sdtm"
    sdtm.mkdir()
    for out in (sdtm, sdtm / "adam"):
        with pytest.raises(InputError) as info:
            build_adam_from_sdtm(str(sdtm), "NCI84", out_dir=str(out))
        assert "the input file" in str(info.value) and str(sdtm.resolve()) in str(info.value)
    assert list(sdtm.iterdir()) == []


def test_a_folder_without_datasets_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError) as info:
        build_adam_from_sdtm(str(tmp_path / "empty"), "NCI84", out_dir=str(tmp_path / "out"))
    assert "no SDTM datasets here" in str(info.value)
    assert not (tmp_path / "out").exists()
