"""GRPOMode: the prompt-only dataset, the run config, the reward guard, and real TRL GRPO runs
on tiny Qwen2 / Qwen2.5-VL models with real ICLR 2017 rows (CPU; nothing mocked)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from training_helpers import with_pages

from paperpred import (
    AbstractOnlyFormatter,
    BinaryAcceptRejectHandler,
    CitationPercentileHandler,
    GRPOOptions,
    InferenceConfig,
    LaunchOptions,
    LoRAOptions,
    ModelType,
    TextWithImagesFormatter,
    TrainingConfig,
)
from paperpred.errors import GRPOConfigError, GRPODataError, RewardFunctionError
from paperpred.modes.grpo import GRPOMode
from paperpred.modes.grpo.config import read_grpo_config
from paperpred.modes.progress import read_progress
from paperpred.outputs.rewards import GuardedReward, RewardStats, callable_ref, resolve_ref

pytest.importorskip("trl", reason="TRL (paperpred[train]) is not installed")

TINY_RUN = {"max_steps": 2, "max_completion_length": 8}


@pytest.fixture(scope="module")
def rows(iclr2017):
    """Four real 2017 submissions: two accepted, two rejected."""
    accept = [s for s in iclr2017 if s.get_binary_label() == "Accept"][:2]
    reject = [s for s in iclr2017 if s.get_binary_label() == "Reject"][:2]
    return [accept[0], reject[0], accept[1], reject[1]]


def training_config(model, **overrides):
    values = {"learning_rate": 1e-2, "num_epochs": 1, "batch_size": 2,
              "gradient_accumulation_steps": 1, "grpo_group_size": 2, "grpo_kl_coeff": 0.05,
              "max_length": 1024, "lora_dropout": 0.0, "extra": dict(TINY_RUN)}
    values.update(overrides)
    return TrainingConfig(model_name_or_path=str(model), **values)


def lora_b_max(adapter_dir: Path) -> float:
    from safetensors.torch import load_file

    tensors = load_file(str(adapter_dir / "adapter_model.safetensors"))
    b = [t for k, t in tensors.items() if "lora_B" in k]
    assert b, sorted(tensors)[:5]
    return max(float(t.abs().max()) for t in b)


def proximity_reward(prediction: str, ground_truth: str) -> float:
    """The spec's Example 3 reward, as written (it fails on an unreadable answer)."""
    parsed = CitationPercentileHandler().parse_prediction(prediction)
    pred = parsed.get("prediction", 0.5)
    gt = float(ground_truth.replace("Answer: ", ""))
    return max(0.0, 1.0 - abs(pred - gt) * 2)


# ----- config and data (no training) -----------------------------------------------------------
def test_config_maps_training_config_and_round_trips(tmp_path, rows, tiny_qwen2_dir):
    from trl import GRPOConfig

    config = training_config(tiny_qwen2_dir, learning_rate=3e-5, num_epochs=2, batch_size=4,
                             gradient_accumulation_steps=2, grpo_group_size=4,
                             grpo_kl_coeff=0.07, max_length=2048, lora_rank=4, lora_alpha=8,
                             seed=7, extra={"max_steps": 5, "temperature": 0.9})
    mode = GRPOMode(config, AbstractOnlyFormatter(), BinaryAcceptRejectHandler())
    info = mode.prepare_data(mode.format_samples(rows * 2, include_label=True), tmp_path / "d")
    path = mode.generate_config(info, tmp_path / "run")
    assert path == (tmp_path / "run" / "grpo_config.yaml").resolve()
    text = path.read_text()
    assert "python -m paperpred.modes.grpo.worker" in text.splitlines()[2]
    cfg = read_grpo_config(path)
    grpo = cfg["grpo"]
    assert (grpo["num_generations"], grpo["beta"], grpo["learning_rate"]) == (4, 0.07, 3e-5)
    assert (grpo["num_train_epochs"], grpo["per_device_train_batch_size"]) == (2, 4)
    assert (grpo["gradient_accumulation_steps"], grpo["seed"], grpo["logging_steps"]) == (2, 7, 1)
    assert grpo["max_prompt_length"] + grpo["max_completion_length"] == 2048
    assert 16 <= grpo["max_completion_length"] <= 128  # an answer line, not an essay
    assert grpo["output_dir"] == str((tmp_path / "run" / "checkpoints").resolve())
    assert (grpo["bf16"], grpo["use_cpu"], grpo["report_to"]) == (False, True, "none")
    assert (grpo["max_steps"], grpo["temperature"]) == (5, 0.9)  # extra passes through
    assert grpo["reward_weights"] == [1.0, 0.5]
    assert [f["name"] for f in cfg["rewards"]["functions"]] == ["binary_reward", "format_reward"]
    assert cfg["rewards"]["handler"]["name"] == "binary"
    assert cfg["lora"] == {"r": 4, "lora_alpha": 8, "lora_dropout": 0.0,
                           "target_modules": "all-linear", "task_type": "CAUSAL_LM"}
    assert cfg["data"]["num_samples"] == 8 and cfg["data"]["vision"] is False
    args = GRPOConfig(**grpo)  # TRL accepts the section as it is
    assert (args.num_generations, args.beta, args.max_steps) == (4, 0.07, 5)
    assert args.generation_batch_size == 8 and args.reward_weights == [1.0, 0.5]


def test_prompt_rows_have_no_answer(tmp_path, rows, tiny_qwen2_dir):
    mode = GRPOMode(training_config(tiny_qwen2_dir), AbstractOnlyFormatter(),
                    BinaryAcceptRejectHandler())
    samples = mode.format_samples(rows, include_label=True)
    samples.append(copy.copy(samples[0]))
    samples[-1].label = None
    info = mode.prepare_data(samples, tmp_path)
    assert info["num_samples"] == 4 and info["num_skipped"] == 1
    assert "no label" in next(iter(info["skipped"]))
    lines = [json.loads(x) for x in Path(info["train_file"]).read_text().splitlines()]
    assert [r["label"] for r in lines] == ["Answer: Accept", "Answer: Reject"] * 2
    for row in lines:
        assert [m["role"] for m in row["prompt"]] == ["system", "user"]
        assert "images" not in row


@pytest.mark.parametrize("batch,accum,group,message", [
    (3, 1, 2, "multiple of grpo_group_size 2"),
    (2, 3, 4, "multiple of grpo_group_size 4"),
    (2, 1, 1, "at least 2"),
    (8, 2, 2, "has only 4"),
])
def test_bad_batch_sizes_fail_clearly(tmp_path, rows, tiny_qwen2_dir, batch, accum, group,
                                      message):
    config = training_config(tiny_qwen2_dir, batch_size=batch,
                             gradient_accumulation_steps=accum, grpo_group_size=group)
    mode = GRPOMode(config, AbstractOnlyFormatter(), BinaryAcceptRejectHandler())
    info = mode.prepare_data(mode.format_samples(rows, include_label=True), tmp_path)
    with pytest.raises(GRPOConfigError, match=message):
        mode.generate_config(info, tmp_path / "run")


def test_bad_input_fails_clearly(tmp_path, rows, tiny_qwen2_dir, page_images):
    mode = GRPOMode(training_config(tiny_qwen2_dir), AbstractOnlyFormatter(),
                    BinaryAcceptRejectHandler())
    with pytest.raises(GRPODataError, match="no samples"):
        mode.prepare_data([], tmp_path)
    unlabelled = mode.format_samples(rows, include_label=False)
    with pytest.raises(GRPODataError, match="none of the 4 samples"):
        mode.prepare_data(unlabelled, tmp_path)
    vision = GRPOMode(training_config(tiny_qwen2_dir),
                      TextWithImagesFormatter(include_reviews=False, max_images=2),
                      BinaryAcceptRejectHandler())
    with pytest.raises(GRPODataError, match="text-only"):
        vision.prepare_data(vision.format_samples(with_pages(rows, page_images), True), tmp_path)
    typo = GRPOMode(training_config(tiny_qwen2_dir, extra={"max_stepz": 2}),
                    AbstractOnlyFormatter(), BinaryAcceptRejectHandler())
    info = typo.prepare_data(typo.format_samples(rows, include_label=True), tmp_path)
    with pytest.raises(GRPOConfigError, match="did you mean 'max_steps'"):
        typo.generate_config(info, tmp_path / "run")
    with pytest.raises(ValueError, match="2 weights for 1 rewards"):
        GRPOMode(training_config(tiny_qwen2_dir), AbstractOnlyFormatter(),
                 BinaryAcceptRejectHandler(), reward_function=len, reward_weights=[1, 2])
    with pytest.raises(GRPOConfigError, match="does not exist"):
        mode.train(tmp_path / "nowhere.yaml")


def test_multi_gpu_and_vllm_config(tmp_path, rows, tiny_qwen2_dir):
    config = training_config(tiny_qwen2_dir, batch_size=2, grpo_group_size=4, extra={
        "use_vllm": True, "vllm_mode": "server"},
        launch=LaunchOptions(num_processes=4, deepspeed="zero3"))
    mode = GRPOMode(config, AbstractOnlyFormatter(), BinaryAcceptRejectHandler())
    info = mode.prepare_data(mode.format_samples(rows * 2, include_label=True), tmp_path / "d")
    path = mode.generate_config(info, tmp_path / "run")
    cfg = read_grpo_config(path)
    accel = yaml.safe_load((tmp_path / "run" / "accelerate_config.yaml").read_text())
    assert (accel["num_processes"], accel["distributed_type"]) == (4, "MULTI_GPU")
    ds = json.loads((tmp_path / "run" / "ds_config.json").read_text())
    assert ds["zero_optimization"]["stage"] == 3
    assert cfg["grpo"]["deepspeed"] == str((tmp_path / "run" / "ds_config.json").resolve())
    command = mode.launch_command(path)
    assert command == (f"accelerate launch --config_file {tmp_path / 'run'}/accelerate_config.yaml"
                       f" -m paperpred.modes.grpo.worker {path}")
    assert command in path.read_text() and "trl vllm-serve --model" in path.read_text()
    assert cfg["launch"]["num_processes"] == 4
    # 2 per device x 4 processes = 8 completions = 2 prompts of 4: a 3-prompt batch fails
    bad = training_config(tiny_qwen2_dir, batch_size=3, grpo_group_size=4,
                          launch=LaunchOptions(num_processes=2))
    bad_mode = GRPOMode(bad, AbstractOnlyFormatter(), BinaryAcceptRejectHandler())
    with pytest.raises(GRPOConfigError, match=r"2 process\(es\) = 6 completions"):
        bad_mode.generate_config(info, tmp_path / "bad")


# ----- rewards ---------------------------------------------------------------------------------
def test_reward_refs():
    from paperpred.outputs.base import is_missing

    assert callable_ref(lambda p, g: 0.0) is None
    assert callable_ref(proximity_reward) == f"{__name__}:proximity_reward" or __name__ == \
        "__main__"

    def local(p, g):
        return 0.0

    assert callable_ref(local) is None
    assert resolve_ref(callable_ref(is_missing)) is is_missing
    with pytest.raises(RewardFunctionError, match="no 'nope'"):
        resolve_ref("paperpred.outputs.base:nope")


def test_guarded_reward_counts_errors_and_catches_broken_functions():
    handler = CitationPercentileHandler()
    stats = RewardStats()
    guard = GuardedReward("proximity_reward", proximity_reward, handler, stats,
                          count_tokens=True)
    garbage = [[{"role": "assistant", "content": "blah"}], [{"role": "assistant",
                                                            "content": "Answer: 0.5"}]]
    out = guard(garbage, label=["Answer: 0.73", "Answer: 0.73"], completion_ids=[[1, 2], [3]])
    assert out[0] == handler.parse_failure_reward and out[1] == pytest.approx(0.54)
    assert stats.take() == {"proximity_reward": 1} and stats.take() == {}
    assert stats.generated_tokens == 3
    # all garbage: counted, not fatal (a random policy writes garbage)
    assert guard(["x", "y"], label=["Answer: 0.1", "Answer: 0.2"]) == [-0.5, -0.5]
    assert stats.total == {"proximity_reward": 3}

    def broken(prediction, ground_truth):
        raise ZeroDivisionError("oops")

    bad = GuardedReward("broken", broken, handler, RewardStats())
    with pytest.raises(RewardFunctionError, match="'broken' raised on every completion.*"
                                                  "ZeroDivisionError: oops"):
        bad(["Answer: 0.4", "zzz"], label=["Answer: 0.73", "Answer: 0.1"])
    with pytest.raises(RewardFunctionError, match="fails on a well-formed answer"):
        bad.check("Answer: 0.73")
    guard.check("Answer: 0.73")
    assert guard(["Answer: 0.5"], label=[None]) == [None]


def test_collapse_onto_one_answer_is_logged_and_warned(tmp_path):
    from types import SimpleNamespace

    from paperpred.modes.grpo.progress import GRPOProgressCallback
    handler = BinaryAcceptRejectHandler()
    stats = RewardStats()
    guard = GuardedReward("reward", handler.reward, handler, stats, count_tokens=True)
    callback = GRPOProgressCallback(tmp_path, stats, stream=None)
    state = SimpleNamespace(max_steps=2, global_step=1, is_world_process_zero=True)
    callback.on_train_begin(SimpleNamespace(world_size=1), state, None)
    guard(["Answer: Accept"] * 19 + ["gibberish"], label=["Answer: Reject"] * 20)
    callback.on_log(None, state, None, logs={"loss": 0.1, "reward": 0.0})
    state.global_step = 2
    guard(["Answer: Accept", "Answer: Reject"] * 5, label=["Answer: Reject"] * 10)
    callback.on_log(None, state, None, logs={"loss": 0.1, "reward": 0.5})
    first, second = read_progress(tmp_path / "train_progress.jsonl")
    assert first["predicted"] == {"Accept": 0.95, "unparsed": 0.05}
    assert "step 1: 95% of the predictions are 'Accept'" in first["collapse_warning"]
    assert second["predicted"] == {"Accept": 0.5, "Reject": 0.5}
    assert "collapse_warning" not in second and callback.collapse_steps == 1


def test_broken_or_unimportable_rewards_stop_before_training(tmp_path, rows, tiny_qwen2_dir):
    def broken(prediction, ground_truth):
        raise KeyError("no such field")

    mode = GRPOMode(training_config(tiny_qwen2_dir), AbstractOnlyFormatter(),
                    BinaryAcceptRejectHandler(), reward_function=broken)
    path = mode.generate_config(
        mode.prepare_data(mode.format_samples(rows, include_label=True), tmp_path), tmp_path)
    with pytest.raises(RewardFunctionError, match="'broken' fails on a well-formed answer"):
        mode.train(path)
    with pytest.raises(RewardFunctionError, match="only an in-process run"):
        mode.train(path, subprocess_run=True)
    result = subprocess.run([sys.executable, "-m", "paperpred.modes.grpo.worker", str(path)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 2 and "'broken' is a lambda, a nested function" in result.stderr


def test_missing_trl_says_how_to_install(tmp_path, rows, tiny_qwen2_dir, monkeypatch):
    mode = GRPOMode(training_config(tiny_qwen2_dir), AbstractOnlyFormatter(),
                    BinaryAcceptRejectHandler())
    path = mode.generate_config(
        mode.prepare_data(mode.format_samples(rows, include_label=True), tmp_path), tmp_path)
    monkeypatch.setitem(sys.modules, "trl", None)
    with pytest.raises(GRPOConfigError, match=r"pip install 'paperpred\[train\]'"):
        mode.train(path)


# ----- real runs -------------------------------------------------------------------------------
def test_text_grpo_run_with_user_rewards(tmp_path, rows, tiny_qwen2_dir):
    handler = BinaryAcceptRejectHandler()
    calls = []

    def closeness(prediction, ground_truth):
        calls.append((prediction, ground_truth))
        # the handler's reward plus a spread, so that advantages (and gradients) are non-zero
        return handler.reward(prediction, ground_truth) + len(set(prediction)) / 20

    config = training_config(tiny_qwen2_dir)
    mode = GRPOMode(config, AbstractOnlyFormatter(), handler, reward_function=[closeness],
                    reward_weights=[1.0, 0.25], format_reward=True)
    samples = mode.format_samples(rows, include_label=True)
    info = mode.prepare_data(samples, tmp_path / "data")
    path = mode.generate_config(info, tmp_path / "run")
    cfg = read_grpo_config(path)
    assert cfg["grpo"]["reward_weights"] == [1.0, 0.25]
    assert cfg["rewards"]["functions"] == [
        {"name": "closeness", "kind": "callable", "ref": None},
        {"name": "format_reward", "kind": "format", "ref": None}]

    summary = mode.train(path)

    steps = read_progress(tmp_path / "run" / "train_progress.jsonl")
    assert [s["step"] for s in steps] == [1, 2]
    for step in steps:
        for key in ("loss", "reward", "reward_std", "kl", "rewards/closeness/mean",
                    "rewards/format_reward/mean", "completion_length", "learning_rate",
                    "grad_norm", "reward_errors"):
            assert key in step, (key, sorted(step))
        assert step["reward_errors"] == 0
    assert steps[0]["grad_norm"] > 0
    # the function saw completion texts and the handler's label text; first the label check
    assert calls[0] == ("Answer: Accept", "Answer: Accept")
    assert len(calls) == 1 + 2 * 2  # the check, then 2 steps x 1 prompt x 2 completions
    labels = {s.label for s in samples}
    assert all(isinstance(p, str) and g in labels for p, g in calls)
    assert any(p != g for p, g in calls[1:])
    assert summary["steps"] == 2 and 0 < summary["generated_tokens"] <= 2 * 2 * 8
    assert summary["generated_tokens_per_s"] > 0 and summary["steps_per_s"] > 0
    assert summary["rewards"] == ["closeness", "format_reward"]
    assert json.loads((tmp_path / "run" / "train_summary.json").read_text())["steps"] == 2
    assert "[step 2]" in (tmp_path / "run" / "train.log").read_text()
    adapter = tmp_path / "run" / "checkpoints"
    assert (adapter / "adapter_config.json").is_file()
    assert lora_b_max(adapter) > 0  # LoRA B starts at zero: the policy moved

    inference = InferenceConfig(model_name_or_path=str(tiny_qwen2_dir), batch_size=2)
    base = mode.predict(samples[:2], inference)
    tuned = mode.predict(samples[:2], InferenceConfig(model_name_or_path=str(tiny_qwen2_dir),
                                                      adapter_path=str(adapter), batch_size=2))
    mode.close()
    assert [p["parse_success"] for p in tuned] == [True, True]
    assert [p["score"] for p in tuned] != [p["score"] for p in base]


def test_vision_grpo_run_default_rewards(tmp_path, rows, tiny_vl_dir, page_images):
    config = training_config(tiny_vl_dir, model_type=ModelType.VISION_LANGUAGE)
    mode = GRPOMode(config, TextWithImagesFormatter(include_reviews=False, max_images=2),
                    BinaryAcceptRejectHandler())
    samples = mode.format_samples(with_pages(rows, page_images), include_label=True)
    info = mode.prepare_data(samples, tmp_path / "data")
    assert info["vision"] and info["num_images"] == 8
    row = json.loads(Path(info["train_file"]).read_text().splitlines()[0])
    parts = [p for m in row["prompt"] for p in m["content"]]
    assert [p["type"] for p in parts].count("image") == 2 == len(row["images"])
    assert all(Path(p).is_file() for p in row["images"])
    assert not any("<image>" in p.get("text", "") for p in parts)

    # the tiny Qwen2.5-VL processor renders these prompts with one image block per image
    from PIL import Image
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(str(tiny_vl_dir))
    text = processor.apply_chat_template(row["prompt"], tokenize=False,
                                         add_generation_prompt=True)
    assert text.count("<|vision_start|><|image_pad|><|vision_end|>") == 2
    encoded = processor(text=[text], images=[Image.open(p) for p in row["images"]],
                        return_tensors="pt")
    assert encoded["image_grid_thw"].shape[0] == 2

    path = mode.generate_config(info, tmp_path / "run")
    cfg = read_grpo_config(path)
    assert cfg["grpo"]["max_prompt_length"] is None and "visual" in cfg["lora"]["exclude_modules"]
    summary = mode.train(path)
    steps = read_progress(tmp_path / "run" / "train_progress.jsonl")
    assert len(steps) == 2 and summary["steps"] == 2
    for key in ("rewards/binary_reward/mean", "rewards/format_reward/mean", "kl", "loss"):
        assert all(key in s for s in steps), key
    # a random policy cannot answer: the handler's parse-failure reward, no format reward
    assert steps[0]["rewards/binary_reward/mean"] == -0.5
    assert steps[0]["rewards/format_reward/mean"] == 0.0

    from safetensors.torch import load_file

    adapter = tmp_path / "run" / "checkpoints"
    keys = list(load_file(str(adapter / "adapter_model.safetensors")))
    assert keys and not any("visual" in k for k in keys)
    assert any("language_model" in k and "q_proj" in k for k in keys)
    preds = mode.predict(samples[:2], InferenceConfig(model_name_or_path=str(tiny_vl_dir),
                                                      adapter_path=str(adapter), batch_size=2))
    mode.close()
    assert [p["n_images"] for p in preds] == [2, 2]
    assert all(p["parse_success"] for p in preds)


def test_worker_subprocess_run(tmp_path, rows, tiny_qwen2_dir):
    """The same config as a worker process (what accelerate launch runs on each GPU)."""
    config = training_config(tiny_qwen2_dir, extra={"max_steps": 1, "max_completion_length": 4})
    mode = GRPOMode(config, AbstractOnlyFormatter(), CitationPercentileHandler())
    info = mode.prepare_data(mode.format_samples(rows, include_label=True), tmp_path)
    path = mode.generate_config(info, tmp_path / "run")
    summary = mode.train(path, subprocess_run=True)
    assert summary["steps"] == 1 and summary["rewards"] == ["citation_percentile_reward",
                                                            "format_reward"]
    log = (tmp_path / "run" / "train.log").read_text()
    assert log.startswith("$ python -m paperpred.modes.grpo.worker")
    assert "[paperpred] step 1/1" in log
    assert (tmp_path / "run" / "checkpoints" / "adapter_model.safetensors").is_file()


def test_loraplus_ratio_reaches_the_grpo_optimizer(tmp_path, rows, tiny_qwen2_dir):
    """``loraplus_lr_ratio`` (the key LlamaFactory takes for SFT) gives GRPO a LoRA+ optimizer:
    B matrices at ratio x learning_rate, A matrices at learning_rate."""
    from peft import LoraConfig
    from trl import GRPOConfig, GRPOTrainer

    from paperpred.modes.grpo.loraplus import with_loraplus

    config = training_config(tiny_qwen2_dir, learning_rate=2e-4,
                             lora=LoRAOptions(loraplus_lr_ratio=16))
    mode = GRPOMode(config, AbstractOnlyFormatter(), BinaryAcceptRejectHandler())
    info = mode.prepare_data(mode.format_samples(rows, include_label=True), tmp_path / "d")
    cfg = read_grpo_config(mode.generate_config(info, tmp_path / "run"))
    assert cfg["optimizer"] == {"loraplus_lr_ratio": 16}
    assert "loraplus_lr_ratio" not in cfg["grpo"] and "loraplus_lr_ratio" not in cfg["lora"]
    assert with_loraplus(GRPOTrainer, None) is GRPOTrainer

    from paperpred.modes.grpo.dataset import load_grpo_dataset

    def flat(completions, **kwargs):
        return [0.0] * len(completions)

    trainer = with_loraplus(GRPOTrainer, 16)(
        model=str(tiny_qwen2_dir), reward_funcs=[flat, flat], args=GRPOConfig(**cfg["grpo"]),
        train_dataset=load_grpo_dataset(cfg["data"]), peft_config=LoraConfig(**cfg["lora"]))
    optimizer = trainer.create_optimizer()
    names = {id(p): n for n, p in trainer.model.named_parameters()}
    rates = {}
    for group in optimizer.param_groups:
        for param in group["params"]:
            kind = "B" if "lora_B" in names[id(param)] else "A"
            rates.setdefault(kind, set()).add(group["lr"])
    assert rates == {"A": {2e-4}, "B": {2e-4 * 16}}


def test_loraplus_ratio_must_be_positive(tmp_path, rows, tiny_qwen2_dir):
    config = training_config(tiny_qwen2_dir, lora=LoRAOptions(loraplus_lr_ratio=0))
    mode = GRPOMode(config, AbstractOnlyFormatter(), BinaryAcceptRejectHandler())
    info = mode.prepare_data(mode.format_samples(rows, include_label=True), tmp_path / "d")
    with pytest.raises(GRPOConfigError, match="loraplus_lr_ratio must be positive"):
        mode.generate_config(info, tmp_path / "run")


# ----- stratified batches ----------------------------------------------------------------
def test_stratified_batches_write_the_classes_in_turn_and_keep_that_order(tmp_path, rows,
                                                                          tiny_qwen2_dir):
    from trl import GRPOConfig

    accepted = [r for r in rows if r.get_binary_label() == "Accept"]
    rejected = [r for r in rows if r.get_binary_label() == "Reject"]
    papers = accepted * 3 + rejected * 2  # 6 Accept first, then 4 Reject
    config = training_config(tiny_qwen2_dir, batch_size=4, grpo_group_size=2,
                             grpo=GRPOOptions(stratified_batches=True))
    mode = GRPOMode(config, AbstractOnlyFormatter(), BinaryAcceptRejectHandler())
    info = mode.prepare_data(mode.format_samples(papers, include_label=True), tmp_path / "d")
    labels = [json.loads(x)["label"] for x in Path(info["train_file"]).read_text().splitlines()]
    assert labels[:8] == ["Answer: Accept", "Answer: Reject"] * 4  # every step: 1 + 1 prompts
    assert sorted(labels) == sorted(f"Answer: {r.get_binary_label()}" for r in papers)
    assert info["interleaved"] is True and info["classes"] == {"Accept": 6, "Reject": 4}
    grpo = read_grpo_config(mode.generate_config(info, tmp_path / "run"))["grpo"]
    assert grpo["shuffle_dataset"] is False and "stratified_batches" not in grpo
    assert GRPOConfig(**grpo).shuffle_dataset is False  # TRL reads the rows in that order

    plain = GRPOMode(training_config(tiny_qwen2_dir), AbstractOnlyFormatter(),
                     BinaryAcceptRejectHandler())
    info = plain.prepare_data(plain.format_samples(papers, include_label=True), tmp_path / "p")
    assert info["interleaved"] is False
    assert "shuffle_dataset" not in read_grpo_config(plain.generate_config(info,
                                                                          tmp_path / "q"))["grpo"]
    with pytest.raises(GRPOConfigError, match="written in its own order"):
        mode.generate_config(info, tmp_path / "r")


def test_stratified_batches_refuse_what_they_cannot_balance(tmp_path, rows, tiny_qwen2_dir):
    odd = training_config(tiny_qwen2_dir, batch_size=6, grpo_group_size=2,
                          grpo=GRPOOptions(stratified_batches=True))
    mode = GRPOMode(odd, AbstractOnlyFormatter(), BinaryAcceptRejectHandler())
    info = mode.prepare_data(mode.format_samples(rows * 2, include_label=True), tmp_path / "d")
    with pytest.raises(GRPOConfigError, match="3 prompts, not a multiple of the 2 classes"):
        mode.generate_config(info, tmp_path / "run")
    numeric = GRPOMode(odd, AbstractOnlyFormatter(), CitationPercentileHandler())
    with pytest.raises(GRPOConfigError, match="needs a decision output"):
        numeric.prepare_data(numeric.format_samples(rows, include_label=True), tmp_path / "n")
