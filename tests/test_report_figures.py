"""Figures drawn per subject stay readable in large studies: a swimmer plot above ``max_subjects`` shows
every responder and a fixed sample of the others, a time-course panel a fixed sample, and both say so."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pandas as pd
from matplotlib import image

from sdtmify.report.figures import fixed_sample, swimmer_plot, timecourse_plot

SWIMMER = {
    "kind": "swimmer",
    "title": "Duration of response",
    "label": "SUBJID",
    "length": "DURRSD",
    "colour_by": "BOR",
    "levels": ["CR", "PR", "SD", "PD"],
    "responders": ["CR", "PR"],
    "ongoing": {"DURCNSR": 1},
}


def subjects(count: int, responders: int) -> pd.DataFrame:
    bor = ["CR", "PR"] * (responders // 2) + ["SD", "PD"] * ((count - responders) // 2)
    return pd.DataFrame(
        {
            "SUBJID": [f"S{i:04d}" for i in range(count)],
            "DURRSD": np.arange(count, dtype=float) + 10,
            "DURCNSR": [1.0 if i % 7 == 0 else 0.0 for i in range(count)],
            "BOR": bor,
        }
    )


def height(png: bytes) -> int:
    return image.imread(io.BytesIO(png), format="png").shape[0]


def test_fixed_sample_puts_the_first_group_first_and_ignores_record_order():
    labels = pd.Series([f"S{i:03d}" for i in range(50)])
    first = labels.isin(["S007", "S031", "S049"])
    picked = set(labels[fixed_sample(labels, first, 10)])
    assert len(picked) == 10 and {"S007", "S031", "S049"} <= picked
    shuffled = labels.sample(frac=1.0, random_state=3).reset_index(drop=True)
    assert set(shuffled[fixed_sample(shuffled, shuffled.isin(["S007", "S031", "S049"]), 10)]) == picked


def test_swimmer_above_max_subjects_shows_every_responder_and_a_fixed_sample_and_says_so():
    spec = {**SWIMMER, "max_subjects": 12}
    small = swimmer_plot(spec, subjects(12, 4))
    large = swimmer_plot(spec, subjects(40, 4))
    assert small.note == ""
    assert large.note == "12 of 40 subjects shown: all 4 responders (CR, PR) and a fixed sample of 8 of the other 36"
    assert height(large.png) == height(small.png)  # 12 bars either way, not 40
    shuffled = subjects(40, 4).sample(frac=1.0, random_state=1).reset_index(drop=True)
    assert swimmer_plot(spec, shuffled).png == large.png  # the same subjects, drawn in the same order


def test_swimmer_with_more_responders_than_bars_samples_them_and_keeps_a_quarter_for_the_others():
    figure = swimmer_plot({**SWIMMER, "max_subjects": 8}, subjects(20, 10))
    assert figure.note == (
        "8 of 20 subjects shown: a fixed sample of 6 of the 10 responders (CR, PR) and a fixed sample of 2 of "
        "the other 10"  # the others keep a quarter of the bars
    )


def test_timecourse_panel_above_max_subjects_draws_a_fixed_sample():
    people = subjects(30, 30)
    records = pd.DataFrame(
        {
            "SUBJID": np.repeat(people["SUBJID"], 3).to_numpy(),
            "ADY": np.tile([1.0, 22.0, 43.0], 30),
            "AVAL": np.arange(90, dtype=float),
        }
    )
    spec = {
        "kind": "timecourse",
        "title": "AVAL over time",
        "dataset": "ADLB",
        "x": "ADY",
        "y": "AVAL",
        "label": "SUBJID",
        "panels": [{"title": "CR or PR", "where": {"BOR": ["CR", "PR"]}}],
    }
    assert timecourse_plot(spec, people.iloc[:8], records, "SUBJID").note == ""
    figure = timecourse_plot({**spec, "max_subjects": 5}, people, records, "SUBJID")
    assert figure.note == "CR or PR: 5 of 30 subjects, a fixed sample"


def test_timecourse_legend_of_many_subjects_fits_beside_its_panel(recwarn):
    """40 names do not fit one legend column of a 2.9-inch panel: matplotlib then warned that it could not
    lay the figure out (printed by every large build); they go in three columns of at most 14."""
    people = subjects(40, 40)
    records = pd.DataFrame(
        {"SUBJID": np.repeat(people["SUBJID"], 2).to_numpy(), "ADY": np.tile([1.0, 22.0], 40), "AVAL": 1.0}
    )
    spec = {
        "kind": "timecourse",
        "title": "t",
        "x": "ADY",
        "y": "AVAL",
        "label": "SUBJID",
        "panels": [{"title": "all"}],
    }
    figure = timecourse_plot(spec, people, records, "SUBJID")
    assert [str(w.message) for w in recwarn] == []
    assert image.imread(io.BytesIO(figure.png)).shape[:2] == (319, 935)  # 8.5 x 2.9 inches at 110 dpi


def test_importing_the_build_loads_no_plotting_or_scipy_stats():
    # matplotlib (about 0.3 s) is imported when the first figure is drawn, and scipy.stats (more than
    # 0.5 s) not at all; a fresh interpreter, since this test session has both loaded already.
    code = "import sys, sdtmify.build; print(sorted({m.split('.')[0] for m in sys.modules if m.startswith(('matplotlib', 'scipy.stats'))}))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
