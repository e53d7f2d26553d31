"""define.html: complete, internally linked, and loading in headless Chromium without console errors."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from define_fixtures import adam_bundle, sdtm_bundle, study_config
from lxml import html as lxml_html

from sdtmify.writers.define import write_define_files

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
]


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    base = tmp_path_factory.mktemp("define_html")
    found = {}
    for bundle in (sdtm_bundle(), adam_bundle()):
        xml, _xsl, page = write_define_files(bundle, base / bundle.standard.lower(), study_config())
        found[bundle.standard] = (bundle, page)
    return found


def _doc(page):
    return lxml_html.fromstring(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("standard", ["SDTM", "ADaM"])
def test_every_dataset_has_a_section_keys_and_a_link_to_its_xpt(pages, standard):
    bundle, page = pages[standard]
    doc = _doc(page)
    for name, built in bundle.datasets.items():
        (section,) = doc.xpath(f"//h3[@id='IG.{name}']")
        assert section.xpath(f".//a[@href='{name.lower()}.xpt']"), f"{name}: no link to its .xpt"
        (row,) = doc.xpath(f"//section[@id='datasets']/table//tr[td/a[@href='#IG.{name}']]")
        assert row.xpath("td")[5].text_content() == ", ".join(built.meta.keys)
        variables = section.getparent().xpath(".//tbody/tr/td[1]")
        assert [v.text_content() for v in variables] == list(built.meta.variable_names)


@pytest.mark.parametrize("standard", ["SDTM", "ADaM"])
def test_every_internal_link_lands_on_an_element(pages, standard):
    doc = _doc(pages[standard][1])
    ids = set(doc.xpath("//@id"))
    targets = {href[1:] for href in doc.xpath("//a/@href") if href.startswith("#")}
    assert targets and targets <= ids, sorted(targets - ids)
    assert len(doc.xpath("//@id")) == len(ids), "duplicate element ids"


def test_value_level_codelists_methods_and_comments_are_shown(pages):
    doc = _doc(pages["SDTM"][1])
    (vl,) = doc.xpath("//h3[@id='VL.LB.LBORRES']")
    rows = vl.getnext().xpath("tbody/tr")
    assert [r.xpath("td")[0].text_content() for r in rows] == [
        'LBTESTCD EQ "CXCL10"',
        'LBTESTCD EQ "IFNG"',
        'LBTESTCD EQ "PERK"',
    ]
    (testcd,) = doc.xpath("//h3[@id='CL.LBTESTCD']")
    values = [r.xpath("td")[0].text_content() for r in testcd.getnext().xpath("tbody/tr")]
    assert values == ["CXCL10", "IFNG", "PERK *"]
    assert "C65047" in testcd.text_content()
    meddra = doc.xpath("//section[@id='dictionaries']//tr[td/span[@id='CL.MEDDRA']]/td")
    assert [td.text_content() for td in meddra] == ["MedDRA", "MedDRA", "12.0"]
    method = doc.xpath("//section[@id='methods']//tr[td/span[@id='MT.STUDYDAY']]/td")
    assert "no day 0" in method[2].text_content() and "Python 3.11" in method[3].text_content()
    assert doc.xpath("//section[@id='comments']//span[@id='COM.SUPPAE']")
    origin = doc.xpath("//span[@id='IT.AE.AETERM']/ancestor::tr/td")[7]
    assert origin.text_content() == "Collected (Investigator)Annotated CRF p. 3 4"
    assert origin.xpath(".//a/@href") == ["acrf.pdf"]


def test_analysis_results_are_shown_for_adam(pages):
    doc = _doc(pages["ADaM"][1])
    titles = [h.text_content() for h in doc.xpath("//section[@id='arm']/h3")]
    assert titles == [
        "Table 3: Best overall response and clinical benefit by subject",
        "Figure 1A: Peak IFN-gamma by clinical benefit",
    ]
    fisher = doc.xpath("//span[@id='AR.F1A.FISHER']/ancestor::table//tr[td[1]='Analysis dataset']/td[2]")
    assert [td.text_content() for td in fisher] == [
        'ADRS where PARAMCD EQ "CBR"; analysis variables: AVALC',
        'ADLB where PARAMCD EQ "IFNG" and ANL01FL EQ "Y"; analysis variables: AVAL',
    ]
    assert not _doc(pages["SDTM"][1]).xpath("//section[@id='arm']")


def test_page_needs_nothing_from_the_network(pages):
    doc = _doc(pages["SDTM"][1])
    assert not doc.xpath("//link[@rel='stylesheet'] | //script[@src] | //img")


# ---------------------------------------------------------------------------------------------
# Headless Chromium.


@pytest.fixture(scope="module")
def chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        pytest.skip("chromium not installed (apt-get install chromium chromium-driver; dev.sh test does this as root)")
    return exe


def _run_chromium(exe, page, profile, *args):
    done = subprocess.run(
        [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done, console


@pytest.mark.browser
def test_console_capture_sees_a_script_error(chromium, tmp_path):
    # The control for the test below: a page with a broken script must show up in the capture.
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><script>notDefined();</script></body></html>", encoding="utf-8")
    _, console = _run_chromium(chromium, page, tmp_path / "profile", "--dump-dom")
    assert any("notDefined is not defined" in line for line in console)


@pytest.mark.browser
@pytest.mark.parametrize("standard", ["SDTM", "ADaM"])
def test_define_html_loads_in_headless_chromium(chromium, pages, standard, tmp_path):
    bundle, page = pages[standard]
    done, console = _run_chromium(chromium, page, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert console == []
    dom = lxml_html.fromstring(done.stdout)
    for name in bundle.datasets:
        assert dom.xpath(f"//h3[@id='IG.{name}']"), f"{name} not in the rendered DOM"
    # The filter script ran without error and left every row visible.
    assert not dom.xpath("//tr[contains(@class, 'hidden')]")
    shot = page.parent / f"define-{standard.lower()}.png"
    done, console = _run_chromium(
        chromium, page, tmp_path / "profile2", "--window-size=1400,1000", f"--screenshot={shot}"
    )
    assert done.returncode == 0 and console == []
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one


@pytest.mark.browser
@pytest.mark.parametrize("standard", ["SDTM", "ADaM"])
def test_define_xml_renders_with_its_stylesheet_in_headless_chromium(chromium, pages, standard, tmp_path):
    """Opening define.xml itself: the browser applies define2-1.xsl named by its xml-stylesheet
    instruction (file URLs need --allow-file-access-from-files to load a sibling stylesheet)."""
    bundle, page = pages[standard]
    xml = page.parent / "define.xml"
    done, console = _run_chromium(chromium, xml, tmp_path / "profile", "--allow-file-access-from-files", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    # Chromium announces that it will drop XSLT one day; any other console message is an error
    assert [line for line in console if "XSLT Processing Instructions have been deprecated" not in line] == []
    dom = lxml_html.fromstring(done.stdout)
    for name in bundle.datasets:
        assert dom.xpath(f"//h3[@id='IG.{name}']"), f"{name} not rendered by the stylesheet"
    assert dom.xpath("//h2[@id='methods']") and dom.xpath("//h2[@id='codelists']")
    assert bool(dom.xpath("//h2[@id='analysis-results']")) == (standard == "ADaM")
