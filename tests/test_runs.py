"""Run configs: defaults < YAML < flags, unknown keys and bad values reported at once."""

import pytest

from paperpred.errors import PaperpredError
from paperpred.runs import RunConfig, load_run_config, prepare_run_dir


def test_precedence(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("output: multiclass\nbatch_size: 4\nlimit: 20\n")
    config = load_run_config(path, {"limit": "5", "model": None})
    assert (config.output, config.batch_size, config.limit) == ("multiclass", 4, 5)
    assert config.model == RunConfig().model  # None overrides are ignored


def test_every_problem_at_once(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("outptu: binary\nbackend: tgi\nbatch_size: 0\nmode: grpo\n")
    with pytest.raises(PaperpredError) as info:
        load_run_config(path, {"reading": "guess"})
    message = str(info.value)
    for part in ("unknown key 'outptu'", "backend must be one of", "reading must be one of",
                 "batch_size must be at least 1", "set adapter_path"):
        assert part in message


def test_openai_needs_an_endpoint():
    with pytest.raises(PaperpredError, match="base_urls"):
        load_run_config(None, {"backend": "openai"})
    config = load_run_config(None, {"backend": "openai", "base_urls": "http://127.0.0.1:8000"})
    assert config.base_urls == ["http://127.0.0.1:8000"]


def test_run_dir_reuse_and_conflict(tmp_path):
    config = load_run_config(None, {"output_dir": str(tmp_path / "run")})
    run = prepare_run_dir(config)
    (run / "predictions.jsonl").write_text('{"submission_id": "a"}\n')
    assert prepare_run_dir(config) == run and (run / "predictions.jsonl").exists()  # resume
    other = load_run_config(None, {"output_dir": str(tmp_path / "run"), "limit": 3})
    with pytest.raises(PaperpredError, match="another config"):
        prepare_run_dir(other)
    prepare_run_dir(other, overwrite=True)
    assert not (run / "predictions.jsonl").exists()


def test_default_run_dir_names_the_run():
    assert str(RunConfig().run_dir()) == "runs/zero_shot-binary-abstract_only-smollm2-135m-instruct"
