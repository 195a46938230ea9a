"""Run configs: defaults < YAML < flags, unknown keys and bad values reported at once."""

from pathlib import Path

import pytest

from paperpred.errors import PaperpredError
from paperpred.modes.run_folder import prepare_run_dir
from paperpred.runs import PredictRun, TrainRun, load_config

ROOT = Path(__file__).resolve().parents[1]


def _prepare(config, overwrite=False):
    import yaml

    return prepare_run_dir(config.run_dir(), yaml.safe_dump(config.to_dict(), sort_keys=True),
                           overwrite)


def test_precedence(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("output: multiclass\nbatch_size: 4\nlimit: 20\n")
    config = load_config(PredictRun, path, {"limit": "5", "model": None})
    assert (config.output, config.predictor.batch_size, config.limit) == ("multiclass", 4, 5)
    assert config.model == PredictRun().model  # None overrides are ignored


def test_every_problem_at_once(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("outptu: binary\nbackend: tgi\nbatch_size: 0\nmode: grpo\n")
    with pytest.raises(PaperpredError) as info:
        load_config(PredictRun, path, {"reading": "guess"})
    message = str(info.value)
    for part in ("unknown key 'outptu'", "backend must be one of", "reading must be one of",
                 "batch_size must be at least 1", "set adapter_path"):
        assert part in message


def test_openai_needs_an_endpoint():
    with pytest.raises(PaperpredError, match="base_urls"):
        load_config(PredictRun, None, {"backend": "openai"})
    config = load_config(PredictRun, None, {"backend": "openai",
                                            "base_urls": "http://127.0.0.1:8000"})
    assert config.predictor.base_urls == ["http://127.0.0.1:8000"]


def test_run_dir_reuse_and_conflict(tmp_path):
    config = load_config(PredictRun, None, {"output_dir": str(tmp_path / "run")})
    run = _prepare(config)
    (run / "predictions.jsonl").write_text('{"submission_id": "a"}\n')
    assert _prepare(config) == run and (run / "predictions.jsonl").exists()  # resume
    other = load_config(PredictRun, None, {"output_dir": str(tmp_path / "run"), "limit": 3})
    with pytest.raises(PaperpredError, match="another config"):
        _prepare(other)
    _prepare(other, overwrite=True)
    assert not (run / "predictions.jsonl").exists()


def test_default_run_dir_names_the_run():
    assert str(PredictRun().run_dir()) == "runs/zero_shot-binary-abstract_only-smollm2-135m-instruct"


# ----- one schema: flat keys, sections, typed options, engine keys ---------------------------
def test_train_run_flat_and_nested_keys_land_in_the_spec_dataclasses(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("mode: grpo\nlearning_rate: 2.0e-4\nstratified_batches: true\n"
                    "training: {batch_size: 8}\nlora: {loraplus_lr_ratio: 16}\n"
                    "max_steps: 5\nextra: {temperature: 1.0}\n")
    config = load_config(TrainRun, path, {"num_processes": "2", "deepspeed": "zero2"})
    training = config.training
    assert (config.mode, training.learning_rate, training.batch_size) == ("grpo", 2e-4, 8)
    assert training.grpo.stratified_batches is True
    assert training.lora.loraplus_lr_ratio == 16.0
    assert (training.launch.num_processes, training.launch.deepspeed) == (2, "zero2")
    assert training.extra == {"max_steps": 5, "temperature": 1.0}
    assert load_config(TrainRun, None, {"mode": "sft"}).mode == "sft_lora"


def test_paperpred_keys_in_extra_and_resolved_fields_are_refused(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("extra: {stratified_batches: true}\ntraining: {output_dir: x}\n"
                    "learning_rat: 1\n")
    with pytest.raises(PaperpredError) as info:
        load_config(TrainRun, path)
    message = str(info.value)
    assert "'stratified_batches' is a paperpred option" in message
    assert "TrainingConfig.grpo.stratified_batches" in message
    assert "training.output_dir" in message and "set by the run" in message
    assert "did you mean 'learning_rate'" in message


def test_engine_options_reach_the_predictor_unchanged():
    config = load_config(PredictRun, None, {"engine_options": {"enforce_eager": True,
                                                               "max_model_len": 2048}})
    assert config.predictor.engine_options == {"enforce_eager": True, "max_model_len": 2048}
    from paperpred.inference.factory import engine_kwargs

    kwargs = engine_kwargs("vllm", config.predictor)
    assert kwargs["enforce_eager"] is True and kwargs["max_model_len"] == 2048


def test_a_saved_run_config_loads_back(tmp_path):
    """config.yaml of a run folder (resolved: model, model type, folder) is a --config."""
    import yaml

    config = load_config(PredictRun, None, {"limit": 3, "engine_options": {"x": 1}}).resolve()
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=True))
    again = load_config(PredictRun, path).resolve()
    assert again.to_dict() == config.to_dict()
    assert again.predictor.model_name_or_path == "smollm2-135m-instruct"
    train = load_config(TrainRun, ROOT / "configs" / "train_grpo_cpu.yaml").resolve()
    path.write_text(yaml.safe_dump(train.to_dict(), sort_keys=True))
    assert load_config(TrainRun, path).resolve().to_dict() == train.to_dict()


def test_one_mode_vocabulary_for_both_commands():
    assert load_config(PredictRun, None, {"mode": "sft", "adapter_path": "a"}).mode == "sft_lora"
    assert load_config(TrainRun, None, {"mode": "sft_lora"}).mode == "sft_lora"


def test_engine_options_reach_a_real_engine_or_fail_with_their_names(embedded_model):
    from paperpred.config import PredictorConfig
    from paperpred.errors import ConfigError
    from paperpred.inference.factory import backend_for

    config = PredictorConfig(model_name_or_path=str(embedded_model), backend="transformers",
                             engine_options={"max_images": 0, "score_end_of_turn": False})
    backend = backend_for(config)
    try:
        assert backend.max_images == 0 and backend.score_suffix_ids == []
    finally:
        backend.close()
    config.engine_options = {"enforce_eagre": True}
    with pytest.raises(ConfigError, match="enforce_eagre.*transformers backend"):
        backend_for(config)


def test_the_api_key_never_reaches_the_run_folder():
    config = load_config(PredictRun, None, {"backend": "openai", "base_urls": "http://h:1"})
    config.predictor.api_key = "sk-secret"
    assert "sk-secret" not in str(config.to_dict())


def test_a_named_engine_gets_its_own_run_folder():
    config = load_config(PredictRun, None, {"backend": "vllm"})
    assert str(config.run_dir()) == ("runs/zero_shot-binary-abstract_only-smollm2-135m-instruct"
                                     "-vllm")
