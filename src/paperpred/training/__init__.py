"""Training machinery shared by LoRA SFT (LlamaFactory) and GRPO (TRL): device precision,
page-image files, progress logs and the run-folder layout."""
