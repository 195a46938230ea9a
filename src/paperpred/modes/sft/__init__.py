"""LoRA supervised fine-tuning through LlamaFactory, for text and vision models."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

from paperpred.config import DataFormat, TrainingConfig
from paperpred.inference.models import local_model_path
from paperpred.inputs.samples import Sample
from paperpred.modes.sft.config import CONFIG_NAME, dump_config, sft_config
from paperpred.modes.sft.dataset import write_dataset
from paperpred.modes.sft.run import run_llamafactory
from paperpred.modes.token_budget import refuse_too_long
from paperpred.modes.zero_shot import ZeroShotMode


class SFTLoRAMode(ZeroShotMode):
    """Fine-tune a LoRA adapter with LlamaFactory, then predict with it.

    Args:
        config: the base model and hyper-parameters (spec: TrainingConfig). ``config.extra``
            adds or overrides LlamaFactory arguments unchanged; paperpred's options are typed:
            ``config.sft`` (``template``, ``image_max_pixels``, ``data_format``,
            ``llamafactory_cli``), ``config.launch`` (``deepspeed``: ``zero2``, ``zero3`` or a
            JSON path; ``target_device``) and ``config.lora`` (``lora_target_modules``,
            ``loraplus_lr_ratio``).
        input_formatter: how a paper is shown.
        output_handler: what is predicted; its label text is the training target.
        data_format: ``DataFormat.SHAREGPT`` (messages, system turn, page images) or
            ``DataFormat.ALPACA`` (text only); default ``config.sft.data_format``.
        llamafactory_cli: the ``llamafactory-cli`` executable to run (default
            ``config.sft.llamafactory_cli``, else the one beside this Python, else
            ``$PAPERPRED_LLAMAFACTORY_CLI``, else PATH).

    Example:
        >>> sft = SFTLoRAMode(config, TextOnlyFormatter(),
        ...                   BinaryAcceptRejectHandler())  # doctest: +SKIP
        >>> info = sft.prepare_data(sft.format_samples(train, include_label=True), Path("data"))
        >>> sft.train(sft.generate_config(info, Path("outputs/sft")))
        >>> sft.predict(test_samples, InferenceConfig(model_name_or_path=config.model_name_or_path,
        ...                                           adapter_path="outputs/sft/checkpoints"))
    """

    CONFIG_NAME = CONFIG_NAME

    def __init__(self, config: TrainingConfig, input_formatter: Any, output_handler: Any,
                 data_format: DataFormat | str | None = None,
                 llamafactory_cli: str | None = None) -> None:
        super().__init__(config, input_formatter, output_handler)
        self.data_format = DataFormat(data_format or config.sft.data_format)
        self.llamafactory_cli = llamafactory_cli or config.sft.llamafactory_cli

    def prepare_data(self, samples: list[Sample], output_dir: str | Path) -> dict[str, Any]:
        """Write ``samples`` (formatted with ``include_label=True``) as a LlamaFactory dataset
        with its ``dataset_info.json`` in ``output_dir``; page images become PNG files, one
        ``<image>`` marker each. Returns data_info (see
        :func:`paperpred.modes.sft.dataset.write_dataset`).

        Raises:
            PaperpredError: a sample with page images is longer than ``max_length`` (image
                tokens at ``image_max_pixels`` + text; see :mod:`paperpred.modes.token_budget`).
        """
        refuse_too_long(samples, self.config.model_name_or_path, int(self.config.max_length),
                        "max_length (LlamaFactory cutoff_len)",
                        int(self.config.sft.image_max_pixels), with_answer=True)
        info = write_dataset(samples, output_dir, self.data_format)
        info["format_report"] = self.format_report.summary()
        return info

    def generate_config(self, data_info: dict[str, Any], output_dir: str | Path) -> Path:
        """Write ``output_dir/sft_config.yaml`` for `llamafactory-cli train` (and the DeepSpeed
        JSON beside it when ``config.launch.deepspeed`` asks). The adapter will be written
        to ``output_dir/checkpoints``. Returns the YAML's path."""
        output_dir = Path(output_dir).resolve()
        model_path = local_model_path(self.config.model_name_or_path)
        args = sft_config(self.config, data_info, output_dir, model_path)
        header = (f"# LoRA SFT of {self.config.model_name_or_path} written by paperpred.\n"
                  f"# Run: llamafactory-cli train {output_dir / self.CONFIG_NAME}\n"
                  "# Several GPUs: FORCE_TORCHRUN=1 llamafactory-cli train <this file> "
                  "(add NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT for several machines)")
        if model_path is None:
            header += (f"\n# The weights of {self.config.model_name_or_path} are not on the "
                       "machine that wrote this file: LlamaFactory fetches them from the "
                       "Hugging Face Hub\n# where it runs (or put a local copy's folder in "
                       "model_name_or_path).")
        header += ("\n# Precision: " + ("bf16" if args.get("bf16") else "fp32") + ", gradient "
                   "checkpointing " + ("off" if args.get("disable_gradient_checkpointing")
                                       else "on") + " (for "
                   + ("a CUDA GPU" if args.get("bf16") or not args.get(
                       "disable_gradient_checkpointing") else "a CPU") + "; write it with "
                   "target_device=cuda|cpu for another machine).")
        return dump_config(args, output_dir / self.CONFIG_NAME, header)

    def train(self, config_path: str | Path, overwrite: bool = False,
              stream: TextIO | None = sys.stderr) -> dict[str, Any]:
        """Run `llamafactory-cli train config_path`, showing step, loss and ETA.

        A run killed half-way resumes from its last checkpoint when started again. A finished
        run is not trained again unless ``overwrite``.

        Returns:
            The summary written to ``train_summary.json`` (runtime, steps, losses, tokens/s).

        Raises:
            PaperpredError: LlamaFactory is missing (one line on how to install it), the run
                already finished, or training failed (with the log's last lines).
        """
        return run_llamafactory(config_path, self.llamafactory_cli, stream=stream,
                                overwrite=overwrite)
