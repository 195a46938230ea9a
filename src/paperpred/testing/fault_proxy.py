"""A misbehaving reverse proxy on loopback, for testing clients of OpenAI-compatible servers.

:class:`FaultProxy` listens on ``127.0.0.1``, forwards every request to a real upstream server
(e.g. ``paperpred serve``) and, on a deterministic schedule, answers a POST with a fault
instead. POSTs are numbered from 1 in the order they arrive; the schedule maps a number to a
fault kind or ``None`` (forward untouched): :func:`at` (faults at given numbers),
:func:`pattern` (a repeating pattern), :func:`fail_after` (every POST after the first n),
:func:`kill_at`, or any function of the number. The kinds (:data:`FAULT_KINDS`):

- ``"429"``: HTTP 429 with ``Retry-After: <retry_after>`` (whole seconds), not forwarded;
- ``"500"``, ``"503"``: that status with a JSON error body, not forwarded;
- ``"slow"``: no answer until the client gives up (closes the connection) or ``slow_seconds``
  pass; a client still waiting then gets the upstream's real answer, late;
- ``"truncated"``: the upstream's real answer, status 200 with valid headers, but its body cut
  in half (``Content-Length`` says the cut length: the HTTP exchange is complete, the JSON is
  not);
- ``"cut"``: the upstream's real answer with its full ``Content-Length``, the connection closed
  halfway through the body;
- ``"drop"``: the connection closed without any answer;
- ``"kill"``: the proxy stops itself (the endpoint dies mid-run): this request's connection and
  every other one are closed without an answer, and the port is closed.

The proxy counts requests, faults injected by kind and answers relayed intact, and keeps an
event per POST (number, kind, arrival time on ``time.monotonic()``), so a test can check when a
client came back after a fault. It speaks HTTP/1.1 with keep-alive, as real servers do.

Example::

    with FaultProxy(upstream_url, schedule=pattern("F..", ["503", "drop"])) as proxy:
        ...  # point a client at proxy.url
    print(proxy.faults, proxy.forwarded)
"""

from __future__ import annotations

import json
import select
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

FAULT_KINDS = ("429", "500", "503", "slow", "truncated", "cut", "drop")
#: A schedule: the fault kind for POST number ``n`` (1-based), or None to forward it.
Schedule = Callable[[int], str | None]
_HOP_HEADERS = ("content-type", "authorization", "accept")


def no_faults(number: int) -> str | None:
    """The schedule that forwards everything."""
    return None


def at(faults: Mapping[int, str]) -> Schedule:
    """Exactly the faults given, by POST number, e.g. ``at({2: "429", 5: "drop"})``."""
    table = dict(faults)
    return table.get


def pattern(slots: str, kinds: Sequence[str]) -> Schedule:
    """A repeating pattern of ``"F"`` (a fault) and ``"."`` (forward) slots, e.g. ``"FF.F."``;
    the faults take ``kinds`` in turn."""
    if not slots or set(slots) - {"F", "."} or not kinds:
        raise ValueError("pattern needs slots of 'F' and '.' and at least one kind")
    before = [slots[:i].count("F") for i in range(len(slots))]
    per_round = slots.count("F")

    def schedule(number: int) -> str | None:
        rounds, pos = divmod(number - 1, len(slots))
        if slots[pos] != "F":
            return None
        return kinds[(rounds * per_round + before[pos]) % len(kinds)]

    return schedule


def fail_after(count: int, kind: str = "503") -> Schedule:
    """Forward the first ``count`` POSTs, then answer ``kind`` to every later one."""
    return lambda number: kind if number > count else None


def kill_at(number: int, then: Schedule = no_faults) -> Schedule:
    """``then``'s faults, and ``"kill"`` at POST ``number``."""
    return lambda n: "kill" if n == number else then(n)


@dataclass(frozen=True)
class Event:
    """One POST the proxy received: its number, what it did (``"ok"`` or a fault kind), when it
    arrived (``time.monotonic()``) and its path."""

    number: int
    kind: str
    arrived: float
    path: str


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: FaultProxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connections the proxy or the client broke are expected here: quiet about those."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.proxy._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        self.server.proxy._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        """No access log."""

    def do_GET(self) -> None:
        self._relay(self.server.proxy._forward("GET", self.path, None, self.headers))

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        proxy = self.server.proxy
        kind = proxy._admit(self.path)
        if kind == "kill":
            self.close_connection = True
            proxy.stop()
            return
        if kind in ("429", "500", "503"):
            status = int(kind)
            error = {"error": {"message": f"fault injected by the proxy: HTTP {status}",
                               "type": "fault_proxy", "code": status}}
            extra = {"Retry-After": str(proxy.retry_after)} if status == 429 else {}
            self._send(status, json.dumps(error).encode(), "application/json", extra)
            return
        if kind == "drop":
            self._hang_up()
            return
        if kind == "slow" and not self._client_stays(proxy.slow_seconds):
            self._hang_up()
            return
        answer = proxy._forward("POST", self.path, body, self.headers)
        if kind in ("truncated", "cut"):
            status, content_type, data = answer
            half = data[: len(data) // 2]
            if kind == "truncated":
                self._send(status, half, content_type)
            else:
                self._send(status, half, content_type, length=len(data))
                self._hang_up()
            return
        if kind is None:
            proxy._count_forwarded()
        self._relay(answer)

    # -- answers --------------------------------------------------------------------------
    def _relay(self, answer: tuple[int, str, bytes]) -> None:
        status, content_type, data = answer
        self._send(status, data, content_type)

    def _send(self, status: int, data: bytes, content_type: str,
              extra: dict[str, str] | None = None, length: int | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data) if length is None else length))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the client or stop() closed the connection
            self.close_connection = True

    def _hang_up(self) -> None:
        """Close this connection at once, without (the rest of) an answer."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _client_stays(self, seconds: float) -> bool:
        """Wait up to ``seconds``: False as soon as the client closes its end (or the proxy
        stops), True when it is still waiting after them."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.server.proxy.stopped:
                return False
            readable, _, _ = select.select([self.connection], [], [], min(left, 0.05))
            if readable:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        return False
                except OSError:
                    return False
                time.sleep(min(left, 0.05))  # data, not a close: keep waiting
        return True


class FaultProxy:
    """A reverse proxy to ``upstream`` that injects faults on ``schedule`` (module docstring).

    Args:
        upstream: the real server's base URL, e.g. ``"http://127.0.0.1:8000"``.
        schedule: POST number (1-based) -> fault kind or None; may be replaced while running
            (``proxy.schedule = ...``).
        port: the port to listen on (0: a free one).
        retry_after: the ``Retry-After`` seconds of a 429.
        slow_seconds: how long a ``"slow"`` answer is held back at most.

    Attributes:
        url: ``http://127.0.0.1:<port>``.
        requests: POSTs received.
        faults: faults injected, by kind.
        forwarded: POSTs answered with the upstream's answer, intact and on time.
        events: one :class:`Event` per POST, in arrival order.
    """

    def __init__(self, upstream: str, schedule: Schedule = no_faults, port: int = 0,
                 retry_after: int = 1, slow_seconds: float = 30.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.schedule = schedule
        self.retry_after, self.slow_seconds = retry_after, slow_seconds
        self.requests, self.forwarded = 0, 0
        self.faults: Counter[str] = Counter()
        self.events: list[Event] = []
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._stopped = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(300.0))
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.proxy = self
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={
            "poll_interval": 0.05}, name=f"fault-proxy-{self.port}", daemon=True)

    def start(self) -> FaultProxy:
        """Start serving (in a daemon thread); returns self."""
        self._thread.start()
        return self

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` was called (or a ``"kill"`` fault ran)."""
        return self._stopped.is_set()

    def stop(self) -> None:
        """Stop as a killed server would: close the port and every open connection, answers
        in flight included. Safe to call twice, and from a request's own thread."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stats(self) -> dict[str, Any]:
        """The counters as plain data: requests, forwarded, faults by kind, stopped."""
        with self._lock:
            return {"requests": self.requests, "forwarded": self.forwarded,
                    "faults": dict(sorted(self.faults.items())), "stopped": self.stopped}

    # -- used by the handler ----------------------------------------------------------------
    def _admit(self, path: str) -> str | None:
        """Number a POST, look up its fault and record it."""
        with self._lock:
            self.requests += 1
            number = self.requests
            kind = self.schedule(number)
            if kind is not None:
                if kind not in FAULT_KINDS and kind != "kill":
                    raise ValueError(f"unknown fault kind {kind!r}: use {FAULT_KINDS} or 'kill'")
                self.faults[kind] += 1
            self.events.append(Event(number, kind or "ok", time.monotonic(), path))
        return kind

    def _count_forwarded(self) -> None:
        with self._lock:
            self.forwarded += 1

    def _track(self, connection: socket.socket, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _forward(self, method: str, path: str, body: bytes | None,
                 headers: Any) -> tuple[int, str, bytes]:
        """The upstream's answer (status, content type, body); 502 when it cannot be had."""
        sent = {k: v for k, v in headers.items() if k.lower() in _HOP_HEADERS}
        try:
            response = self._client.request(method, self.upstream + path, content=body,
                                            headers=sent)
        except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: stop() closed it
            error = {"error": {"message": f"upstream {self.upstream}: {exc}", "code": 502}}
            return 502, "application/json", json.dumps(error).encode()
        return (response.status_code, response.headers.get("content-type", "application/json"),
                response.content)
