"""DeepSpeed ZeRO configs for multi-GPU training (written beside the training config).

``"auto"`` values are filled in by the Hugging Face trainer from the training arguments, so one
file serves LlamaFactory (``deepspeed: ds_config.json``) and accelerate (GRPO). DeepSpeed itself
is not a dependency of paperpred: install it on the GPU machines (``pip install deepspeed``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paperpred.errors import PaperpredError
from paperpred.modes.run_folder import DEEPSPEED

STAGES = {"zero2": 2, "zero3": 3}


def deepspeed_config(stage: str) -> dict[str, Any]:
    """The ZeRO-2 or ZeRO-3 config (``stage`` is ``"zero2"`` or ``"zero3"``)."""
    if stage not in STAGES:
        raise PaperpredError(f"deepspeed must be one of {', '.join(STAGES)} or the path of a "
                             f"DeepSpeed JSON file, got {stage!r}")
    config: dict[str, Any] = {
        "train_batch_size": "auto",
        "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "zero_allow_untested_optimizer": True,
        "fp16": {"enabled": "auto", "loss_scale": 0, "loss_scale_window": 1000,
                 "initial_scale_power": 16, "hysteresis": 2, "min_loss_scale": 1},
        "bf16": {"enabled": "auto"},
    }
    if STAGES[stage] == 2:
        config["zero_optimization"] = {
            "stage": 2, "allgather_partitions": True, "allgather_bucket_size": 5e8,
            "overlap_comm": False, "reduce_scatter": True, "reduce_bucket_size": 5e8,
            "contiguous_gradients": True, "round_robin_gradients": True}
    else:
        config["zero_optimization"] = {
            "stage": 3, "overlap_comm": False, "contiguous_gradients": True,
            "sub_group_size": 1e9, "reduce_bucket_size": "auto",
            "stage3_prefetch_bucket_size": "auto", "stage3_param_persistence_threshold": "auto",
            "stage3_max_live_parameters": 1e9, "stage3_max_reuse_distance": 1e9,
            "stage3_gather_16bit_weights_on_model_save": True}
    return config


def write_deepspeed_config(choice: str, out_dir: str | Path) -> str:
    """``choice`` is ``zero2``/``zero3`` (written to ``out_dir/ds_config.json``) or the path of
    an existing JSON file (used as it is). Returns the path to put in the training config."""
    if choice not in STAGES:
        path = Path(choice)
        if not path.is_file():
            deepspeed_config(choice)  # raises with the list of choices
        return str(path.resolve())
    target = Path(out_dir) / DEEPSPEED
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(deepspeed_config(choice), indent=2) + "\n")
    return str(target.resolve())
