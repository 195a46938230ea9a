"""Metrics checked against scikit-learn and scipy, on random and edge-case inputs."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    precision_recall_fscore_support,
    recall_score,
    roc_auc_score,
)

from paperpred.data.venue_decisions import MULTICLASS_LABELS
from paperpred.outputs import (
    BinaryAcceptRejectHandler,
    CitationPercentileHandler,
    MeanRatingHandler,
    MultiClassDecisionHandler,
    choose_threshold,
    classification_metrics,
    regression_metrics,
    roc_auc,
)

UNPARSED = "<unparsed>"


@pytest.fixture(autouse=True)
def _quiet_sklearn():
    # scikit-learn warns on ill-defined precision and one-class inputs; the values still count.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _random_binary(seed: int, n: int, fail_rate: float = 0.1):
    rng = np.random.default_rng(seed)
    truth = list(rng.choice(["Accept", "Reject"], n, p=[0.35, 0.65]))
    preds = [None if rng.random() < fail_rate else str(rng.choice(["Accept", "Reject"]))
             for _ in range(n)]
    scores = [float(x) for x in rng.normal(size=n) + np.array([t == "Accept" for t in truth])]
    return truth, preds, scores


@pytest.mark.parametrize("seed", range(6))
def test_binary_metrics_match_sklearn(seed: int) -> None:
    truth, preds, scores = _random_binary(seed, n=30 + 20 * seed)
    dicts = [{"prediction": p, "parse_success": p is not None, "score": s}
             for p, s in zip(preds, scores)]
    m = BinaryAcceptRejectHandler().compute_metrics(dicts, truth, n_bootstrap=200)
    sk_pred = [p or UNPARSED for p in preds]
    labels = ["Accept", "Reject"]
    assert m["accuracy"] == pytest.approx(accuracy_score(truth, sk_pred))
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(truth, sk_pred))
    assert m["f1"] == pytest.approx(f1_score(truth, sk_pred, labels=["Accept"], average="macro"))
    assert m["macro_f1"] == pytest.approx(f1_score(truth, sk_pred, labels=labels, average="macro"))
    recalls = recall_score(truth, sk_pred, labels=labels, average=None)
    assert [m["recall_accept"], m["recall_reject"]] == pytest.approx(list(recalls))
    f1s = f1_score(truth, sk_pred, labels=labels, average=None)
    assert [m["f1_accept"], m["f1_reject"]] == pytest.approx(list(f1s))
    assert m["auc"] == pytest.approx(roc_auc_score([t == "Accept" for t in truth], scores))
    assert m["confusion_matrix"]["matrix"] == confusion_matrix(truth, sk_pred,
                                                               labels=labels).tolist()
    assert m["parse_failures"] == preds.count(None)
    assert m["parse_failure_rate"] == pytest.approx(preds.count(None) / len(preds))
    assert sum(m["confusion_matrix"]["unparsed"]) == preds.count(None)
    for key in ("accuracy", "balanced_accuracy", "f1", "macro_f1", "auc"):
        lo, hi = m[f"{key}_ci"]
        assert lo <= m[key] + 1e-9 and m[key] - 1e-9 <= hi


@pytest.mark.parametrize("seed", range(4))
def test_multiclass_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = 80
    # 2017-like: no Spotlight in the truth, but the model may still predict it
    truth = list(rng.choice(["Reject", "Accept (Poster)", "Accept (Oral)"], n, p=[.6, .35, .05]))
    preds = [None if rng.random() < 0.1 else str(rng.choice(MULTICLASS_LABELS)) for _ in range(n)]
    m = MultiClassDecisionHandler().compute_metrics(preds, truth, n_bootstrap=100)
    sk_pred = [p or UNPARSED for p in preds]
    labels = list(MULTICLASS_LABELS)
    assert m["accuracy"] == pytest.approx(accuracy_score(truth, sk_pred))
    present = [lab for lab in labels if lab in truth or lab in preds]
    assert m["macro_f1"] == pytest.approx(f1_score(truth, sk_pred, labels=present,
                                                   average="macro"))
    p, r, f, s = precision_recall_fscore_support(truth, sk_pred, labels=labels, average=None)
    for i, label in enumerate(labels):
        got = m["per_class"][label]
        assert (got["precision"], got["recall"], got["f1"]) == pytest.approx((p[i], r[i], f[i]))
        assert got["support"] == s[i]
    assert m["confusion_matrix"]["labels"] == labels
    assert m["confusion_matrix"]["matrix"] == confusion_matrix(truth, sk_pred,
                                                               labels=labels).tolist()


@pytest.mark.parametrize("seed", range(4))
def test_regression_metrics_match_scipy(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    truth = rng.uniform(1, 10, 60)
    preds = truth + rng.normal(0, 1.5, 60)
    preds = np.round(preds, 1)  # ties in the ranks
    as_list: list[float | None] = [float(x) for x in preds]
    as_list[3] = None  # one parse failure
    m = MeanRatingHandler().compute_metrics(as_list, list(truth), n_bootstrap=200)
    keep = [i for i in range(60) if i != 3]
    x, y = preds[keep], truth[keep]
    assert m["mae"] == pytest.approx(mean_absolute_error(y, x))
    assert m["rmse"] == pytest.approx(math.sqrt(np.mean((x - y) ** 2)))
    assert m["pearson"] == pytest.approx(pearsonr(x, y)[0])
    assert m["spearman"] == pytest.approx(spearmanr(x, y)[0])
    assert (m["n"], m["n_parsed"], m["parse_failures"]) == (60, 59, 1)
    assert m["metrics_on"] == "parsed"
    lo, hi = m["pearson_ci"]
    assert -1 <= lo <= m["pearson"] <= hi <= 1


def test_roc_auc_with_ties_matches_sklearn() -> None:
    y = [True, False, True, False, True, False, False]
    s = [0.5, 0.5, 0.9, 0.1, 0.5, 0.9, 0.2]
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))


# ----- edge cases -------------------------------------------------------------------------
def test_empty_inputs() -> None:
    for handler in (BinaryAcceptRejectHandler(), MultiClassDecisionHandler()):
        m = handler.compute_metrics([], [])
        assert m["n"] == 0 and m["accuracy"] is None and m["accuracy_ci"] is None
        assert m["parse_failure_rate"] is None
    m = CitationPercentileHandler().compute_metrics([], [])
    assert m["n"] == 0 and m["mae"] is None and m["pearson"] is None


def test_one_class_present() -> None:
    truth = ["Reject"] * 5
    preds = ["Reject", "Reject", "Accept", None, "Reject"]
    scores = [{"prediction": p, "score": s} for p, s in zip(preds, [-1, -2, 1, None, -3])]
    m = BinaryAcceptRejectHandler().compute_metrics(scores, truth)
    sk = [p or UNPARSED for p in preds]
    assert m["accuracy"] == pytest.approx(accuracy_score(truth, sk))
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(truth, sk))
    assert m["auc"] is None and m["auc_ci"] is None  # undefined with one class
    assert m["auc_n"] == 4
    assert m["recall_accept"] == 0.0


def test_all_parse_failures() -> None:
    truth = ["Accept", "Reject", "Reject"]
    failed = [{"prediction": None, "parse_success": False, "raw": "??"}] * 3
    m = BinaryAcceptRejectHandler().compute_metrics(failed, truth)
    assert m["accuracy"] == 0.0 and m["balanced_accuracy"] == 0.0
    assert m["parse_failures"] == 3 and m["parse_failure_rate"] == 1.0
    assert m["confusion_matrix"]["unparsed"] == [1, 2]
    r = MeanRatingHandler().compute_metrics([None, "garbage"], [5.0, 6.0])
    assert r["n_parsed"] == 0 and r["mae"] is None and r["parse_failure_rate"] == 1.0


def test_constant_predictions_have_no_correlation() -> None:
    m = CitationPercentileHandler().compute_metrics([0.5] * 6, [0.1, 0.2, 0.3, 0.5, 0.8, 0.9])
    assert m["pearson"] is None and m["spearman"] is None  # undefined, reported as None
    assert m["mae"] == pytest.approx(np.mean(np.abs(np.array([0.1, 0.2, 0.3, 0.5, 0.8, 0.9])
                                                    - 0.5)))
    assert m["pearson_ci"] is None
    assert regression_metrics([1.0], [2.0])["pearson"] is None  # a single pair


def test_constant_binary_predictions() -> None:
    truth = ["Accept", "Reject", "Reject", "Reject"]
    m = BinaryAcceptRejectHandler().compute_metrics(["Reject"] * 4, truth)
    assert m["accuracy"] == 0.75
    assert m["balanced_accuracy"] == 0.5
    assert m["f1"] == 0.0 and m["precision_accept"] == 0.0


def test_unlabelled_examples_are_excluded_and_counted() -> None:
    truth = ["Accept", None, "ICLR 2025 Conference Withdrawn Submission", "Reject"]
    m = BinaryAcceptRejectHandler().compute_metrics(["Accept", "Accept", "Reject", "Reject"],
                                                    truth)
    assert m["n"] == 2 and m["n_excluded_no_label"] == 2 and m["accuracy"] == 1.0
    r = MeanRatingHandler().compute_metrics([5.0, 6.0, 7.0], [5.0, None, float("nan")])
    assert r["n"] == 1 and r["n_excluded_no_label"] == 2


def test_predictions_in_every_accepted_form(sample: list) -> None:
    handler = BinaryAcceptRejectHandler()
    subs = sample[:4]
    truths = [s.get_binary_label() for s in subs]
    forms = [handler.parse_prediction(f"Answer: {truths[0]}"), truths[1],
             f"Reasoning...\nAnswer: {truths[2]}", {"prediction": truths[3].lower()}]
    m = handler.compute_metrics(forms, subs)  # Submissions as ground truths
    assert m["accuracy"] == 1.0 and m["parse_failures"] == 0


def test_mismatched_lengths_and_bad_truths_raise() -> None:
    with pytest.raises(ValueError, match="predictions for"):
        BinaryAcceptRejectHandler().compute_metrics(["Accept"], [])
    with pytest.raises(ValueError):
        classification_metrics(["Maybe"], ["Accept"], ["Accept", "Reject"])
    with pytest.raises(ValueError, match="threshold"):
        MultiClassDecisionHandler().compute_metrics(["Reject"], ["Reject"], threshold=0.0)


def test_bootstrap_is_seeded_and_configurable() -> None:
    truth, preds, scores = _random_binary(7, 60)
    a = BinaryAcceptRejectHandler().compute_metrics(preds, truth, seed=3)
    b = BinaryAcceptRejectHandler().compute_metrics(preds, truth, seed=3)
    c = BinaryAcceptRejectHandler().compute_metrics(preds, truth, seed=4)
    keys = ("accuracy_ci", "balanced_accuracy_ci", "macro_f1_ci", "f1_ci")
    assert [a[k] for k in keys] == [b[k] for k in keys]
    assert [a[k] for k in keys] != [c[k] for k in keys]
    assert a["bootstrap"] == {"n_resamples": 1000, "seed": 3, "confidence": 0.95}
    none = BinaryAcceptRejectHandler().compute_metrics(preds, truth, n_bootstrap=0)
    assert none["accuracy_ci"] is None and none["accuracy"] == a["accuracy"]


def test_bootstrap_interval_covers_a_known_rate() -> None:
    # 300 examples at 70% accuracy: the 95% interval is about +-5 points wide
    truth = ["Accept"] * 300
    preds = ["Accept"] * 210 + ["Reject"] * 90
    lo, hi = classification_metrics(truth, preds, ["Accept", "Reject"])["accuracy_ci"]
    assert 0.63 < lo < 0.67 and 0.73 < hi < 0.77


# ----- thresholds -------------------------------------------------------------------------
def test_choose_threshold_beats_the_default() -> None:
    # A model biased towards Accept: every score is positive, but accepted papers score higher.
    rng = np.random.default_rng(0)
    truth = ["Accept"] * 40 + ["Reject"] * 60
    scores = list(np.concatenate([rng.normal(3.0, 0.5, 40), rng.normal(2.0, 0.5, 60)]))
    handler = BinaryAcceptRejectHandler()
    preds = [{"prediction": "Accept", "score": float(s)} for s in scores]
    t = handler.choose_threshold(preds, truth)
    default = handler.compute_metrics(preds, truth, threshold=0.0, n_bootstrap=0)
    tuned = handler.compute_metrics(preds, truth, threshold=t, n_bootstrap=0)
    assert default["balanced_accuracy"] == 0.5
    assert tuned["balanced_accuracy"] > 0.8
    assert 2.0 < t < 3.0 and tuned["threshold"] == t
    # the chosen threshold is optimal among all cut points on this data
    for cut in np.linspace(1, 4, 61):
        y_pred = ["Accept" if s >= cut else "Reject" for s in scores]
        assert balanced_accuracy_score(truth, y_pred) <= tuned["balanced_accuracy"] + 1e-12


def test_choose_threshold_edge_cases() -> None:
    assert choose_threshold([], []) == 0.0
    assert choose_threshold([1.0, 2.0], ["Accept", "Accept"]) == 0.0  # one class
    assert choose_threshold([None, float("nan")], ["Accept", "Reject"]) == 0.0
    # ties: all scores equal -> no cut separates them; nearest to 0 wins among equals
    t = choose_threshold([1.0, 1.0, 1.0], ["Accept", "Reject", "Reject"])
    assert balanced_accuracy_score(["Accept", "Reject", "Reject"],
                                   ["Accept" if 1.0 >= t else "Reject"] * 3) == 0.5
    # perfectly separable with a tie at the boundary
    t = choose_threshold([-1.0, 0.5, 0.5, 2.0], ["Reject", "Accept", "Accept", "Accept"])
    assert -1.0 < t <= 0.5
