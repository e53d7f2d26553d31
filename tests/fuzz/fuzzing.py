"""What every fuzz target asserts, and how many examples it runs.

A reader given any bytes either returns a value or raises an :class:`~sdtmify.errors.SdtmifyError` whose
message starts with the file it was reading; any other exception (IndexError, UnicodeDecodeError,
a pyreadstat or zipfile error, RecursionError, MemoryError) is a bug. The default run uses a few dozen
examples per target; ``pytest tests/fuzz --hypothesis-profile fuzz`` runs 10,000 (tests/conftest.py)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings

from sdtmify.errors import SdtmifyError

FUZZING = settings.default.max_examples >= settings.get_profile("fuzz").max_examples
EXAMPLES = settings.default.max_examples if FUZZING else 40
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    database=None,
)

_FOLDER = Path(tempfile.mkdtemp(prefix="sdtmify-fuzz-"))


def scratch(name: str, data: bytes) -> Path:
    """``data`` written to a file of that name in a scratch folder (reused: one file per target)."""
    path = _FOLDER / name
    path.write_bytes(data)
    return path


def located(error: SdtmifyError, path: Path) -> None:
    """The error names the file it was reading (the message starts with its location)."""
    text = str(error)
    assert text.startswith(str(path)) or str(path) in text or os.path.basename(path) in text, text
    assert "Traceback" not in text
