"""allocator.keep_freed_memory: after it, a column larger than glibc's mmap threshold is served from the
heap (and so reused once freed), not from a mapping of its own that the kernel fills page by page; the
user's own glibc settings stand. Each case runs in a fresh interpreter: the setting is process-wide."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"),
    reason="the allocator setting is glibc's",
)

PROBE = """
import sys
import numpy as np
from sdtmify.allocator import keep_freed_memory

tuned = keep_freed_memory() if sys.argv[1] == "tune" else None
column = np.ones(10_000_000)  # 80 MB: above glibc's largest mmap threshold (32 MB)
address = column.ctypes.data
for line in open("/proc/self/maps"):
    fields = line.split()
    low, high = (int(x, 16) for x in fields[0].split("-"))
    if low <= address < high:
        print(tuned, fields[5] if len(fields) > 5 else "anonymous")
"""


def _probe(mode: str, **environ: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | environ
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip()


def test_a_large_column_comes_from_the_heap_once_tuned():
    assert _probe("plain") == "None anonymous"
    assert _probe("tune") == "True [heap]"


def test_the_users_glibc_settings_stand():
    assert _probe("tune", MALLOC_MMAP_MAX_="65536") == "False anonymous"
    assert _probe("tune", MALLOC_TRIM_THRESHOLD_="131072") == "False anonymous"
    assert _probe("tune", SDTMIFY_ALLOCATOR="default") == "False anonymous"
