"""LoRA+ (Hayou et al., 2024) for trainers that do not offer it: the LoRA B matrices learn at
``loraplus_lr_ratio`` times the learning rate of the A matrices.

LlamaFactory takes ``loraplus_lr_ratio`` for SFT itself; TRL's ``GRPOTrainer`` has no such
option, so a GRPO run with ``optimizer.loraplus_lr_ratio`` in its config trains with
:func:`with_loraplus` (PEFT's ``create_loraplus_optimizer`` over the trainer's own optimizer
class and arguments: AdamW, betas, epsilon, weight decay).
"""

from __future__ import annotations

from typing import Any


def with_loraplus(trainer_cls: type, ratio: float | None) -> type:
    """``trainer_cls`` itself when ``ratio`` is None, else a subclass whose optimizer is
    LoRA+ with that ratio (the scheduler, warm-up and everything else unchanged)."""
    if ratio is None:
        return trainer_cls
    factor = float(ratio)

    class LoraPlusTrainer(trainer_cls):
        def create_optimizer(self, *args: Any, **kwargs: Any) -> Any:
            if getattr(self, "optimizer", None) is None:
                from peft.optimizers import create_loraplus_optimizer

                optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(
                    self.args, self.model)
                optimizer_kwargs = {**optimizer_kwargs,
                                    "weight_decay": self.args.weight_decay}
                self.optimizer = create_loraplus_optimizer(
                    self.model, optimizer_cls, loraplus_lr_ratio=factor, **optimizer_kwargs)
            return super().create_optimizer(*args, **kwargs)

    LoraPlusTrainer.__name__ = LoraPlusTrainer.__qualname__ = f"LoraPlus{trainer_cls.__name__}"
    return LoraPlusTrainer
