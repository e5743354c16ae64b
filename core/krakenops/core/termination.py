"""SIGTERM ends a command the way an exception does, so that its clean-up code runs."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

__all__ = ["SIGTERM_EXIT", "exit_on_sigterm"]

# 128 + SIGTERM, what a shell reports for a process the signal ended.
SIGTERM_EXIT = 128 + signal.SIGTERM


def exit_on_sigterm() -> None:
    """Make SIGTERM (what Kubernetes sends a Job past its deadline) raise SystemExit.

    By default the signal ends the process at once: staging folders and temporary files would
    stay behind. As an exception it unwinds through every `finally` and `except BaseException`.
    """
    if threading.current_thread() is threading.main_thread():  # only there can Python handle it
        signal.signal(signal.SIGTERM, _raise_exit)


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    print("terminated (SIGTERM): cleaning up", file=sys.stderr)
    raise SystemExit(SIGTERM_EXIT)
