"""Whole-file replaces: writers sharing a process id (every container is PID 1) never share a file."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from krakenops.core.atomic import TMP_SUFFIX, write_atomic


def test_writers_with_the_same_process_id_never_tear_or_lose_each_others_replace(tmp_path: Path):
    # Threads share one process id, as two Jobs' PID 1 containers do on a shared claim.
    target = tmp_path / "model_x.json"
    payloads = {w: json.dumps({"writer": w, "pad": "x" * 50_000}).encode() for w in range(6)}
    errors: list[BaseException] = []
    seen: list[bytes] = []
    stop = threading.Event()

    def write(writer: int) -> None:
        try:
            for _ in range(40):
                write_atomic(target, payloads[writer])
        except BaseException as error:
            errors.append(error)

    def read() -> None:
        while not stop.is_set():
            if target.exists():
                seen.append(target.read_bytes())

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(w,)) for w in payloads]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    reader.join()
    assert errors == []
    assert all(data in payloads.values() for data in seen), "a read saw a torn or mixed file"
    assert target.read_bytes() in payloads.values()
    assert not list(tmp_path.glob(f"*{TMP_SUFFIX}")), "no temporary file is left behind"
