"""Recomputed cells side by side with the published values, each judged by a declared rule.

Statuses: ``match`` (equal as printed), ``within rounding`` (differs only as the documented
rounding allows), ``mismatch`` (unexplained: the command fails), ``explained`` (a mismatch whose
reason report.yaml states), ``synthetic`` (rests on unpublished per-subject values: shown, not judged)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from .cells import Cell, format_number, is_missing, plain, round_half_up

MATCH, ROUNDING, MISMATCH, EXPLAINED, SYNTHETIC = "match", "within rounding", "mismatch", "explained", "synthetic"
RULES = ("exact", "percent_of_n", "rounded", "p_value")

_SEGMENT = re.compile(r"^(?P<name>[^\[\]]+)(?:\[(?P<field>[^=\]]+)=(?P<value>[^\]]*)\])?$")
_NUMBER = re.compile(
    r"^\s*(?:P\s*)?(?:=\s*)?(?P<lt>[<>]=?)?\s*(?P<num>-?[\d,]*\.?\d+)"
    r"\s*(?P<plus>\+)?\s*(?P<pct>%)?\s*$"
)


class PublishedPathError(LookupError):
    """A published.yaml path that does not lead to a value."""


def resolve(document, path: str):
    """The value at a dotted ``path`` of published.yaml; ``name[field=value]`` picks the item of a
    list whose ``field`` equals ``value`` (e.g. ``table3.patients[patient=G].duration``); a number
    picks a list item by position (``text.peak_range.0``)."""
    node = document
    for segment in path.split("."):
        if isinstance(node, list) and segment.isdigit():
            if int(segment) >= len(node):
                raise PublishedPathError(f"item {segment} not found on the way to '{path}'")
            node = node[int(segment)]
            continue
        match = _SEGMENT.match(segment)
        if not match or not isinstance(node, Mapping) or match["name"] not in node:
            raise PublishedPathError(f"'{segment}' not found on the way to '{path}'")
        node = node[match["name"]]
        if match["field"]:
            if not isinstance(node, list):
                raise PublishedPathError(f"'{match['name']}' is not a list, cannot pick [{match['field']}=...]")
            picked = [
                item for item in node if isinstance(item, Mapping) and str(item.get(match["field"])) == match["value"]
            ]
            if len(picked) != 1:
                raise PublishedPathError(
                    f"{len(picked)} items of '{match['name']}' have "
                    f"{match['field']}={match['value']} (need exactly one)"
                )
            node = picked[0]
    if isinstance(node, Mapping) and "value" in node:
        node = node["value"]  # a published entry written with its reference: {value:, ref:}
    return node


@dataclass
class Number:
    """A published number as printed: its value, decimals shown, and marks ("<", "+" ongoing, "%")."""

    value: float
    decimals: int
    relation: str | None = None
    censored: bool = False


def parse_published(value) -> Number | str | None:
    """A published value as a :class:`Number` when it reads as one ("1,643+", "52%", "<0.001"), else text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        text = repr(value) if isinstance(value, float) else str(value)
        decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 0
        return Number(float(value), decimals)
    text = str(value).strip()
    match = _NUMBER.match(text)
    if not match:
        return text
    digits = match["num"].replace(",", "")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    return Number(float(digits), decimals, match["lt"], bool(match["plus"]))


def _significant(value: float, figures: int) -> float:
    if value == 0 or math.isnan(value):
        return value
    return round_half_up(value, figures - 1 - int(math.floor(math.log10(abs(value)))))


def judge(cell: Cell, published, rule: str) -> tuple[str, str]:
    """(status, why) of one recomputed cell against its published value under ``rule``.

    - ``exact``: equal as printed (numbers equal, a "+" ongoing mark agreeing with censoring;
      texts equal ignoring case and surrounding blanks).
    - ``percent_of_n``: the published percentage of N subjects; ``within rounding`` when it is not
      100*count/N rounded half up but still designates the same whole-subject count (the nearest
      count to published% × N): a publication's inconsistent rounding, documented as such.
    - ``rounded``: the recomputed value rounded to the decimals printed equals the published one.
    - ``p_value``: "<0.001" holds when P is below the bound; a printed P matches when P rounded to
      the same significant figures equals it."""
    computed = plain(cell.value)
    if (
        isinstance(computed, str)
        and isinstance(published, str)
        and computed.strip().casefold() == published.strip().casefold()
    ):
        return MATCH, ""  # e.g. a score printed "3+", which also reads as a number with a mark
    expected = parse_published(published)
    if expected is None:
        return (MATCH, "both missing") if computed is None else (MISMATCH, "published value is empty")
    if isinstance(expected, str):
        if computed is None:
            return MISMATCH, "not recomputed"
        same = str(computed).strip().casefold() == expected.casefold()
        return (MATCH, "") if same else (MISMATCH, f"'{computed}' is not '{expected}'")
    if computed is None or isinstance(computed, str):
        parsed = parse_published(computed) if isinstance(computed, str) else None
        if not isinstance(parsed, Number):
            return MISMATCH, "no number recomputed"
        computed = parsed.value
    computed = float(computed)
    if rule == "percent_of_n":
        return _judge_percent(cell, expected)
    if rule == "p_value":
        return _judge_p(computed, expected)
    if expected.relation:
        holds = {
            "<": computed < expected.value,
            "<=": computed <= expected.value,
            ">": computed > expected.value,
            ">=": computed >= expected.value,
        }[expected.relation]
        return (
            (MATCH, "")
            if holds
            else (MISMATCH, f"{format_number(computed)} is not {expected.relation}{format_number(expected.value)}")
        )
    if expected.censored and not cell.censored:
        return MISMATCH, "published as ongoing ('+'), recomputed value is not censored"
    if rule == "rounded":
        rounded = round_half_up(computed, expected.decimals)
        if math.isclose(rounded, expected.value, abs_tol=1e-9):
            return (
                (MATCH, "")
                if math.isclose(computed, expected.value, abs_tol=1e-9)
                else (ROUNDING, f"{format_number(computed)} rounds to {format_number(rounded)}")
            )
        return MISMATCH, f"{format_number(computed)} rounds to {format_number(rounded)}"
    if math.isclose(computed, expected.value, rel_tol=1e-12, abs_tol=1e-9):
        return MATCH, ""
    return MISMATCH, f"{format_number(computed)} ≠ {format_number(expected.value)}"


def _judge_percent(cell: Cell, expected: Number) -> tuple[str, str]:
    if cell.count is None or not cell.n:
        return MISMATCH, "no count/denominator behind this cell"
    exact = round_half_up(100.0 * cell.count / cell.n, expected.decimals)
    if math.isclose(exact, expected.value, abs_tol=1e-9):
        return MATCH, f"{cell.count}/{cell.n}"
    implied = int(round_half_up(expected.value * cell.n / 100.0))
    if implied == cell.count:
        return ROUNDING, (
            f"{cell.count}/{cell.n} = {format_number(exact, expected.decimals)}%; "
            f"published {format_number(expected.value, expected.decimals)}% also means "
            f"{implied} of {cell.n}"
        )
    return MISMATCH, (
        f"{cell.count}/{cell.n} = {format_number(exact, expected.decimals)}%; published "
        f"{format_number(expected.value, expected.decimals)}% means {implied} of {cell.n}"
    )


def _judge_p(p: float, expected: Number) -> tuple[str, str]:
    if expected.relation in ("<", "<="):
        holds = p < expected.value if expected.relation == "<" else p <= expected.value
        return (
            (MATCH, f"P = {p:.2g}")
            if holds
            else (MISMATCH, f"P = {p:.2g} is not {expected.relation}{format_number(expected.value)}")
        )
    figures = len(f"{expected.value:.{expected.decimals}f}".replace(".", "").lstrip("0")) or 1
    if math.isclose(_significant(p, figures), expected.value, rel_tol=1e-9):
        return MATCH, f"P = {p:.3g}"
    return MISMATCH, f"P = {p:.3g}, published {format_number(expected.value, expected.decimals)}"


@dataclass
class Comparison:
    """One row of the side-by-side comparison."""

    cell: str
    published_path: str
    published: object
    recomputed: str
    status: str
    note: str
    reference: str = ""


def compare_cell(
    cell: Cell, path: str, document, rule: str = "exact", explain: str | None = None, ongoing: str | None = None
) -> Comparison:
    """Judge one cell against the published value at ``path`` (raises PublishedPathError).

    ``ongoing`` is the path of a published true/false saying the value is censored (printed "+");
    it must agree with the cell's censoring (ADaM CNSR = 1)."""
    published = resolve(document, path)
    reference = _reference(document, path)
    if cell.synthetic:
        return Comparison(cell.key, path, published, cell.display, SYNTHETIC, cell.synthetic, reference)
    status, why = judge(cell, published, rule)
    published_ongoing = bool(resolve(document, ongoing)) if ongoing is not None else cell.censored
    if status != MISMATCH and published_ongoing != cell.censored:
        status, why = MISMATCH, f"published ongoing={published_ongoing}, recomputed ongoing={cell.censored}"
    if status == MISMATCH and explain:
        status, why = EXPLAINED, f"{explain} ({why})" if why else explain
    return Comparison(cell.key, path, published, cell.display, status, why, reference)


def _reference(document, path: str) -> str:
    """The nearest table/page reference stated along the path (``ref``/``source`` keys), if any."""
    found, node = "", document
    for segment in path.split("."):
        match = _SEGMENT.match(segment)
        if not match or not isinstance(node, Mapping):
            break
        for key in ("ref", "source", "reference"):
            if isinstance(node.get(key), str):
                found = node[key]
        node = node.get(match["name"])
        if match["field"] and isinstance(node, list):
            node = next(
                (i for i in node if isinstance(i, Mapping) and str(i.get(match["field"])) == match["value"]), None
            )
    if isinstance(node, Mapping):
        for key in ("ref", "source", "reference"):
            if isinstance(node.get(key), str):
                found = node[key]
    return found


def comparison_frame(rows: list[Comparison]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            [
                r.cell,
                r.published_path,
                "" if is_missing(r.published) else str(r.published),
                r.recomputed,
                r.status,
                r.note,
                r.reference,
            ]
            for r in rows
        ],
        columns=["Result", "Published at", "Published", "Recomputed", "Status", "Note", "Reference"],
        dtype=object,
    )


def unexplained(rows: list[Comparison]) -> int:
    return sum(r.status == MISMATCH for r in rows)
