"""What the training device can do: bf16 only where the hardware has it."""

from __future__ import annotations

from paperpred.errors import PaperpredError


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


TARGETS = ("auto", "cpu", "cuda")


def target_is_cuda(target: str | None = None) -> bool:
    """Whether a training config is written for a CUDA GPU: ``"auto"``/None asks this machine;
    ``"cuda"`` writes it for the GPUs of another machine (a config written on a login node),
    ``"cpu"`` for a CPU.

    Raises:
        PaperpredError: another value.
    """
    choice = "auto" if target is None else str(target).lower()
    if choice not in TARGETS:
        raise PaperpredError(f"target_device must be one of {', '.join(TARGETS)}, got "
                             f"{target!r}")
    return has_cuda() if choice == "auto" else choice == "cuda"


def precision_flags(cuda: bool | None = None) -> dict[str, bool]:
    """``bf16``/``fp16`` switches for a Hugging Face trainer: for this machine (None), or for
    a CUDA GPU elsewhere (True: bf16, as every GPU since Ampere has it) or a CPU (False)."""
    if cuda is None or (cuda and has_cuda()):
        return {"bf16": bf16_supported(), "fp16": False}
    return {"bf16": bool(cuda), "fp16": False}
