"""The report's analysis on bundled papers with hand-made predictions: halves, the threshold
story, warnings, calibration, baselines on the test half."""

from __future__ import annotations

import math

import pytest

from paperpred import get_input_formatter, get_output_handler
from paperpred.evaluation.analysis import (
    analyse,
    collapse_warning,
    half_of,
    ndcg_at,
    prediction_shares,
    reliability,
)


@pytest.fixture(scope="module")
def papers(iclr2017):
    return [s for s in iclr2017 if s.get_binary_label()][:120]


def rows(papers, score):
    out = []
    for s in papers:
        value = score(s)
        p = 1 / (1 + math.exp(-value))
        out.append({"submission_id": s.submission_id, "prediction": "Accept" if value >= 0
                    else "Reject", "score": value, "probabilities": {"Accept": p,
                                                                     "Reject": 1 - p},
                    "parse_success": True, "ground_truth": s.get_binary_label()})
    return out


def test_halves_are_stable_and_about_even(papers):
    halves = [half_of(s.submission_id) for s in papers]
    assert halves == [half_of(s.submission_id) for s in papers]
    assert 0.35 < halves.count("test") / len(halves) < 0.65


def test_a_degenerate_predictor_is_flagged_and_the_threshold_rescues_it(papers):
    # Always "Accept" at the default rule, but the score ranks by the mean rating.
    def score(s):
        return 5.0 + sum(s.ratings) / max(1, len(s.ratings))

    out = analyse(get_output_handler("binary"), get_input_formatter("abstract_with_reviews"),
                  rows(papers, score), papers)
    assert any("recall of 'Reject' is 0.000" in w for w in out["warnings"])
    assert any("collapsed" in w for w in out["warnings"])
    threshold = out["threshold"]
    assert threshold["balanced_accuracy_default"] == 0.5
    assert threshold["balanced_accuracy_calibrated"] > 0.75
    names = [e["name"] for e in out["compared"]]
    assert names[:2] == ["model", "model, calibrated threshold"]
    assert {"majority", "tfidf_logreg", "mean_rating_rule", "random_forest"} <= set(names)
    assert out["baselines_fitted_on"] == "the calibration half"
    n_test = out["halves"]["test"]
    assert all(e["metrics"]["n"] == n_test for e in out["compared"])
    assert out["roc"]["model"]["auc"] == out["compared"][0]["metrics"]["auc"]
    assert out["score_vs_mean_rating_spearman"] > 0.99


def test_no_rating_rule_without_reviews_and_no_warning_for_a_fair_predictor(papers):
    out = analyse(get_output_handler("binary"), get_input_formatter("abstract_only"),
                  rows(papers, lambda s: sum(s.ratings) / len(s.ratings) - 5.5), papers)
    names = {e["name"] for e in out["compared"]}
    assert "mean_rating_rule" not in names and {"majority", "tfidf_logreg"} <= names
    assert out["warnings"] == []


def test_a_training_split_fits_the_baselines(papers):
    out = analyse(get_output_handler("binary"), get_input_formatter("abstract_only"),
                  rows(papers[60:], lambda s: 0.1), papers[60:], train=papers[:60])
    assert out["baselines_fitted_on"] == "the training split"


def test_reliability_and_ece():
    out = reliability([0.05, 0.05, 0.95, 0.95], [False, False, True, True])
    assert out["ece"] == pytest.approx(0.05)
    assert [b["n"] for b in out["bins"]] == [2, 2]
    assert reliability([0.9, 0.9], [False, False])["ece"] == pytest.approx(0.9)


def test_shares_collapse_and_ndcg():
    shares = prediction_shares([{"prediction": "Accept"}] * 19 + [{"prediction": "Reject"}])
    assert shares == {"Accept": 0.95, "Reject": 0.05}
    assert "95%" in collapse_warning(shares, "held out")
    assert collapse_warning({"Accept": 0.6, "Reject": 0.4}, "x") is None
    assert ndcg_at([3, 2, 1], [1.0, 0.5, 0.0], 2) == pytest.approx(1.0)
    assert ndcg_at([1, 2, 3], [1.0, 0.5, 0.0], 1) == pytest.approx(0.0)


def test_baselines_that_cannot_be_fitted_are_named_not_raised(papers):
    accepted = [s for s in papers if s.get_binary_label() == "Accept"][:2]
    out = analyse(get_output_handler("binary"), get_input_formatter("abstract_only"),
                  rows(papers[:40], lambda s: 0.1), papers[:40], train=accepted)
    assert "tfidf_logreg" in out["baselines_skipped"]
    assert [e["name"] for e in out["compared"]] == ["model", "model, calibrated threshold",
                                                    "majority", "random_forest"]
    tiny = analyse(get_output_handler("binary"), get_input_formatter("abstract_only"),
                   rows(papers[:1], lambda s: 0.1), papers[:1])
    assert tiny["baselines_skipped"] == {
        "every baseline": "no papers to fit on, or an empty test half"}
