"""Figures as deterministic PNG bytes (matplotlib, Agg): a swimmer plot, values over time per
subject in panels, and a grouped bar chart of a table's columns.

Same inputs give the same bytes: no timestamp or software tag in the PNG metadata, fixed size and
DPI, a fixed style, and every subject/level drawn in a sorted, declared order.

Figures drawn per subject stay readable (and small) in large studies: above ``max_subjects`` a swimmer
plot shows every responder and a fixed sample of the other subjects, and a time-course panel a fixed
sample of its subjects, and the figure says so in its title. The sample is the subjects whose label
hashes lowest (:func:`fixed_sample`): the same subjects in every run, whatever the record order."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # matplotlib.typing.RcKeyType is newer than the oldest matplotlib we support
    from matplotlib.artist import Artist
    from matplotlib.typing import RcKeyType

from .categories import as_category, category_label, category_mask
from .cells import Table, plain
from .select import lookup, require, where_mask

FALLBACK_COLOURS = ["#1b7837", "#5aae61", "#2166ac", "#d6604d", "#878787", "#b2abd2", "#fdb863", "#8c510a"]
SWIMMER_MAX_SUBJECTS = 200  # one bar each: 200 bars make a PNG of about 825 x 6,300 pixels
TIMECOURSE_MAX_SUBJECTS = 40  # lines per panel, each named in the legend
LEGEND_ROWS = 14  # names at font size 8 in one legend column of a time-course panel (2.9 inches high)
STYLE: dict[RcKeyType, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "sdtmify",
    "path.simplify": True,
}


@dataclass(frozen=True)
class Figure:
    """A drawn figure: its PNG bytes and, when it does not show every subject, a note saying which it shows."""

    png: bytes
    note: str = ""


def fixed_sample(labels: pd.Series, first: pd.Series | None = None, size: int = 0) -> np.ndarray:
    """Mask of ``size`` subjects chosen by label, the same ones in every run: those where ``first`` holds
    come first, then the rest, each in the order of a fixed hash of the label (pandas'
    ``hash_pandas_object``, keyed with a constant), so the choice depends on the labels alone."""
    keys = pd.util.hash_pandas_object(labels.astype(str), index=False).to_numpy()
    ahead = np.zeros(len(labels), dtype=bool) if first is None else first.to_numpy(dtype=bool)
    order = np.lexsort((keys, ~ahead))
    mask = np.zeros(len(labels), dtype=bool)
    mask[order[:size]] = True
    return mask


def _pyplot():
    """matplotlib's pyplot on the Agg backend, imported when the first figure is drawn: the import costs
    about 0.3 s, which a process that draws nothing (validate, check, a build without a report) skips."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _thousands(n: int) -> str:
    return f"{n:,}"


def png_bytes(figure) -> bytes:
    """The figure as PNG with no creation time or software tag, so two runs give identical bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, metadata={"Software": None}, bbox_inches=None)
    _pyplot().close(figure)
    return buffer.getvalue()


def _colours(levels: list[str], declared: Mapping | None) -> dict[str, str]:
    declared = declared or {}
    return {level: declared.get(level, FALLBACK_COLOURS[i % len(FALLBACK_COLOURS)]) for i, level in enumerate(levels)}


def swimmer_plot(spec: Mapping, subjects: pd.DataFrame) -> Figure:
    """One horizontal bar per subject, its length ``length`` (or ``fallback_length`` where that is
    missing), coloured by ``colour_by`` level; an arrow at the end marks an ongoing (censored) bar.

    Above ``max_subjects`` (default :data:`SWIMMER_MAX_SUBJECTS`) subjects: every subject of a
    ``responders`` level and a fixed sample of the others up to that many bars (:func:`fixed_sample`),
    as the title says."""
    length = pd.to_numeric(lookup(subjects, spec["length"]), errors="coerce")
    if "fallback_length" in spec:
        length = length.fillna(pd.to_numeric(lookup(subjects, spec["fallback_length"]), errors="coerce"))
    levels = [category_label(as_category(c)) for c in spec["levels"]]
    level_of = pd.Series(None, index=subjects.index, dtype=object)
    for category in map(as_category, spec["levels"]):
        level_of = level_of.mask(
            level_of.isna() & category_mask(subjects, spec["colour_by"], category), category_label(category)
        )
    frame = pd.DataFrame(
        {
            "label": lookup(subjects, spec["label"]).astype(str),
            "length": length.fillna(0.0),
            "level": level_of.fillna("Other"),
            "ongoing": where_mask(subjects, spec.get("ongoing")) if spec.get("ongoing") else False,
        }
    )
    frame, note = _swimmer_sample(frame, spec)
    order = {level: i for i, level in enumerate([*levels, "Other"])}
    frame = (
        frame.assign(_rank=frame["level"].map(order))
        .sort_values(["_rank", "length", "label"], ascending=[True, False, True], kind="stable")
        .reset_index(drop=True)
    )
    colours = _colours([*levels, "Other"], spec.get("colours"))
    plt = _pyplot()
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(7.5, 0.28 * len(frame) + 1.4))
        y = np.arange(len(frame))[::-1]
        axes.barh(y, frame["length"], color=frame["level"].map(colours), height=0.7)
        reach = float(frame["length"].max() or 1.0)
        for yi, row in zip(y, frame.itertuples(), strict=True):  # one arrow per subject (tens, not records)
            if row.ongoing:
                axes.annotate(
                    "",
                    xy=(row.length + 0.07 * reach, yi),
                    xytext=(row.length, yi),
                    arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.2},
                )
        axes.set_yticks(y, frame["label"])
        axes.set_xlim(0, reach * 1.12)
        axes.set_xlabel(spec.get("x_label", spec["length"]))
        axes.set_ylabel(spec.get("y_label", ""))
        axes.set_title(spec["title"] + (f"\n{note}" if note else ""), loc="left", fontsize=10)
        names = [level for level in levels if level in set(frame["level"])]
        handles: list[Artist] = [plt.Rectangle((0, 0), 1, 1, color=colours[level]) for level in names]
        if frame["ongoing"].any():
            handles.append(plt.Line2D([0], [0], marker=">", color="black", lw=1, markersize=6))
            names.append(spec.get("ongoing_label", "ongoing"))
        axes.legend(handles, names, loc="lower right", frameon=False)
        figure.tight_layout()
        return Figure(png_bytes(figure), note)


def _swimmer_sample(frame: pd.DataFrame, spec: Mapping) -> tuple[pd.DataFrame, str]:
    """The bars to draw and a note on those left out: all of them up to ``max_subjects``; above, every
    responder and a fixed sample of the others up to ``max_subjects`` bars. The others keep at least a
    quarter of the bars, so that the durations of stable and progressive disease stay in view: when the
    responders alone are too many, a fixed sample of them fills the other three quarters."""
    cap = int(spec.get("max_subjects", SWIMMER_MAX_SUBJECTS))
    total = len(frame)
    if total <= cap:
        return frame, ""
    named = [category_label(as_category(c)) for c in spec.get("responders") or []]
    responders = frame["level"].isin(named).to_numpy()
    count = int(responders.sum())
    others = min(total - count, max(cap - count, cap // 4))
    shown = min(count, cap - others)
    keep = np.zeros(total, dtype=bool)
    keep[np.flatnonzero(responders)[fixed_sample(frame["label"][responders], size=shown)]] = True
    keep[np.flatnonzero(~responders)[fixed_sample(frame["label"][~responders], size=others)]] = True
    of_all = f"{_thousands(shown + others)} of {_thousands(total)} subjects shown"
    if not named:
        return frame.loc[keep], f"{of_all}: a fixed sample"
    levels = ", ".join(named)
    which = (
        f"all {_thousands(count)}"
        if shown == count
        else f"a fixed sample of {_thousands(shown)} of the {_thousands(count)}"
    )
    return frame.loc[keep], (
        f"{of_all}: {which} responders ({levels}) and a fixed sample of {_thousands(others)} of the other "
        f"{_thousands(total - count)}"
    )


def timecourse_plot(spec: Mapping, subjects: pd.DataFrame, records: pd.DataFrame, subject: str) -> Figure:
    """``y`` against ``x`` per subject, one panel per declared subject group.

    ``missing_as`` draws missing results (e.g. below the detection limit) at a fixed value, and
    ``missing_where`` makes the records it selects missing first (values imputed in ADaM, DTYPE HALFLLOQ);
    ``peak_per_interval: 21`` shows each subject's peak within consecutive x intervals of that width
    (e.g. per 21-day cycle) at the interval's number, as a per-cycle peak figure does. A panel of more
    than ``max_subjects`` (default :data:`TIMECOURSE_MAX_SUBJECTS`) subjects draws a fixed sample of
    them (:func:`fixed_sample`), as its title says."""
    require(records, subject)
    records = records.loc[where_mask(records, spec.get("where"))]
    extra = [c for c in subjects.columns if c not in records.columns or c == subject]
    data = records.merge(subjects[extra], on=subject, how="inner")
    require(data, spec["x"], spec["y"], spec["label"])
    x = pd.to_numeric(data[spec["x"]], errors="coerce")
    y = pd.to_numeric(data[spec["y"]], errors="coerce")
    if "missing_where" in spec:
        y = y.mask(where_mask(data, spec["missing_where"]))
    if "missing_as" in spec:
        y = y.fillna(float(spec["missing_as"]))
    data = data.assign(_X=x, _Y=y, _LABEL=data[spec["label"]].astype(str)).dropna(subset=["_X", "_Y"])
    if "peak_per_interval" in spec:
        width = float(spec["peak_per_interval"])
        data = data.assign(_X=np.floor((data["_X"] - 1) / width) + 1)
        data = (
            data.groupby([subject, "_LABEL", "_X"], as_index=False, sort=True)["_Y"]
            .max()
            .merge(subjects[extra], on=subject, how="left")
        )
    panels = spec["panels"]
    plt = _pyplot()
    with plt.rc_context(STYLE):
        figure, axes_list = plt.subplots(len(panels), 1, figsize=(8.5, 2.9 * len(panels)), sharex=True, squeeze=False)
        notes = []
        for axes, panel in zip(axes_list[:, 0], panels, strict=True):
            chosen = data.loc[where_mask(data, panel.get("where"))].sort_values(["_LABEL", "_X"], kind="stable")
            chosen, note = _timecourse_sample(chosen, panel, int(spec.get("max_subjects", TIMECOURSE_MAX_SUBJECTS)))
            notes += [f"{panel['title']}: {note}"] if note else []
            for i, (label, points) in enumerate(chosen.groupby("_LABEL", sort=True)):
                axes.plot(
                    points["_X"],
                    points["_Y"],
                    marker="o",
                    markersize=3,
                    lw=1.2,
                    color=FALLBACK_COLOURS[i % len(FALLBACK_COLOURS)],
                    label=f"{spec.get('label_prefix', '')}{label}",
                )
            axes.set_title(panel["title"] + (f" ({note})" if note else ""), loc="left", fontsize=10)
            axes.set_ylabel(spec.get("y_label", spec["y"]))
            if not chosen.empty:
                lines = chosen["_LABEL"].nunique()
                axes.legend(
                    loc="upper left",
                    bbox_to_anchor=(1.01, 1.0),
                    frameon=False,
                    fontsize=8,
                    ncol=-(-lines // LEGEND_ROWS),  # a panel's height holds LEGEND_ROWS names: more go beside
                )
        if "peak_per_interval" in spec:
            from matplotlib.ticker import MaxNLocator

            axes_list[-1, 0].xaxis.set_major_locator(MaxNLocator(integer=True))
        axes_list[-1, 0].set_xlabel(spec.get("x_label", spec["x"]))
        figure.suptitle(spec["title"], x=0.01, ha="left", fontsize=10)
        figure.tight_layout()
        return Figure(png_bytes(figure), "; ".join(notes))


def _timecourse_sample(chosen: pd.DataFrame, panel: Mapping, cap: int) -> tuple[pd.DataFrame, str]:
    """A panel's records, of at most ``cap`` subjects (a fixed sample above), and a note when sampled."""
    labels = pd.Series(chosen["_LABEL"].unique())
    if len(labels) <= cap:
        return chosen, ""
    keep = labels[fixed_sample(labels, size=cap)]
    return chosen.loc[chosen["_LABEL"].isin(keep)], f"{cap} of {_thousands(len(labels))} subjects, a fixed sample"


def grouped_bar_chart(spec: Mapping, table: Table) -> Figure:
    """Bars of a table's numeric columns (``columns``) for each of its rows, side by side."""
    columns = spec["columns"]
    rows = [key.split("/")[1] for key in table.cells if key.endswith("/" + columns[0])]
    values = np.array(
        [[plain(table.cells[f"{table.id}/{r}/{c}"].value) or 0.0 for c in columns] for r in rows], dtype=float
    )
    colours = spec.get("colours") or {}
    plt = _pyplot()
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(max(6.0, 0.62 * len(rows) + 1.5), 3.8))
        width = 0.8 / len(columns)
        base = np.arange(len(rows))
        for i, column in enumerate(columns):
            axes.bar(
                base + (i - (len(columns) - 1) / 2) * width,
                values[:, i],
                width,
                label=column,
                color=colours.get(column, FALLBACK_COLOURS[(i + 1) % len(FALLBACK_COLOURS)]),
            )
        axes.set_xticks(base, rows, rotation=35, ha="right")
        axes.set_ylabel(spec.get("y_label", ""))
        axes.set_title(spec["title"], loc="left", fontsize=10)
        axes.legend(frameon=False)
        figure.tight_layout()
        return Figure(png_bytes(figure))
