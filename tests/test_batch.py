"""BatchPredictor's journal: append as it goes, resume without duplicates or gaps.

The predictor here is scripted (a unit test of the journal logic); the end-to-end kill-and-
resume test with the real model and CLI is in tests/test_predict_cli.py."""

import json

import pytest

from paperpred.batch import BatchPredictor, journal_path, read_journal
from paperpred.errors import PaperpredError


class Scripted:
    """Predicts 'Accept' for every paper and records what it was asked; can fail midway."""

    def __init__(self, fail_after=None):
        self.calls, self.fail_after = [], fail_after

    def predict(self, subs):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise RuntimeError("killed")
        self.calls.append([s.submission_id for s in subs])
        return [{"submission_id": s.submission_id, "prediction": "Accept",
                 "ground_truth": s.get_binary_label(), "parse_success": True} for s in subs]

    def evaluate(self, predictions):
        return {"n": len(predictions)}


@pytest.fixture
def subs():
    from paperpred import load_sample

    return load_sample()[:23]


def test_predicts_all_in_input_order(tmp_path, subs):
    out = BatchPredictor(Scripted(), batch_size=5, show_progress=False).predict_and_save(
        subs, tmp_path / "predictions.json")
    result = json.loads(out.read_text())
    assert [p["submission_id"] for p in result["predictions"]] == [s.submission_id for s in subs]
    assert result["metrics"] == {"n": 23}
    assert len(read_journal(journal_path(out))) == 23


def test_resume_after_a_failure_predicts_only_the_rest(tmp_path, subs):
    out = tmp_path / "predictions.json"
    with pytest.raises(RuntimeError):
        BatchPredictor(Scripted(fail_after=2), batch_size=5, show_progress=False).predict_and_save(
            subs, out)
    assert len(read_journal(journal_path(out))) == 10 and not out.exists()
    # A kill mid-write leaves a torn last line: it is dropped, not duplicated.
    with open(journal_path(out), "a") as handle:
        handle.write('{"submission_id": "torn", "predi')
    again = Scripted()
    BatchPredictor(again, batch_size=5, show_progress=False).predict_and_save(subs, out)
    asked = [i for call in again.calls for i in call]
    assert asked == [s.submission_id for s in subs[10:]]
    ids = [r["submission_id"] for r in read_journal(journal_path(out))]
    assert sorted(ids) == sorted(s.submission_id for s in subs) and len(ids) == len(set(ids))


def test_journal_from_another_data_set_is_refused(tmp_path, subs):
    out = tmp_path / "predictions.json"
    journal_path(out).write_text('{"submission_id": "not-in-this-run"}\n')
    with pytest.raises(PaperpredError, match="not in this run"):
        BatchPredictor(Scripted(), show_progress=False).predict_and_save(subs, out)
