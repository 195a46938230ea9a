"""What the training device can do: bf16 only where the hardware has it."""

from __future__ import annotations


def has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def bf16_supported() -> bool:
    """True on a CUDA device with native bf16 (Ampere or newer). CPU training stays in fp32:
    bf16 matmuls on most CPUs are emulated and slower, and LlamaFactory/TRL default to fp32
    there."""
    if not has_cuda():
        return False
    import torch

    return bool(torch.cuda.is_bf16_supported())


def precision_flags() -> dict[str, bool]:
    """``bf16``/``fp16`` switches for a Hugging Face trainer on this machine."""
    return {"bf16": bf16_supported(), "fp16": False}
