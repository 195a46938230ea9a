"""Run in the main environment (.venv: LlamaFactory, transformers 4.57) by
test_vllm_lora.py: train a LoRA SFT adapter with ``paperpred train`` (the CPU config, 6 steps
at twice its learning rate: the adapter moves the scores by several log-odds without diverging;
at 10x it diverged to scores near -90, and vLLM and transformers then differed by 2e-5 in one
run and by 0.17 in another),
then score a few bundled papers with the transformers backend in float32, with and without the
adapter. Writes a JSON file: the adapter folder, the chat messages, the candidates and both
sets of scores.

    .venv/bin/python tests/engine_vllm/adapter_in_main_env.py OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from paperpred import get_input_formatter, get_output_handler, load_sample
from paperpred.inference.base import ChatRequest
from paperpred.inference.transformers_backend import TransformersBackend
from paperpred.modes.run_folder import adapter_dir
from paperpred.runs import TrainRun, load_config, train_into_run

ROOT = Path(__file__).resolve().parents[2]
N_PAPERS = 6


def main(out: Path) -> None:
    config = load_config(TrainRun, ROOT / "configs" / "train_sft_cpu.yaml", {
        "limit": 40, "max_steps": 6, "learning_rate": 1e-3, "output_dir": str(out / "run"),
        "test_size": 0.0})
    result = train_into_run(config)
    adapter = adapter_dir(result.run_dir)
    formatter = get_input_formatter(config.input, **config.input_kwargs)
    handler = get_output_handler(config.output)
    candidates = handler.candidate_texts()
    requests = [ChatRequest(formatter.build(p, handler.get_instruction()).messages)
                for p in load_sample()[:N_PAPERS]]
    scores = {}
    for name, path in (("base", None), ("adapter", str(adapter))):
        backend = TransformersBackend("smollm2-135m-instruct", adapter_path=path,
                                      dtype="float32", batch_size=8)
        scores[name] = backend.score(requests, candidates)
        backend.close()
    (out / "adapter.json").write_text(json.dumps({
        "adapter": str(adapter), "messages": [r.messages for r in requests],
        "candidates": candidates, "scores": scores}, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
