"""Fixed timestamps so that the same inputs give byte-identical outputs."""

from __future__ import annotations

import datetime as dt
import os

DEFAULT_TIMESTAMP = dt.datetime(2026, 1, 1, 0, 0, 0)


def build_timestamp(configured: str | dt.datetime | None = None) -> dt.datetime:
    """The datetime stamped into outputs (XPT headers, define.xml CreationDateTime, reports).

    Order: $SOURCE_DATE_EPOCH (reproducible-builds convention, UTC), then the study config's
    ``output.timestamp``, then a fixed default. Never the wall clock."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).replace(tzinfo=None)
    if isinstance(configured, dt.datetime):
        return configured.replace(tzinfo=None, microsecond=0)
    if isinstance(configured, dt.date):
        return dt.datetime(configured.year, configured.month, configured.day)
    if configured:
        return dt.datetime.fromisoformat(str(configured)).replace(tzinfo=None, microsecond=0)
    return DEFAULT_TIMESTAMP
