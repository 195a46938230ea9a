"""Training modes, one recipe each: ``zero_shot`` (the model as it is), ``sft`` (LoRA SFT
through LlamaFactory: dataset, config, run) and ``grpo`` (GRPO through TRL: dataset, config,
rewards, launch, worker, progress). ``run_folder`` is the run-folder layout they share.

Modes are registered by :class:`~paperpred.config.TrainingMode` and imported on first use.
"""

from __future__ import annotations

from typing import Any

from paperpred.config import TrainingMode, training_mode
from paperpred.registry import Registry, load_ref

MODES: Registry[str] = Registry("training mode")
MODES.register(TrainingMode.ZERO_SHOT, "paperpred.modes.zero_shot:ZeroShotMode")
MODES.register(TrainingMode.SFT_LORA, "paperpred.modes.sft:SFTLoRAMode")
MODES.register(TrainingMode.GRPO, "paperpred.modes.grpo:GRPOMode")


def get_mode_class(name: TrainingMode | str) -> Any:
    """The mode class of ``name`` (a TrainingMode, its value or ``sft``)."""
    try:
        key: TrainingMode | str = training_mode(name)
    except ValueError:
        key = str(name)
    return load_ref(MODES.get(key))
