"""Crash-safe file writes: whole-file replace by rename, and whole-line appends to JSONL logs."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "TMP_SUFFIX",
    "TornRecordError",
    "append_jsonl",
    "exclusive_lock",
    "fsync_dir",
    "read_jsonl",
    "read_jsonl_lines",
    "write_atomic",
]


# What a temporary file of write_atomic ends in, so a sweep can tell one from anything else.
TMP_SUFFIX = ".krakenops-tmp"


class TornRecordError(ValueError):
    """A JSONL line in the middle of a log does not parse: the log was edited or corrupted."""


def fsync_dir(directory: Path) -> None:
    """Make a rename or create inside `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a reader (or a crash) sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Every container is PID 1 and the claim is shared between hosts: only a random name is
    # this writer's own. O_EXCL refuses, rather than shares, a name that exists all the same.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}{TMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    """Append one record as one line with one write, then fsync; a torn tail is cut off first."""
    line = (json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        # Every appender takes its turn on the log itself: a line another process is writing
        # looks torn until it ends, and a dead writer's lock dies with it, so under the lock an
        # unterminated tail is one a crash left.
        fcntl.flock(fd, fcntl.LOCK_EX)
        _cut_torn_tail(fd)
        # One write call: a killed process leaves the line whole or absent, never half.
        _write_all(fd, line)
        os.fsync(fd)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    if created:
        fsync_dir(path.parent)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield every complete record; an unterminated last line (a write cut short) is skipped."""
    for _, record in read_jsonl_lines(path):
        yield record


def read_jsonl_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """Every complete record with its line number, for errors that must say where to look."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    lines = data.split(b"\n")
    # The last element is empty when the file ends in a newline, and a torn record otherwise.
    for number, line in enumerate(lines[:-1], start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as error:  # bad JSON, or bytes that are not UTF-8 at all
            reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
            raise TornRecordError(f"{path}:{number}: unreadable record: {reason}") from None
        yield number, record


def _cut_torn_tail(fd: int) -> None:
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return
    if os.pread(fd, 1, size - 1) == b"\n":
        return
    # Walk back to the last newline; what follows was never acknowledged to anyone.
    position = size
    while position > 0:
        start = max(0, position - 4096)
        chunk = os.pread(fd, position - start, start)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            os.ftruncate(fd, start + cut + 1)
            return
        position = start
    os.ftruncate(fd, 0)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an advisory lock on `path` so that two writers of the same pointer take turns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
