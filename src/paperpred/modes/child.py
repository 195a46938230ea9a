"""Training children that do not outlive their parent.

``paperpred train`` runs LlamaFactory or the GRPO worker as a child process. When the parent
is killed on its own (``kill -9 PID``, the OOM killer) rather than with its process group, the
child used to train on, and a restart ran a second trainer into the same folder. On Linux the
child asks the kernel for SIGTERM when its parent dies (``PR_SET_PDEATHSIG``); elsewhere
nothing changes. Only the direct child is covered: the ``torchrun`` that LlamaFactory starts
for several processes (FORCE_TORCHRUN) is its own child, and outlives a killed parent (kill the
process group, as schedulers do on preemption).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` for :class:`subprocess.Popen` (None where Linux's prctl is missing).
    libc is loaded here, in the parent: the child only calls into it between fork and exec."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    parent = os.getpid()

    def ask_for_sigterm() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: do not start at all
            os._exit(1)

    return ask_for_sigterm
