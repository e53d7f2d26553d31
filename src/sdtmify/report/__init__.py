"""A publication's results recomputed from ADaM XPT files: tables, statistics, figures, comparison.

A study declares what to recompute in ``mappings/<STUDY>/report.yaml``; this package is a small,
study-agnostic vocabulary of subject-level values, table builders, statistics and figures."""
