"""The seeded corrupted-data corpus (tests/data/corrupt_corpus.py, about 1,000 rows of real
sample rows with planted defects): lenient loads count exactly what was planted, by reason,
with no traceback; strict loads raise one DataError naming file, row, field and fix; and no
file outside the data roots is ever opened (checked with a Python audit hook)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from corrupt_corpus import build

from paperpred.data import ICLRDataLoader
from paperpred.data.paths import is_within
from paperpred.errors import DataError

FILES = ("corpus.csv", "corpus.jsonl", "corpus.parquet", "no_abstract.csv")
_OPENED: list[str] | None = None  # paths opened while recording (see _audit)


def _audit(event: str, args: tuple) -> None:
    if _OPENED is not None and event in ("open", "os.listdir", "os.scandir") and args \
            and isinstance(args[0], (str, bytes, os.PathLike)):
        _OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)  # cannot be removed; records only while _OPENED is a list


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build(tmp_path_factory.mktemp("corrupt"), seed=0)


def _loader(corpus, strict: bool) -> ICLRDataLoader:
    return ICLRDataLoader(data_dir=corpus.data_dir, image_base_dir=corpus.image_base_dir,
                          strict=strict)


def test_the_corpus_is_about_a_thousand_rows_with_every_kind_of_defect(corpus):
    assert corpus.n_rows >= 1000
    reasons = set().union(*(p.skipped for p in corpus.files.values()))
    assert reasons >= {"malformed JSON", "wrong type", "non-numeric year", "year out of range",
                       "missing required field", "empty title", "title too long",
                       "invalid UTF-8", "duplicate submission_id", "bad review", "bad label",
                       "unsafe submission_id"}
    refused = {column for p in corpus.files.values() for column, _ in p.missing}
    assert refused == {"page_image_paths", "markdown_path"}
    assert sum(sum(p.skipped.values()) for p in corpus.files.values()) >= 300


@pytest.mark.parametrize("name", FILES)
def test_lenient_counts_equal_the_planted_counts(corpus, name, caplog):
    planted = corpus.files[name]
    loader = _loader(corpus, strict=False)
    with caplog.at_level(logging.WARNING):
        loaded = list(loader.load(corpus.path(name), load_images=True))
    report = loader.report
    assert dict(report.skipped) == dict(planted.skipped)
    assert dict(report.missing_files) == dict(planted.missing)
    assert report.rows_read == planted.rows
    assert len(loaded) == report.loaded == planted.rows - sum(planted.skipped.values())
    assert "Traceback" not in caplog.text
    assert report.summary() in caplog.text  # the skips are reported, not silent
    for sub in loaded:  # what loaded points inside the roots only
        for path in [*(sub.page_images or []), sub.markdown_path, sub.image_dir]:
            if isinstance(path, Path):
                assert is_within(path, corpus.data_dir), path


@pytest.mark.parametrize("name", FILES)
def test_strict_raises_one_error_naming_file_row_field_and_fix(corpus, name):
    row, fld, reason = corpus.files[name].first
    with pytest.raises(DataError) as info:
        list(_loader(corpus, strict=True).load(corpus.path(name), load_images=True))
    error, message = info.value, str(info.value)
    assert (error.row, error.field or "") == (row, fld)
    assert reason in (error.reason, message.split(": ", 2)[-1].split(" (fix")[0].split(": ")[-1])
    assert str(corpus.path(name)) in message and f"row {row}" in message
    assert "fix:" in message


def test_no_file_outside_the_data_roots_is_opened(corpus):
    global _OPENED
    _OPENED = []
    try:
        for name in FILES:
            list(_loader(corpus, strict=False).load(corpus.path(name), load_images=True))
            with pytest.raises(DataError):
                list(_loader(corpus, strict=True).load(corpus.path(name), load_images=True))
        opened = _OPENED
    finally:
        _OPENED = None
    data = [p for p in opened if is_within(Path(p), corpus.data_dir)]
    # The hook sees Python's opens (pyarrow opens the parquet file in C++, unseen).
    assert {Path(p).name for p in data} >= {f for f in FILES if not f.endswith(".parquet")}
    assert not [p for p in opened if is_within(Path(p), corpus.outside)]
    python = (sys.prefix, sys.base_prefix, str(Path(__file__).parents[2]))
    strays = [p for p in opened if p not in data and not p.startswith(python)
              and not p.startswith(("/proc", "/dev", "/sys"))]
    assert strays == []


def test_the_cli_reports_the_corpus_without_a_traceback(corpus):
    cli = [sys.executable, "-m", "paperpred", "data", "inspect",
           "--image-base-dir", str(corpus.image_base_dir), "--data-dir", str(corpus.data_dir)]
    path = corpus.path("corpus.jsonl")
    lenient = subprocess.run([*cli, str(path)], capture_output=True, text=True, timeout=120)
    assert lenient.returncode == 0, lenient.stderr
    assert "Traceback" not in lenient.stdout + lenient.stderr
    assert "invalid UTF-8: " in lenient.stdout + lenient.stderr
    strict = subprocess.run([*cli, "--strict", str(path)], capture_output=True, text=True,
                            timeout=120)
    row, fld, _ = corpus.files["corpus.jsonl"].first
    assert strict.returncode != 0 and "Traceback" not in strict.stderr
    assert f"row {row}" in strict.stderr and f"'{fld}'" in strict.stderr
    assert "fix:" in strict.stderr
