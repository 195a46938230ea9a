"""Run configuration (dataclass schema, YAML file, command-line overrides) and run folders.

Precedence: defaults < ``--config`` file < flags. Unknown keys are errors, and every problem of
a config is reported at once, before any model is loaded.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from paperpred.config import BACKENDS, EMBEDDED_MODEL, READINGS, TrainingMode
from paperpred.errors import PaperpredError


@dataclass
class RunConfig:
    """Everything a `paperpred predict` run needs (the run folder records it resolved)."""

    data: str = field(default="bundled", metadata={"help": "'bundled', a CSV/JSONL/parquet "
                                                          "file, or a dataset path/name"})
    split: str = field(default="all", metadata={"help": "dataset split: 'all', a name or a year"})
    limit: int | None = field(default=None, metadata={"help": "first N submissions only"})
    image_base_dir: str | None = field(default=None, metadata={"help": "<id>/ page images"})
    input: str = field(default="abstract_only", metadata={"help": "input formatter name"})
    input_kwargs: dict[str, Any] = field(default_factory=dict)
    output: str = field(default="binary", metadata={"help": "output handler name"})
    output_kwargs: dict[str, Any] = field(default_factory=dict)
    mode: str = field(default="zero_shot", metadata={"help": "zero_shot | sft_lora | grpo"})
    model: str | None = field(default=None, metadata={
        "help": "hub name, local path or the embedded model; default: the spec's model for "
                "the model type on a GPU machine with the Hub, else smollm2-135m-instruct"})
    model_type: str = field(default="auto", metadata={"help": "auto | text_only | "
                                                              "vision_language"})
    adapter_path: str | None = None
    backend: str = "auto"
    reading: str = "auto"
    base_urls: list[str] = field(default_factory=list)
    batch_size: int = 8
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 42
    output_dir: str | None = field(default=None, metadata={"help": "run folder (default: "
                                                                   "runs/<mode>-<output>-<input>-<model>)"})

    def problems(self) -> list[str]:
        """Every problem of this config (empty when valid)."""
        found = []
        if self.backend not in BACKENDS:
            found.append(f"backend must be one of {', '.join(BACKENDS)} (got {self.backend!r})")
        if self.reading not in READINGS:
            found.append(f"reading must be one of {', '.join(READINGS)} (got {self.reading!r})")
        if self.mode not in {m.value for m in TrainingMode}:
            found.append(f"mode must be one of {', '.join(m.value for m in TrainingMode)}")
        if self.model_type not in ("auto", "text_only", "vision_language"):
            found.append("model_type must be auto, text_only or vision_language")
        if self.limit is not None and self.limit < 1:
            found.append("limit must be a positive number")
        if self.batch_size < 1:
            found.append("batch_size must be at least 1")
        if self.backend == "openai" and not self.base_urls:
            found.append("backend openai needs base_urls (--base-url http://host:port)")
        if self.mode != "zero_shot" and not self.adapter_path:
            found.append(f"mode {self.mode} predicts with a trained adapter: set adapter_path")
        return found

    def resolved_model(self) -> str:
        """``model``, or the default for ``model_type`` on this machine."""
        if self.model:
            return self.model
        from paperpred.inference.models import default_model

        kind = "text_only" if self.model_type == "auto" else self.model_type
        return default_model(kind)

    def run_dir(self) -> Path:
        return run_folder(self.output_dir, self.mode, self.output, self.input, self.model)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def run_folder(output_dir: str | None, mode: str, output: str, input_name: str,
               model: str | None) -> Path:
    """``output_dir``, or ``runs/<mode>-<output>-<input>-<model folder or name>``."""
    if output_dir:
        return Path(output_dir)
    name = model or EMBEDDED_MODEL
    label = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name or name)
    return Path("runs") / f"{mode}-{output}-{input_name}-{label}"


def _coerce(name: str, value: Any, schema: type = RunConfig) -> Any:
    """Typed value of a flag or YAML entry for field ``name`` of ``schema``."""
    kind = schema.__dataclass_fields__[name].type
    if value is None:
        return None
    if str(kind).startswith("list"):
        return [value] if isinstance(value, str) else list(value)
    if "bool" in str(kind) and isinstance(value, str):
        return yaml.safe_load(value) is True
    if "int" in str(kind) and not isinstance(value, int):
        return int(value)
    if "float" in str(kind) and not isinstance(value, float):
        return float(value)
    return value


def load_run_config(path: str | Path | None, overrides: dict[str, Any],
                    schema: type = RunConfig) -> Any:
    """Defaults < YAML file < overrides (None values in overrides are ignored).

    ``schema`` is the config dataclass (:class:`RunConfig` for `paperpred predict`,
    :class:`paperpred.train_runs.TrainRunConfig` for `paperpred train`); it must have a
    ``problems()`` method.

    Raises:
        PaperpredError: listing every unknown key and invalid value at once.
    """
    values: dict[str, Any] = {}
    problems = []
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise PaperpredError(f"{path}: no such config file")
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, dict):
            raise PaperpredError(f"{path}: a config file is a YAML mapping of keys to values")
        values.update(loaded)
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = schema.__dataclass_fields__
    for key in sorted(set(values) - set(known)):
        problems.append(f"unknown key '{key}'" + (f" in {path}" if path else ""))
    typed = {}
    for key, value in values.items():
        if key in known:
            try:
                typed[key] = _coerce(key, value, schema)
            except (TypeError, ValueError):
                problems.append(f"{key}: {value!r} is not a valid {known[key].type}")
    config = schema(**typed)
    problems += config.problems()
    if problems:
        raise PaperpredError("invalid config: " + "; ".join(problems))
    return config


def prepare_run_dir(config: RunConfig, overwrite: bool = False) -> Path:
    """Create the run folder and write ``config.yaml``. A folder from an earlier run of the
    same config is reused (the run resumes); one with another config is an error unless
    ``overwrite``."""
    run_dir = config.run_dir()
    saved = run_dir / "config.yaml"
    resolved = yaml.safe_dump(config.to_dict(), sort_keys=True)
    if saved.exists() and saved.read_text() != resolved:
        if not overwrite:
            raise PaperpredError(
                f"{run_dir} holds a run with another config: pass --output-dir for a new "
                "folder, or --overwrite to start it again"
            )
        for name in ("predictions.jsonl", "predictions.json", "metrics.json", "report.md"):
            (run_dir / name).unlink(missing_ok=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    saved.write_text(resolved)
    return run_dir
