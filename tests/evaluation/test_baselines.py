"""Baselines fitted on the training part and scored on the test part (real 2017 rows)."""

from __future__ import annotations

import pytest

from paperpred.data import stratified_split
from paperpred.evaluation import compute_baselines
from paperpred.evaluation.baselines import mean_rating_rule, shows_ratings
from paperpred.inputs import get_input_formatter
from paperpred.metrics_table import render_comparison
from paperpred.outputs import get_output_handler

pytest.importorskip("sklearn", reason="scikit-learn is needed by the learned baselines")


@pytest.fixture(scope="module")
def parts(iclr2017):
    split = stratified_split(iclr2017, ratios=(0.8, 0.0, 0.2), seed=42, stratify_by="binary")
    return list(split.train), list(split.test)


def test_shows_ratings_follows_the_formatter():
    assert shows_ratings(get_input_formatter("review_scores"))
    assert shows_ratings(get_input_formatter("abstract_with_reviews"))
    assert not shows_ratings(get_input_formatter("abstract_only"))


def test_binary_baselines_on_real_rows(parts):
    train, test = parts
    handler = get_output_handler("binary")
    found = {b.name: b for b in compute_baselines(handler, get_input_formatter(
        "abstract_with_reviews", max_review_chars=200), train, test, forest=True)}
    assert list(found) == ["majority", "mean_rating_rule", "rating_features_logreg",
                           "tfidf_logreg", "random_forest"]
    assert found["majority"].metrics["balanced_accuracy"] == 0.5
    assert found["majority"].fitted["label"] == "Reject"  # 2017's prior: 59% rejected
    rule = found["mean_rating_rule"]
    assert 5.0 <= rule.fitted["threshold"] <= 7.0
    # the ratings separate 2017's decisions well: the rule is the bar a model must reach
    assert rule.metrics["balanced_accuracy"] > 0.8 and rule.metrics["auc"] > 0.9
    assert found["tfidf_logreg"].metrics["auc"] > 0.5
    for baseline in found.values():
        assert baseline.metrics["n"] == len(test)
        assert len(baseline.predictions) == len(test)


def test_rule_threshold_is_fitted_on_the_training_part_only(parts):
    train, test = parts
    handler = get_output_handler("binary")
    rating = lambda s: s.labels["mean_rating"]
    accepted = [s for s in train if handler.label_value(s) == "Accept"]
    rejected = [s for s in train if handler.label_value(s) == "Reject"]
    # only strong accepts: the threshold sits high; only weak rejects: it sits low
    high = mean_rating_rule(handler, [s for s in accepted if rating(s) >= 7] + rejected, test)
    low = mean_rating_rule(handler, accepted + [s for s in rejected if rating(s) < 4.5], test)
    assert high.fitted["threshold"] >= 6.5
    assert low.fitted["threshold"] <= 5.0
    assert high.metrics == {} and len(high.predictions) == len(test)


def test_four_way_rule_has_increasing_cuts(parts):
    train, test = parts
    handler = get_output_handler("multiclass")
    rule = mean_rating_rule(handler, train, test)
    cuts = rule.fitted["cuts"]
    assert len(cuts) == 3 and cuts == sorted(cuts)


def test_comparison_table_lists_model_and_baselines(parts):
    train, test = parts
    handler = get_output_handler("binary")
    baselines = compute_baselines(handler, get_input_formatter("review_scores"), train, test,
                                  text=False)
    table = render_comparison([("adapter", baselines[1].metrics)]
                              + [(b.name, b.metrics) for b in baselines], title="t")
    lines = table.splitlines()
    assert lines[2].split()[:3] == ["bal.", "acc.", "AUC"]
    assert [line.split()[0] for line in lines[3:]] == ["adapter", "majority",
                                                       "mean_rating_rule",
                                                       "rating_features_logreg"]
    assert "[" in lines[4]  # intervals shown
