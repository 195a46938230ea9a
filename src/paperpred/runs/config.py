"""Run configs of `paperpred predict` and `paperpred train`: one schema that composes the spec's
dataclasses (:class:`~paperpred.config.PredictorConfig`, :class:`~paperpred.config.TrainingConfig`
with its typed option groups), read from a YAML file and flags.

Precedence: defaults < ``--config`` file < flags. A key may be written flat (``batch_size: 4``,
``stratified_batches: true``) or under its section (``predictor: {batch_size: 4}``,
``training: {learning_rate: 1e-4}``, ``grpo: {stratified_batches: true}``); every flat key has
exactly one home. ``max_steps`` is the engines' own key (LlamaFactory and TRL both take it) and
goes to ``training.extra``. Unknown keys and invalid values are reported all at once, before
any model is loaded.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from paperpred.config import (
    EMBEDDED_MODEL,
    MODEL_TYPES,
    OPTION_GROUPS,
    ModelType,
    PredictorConfig,
    TrainingConfig,
    TrainingMode,
    adapter_problem,
    training_mode,
)
from paperpred.errors import ConfigError
from paperpred.inference.models import default_model, is_vision_model, local_model_path
from paperpred.runs.shards import parse_shard

#: Fields a run fills in itself (from ``model``, ``model_type`` and the run folder).
RESOLVED = ("model_name_or_path", "model_type", "output_dir")
#: Engine keys that have a flag and a flat YAML key of their own (with their type): they go to
#: ``training.extra``.
ENGINE_KEYS = {"max_steps": "int"}


def mode_value(mode: str) -> str:
    """A TrainingMode value from a mode name or its short name (``sft`` -> ``sft_lora``);
    an unknown name is returned as it is (``problems()`` reports it)."""
    try:
        return training_mode(mode).value
    except ValueError:
        return str(mode)


def _predictor() -> PredictorConfig:
    return PredictorConfig(model_name_or_path="", batch_size=8, max_tokens=256)


def _training() -> TrainingConfig:
    return TrainingConfig(model_name_or_path="")


@dataclass
class RunCommon:
    """What both commands share: the data, the components and the model."""

    data: str = field(default="bundled", metadata={
        "help": "'bundled', a CSV/JSONL/parquet file, or a dataset path/name"})
    split: str = field(default="all", metadata={"help": "dataset split: 'all', a name or a year"})
    limit: int | None = field(default=None, metadata={"help": "first N submissions only"})
    image_base_dir: str | None = field(default=None, metadata={"help": "<id>/ page images"})
    input: str = field(default="abstract_only", metadata={"help": "input formatter name"})
    input_kwargs: dict[str, Any] = field(default_factory=dict)
    output: str = field(default="binary", metadata={"help": "output handler name"})
    output_kwargs: dict[str, Any] = field(default_factory=dict)
    model: str | None = field(default=None, metadata={
        "help": "hub name, local path or the embedded model; default: the spec's model for "
                "the model type on a GPU machine with the Hub, else smollm2-135m-instruct"})
    model_type: str = field(default="auto", metadata={"help": "auto | text_only | "
                                                              "vision_language"})
    output_dir: str | None = field(default=None, metadata={"help": "run folder"})

    def problems(self) -> list[str]:
        found = []
        if self.model_type not in MODEL_TYPES:
            found.append(f"model_type must be one of {', '.join(MODEL_TYPES)}")
        if self.limit is not None and self.limit < 1:
            found.append("limit must be a positive number")
        return found

    def resolved_model(self) -> str:
        """``model``, or the default for ``model_type`` on this machine."""
        if self.model:
            return self.model
        return default_model("text_only" if self.model_type == "auto" else self.model_type)

    def resolved_model_type(self) -> ModelType:
        """``model_type``, or for ``auto`` what the model's local config (else its name)
        says."""
        if self.model_type != "auto":
            return ModelType(self.model_type)
        model = self.resolved_model()
        vision = is_vision_model(local_model_path(model) or model)
        return ModelType.VISION_LANGUAGE if vision else ModelType.TEXT_ONLY

    def folder_label(self) -> str:
        """The run folder's name without its mode part."""
        name = self.model or EMBEDDED_MODEL
        label = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name or name)
        return f"{self.output}-{self.input}-{label}"

    def folder_mode(self) -> str:
        """The mode part of the default run folder's name."""
        raise NotImplementedError

    def spec(self) -> Any:
        """The spec dataclass this run composes (PredictorConfig or TrainingConfig)."""
        raise NotImplementedError

    def run_dir(self) -> Path:
        """``output_dir``, or ``runs/<mode>-<output>-<input>-<model>``."""
        if self.output_dir:
            return Path(self.output_dir)
        return Path("runs") / f"{self.folder_mode()}-{self.folder_label()}"

    def resolve(self) -> Any:
        """Fill in the model and its type on this machine, in the composed spec dataclass
        too; returns self."""
        self.model = self.resolved_model()
        model_type = self.resolved_model_type()
        self.model_type = model_type.value
        self.output_dir = str(self.run_dir())
        self.spec().model_name_or_path = self.model
        self.spec().model_type = model_type
        return self

    def to_dict(self) -> dict[str, Any]:
        """The config as plain YAML-able data (enums as their values), without the fields a
        run fills in itself (``model``, ``model_type`` and ``output_dir`` say them) and without
        ``api_key``: what ``load_config`` reads back."""
        data = _plain(dataclasses.asdict(self))
        for section in ("predictor", "training"):
            for key in RESOLVED:
                data.get(section, {}).pop(key, None)
        data.get("predictor", {}).pop("api_key", None)  # never write secrets into a run folder
        return data


@dataclass
class PredictRun(RunCommon):
    """Everything a `paperpred predict` run needs (the run folder records it resolved)."""

    mode: str = field(default="zero_shot", metadata={"help": "zero_shot | sft_lora (sft) | grpo"})
    shard: str | None = field(default=None, metadata={
        "help": "i/N: predict shard i (0..N-1) of N (split by submission id) into "
                "<run folder>/shards/; then `paperpred merge RUN`"})
    predictor: PredictorConfig = field(default_factory=_predictor)

    def __post_init__(self) -> None:
        self.mode = mode_value(self.mode)

    def problems(self) -> list[str]:
        found = super().problems()
        found += self.predictor.problems()
        if self.shard is not None:
            try:
                parse_shard(self.shard)
            except ConfigError as error:
                found.append(str(error))
        if self.mode not in {m.value for m in TrainingMode}:
            found.append(f"mode must be one of {', '.join(m.value for m in TrainingMode)}")
        else:
            problem = adapter_problem(self.mode, self.predictor.adapter_path)
            if problem:
                found.append(problem)
        return found

    def folder_mode(self) -> str:
        return self.mode

    def folder_label(self) -> str:
        """As :meth:`RunCommon.folder_label`, with the engine when one is named (``-vllm``,
        ``-openai``), so runs of the same model on two engines keep their own folders."""
        label = super().folder_label()
        return f"{label}-{self.predictor.backend}" if self.predictor.backend in (
            "vllm", "openai") else label

    def spec(self) -> PredictorConfig:
        return self.predictor


@dataclass
class TrainRun(RunCommon):
    """Everything a `paperpred train` run needs; the training hyper-parameters default to the
    spec's TrainingConfig (configs/train_sft_cpu.yaml has values sized for a CPU)."""

    mode: str = field(default="sft_lora", metadata={
        "help": "sft (LoRA SFT, LlamaFactory) | grpo (GRPO, TRL)"})
    input: str = "abstract_with_reviews"
    balance: bool = field(default=False, metadata={
        "help": "downsample the training split to equal classes (the held-out split keeps "
                "the natural prior)"})
    test_size: float = field(default=0.2, metadata={
        "help": "held-out fraction (stratified) predicted with the adapter after training; "
                "0 trains on everything"})
    eval_batch_size: int = 8
    training: TrainingConfig = field(default_factory=_training)

    def __post_init__(self) -> None:
        self.mode = mode_value(self.mode)

    def problems(self) -> list[str]:
        found = super().problems()
        if self.mode not in (TrainingMode.SFT_LORA.value, TrainingMode.GRPO.value):
            found.append(f"mode must be one of sft, grpo (sft_lora is sft; got {self.mode!r})")
        if not 0 <= self.test_size < 1:
            found.append("test_size must be in [0, 1)")
        if self.eval_batch_size < 1:
            found.append("eval_batch_size must be at least 1")
        found += self.training.problems()
        return found

    @property
    def short_mode(self) -> str:
        """``sft`` or ``grpo``: the name in run folders and messages."""
        return "sft" if self.mode == TrainingMode.SFT_LORA.value else self.mode

    def folder_mode(self) -> str:
        return f"train-{self.short_mode}"

    def spec(self) -> TrainingConfig:
        return self.training

    def resolve(self) -> TrainRun:
        """As :meth:`RunCommon.resolve`, and the run folder as ``training.output_dir``."""
        super().resolve()
        self.training.output_dir = str(self.output_dir)
        return self


# ----- reading a config ---------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """Enums as their values, tuples as lists (YAML-safe)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


#: The dataclass of each section name a run config may hold.
SECTION_TYPES: dict[str, type] = {"predictor": PredictorConfig, "training": TrainingConfig,
                                  **OPTION_GROUPS}


def _sections(schema: type) -> dict[str, tuple[str, ...]]:
    """Section name -> attribute path (``training`` -> ("training",), ``grpo`` ->
    ("training", "grpo"))."""
    found: dict[str, tuple[str, ...]] = {}
    for f in dataclasses.fields(schema):
        if f.name == "predictor":
            found["predictor"] = ("predictor",)
        if f.name == "training":
            found["training"] = ("training",)
            for group in OPTION_GROUPS:
                found[group] = ("training", group)
    return found


def key_table(schema: type) -> dict[str, tuple[str, ...]]:
    """Every flat key of ``schema`` -> its attribute path."""
    table: dict[str, tuple[str, ...]] = {}
    sections = _sections(schema)
    for f in dataclasses.fields(schema):
        if f.name not in sections:
            table[f.name] = (f.name,)
    for name, path in sections.items():
        for f in dataclasses.fields(SECTION_TYPES[name]):
            if f.name in RESOLVED or f.name in OPTION_GROUPS:
                continue
            table.setdefault(f.name, (*path, f.name))
    if "training" in sections:
        for key in ENGINE_KEYS:
            table[key] = ("training", "extra", key)
    return table


def _field_type(schema: type, path: tuple[str, ...]) -> str:
    owner: type = schema if len(path) == 1 else SECTION_TYPES[path[-2]]
    return str({f.name: f.type for f in dataclasses.fields(owner)}[path[-1]])


def _coerce(kind: str, value: Any) -> Any:
    """Typed value of a flag or YAML entry for a field annotated ``kind``."""
    if value is None:
        return None
    if kind.startswith("list"):
        items = [value] if isinstance(value, (str, int, float)) else list(value)
        return [float(v) for v in items] if "float" in kind else items
    if kind.startswith("dict"):
        if not isinstance(value, dict):
            raise TypeError("a mapping")
        return dict(value)
    if "bool" in kind and isinstance(value, str):
        return yaml.safe_load(value) is True
    if kind.startswith("int") and not isinstance(value, int):
        return int(value)
    if kind.startswith("float") and not isinstance(value, float):
        return float(value)
    return value


def _flatten(values: dict[str, Any], schema: type, where: str,
             problems: list[str]) -> dict[tuple[str, ...], Any]:
    """YAML/flag values (flat keys or sections) -> {attribute path: value}."""
    table, sections = key_table(schema), _sections(schema)
    out: dict[tuple[str, ...], Any] = {}
    for key, value in values.items():
        if key in sections and isinstance(value, dict):
            prefix = sections[key]
            for sub, item in value.items():
                path = table.get(sub)
                if key == "training" and sub == "extra" and isinstance(item, dict):
                    out.update({("training", "extra", k): v for k, v in item.items()})
                elif key == "training" and sub in OPTION_GROUPS and isinstance(item, dict):
                    out.update(_flatten({sub: item}, schema, where, problems))
                elif path and path[:len(prefix)] == prefix:
                    out[path] = item
                elif sub in RESOLVED:
                    problems.append(f"{key}.{sub}{where} is set by the run: use the top-level "
                                    f"key {'model' if sub == 'model_name_or_path' else sub}")
                else:
                    problems.append(f"unknown key '{key}.{sub}'{where}")
        elif key == "extra" and "training" in sections and isinstance(value, dict):
            out.update({("training", "extra", k): v for k, v in value.items()})
        elif key in table:
            out[table[key]] = value
        else:
            close = difflib.get_close_matches(key, sorted(table), 1)
            problems.append(f"unknown key '{key}'{where}"
                            + (f" (did you mean '{close[0]}'?)" if close else ""))
    return out


#: A run or sweep config is a few KB; anything past this is refused before it is read.
MAX_CONFIG_BYTES = 1_000_000


def read_yaml_mapping(path: str | Path, what: str) -> dict[str, Any]:
    """A YAML file that holds a mapping, read with ``yaml.safe_load`` (no tags that build
    Python objects, nothing executed), at most :data:`MAX_CONFIG_BYTES`; every problem is a
    :class:`ConfigError` naming the file (and the line, for YAML errors) and the fix."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: {size:,} bytes; {what} is a short YAML mapping (at most "
                          f"{MAX_CONFIG_BYTES:,} bytes): is it the right file?")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{where}: not valid YAML for paperpred ({problem}); write "
                          "plain keys and values (tags such as !!python/... are refused)"
                          ) from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: {what} is a YAML mapping of keys to values, got "
                          f"{type(loaded).__name__}")
    return loaded


def load_config(schema: type, path: str | Path | None = None,
                overrides: dict[str, Any] | None = None) -> Any:
    """A run config: defaults < YAML file < overrides (None values in overrides are ignored).

    Args:
        schema: :class:`PredictRun` or :class:`TrainRun`.
        path: a YAML file of its keys, or None.
        overrides: flat keys (the command line's flags).

    Raises:
        ConfigError: listing every unknown key and invalid value at once.
    """
    problems: list[str] = []
    values: dict[tuple[str, ...], Any] = {}
    if path is not None:
        path = Path(path)
        loaded = read_yaml_mapping(path, "a config file")
        values.update(_flatten(loaded, schema, f" in {path}", problems))
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    values.update(_flatten(given, schema, "", problems))
    config = schema()
    for attr_path, value in values.items():
        try:
            if attr_path[-2:-1] == ("extra",):
                kind = ENGINE_KEYS.get(attr_path[-1])
                config.training.extra[attr_path[-1]] = _coerce(kind, value) if kind else value
                continue
            typed = _coerce(_field_type(schema, attr_path), value)
        except (TypeError, ValueError):
            problems.append(f"{attr_path[-1]}: {value!r} is not a valid "
                            f"{_field_type(schema, attr_path)}")
            continue
        owner = config
        for name in attr_path[:-1]:
            owner = getattr(owner, name)
        setattr(owner, attr_path[-1], typed)
    config.mode = mode_value(config.mode)
    problems += config.problems()
    if problems:
        raise ConfigError("invalid config: " + "; ".join(problems))
    return config
