"""GRPO (Group Relative Policy Optimization) with TRL's ``GRPOTrainer`` and LoRA, for text and
vision-language models (LlamaFactory has no GRPO).

The recipe, one module per step: ``dataset`` (the prompt-only dataset), ``config`` (the run
config), ``launch`` (accelerate / DeepSpeed for several GPUs), ``worker`` (the training run),
``progress`` (per-step records) and ``loraplus``; the rewards and their TRL adapter are in
:mod:`paperpred.outputs.rewards`.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from paperpred.config import ModelType, TrainingConfig
from paperpred.errors import GRPOConfigError, RewardFunctionError
from paperpred.inference.models import is_vision_model
from paperpred.inputs.samples import Sample
from paperpred.modes.child import die_with_parent
from paperpred.modes.grpo.config import (
    CONFIG_NAME,
    build_run_config,
    length_split,
    read_grpo_config,
    write_run_config,
)
from paperpred.modes.grpo.dataset import write_grpo_dataset
from paperpred.modes.grpo.worker import ENV_TEED, run
from paperpred.modes.run_folder import (
    LOG,
    SUMMARY,
    prepare_output_dir,
    run_dir_of,
    training_failed,
)
from paperpred.modes.token_budget import refuse_too_long
from paperpred.modes.zero_shot import ZeroShotMode
from paperpred.outputs.rewards import in_process_only_message, resolve_ref, reward_specs


class GRPOMode(ZeroShotMode):
    """Train a LoRA adapter with GRPO, then predict with it (``predict`` as in ZeroShotMode,
    with ``InferenceConfig(adapter_path=out_dir/"checkpoints")``).

    Args:
        config: the base model and hyper-parameters (spec: TrainingConfig):
            ``grpo_group_size`` -> completions per prompt (TRL ``num_generations``),
            ``grpo_kl_coeff`` -> KL weight (``beta``), ``batch_size`` -> prompts x completions
            per device and step (a multiple of ``grpo_group_size`` together with
            ``gradient_accumulation_steps``), ``max_length`` -> prompt + completion tokens.
            ``config.extra`` overrides or adds TRL ``GRPOConfig`` fields (``max_steps``,
            ``use_vllm``, ``vllm_mode``, ``temperature``, ...) unchanged; paperpred's options
            are typed: ``config.launch`` (``num_processes``, ``num_machines``,
            ``main_process_ip``, ``main_process_port``, ``deepspeed``: ``zero2``/``zero3``/JSON
            path), ``config.lora`` (``lora_target_modules``, ``lora_exclude_modules``,
            ``loraplus_lr_ratio``) and ``config.grpo`` (``stratified_batches``, see
            :meth:`prepare_data`; ``rewards``/``reward_weights``, used when the arguments
            below are not given).
            ``val_size`` is not used (evaluate with ``predict`` on held-out samples).
        input_formatter: how a paper is shown.
        output_handler: what is predicted; its label text (``"Answer: 0.73"``) is the ground
            truth the rewards see.
        reward_function: None (the handler's reward plus a format reward), or a function
            ``reward(prediction, ground_truth) -> float`` (``prediction`` is the completion
            text, ``ground_truth`` the label text), or a list of them.
        reward_weights: one weight per reward, in order (the format reward last when on);
            default 1.0 each (0.5 for the format reward).
        format_reward: add the format reward (1.0 for an answer the handler can read); default
            on without ``reward_function``, off with it.
        use_vllm: prefer vLLM for ``predict`` (training uses ``extra["use_vllm"]``).

    A user reward that raises on a completion is counted (``reward_errors`` per step) and gives
    the handler's ``parse_failure_reward``; one that fails on well-formed answers stops the run
    with an error naming it.
    """

    CONFIG_NAME = CONFIG_NAME

    def __init__(self, config: TrainingConfig, input_formatter: Any, output_handler: Any,
                 reward_function: Callable[..., float] | Sequence[Callable[..., float]] | None
                 = None, reward_weights: Sequence[float] | None = None,
                 format_reward: bool | None = None, use_vllm: bool = False) -> None:
        if reward_function is None and config.grpo.rewards:
            reward_function = [resolve_ref(ref) for ref in config.grpo.rewards]
        if reward_weights is None and config.grpo.reward_weights:
            reward_weights = list(config.grpo.reward_weights)
        super().__init__(config, input_formatter, output_handler, use_vllm=use_vllm)
        self.reward_function = reward_function
        self.reward_specs, self.reward_weights, self.reward_callables = reward_specs(
            output_handler, reward_function, reward_weights, format_reward)

    # ----- data -------------------------------------------------------------------------------
    @property
    def is_vision(self) -> bool:
        """True for a vision-language model (``model_type`` or the checkpoint says so)."""
        if getattr(self.config, "model_type", None) == ModelType.VISION_LANGUAGE:
            return True
        try:
            return is_vision_model(self.config.model_name_or_path)
        except Exception:  # noqa: BLE001 - an unreadable config is decided by model_type alone
            return False

    def prepare_data(self, samples: list[Sample], output_dir: str | Path) -> dict[str, Any]:
        """Write the prompt-only dataset (``output_dir/grpo_train.jsonl``, page images under
        ``output_dir/images``). Returns data_info (paths, counts, skipped samples by reason,
        whether vision); see :func:`paperpred.modes.grpo.dataset.write_grpo_dataset`.

        With ``config.grpo.stratified_batches`` (decision outputs only) the rows are
        written with the classes taking turns and TRL reads them in order, so every step
        holds each class equally. Why: a step of a few prompts that happen to share one class
        pushes every answer towards that class; once all of a group's completions agree, the
        group has no gradient, and a policy that says one class for every paper never leaves
        it (seen on 2 CPU cores with 4 prompts per step, README: Training)."""
        class_of = None
        if self.config.grpo.stratified_batches:
            if not getattr(self.output_handler, "labels", None):
                raise GRPOConfigError(
                    f"stratified_batches needs a decision output (binary, multiclass); "
                    f"{self.output_handler.name} predicts a number: drop the key")
            handler = self.output_handler

            def class_of(sample: Sample) -> Any:
                return handler.read_truth(sample.label)

        if self.is_vision:
            prompt_room, _ = length_split(int(self.config.max_length), bool(
                getattr(self.output_handler, "include_reasoning", False)))
            refuse_too_long(samples, self.config.model_name_or_path, prompt_room,
                            "the prompt's share of max_length", None, with_answer=False,
                            why="TRL does not cut vision prompts, so each step would need "
                                "more memory than max_length plans for")
        info = write_grpo_dataset(samples, output_dir, self.is_vision,
                                  dict(self.format_report.skipped), class_of,
                                  self.config.seed)
        skipped = info["num_skipped"] + sum(info["format_skipped"].values())
        if skipped:
            reasons = {**info["format_skipped"], **info["skipped"]}
            print(f"[paperpred] GRPO data: {info['num_samples']} prompts; skipped {skipped} "
                  f"({', '.join(f'{k}: {v}' for k, v in reasons.items())})", file=sys.stderr)
        return info

    # ----- config -----------------------------------------------------------------------------
    def generate_config(self, data_info: dict[str, Any], output_dir: str | Path) -> Path:
        """Write ``output_dir/grpo_config.yaml`` (and ``accelerate_config.yaml`` /
        ``ds_config.json`` for multi-GPU runs); returns its path. The file's comments and
        :meth:`launch_command` give the shell command that runs it."""
        cfg = build_run_config(self.config, data_info, output_dir, self.output_handler,
                               self.reward_specs, self.reward_weights)
        path = write_run_config(cfg, output_dir)
        self.last_config = cfg
        return path

    @staticmethod
    def launch_command(config_path: str | Path) -> str:
        """The shell command that trains ``config_path`` outside Python (accelerate launch for
        multi-GPU configs)."""
        return read_grpo_config(config_path)["launch"]["command"]

    # ----- training ---------------------------------------------------------------------------
    def train(self, config_path: str | Path, subprocess_run: bool | None = None,
              overwrite: bool = False) -> dict[str, Any]:
        """Train with TRL's GRPOTrainer; returns the summary (``train_summary.json``).

        In this process by default; in a worker process (``python -m
        paperpred.modes.grpo.worker`` or ``accelerate launch`` for multi-GPU configs) when
        ``subprocess_run`` is True or the config asks for several processes. A worker process
        imports user reward functions by their ``module:function`` reference. A killed run
        resumes from its last checkpoint when it was trained with the same settings; a
        finished one is not trained again; ``overwrite`` starts afresh in either case.
        """
        cfg = read_grpo_config(config_path)
        prepare_output_dir(cfg["grpo"]["output_dir"], overwrite, cfg)
        many = int(cfg["launch"].get("num_processes") or 1) > 1 or bool(
            cfg["launch"].get("accelerate_config"))
        if subprocess_run is None:
            subprocess_run = many
        callables = {s.name: self.reward_callables[s.name] for s in self.reward_specs
                     if s.kind == "callable" and s.name in self.reward_callables}
        if not subprocess_run:
            return run(config_path, reward_callables=callables)
        for spec in cfg["rewards"]["functions"]:
            if spec["kind"] == "callable" and not spec.get("ref"):
                raise RewardFunctionError(in_process_only_message(spec["name"]))
        return self._run_worker(Path(config_path).resolve(), cfg)

    def _run_worker(self, config_path: Path, cfg: dict[str, Any]) -> dict[str, Any]:
        command = cfg["launch"]["command"]
        argv = shlex.split(command)
        if argv[0] == "python":
            argv[0] = sys.executable
        elif argv[0] == "accelerate":
            argv = [sys.executable, "-m", "accelerate.commands.launch", *argv[2:]]
        run_dir = run_dir_of(config_path)
        env = dict(os.environ, PYTHONUNBUFFERED="1", **{ENV_TEED: "1"})
        print(f"[paperpred] {command} (log: {run_dir / LOG})", file=sys.stderr, flush=True)
        with open(run_dir / LOG, "a", encoding="utf-8") as log:
            log.write(f"$ {command}\n")
            log.flush()
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.PIPE, text=True,
                                    preexec_fn=die_with_parent(),
                                    env=env)
            assert proc.stderr is not None
            for line in proc.stderr:  # progress lines to the terminal, everything to the log
                log.write(line)
                log.flush()
                if line.startswith("[paperpred]") or "Error" in line:
                    print(line, end="", file=sys.stderr, flush=True)
            proc.wait()
        if proc.returncode != 0:
            raise training_failed("GRPO worker", proc.returncode, run_dir)
        return json.loads((run_dir / SUMMARY).read_text())
