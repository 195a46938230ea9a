"""A training child started with die_with_parent stops when its parent is SIGKILLed alone
(as the OOM killer does), instead of training on beside the next run."""

import os
import signal
import subprocess
import sys
import time

import pytest

CHILD = ("import subprocess, sys, time; from paperpred.modes.child import die_with_parent; "
         "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], "
         "preexec_fn={preexec}); print(p.pid, flush=True); time.sleep(60)")


def _state_after_parent_killed(preexec: str) -> str:
    parent = subprocess.Popen([sys.executable, "-c", CHILD.format(preexec=preexec)],
                              stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    time.sleep(1.0)
    try:
        with open(f"/proc/{child}/status") as status:
            state = next(line for line in status if line.startswith("State:")).split()[1]
    except FileNotFoundError:
        return "gone"
    if state != "Z":
        os.kill(child, signal.SIGKILL)
    return state


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_child_dies_with_its_parent():
    assert _state_after_parent_killed("die_with_parent()") in ("gone", "Z")  # Z: not reaped
    assert _state_after_parent_killed("None") == "S"  # without it: an orphan sleeping on
