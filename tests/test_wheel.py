"""The wheel is the whole tool: built, installed into a fresh venv outside the checkout and run there as
a user would, it finds every rule, the CT subset, the schemas, the IG metadata and the NCI84 example.

How it is installed (fast, no registry needed at install time): the wheel is built from a copy of the
files it is made of with ``pip wheel --no-deps`` (an isolated build, which fetches setuptools as any pip
install does; when that fails, --no-build-isolation with the running interpreter's setuptools>=68 and
wheel), then installed with ``pip install --no-deps --no-index`` into a venv created without pip. The venv finds sdtmify's dependencies through a ``.pth`` file listing the running
interpreter's site-packages folders; a .pth line only extends sys.path (the .pth files *in* those
folders, e.g. an editable install of sdtmify, are not run), so ``import sdtmify`` in the venv is the
wheel's copy, which the first test asserts. Every command runs from an empty folder outside the
checkout with SDTMIFY_HOME and PYTHONPATH unset."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

# What a wheel is made of; the copy keeps build/ and *.egg-info out of the checkout.
WHEEL_SOURCES = ("pyproject.toml", "README.md", "src", "specs", "mappings")
CATALOGUE = yaml.safe_load((ROOT / "specs" / "rules" / "catalogue.yaml").read_text(encoding="utf-8"))["files"]


class Installed:
    def __init__(self, venv: Path, work: Path):
        self.venv, self.work = venv, work
        self.python = venv / "bin" / "python"
        self.sdtmify = venv / "bin" / "sdtmify"
        self.env = {k: v for k, v in os.environ.items() if k not in ("SDTMIFY_HOME", "PYTHONPATH", "PYTHONHOME")}
        self.env["PATH"] = f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.sdtmify), *args], cwd=cwd or self.work, env=self.env, capture_output=True, text=True, timeout=900
        )

    def package_file(self, *parts: str) -> Path:
        found = sorted(self.venv.glob("lib/python*/site-packages/sdtmify"))
        assert len(found) == 1, found
        return found[0].joinpath(*parts)


def _pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=600)


def build_wheel(dist: Path, sources: Path) -> Path:
    for name in WHEEL_SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
            shutil.copytree(origin, sources / name, ignore=ignore)
        else:
            shutil.copy2(origin, sources / name)
    built = _pip("wheel", "--no-deps", "-q", "-w", str(dist), str(sources))
    if built.returncode != 0:  # no index reachable for the isolated build: use this interpreter's setuptools
        built = _pip("wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(sources))
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("sdtmify-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    (base / "sources").mkdir()
    wheel = build_wheel(base / "dist", base / "sources")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dependencies = [p for p in (*site.getsitepackages(), site.getusersitepackages()) if Path(p).is_dir()]
    Path(purelib, "_sdtmify_test_dependencies.pth").write_text("\n".join(dependencies) + "\n", encoding="utf-8")
    done = _pip("--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel))
    assert done.returncode == 0, done.stderr
    work = base / "empty"
    work.mkdir()
    return Installed(venv, work)


@pytest.fixture(scope="module")
def built(installed) -> Path:
    """`sdtmify build --study NCI84` in an empty folder: the shipped example into ./output/NCI84."""
    run = installed.run("build", "--study", "NCI84", "-q")
    assert run.returncode == 0, run.stderr
    return installed.work / "output" / "NCI84"


def test_the_venv_runs_the_wheel_not_the_checkout(installed):
    probe = subprocess.run(
        [
            str(installed.python),
            "-c",
            "import sdtmify, sdtmify.resources as r; print(sdtmify.__file__); print(r.specs_dir()); "
            "print(r.example_study('NCI84'))",
        ],
        cwd=installed.work,
        env=installed.env,
        capture_output=True,
        text=True,
        check=True,
    )
    package, specs, example = (Path(line) for line in probe.stdout.splitlines())
    site_packages = installed.package_file().parent
    assert package == site_packages / "sdtmify" / "__init__.py"
    assert specs == site_packages / "sdtmify" / "specs"
    assert example == site_packages / "sdtmify" / "examples" / "NCI84"
    assert not (site_packages / "sdtmify" / "examples" / "NCI84" / "generator").exists()


def test_build_from_the_wheel_in_an_empty_folder_writes_every_stage(installed, built):
    for name in (
        "README.md",
        "sdtm/dm.xpt",
        "sdtm/define.xml",
        "sdtm/dataset-json/dm.json",
        "adam/adsl.xpt",
        "adam/define.xml",
        "validation/validation.json",
        "report/comparison.md",
    ):
        assert (built / name).is_file(), name
    assert sorted(p.name for p in installed.work.iterdir()) == ["output"]  # nothing else written
    report = json.loads((built / "validation" / "validation.json").read_text(encoding="utf-8"))
    assert report["summary"]["rules"] == sum(CATALOGUE.values())
    assert report["summary"]["errors"] == 0


def test_the_wheel_build_equals_the_checkout_build_byte_for_byte(built, nci84_output):
    checkout, _ = nci84_output
    ours = {p.relative_to(built).as_posix(): p.read_bytes() for p in sorted(built.rglob("*")) if p.is_file()}
    theirs = {p.relative_to(checkout).as_posix(): p.read_bytes() for p in sorted(checkout.rglob("*")) if p.is_file()}
    assert sorted(ours) == sorted(theirs)
    assert [name for name in ours if ours[name] != theirs[name]] == []


def test_validate_from_the_wheel_runs_every_catalogued_rule(installed, built):
    run = installed.run("validate", str(built / "sdtm"), "--report-dir", "checked", "-q")
    assert run.returncode == 0, run.stderr
    summary = json.loads((installed.work / "checked" / "validation.json").read_text(encoding="utf-8"))["summary"]
    assert summary["rules"] == sum(CATALOGUE.values()) == 363
    assert summary["errors"] == 0
    assert summary["rules_passed"] >= 100  # the SDTM rules ran; ADaM-only ones are skipped with a reason
    shutil.rmtree(installed.work / "checked")


def test_a_corrupted_dataset_fails_with_its_finding(installed, built, tmp_path):
    """DM.SEX set to a value outside the CDISC codelist in the Dataset-JSON: CT2001 (shipped CT) fires."""
    folder = tmp_path / "corrupted"
    folder.mkdir()
    for path in sorted((built / "sdtm" / "dataset-json").glob("*.json")):
        shutil.copy2(path, folder / path.name)
    dm = json.loads((folder / "dm.json").read_text(encoding="utf-8"))
    sex = [c["name"] for c in dm["columns"]].index("SEX")
    usubjid = [c["name"] for c in dm["columns"]].index("USUBJID")
    dm["rows"][0][sex] = "Q"
    (folder / "dm.json").write_text(json.dumps(dm), encoding="utf-8")
    run = installed.run("validate", str(folder), "--report-dir", str(tmp_path / "report"), "-q")
    assert run.returncode == 1, run.stderr
    findings = json.loads((tmp_path / "report" / "validation.json").read_text(encoding="utf-8"))["findings"]
    ct2001 = [f for f in findings if f["rule"] == "CT2001"]
    assert [(f["dataset"], f["usubjid"], f["values"]) for f in ct2001] == [("DM", dm["rows"][0][usubjid], "Q")]


def test_a_truncated_xpt_stops_validate_with_exit_2_and_one_line(installed, built, tmp_path):
    folder = tmp_path / "truncated"
    shutil.copytree(built / "sdtm", folder, ignore=shutil.ignore_patterns("dataset-json", "define.*"))
    (folder / "ae.xpt").write_bytes((folder / "ae.xpt").read_bytes()[:100])
    run = installed.run("validate", str(folder), "-q")
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "ae.xpt" in lines[0] and "Traceback" not in run.stderr, run.stderr


def test_a_rule_file_missing_from_the_installed_package_stops_validate(installed, built):
    rule_file = installed.package_file("specs", "rules", "sdtm-dm.yaml")
    aside = rule_file.with_name("sdtm-dm.yaml.aside")
    rule_file.rename(aside)
    try:
        run = installed.run("validate", str(built / "sdtm"), "-q")
    finally:
        aside.rename(rule_file)
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        f"error: {rule_file}: rule file missing (catalogue.yaml declares {CATALOGUE['sdtm-dm.yaml']} rule(s) in "
        "it); the validator will not run with part of its catalogue; reinstall sdtmify"
    ]
