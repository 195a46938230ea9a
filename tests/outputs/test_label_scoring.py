"""Label scoring: candidate log-probabilities -> prediction, probabilities and score."""

from __future__ import annotations

import math

import numpy as np
import pytest

from paperpred.outputs import (
    BinaryAcceptRejectHandler,
    CitationPercentileHandler,
    MeanRatingHandler,
    MultiClassDecisionHandler,
)


def test_candidates() -> None:
    assert BinaryAcceptRejectHandler().candidates() == ["Accept", "Reject"]
    assert MultiClassDecisionHandler().candidates() == [
        "Reject", "Accept (Poster)", "Accept (Spotlight)", "Accept (Oral)"]
    assert MeanRatingHandler().candidates() == [str(i) for i in range(1, 11)]
    assert CitationPercentileHandler().candidates() == [
        "0.0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1.0"]
    assert MeanRatingHandler(as_percentile=True).candidates() == \
        CitationPercentileHandler().candidates()
    assert BinaryAcceptRejectHandler().candidate_texts() == ["Answer: Accept", "Answer: Reject"]


def test_binary_log_odds() -> None:
    handler = BinaryAcceptRejectHandler()
    out = handler.score_candidates({"Accept": -1.2, "Reject": -0.4})
    assert out["score"] == pytest.approx(-0.8)
    assert out["prediction"] == "Reject"
    p_accept = math.exp(-1.2) / (math.exp(-1.2) + math.exp(-0.4))
    assert out["probabilities"]["Accept"] == pytest.approx(p_accept)
    assert sum(out["probabilities"].values()) == pytest.approx(1.0)
    # the log-odds of the two-way softmax equals the log-probability difference
    assert math.log(p_accept / (1 - p_accept)) == pytest.approx(out["score"])
    assert out["parse_success"] is True and out["raw"] is None


def test_input_forms_agree() -> None:
    handler = BinaryAcceptRejectHandler()
    by_label = handler.score_candidates({"Accept": -2.0, "Reject": -3.0})
    by_text = handler.score_candidates({"Answer: Accept": -2.0, "Answer: Reject": -3.0})
    by_list = handler.score_candidates([-2.0, -3.0])
    assert by_label == by_text == by_list
    assert by_label["prediction"] == "Accept"


def test_tie_goes_to_accept_consistently_with_threshold_zero() -> None:
    handler = BinaryAcceptRejectHandler()
    out = handler.score_candidates([-1.0, -1.0])
    assert out["score"] == 0.0 and out["prediction"] == "Accept"
    m = handler.compute_metrics([out], ["Accept"], threshold=0.0, n_bootstrap=0)
    assert m["accuracy"] == 1.0


def test_infinite_log_probabilities() -> None:
    out = BinaryAcceptRejectHandler().score_candidates([-math.inf, -0.1])
    assert out["prediction"] == "Reject"
    assert math.isfinite(out["score"]) and out["score"] < -1000
    assert out["probabilities"]["Accept"] == 0.0


def test_invalid_log_probabilities_raise() -> None:
    handler = BinaryAcceptRejectHandler()
    with pytest.raises(ValueError, match="missing"):
        handler.score_candidates({"Accept": -1.0})
    with pytest.raises(ValueError, match="candidates"):
        handler.score_candidates([-1.0, -2.0, -3.0])
    with pytest.raises(ValueError):
        handler.score_candidates([float("nan"), -1.0])
    with pytest.raises(ValueError, match="-inf"):
        handler.score_candidates([-math.inf, -math.inf])


def test_multiclass_scores() -> None:
    handler = MultiClassDecisionHandler()
    lp = np.log([0.5, 0.3, 0.05, 0.15])
    out = handler.score_candidates(list(lp))
    assert out["prediction"] == "Reject"
    assert out["score"] == pytest.approx(0.5)  # P(accept)
    assert out["expected_index"] == pytest.approx(0.3 + 2 * 0.05 + 3 * 0.15)
    assert out["probabilities"]["Accept (Oral)"] == pytest.approx(0.15)


def test_multiclass_accept_auc_from_scores() -> None:
    handler = MultiClassDecisionHandler()
    preds = [handler.score_candidates(list(np.log(p))) for p in
             ([0.9, 0.05, 0.03, 0.02], [0.2, 0.6, 0.1, 0.1], [0.7, 0.2, 0.05, 0.05],
              [0.1, 0.3, 0.3, 0.3])]
    truth = ["Reject", "Accept (Poster)", "Accept (Oral)", "Accept (Oral)"]
    m = handler.compute_metrics(preds, truth, n_bootstrap=0)
    # P(accept) = 0.1, 0.8, 0.3, 0.9: accepted papers at 0.8, 0.3, 0.9 all outrank the reject
    assert m["accept_auc"] == 1.0
    assert m["accuracy"] == pytest.approx(0.5)


def test_rating_expected_value() -> None:
    handler = MeanRatingHandler()
    probs = np.zeros(10)
    probs[[4, 5]] = [0.25, 0.75]  # ratings 5 and 6
    with np.errstate(divide="ignore"):
        out = handler.score_candidates(list(np.log(probs)))
    assert out["score"] == pytest.approx(5.75)
    assert out["prediction"] == pytest.approx(5.75)
    assert out["mode"] == 6.0


def test_citation_expected_value_and_discretization() -> None:
    lp = [-math.inf] * 11
    lp[2], lp[8] = math.log(0.3), math.log(0.7)  # bins 0.2 and 0.8
    plain = CitationPercentileHandler().score_candidates(lp)
    assert plain["score"] == pytest.approx(0.3 * 0.2 + 0.7 * 0.8)  # 0.62
    assert plain["prediction"] == pytest.approx(plain["score"])
    assert plain["mode"] == 0.8
    binned = CitationPercentileHandler(discretize=True).score_candidates(lp)
    assert binned["prediction"] == 0.6  # the expected value, rounded to its bin
    assert binned["score"] == pytest.approx(plain["score"])


def test_scored_predictions_feed_metrics() -> None:
    handler = CitationPercentileHandler()
    preds = [handler.score_candidates([-abs(i / 10 - t) * 20 for i in range(11)])
             for t in (0.1, 0.5, 0.9)]
    m = handler.compute_metrics(preds, [0.1, 0.5, 0.9], n_bootstrap=0)
    assert m["parse_failures"] == 0 and m["pearson"] > 0.99 and m["mae"] < 0.05
