"""Servers on loopback for tests and demos: a free port, and waiting until a started server
answers (or failing with the end of its log)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(proc: subprocess.Popen, url: str, log: Path, timeout: float = 150.0,
               path: str = "/health", poll: float = 0.3) -> None:
    """Return once ``GET url+path`` answers 200.

    Raises:
        RuntimeError: the process exited, or ``timeout`` seconds passed; the message holds the
            end of the server's ``log``.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: "
                               f"{log.read_text()[-2000:]}")
        try:
            if httpx.get(url + path, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(poll)
    raise RuntimeError(f"server at {url} not ready within {timeout:.0f} s: "
                       f"{log.read_text()[-2000:]}")


def stop(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """Terminate ``proc`` and wait for it; kill it when it has not exited within ``timeout``."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
