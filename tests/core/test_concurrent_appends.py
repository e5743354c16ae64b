"""Processes appending to one log at once keep every record each was told was written."""

from __future__ import annotations

import json
import os
from pathlib import Path

from krakenops.core.atomic import append_jsonl

WRITERS = 6
RECORDS = 100
# Longer than a page: a file grows a page at a time during one write, so another appender can
# see a line that is still being written and take it for one a crashed writer left.
PAD = "x" * 6000


def append_records(log: Path, writer: int) -> None:
    for number in range(RECORDS):
        append_jsonl(log, {"writer": writer, "number": number, "pad": PAD})


def test_concurrent_appenders_keep_every_acknowledged_record(tmp_path: Path):
    log = tmp_path / "registry.jsonl"
    children = []
    for writer in range(WRITERS):
        child = os.fork()
        if child == 0:
            failed = 1
            try:
                append_records(log, writer)
                failed = 0
            finally:
                os._exit(failed)
        children.append(child)
    # A writer that exits 0 had every one of its appends acknowledged.
    assert [os.waitpid(child, 0)[1] for child in children] == [0] * WRITERS
    *lines, tail = log.read_bytes().split(b"\n")
    assert tail == b""
    records = sorted((r["writer"], r["number"]) for r in map(json.loads, lines))
    assert records == [(w, n) for w in range(WRITERS) for n in range(RECORDS)]
