"""Generate the NCI protocol 84 source tables (EDC export + central-lab transfer) from the paper.

Run:  .venv/bin/python mappings/NCI84/generator/generate_sources.py [--out DIR] [--dictionaries DIR]

Published facts come from ``mappings/NCI84/published.yaml`` (transcribed once); synthetic choices
from ``config.yaml`` beside this file (seed, ranges, per-patient story). The generator never types
a published value: it derives every one from published.yaml, and after drawing the synthetic
values it re-checks each published aggregate and stops with a message if one is not reproduced.

Same inputs give byte-identical CSVs: one fixed seed, one child random stream per purpose (so a
change in one table does not reshuffle the others), deterministic sort orders, "\\n" line endings.
Only the standard library, numpy and PyYAML (to read the two YAML files) are used.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import math
import os
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
STUDY_DIR = HERE.parent
PUBLISHED = STUDY_DIR / "published.yaml"
CONFIG = HERE / "config.yaml"

COLUMNS = {
    "subjects": [
        "subject_id",
        "site_id",
        "consent_date",
        "birth_date",
        "age",
        "sex",
        "race",
        "ethnicity",
        "karnofsky",
        "tumor_type",
        "her2_ihc",
        "metastatic_sites",
        "prior_regimens",
        "prior_paclitaxel",
        "lvef",
    ],
    "cohorts": ["subject_id", "cohort", "il12_dose", "il12_dose_unit", "il12_route", "assigned_date"],
    "dosing": [
        "subject_id",
        "cycle",
        "cycle_day",
        "admin_date",
        "drug",
        "dose",
        "dose_unit",
        "route",
        "dose_reduced",
        "reduction_reason",
    ],
    "adverse_events": [
        "subject_id",
        "ae_number",
        "ae_term",
        "ctcae_grade",
        "onset_date",
        "resolution_date",
        "relationship",
        "serious",
        "serious_criterion",
        "action_taken",
        "dose_limiting",
        "outcome",
    ],
    "tumor_assessments": ["subject_id", "visit", "assessment_date", "overall_response", "evaluator"],
    "target_lesions": ["subject_id", "lesion_id", "visit", "assessment_date", "diameter_mm", "evaluator"],
    "best_response": ["subject_id", "best_response", "evaluator"],
    "disposition": ["subject_id", "eot_date", "eot_reason", "eos_date", "eos_reason", "last_contact_date"],
    "labs": [
        "subject_id",
        "visit",
        "cycle",
        "cycle_day",
        "collection_datetime",
        "category",
        "test",
        "result",
        "unit",
        "ref_low",
        "ref_high",
        "lloq",
        "method",
        "status",
        "reason_not_done",
        "specimen",
    ],
}
MEDDRA_COLUMNS = ["ae_term", "preferred_term", "pt_code", "system_organ_class", "soc_code", "table4_term"]

DRUG_ORDER = {"Trastuzumab": 0, "Paclitaxel": 1, "IL-12": 2}
BENEFIT = ("CR", "PR", "SD")
HEMATOLOGY_TESTS = ("WBC", "ANC", "Hemoglobin", "Platelets")
# CTCAE v3.0 lower grade limits below the LLN, grades 2-4 (the brief's thresholds).
CTCAE_V3_LIMITS = {
    "WBC": (3.0, 2.0, 1.0),
    "ANC": (1.5, 1.0, 0.5),
    "Hemoglobin": (10.0, 8.0, 6.5),
    "Platelets": (75.0, 50.0, 25.0),
}


class GenerationError(RuntimeError):
    """A published aggregate could not be reproduced with the configured synthetic choices."""


# --------------------------------------------------------------------------------------------
# small pure helpers
# --------------------------------------------------------------------------------------------


def stream(seed: int, purpose: str) -> np.random.Generator:
    """One independent random stream per purpose, stable across runs and Python versions."""
    return np.random.default_rng([seed, zlib.crc32(purpose.encode("utf-8"))])


def ctcae_v3_grade(test: str, value: float, lln: float) -> int:
    """CTCAE v3.0 grade of a low hematology value: 0 at or above the LLN, then 1-4 by the fixed limits."""
    if value >= lln:
        return 0
    g2, g3, g4 = CTCAE_V3_LIMITS[test]
    if value >= g2:
        return 1
    if value >= g3:
        return 2
    if value >= g4:
        return 3
    return 4


def fmt_date(day: dt.date) -> str:
    return day.isoformat()


def fmt_crf_date(day: dt.date | None) -> str:
    """The CRF's DD-MON-YYYY form, e.g. 07-APR-2004 (month abbreviation independent of locale)."""
    if day is None:
        return ""
    months = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
    return f"{day.day:02d}-{months[day.month - 1]}-{day.year:04d}"


def fmt_number(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}" if decimals else str(int(round(value)))


def karnofsky_category(score: int, categories: dict[str, list[int]]) -> str:
    for name, scores in categories.items():
        if score in scores:
            return name
    raise GenerationError(f"Karnofsky score {score} is in no published category")


def years_between(born: dt.date, on: dt.date) -> int:
    """Completed years of age on a date (birthday reached counts)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def kruskal_wallis_two_groups_p(rank_sum_1: float, n1: int, n2: int) -> float:
    """Kruskal-Wallis P for two groups without ties: H = 12/(N(N+1)) sum(R_i^2/n_i) - 3(N+1),
    referred to chi-square with 1 degree of freedom (survival = erfc(sqrt(H/2)))."""
    n = n1 + n2
    rank_sum_2 = n * (n + 1) / 2 - rank_sum_1
    h = 12 / (n * (n + 1)) * (rank_sum_1**2 / n1 + rank_sum_2**2 / n2) - 3 * (n + 1)
    return math.erfc(math.sqrt(max(h, 0.0) / 2))


def nearest_rank_sum(p_target: float, n1: int, n2: int) -> int:
    """The rank sum of group 1 (above the median) whose Kruskal-Wallis P is nearest the target, on a log scale."""
    n = n1 + n2
    lowest, highest = n1 * (n1 + 1) // 2, sum(range(n2 + 1, n + 1))
    middle = n1 * (n + 1) / 2
    candidates = [r for r in range(lowest, highest + 1) if r >= middle]
    return min(candidates, key=lambda r: abs(math.log(kruskal_wallis_two_groups_p(r, n1, n2) / p_target)))


def ranks_with_sum(
    rng: np.random.Generator, n1: int, n2: int, rank_sum: int, group2_max_rank: int | None = None, tries: int = 500_000
) -> list[int]:
    """Ranks 1..n1+n2 split into group 1 (first n1 returned, rank sum as given) and group 2 (the
    rest, none above ``group2_max_rank``: the low group stays out of the top ranks)."""
    n = n1 + n2
    top = group2_max_rank or n
    target2 = n * (n + 1) // 2 - rank_sum
    for _ in range(tries):
        low = rng.choice(top, size=n2, replace=False) + 1
        if int(low.sum()) == target2:
            chosen = set(int(r) for r in low)
            high = [r for r in range(1, n + 1) if r not in chosen]
            return [int(r) for r in rng.permutation(high)] + [int(r) for r in low]
    raise GenerationError(
        f"no split of ranks 1..{n} gives group 1 a rank sum of {rank_sum} with group 2 at or below rank {top}"
    )


def write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    """Write a UTF-8 CSV with "\\n" line endings atomically (temp file in the folder, then rename)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in header})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(buf.getvalue())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; these are shared, committed files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------------------------
# the per-patient plan
# --------------------------------------------------------------------------------------------


@dataclass
class Dose:
    cycle: int
    cycle_day: int
    study_day: int
    drug: str
    dose: float
    unit: str
    route: str
    reduced: bool = False
    reason: str = ""


@dataclass
class Scan:
    study_day: int
    visit: str
    response: str


@dataclass
class Episode:
    term: str  # Table 4 toxicity or other-term key
    grade: int
    onset_day: int
    resolution_day: int | None
    relationship: str = "Possible"
    serious: str = "No"
    action: str = "None"
    dlt: str = "No"
    verbatim: str = ""
    serious_criterion: str = ""  # the SAE form's criterion, for a serious event only


@dataclass
class Patient:
    id: str
    row: dict  # Table 3 row from published.yaml
    cohort: int
    first_dose: dt.date
    cycle_start: dict[int, int] = field(default_factory=dict)  # cycle -> study day of its day 1
    doses: list[Dose] = field(default_factory=list)
    scans: list[Scan] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)
    eot_day: int = 0
    eot_reason: str = ""
    eos_day: int | None = None
    eos_reason: str = ""
    last_contact_day: int = 0
    final_day: int = 0
    demo: dict = field(default_factory=dict)

    @property
    def benefit(self) -> bool:
        return self.row["best_response"] in BENEFIT

    @property
    def n_cycles(self) -> int:
        return int(self.row["cycles"])

    @property
    def last_dose_day(self) -> int:
        return max(d.study_day for d in self.doses)

    def date(self, study_day: int) -> dt.date:
        """Study day 1 is the day of first dose (C1D1); there is no day 0 before it in this plan."""
        return self.first_dose + dt.timedelta(days=study_day - 1)

    def day_of(self, cycle: int, cycle_day: int) -> int:
        return self.cycle_start[cycle] + cycle_day - 1


class Generator:
    def __init__(self, published: dict, config: dict):
        self.pub = published
        self.cfg = config
        self.seed = int(config["seed"])
        self.schedule = published["table1"]
        self.cycle_len = int(self.schedule["cycle_length_days"])
        self.patients: dict[str, Patient] = {}

    # ---------------------------------------------------------------- enrolment and treatment
    def plan_enrolment(self) -> None:
        """C1D1 dates: cohorts in order, whole weeks apart so every C1D1 is the configured weekday."""
        rng = stream(self.seed, "accrual")
        acc = self.cfg["accrual"]
        cohorts = {(c["dose"], c["route"]): c["cohort"] for c in self.schedule["il12"]["cohorts"]}
        current = acc["first_dose"]
        prev_cohort_last = None
        previous_cohort = None
        for i, row in enumerate(self.pub["table3"]["patients"]):
            cohort = cohorts[(row["il12_dose"], row["il12_route"])]
            if i > 0:
                current = current + dt.timedelta(weeks=int(rng.integers(acc["gap_weeks"][0], acc["gap_weeks"][1] + 1)))
                if cohort != previous_cohort:
                    opens = prev_cohort_last + dt.timedelta(weeks=int(acc["cohort_gap_weeks"]))
                    current = max(current, opens)
            if cohort != previous_cohort and previous_cohort is not None and cohort < previous_cohort:
                raise GenerationError("Table 3 lists the cohorts out of order")
            self.patients[row["patient"]] = Patient(
                id=row["patient"], row=row, cohort=cohort, first_dose=self._start_day(current, row)
            )
            previous_cohort = cohort
            prev_cohort_last = current

    def _start_day(self, monday: dt.date, row: dict) -> dt.date:
        """C1D1 in the accrual week: the first configured weekday that keeps every dose on a weekday
        (Monday or Thursday: IL-12 on days 2 and 5 then falls Tue/Fri or Fri/Mon) and, for patients
        with a published duration, puts the final scan (first dose + duration - 1) on a weekday too."""
        options = [monday + dt.timedelta(days=int(w)) for w in self.cfg["accrual"]["first_dose_weekdays"]]
        if row["duration_days"] is None:
            return options[0]
        for start in options:
            if (start + dt.timedelta(days=int(row["duration_days"]) - 1)).weekday() < 5:
                return start
        raise GenerationError(f"{row['patient']}: no configured C1D1 weekday puts the final scan on a weekday")

    @staticmethod
    def _weekday_between(rng: np.random.Generator, p: Patient, lo: int, hi: int) -> int:
        """A study day in [lo, hi] that falls Monday-Friday and not on a fixed-date US holiday
        (clinics scan and consent on working days)."""
        holidays = {(1, 1), (7, 4), (12, 25)}
        days = [
            d for d in range(lo, hi + 1) if p.date(d).weekday() < 5 and (p.date(d).month, p.date(d).day) not in holidays
        ]
        if not days:
            raise GenerationError(f"{p.id}: no weekday between study days {lo} and {hi}")
        return int(rng.choice(days))

    def _interruptions(self) -> dict[str, list[dict]]:
        """Per patient: events that hold the rest of a cycle (grade 3 rest periods and the DLTs)."""
        events: dict[str, list[dict]] = {}
        for ev in self.cfg["grade3_events"]:
            events.setdefault(ev["subject"], []).append(dict(ev, dlt=False))
        dlt = self.pub["text"]["dlt"]
        for sid in dlt["patients"]:
            onset = self.cfg["dlt_onset"][sid]
            events.setdefault(sid, []).append(
                {
                    "subject": sid,
                    "toxicity": dlt["toxicity"],
                    "cycle": onset["cycle"],
                    "day": onset["day"],
                    "rest_days": 0,
                    "reduce_il12": False,
                    "dlt": True,
                }
            )
        for evs in events.values():
            evs.sort(key=lambda e: (e["cycle"], e["day"]))
        return events

    def plan_dosing(self) -> None:
        """Table 1: paclitaxel D1; trastuzumab 4 mg/kg C1D1 then 2 mg/kg D1/8/15; IL-12 from cycle 2 on
        days 2 and 5 after each weekly trastuzumab, at the cohort's dose and route (50% after a reduction)."""
        sch = self.schedule
        pac, tra, il12 = sch["paclitaxel"], sch["trastuzumab"], sch["il12"]
        interruptions = self._interruptions()
        reduce_pct = float(sch["dose_reduction_pct"])
        self.interruptions = interruptions
        for sid, p in self.patients.items():
            story = self.cfg["treatment"].get(sid, {})
            extra = {int(k): int(v) for k, v in (story.get("delays") or {}).items()}
            evs = interruptions.get(sid, [])
            rest_before = {}
            for ev in evs:
                rest_before[ev["cycle"] + 1] = rest_before.get(ev["cycle"] + 1, 0) + int(ev["rest_days"])
            shift = 0
            reduced_reason = ""
            for cycle in range(1, p.n_cycles + 1):
                shift += extra.get(cycle, 0) + rest_before.get(cycle, 0)
                p.cycle_start[cycle] = 1 + self.cycle_len * (cycle - 1) + shift
                hold_from = min((ev["day"] for ev in evs if ev["cycle"] == cycle), default=None)
                planned: list[tuple[int, str, float, str, str, bool, str]] = []
                for day in pac["days"]:
                    planned.append((day, "Paclitaxel", pac["dose"], pac["unit"], pac["route"], False, ""))
                for day in tra["maintenance"]["days"]:
                    loading = cycle == tra["loading"]["cycle"] and day == tra["loading"]["day"]
                    dose = tra["loading"]["dose"] if loading else tra["maintenance"]["dose"]
                    planned.append(
                        (day, "Trastuzumab", dose, tra["maintenance"]["unit"], tra["maintenance"]["route"], False, "")
                    )
                if cycle >= il12["first_cycle"]:
                    for day in il12["days"]:
                        full = float(p.row["il12_dose"])
                        dose = full * (1 - reduce_pct / 100) if reduced_reason else full
                        planned.append(
                            (
                                day,
                                "IL-12",
                                dose,
                                il12["unit"],
                                p.row["il12_route"],
                                bool(reduced_reason),
                                reduced_reason,
                            )
                        )
                for day, drug, dose, unit, route, red, why in planned:
                    if hold_from is not None and day >= hold_from:
                        continue
                    p.doses.append(Dose(cycle, day, p.day_of(cycle, day), drug, float(dose), unit, route, red, why))
                for ev in evs:
                    if ev["cycle"] == cycle and ev["reduce_il12"]:
                        reduced_reason = f"Grade 3 {ev['toxicity'].lower()}: IL-12 reduced {reduce_pct:g}% per protocol"
            p.doses.sort(key=lambda d: (d.study_day, DRUG_ORDER[d.drug]))
            dosed_cycles = {d.cycle for d in p.doses}
            if len(dosed_cycles) != p.n_cycles:
                raise GenerationError(f"{sid}: {len(dosed_cycles)} cycles dosed, Table 3 says {p.n_cycles}")

    # ---------------------------------------------------------------- radiology and disposition
    def _month_day(self, months: int) -> int:
        return 1 + int(round(months * 365.25 / 12))

    def plan_assessments_and_disposition(self) -> None:
        """Scans after cycles 1 and 3 and every 3 months; the final scan fixes Table 3's duration:
        study day of first PD (or of the censoring assessment) = duration, i.e. ADT - first dose + 1."""
        rng = stream(self.seed, "radiology")
        rad = self.cfg["radiology"]
        window = int(rad["scheduled_window_days"])
        for sid, p in self.patients.items():
            story = self.cfg["treatment"].get(sid, {})
            best = p.row["best_response"]
            lo, hi = rad["after_cycle_days_before_next_cycle"]

            def after_cycle(n: int) -> int:
                """Restaging after cycle n: a weekday after the cycle's last dose, before the next cycle."""
                nxt = p.cycle_start.get(n + 1, p.cycle_start[n] + self.cycle_len)
                last_in_cycle = max(d.study_day for d in p.doses if d.cycle == n)
                return self._weekday_between(rng, p, max(nxt - hi, last_in_cycle), nxt - lo)

            scheduled: list[tuple[int, str]] = [(after_cycle(1), "After cycle 1")]
            if p.n_cycles >= 3:
                scheduled.append((after_cycle(3), "After cycle 3"))
            # final scan and end of treatment
            ev = next((e for e in self.interruptions.get(sid, []) if e["dlt"]), None)
            if best in BENEFIT:
                final_day = int(p.row["duration_days"])
            elif ev is not None and p.n_cycles < 3:
                eot = p.day_of(ev["cycle"], ev["day"]) + 14
                a, b = rad["dlt_pd_scan_days_after_eot"]
                final_day = self._weekday_between(rng, p, eot + a, eot + b)
            elif p.n_cycles >= 3:
                final_day = scheduled[-1][0]
            else:
                a, b = rad["pd_after_two_cycles_days_before_cycle3"]
                nxt = p.cycle_start[p.n_cycles] + self.cycle_len
                final_day = self._weekday_between(rng, p, nxt - b, nxt - a)
            if final_day < p.last_dose_day:
                if best in BENEFIT:
                    raise GenerationError(
                        f"{sid}: last dose on day {p.last_dose_day} falls after the Table 3 "
                        f"progression/censoring day {final_day}; shorten the delays in config.yaml"
                    )
                final_day = p.last_dose_day
            p.final_day = final_day

            # end of treatment: when, per config `eot_on` (DLT patients: 14 days after onset, the 2-week rest)
            eot_on = story.get("eot_on", "dlt" if ev is not None else "final_scan")
            eot_days = {
                "final_scan": final_day,
                "last_dose": p.last_dose_day,
                "after_cycle_3_scan": scheduled[-1][0],
                "next_cycle_due": p.cycle_start[p.n_cycles] + self.cycle_len,
                "dlt": p.day_of(ev["cycle"], ev["day"]) + 14 if ev is not None else None,
            }
            if eot_days.get(eot_on) is None:
                raise GenerationError(
                    f"config.yaml treatment.{sid}.eot_on: unknown or inapplicable '{eot_on}' "
                    f"(use one of {', '.join(k for k, v in eot_days.items() if v is not None)})"
                )
            p.eot_day = eot_days[eot_on]
            p.eot_reason = story.get("eot", "Progressive disease")

            follow = int(story.get("followup_months", 3))
            months = []
            m = 6
            while self._month_day(m) < final_day + 60:
                if self._month_day(m) <= p.eot_day or m <= 12 or (m - 12) % follow == 0:
                    months.append(m)
                m += 3
            for m in months:
                target = self._month_day(m)
                scheduled.append((self._weekday_between(rng, p, target - window, target + window), f"Month {m}"))
            gap = int(rad["min_gap_before_final_days"])
            kept = [(d, v) for d, v in scheduled if d <= final_day - gap or (d == final_day and v == "After cycle 3")]
            final_label = "Unscheduled"
            if kept and kept[-1][0] == final_day:
                final_label = kept.pop()[1]
            else:
                for m in months:
                    used = {v for _, v in kept}
                    if (
                        abs(self._month_day(m) - final_day) <= rad["final_scan_label_window_days"]
                        and f"Month {m}" not in used
                    ):
                        final_label = f"Month {m}"
                        break
            first_response = rad["responders_first_response"]
            responding = False
            for day, visit in kept:
                if best in ("CR", "PR") and visit == first_response:
                    responding = True
                p.scans.append(Scan(day, visit, best if responding else "SD"))
            ongoing = bool(p.row["duration_ongoing"]) or bool(story.get("lost_to_follow_up"))
            final_response = ("SD" if best == "SD" else best) if ongoing else "PD"
            p.scans.append(Scan(final_day, final_label, final_response))

            # end of study and last contact
            if story.get("lost_to_follow_up"):
                p.eos_day, p.eos_reason, p.last_contact_day = final_day, "Lost to follow-up", final_day
            elif story.get("in_follow_up_at_cutoff"):
                p.eos_day, p.eos_reason, p.last_contact_day = None, "", final_day
            elif p.eot_reason == "Completed":
                p.eos_day, p.eos_reason = final_day, "Completed"
                p.last_contact_day = final_day
            else:
                p.eos_day = max(final_day, p.last_dose_day + 30, p.eot_day)
                p.eos_reason = "Progressive disease"
                p.last_contact_day = p.eos_day

    # ---------------------------------------------------------------- demographics
    def plan_demographics(self) -> None:
        """Table 2's marginals with the per-patient values drawn: exact median/min/max age, sex counts
        (breast patients female), Karnofsky, metastatic sites, prior regimens, prior paclitaxel."""
        rng = stream(self.seed, "demographics")
        t2, demo = self.pub["table2"], self.cfg["demographics"]
        ids = list(self.patients)
        n = len(ids)
        if n != t2["n"]:
            raise GenerationError(f"Table 3 has {n} patients, Table 2 n = {t2['n']}")
        # age: order statistics pinned at the published min, median, max; the rest drawn between
        age = t2["age"]
        mid = n // 2
        sorted_ages = np.empty(n, dtype=int)
        sorted_ages[0], sorted_ages[mid], sorted_ages[-1] = age["min"], age["median"], age["max"]
        sorted_ages[1:mid] = np.sort(rng.integers(age["min"], age["median"] + 1, size=mid - 1))
        sorted_ages[mid + 1 : n - 1] = np.sort(rng.integers(age["median"], age["max"] + 1, size=n - mid - 2))
        ages = rng.permutation(sorted_ages)
        # sex: breast cancer patients are women; the remaining women drawn among the others
        breast = [s for s in ids if self.patients[s].row["tumor_type"] == "Breast"]
        others = [s for s in ids if s not in breast]
        n_female = t2["sex"]["Female"] - len(breast)
        extra_f = set(rng.choice(others, size=n_female, replace=False).tolist())
        # Karnofsky: one score per patient from each category's scores
        kps = []
        for cat, count in t2["karnofsky"].items():
            kps += [int(rng.choice(t2["karnofsky_scores"][cat])) for _ in range(count)]
        kps = rng.permutation(kps)
        # metastatic sites with the text's fixed values first
        fixed_sites = {k: int(v) for k, v in demo["fixed_metastatic_sites"].items()}
        pool = []
        for cat, count in t2["metastatic_sites"].items():
            if cat.startswith(">="):
                lo, hi = demo["metastatic_sites_3plus"]
                pool += [int(v) for v in rng.integers(lo, hi + 1, size=count)]
            else:
                pool += [int(cat)] * count
        for v in fixed_sites.values():
            pool.remove(v)
        pool = list(rng.permutation(pool))
        sites = {s: fixed_sites[s] if s in fixed_sites else int(pool.pop()) for s in ids}
        # prior regimens: the prior-paclitaxel patients are the "1" row (see config); the rest drawn
        pacl = list(demo["prior_paclitaxel"])
        if len(pacl) != t2["prior_paclitaxel"] or t2["prior_regimens"]["1"] != len(pacl):
            raise GenerationError(
                "config prior_paclitaxel must list as many patients as Table 2's '1' row and footnote"
            )
        rest = []
        for cat, count in t2["prior_regimens"].items():
            if cat == "1":
                continue
            if cat.startswith(">="):
                lo, hi = demo["prior_regimens_2plus"]
                rest += [int(v) for v in rng.integers(lo, hi + 1, size=count)]
            else:
                rest += [int(cat)] * count
        rest = list(rng.permutation(rest))
        regimens = {s: 1 if s in pacl else int(rest.pop()) for s in ids}
        acc = self.cfg["accrual"]
        for i, sid in enumerate(ids):
            p = self.patients[sid]
            c_lo, c_hi = acc["consent_days_before_first_dose"]
            consent = p.date(self._weekday_between(rng, p, 1 - c_hi, 1 - c_lo))
            a = int(ages[i])
            anniversary = (
                consent.replace(year=consent.year - a)
                if not (consent.month == 2 and consent.day == 29)
                else consent.replace(year=consent.year - a, day=28)
            )
            born = anniversary - dt.timedelta(days=int(rng.integers(*demo["birthday_offset_days"])))
            if years_between(born, consent) != a:
                raise GenerationError(f"{sid}: birth date {born} does not give age {a} at consent {consent}")
            a_lo, a_hi = acc["assignment_days_after_consent"]
            consent_day = (consent - p.first_dose).days + 1
            assigned = p.date(self._weekday_between(rng, p, consent_day + a_lo, min(consent_day + a_hi, 1)))
            p.demo = {
                "consent": consent,
                "birth": born,
                "age": a,
                "sex": "Female" if (sid in breast or sid in extra_f) else "Male",
                "karnofsky": int(kps[i]),
                "metastatic_sites": sites[sid],
                "prior_regimens": regimens[sid],
                "prior_paclitaxel": "Yes" if sid in pacl else "No",
                "lvef": int(rng.integers(demo["lvef"][0], demo["lvef"][1] + 1)),
                "assigned": assigned,
            }

    # ---------------------------------------------------------------- adverse events
    def _weights(self, ids: list[str]) -> np.ndarray:
        w = np.array([self.patients[s].n_cycles for s in ids], dtype=float) ** 0.5
        return w / w.sum()

    def _worst_grades(
        self, rng: np.random.Generator, counts: dict[str, int], fixed: dict[str, int], candidates: list[str]
    ) -> dict[str, int]:
        """Patients by worst grade for one toxicity: fixed patients first, the rest drawn (more cycles,
        more likely), highest remaining grades drawn first. Reproduces the whole-patient counts exactly."""
        need = {int(k.replace("grade", "")): int(v) for k, v in counts.items()}
        for g in fixed.values():
            need[g] -= 1
            if need[g] < 0:
                raise GenerationError(f"more fixed grade {g} patients than the published count")
        worst = dict(fixed)
        free = [s for s in candidates if s not in worst]
        for g in sorted(need, reverse=True):
            if need[g] == 0:
                continue
            if g >= 3:
                raise GenerationError(f"grade {g} patients must all be chosen in config.yaml (story), not drawn")
            chosen = rng.choice(free, size=need[g], replace=False, p=self._weights(free)).tolist()
            for s in chosen:
                worst[s] = g
                free.remove(s)
        return worst

    def _onset_window(self, p: Patient, spec: dict) -> tuple[int, int]:
        lo, hi = 1, p.last_dose_day
        if "onset_days" in spec:
            lo = max(lo, spec["onset_days"][0])
            hi = min(max(hi, lo), spec["onset_days"][1])
        return lo, hi

    def _il12_days(self, p: Patient) -> list[int]:
        return sorted({d.study_day for d in p.doses if d.drug == "IL-12"})

    def _place(self, rng, p: Patient, spec: dict, grades: list[int], lo: int, hi: int) -> list[tuple[int, int, int]]:
        """Place sequential, non-overlapping episodes (grade, onset, resolution) inside [lo, hi]."""
        dur = self.cfg["adverse_events"]["duration_days"]
        out = []
        start = lo
        for k, g in enumerate(grades):
            remaining = len(grades) - k - 1
            latest = hi - remaining * 8
            if latest < start:
                break
            options = list(range(start, latest + 1))
            if spec.get("il12_days"):
                options = [d for d in self._il12_days(p) if start <= d <= latest] or options
                options = [d + 1 for d in options]  # the evening after the injection is noticed next day
            onset = int(rng.choice(options[: max(1, len(options) // max(1, remaining + 1))] if remaining else options))
            res = onset + int(rng.integers(dur[0], dur[1] + 1))
            out.append((g, onset, res))
            start = res + 2
        return out

    def plan_adverse_events(self) -> None:
        """Table 4 by worst grade per patient (whole-patient counts in published.yaml), some toxicities
        recurring at a lower grade first; the DLTs and the other grade 3s anchored on their protocol day."""
        rng = stream(self.seed, "adverse_events")
        aecfg = self.cfg["adverse_events"]
        ids = list(self.patients)
        rel_names = list(aecfg["relationship_weights"])
        rel_p = np.array(list(aecfg["relationship_weights"].values()), dtype=float)
        rel_p /= rel_p.sum()
        self.heme_worst: dict[str, dict[str, int]] = {}
        anchors = {}
        for sid, evs in self.interruptions.items():
            for ev in evs:
                anchors[(sid, ev["toxicity"])] = ev
        for row in self.pub["table4"]["rows"]:
            tox = row["toxicity"]
            spec = aecfg["terms"][tox]
            if "lab" in spec:
                continue  # chosen together below: the WBC and ANC nadirs are linked
            fixed = {sid: 3 for (sid, t) in anchors if t == tox}
            worst = self._worst_grades(rng, row["counts"], fixed, ids)
            for sid in ids:
                if sid not in worst:
                    continue
                p = self.patients[sid]
                verbatim = str(rng.choice(spec["verbatims"]))
                w = worst[sid]
                ev = anchors.get((sid, tox))
                extra = rng.random() < aecfg["extra_episode_probability"]
                lo, hi = self._onset_window(p, spec)
                if ev is not None:
                    onset = p.day_of(ev["cycle"], ev["day"])
                    if ev["dlt"]:
                        r = self.cfg["dlt_not_resolved_days"]
                        res = onset + int(rng.integers(r[0], r[1] + 1))
                        action, dlt, rel = "Drug withdrawn", "Yes", "Definite"
                    else:
                        res = onset + int(rng.integers(7, 14))  # resolved within the 2-week rest: no DLT
                        action = "Dose reduced" if ev["reduce_il12"] else "Drug interrupted"
                        dlt, rel = "No", "Probable"
                    placed = [(w, onset, res)]
                    if extra and onset - lo > 20:
                        placed = self._place(rng, p, spec, [w - 1], lo, onset - 12) + placed
                    for g, on, rs in placed:
                        is_anchor = on == onset
                        p.episodes.append(
                            Episode(
                                tox,
                                g,
                                on,
                                min(rs, onset - 1) if not is_anchor else rs,
                                rel if is_anchor else str(rng.choice(rel_names, p=rel_p)),
                                "No",
                                action if is_anchor else "None",
                                dlt if is_anchor else "No",
                                verbatim,
                            )
                        )
                    continue
                if spec.get("slow_to_resolve"):
                    extra = False  # one long episode: hair regrows after the last dose
                grades = [w - 1, w] if (extra and w >= 2) else ([1, 1] if extra else [w])
                placed = self._place(rng, p, spec, grades, lo, hi)
                if not placed or max(g for g, _, _ in placed) != w:
                    placed = self._place(rng, p, spec, [w], lo, hi)
                for g, on, rs in placed:
                    if spec.get("slow_to_resolve"):
                        rs = max(rs, p.last_dose_day + int(rng.integers(30, 91)))
                    p.episodes.append(Episode(tox, g, on, rs, str(rng.choice(rel_names, p=rel_p)), verbatim=verbatim))
        self._heme_worst(rng)
        self._other_events(rng, rel_names, rel_p)
        self._pulmonary_embolism(rng)

    def _heme_worst(self, rng) -> None:
        """Worst hematologic grades. An ANC of grade 3-4 (< 1.0) cannot sit under a WBC of grade 0-2
        (>= 2.0) without an implausible lymphocyte count, so the neutropenia patients are exactly the
        grade >= 3 leukopenia patients, and the grade 4 leukopenia patient has the deepest ANC."""
        counts = {
            r["toxicity"]: {int(k[5:]): int(v) for k, v in r["counts"].items()} for r in self.pub["table4"]["rows"]
        }
        labs_of = {tox: spec["lab"] for tox, spec in self.cfg["adverse_events"]["terms"].items() if "lab" in spec}
        ids = list(self.patients)
        leuk, neut = counts["Leukopenia"], counts["Neutropenia"]
        deep = [g for g in (4, 3) for _ in range(leuk[g])]
        neut_grades = sorted((g for g in (4, 3, 2, 1) for _ in range(neut[g])), reverse=True)
        if len(deep) != len(neut_grades) or any(neut[g] for g in (1, 2)):
            raise GenerationError(
                "the generator models neutropenia (grade 3-4 only) in the grade >= 3 leukopenia patients"
            )
        nadir = rng.choice(ids, size=len(deep), replace=False, p=self._weights(ids)).tolist()
        leuk_w = dict(zip(nadir, deep, strict=False))
        neut_w = {nadir[0]: neut_grades[0]}  # nadir[0] holds the deepest WBC grade
        rest = list(rng.permutation(neut_grades[1:]))
        for sid in nadir[1:]:
            neut_w[sid] = int(rest.pop())
        others = [s for s in ids if s not in leuk_w]
        for g in (2, 1):
            chosen = rng.choice(others, size=leuk[g], replace=False, p=self._weights(others)).tolist()
            for sid in chosen:
                leuk_w[sid] = g
                others.remove(sid)
        self.heme_worst = {"Leukopenia": leuk_w, "Neutropenia": neut_w}
        for tox in labs_of:
            if tox not in self.heme_worst:
                self.heme_worst[tox] = self._worst_grades(
                    rng, {f"grade{g}": n for g, n in counts[tox].items()}, {}, ids
                )

    def _other_events(self, rng, rel_names, rel_p) -> None:
        """AEs outside Table 4 (config other_terms): a few patients each, grade 1-2, IL-12-linked ones
        the day after an IL-12 dose, injection-site ones only where IL-12 was given SC."""
        for key, spec in self.cfg["adverse_events"]["other_terms"].items():
            ids = [s for s, p in self.patients.items() if "route" not in spec or p.row["il12_route"] == spec["route"]]
            k = int(rng.integers(spec["patients"][0], spec["patients"][1] + 1))
            chosen = sorted(rng.choice(ids, size=min(k, len(ids)), replace=False, p=self._weights(ids)).tolist())
            for sid in chosen:
                p = self.patients[sid]
                lo, hi = (p.cycle_start.get(2, 1), p.last_dose_day) if spec.get("il12_days") else (1, p.last_dose_day)
                g = int(rng.integers(1, spec["max_grade"] + 1))
                for gg, on, rs in self._place(rng, p, spec, [g], lo, hi):
                    p.episodes.append(
                        Episode(
                            key,
                            gg,
                            on,
                            rs,
                            str(rng.choice(rel_names, p=rel_p)),
                            verbatim=str(rng.choice(spec["verbatims"])),
                        )
                    )

    def _pulmonary_embolism(self, rng) -> None:
        """Text: G came off study for an incidental pulmonary embolism on the restaging CT; an AE, not a toxicity."""
        pe = self.cfg["adverse_events"]["pulmonary_embolism"]
        p = self.patients[pe["subject"]]
        ct_day = next(s.study_day for s in p.scans if s.visit == "After cycle 3")
        r = pe["resolution_days"]
        p.episodes.append(
            Episode(
                "Pulmonary embolism",
                int(pe["grade"]),
                ct_day,
                ct_day + int(rng.integers(r[0], r[1] + 1)),
                pe["relationship"],
                pe["serious"],
                "Drug withdrawn",
                "No",
                pe["verbatim"],
                pe["serious_criterion"],
            )
        )

    # ---------------------------------------------------------------- labs
    def _draws(self, p: Patient) -> list[tuple[int, int, int]]:
        """(cycle, cycle_day, study_day) of every blood draw: just before each trastuzumab or IL-12 dose."""
        seen = sorted(
            {(d.cycle, d.cycle_day, d.study_day) for d in p.doses if d.drug in ("Trastuzumab", "IL-12")},
            key=lambda t: t[2],
        )
        return seen

    def plan_labs(self) -> list[dict]:
        """labs.csv rows: one draw per trastuzumab/IL-12 dose date (morning time), cytokines at every
        draw, hematology on days 1, 8 and 15."""
        rng_h = stream(self.seed, "hematology")
        rng_c = stream(self.seed, "cytokines")
        rng_t = stream(self.seed, "draw_times")
        labs = self.cfg["labs"]
        heme_days = set(labs["hematology_days"])
        t0 = dt.datetime.strptime(labs["draw_time"]["first"], "%H:%M")
        t1 = dt.datetime.strptime(labs["draw_time"]["last"], "%H:%M")
        n_slots = int((t1 - t0).total_seconds() // 60 // labs["draw_time"]["step_minutes"]) + 1
        rantes_nd = set(
            rng_c.choice(
                list(self.patients), size=labs["cytokines"]["RANTES"]["not_done_patients"], replace=False
            ).tolist()
        )
        rows: list[dict] = []
        for sid, p in self.patients.items():
            draws = self._draws(p)
            times = {
                sd: t0 + dt.timedelta(minutes=int(rng_t.integers(0, n_slots)) * labs["draw_time"]["step_minutes"])
                for _, _, sd in draws
            }
            heme = [d for d in draws if d[1] in heme_days]
            heme_values = self._hematology(rng_h, p, heme)
            cyto_values = self._cytokines(rng_c, p, draws, sid in rantes_nd)
            for cycle, cday, sd in draws:
                when = dt.datetime.combine(p.date(sd), times[sd].time()).strftime("%Y-%m-%dT%H:%M")
                base = {
                    "subject_id": sid,
                    "visit": f"Cycle {cycle} Day {cday}",
                    "cycle": cycle,
                    "cycle_day": cday,
                    "collection_datetime": when,
                }
                for test, rec in cyto_values.get(sd, {}).items():
                    rows.append(dict(base, category="CYTOKINE", test=test, method="ELISA", specimen="SERUM", **rec))
                for test, rec in heme_values.get(sd, {}).items():
                    rows.append(
                        dict(base, category="HEMATOLOGY", test=test, method="Automated count", specimen="BLOOD", **rec)
                    )
        return rows

    def _hematology(self, rng, p: Patient, heme: list[tuple[int, int, int]]) -> dict[int, dict[str, dict]]:
        """Weekly CBC. Values are within normal limits except at the draws where an AE episode starts
        (and, for anemia, may persist one more draw); each episode resolves on the next normal draw,
        so worst lab grade per test = worst AE grade (CTCAE v3.0), and each episode starts on a lab at its grade."""
        spec = self.cfg["labs"]["hematology"]
        sex = p.demo["sex"]
        lln = {
            t: (spec[t]["ref_by_sex"][sex][0] if "ref_by_sex" in spec[t] else spec[t]["ref"][0])
            for t in HEMATOLOGY_TESTS
        }
        refs = {
            t: (spec[t]["ref_by_sex"][sex] if "ref_by_sex" in spec[t] else spec[t]["ref"]) for t in HEMATOLOGY_TESTS
        }
        n = len(heme)
        grade = {t: np.zeros(n, dtype=int) for t in HEMATOLOGY_TESTS}
        tox_of = {"Leukopenia": "WBC", "Neutropenia": "ANC", "Anemia": "Hemoglobin", "Thrombocytopenia": "Platelets"}
        worst = {tox_of[t]: self.heme_worst[t].get(p.id, 0) for t in tox_of}
        eligible = list(range(1, n - 1))  # not the pre-treatment draw, not the last one
        if not eligible and any(worst.values()):
            raise GenerationError(f"{p.id}: too few blood counts to place a hematologic AE")
        extra_p = self.cfg["adverse_events"]["extra_episode_probability"]
        taken: set[int] = set()

        def pick(avoid: set[int], after: int = 0) -> int | None:
            opts = [i for i in eligible if i not in avoid and i - 1 not in avoid and i + 1 not in avoid and i > after]
            return int(rng.choice(opts)) if opts else None

        # leukopenia and neutropenia nadirs share draws (ANC cannot fall to grade 3 with a normal WBC)
        w_wbc, w_anc = worst["WBC"], worst["ANC"]
        if w_wbc:
            i = pick(taken, after=1)
            if i is None:
                raise GenerationError(f"{p.id}: no blood count left for the WBC nadir")
            grade["WBC"][i] = w_wbc
            if w_anc:
                grade["ANC"][i] = w_anc
            taken.add(i)
            if w_wbc >= 2 and rng.random() < extra_p:
                j = pick(taken)
                if j is not None and j < i:
                    grade["WBC"][j] = w_wbc - 1
                    if w_anc:
                        grade["ANC"][j] = max(w_anc - 1, 1)
                    taken.add(j)
        elif w_anc:
            raise GenerationError(f"{p.id}: neutropenia without leukopenia is not modelled")
        if w_anc and w_wbc < 3:
            raise GenerationError(f"{p.id}: grade {w_anc} neutropenia needs grade >=3 leukopenia")
        for test in ("Hemoglobin", "Platelets"):
            w = worst[test]
            if not w:
                continue
            i = pick(set())
            if i is None:
                raise GenerationError(f"{p.id}: no draw left for {test}")
            grade[test][i] = w
            if test == "Hemoglobin" and i + 2 < n and rng.random() < 0.5:
                grade[test][i + 1] = w  # anemia often lasts more than a week
        # episodes from runs of consecutive graded draws
        tox_by_test = {v: k for k, v in tox_of.items()}
        for test in HEMATOLOGY_TESTS:
            g = grade[test]
            i = 0
            while i < n:
                if g[i] > 0:
                    j = i
                    while j + 1 < n and g[j + 1] == g[i]:
                        j += 1
                    if j + 1 >= n:
                        raise GenerationError(f"{p.id}: {test} episode has no recovery draw")
                    tox = tox_by_test[test]
                    term_spec = self.cfg["adverse_events"]["terms"][tox]
                    rel = "Probable"
                    p.episodes.append(
                        Episode(
                            tox,
                            int(g[i]),
                            heme[i][2],
                            heme[j + 1][2],
                            rel,
                            verbatim=str(rng.choice(term_spec["verbatims"])),
                        )
                    )
                    i = j + 1
                else:
                    i += 1
        # values
        out: dict[int, dict[str, dict]] = {}
        # each patient has their own steady level; draws vary around it
        base_wbc = rng.uniform(*spec["WBC"]["normal"])
        base_hgb = lln["Hemoglobin"] + rng.uniform(*spec["Hemoglobin"]["normal_margin"])
        base_plt = rng.uniform(*spec["Platelets"]["normal"])
        for k, (_, _, sd) in enumerate(heme):
            vals = {}
            for test in HEMATOLOGY_TESTS:
                s = spec[test]
                g = int(grade[test][k])
                if g:
                    lo, hi = s["grades"][g]
                    lo = lln[test] if lo == "LLN" else float(lo)
                    hi = lln[test] if hi == "LLN" else float(hi)
                    if test == "WBC" and g <= 2 and not grade["ANC"][k]:
                        lo = max(lo, spec["ANC"]["ref"][0] + 0.5)  # room for a normal ANC below the WBC
                    if test == "ANC":
                        hi = min(hi, vals["WBC"] - 0.3)
                    v = self._in_grade(rng, test, lo, hi, s["decimals"], lln[test], g)
                elif test == "Hemoglobin":
                    v = round(max(base_hgb + rng.normal(0, 0.35), lln[test] + 0.1), s["decimals"])
                elif test == "ANC":
                    lo = max(spec["ANC"]["normal"][0], lln["ANC"] + 0.1)
                    hi = max(lo, min(spec["ANC"]["normal"][1], vals["WBC"] - 0.8))
                    v = round(rng.uniform(lo, hi), s["decimals"])
                elif test == "WBC":
                    v = round(float(np.clip(base_wbc * rng.uniform(0.8, 1.15), *s["normal"])), s["decimals"])
                else:
                    v = round(float(np.clip(base_plt * rng.uniform(0.85, 1.15), *s["normal"])), s["decimals"])
                if ctcae_v3_grade(test, v, lln[test]) != g:
                    raise GenerationError(f"{p.id} {test} value {v} is not grade {g}")
                vals[test] = v
            out[sd] = {
                t: {
                    "result": fmt_number(vals[t], spec[t]["decimals"]),
                    "unit": spec[t]["unit"],
                    "ref_low": fmt_number(refs[t][0], spec[t]["decimals"] or 0),
                    "ref_high": fmt_number(refs[t][1], spec[t]["decimals"] or 0),
                    "lloq": "",
                    "status": "",
                    "reason_not_done": "",
                }
                for t in HEMATOLOGY_TESTS
            }
        return out

    @staticmethod
    def _in_grade(rng, test: str, lo: float, hi: float, decimals: int, lln: float, g: int) -> float:
        step = 10**-decimals
        for _ in range(200):
            v = round(rng.uniform(lo + step, hi - step), decimals)
            if ctcae_v3_grade(test, v, lln) == g:
                return v
        raise GenerationError(f"no {test} value of grade {g} in [{lo}, {hi}]")

    def plan_cytokine_peaks(self) -> None:
        """Per-patient peak of each cytokine the paper compares between benefit and PD patients
        (Kruskal-Wallis on peak levels, text pp. 2986-2987): the peaks are ranked so that the test on
        them gives the attainable P nearest the published one, then valued on a rising curve."""
        rng = stream(self.seed, "cytokine_peaks")
        stats = {st["name"]: st["published"] for st in self.pub["text"]["statistics"]}
        benefit = [s for s, p in self.patients.items() if p.benefit]
        progressive = [s for s, p in self.patients.items() if not p.benefit]
        self.cytokine_peaks: dict[str, dict[str, int]] = {}
        for test, s in self.cfg["labs"]["cytokines"].items():
            if "peak_stat" not in s:
                continue
            name, _, index = s["peak_stat"].partition("#")
            published = stats[name][int(index)] if index else stats[name]
            r1 = nearest_rank_sum(float(published), len(benefit), len(progressive))
            ranks = ranks_with_sum(rng, len(benefit), len(progressive), r1, s.get("pd_max_rank"))
            lo, hi = s["peak_range"]
            n = len(self.patients)
            grid = lo * (hi / lo) ** ((np.arange(n) / (n - 1)) ** float(s.get("peak_curve", 2.0)))
            grid = np.sort(grid * rng.uniform(0.97, 1.03, size=n)).round()
            for i in range(1, n):  # distinct integers: no ties in the ranking
                grid[i] = max(grid[i], grid[i - 1] + 1)
            order = list(rng.permutation(benefit)) + list(rng.permutation(progressive))
            self.cytokine_peaks[test] = {sid: int(grid[r - 1]) for sid, r in zip(order, ranks, strict=False)}

    def _cytokines(self, rng, p: Patient, draws, rantes_not_done: bool) -> dict[int, dict[str, dict]]:
        """Serum cytokines at every draw. IFN-gamma: benefit patients peak after IL-12 injections at
        exactly Table 3's value and fall back to 10-200 pg/mL between; before IL-12 at or below the
        limit; PD patients never above the detection limit. Others follow the paper's direction."""
        labs, text = self.cfg["labs"], self.pub["text"]
        cyto = labs["cytokines"]
        profile = {int(k): float(v) for k, v in labs["cytokine_profile"].items()}
        il12_first = int(self.schedule["il12"]["first_cycle"])
        cycles = sorted({c for c, _, _ in draws})
        frac = {c: rng.uniform(*labs["cycle_peak_fraction"]) for c in cycles}
        values: dict[str, dict[int, float]] = {}
        # IFN-gamma
        ifn = cyto["IFN-gamma"]
        lod = float(text["ifng_detection_limit"])
        if ifn["lloq"] != lod:
            raise GenerationError("config IFN-gamma lloq must equal the published detection limit")
        v_ifn = {}
        if p.benefit:
            peak = float(p.row["peak_ifng"])
            lo_b, hi_b = text["ifng_between_injections_range"]
            between = {c: rng.uniform(lo_b, min(hi_b, 0.6 * peak)) for c in cycles}
            for c, d, sd in draws:
                if c < il12_first:
                    v_ifn[sd] = rng.uniform(*ifn["baseline_benefit_cycle1"])
                elif profile.get(d, 0.0) > 0:
                    top = peak * frac[c] * rng.uniform(0.9, 1.0)
                    v_ifn[sd] = between[c] + max(top - between[c], 0) * profile[d]
                else:
                    v_ifn[sd] = float(
                        np.clip(between[c] * rng.uniform(*labs["between_noise"]), lo_b, min(hi_b, peak - 1))
                    )
            day5 = [sd for c, d, sd in draws if c >= il12_first and d == 5]
            if not day5:
                raise GenerationError(f"{p.id}: no post-IL-12 draw to carry the Table 3 peak")
            v_ifn[int(rng.choice(day5))] = peak
        else:
            for _c, _d, sd in draws:
                v_ifn[sd] = rng.uniform(*ifn["baseline_pd"])
        values["IFN-gamma"] = v_ifn
        # the others; a test with a published comparison gets the patient's peak chosen up front
        day5 = [sd for c, d, sd in draws if c >= il12_first and d == 5]
        peak_draw: dict[str, int] = {}
        for test, s in cyto.items():
            if test == "IFN-gamma":
                continue
            v = {}
            exact = self.cytokine_peaks.get(test, {}).get(p.id)
            if "baseline_spread" in s:
                normal = float(text["ip10_mig_normal_baseline"][test])
                base = normal * rng.uniform(1 - s["baseline_spread"], 1 + s["baseline_spread"])
            else:
                base = rng.uniform(*s["baseline"])
            if exact is not None:
                peak = float(exact)
                base = min(base, 0.85 * peak)
            else:
                peak = rng.uniform(*(s["peak_benefit"] if p.benefit else s["peak_pd"]))
            for c, d, sd in draws:
                if c < il12_first:
                    v[sd] = base * rng.uniform(0.85, 1.15)
                else:
                    top = max(peak * frac[c] * rng.uniform(0.85, 1.0), base)
                    v[sd] = (base + (top - base) * profile.get(d, 0.0)) * rng.uniform(0.9, 1.1)
            if exact is not None:
                v = {sd: min(x, peak - 1) for sd, x in v.items()}
                peak_draw[test] = int(rng.choice(day5))
                v[peak_draw[test]] = peak
            values[test] = v
        out: dict[int, dict[str, dict]] = {}
        for _c, _d, sd in draws:
            recs = {}
            for test, s in cyto.items():
                lloq = float(s["lloq"])
                val = values[test][sd]
                not_done = ""
                if test == "RANTES" and rantes_not_done:
                    not_done = s["not_done_reason"]
                elif test != "IFN-gamma" and peak_draw.get(test) != sd and rng.random() < labs["random_not_done_rate"]:
                    not_done = labs["random_not_done_reason"]
                if not_done:
                    result = ""
                elif val < lloq:
                    result = f"<{lloq:g}"
                else:
                    result = str(int(round(val)))
                # a test not done has no result, so the transfer carries no unit, range or LLOQ for it
                recs[test] = {
                    "result": result,
                    "unit": "" if not_done else "pg/mL",
                    "ref_low": "" if not_done else f"{s['ref'][0]:g}",
                    "ref_high": "" if not_done else f"{s['ref'][1]:g}",
                    "lloq": "" if not_done else f"{lloq:g}",
                    "status": "NOT DONE" if not_done else "",
                    "reason_not_done": not_done,
                }
            out[sd] = recs
        return out

    # ---------------------------------------------------------------- assembly
    def run(self) -> dict[str, list[dict]]:
        self.plan_enrolment()
        self.plan_dosing()
        self.plan_assessments_and_disposition()
        self.plan_demographics()
        self.plan_adverse_events()
        self.plan_cytokine_peaks()
        lab_rows = self.plan_labs()
        tables = {
            "subjects": self._subjects(),
            "cohorts": self._cohorts(),
            "dosing": self._dosing(),
            "tumor_assessments": self._tumor_assessments(),
            "target_lesions": self._target_lesions(),
            "best_response": self._best_response(),
            "disposition": self._disposition(),
            "adverse_events": self._adverse_events(),
            "labs": sorted(lab_rows, key=self._lab_key),
        }
        self.check(tables)
        return tables

    def _lab_key(self, r: dict):
        order = {t: i for i, t in enumerate(list(self.cfg["labs"]["cytokines"]) + list(HEMATOLOGY_TESTS))}
        return (r["subject_id"], r["collection_datetime"], r["category"], order[r["test"]])

    def _subjects(self) -> list[dict]:
        demo = self.cfg["demographics"]
        return [
            {
                "subject_id": s,
                "site_id": self.cfg["site_id"],
                "consent_date": fmt_date(p.demo["consent"]),
                "birth_date": fmt_date(p.demo["birth"]),
                "age": p.demo["age"],
                "sex": p.demo["sex"],
                "race": demo["race"],
                "ethnicity": demo["ethnicity"],
                "karnofsky": p.demo["karnofsky"],
                "tumor_type": p.row["tumor_type"],
                "her2_ihc": p.row["her2"],
                "metastatic_sites": p.demo["metastatic_sites"],
                "prior_regimens": p.demo["prior_regimens"],
                "prior_paclitaxel": p.demo["prior_paclitaxel"],
                "lvef": p.demo["lvef"],
            }
            for s, p in self.patients.items()
        ]

    def _cohorts(self) -> list[dict]:
        unit = self.schedule["il12"]["unit"]
        return [
            {
                "subject_id": s,
                "cohort": p.cohort,
                "il12_dose": p.row["il12_dose"],
                "il12_dose_unit": unit,
                "il12_route": p.row["il12_route"],
                "assigned_date": fmt_date(p.demo["assigned"]),
            }
            for s, p in self.patients.items()
        ]

    def _dosing(self) -> list[dict]:
        rows = []
        for s, p in self.patients.items():
            for d in p.doses:
                rows.append(
                    {
                        "subject_id": s,
                        "cycle": d.cycle,
                        "cycle_day": d.cycle_day,
                        "admin_date": fmt_date(p.date(d.study_day)),
                        "drug": d.drug,
                        "dose": f"{d.dose:g}",
                        "dose_unit": d.unit,
                        "route": d.route,
                        "dose_reduced": "Y" if d.reduced else "N",
                        "reduction_reason": d.reason,
                    }
                )
        return rows

    def _tumor_assessments(self) -> list[dict]:
        return [
            {
                "subject_id": s,
                "visit": sc.visit,
                "assessment_date": fmt_date(p.date(sc.study_day)),
                "overall_response": sc.response,
                "evaluator": "Investigator",
            }
            for s, p in self.patients.items()
            for sc in sorted(p.scans, key=lambda x: x.study_day)
        ]

    def _target_lesions(self) -> list[dict]:
        """Synthetic target lesions within the published responses (the paper gives none): per patient
        1-5 lesions at the baseline scan (the consent date) and their longest diameters (mm) at every
        assessment, so that RECIST on the sum of diameters gives each collected overall response:
        CR all 0; PD sum >= 120% of the nadir (smallest earlier sum, baseline included) and >= 5 mm
        above it; PR sum <= 70% of baseline; SD otherwise. PR sums stay within 64-69% of baseline so a
        later SD (> 70% of baseline, < 120% of the nadir) always exists."""
        rng = stream(self.seed, "target_lesions")
        cfg = self.cfg["target_lesions"]
        rows = []
        for s, p in self.patients.items():
            count = int(rng.integers(cfg["count"][0], cfg["count"][1] + 1))
            sizes = rng.integers(cfg["baseline_mm"][0], cfg["baseline_mm"][1] + 1, size=count)
            base = int(sizes.sum())
            scans = [("", fmt_date(p.demo["consent"]), None)] + [
                (sc.visit, fmt_date(p.date(sc.study_day)), sc.response)
                for sc in sorted(p.scans, key=lambda x: x.study_day)
            ]
            nadir = base
            for visit, day, response in scans:
                if response is None:
                    total = base
                elif response == "CR":
                    total = 0
                elif response == "PD":
                    total = max(int(np.ceil(1.2 * nadir)), nadir + 5) + int(rng.integers(0, 6))
                elif response == "PR":
                    lo, hi = int(np.ceil(0.64 * base)), int(np.floor(0.69 * base))
                    total = int(rng.integers(lo, hi + 1)) if nadir > 0 else int(rng.integers(1, 5))
                else:  # SD: above 70% of baseline, below 120% of the nadir or within 5 mm of it
                    lo = int(np.floor(0.7 * base)) + 1
                    hi = max(int(np.ceil(1.2 * nadir)) - 1, nadir + 4)
                    hi = min(hi, int(np.floor(1.1 * base)))
                    if lo > hi:
                        raise GenerationError(f"{s}: no SD sum fits after nadir {nadir} (baseline {base})")
                    total = int(rng.integers(lo, hi + 1))
                # split the sum over the lesions in proportion to their baseline size (last one takes the rest)
                parts = np.floor(sizes * total / base).astype(int)
                parts[-1] = total - int(parts[:-1].sum())
                for n, mm in enumerate(parts, start=1):
                    rows.append(
                        {
                            "subject_id": s,
                            "lesion_id": f"T{n:02d}",
                            "visit": visit,  # the baseline scan is no scheduled visit: blank
                            "assessment_date": day,
                            "diameter_mm": str(int(mm)),
                            "evaluator": "Investigator",
                        }
                    )
                nadir = min(nadir, total)
        return rows

    def _best_response(self) -> list[dict]:
        return [
            {"subject_id": s, "best_response": p.row["best_response"], "evaluator": "Investigator"}
            for s, p in self.patients.items()
        ]

    def _disposition(self) -> list[dict]:
        return [
            {
                "subject_id": s,
                "eot_date": fmt_date(p.date(p.eot_day)),
                "eot_reason": p.eot_reason,
                "eos_date": fmt_date(p.date(p.eos_day)) if p.eos_day else "",
                "eos_reason": p.eos_reason,
                "last_contact_date": fmt_date(p.date(p.last_contact_day)),
            }
            for s, p in self.patients.items()
        ]

    def _adverse_events(self) -> list[dict]:
        rows = []
        for s, p in self.patients.items():
            eps = sorted(p.episodes, key=lambda e: (e.onset_day, e.term, e.grade))
            for n, e in enumerate(eps, start=1):
                res = e.resolution_day
                if res is not None and res > p.last_contact_day and p.last_contact_day >= e.onset_day:
                    res = None  # not known to have resolved by the last contact
                outcome = "Recovered/Resolved" if res is not None else "Recovering/Resolving"
                rows.append(
                    {
                        "subject_id": s,
                        "ae_number": n,
                        "ae_term": e.verbatim,
                        "ctcae_grade": e.grade,
                        "onset_date": fmt_crf_date(p.date(e.onset_day)),
                        "resolution_date": fmt_crf_date(p.date(res)) if res is not None else "",
                        "relationship": e.relationship,
                        "serious": e.serious,
                        "serious_criterion": e.serious_criterion,
                        "action_taken": e.action,
                        "dose_limiting": e.dlt,
                        "outcome": outcome,
                    }
                )
        return rows

    def meddra(self) -> list[dict]:
        aecfg = self.cfg["adverse_events"]
        rows = {}
        for tox, spec in aecfg["terms"].items():
            for v in spec["verbatims"]:
                rows[v] = {
                    "ae_term": v,
                    "preferred_term": spec["pt"],
                    "system_organ_class": spec["soc"],
                    "table4_term": tox,
                }
        for spec in aecfg["other_terms"].values():
            for v in spec["verbatims"]:
                rows[v] = {
                    "ae_term": v,
                    "preferred_term": spec["pt"],
                    "system_organ_class": spec["soc"],
                    "table4_term": "",
                }
        pe = aecfg["pulmonary_embolism"]
        rows[pe["verbatim"]] = {
            "ae_term": pe["verbatim"],
            "preferred_term": pe["pt"],
            "system_organ_class": pe["soc"],
            "table4_term": "",
        }
        codes = aecfg["meddra_codes"]
        for row in rows.values():
            row["pt_code"] = codes["pt"][row["preferred_term"]]
            row["soc_code"] = codes["soc"][row["system_organ_class"]]
        return [rows[k] for k in sorted(rows)]

    # ---------------------------------------------------------------- self-check
    def check(self, tables: dict[str, list[dict]]) -> None:
        """Stop if a published value is not reproduced (the tests re-check all of them from the CSVs)."""
        problems = []
        t2 = self.pub["table2"]
        subj = tables["subjects"]

        def tally(values) -> dict:
            out: dict = {}
            for v in values:
                out[v] = out.get(v, 0) + 1
            return out

        ages = sorted(int(r["age"]) for r in subj)
        if (ages[len(ages) // 2], ages[0], ages[-1]) != (t2["age"]["median"], t2["age"]["min"], t2["age"]["max"]):
            problems.append(f"Table 2 age median/min/max {ages[len(ages) // 2]}/{ages[0]}/{ages[-1]}")
        if tally(r["sex"] for r in subj) != t2["sex"]:
            problems.append("Table 2 sex counts")
        if tally(karnofsky_category(r["karnofsky"], t2["karnofsky_scores"]) for r in subj) != t2["karnofsky"]:
            problems.append("Table 2 Karnofsky categories")
        for key, column in (("metastatic_sites", "metastatic_sites"), ("prior_regimens", "prior_regimens")):
            top = next(k for k in t2[key] if k.startswith(">="))
            cats = tally(top if r[column] >= int(top[2:]) else str(r[column]) for r in subj)
            if cats != t2[key]:
                problems.append(f"Table 2 {key}: {cats}")
        if sum(r["prior_paclitaxel"] == "Yes" for r in subj) != t2["prior_paclitaxel"]:
            problems.append("Table 2 prior paclitaxel")
        for s, p in self.patients.items():
            first_pd = min((sc.study_day for sc in p.scans if sc.response == "PD"), default=None)
            end = first_pd if first_pd is not None else max(sc.study_day for sc in p.scans)
            if p.benefit and end != p.row["duration_days"]:
                problems.append(f"Table 3 {s}: duration {end} != {p.row['duration_days']}")
            if len({d.cycle for d in p.doses}) != p.n_cycles:
                problems.append(f"Table 3 {s}: cycles")
            for e in p.episodes:
                if e.onset_day < 1 or e.onset_day > p.last_dose_day + 30:
                    problems.append(f"{s} {e.term} onset day {e.onset_day} outside treatment + 30 days")
            if any(d.study_day > p.eot_day for d in p.doses):
                problems.append(f"{s}: dosing after end of treatment")
        peaks: dict[str, float] = {}
        for r in tables["labs"]:
            if r["test"] == "IFN-gamma" and r["result"] and not r["result"].startswith("<"):
                peaks[r["subject_id"]] = max(peaks.get(r["subject_id"], 0.0), float(r["result"]))
        for s, p in self.patients.items():
            if peaks.get(s, 0) != p.row["peak_ifng"]:
                problems.append(f"Table 3 {s}: peak IFN-gamma {peaks.get(s, 0)} != {p.row['peak_ifng']}")
        for tox_row in self.pub["table4"]["rows"]:
            tox = tox_row["toxicity"]
            worst: dict[str, int] = {}
            for s, p in self.patients.items():
                gs = [e.grade for e in p.episodes if e.term == tox]
                if gs:
                    worst[s] = max(gs)
            got = {f"grade{g}": sum(1 for v in worst.values() if v == g) for g in (1, 2, 3, 4)}
            if got != {k: int(v) for k, v in tox_row["counts"].items()}:
                problems.append(f"Table 4 {tox}: {got} != {tox_row['counts']}")
        # the text's "only grade 4 toxicities" are treatment toxicities (Table 4 rows); the unrelated
        # incidental embolism (CTCAE v3.0 grade 4) is an adverse event, not one of them
        toxicities = {row["toxicity"] for row in self.pub["table4"]["rows"]}
        grade4 = tally(
            term
            for _, term in {
                (s, e.term)
                for s, p in self.patients.items()
                for e in p.episodes
                if e.grade == 4 and e.term in toxicities
            }
        )
        if grade4 != self.pub["table4"]["grade4"]:
            problems.append(f"grade 4 events {grade4} != {self.pub['table4']['grade4']}")
        if problems:
            raise GenerationError("published values not reproduced:\n  " + "\n  ".join(problems))


def load(path: Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def generate(out: Path, dictionaries: Path, published: Path = PUBLISHED, config: Path = CONFIG) -> list[Path]:
    """Generate every table into ``out`` and the coding dictionary into ``dictionaries``."""
    gen = Generator(load(published), load(config))
    tables = gen.run()
    written = []
    for name, rows in tables.items():
        path = Path(out) / f"{name}.csv"
        write_csv(path, COLUMNS[name], rows)
        written.append(path)
    path = Path(dictionaries) / "meddra.csv"
    write_csv(path, MEDDRA_COLUMNS, gen.meddra())
    written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=STUDY_DIR / "source", help="folder for the source CSVs")
    parser.add_argument(
        "--dictionaries",
        type=Path,
        default=None,
        help="folder for meddra.csv (default: STUDY/dictionaries, or OUT/../dictionaries with --out)",
    )
    args = parser.parse_args(argv)
    dictionaries = args.dictionaries or (args.out.parent / "dictionaries")
    try:
        written = generate(args.out, dictionaries)
    except GenerationError as exc:
        parser.exit(2, f"generate_sources: {exc}\n")
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
