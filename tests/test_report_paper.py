"""The NCI84 report.yaml run end to end on ADaM XPT fixtures that carry the paper's numbers:
every published value is found and judged, outputs are byte-reproducible, errors point at YAML lines."""

from __future__ import annotations

import datetime as dt
import shutil
import struct
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml
from test_report_support import paper_shaped_adam, write_xpt

from sdtmify.guard import write_manifest
from sdtmify.report.compare import MATCH, MISMATCH, ROUNDING, SYNTHETIC
from sdtmify.report.paper import build_report, recompute, report_command
from sdtmify.studyspec.report import ReportSpecError, load_report_spec, load_yaml

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "mappings" / "NCI84"


def study_in(folder: Path, name: str = "NCI84") -> SimpleNamespace:
    return SimpleNamespace(
        folder=folder,
        name=name,
        studyid=name,
        timestamp=dt.datetime(2026, 1, 1),
        has_report=True,
        declares_none=lambda stage: False,
    )


@pytest.fixture()
def study_copy(tmp_path) -> Path:
    """A copy of the study's report.yaml and published.yaml, free to edit."""
    folder = tmp_path / "mappings" / "NCI84"
    folder.mkdir(parents=True)
    for name in ("report.yaml", "published.yaml"):
        shutil.copy(STUDY / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("paper")
    published = yaml.safe_load((STUDY / "published.yaml").read_text(encoding="utf-8"))
    paper_shaped_adam(published, base / "adam")
    written, mismatches = build_report(study_in(STUDY), base / "adam", base / "report")
    return base, written, mismatches


def comparison(base: Path) -> pd.DataFrame:
    return pd.read_csv(base / "report" / "comparison.csv", dtype=str, keep_default_na=False)


def test_every_published_value_of_the_paper_is_matched(built):
    base, written, mismatches = built
    table = comparison(base)
    assert mismatches == 0
    assert set(table["Status"]) == {MATCH, ROUNDING, SYNTHETIC}
    # Tables 2 and 3 are matched cell by cell: 21 values of Table 2, 21 patients x 8 columns of Table 3.
    assert (table["Published at"].str.startswith("table2.") & table["Status"].eq(MATCH)).sum() == 21
    assert (table["Published at"].str.startswith("table3.") & table["Status"].eq(MATCH)).sum() == 21 * 8
    # The text's numbers too: responses, benefit, HER2, DLT, grade 4 toxicities, sites, regimens...
    text = table[table["Published at"].str.startswith("text.")].set_index("Published at")["Status"]
    assert text.value_counts().to_dict() == {MATCH: 38, SYNTHETIC: 5, ROUNDING: 5}
    assert table["Status"].value_counts().to_dict() == {MATCH: 266, ROUNDING: 14, SYNTHETIC: 5}


def test_table4_rounding_inconsistencies_are_within_rounding_not_mismatches(built):
    base, _, _ = built
    table = comparison(base).set_index("Result")
    for cell in [
        "Anorexia/Grade 1 (%)",
        "Arthralgia/Grade 2 (%)",
        "Anemia/Grade 2 (%)",
        "Neutropenia/Grade 3 (%)",
        "Neuropathy/Total (%)*",
        "Neutropenia/Total (%)*",
    ]:
        assert table.loc[f"table4/{cell}", "Status"] == ROUNDING, cell
    assert table.loc["table4/Fatigue/Grade 2 (%)", "Status"] == MATCH
    assert table.loc["table4/Anorexia/Grade 1 (%)", "Recomputed"] == "19"


def test_headline_results_recomputed(built):
    base, _, _ = built
    table = comparison(base).set_index("Result")
    recomputed = table["Recomputed"].to_dict()
    assert [recomputed[f"best_response/{r}"] for r in ("CR", "PR", "SD", "PD")] == [
        "1/21 (5%)",
        "4/21 (19%)",
        "6/21 (29%)",
        "10/21 (48%)",
    ]
    assert recomputed["clinical_benefit/count"] == "11/21 (52%)"
    assert recomputed["responses_by_her2/3+/Responders"] == "4"
    assert recomputed["dlt_by_dose/300 ng/kg IV/count"] == "2/6 (33%)"
    assert recomputed["dlt_by_dose/200 ng/kg SC/count"] == "0/12 (0%)"
    assert (recomputed["ifng_peak_range_benefit/min"], recomputed["ifng_peak_range_benefit/max"]) == ("124", "1612")
    assert table.loc["ifng_vs_benefit/p", "Status"] == MATCH and recomputed["ifng_vs_benefit/p"] == "2.8e-06"
    for synthetic in ("pfs_by_ifng", "ip10_by_benefit", "mig_by_benefit", "mip1a_by_benefit", "il8_by_benefit"):
        synthetic += "/p"
        assert table.loc[synthetic, "Status"] == SYNTHETIC


def test_outputs_written_as_promised(built):
    base, written, _ = built
    names = {p.relative_to(base / "report").as_posix() for p in written}
    for table in ("table2", "table3", "table4"):
        assert {f"{table}.csv", f"{table}.md", f"{table}.html"} <= names
    assert {
        "figures/swimmer.png",
        "figures/ifng_over_time.png",
        "figures/toxicity_bars.png",
        "comparison.csv",
        "comparison.md",
        "headline.md",
        "report.html",
    } <= names
    assert all(p.is_file() for p in written)
    html = (base / "report" / "report.html").read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == 3
    table3 = pd.read_csv(base / "report" / "table3.csv", dtype=str, keep_default_na=False)
    assert table3.set_index("Patient").loc["G", "Duration of response or SD (d)"] == "1643+"
    assert table3.set_index("Patient").loc["E", "Duration of response or SD (d)"] == "—"


def png_text_chunks(data: bytes) -> list[bytes]:
    chunks, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        if kind in (b"tEXt", b"iTXt", b"zTXt", b"tIME"):
            chunks.append(kind + data[at + 8 : at + 8 + min(length, 40)])
        at += 12 + length
    return chunks


@pytest.mark.slow
def test_report_is_byte_reproducible_and_pngs_carry_no_software_or_time(built, tmp_path):
    base, written, _ = built
    again, _ = build_report(study_in(STUDY), base / "adam", tmp_path / "report")
    first = {p.relative_to(base / "report"): p.read_bytes() for p in written}
    second = {p.relative_to(tmp_path / "report"): p.read_bytes() for p in again}
    assert first == second
    for name, data in first.items():
        if name.suffix == ".png":
            assert data.startswith(b"\x89PNG")
            assert not [c for c in png_text_chunks(data) if b"Software" in c or c.startswith(b"tIME")]


@pytest.mark.slow
def test_unexplained_mismatch_is_counted_and_an_explanation_clears_it(built, study_copy, tmp_path):
    base, _, _ = built
    published = study_copy / "published.yaml"
    text = published.read_text(encoding="utf-8").replace("peak_ifng: 1612", "peak_ifng: 1613")
    published.write_text(text, encoding="utf-8")
    _, mismatches = build_report(study_in(study_copy), base / "adam", tmp_path / "r1")
    assert mismatches == 1
    rows = pd.read_csv(tmp_path / "r1" / "comparison.csv", dtype=str, keep_default_na=False)
    bad = rows[rows["Status"] == MISMATCH]
    assert bad["Result"].tolist() == ["table3/I/Peak IFN-γ level (pg/mL)"]
    report = study_copy / "report.yaml"
    spec = report.read_text(encoding="utf-8").replace(
        '    published:\n      path: "table3.patients[patient={key}]"',
        '    published:\n      path: "table3.patients[patient={key}]"\n'
        '      explain: {"table3/I/Peak IFN-γ level (pg/mL)": "typo test"}',
    )
    report.write_text(spec, encoding="utf-8")
    _, mismatches = build_report(study_in(study_copy), base / "adam", tmp_path / "r2")
    assert mismatches == 0


def test_schema_error_names_file_line_and_key(study_copy):
    report = study_copy / "report.yaml"
    lines = report.read_text(encoding="utf-8").splitlines()
    where = next(i for i, line in enumerate(lines) if line.strip() == "reduce: max")
    lines[where] = lines[where].replace("reduce: max", "reduce: maximum")
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ReportSpecError) as caught:
        load_report_spec(report)
    message = str(caught.value)
    assert f"report.yaml:{where + 1} subject_values.IFNGPEAK.reduce" in message
    assert "'maximum' is not one of" in message


def test_unknown_variable_names_the_yaml_entry(built, study_copy, tmp_path):
    base, _, _ = built
    report = study_copy / "report.yaml"
    text = report.read_text(encoding="utf-8").replace("variable: KARNSCR", "variable: KARNOFSK")
    report.write_text(text, encoding="utf-8")
    document = load_report_spec(report)
    published = load_yaml(study_copy / "published.yaml")
    from sdtmify.report.adam import read_adam
    from sdtmify.report.paper import datasets_used

    with pytest.raises(ReportSpecError) as caught:
        recompute(document.data, read_adam(base / "adam", datasets_used(document.data)), document, published)
    assert "tables.table2" in str(caught.value) and "'KARNOFSK'" in str(caught.value)
    assert "(did you mean 'KARNSCR'?)" in str(caught.value)


def _recompute(base: Path, folder: Path):
    from sdtmify.report.adam import read_adam
    from sdtmify.report.paper import datasets_used

    document = load_report_spec(folder / "report.yaml")
    published = load_yaml(folder / "published.yaml")
    return recompute(document.data, read_adam(base / "adam", datasets_used(document.data)), document, published)


def test_a_key_error_from_a_bug_is_not_reported_as_a_missing_variable(built, study_copy, monkeypatch):
    import sdtmify.report.paper as paper

    def broken(*args):
        return {}["no such key"]

    monkeypatch.setattr(paper, "summary_table", broken)
    with pytest.raises(KeyError, match="no such key"):
        _recompute(built[0], study_copy)


def test_bar_chart_of_an_undeclared_table_is_an_error_at_its_line(built, study_copy):
    report = study_copy / "report.yaml"
    lines = report.read_text(encoding="utf-8").splitlines()
    where = lines.index("    table: table4")
    lines[where] = "    table: table44"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ReportSpecError) as caught:
        _recompute(built[0], study_copy)
    message = str(caught.value)
    assert f"report.yaml:{where + 1} figures.toxicity_bars.table: table 'table44' is not declared" in message
    assert "(did you mean 'table4'?)" in message


@pytest.mark.slow
def test_published_path_that_leads_nowhere_is_an_error_at_its_entry(built, study_copy, tmp_path):
    base, _, _ = built
    report = study_copy / "report.yaml"
    report.write_text(
        report.read_text(encoding="utf-8").replace("table2.age.median", "table2.age.mean"), encoding="utf-8"
    )
    with pytest.raises(ReportSpecError) as caught:
        build_report(study_in(study_copy), base / "adam", tmp_path / "r")
    assert "'mean' not found" in str(caught.value) and "tables.table2.rows[0]" in str(caught.value)
    assert not (tmp_path / "r").exists()  # nothing half-written


@pytest.fixture()
def home(tmp_path, monkeypatch, study_copy):
    """A project root in tmp with the study copy; load_study answers with a plain study object."""
    import sdtmify.report.paper

    monkeypatch.setenv("SDTMIFY_HOME", str(tmp_path))
    monkeypatch.setattr(sdtmify.report.paper, "load_study", lambda name: study_in(study_copy, name))
    return tmp_path


def test_report_command_exit_2_when_adam_is_missing(home, capsys):
    from sdtmify.console import Console

    code = report_command("NCI84", ui=Console(verbosity=1))
    assert code == 2
    err = capsys.readouterr().err
    assert "sdtmify build --study NCI84" in err and "adsl.xpt" in err


@pytest.mark.slow
def test_report_command_exit_0_then_1_on_a_mismatch(home, capsys):
    from sdtmify.console import Console

    published = yaml.safe_load((STUDY / "published.yaml").read_text(encoding="utf-8"))
    datasets = paper_shaped_adam(published, home / "output" / "NCI84" / "adam")
    write_manifest(home / "output" / "NCI84", "NCI84")  # report updates only an output sdtmify wrote
    assert report_command("NCI84", ui=Console(verbosity=0)) == 0
    assert (home / "output" / "NCI84" / "report" / "report.html").is_file()
    adsl = datasets["ADSL"].copy()
    adsl.loc[adsl["SUBJID"] == "A", "HER2IHC"] = "2+"
    write_xpt(adsl, home / "output" / "NCI84" / "adam", "ADSL")
    write_manifest(home / "output" / "NCI84", "NCI84")
    assert report_command("NCI84", ui=Console(verbosity=0)) == 1
    assert "differ from the published ones" in capsys.readouterr().err
