"""Validation notes: a study's explanations of findings it expects (``mappings/<STUDY>/validation-notes.yaml``).

A note explains a finding; it never hides one. The reports show the explanation beside the rule
(and dataset) it explains, the counts stay as found, and a finding without a note stays unexplained.
Reviewers know the idea from Pinnacle 21's issue comments and the reviewer's guide (cSDRG section 4).

Two shapes are read, each a mapping from rule id to explanation or a list of entries:

    CT2018: LB test codes CCL3 and CCL5 are sponsor extensions of LBTESTCD ...
    notes:
      - {rule: SD1226, dataset: RS, explanation: "BESTRESP has no date, hence no EPOCH"}

A note with ``dataset`` explains that rule's findings in that dataset only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import yamlio
from ..errors import InputError, Location

NOTES_FILE = "validation-notes.yaml"
# the rules a declared unknown Required value meets: SD1013 (sdtm-metadata.yaml, Required variables are
# populated) and DD4010 (define-xml rules, Mandatory="Yes" variables are populated)
REQUIRED_POPULATED = ("SD1013", "DD4010")


@dataclass(frozen=True)
class Note:
    rule: str
    explanation: str
    dataset: str | None = None  # None: every dataset of the rule


@dataclass(frozen=True)
class Notes:
    notes: tuple[Note, ...] = ()
    file: str = ""

    def explain(self, rule: str, dataset: str | None = None) -> str:
        """The explanation of ``rule``'s findings in ``dataset`` ("" when there is none): a note for that
        dataset first, else the rule's note for every dataset."""
        general = ""
        for note in self.notes:
            if note.rule != rule:
                continue
            if note.dataset is not None and note.dataset == dataset:
                return note.explanation
            if note.dataset is None:
                general = general or note.explanation
        return general

    def rules(self) -> set[str]:
        return {n.rule for n in self.notes}

    def with_unknowns(self, unknowns) -> Notes:
        """These notes, then one per dataset for the Required variables its mapping declared ``unknown:``
        ((domain, variable, reason, file) tuples): their nulls are explained by the study's own words
        under rules SD1013 (Required variables populated) and DD4010 (define.xml Mandatory variables
        populated); a note of the file for that dataset wins."""
        by_dataset: dict[str, list[str]] = {}
        for domain, variable, reason, file in unknowns:
            by_dataset.setdefault(domain, []).append(f"{variable} unknown ({file}): {reason}")
        extra = tuple(
            Note(rule, "; ".join(texts), domain) for domain, texts in by_dataset.items() for rule in REQUIRED_POPULATED
        )
        return Notes((*self.notes, *extra), file=self.file)


def load_notes(path: str | Path | None) -> Notes:
    """The notes of ``path``; no notes when the file does not exist. Malformed files are input errors
    naming the file and the entry."""
    if path is None or not Path(path).is_file():
        return Notes()
    path = Path(path)
    # the project's loader: size, alias and depth limits, UTF-8 checked, errors with file:line
    doc = yamlio.plain(yamlio.load_yaml(path))
    if not doc:
        return Notes(file=str(path))
    if isinstance(doc, dict) and set(doc) == {"notes"}:
        doc = doc["notes"]
    entries = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else None
    if entries is None:
        raise InputError(
            "write the notes as 'RULEID: explanation' lines or a list of {rule, dataset, explanation}",
            Location(str(path)),
        )
    notes = []
    for key, value in entries:
        rule: str | None
        if isinstance(doc, dict):
            rule, dataset, explanation = str(key), None, value
            if isinstance(value, dict):
                dataset, explanation = value.get("dataset"), value.get("explanation")
        elif isinstance(value, dict):
            rule, dataset, explanation = value.get("rule"), value.get("dataset"), value.get("explanation")
        else:
            raise InputError(
                f"entry {key + 1} is {value!r}; give rule, explanation (and optionally dataset)",
                Location(str(path), None, f"notes[{key}]"),
            )
        if not rule or not isinstance(explanation, str) or not explanation.strip():
            raise InputError(
                f"note {rule or key!s}: give a rule id and a non-empty explanation",
                Location(str(path), None, str(rule or key)),
            )
        notes.append(
            Note(str(rule).strip(), " ".join(explanation.split()), str(dataset).strip().upper() if dataset else None)
        )
    return Notes(tuple(notes), file=str(path))
