"""Merge a PEFT LoRA adapter into a copy of its base model's weights: ``W + B @ A * scale``
for every adapted linear layer, without peft (the vLLM environment has none).

Why: vLLM's LoRA layers cannot compute prompt log-probabilities on its CPU build (its LoRA
logits processor indexes the sampled rows only: ``einsum(): subscript b has size 12 ... 154``,
vLLM issues #16668 and #29955), and label scoring needs exactly those. A merged copy is the
adapter's exact function (up to float rounding) and works with every engine feature.

Supported: plain LoRA (``peft_type`` LORA) on linear layers, ``lora_alpha / r`` or rsLoRA
scaling, per-module ``rank_pattern`` / ``alpha_pattern``, single-file or sharded safetensors
checkpoints. Refused with a clear error: DoRA, ``modules_to_save``, bias training, fan-in/
fan-out weights, other PEFT methods.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path
from typing import Any

from paperpred.errors import ModelNotAvailableError

PREFIX = "base_model.model."


def _scale(config: dict[str, Any], module: str) -> float:
    rank = next((int(r) for k, r in (config.get("rank_pattern") or {}).items()
                 if module.endswith(k)), int(config["r"]))
    alpha = next((float(a) for k, a in (config.get("alpha_pattern") or {}).items()
                  if module.endswith(k)), float(config.get("lora_alpha", rank)))
    return alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank


def check_adapter(config: dict[str, Any], where: Path) -> None:
    """Raise when the adapter uses something :func:`merge_lora` does not do."""
    problems = []
    if config.get("peft_type", "LORA") != "LORA":
        problems.append(f"peft_type {config.get('peft_type')!r} (only LORA)")
    if config.get("use_dora"):
        problems.append("DoRA")
    if config.get("modules_to_save"):
        problems.append(f"modules_to_save {config['modules_to_save']}")
    if config.get("bias", "none") != "none" or config.get("lora_bias"):
        problems.append("trained biases")
    if config.get("fan_in_fan_out"):
        problems.append("fan_in_fan_out weights")
    if problems:
        raise ModelNotAvailableError(f"{where}: cannot merge this adapter ({'; '.join(problems)}"
                                     "); use merge_adapter=False (vLLM's LoRARequest)")


def merged_dir(base: str | Path, adapter: str | Path, cache: Path) -> Path:
    """Where the merged copy of ``base`` + ``adapter`` lives: named by both folders' paths
    and the adapter weights' size and time, so a retrained adapter gets a new copy."""
    weights = Path(adapter) / "adapter_model.safetensors"
    stat = weights.stat()
    key = f"{Path(base).resolve()}|{Path(adapter).resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return cache / hashlib.sha256(key.encode()).hexdigest()[:16]


def merge_lora(base: str | Path, adapter: str | Path, out: str | Path) -> Path:
    """Write ``base`` with ``adapter`` merged into ``out`` (reused when complete).

    Args:
        base: the base model's folder (config.json, tokenizer, ``*.safetensors``).
        adapter: a PEFT LoRA folder (adapter_config.json, adapter_model.safetensors).
        out: the merged model's folder.

    Returns:
        ``out``.
    """
    from safetensors import safe_open
    from safetensors.torch import save_file

    base, adapter, out = Path(base), Path(adapter), Path(out)
    done = out / ".paperpred-merged"
    if done.exists():
        return out
    config = json.loads((adapter / "adapter_config.json").read_text())
    check_adapter(config, adapter)
    lora: dict[str, dict[str, Any]] = {}
    with safe_open(str(adapter / "adapter_model.safetensors"), "pt") as fh:
        for key in fh.keys():  # noqa: SIM118 - safe_open has keys(), not iteration
            name = key.removeprefix(PREFIX)
            for part in ("lora_A", "lora_B"):
                marker = f".{part}."
                if marker in name:
                    module = name.split(marker)[0]
                    lora.setdefault(module, {})[part] = fh.get_tensor(key)
    shards = sorted(base.glob("*.safetensors"))
    if not shards:
        raise ModelNotAvailableError(f"{base}: no *.safetensors weights to merge into")
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    merged = set()
    for shard in shards:
        tensors = {}
        with safe_open(str(shard), "pt") as fh:
            metadata = fh.metadata()
            for key in fh.keys():  # noqa: SIM118
                tensor = fh.get_tensor(key)
                module = key.removesuffix(".weight")
                if key.endswith(".weight") and module in lora:
                    a, b = lora[module]["lora_A"], lora[module]["lora_B"]
                    delta = (b.float() @ a.float()) * _scale(config, module)
                    tensor = (tensor.float() + delta).to(tensor.dtype)
                    merged.add(module)
                tensors[key] = tensor.contiguous()
        save_file(tensors, str(partial / shard.name), metadata=metadata)
    missing = sorted(set(lora) - merged)
    if missing:
        shutil.rmtree(partial, ignore_errors=True)
        raise ModelNotAvailableError(f"{adapter}: {len(missing)} adapted modules are not in "
                                     f"{base}'s weights (e.g. {missing[0]}): another base model?")
    for item in base.iterdir():
        if item.is_file() and item.suffix != ".safetensors" and not item.name.startswith("."):
            shutil.copy2(item, partial / item.name)
    (partial / ".paperpred-merged").write_text(json.dumps(
        {"base": str(base), "adapter": str(adapter), "modules": len(merged)}) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    return out
