"""Study dictionaries the validator checks coded values against (study.yaml ``dictionaries:``).

A CTCAE grade dictionary gives, per MedDRA Preferred Term (column ``preferred_term``), the grades the
study's CTCAE version defines for the term it is graded under (column ``grades``, ``;``-separated, e.g.
``4;5`` for an embolism in CTCAE v3.0). It is read once into (term, grade) pairs that a rule tests with
one vectorized look-up."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..errors import InputError, Location

GRADES = ("1", "2", "3", "4", "5")  # CTCAE grades 1 (mild) to 5 (death)


@dataclass(frozen=True)
class GradeDictionary:
    """The grades defined per term: ``pairs`` holds "term\\x00grade" for every defined pair."""

    pairs: frozenset[str]
    defined: dict[str, str]  # term -> the grades as text for messages, e.g. "4, 5"
    file: str


def grade_dictionary(frame: pd.DataFrame, file: str) -> GradeDictionary:
    """Read a CTCAE grade dictionary (str columns plus SRCROW, as sources.read_source gives them).

    A missing column, an empty or repeated term, or a grade outside 1-5 is an error naming the row."""
    missing = [c for c in ("preferred_term", "grades") if c not in frame.columns]
    if missing:
        raise InputError(
            f"no column {', '.join(missing)}; a CTCAE grade dictionary has preferred_term and grades "
            f"(e.g. 'Pulmonary embolism,4;5')",
            Location(file),
        )
    terms = frame["preferred_term"].fillna("").str.strip()
    rows = frame["SRCROW"].astype(int) + 1 if "SRCROW" in frame.columns else pd.Series(range(2, len(frame) + 2))
    for problem, bad in (("empty preferred_term", terms == ""), ("preferred_term repeated", terms.duplicated())):
        if bad.any():
            position = int(bad.to_numpy().nonzero()[0][0])
            raise InputError(f"{problem}: '{terms.iloc[position]}'", Location(file, int(rows.iloc[position])))
    grades = frame["grades"].fillna("").str.split(";")
    exploded = pd.DataFrame({"term": terms, "grade": grades, "row": rows}).explode("grade")
    exploded["grade"] = exploded["grade"].str.strip()
    wrong = ~exploded["grade"].isin(GRADES)
    if wrong.any():
        first = exploded[wrong].iloc[0]
        raise InputError(
            f"'{first['grade']}' of '{first['term']}' is no CTCAE grade; list grades 1 to 5 "
            f"separated by ';' (e.g. 1;2;3)",
            Location(file, int(first["row"]), "grades"),
        )
    pairs = frozenset(exploded["term"] + "\x00" + exploded["grade"])
    defined = exploded.groupby("term", sort=False)["grade"].agg(lambda g: ", ".join(sorted(set(g))))
    return GradeDictionary(pairs=pairs, defined=defined.to_dict(), file=file)


READERS = {"ctcae": grade_dictionary}
DICTIONARY_KINDS = tuple(READERS)


def load_dictionaries(declared: dict[str, tuple[pd.DataFrame, str]]) -> dict[str, GradeDictionary]:
    """study.yaml ``dictionaries:`` (kind -> (table, file)) read for the validator's rules."""
    return {kind: READERS[kind](frame, file) for kind, (frame, file) in declared.items() if kind in READERS}
