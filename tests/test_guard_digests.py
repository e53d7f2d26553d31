"""Digests taken while writing (guard.recording, guard.hashed_file): the manifest reuses the sha256 of the
bytes a writer wrote instead of reading the file again, only while the file on disk is what was written."""

from __future__ import annotations

import hashlib
import os

import pytest

from sdtmify import guard
from sdtmify.guard import Known, digests, hashed_file, recording


def _identity(path) -> tuple[int, int]:
    state = os.stat(path)
    return state.st_dev, state.st_ino


def test_digest_taken_while_writing_is_the_sha256_of_the_file_on_disk(tmp_path, monkeypatch):
    target = tmp_path / "lb.ndjson"
    known: Known = {}
    with recording(known), hashed_file(target) as handle:
        handle.write(b'{"name":"LB"}\n')
        handle.write(memoryview(bytearray(b"[1,2]\n" * 3)).cast("B"))
    data = target.read_bytes()
    assert data == b'{"name":"LB"}\n' + b"[1,2]\n" * 3
    state = os.stat(target)
    assert known == {_identity(target): (len(data), state.st_mtime_ns, hashlib.sha256(data).hexdigest())}
    # reused, not read again (guard.sha256 would fail), while the file is unchanged
    monkeypatch.setattr(guard, "sha256", lambda path: pytest.fail(f"{path} read again"))
    assert digests([target], known) == known


def test_a_file_changed_after_writing_is_read_and_hashed_again(tmp_path):
    target = tmp_path / "lb.csv"
    known: Known = {}
    with recording(known), hashed_file(target) as handle:
        handle.write(b"USUBJID,SRCROW\n")
    with open(target, "ab") as handle:
        handle.write(b"A,1\n")
    os.utime(target, ns=(0, 0))  # whatever the clock's resolution, the file's state is not the one recorded
    assert digests([target], known)[_identity(target)][2] == hashlib.sha256(b"USUBJID,SRCROW\nA,1\n").hexdigest()


def test_nothing_is_recorded_outside_a_recording_block_or_for_a_failed_write(tmp_path):
    known: Known = {}
    with hashed_file(tmp_path / "ae.xpt") as handle:
        handle.write(b"HEADER")
    assert (tmp_path / "ae.xpt").read_bytes() == b"HEADER"
    with pytest.raises(ValueError), recording(known), hashed_file(tmp_path / "dm.xpt") as handle:
        handle.write(b"HALF")
        raise ValueError("conversion failed")
    assert known == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ae.xpt"]
