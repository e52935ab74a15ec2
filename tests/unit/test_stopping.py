"""stream.stopping: the first signal interrupts, later ones only hurry the clean-up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from stream.stopping import child_options, stop_on_signals, stop_process, stopping


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_the_first_signal_interrupts_and_a_second_one_only_hurries(sig: signal.Signals) -> None:
    cleaned_up = False
    with pytest.raises(KeyboardInterrupt), stop_on_signals():
        try:
            os.kill(os.getpid(), sig)
            time.sleep(5)  # interrupted before this ends
        finally:
            assert not stopping.hurry.is_set()
            os.kill(os.getpid(), sig)  # while cleaning up: must not raise here
            time.sleep(0.05)
            assert stopping.hurry.is_set()
            cleaned_up = True
    assert cleaned_up
    assert signal.getsignal(sig) is not stopping.handle  # restored afterwards
    assert not stopping.hurry.is_set()


def test_a_signal_after_the_clean_up_began_does_not_interrupt_it() -> None:
    with stop_on_signals():
        stopping.begin()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        assert stopping.hurry.is_set()


def sleeper(*code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "; ".join(code)], **child_options())


def test_stop_process_kills_what_ignores_sigterm_after_the_timeout() -> None:
    proc = sleeper("import signal, time", "signal.signal(signal.SIGTERM, signal.SIG_IGN)",
                   "print('ready', flush=True)", "time.sleep(60)")
    time.sleep(0.5)  # let it install its handler
    began = time.monotonic()
    stop_process(proc, timeout=1.0)
    assert proc.returncode == -signal.SIGKILL
    assert 0.9 <= time.monotonic() - began < 5


def test_hurry_skips_the_wait() -> None:
    proc = sleeper("import signal, time", "signal.signal(signal.SIGTERM, signal.SIG_IGN)",
                   "time.sleep(60)")
    time.sleep(0.5)
    began = time.monotonic()
    with stop_on_signals():
        stopping.begin()
        stopping.hurry.set()
        stop_process(proc, timeout=30.0)
    assert proc.returncode == -signal.SIGKILL
    assert time.monotonic() - began < 5


def test_a_child_dies_with_the_process_that_started_it() -> None:
    # A middle process starts a grandchild with child_options, then is SIGKILLed (no clean-up):
    # the kernel's parent-death signal ends the grandchild.
    middle = subprocess.Popen(
        [sys.executable, "-c",
         "import subprocess, sys, time\n"
         "from stream.stopping import child_options\n"
         "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
         " **child_options())\n"
         "print(p.pid, flush=True)\n"
         "time.sleep(60)\n"],
        stdout=subprocess.PIPE,
    )
    assert middle.stdout is not None
    grandchild = int(middle.stdout.readline())
    middle.kill()
    middle.wait(5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _running(grandchild):
        time.sleep(0.05)
    assert not _running(grandchild)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
