"""Bad config files: a !!python tag, wrong types, unknown keys, a 100 MB file, bytes that are
not UTF-8: one clear error each, nothing executed, nothing big read. And nowhere in paperpred a
loader that can run code from user data (pickle, yaml.load, torch.load without weights_only)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from paperpred.cli.main import main
from paperpred.errors import ConfigError
from paperpred.runs import PredictRun, TrainRun, load_config
from paperpred.runs.sweep import read_sweep

SRC = Path(__file__).resolve().parents[1] / "src" / "paperpred"


def test_a_python_tag_is_refused_and_never_run(tmp_path, capsys):
    marker = tmp_path / "pwned"
    config = tmp_path / "evil.yaml"
    config.write_text(f"limit: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(ConfigError, match=r"evil.yaml: line 1, column 8: .*!!python"):
        load_config(PredictRun, config)
    assert main(["predict", "--config", str(config)]) == 1
    assert "tags such as !!python" in capsys.readouterr().err
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"grid: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(ConfigError, match="sweep.yaml: line 1"):
        read_sweep(sweep)
    assert not marker.exists()


def test_wrong_types_and_unknown_keys_are_listed_together(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("limit: many\nlearning_rate: fast\nbatchsize: 4\n")
    with pytest.raises(ConfigError) as caught:
        load_config(TrainRun, config)
    text = str(caught.value)
    assert "limit: 'many'" in text and "learning_rate: 'fast'" in text
    assert "batchsize" in text and "batch_size" in text  # did you mean


def test_a_100_mb_file_is_refused_without_reading_it(tmp_path):
    big = tmp_path / "huge.yaml"
    with open(big, "wb") as fh:
        fh.truncate(100 * 1024 * 1024)  # sparse: 100 MB of nothing
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=r"104,857,600 bytes.*at most 1,000,000"):
        load_config(PredictRun, big)
    assert time.perf_counter() - started < 1.0


def test_not_utf8_and_not_a_mapping(tmp_path):
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("input: r\xe9sum\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin.yaml: not UTF-8 text \(byte 8\)"):
        load_config(PredictRun, latin)
    listed = tmp_path / "list.yaml"
    listed.write_text("- limit: 3\n")
    with pytest.raises(ConfigError, match="a YAML mapping of keys to values, got list"):
        load_config(PredictRun, listed)


UNSAFE = [
    (r"\bpickle\.loads?\(|\bimport pickle\b|\bdill\b|\bjoblib\.load\(", "pickle-style loading"),
    (r"\byaml\.(load|unsafe_load|full_load)\(", "a YAML loader that builds objects"),
    (r"\btorch\.load\((?![^)]*weights_only\s*=\s*True)", "torch.load without weights_only"),
    (r"(?<![\w.])(eval|exec)\(", "eval/exec"),
]


@pytest.mark.parametrize("pattern,what", UNSAFE)
def test_no_loader_that_runs_code(pattern, what):
    found = [f"{p.relative_to(SRC)}:{n}" for p in SRC.rglob("*.py")
             for n, line in enumerate(p.read_text().splitlines(), 1)
             if re.search(pattern, line) and not line.lstrip().startswith("#")]
    assert not found, f"{what}: {found}"
