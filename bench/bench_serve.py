"""Benchmark: ``paperpred serve`` under a bounded load on loopback, with abuse mixed in.

Starts ``paperpred serve --model smollm2-135m-instruct`` (the embedded model, CPU, float32;
``--server-threads`` torch threads) on a free loopback port and sends ``--requests`` (200)
requests built from the first papers of the bundled ICLR 2017 sample (title + a short question),
in a fixed shuffled mix of the shapes paperpred's ``openai`` backend sends:

- ``score_top`` (60 %): label scoring by top log-probabilities (``max_tokens`` 1,
  ``logprobs: true``, ``top_logprobs`` 5, greedy);
- ``score_prefix`` (20 %): exact label scoring (the prompt plus an assistant label,
  ``add_generation_prompt: false``, ``prompt_logprobs`` 0, ``max_tokens`` 1);
- ``generate`` (20 %): a short greedy generation (``max_tokens`` 12).

Two passes over the same requests, on one warm server: one at a time (the baseline), and
``--concurrency`` (16) in flight (httpx AsyncClient). The passes alternate in ``--blocks`` (4)
blocks of the requests, the order swapped every other block, so that load from other processes
on this shared machine falls on both alike. Then the first ``--abuse-requests`` (64) requests
run again, 16 in flight, with the abusive requests of ``ABUSE`` (malformed JSON, wrong types,
huge ``max_tokens``, a 2 MB prompt, a 5 MB body, unsupported features, ...) sent once, spread
over them (a block of its own, so that the timed passes compare like with like). ``/health`` is
polled every 0.5 s during every concurrent block. Recorded: errors (non-200 answers or failed
requests among the valid ones of every block: must be 0), latency p50/p90/p99/max, requests/s of both passes and their ratio, the server process's CPU
seconds per request in each pass (less sensitive to other processes than wall time), whether
each greedy answer under load equals its one-at-a-time answer, how many abusive requests got a
4xx (and none a 5xx or a hang), the health checks' failures and slowest answer, and whether the
server was still alive at the end. Each pass stops at ``--max-seconds`` (requests not finished
by then count as errors). The server runs requests one at a time by design (module docstring of
``paperpred.inference.server``), so the ratio measures what concurrency costs or saves around
one serial model (HTTP and JSON work overlap the model), not batching.
Writes bench/results/serve.json.

    python bench/bench_serve.py [--requests 200] [--concurrency 16] [--blocks 4]
                                [--abuse-requests 64] [--max-seconds 300] [--server-threads 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from paperpred import load_sample
from paperpred.inference.embedded import ensure_embedded_model
from paperpred.testing.servers import free_port, stop, wait_ready

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "serve.json"
CHAT, COMPLETIONS = "/v1/chat/completions", "/v1/completions"
REQUEST_TIMEOUT = 120.0  # seconds: a request slower than this counts as hung
MIX = (("score_top", 0.6), ("score_prefix", 0.2), ("generate", 0.2))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _chat(**fields: Any) -> dict[str, Any]:
    return {"json": {"messages": [{"role": "user", "content": "Accept or Reject?"}],
                     "max_tokens": 1, "temperature": 0.0, **fields}}


def _raw(data: bytes, content_type: str = "application/json") -> dict[str, Any]:
    return {"content": data, "headers": {"content-type": content_type}}


#: (name, method, path, httpx keyword arguments): each must get a 4xx
ABUSE: list[tuple[str, str, str, dict[str, Any]]] = [
    ("malformed_json", "POST", CHAT, _raw(b'{"messages": [')),
    ("body_a_list", "POST", CHAT, {"json": [1, 2]}),
    ("body_a_string", "POST", COMPLETIONS, {"json": "hello"}),
    ("missing_messages", "POST", CHAT, {"json": {"model": "m"}}),
    ("missing_prompt", "POST", COMPLETIONS, {"json": {"model": "m"}}),
    ("messages_a_string", "POST", CHAT, _chat(messages="hello")),
    ("content_an_object", "POST", CHAT, _chat(messages=[{"role": "user", "content": {}}])),
    ("max_tokens_ten", "POST", CHAT, _chat(max_tokens="ten")),
    ("temperature_hot", "POST", CHAT, _chat(temperature="hot")),
    ("max_tokens_1e9", "POST", CHAT, _chat(max_tokens=10**9, temperature=1.0)),
    ("max_tokens_negative", "POST", COMPLETIONS, {"json": {"prompt": "a", "max_tokens": -1}}),
    ("top_logprobs_negative", "POST", CHAT, _chat(logprobs=True, top_logprobs=-1)),
    ("top_logprobs_1e6", "POST", CHAT, _chat(logprobs=True, top_logprobs=10**6)),
    ("top_logprobs_a_string", "POST", CHAT, _chat(logprobs=True, top_logprobs="5")),
    ("logprobs_1e6", "POST", COMPLETIONS, {"json": {"prompt": "a", "logprobs": 10**6}}),
    ("model_an_integer", "POST", CHAT, _chat(model=7)),
    ("empty_prompt", "POST", COMPLETIONS, {"json": {"prompt": "", "max_tokens": 1}}),
    ("prompt_2mb", "POST", COMPLETIONS, {"json": {"prompt": "word " * 400_000}}),
    ("body_5mb", "POST", COMPLETIONS, {"json": {"prompt": "x" * (5 << 20)}}),
    ("not_utf8", "POST", CHAT, _raw(b'{"messages": "\x80\x81"}')),
    ("content_type_text", "POST", CHAT, _raw(b'{"messages": []}', "text/plain")),
    ("get_on_post_route", "GET", CHAT, {}),
    ("unknown_route", "POST", "/v1/embeddings", {"json": {}}),
    ("n_two", "POST", CHAT, _chat(n=2)),
    ("stream", "POST", CHAT, _chat(stream=True)),
    ("tools", "POST", CHAT, _chat(tools=[{"type": "function", "function": {"name": "f"}}])),
    ("image", "POST", CHAT, _chat(messages=[{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}])),
]


def build_requests(n: int, seed: int = 0) -> list[tuple[str, dict[str, Any]]]:
    """``n`` (kind, chat body) pairs in a fixed shuffled order, from the sample's titles."""
    papers = load_sample(strict=False)
    kinds = [kind for kind, share in MIX for _ in range(round(share * n))][:n]
    kinds += ["score_top"] * (n - len(kinds))
    random.Random(seed).shuffle(kinds)
    out = []
    for i, kind in enumerate(kinds):
        question = (f"Title: {papers[i % len(papers)].title}\nWill this paper be accepted at "
                    "ICLR 2017? Answer Accept or Reject.")
        messages = [{"role": "user", "content": question}]
        if kind == "score_top":
            body = {"messages": messages, "max_tokens": 1, "temperature": 0.0,
                    "logprobs": True, "top_logprobs": 5}
        elif kind == "score_prefix":
            label = ("Accept", "Reject")[i % 2]
            body = {"messages": [*messages, {"role": "assistant", "content": label}],
                    "add_generation_prompt": False, "continue_final_message": False,
                    "prompt_logprobs": 0, "max_tokens": 1, "temperature": 0.0}
        else:
            body = {"messages": messages, "max_tokens": 12, "temperature": 0.0}
        out.append((kind, {"model": "smollm2-135m-instruct", **body}))
    return out


def essentials(answer: dict[str, Any]) -> Any:
    """What must not change under load: the text and every log-probability (rounded)."""
    choice = answer["choices"][0]
    steps = (choice.get("logprobs") or {}).get("content") or []
    top = [[(t["token"], round(t["logprob"], 4)) for t in s["top_logprobs"]] for s in steps]
    prompt = [None if e is None else sorted((k, round(v["logprob"], 4)) for k, v in e.items())
              for e in answer.get("prompt_logprobs") or []]
    return choice["message"]["content"], top, prompt


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def summary(latencies: list[float], seconds: float, ok: int) -> dict[str, Any]:
    return {"seconds": round(seconds, 3), "completed_ok": ok,
            "requests_per_s": round(ok / seconds, 3) if seconds else None,
            "latency_ms": {name: round(1000 * percentile(latencies, q), 1)
                           for name, q in (("p50", 50), ("p90", 90), ("p99", 99),
                                           ("max", 100))}}


async def send(client: httpx.AsyncClient, method: str, path: str,
               kwargs: dict[str, Any]) -> tuple[int | str, float, Any]:
    """(HTTP status or the exception's name, seconds, the JSON answer or None)."""
    start = time.perf_counter()
    try:
        response = await client.request(method, path, timeout=REQUEST_TIMEOUT, **kwargs)
    except httpx.HTTPError as exc:
        return type(exc).__name__, time.perf_counter() - start, None
    try:
        body = response.json()
    except ValueError:
        body = None
    return response.status_code, time.perf_counter() - start, body


def server_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def sequential(url: str, block: list[tuple[int, dict[str, Any]]], results: list[Any],
                     deadline: float) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        for i, body in block:
            if time.perf_counter() > deadline:
                return
            results[i] = await send(client, "POST", CHAT, {"json": body})


async def concurrent(url: str, block: list[tuple[int, dict[str, Any]]], results: list[Any],
                     concurrency: int, deadline: float,
                     abuse_cases: list[tuple[str, str, str, dict[str, Any]]],
                     abuse: dict[str, Any], health: list[tuple[int | str, float]]) -> bool:
    """``block`` with ``concurrency`` in flight, ``abuse_cases`` spread over it, /health polled
    every 0.5 s; True when the deadline stopped it."""
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency + 8, max_keepalive_connections=concurrency)
    stop = asyncio.Event()
    finished = [0]
    async with httpx.AsyncClient(base_url=url, limits=limits) as client, \
            httpx.AsyncClient(base_url=url) as side:

        async def one(i: int, body: dict[str, Any]) -> None:
            async with gate:
                results[i] = await send(client, "POST", CHAT, {"json": body})
                finished[0] += 1

        async def misbehave() -> None:
            for j, (name, method, path, kwargs) in enumerate(abuse_cases):
                while finished[0] < j * len(block) / (len(abuse_cases) + 1):  # spread them
                    await asyncio.sleep(0.05)
                status, seconds, body = await send(side, method, path, kwargs)
                message = ((body or {}).get("error") or {}).get("message") \
                    if isinstance(body, dict) else None
                abuse[name] = {"status": status, "seconds": round(seconds, 3),
                               "message": (message or "")[:160]}

        async def poll_health() -> None:
            while not stop.is_set():
                status, seconds, _ = await send(side, "GET", "/health", {})
                health.append((status, seconds))
                await asyncio.sleep(0.5)

        poller = asyncio.create_task(poll_health())
        jobs = [asyncio.create_task(one(i, body)) for i, body in block]
        jobs.append(asyncio.create_task(misbehave()))
        _, pending = await asyncio.wait(jobs, timeout=max(1.0, deadline - time.perf_counter()))
        for job in pending:
            job.cancel()
        stop.set()
        await poller
    return bool(pending)


def tally(requests: list[tuple[str, dict[str, Any]]], results: list[Any], seconds: float,
          cpu: float | None) -> dict[str, Any]:
    ok = [r for r in results if r is not None and r[0] == 200]
    errors: dict[str, int] = {}
    for r in results:
        key = "not finished" if r is None else str(r[0])
        if key != "200":
            errors[key] = errors.get(key, 0) + 1
    entry = summary([r[1] for r in ok], seconds, len(ok))
    entry["errors"] = sum(errors.values())
    entry["errors_by_kind"] = errors
    entry["server_cpu_s"] = None if cpu is None else round(cpu, 2)
    entry["server_cpu_ms_per_request"] = None if cpu is None or not ok \
        else round(1000 * cpu / len(ok), 1)
    entry["by_request_kind_p50_ms"] = {
        kind: round(1000 * percentile([r[1] for (k, _), r in zip(requests, results, strict=True)
                                       if k == kind and r is not None and r[0] == 200], 50), 1)
        for kind, _ in MIX}
    return entry


MODES = ("one_at_a_time", "concurrent", "concurrent_with_abuse")


def run_load(url: str, pid: int, requests: list[tuple[str, dict[str, Any]]], blocks: int,
             concurrency: int, max_seconds: float, abuse_requests: int) -> dict[str, Any]:
    """Both timed passes, interleaved by block (one at a time then concurrent, swapped every
    other block) so that load from other processes falls on both alike; then the first
    ``abuse_requests`` requests again, concurrent, with every abusive request mixed in."""
    results: dict[str, list[Any]] = {mode: [None] * len(requests) for mode in MODES}
    seconds = dict.fromkeys(MODES, 0.0)
    cpu: dict[str, float | None] = dict.fromkeys(MODES, 0.0)
    abuse: dict[str, Any] = {}
    health: list[tuple[int | str, float]] = []
    timed_out = dict.fromkeys(MODES, False)
    deadline = {mode: time.perf_counter() + max_seconds for mode in MODES}
    indexed = [(i, body) for i, (_, body) in enumerate(requests)]
    size = -(-len(indexed) // blocks)
    steps = [(f"block {b + 1}/{blocks}", indexed[b * size:(b + 1) * size], mode)
             for b in range(blocks)
             for mode in ["one_at_a_time", "concurrent"][:: 1 if b % 2 == 0 else -1]]
    steps.append(("abuse block", indexed[:abuse_requests], "concurrent_with_abuse"))
    for name, block, mode in steps:
        cpu_start, start = server_cpu_seconds(pid), time.perf_counter()
        if mode == "one_at_a_time":
            asyncio.run(sequential(url, block, results[mode], deadline[mode]))
        else:
            timed_out[mode] |= asyncio.run(concurrent(
                url, block, results[mode], concurrency, deadline[mode],
                ABUSE if mode == "concurrent_with_abuse" else [], abuse, health))
        seconds[mode] += time.perf_counter() - start
        cpu_end, used = server_cpu_seconds(pid), cpu[mode]
        cpu[mode] = None if used is None or cpu_start is None or cpu_end is None \
            else used + cpu_end - cpu_start
        log(f"  {name} {mode}: {time.perf_counter() - start:.1f} s "
            f"(load {os.getloadavg()[0]:.2f})")
    return {"results": results, "seconds": seconds, "cpu": cpu, "abuse": abuse,
            "health": health, "timed_out": timed_out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--blocks", type=int, default=4,
                        help="the passes alternate in this many blocks of requests")
    parser.add_argument("--max-seconds", type=float, default=300.0,
                        help="time limit of each pass; unfinished requests count as errors")
    parser.add_argument("--abuse-requests", type=int, default=64,
                        help="valid requests of the final concurrent block with the abuse set")
    parser.add_argument("--server-threads", type=int, default=1,
                        help="torch threads of the server (OMP_NUM_THREADS)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    when = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    load_start = os.getloadavg()
    model_path = ensure_embedded_model()
    requests = build_requests(args.requests)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "OMP_NUM_THREADS": str(args.server_threads)}
    with tempfile.TemporaryDirectory(prefix="paperpred-bench-serve-") as tmp:
        server_log = Path(tmp) / "server.log"
        with open(server_log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "paperpred", "serve", "--model", "smollm2-135m-instruct",
                 "--host", "127.0.0.1", "--port", str(port)],
                stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            start = time.perf_counter()
            wait_ready(proc, url, server_log, timeout=180)
            startup_s = time.perf_counter() - start
            log(f"server up in {startup_s:.1f} s at {url}")
            for _, body in requests[:5]:  # warm-up
                httpx.post(url + CHAT, json=body, timeout=REQUEST_TIMEOUT).raise_for_status()

            log(f"{len(requests)} requests one at a time and {args.concurrency} in flight "
                f"({len(ABUSE)} abusive requests mixed in), interleaved in {args.blocks} blocks")
            load = run_load(url, proc.pid, requests, args.blocks, args.concurrency,
                            args.max_seconds, args.abuse_requests)
            alive = proc.poll() is None
            health_after = httpx.get(url + "/health", timeout=30).status_code if alive else None
            final = httpx.post(url + CHAT, json=requests[0][1], timeout=REQUEST_TIMEOUT) \
                if alive else None
        finally:
            stop(proc, timeout=15)
        server_tail = server_log.read_text()[-3000:]

    n_abuse = min(args.abuse_requests, len(requests))
    sequential_entry, concurrent_entry, abuse_entry = (
        tally(requests[:n], load["results"][mode][:n], load["seconds"][mode], load["cpu"][mode])
        for mode, n in zip(MODES, (len(requests), len(requests), n_abuse), strict=True))
    for mode, entry in zip(MODES, (sequential_entry, concurrent_entry, abuse_entry),
                           strict=True):
        entry["timed_out"] = load["timed_out"][mode]
    same = differ = 0
    baseline = load["results"]["one_at_a_time"]
    for other in (load["results"]["concurrent"], load["results"]["concurrent_with_abuse"]):
        for a, b in zip(baseline, other, strict=True):
            if a is not None and b is not None and a[0] == b[0] == 200:
                if essentials(a[2]) == essentials(b[2]):
                    same += 1
                else:
                    differ += 1
    abuse = load["abuse"]
    statuses: dict[str, int] = {}
    for entry in abuse.values():
        statuses[str(entry["status"])] = statuses.get(str(entry["status"]), 0) + 1
    health = load["health"]
    seq_rps, par_rps = sequential_entry["requests_per_s"], concurrent_entry["requests_per_s"]
    result = {
        "what": "paperpred serve (embedded SmolLM2-135M-Instruct, CPU float32) on loopback: "
                f"{len(requests)} chat requests one at a time and {args.concurrency} in "
                f"flight (interleaved in {args.blocks} blocks), then {n_abuse} of them again "
                f"{args.concurrency} in flight with {len(ABUSE)} abusive requests mixed in",
        "when": when,
        "requests": len(requests),
        "mix": {kind: sum(k == kind for k, _ in requests) for kind, _ in MIX},
        "concurrency": args.concurrency,
        "blocks": args.blocks,
        "max_seconds_per_pass": args.max_seconds,
        "server_threads": args.server_threads,
        "server_startup_s": round(startup_s, 2),
        "errors": sequential_entry["errors"] + concurrent_entry["errors"]
        + abuse_entry["errors"],
        "one_at_a_time": sequential_entry,
        "concurrent": concurrent_entry,
        "concurrent_with_abuse": abuse_entry,
        "ratios_concurrent_over_one_at_a_time": {
            "requests_per_s": round(par_rps / seq_rps, 3) if seq_rps and par_rps else None,
            "latency_p50": round(concurrent_entry["latency_ms"]["p50"]
                                 / sequential_entry["latency_ms"]["p50"], 2),
            "server_cpu_per_request": round(concurrent_entry["server_cpu_ms_per_request"]
                                            / sequential_entry["server_cpu_ms_per_request"], 3)
            if concurrent_entry["server_cpu_ms_per_request"]
            and sequential_entry["server_cpu_ms_per_request"] else None,
        },
        "answers_under_load_equal_one_at_a_time": {"same": same, "different": differ},
        "abuse_during_load": {
            "sent": len(ABUSE), "answered": len(abuse),
            "refused_4xx": sum(isinstance(e["status"], int) and 400 <= e["status"] < 500
                               for e in abuse.values()),
            "server_errors_5xx": sum(isinstance(e["status"], int) and e["status"] >= 500
                                     for e in abuse.values()),
            "failed_or_hung": sum(not isinstance(e["status"], int) for e in abuse.values()),
            "by_status": statuses,
            "cases": abuse,
        },
        "health_during_load": {
            "checks": len(health),
            "failures": sum(status != 200 for status, _ in health),
            "max_ms": round(1000 * max((s for _, s in health), default=float("nan")), 1),
        },
        "server_alive_after": alive,
        "health_after": health_after,
        "valid_request_after": None if final is None else final.status_code,
        "server_log_has_traceback": "Traceback" in server_tail,
        "load_1min_start_end": [round(load_start[0], 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "httpx": httpx.__version__,
        "model": str(model_path),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    log(json.dumps({k: result[k] for k in ("errors", "ratios_concurrent_over_one_at_a_time",
                                           "answers_under_load_equal_one_at_a_time")}))
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
