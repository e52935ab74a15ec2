"""How a foreground command that starts processes stops them all (demo, benchmarks, tests).

Ctrl-C (SIGINT), SIGTERM (`kill`, `timeout`) and SIGHUP (the terminal was closed) all stop it the
same way: the first one raises KeyboardInterrupt in the main thread so every `finally` runs and
stops its children; any further signal while it is stopping does not interrupt that clean-up
(a second Ctrl-C used to abort it half-way and leave the broker or Redis running), it only makes
it hurry: children still running are killed instead of waited for.

As a last resort for a parent that is SIGKILLed, children started from the main thread get
SIGTERM from the kernel when it dies (Linux `PR_SET_PDEATHSIG`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1


class Stopping:
    """The process-wide stop state; `begin()` marks the start of clean-up."""

    def __init__(self) -> None:
        self.signalled: int | None = None
        self.cleaning = False
        self.hurry = threading.Event()

    def begin(self) -> None:
        self.cleaning = True

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signalled is None and not self.cleaning:
            self.signalled = signum
            self.cleaning = True
            raise KeyboardInterrupt
        self.hurry.set()


stopping = Stopping()


@contextlib.contextmanager
def stop_on_signals() -> Iterator[Stopping]:
    """Within: SIGINT, SIGTERM and SIGHUP stop the command cleanly (see the module doc)."""
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    for sig in SIGNALS:
        signal.signal(sig, stopping.handle)
    try:
        yield stopping
    finally:
        stopping.begin()  # a signal from here on hurries, never interrupts
        # The caller's clean-up is done; restore and forget (tests run several in one process).
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stopping.signalled, stopping.cleaning = None, False
        stopping.hurry.clear()


def _prctl() -> Callable[..., int] | None:
    try:
        function: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return function


# Looked up here, not in the child: between fork and exec only the call itself is safe.
_PRCTL = _prctl() if sys.platform == "linux" else None


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGTERM))


def child_options() -> dict[str, Any]:
    """Popen keyword arguments for a child that must not outlive us.

    Its own session (a Ctrl-C in the terminal reaches only us, and we stop it in order), and on
    Linux the parent-death signal. That signal fires when the *thread* that started the child
    ends, so it is only set for children started from the main thread.
    """
    options: dict[str, Any] = {"start_new_session": True}
    if _PRCTL is not None and threading.current_thread() is threading.main_thread():
        preexec: Callable[[], None] = _die_with_parent
        options["preexec_fn"] = preexec
    return options


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 5.0) -> None:
    """SIGTERM, wait up to `timeout` (less if a second signal asks to hurry), then SIGKILL.

    The kill goes to the child's process group when it leads one (`child_options`), so what
    it started itself goes with it.
    """
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline and not stopping.hurry.is_set():
        time.sleep(0.05)
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            if os.getpgid(proc.pid) == proc.pid:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        proc.wait(10)
