"""The C library's memory allocator, tuned for a process that makes and drops many large columns.

A build makes and drops millions-of-records columns all the time (a float column of 4 million LB records is
32 MB). glibc's ``malloc`` serves a block above its mmap threshold (dynamic, at most 32 MB on 64-bit
Linux) with a fresh ``mmap`` and gives it back to the kernel when it is freed, so the next column of the
same size costs a page fault per 4 KB page again; below the threshold a freed block is reused. At 10,000
subjects the build spent a measurable part of its CPU in the kernel handing out those pages, and from
10,000 to 20,000 subjects (columns above 32 MB) that kernel time grew 3-9x per stage
(benchmarks/README.md, "Map, derive and adam at 10,000 and 20,000 subjects").

:func:`keep_freed_memory` asks glibc to serve every block from its heap (``M_MMAP_MAX`` 0) and to keep up
to 256 MB free at the heap's top (``M_TRIM_THRESHOLD``) instead of returning it at once, so freed columns
are reused without new page faults. The cost is memory the process keeps after freeing it: the peak grew
by about 10 % at 10,000 subjects. The outputs do not change. ``SDTMIFY_ALLOCATOR=default`` leaves glibc
as it is, and a user who sets glibc's own variables (``MALLOC_MMAP_MAX_``, ``MALLOC_TRIM_THRESHOLD_``,
which also switch off glibc's moving threshold) keeps them. On another C library (macOS, musl) nothing is
changed."""

from __future__ import annotations

import contextlib
import os
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_MAX = -4
KEPT_AT_TOP = 256 * 1024 * 1024
USER_SETTINGS = ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_")
ENVIRONMENT = "SDTMIFY_ALLOCATOR"  # "default": leave glibc's malloc as it is


def keep_freed_memory() -> bool:
    """Tune glibc's malloc as the module docstring says; True when it was, False when the C library is not
    glibc, $SDTMIFY_ALLOCATOR is ``default``, or the user set glibc's variables (theirs stand)."""
    if os.environ.get(ENVIRONMENT, "").strip().lower() == "default":
        return False
    if not sys.platform.startswith("linux") or any(name in os.environ for name in USER_SETTINGS):
        return False
    with contextlib.suppress(ValueError, OSError):
        if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
            return False
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, KEPT_AT_TOP))


__all__ = ["keep_freed_memory"]
