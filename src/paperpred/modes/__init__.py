"""Training modes: zero-shot (and, later, SFT with LoRA and GRPO)."""
