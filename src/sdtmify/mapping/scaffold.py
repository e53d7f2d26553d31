"""``sdtmify init``: a new study folder with study.yaml, one annotated mapping per domain and small
example source tables.

As written, the study checks, builds and validates with no finding (DM with COUNTRY, RACE and ETHNIC;
TS with the parameters the FDA's Technical Conformance Guide lists, rules SD1801 and SD1840; TE with TEENRL;
EPOCH on every AE, EX and LB record through SE): a new user sees a clean run first, then replaces
the example tables and values with the study's own (tests/test_readme_walkthrough.py)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from ..atomic import write_text
from ..errors import InputError
from ..paths import is_bare_name, project_root, study_dir

STUDY_YAML = """\
# {name}: study-level settings. Every key is described in docs/mapping-language.md.
study:
  studyid: {name}
  title: "Full title of the protocol"
  protocol: "Protocol number"

standards: {{sdtm: "2.0", sdtmig: "3.4", ct: "2025-03-28"}}

# Source tables, paths relative to this folder (csv, xlsx with sheet:, sas7bdat, xpt).
sources:
  subjects: {{file: source/subjects.csv, keys: [subject_id]}}
  dosing:   {{file: source/dosing.csv, keys: [subject_id, dose_date]}}
  adverse_events: {{file: source/adverse_events.csv, keys: [subject_id, ae_number]}}
  labs:     {{file: source/labs.csv, keys: [subject_id, sample_date, test]}}

# USUBJID is built from this template (SDTMIG 3.4 4.1.2).
subjects:
  source: subjects
  subjid: subject_id
  siteid: site_id
  usubjid: "{{STUDYID}}-{{SITEID}}-{{SUBJID}}"

reference_dates:
  RFSTDTC:  {{domain: EX, variable: EXSTDTC, pick: first}}
  RFENDTC:  {{domain: EX, variable: EXENDTC, pick: last}}
  RFXSTDTC: {{domain: EX, variable: EXSTDTC, pick: first}}
  RFXENDTC: {{domain: EX, variable: EXENDTC, pick: last}}
  RFICDTC:  {{source: subjects, column: consent_date}}

visits:
  scheduled:
    - {{VISITNUM: 1, VISIT: SCREENING, VISITDY: -14, match: [Screening]}}
    - {{VISITNUM: 2, VISIT: DAY 1, VISITDY: 1, match: [Day 1, Baseline]}}
  unscheduled: {{match: [Unscheduled], increment: 0.01}}

trial_design:
  arms:
    - {{ARMCD: A, ARM: "Arm A", match: ["A"], elements: [SCRN, TRT]}}
  elements:
    - {{ETCD: SCRN, ELEMENT: Screening, TESTRL: Informed consent, TEENRL: First dose, EPOCH: SCREENING, start: {{source: subjects, column: consent_date}}}}
    - {{ETCD: TRT, ELEMENT: Treatment, TESTRL: First dose, TEENRL: Last dose plus 7 days, TEDUR: P14D, EPOCH: TREATMENT, start: {{domain: EX, variable: EXSTDTC, pick: first}}}}

# Stages beyond SDTM: none yet. When you add adam/*.yaml (docs/adam-language.md) or report.yaml
# (docs/report.md), delete its line here.
stages: {{adam: none, report: none}}

output:
  timestamp: "2026-01-01T00:00:00"
  xpt: {{sas_version: "9.4"}}
"""

DOMAINS = {
    "dm.yaml": """\
# DM: one record per subject. STUDYID, DOMAIN and USUBJID are added by the engine.
domain: DM
from: subjects
keys: [STUDYID, USUBJID]
variables:
  SUBJID:  {column: subject_id}
  SITEID:  {column: site_id}
  BRTHDTC: {iso8601: birth_date}
  SEX:     {column: sex, ct: SEX}             # raw text recoded to CT (Male -> M)
  RACE:    {column: race, ct: RACE}
  ETHNIC:  {column: ethnicity, ct: ETHNIC}
  COUNTRY: {column: country}                 # ISO 3166-1 alpha-3 (SDTMIG 3.4 DM)
derive:
  - reference_dates                           # rules in study.yaml
  - arm: {from: {column: arm}, actual: planned}  # matched to trial_design arms; ACTARM = ARM if treated
  - age: {birth: BRTHDTC, at: RFICDTC}
""",
    "ex.yaml": """\
# EX: one record per administration.
domain: EX
from: dosing
keys: [STUDYID, USUBJID, EXTRT, EXSTDTC]
variables:
  EXTRT:   {column: drug, transform: upper}
  EXDOSE:  {column: dose, as: num}
  EXDOSU:  {column: dose_unit, ct: UNIT}
  EXROUTE: {column: route, ct: ROUTE}
  EXSTDTC: {iso8601: dose_date}
  EXENDTC: {iso8601: dose_date}
derive: [study_day, epoch, seq]                # EPOCH from SE (sdtm/se.yaml)
""",
    "ae.yaml": """\
# AE: one record per event. Collected values without an AE variable go under supp:.
domain: AE
from: adverse_events
keys: [STUDYID, USUBJID, AETERM, AESTDTC]
variables:
  AETERM:  {column: ae_term}
  AEDECOD: {column: preferred_term}
  AESER:   {column: serious, map: {"Yes": Y, "No": N}, ct: NY}
  AESTDTC: {iso8601: onset_date, formats: [dd-mon-yyyy, iso]}
  AEENDTC: {iso8601: end_date, formats: [dd-mon-yyyy, iso]}
derive: [study_day, epoch, seq]
""",
    "lb.yaml": """\
# LB: one record per result; unit factors and grading thresholds are data here.
domain: LB
from: labs
keys: [STUDYID, USUBJID, LBTESTCD, LBDTC]
variables:
  LBTESTCD: {column: test, ct: LBTESTCD}
  LBTEST:   {column: test_name}
  LBORRES:  {column: result}
  LBORRESU: {column: unit, ct: UNIT}
  LBDTC:    {iso8601: sample_date}
derive:
  - visit: {from: {column: visit}, date: LBDTC}
  - standardize: {by: LBTESTCD, units: {}}
  - study_day
  - epoch
  - baseline: {by: [LBTESTCD]}
  - seq
""",
    "ta.yaml": "# TA: from study.yaml trial_design\ndomain: TA\ndesign: TA\n",
    "te.yaml": "# TE: from study.yaml trial_design\ndomain: TE\ndesign: TE\n",
    "tv.yaml": "# TV: from study.yaml visits\ndomain: TV\ndesign: TV\n",
    "ts.yaml": """\
# TS: trial summary parameters, one record each (SDTMIG 3.4 section 7.6; the FDA's Technical Conformance
# Guide lists those a submission needs). Replace the values with your protocol's.
domain: TS
records:
  - {TSSEQ: 1, TSPARMCD: TITLE,    TSPARM: Trial Title, TSVAL: "Full title of the protocol"}
  - {TSSEQ: 1, TSPARMCD: SPONSOR,  TSPARM: Clinical Study Sponsor, TSVAL: "Sponsor name"}
  - {TSSEQ: 1, TSPARMCD: TPHASE,   TSPARM: Trial Phase Classification, TSVAL: PHASE I TRIAL, TSVALCD: C15600, TSVCDREF: CDISC CT, TSVCDVER: "2025-03-28"}
  - {TSSEQ: 1, TSPARMCD: STYPE,    TSPARM: Study Type, TSVAL: INTERVENTIONAL, TSVALCD: C98388, TSVCDREF: CDISC CT, TSVCDVER: "2025-03-28"}
  - {TSSEQ: 1, TSPARMCD: TTYPE,    TSPARM: Trial Type, TSVAL: SAFETY, TSVALCD: C49667, TSVCDREF: CDISC CT, TSVCDVER: "2025-03-28"}
  - {TSSEQ: 1, TSPARMCD: TBLIND,   TSPARM: Trial Blinding Schema, TSVAL: OPEN LABEL, TSVALCD: C49659, TSVCDREF: CDISC CT, TSVCDVER: "2025-03-28"}
  - {TSSEQ: 1, TSPARMCD: TCNTRL,   TSPARM: Control Type, TSVAL: NONE, TSVALCD: C41132, TSVCDREF: CDISC CT, TSVCDVER: "2025-03-28"}
  - {TSSEQ: 1, TSPARMCD: RANDOM,   TSPARM: Trial is Randomized, TSVAL: "N", TSVALCD: C49487, TSVCDREF: CDISC CT, TSVCDVER: "2025-03-28"}
  - {TSSEQ: 1, TSPARMCD: INTMODEL, TSPARM: Intervention Model, TSVAL: SINGLE GROUP, TSVALCD: C82639, TSVCDREF: CDISC CT, TSVCDVER: "2025-03-28"}
  - {TSSEQ: 1, TSPARMCD: INTTYPE,  TSPARM: Intervention Type, TSVAL: DRUG, TSVALCD: C1909, TSVCDREF: CDISC CT, TSVCDVER: "2025-03-28"}
  - {TSSEQ: 1, TSPARMCD: ADDON,    TSPARM: Added on to Existing Treatments, TSVAL: "N", TSVALCD: C49487, TSVCDREF: CDISC CT, TSVCDVER: "2025-03-28"}
  - {TSSEQ: 1, TSPARMCD: PCLAS,    TSPARM: Pharmacologic Class, TSVAL: "Pharmacologic class of the study drug"}
  - {TSSEQ: 1, TSPARMCD: AGEMIN,   TSPARM: Planned Minimum Age of Subjects, TSVAL: P18Y}
  - {TSSEQ: 1, TSPARMCD: AGEMAX,   TSPARM: Planned Maximum Age of Subjects, TSVAL: "", TSVALNF: PINF}
  - {TSSEQ: 1, TSPARMCD: SEXPOP,   TSPARM: Sex of Participants, TSVAL: BOTH, TSVALCD: C49636, TSVCDREF: CDISC CT, TSVCDVER: "2025-03-28"}
  - {TSSEQ: 1, TSPARMCD: PLANSUB,  TSPARM: Planned Number of Subjects, TSVAL: "3"}
  - {TSSEQ: 1, TSPARMCD: SSTDTC,   TSPARM: Study Start Date, TSVAL: {first: DM.RFICDTC}}
  - {TSSEQ: 1, TSPARMCD: SDTIGVER, TSPARM: SDTM IG Version, TSVAL: "3.4"}
  - {TSSEQ: 1, TSPARMCD: SDTMVER,  TSPARM: SDTM Version, TSVAL: "2.0"}
  # Replace these placeholders with the protocol's own (the FDA's Technical Conformance Guide wants them;
  # values from a dictionary carry their code: the registry number, SNOMED, UNII, CDISC CT).
  - {TSSEQ: 1, TSPARMCD: REGID,    TSPARM: Registry Identifier, TSVAL: NCT00000000, TSVALCD: NCT00000000, TSVCDREF: ClinicalTrials.gov}
  - {TSSEQ: 1, TSPARMCD: TDIGRP,   TSPARM: Diagnosis Group, TSVAL: Malignant neoplastic disease, TSVALCD: "363346000", TSVCDREF: SNOMED}
  - {TSSEQ: 1, TSPARMCD: INDIC,    TSPARM: Trial Disease/Condition Indication, TSVAL: "Disease or condition the trial studies"}
  - {TSSEQ: 1, TSPARMCD: TRT,      TSPARM: Investigational Therapy or Treatment, TSVAL: STUDY DRUG, TSVALCD: XXXXXXXXXX, TSVCDREF: UNII}
  - {TSSEQ: 1, TSPARMCD: DOSFRQ,   TSPARM: Dosing Frequency, TSVAL: QD, TSVALCD: C25473, TSVCDREF: CDISC CT, TSVCDVER: "2025-03-28"}
  - {TSSEQ: 1, TSPARMCD: OUTMSPRI, TSPARM: Primary Outcome Measure, TSVAL: "Primary outcome measure of the protocol"}
  - {TSSEQ: 1, TSPARMCD: STOPRULE, TSPARM: Study Stop Rules, TSVAL: "Stop rules of the protocol"}
  - {TSSEQ: 1, TSPARMCD: DCUTDTC,  TSPARM: Data Cutoff Date, TSVAL: {last: DM.RFICDTC}}
  - {TSSEQ: 1, TSPARMCD: SENDTC,   TSPARM: Study End Date, TSVAL: {last: DM.RFICDTC}}
""",
    "se.yaml": """\
# SE: each subject's elements, from study.yaml trial_design and the subjects' dates
domain: SE
design: SE
""",
}

# Example source tables (three subjects): replace them with the study's own, keeping or renaming columns
# in the mappings above. With them the new study builds and validates with no finding.
SOURCES = {
    "subjects.csv": """\
subject_id,site_id,country,consent_date,birth_date,sex,race,ethnicity,arm
001,01,USA,2024-01-08,1961-03-14,Female,WHITE,NOT HISPANIC OR LATINO,A
002,01,USA,2024-01-15,1958-11-02,Male,BLACK OR AFRICAN AMERICAN,NOT HISPANIC OR LATINO,A
003,02,CAN,2024-02-05,1970-06-21,Female,ASIAN,NOT HISPANIC OR LATINO,A
""",
    "dosing.csv": """\
subject_id,drug,dose,dose_unit,route,dose_date
001,Studydrug,100,mg,ORAL,2024-01-15
001,Studydrug,100,mg,ORAL,2024-01-22
002,Studydrug,100,mg,ORAL,2024-01-22
002,Studydrug,100,mg,ORAL,2024-01-29
003,Studydrug,100,mg,ORAL,2024-02-12
003,Studydrug,100,mg,ORAL,2024-02-19
""",
    "adverse_events.csv": """\
subject_id,ae_number,ae_term,preferred_term,serious,onset_date,end_date
001,1,Headache,Headache,No,17-JAN-2024,18-JAN-2024
003,1,Nausea,Nausea,No,13-FEB-2024,
""",
    "labs.csv": """\
subject_id,visit,test,test_name,result,unit,sample_date
001,Screening,ALT,Alanine Aminotransferase,22,U/L,2024-01-08
001,Day 1,ALT,Alanine Aminotransferase,25,U/L,2024-01-15
002,Screening,ALT,Alanine Aminotransferase,30,U/L,2024-01-15
002,Day 1,ALT,Alanine Aminotransferase,28,U/L,2024-01-22
003,Screening,ALT,Alanine Aminotransferase,18,U/L,2024-02-05
003,Day 1,ALT,Alanine Aminotransferase,19,U/L,2024-02-12
""",
}


INIT_MARKER = ".sdtmify-init.json"  # what `sdtmify init` wrote (sha256 per file): what --force may overwrite
_STUDYID = re.compile(r"^[A-Za-z0-9_\-]{1,20}$")  # study.schema.json's STUDYID


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _study_folder(argument: str) -> Path:
    """Where ``init --study`` writes: mappings/NAME for a bare name; for a path, a folder below the working
    directory or the project root that does not exist yet and lies inside no study and no output folder."""
    if "\x00" in argument:
        raise InputError(f"init --study {argument!r}: a path cannot contain a NUL character")
    if is_bare_name(argument):
        folder = study_dir(argument)
    else:
        folder = Path(argument).expanduser().absolute()
        if os.path.lexists(folder):
            raise InputError(
                f"init --study {argument}: {folder} exists; give a new folder, or a bare NAME for mappings/NAME"
            )
        real = Path(os.path.realpath(folder))
        homes = {Path.cwd().resolve(), project_root().resolve()}
        if not any(home in real.parents for home in homes):
            raise InputError(
                f"init --study {argument}: {real} lies outside the working directory and the project root; "
                "give a bare NAME (mappings/NAME) or a new folder below the working directory"
            )
        for parent in real.parents:
            if (parent / "study.yaml").is_file():
                raise InputError(f"init --study {argument}: {folder} would lie inside the study folder {parent}")
            if (parent / ".sdtmify-output.json").is_file():
                raise InputError(f"init --study {argument}: {folder} would lie inside the output folder {parent}")
    if not _STUDYID.match(folder.name):
        raise InputError(
            f"init --study {argument}: the folder name '{folder.name}' becomes STUDYID, which allows 1-20 letters, "
            "digits, '-' or '_'"
        )
    return folder


def init_study(name: str, force: bool = False) -> list[Path]:
    """Write NAME/study.yaml, sdtm/*.yaml and source/*.csv (NAME under mappings/, or a new folder path).

    An existing study is never overwritten unless ``force`` and sdtmify scaffolded it: then only the files
    still exactly as ``init`` wrote them (or missing) are written again; a file edited since is refused."""
    folder = _study_folder(name)
    studyid = folder.name
    targets = {folder / "study.yaml": STUDY_YAML.format(name=studyid)}
    targets.update({folder / "sdtm" / file: text for file, text in DOMAINS.items()})
    targets.update({folder / "source" / file: text for file, text in SOURCES.items()})
    existing = [path for path in targets if os.path.lexists(path)]
    if os.path.lexists(folder) and not folder.is_dir():
        raise InputError(f"{folder} exists and is not a folder")
    recorded: dict = {}
    if folder.is_dir() and any(folder.iterdir()):
        if not force:
            first = existing[0] if existing else folder
            raise InputError(f"{first} exists; use --force to overwrite the scaffold files")
        try:
            recorded = json.loads((folder / INIT_MARKER).read_text(encoding="utf-8"))["files"]
        except (OSError, ValueError, KeyError, TypeError):
            raise InputError(
                f"{folder} is a study sdtmify did not scaffold (no {INIT_MARKER}); --force never overwrites it"
            ) from None
        edited = [
            path
            for path in existing
            if path.is_symlink()
            or not path.is_file()
            or recorded.get(path.relative_to(folder).as_posix()) != _sha256(path)
        ]
        if edited:
            raise InputError(
                f"{edited[0]} was changed since `sdtmify init` wrote it ({len(edited)} file(s)); --force only "
                "rewrites unchanged scaffold files: move the changed ones away first"
            )
    for path, text in targets.items():
        write_text(path, text)
    digests = {path.relative_to(folder).as_posix(): _sha256(path) for path in targets}
    write_text(folder / INIT_MARKER, json.dumps({"tool": "sdtmify", "files": digests}, indent=1, sort_keys=True) + "\n")
    return list(targets)
