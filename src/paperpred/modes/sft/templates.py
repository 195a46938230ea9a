"""The LlamaFactory chat template of a model family."""

from __future__ import annotations

import re
from pathlib import Path

from paperpred.errors import PaperpredError
from paperpred.inference.models import load_model_config

# config.json model_type -> template (name hints below refine the llama family).
BY_MODEL_TYPE = {
    "qwen2_5_vl": "qwen2_vl", "qwen2_vl": "qwen2_vl", "qwen3_vl": "qwen3_vl",
    "qwen2": "qwen", "qwen2_moe": "qwen", "qwen3": "qwen3", "qwen3_moe": "qwen3",
    "gemma": "gemma", "gemma2": "gemma2", "gemma3": "gemma3", "mistral": "mistral",
    "phi3": "phi", "mllama": "mllama", "llava": "llava",
}
# Checked on the folder or hub name, in order.
BY_NAME = (
    (r"smollm2", "smollm2"), (r"smollm", "smollm"), (r"qwen2\.?5?-?vl", "qwen2_vl"),
    (r"qwen3", "qwen3"), (r"qwen", "qwen"), (r"llama-?3", "llama3"), (r"llama-?2", "llama2"),
    (r"mistral", "mistral"),
)


def llamafactory_template(*names: str) -> str:
    """``qwen`` for Qwen2.5, ``qwen2_vl`` for Qwen2.5-VL, ``smollm2`` for SmolLM2, ...

    Args:
        names: what the model is called (the name the user gave, then the resolved folder):
            the first name that says the family wins, else the first ``config.json`` whose
            ``model_type`` does.

    Raises:
        PaperpredError: the family is not known; the message says to set
            ``TrainingConfig.sft.template`` (any LlamaFactory template name).
    """
    for name in names:
        text = Path(str(name)).name.lower() or str(name).lower()
        for pattern, template in BY_NAME:
            if re.search(pattern, text):
                return template
    model_type = ""
    for name in names:
        model_type = str((load_model_config(name) or {}).get("model_type", "")).lower()
        if model_type in BY_MODEL_TYPE:
            return BY_MODEL_TYPE[model_type]
    raise PaperpredError(
        f"no LlamaFactory chat template is known for {names[0]} (model_type "
        f"{model_type or '?'}): set TrainingConfig(sft=SFTOptions(template='<name>')) (in a "
        "run config: `template: <name>`) to one of LlamaFactory's templates (see "
        "llamafactory/data/template.py)")
