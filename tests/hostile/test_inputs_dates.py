"""Hostile dates: impossible calendar days, times, dates outside the plausible window or past datetime64,
forms the mapping does not accept, implausible numbers (AGE), and bad plausibility settings."""

from __future__ import annotations

from inputs_support import (  # noqa: F401
    STUDY_END,
    Case,
    append,
    both,
    check,
    inputs_project,
    mapping_line,
    mini_output,
    params,
    study_line,
    sub,
)

AE = f"mappings/MINI/sdtm/ae.yaml:{mapping_line('ae.yaml', '  AESTDTC:')} AESTDTC"
BRTHDTC = f"mappings/MINI/sdtm/dm.yaml:{mapping_line('dm.yaml', '  BRTHDTC:')} BRTHDTC"
# the consent date is first parsed by CV (domains build in name order; LVEF is dated at screening)
DMDTC = f"mappings/MINI/sdtm/cv.yaml:{mapping_line('cv.yaml', '  CVDTC:')} CVDTC"
LBDTC = f"mappings/MINI/sdtm/lb.yaml:{mapping_line('lb.yaml', '  LBDTC:')} LBDTC"
STUDY_YAML = "mappings/MINI/study.yaml"
ONSET = "of source 'adverse_events' column 'onset_date'"
BIRTH = "of source 'subjects' column 'birth_date'"
CONSENT = "of source 'subjects' column 'consent_date'"
LABS = "of source 'labs' column 'collection_datetime'"
OUTSIDE = "is outside the plausible dates 1900-01-01 to "
SUBJECTS = "source/subjects.csv"
EVENTS = "source/adverse_events.csv"


def plausibility(text: str):
    return append("study.yaml", "\nplausibility:\n" + text)


CASES = [
    Case("31-feb", sub(EVENTS, "14-OCT-2002", "31-FEB-2002"), (AE, f"row 1 {ONSET}", "'31-FEB-2002' is an impossible")),
    Case("2020-02-30", sub(SUBJECTS, "1946-12-01", "2020-02-30"), (BRTHDTC, f"row 2 {BIRTH}", "impossible date")),
    Case("29-feb-non-leap", sub(SUBJECTS, "2003-02-03", "2003-02-29"), (DMDTC, f"row 3 {CONSENT}", "impossible date")),
    Case("29-feb-1900", sub(SUBJECTS, "1950-05-20", "1900-02-29"), (BRTHDTC, f"row 1 {BIRTH}", "impossible date")),
    Case(
        "year-2999", sub(EVENTS, "28-OCT-2002", "28-OCT-2999"), (AE, f"row 2 {ONSET}", OUTSIDE, "plausibility: dates:")
    ),
    Case(
        "9999-12-31-datetime",
        sub("source/labs.csv", "2002-11-11T09:00", "9999-12-31T09:00"),
        (LBDTC, f"row 6 {LABS}", OUTSIDE),
    ),
    Case("1899-12-31", sub(SUBJECTS, "1962-02-03", "1899-12-31"), (BRTHDTC, f"row 3 {BIRTH}", OUTSIDE)),
    Case("year-zero", sub(SUBJECTS, "1950-05-20", "0000-01-01"), (BRTHDTC, f"row 1 {BIRTH}", OUTSIDE)),
    Case(
        "partial-2999-01", sub(SUBJECTS, "1946-12-01", "2999-01"), (BRTHDTC, f"row 2 {BIRTH}", "'2999-01' " + OUTSIDE)
    ),
    Case("year-only-1850", sub(SUBJECTS, "1946-12-01", "1850"), (BRTHDTC, f"row 2 {BIRTH}", OUTSIDE)),
    Case("month-13", sub(SUBJECTS, "1950-05-20", "1950-13-20"), (BRTHDTC, f"row 1 {BIRTH}", "impossible month")),
    Case("month-00", sub(SUBJECTS, "1950-05-20", "1950-00-20"), (BRTHDTC, f"row 1 {BIRTH}", "impossible month")),
    Case("day-00", sub(SUBJECTS, "2002-10-01", "2002-10-00"), (DMDTC, f"row 1 {CONSENT}", "impossible date")),
    Case("unknown-month-name", sub(EVENTS, "13-MAR-2003", "13-XYZ-2003"), (AE, f"row 3 {ONSET}", "impossible month")),
    Case(
        "hour-25",
        sub("source/labs.csv", "2002-10-14T08:00", "2002-10-14T25:00"),
        (LBDTC, f"row 5 {LABS}", "impossible time of day"),
    ),
    Case(
        "minute-61",
        sub("source/labs.csv", "2003-02-10T08:30", "2003-02-10T08:61"),
        (LBDTC, f"row 7 {LABS}", "impossible time of day"),
    ),
    Case(
        "second-60",
        sub("source/labs.csv", "2003-02-10T08:30", "2003-02-10T08:30:60"),
        (LBDTC, f"row 7 {LABS}", "impossible time of day"),
    ),
    Case("words", sub(EVENTS, "14-OCT-2002", "yesterday"), (AE, f"row 1 {ONSET}", "is not a date in the forms")),
    Case(
        "slashed-form-not-declared",
        sub(EVENTS, "28-OCT-2002", "28/10/2002"),
        (AE, f"row 2 {ONSET}", "not a date in the forms dd-mon-yyyy, iso", "'formats'"),
    ),
    Case("trailing-text", sub(SUBJECTS, "2002-10-01", "2002-10-01x"), (DMDTC, f"row 1 {CONSENT}", "is not a date")),
    Case(
        "window-max-set-before-the-data",
        plausibility("  dates: {max: '2002-12-31'}\n"),
        (AE, f"row 3 {ONSET}", "'13-MAR-2003' is outside the plausible dates 1900-01-01 to 2002-12-31"),
    ),
    Case(
        "window-min-after-max",
        plausibility("  dates: {min: '2010-01-01', max: '2000-01-01'}\n"),
        (f"{STUDY_YAML}:{STUDY_END + 3} plausibility.dates", "min 2010-01-01 is after max 2000-01-01"),
    ),
    Case(
        "window-min-before-datetime64",
        plausibility("  dates: {min: '1600-01-01'}\n"),
        (f"{STUDY_YAML}:{STUDY_END + 3} plausibility.dates.min", "outside the dates sdtmify can compute with"),
    ),
    Case(
        "window-max-9999",
        plausibility("  dates:\n    max: '9999-12-31'\n"),
        (f"{STUDY_YAML}:{STUDY_END + 4} plausibility.dates.max", "1678-01-01 to 2261-12-31"),
    ),
    Case(
        "window-min-not-a-date",
        plausibility("  dates: {min: yesterday}\n"),
        (f"{STUDY_YAML}:{STUDY_END + 3} plausibility.dates.min", "'yesterday' does not match"),
    ),
    Case(
        "age-above-a-declared-maximum",
        plausibility("  ranges: {AGE: {max: 50}}\n"),
        ("mappings/MINI/sdtm/dm.yaml:", "DM AGE = 52 (row 1 of 'subjects')", "plausible range 0-50"),
    ),
    Case(
        "age-above-130",
        both(sub(SUBJECTS, "1946-12-01", "1750-12-01"), plausibility("  dates: {min: '1700-01-01'}\n")),
        ("mappings/MINI/sdtm/dm.yaml:", "DM AGE = 251 (row 2 of 'subjects')", "plausible range 0-130"),
    ),
    Case(
        "range-of-a-lowercase-name",
        plausibility("  ranges: {age: {max: 50}}\n"),
        (f"{STUDY_YAML}:{STUDY_END + 3} plausibility.ranges.age", "does not match"),
    ),
    Case(
        "range-without-bounds",
        plausibility("  ranges: {AGE: {}}\n"),
        (f"{STUDY_YAML}:{STUDY_END + 3} plausibility.ranges.AGE", "must not be empty"),
    ),
    Case(
        "impossible-timestamp",
        sub("study.yaml", 'timestamp: "2026-01-01T00:00:00"', 'timestamp: "2026-02-30T00:00:00"'),
        (f"{STUDY_YAML}:{study_line('  timestamp:')} output.timestamp", "is not a valid date/time"),
    ),
    Case(
        "a-widened-window-accepts-a-late-date",
        both(sub(EVENTS, "28-OCT-2002", "28-OCT-2199"), plausibility("  dates: {max: '2200-12-31'}\n")),
        (),
        args=("check", "--study", "MINI"),
        code=0,
    ),
]


@params(CASES)
def test_hostile_dates(inputs_project, mini_output, case):  # noqa: F811
    check(inputs_project, mini_output, case)
