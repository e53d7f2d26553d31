"""Fixtures of the hostile-input corpus (see harness.py)."""

from harness import project, project_template  # noqa: F401
