"""How a GRPO config runs outside this process: the worker command, the accelerate config for
several GPUs (or machines), DeepSpeed, and TRL's vLLM generation server.

``TrainingConfig.extra`` keys read here: ``num_processes`` (all processes, over all machines,
as accelerate counts them), ``num_machines``, ``machine_rank``, ``main_process_ip``,
``main_process_port`` and ``deepspeed`` (``zero2``, ``zero3`` or a DeepSpeed JSON path; the
file goes into ``GRPOConfig.deepspeed`` and the trainer hands it to accelerate).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import yaml

from paperpred.config import LaunchOptions
from paperpred.modes.deepspeed import write_deepspeed_config

ACCELERATE_NAME = "accelerate_config.yaml"
WORKER_MODULE = "paperpred.modes.grpo.worker"


def accelerate_config(bf16: bool, launch: LaunchOptions) -> dict[str, Any]:
    """An accelerate config for ``launch.num_processes`` GPUs over ``num_machines``."""
    config: dict[str, Any] = {
        "compute_environment": "LOCAL_MACHINE", "debug": False,
        "distributed_type": "MULTI_GPU", "downcast_bf16": "no", "gpu_ids": "all",
        "machine_rank": int(launch.machine_rank or 0), "main_training_function": "main",
        "mixed_precision": "bf16" if bf16 else "no",
        "num_machines": int(launch.num_machines or 1),
        "num_processes": int(launch.num_processes or 1), "rdzv_backend": "static",
        "same_network": True, "use_cpu": False,
    }
    if launch.main_process_ip is not None:
        config["main_process_ip"] = launch.main_process_ip
    if launch.main_process_port is not None:
        config["main_process_port"] = launch.main_process_port
    return config


def launch_command(config_path: str | Path, accelerate_path: str | Path | None = None) -> str:
    """The shell command that trains a GRPO config outside Python."""
    config_path = shlex.quote(str(Path(config_path).resolve()))
    if accelerate_path:
        return (f"accelerate launch --config_file {shlex.quote(str(accelerate_path))} "
                f"-m {WORKER_MODULE} {config_path}")
    return f"python -m {WORKER_MODULE} {config_path}"


def launch_section(options: LaunchOptions, grpo: dict[str, Any], out_dir: Path,
                   config_path: Path, model_name: str) -> dict[str, Any]:
    """The config's ``launch`` section; writes ``ds_config.json`` (and sets
    ``grpo["deepspeed"]``) and ``accelerate_config.yaml`` when they are needed."""
    processes = int(options.num_processes or 1)
    launch: dict[str, Any] = {"num_processes": processes, "accelerate_config": None,
                              "deepspeed": None}
    if options.deepspeed:
        grpo["deepspeed"] = launch["deepspeed"] = write_deepspeed_config(
            str(options.deepspeed), out_dir)
    if processes > 1 or launch["deepspeed"]:
        accel = out_dir / ACCELERATE_NAME
        accel.write_text(yaml.safe_dump(accelerate_config(bool(grpo.get("bf16")), options),
                                        sort_keys=False))
        launch["accelerate_config"] = str(accel)
    launch["command"] = launch_command(config_path, launch["accelerate_config"])
    if grpo.get("use_vllm") and grpo.get("vllm_mode", "server") == "server":
        launch["vllm_server_command"] = (
            f"CUDA_VISIBLE_DEVICES=<GPUs not used for training> trl vllm-serve "
            f"--model {model_name} --tensor-parallel-size <n>")
    return launch


def header_comments(cfg: dict[str, Any]) -> str:
    """The comment lines at the top of ``grpo_config.yaml``: how to run it."""
    launch = cfg["launch"]
    lines = [
        "# paperpred GRPO run (TRL GRPOTrainer + LoRA), written by GRPOMode.generate_config.",
        "# In Python: GRPOMode(...).train(this file). From a shell:",
        f"#   {launch['command']}",
    ]
    if launch.get("accelerate_config") is None:
        lines += ["# Several GPUs: set TrainingConfig.launch.num_processes (and deepspeed: zero2",
                  "# | zero3) and generate again; the command becomes",
                  (f"#   accelerate launch --config_file <out_dir>/{ACCELERATE_NAME} -m "
                   f"{WORKER_MODULE} <this file>")]
    if launch.get("vllm_server_command"):
        lines += ["# Generation runs on a TRL vLLM server; start it first:",
                  f"#   {launch['vllm_server_command']}"]
    if cfg["model"].get("weights_here") is False:
        lines += [f"# The weights of {cfg['model']['model_name_or_path']} are not on the "
                  "machine that wrote this file: TRL fetches them from the Hugging Face Hub",
                  "# where it runs (or put a local copy's folder in model.model_name_or_path)."]
    names = ", ".join(f["name"] for f in cfg["rewards"]["functions"])
    lines += [f"# Reward functions (weights in grpo.reward_weights): {names}",
              ("# The LoRA adapter is saved to grpo.output_dir; predict with "
               "InferenceConfig(adapter_path=that folder).")]
    return "\n".join(lines) + "\n"
