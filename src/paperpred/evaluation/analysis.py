"""What a run's report says beyond its headline metrics: the class prior, the threshold story,
baselines on the same papers, calibration, per-year slices, rank agreement with the reviewers
and the warnings (a degenerate predictor).

The protocol (PaperLens-style, stated in every report):

- The evaluated papers are split in two halves by a stable hash of the submission id
  (:func:`half_of`): the *calibration* half and the *test* half. A zero-shot run has no
  training split, so the calibration half stands in for one: the decision threshold is chosen
  there (maximising balanced accuracy) and the baselines are fitted there. A training run's
  baselines are fitted on its training split instead; its threshold is still chosen on the
  calibration half of the held-out papers.
- Everything compared (the model at its default threshold, the model at the calibrated
  threshold, each baseline) is measured on the test half, with 95% bootstrap intervals.
- The warning: a class whose recall is below 10% (:data:`COLLAPSE_RECALL`) over all evaluated
  papers marks the predictor as degenerate.

Everything here is plain data (JSON-ready): ``analyse`` returns what goes into metrics.json
under ``"analysis"``; the report renders only from it and from predictions.json.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from paperpred.data.submission import Submission
from paperpred.evaluation.baselines import compute_baselines
from paperpred.outputs.citation import CitationPercentileHandler
from paperpred.outputs.metrics import finite_or_none, roc_auc
from paperpred.outputs.scores import ScoreHandler

#: A class recall below this marks a degenerate predictor.
COLLAPSE_RECALL = 0.10
#: A predicted class taking more than this share of the predictions marks a collapse.
COLLAPSE_SHARE = 0.90
RELIABILITY_BINS = 10
PROTOCOL = ("papers split in halves by a hash of the submission id; threshold and (for "
            "zero-shot runs) baselines fitted on the calibration half; everything compared "
            "on the test half; 95% bootstrap intervals")


def half_of(submission_id: str) -> str:
    """``"calibration"`` or ``"test"``: a stable split by the id's SHA-256 (no seed)."""
    digest = hashlib.sha256(str(submission_id).encode("utf-8")).digest()
    return "calibration" if digest[0] % 2 == 0 else "test"


def _kind(handler: Any) -> str:
    if isinstance(handler, ScoreHandler):
        return "score"
    return "binary" if getattr(handler, "positive", None) is not None else "multiclass"


def prediction_shares(predictions: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Share of each predicted value among parsed predictions (classes only)."""
    counts = Counter(str(p.get("prediction")) for p in predictions
                     if p.get("prediction") is not None)
    total = sum(counts.values())
    return {k: round(v / total, 4) for k, v in counts.most_common()} if total else {}


def collapse_warning(shares: dict[str, float], where: str) -> str | None:
    """A warning when one predicted class takes more than 90% of ``shares``."""
    if not shares:
        return None
    top, share = next(iter(shares.items()))
    if share > COLLAPSE_SHARE:
        return (f"{where}: {share:.0%} of the predictions are {top!r} (more than "
                f"{COLLAPSE_SHARE:.0%}): the predictor has collapsed onto one class")
    return None


def degenerate_warnings(metrics: dict[str, Any]) -> list[str]:
    """One line per class whose recall is below :data:`COLLAPSE_RECALL`."""
    found = []
    for name, row in (metrics.get("per_class") or {}).items():
        recall = row.get("recall")
        if row.get("support") and recall is not None and recall < COLLAPSE_RECALL:
            found.append(f"degenerate predictor: recall of {name!r} is {recall:.3f} (below "
                         f"{COLLAPSE_RECALL:.0%}, {row['support']} papers); its default "
                         "decisions say little, read AUC and the calibrated threshold instead")
    return found


def reliability(probabilities: Sequence[float], outcomes: Sequence[bool],
                bins: int = RELIABILITY_BINS) -> dict[str, Any]:
    """Reliability diagram rows (equal-width bins of the predicted probability) and ECE."""
    p = np.asarray(probabilities, dtype=float)
    y = np.asarray(outcomes, dtype=float)
    rows, ece = [], 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = (p >= lo) & ((p < hi) if b < bins - 1 else (p <= hi))
        n = int(inside.sum())
        if not n:
            continue
        mean_p, rate = float(p[inside].mean()), float(y[inside].mean())
        ece += n / len(p) * abs(mean_p - rate)
        rows.append({"bin": [lo, hi], "n": n, "mean_probability": mean_p,
                     "observed_rate": rate})
    return {"bins": rows, "ece": ece if len(p) else None}


def _spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    if len(x) < 3 or float(np.std(x)) == 0.0 or float(np.std(y)) == 0.0:
        return None
    import warnings

    from scipy.stats import spearmanr

    with warnings.catch_warnings():  # a constant input: NaN, reported as None
        warnings.simplefilter("ignore")
        value = spearmanr(x, y).statistic
    return finite_or_none(float(value))


def ndcg_at(scores: Sequence[float], gains: Sequence[float], k: int) -> float | None:
    """NDCG@k of ranking by ``scores`` with ``gains`` as relevance."""
    if not scores or k < 1:
        return None
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")[:k]
    ideal = np.sort(np.asarray(gains, dtype=float))[::-1][:k]
    discounts = 1.0 / np.log2(np.arange(2, len(order) + 2))
    best = float((ideal * discounts[:len(ideal)]).sum())
    got = float((np.asarray(gains, dtype=float)[order] * discounts).sum())
    return got / best if best > 0 else None


def _mean_rating(sub: Submission | None) -> float | None:
    ratings = sub.ratings if sub is not None else []
    return float(np.mean(ratings)) if ratings else None


def _per_year(handler: Any, rows: list[dict[str, Any]], subs: dict[str, Submission],
              kind: str) -> list[dict[str, Any]]:
    years: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        sub = subs.get(row["submission_id"])
        years.setdefault(getattr(sub, "year", None), []).append(row)
    out = []
    for year, part in sorted(years.items(), key=lambda kv: str(kv[0])):
        m = handler.compute_metrics(part, [r["ground_truth"] for r in part], n_bootstrap=0)
        entry: dict[str, Any] = {"year": year, "n": m.get("n", 0)}
        if kind == "score":
            entry.update(mae=m.get("mae"), spearman=m.get("spearman"))
        else:
            entry.update(accuracy=m.get("accuracy"), balanced_accuracy=m.get("balanced_accuracy"),
                         auc=m.get("auc", m.get("accept_auc")))
            if kind == "binary":
                truths = [handler.read_truth(r["ground_truth"]) for r in part]
                labelled = [t for t in truths if t is not None]
                entry["accept_rate"] = (sum(t == handler.positive for t in labelled)
                                        / len(labelled)) if labelled else None
        out.append(entry)
    return out


def _roc_points(scores: Sequence[float], positive: Sequence[bool]) -> dict[str, list[float]]:
    s = np.asarray(scores, dtype=float)
    y = np.asarray(positive, dtype=bool)
    if not len(s) or y.all() or not y.any():
        return {"fpr": [], "tpr": []}
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    distinct = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps, fps = np.cumsum(y)[distinct], np.cumsum(~y)[distinct]
    return {"fpr": [0.0, *(fps / (~y).sum()).tolist()], "tpr": [0.0, *(tps / y.sum()).tolist()]}


def _scored(handler: Any, rows: Sequence[dict[str, Any]]) -> tuple[list[float], list[bool]]:
    """(score, is positive) for the labelled rows with a finite score."""
    scores, positive = [], []
    for row in rows:
        truth = handler.read_truth(row["ground_truth"])
        score = finite_or_none(row.get("score"))
        if truth is None or score is None:
            continue
        scores.append(score)
        positive.append(truth != "Reject" if getattr(handler, "positive", None) is None
                        else truth == handler.positive)
    return scores, positive


def analyse(handler: Any, formatter: Any, predictions: Sequence[dict[str, Any]],
            submissions: Sequence[Submission], train: Sequence[Submission] | None = None,
            text_baseline: bool = True, metrics: dict[str, Any] | None = None
            ) -> dict[str, Any]:
    """The report's analysis of one run (see the module docstring).

    Args:
        handler, formatter: the run's output handler and input formatter.
        predictions: the run's prediction rows (``submission_id``, ``prediction``, ``score``,
            ``ground_truth``, ...).
        submissions: the evaluated papers (their ids match ``predictions``).
        train: a training run's training split (baselines are fitted there); None for
            zero-shot runs (the calibration half stands in).
        text_baseline: include TF-IDF + logistic regression on the text the model is shown.
        metrics: the run's headline metrics over ``predictions``, when already computed (the
            warnings read their per-class recall); None computes them.
    """
    kind = _kind(handler)
    subs = {s.submission_id: s for s in submissions}
    rows = [dict(p) for p in predictions if p.get("submission_id") in subs]
    halves: dict[str, list[dict[str, Any]]] = {"calibration": [], "test": []}
    for row in rows:
        halves[half_of(row["submission_id"])].append(row)
    test_rows = halves["test"]
    calib_subs = [subs[r["submission_id"]] for r in halves["calibration"]]
    test_subs = [subs[r["submission_id"]] for r in test_rows]
    truths_test = [r["ground_truth"] for r in test_rows]
    overall = metrics if metrics is not None else handler.compute_metrics(
        rows, [r["ground_truth"] for r in rows], n_bootstrap=0)
    labelled = [handler.read_truth(r["ground_truth"]) for r in rows]
    prior = Counter(str(t) for t in labelled if t is not None)
    out: dict[str, Any] = {
        "kind": kind, "protocol": PROTOCOL,
        "halves": {"calibration": len(halves["calibration"]), "test": len(test_rows)},
        "prior": dict(prior.most_common()) if kind != "score" else {},
        "prediction_shares": prediction_shares(rows) if kind != "score" else {},
        "warnings": degenerate_warnings(overall) if kind != "score" else [],
    }
    collapsed = collapse_warning(out["prediction_shares"], "predictions")
    if collapsed:
        out["warnings"].append(collapsed)
    compared: list[dict[str, Any]] = [{
        "name": "model", "description": "the run's predictions at the default rule",
        "metrics": handler.compute_metrics(test_rows, truths_test)}]
    if kind == "binary":
        calib = halves["calibration"]
        threshold = handler.choose_threshold([r.get("score") for r in calib],
                                             [r["ground_truth"] for r in calib])
        tuned = handler.compute_metrics(test_rows, truths_test, threshold=threshold)
        compared.append({"name": "model, calibrated threshold",
                         "description": f"Accept when score >= {threshold:.3f} (chosen on the "
                                        "calibration half)", "metrics": tuned})
        out["threshold"] = {"default": 0.0, "calibrated": threshold,
                            "balanced_accuracy_default": compared[0]["metrics"].get(
                                "balanced_accuracy"),
                            "balanced_accuracy_calibrated": tuned.get("balanced_accuracy")}
        probs = [(float(r["probabilities"][handler.positive]),
                  handler.read_truth(r["ground_truth"]) == handler.positive)
                 for r in rows if r.get("probabilities") and handler.positive in
                 r["probabilities"] and handler.read_truth(r["ground_truth"]) is not None]
        if probs:
            out["calibration"] = reliability([p for p, _ in probs], [y for _, y in probs])
    if kind == "multiclass":
        means: dict[str, float] = {}
        for label in handler.labels:
            values = [r["expected_index"] for r in rows if r.get("expected_index") is not None
                      and handler.read_truth(r["ground_truth"]) == label]
            if values:
                means[label] = float(np.mean(values))
        order = [means[label] for label in handler.labels if label in means]
        rising = all(a < b for a, b in zip(order[:-1], order[1:], strict=True))
        out["ordinal"] = {"mean_expected_index": means, "increasing": rising}
    fit_on = list(train) if train is not None else calib_subs
    # Too few papers (a tiny held-out part) leave a half empty: no baselines then.
    skipped: dict[str, str] = {}
    baselines = (compute_baselines(handler, formatter, fit_on, test_subs, text=text_baseline,
                                   forest=True, skipped=skipped) if fit_on and test_subs else [])
    if not (fit_on and test_subs):
        skipped["every baseline"] = "no papers to fit on, or an empty test half"
    out["baselines_skipped"] = skipped
    for b in baselines:
        compared.append({"name": b.name, "description": b.description, "metrics": b.metrics,
                         "scores": {s.submission_id: p.get("score") for s, p in
                                    zip(test_subs, b.predictions, strict=True)}})
    out["baselines_fitted_on"] = ("the training split" if train is not None
                                  else "the calibration half")
    out["compared"] = compared
    if kind != "score":
        roc = {}
        for entry in compared:
            if entry["name"] == "model, calibrated threshold":
                continue
            scored: tuple[list[float], list[bool]]
            if entry["name"] == "model":
                scored = _scored(handler, test_rows)
            else:
                pairs = [(entry["scores"].get(r["submission_id"]), r) for r in test_rows]
                scored = _scored(handler, [dict(r, score=s) for s, r in pairs])
            if scored[0]:
                roc[entry["name"]] = _roc_points(*scored)
                roc[entry["name"]]["auc"] = roc_auc(scored[1], scored[0])  # type: ignore[assignment]
        out["roc"] = roc
    for entry in compared:
        entry.pop("scores", None)
    out["per_year"] = _per_year(handler, rows, subs, kind)
    ratings: list[tuple[float, float]] = []
    for r in rows:
        score, mean = finite_or_none(r.get("score")), _mean_rating(subs[r["submission_id"]])
        if score is not None and mean is not None:
            ratings.append((score, mean))
    if ratings:
        out["score_vs_mean_rating_spearman"] = _spearman([s for s, _ in ratings],
                                                         [m for _, m in ratings])
    if isinstance(handler, CitationPercentileHandler):
        cited: list[tuple[float, float]] = []
        for r in rows:
            score, truth = finite_or_none(r.get("score")), handler.read_truth(r["ground_truth"])
            if score is not None and truth is not None:
                cited.append((score, float(truth)))
        k = max(1, math.ceil(len(cited) / 10))
        out["ndcg_at_10pct"] = {"k": k, "ndcg": ndcg_at([s for s, _ in cited],
                                                          [t for _, t in cited], k)}
    return out
