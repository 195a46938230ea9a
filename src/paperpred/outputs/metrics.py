"""Metric maths for the output handlers: classification, regression, AUC, bootstrap, threshold.

Conventions (what the tests check against scikit-learn and scipy):

- Classification: a parse failure is a prediction of no class, so it is always wrong. It
  lowers accuracy and the recall of its true class, never the precision of any class, and it
  is left out of the confusion matrix (counted per true class under ``"unparsed"``).
- Per-class precision, recall and F1 are 0.0 when undefined (scikit-learn's
  ``zero_division`` default). ``balanced_accuracy`` is the mean recall over the classes present
  in the ground truth (scikit-learn's ``balanced_accuracy_score``); ``macro_f1`` is the mean F1
  over the classes present in the ground truth or the predictions (scikit-learn's default
  label set), so a class that a year never has (no Spotlight in 2017) does not count.
- Regression metrics use the parsed predictions only; the result says so in
  ``"metrics_on": "parsed"`` and counts the failures.
- Undefined values are None, never NaN: accuracy of zero examples, AUC or Pearson with one
  class or a constant input, an interval with fewer than two defined resamples.
- Bootstrap intervals: percentile intervals over ``n_bootstrap`` resamples of the examples,
  seeded, so the same inputs give the same intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np

DEFAULT_BOOTSTRAP = 1000
DEFAULT_SEED = 0
_CELLS_PER_CHUNK = 2_000_000  # resamples x examples held in memory at once


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis (scipy.stats takes ~0.6 s to import: only when used)."""
    from scipy.stats import rankdata

    return rankdata(values, axis=-1)


def finite_or_none(x: Any) -> float | None:
    """A Python float, or None for None, NaN and infinities (JSON-safe metric values)."""
    if x is None:
        return None
    x = float(x)
    return x if np.isfinite(x) else None


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over the last axis of the entries where ``mask`` holds; NaN where none does."""
    return _div(np.where(mask, values, 0.0).sum(-1), mask.sum(-1))


def _interval(values: np.ndarray, confidence: float) -> list[float] | None:
    values = values[np.isfinite(values)]
    if values.size < 2:
        return None
    alpha = (1.0 - confidence) / 2.0
    return [float(np.quantile(values, alpha)), float(np.quantile(values, 1.0 - alpha))]


def _resamples(n: int, n_bootstrap: int, seed: int):
    """Index matrices of bootstrap resamples, in chunks that fit in memory."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_bootstrap, _CELLS_PER_CHUNK // max(n, 1)))
    done = 0
    while done < n_bootstrap:
        size = min(chunk, n_bootstrap - done)
        yield rng.integers(0, n, size=(size, n))
        done += size


def _bootstrap(n: int, stat: Callable[[np.ndarray], dict[str, np.ndarray]], n_bootstrap: int,
               seed: int, confidence: float) -> dict[str, list[float] | None]:
    """Percentile intervals of each statistic ``stat(index_matrix)`` returns (one per row)."""
    if n == 0 or n_bootstrap <= 0:
        return {}
    parts: dict[str, list[np.ndarray]] = {}
    for idx in _resamples(n, n_bootstrap, seed):
        for key, value in stat(idx).items():
            parts.setdefault(key, []).append(np.asarray(value, dtype=float))
    return {f"{k}_ci": _interval(np.concatenate(v), confidence) for k, v in parts.items()}


# ----- classification ---------------------------------------------------------------------
def _confusion(true: np.ndarray, pred: np.ndarray, n_labels: int) -> np.ndarray:
    """Counts ``(..., L, L + 1)``: rows true class, columns predicted class, last column unparsed.

    ``true`` and ``pred`` are integer codes (pred == L: parse failure), 1-D or one row per
    resample.
    """
    width = n_labels + 1
    cells = n_labels * width
    codes = true * width + pred
    if codes.ndim == 1:
        return np.bincount(codes, minlength=cells).reshape(n_labels, width)
    offsets = (np.arange(codes.shape[0]) * cells)[:, None]
    counts = np.bincount((codes + offsets).ravel(), minlength=cells * codes.shape[0])
    return counts.reshape(codes.shape[0], n_labels, width)


def _class_stats(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class and summary statistics of confusion matrices (NaN where undefined)."""
    n_labels = cm.shape[-2]
    support = cm.sum(-1)
    predicted = cm[..., :n_labels].sum(-2)
    tp = np.diagonal(cm[..., :n_labels], axis1=-2, axis2=-1)
    n = support.sum(-1)
    recall = _div(tp, support)
    precision = _div(tp, predicted)
    f1 = _div(2 * tp, support + predicted)
    present = (support > 0) | (predicted > 0)
    balanced = _masked_mean(recall, support > 0)
    macro_f1 = _masked_mean(f1, present)
    return {"accuracy": _div(tp.sum(-1), n), "balanced_accuracy": balanced,
            "macro_f1": macro_f1, "recall": recall, "precision": precision, "f1": f1,
            "support": support}


def roc_auc(positive: Sequence[bool] | np.ndarray,
            scores: Sequence[float] | np.ndarray) -> float | None:
    """Area under the ROC curve (ties count one half), None with only one class.

    Args:
        positive: True for the positive class.
        scores: higher means more likely positive.

    Returns:
        The AUC (equal to scikit-learn's ``roc_auc_score``), or None when undefined.
    """
    y = np.asarray(positive, dtype=bool)
    return finite_or_none(_auc_rows(y[None, :], np.asarray(scores, dtype=float)[None, :])[0])


def _auc_rows(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUC of each row."""
    if y.shape[-1] == 0:
        return np.full(y.shape[0], np.nan)
    ranks = _ranks(s)
    n_pos = y.sum(-1)
    n_neg = y.shape[-1] - n_pos
    u = (ranks * y).sum(-1) - n_pos * (n_pos + 1) / 2.0
    return _div(u, (n_pos * n_neg).astype(float))


def classification_metrics(
    y_true: Sequence[str],
    y_pred: Sequence[str | None],
    labels: Sequence[str],
    *,
    positive: str | None = None,
    scores: Sequence[float | None] | None = None,
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Classification metrics with parse failures counted as wrong.

    Args:
        y_true: ground-truth labels, each one of ``labels``.
        y_pred: predicted labels; None (or anything not in ``labels``) is a parse failure.
        labels: the fixed label order of the confusion matrix and per-class results.
        positive: the positive class (binary): adds ``f1`` (its F1) and, with ``scores``,
            ``auc``.
        scores: a continuous score per example, higher = more ``positive``; None where an
            example has none. AUC uses the examples with a score (``auc_n`` says how many).
        n_bootstrap: resamples for the 95% intervals (0 disables them).
        seed: bootstrap seed.
        confidence: interval coverage.

    Returns:
        ``n``, ``parse_failures``, ``parse_failure_rate``, ``accuracy``,
        ``balanced_accuracy``, ``macro_f1``, ``per_class`` (precision, recall, f1, support),
        ``confusion_matrix`` (``labels``, ``matrix`` rows=true, cols=predicted, ``unparsed``
        per true class), the ``*_ci`` intervals and ``bootstrap`` settings; with ``positive``
        also ``f1``, ``auc``, ``auc_n``.

    Raises:
        ValueError: the lengths differ or a ground truth is not in ``labels``.
    """
    labels = list(labels)
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_pred)} predictions for {len(y_true)} ground truths")
    code = {label: i for i, label in enumerate(labels)}
    bad = [t for t in y_true if t not in code]
    if bad:
        raise ValueError(f"ground truth {bad[0]!r} is not one of {labels}")
    t = np.array([code[v] for v in y_true], dtype=np.int64)
    p = np.array([code.get(v, len(labels)) if isinstance(v, str) else len(labels)
                  for v in y_pred], dtype=np.int64)
    n = int(t.size)
    cm = _confusion(t, p, len(labels))
    stats = _class_stats(cm)
    failures = int((p == len(labels)).sum())
    out: dict[str, Any] = {
        "n": n,
        "parse_failures": failures,
        "parse_failure_rate": failures / n if n else None,
        "accuracy": finite_or_none(stats["accuracy"]),
        "balanced_accuracy": finite_or_none(stats["balanced_accuracy"]),
        "macro_f1": finite_or_none(stats["macro_f1"]),
        "per_class": {
            label: {
                "precision": float(np.nan_to_num(stats["precision"][i])),
                "recall": float(np.nan_to_num(stats["recall"][i])),
                "f1": float(np.nan_to_num(stats["f1"][i])),
                "support": int(stats["support"][i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion_matrix": {
            "labels": labels,
            "matrix": cm[:, : len(labels)].tolist(),
            "unparsed": cm[:, len(labels)].tolist(),
        },
    }
    pos = code.get(positive) if positive is not None else None
    if positive is not None and pos is None:
        raise ValueError(f"positive class {positive!r} is not one of {labels}")
    if pos is not None:
        out["f1"] = out["per_class"][positive]["f1"] if n else None

    def stat(idx: np.ndarray) -> dict[str, np.ndarray]:
        s = _class_stats(_confusion(t[idx], p[idx], len(labels)))
        keep = {k: s[k] for k in ("accuracy", "balanced_accuracy", "macro_f1")}
        if pos is not None:
            keep["f1"] = np.nan_to_num(s["f1"][:, pos])
        return keep

    cis = _bootstrap(n, stat, n_bootstrap, seed, confidence)
    for key in ("accuracy", "balanced_accuracy", "macro_f1") + (("f1",) if pos is not None else ()):
        out[f"{key}_ci"] = cis.get(f"{key}_ci") if out[key] is not None else None

    if pos is not None and scores is not None:
        has = [i for i, s in enumerate(scores) if finite_or_none(s) is not None] if n else []
        y = t[has] == pos
        # ``has`` holds only the indices of finite (so not None) scores
        s = np.array([float(cast(float, scores[i])) for i in has], dtype=float)
        out["auc"] = roc_auc(y, s) if has else None
        out["auc_n"] = len(has)
        auc_ci = _bootstrap(len(has), lambda idx: {"auc": _auc_rows(y[idx], s[idx])},
                            n_bootstrap, seed, confidence)
        out["auc_ci"] = auc_ci.get("auc_ci") if out["auc"] is not None else None
    out["bootstrap"] = {"n_resamples": n_bootstrap, "seed": seed, "confidence": confidence}
    return out


def choose_threshold(scores: Sequence[float | None], ground_truths: Sequence[Any],
                     positive: str = "Accept") -> float:
    """The score threshold that maximises balanced accuracy on validation data.

    An example is predicted ``positive`` when ``score >= threshold``. Thresholds tried: the
    midpoints between consecutive distinct scores, and one unit beyond each end (everything
    positive, everything negative). Ties go to the threshold nearest 0 (the untuned
    log-odds rule).

    Args:
        scores: one score per example (None or NaN: skipped).
        ground_truths: labels; ``positive`` or any other label (None: skipped).
        positive: the positive label.

    Returns:
        The threshold; 0.0 when there are no scores or only one class.
    """
    pairs = [(float(cast(float, s)), g == positive)  # finite, so not None
             for s, g in zip(scores, ground_truths, strict=True)
             if finite_or_none(s) is not None and g is not None]
    if not pairs:
        return 0.0
    s = np.array([x for x, _ in pairs])
    y = np.array([pos for _, pos in pairs])
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return 0.0
    uniq = np.unique(s)
    thresholds = np.concatenate([[uniq[0] - 1.0], (uniq[:-1] + uniq[1:]) / 2.0, [uniq[-1] + 1.0]])
    # positives/negatives at or above each threshold, via sorted cumulative counts
    order = np.sort(s[y]), np.sort(s[~y])
    tp = n_pos - np.searchsorted(order[0], thresholds, side="left")
    fp = n_neg - np.searchsorted(order[1], thresholds, side="left")
    balanced = (tp / n_pos + (n_neg - fp) / n_neg) / 2.0
    best = np.flatnonzero(balanced >= balanced.max() - 1e-12)
    return float(thresholds[best[np.argmin(np.abs(thresholds[best]))]])


# ----- regression -------------------------------------------------------------------------
def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row pair; NaN when a row is constant or too short."""
    if x.shape[-1] < 2:
        return np.full(x.shape[:-1], np.nan)
    xc = x - x.mean(-1, keepdims=True)
    yc = y - y.mean(-1, keepdims=True)
    constant = (np.ptp(x, axis=-1) == 0) | (np.ptp(y, axis=-1) == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (xc * yc).sum(-1) / np.sqrt((xc**2).sum(-1) * (yc**2).sum(-1))
    return np.where(constant, np.nan, np.clip(r, -1.0, 1.0))


def _regression_rows(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    err = x - y
    return {
        "mae": np.abs(err).mean(-1),
        "rmse": np.sqrt((err**2).mean(-1)),
        "pearson": _pearson_rows(x, y),
        "spearman": _pearson_rows(_ranks(x), _ranks(y)),
    }


def regression_metrics(
    y_true: Sequence[float],
    y_pred: Sequence[float | None],
    *,
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """MAE, RMSE, Pearson and Spearman on the parsed predictions, with bootstrap intervals.

    Args:
        y_true: ground-truth values.
        y_pred: predicted values; None or NaN is a parse failure (left out of the metrics).
        n_bootstrap: resamples for the intervals (0 disables them).
        seed: bootstrap seed.
        confidence: interval coverage.

    Returns:
        ``n``, ``n_parsed``, ``parse_failures``, ``parse_failure_rate``,
        ``metrics_on: "parsed"``, ``mae``, ``rmse``, ``pearson``, ``spearman`` (None when
        undefined: no parsed pairs, or fewer than two, or a constant side), their ``*_ci``
        and the ``bootstrap`` settings.
    """
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_pred)} predictions for {len(y_true)} ground truths")
    keep = [i for i, v in enumerate(y_pred) if finite_or_none(v) is not None]
    x = np.array([float(cast(float, y_pred[i])) for i in keep], dtype=float)  # finite
    y = np.array([float(y_true[i]) for i in keep], dtype=float)
    n = len(y_true)
    out: dict[str, Any] = {
        "n": n,
        "n_parsed": len(keep),
        "parse_failures": n - len(keep),
        "parse_failure_rate": (n - len(keep)) / n if n else None,
        "metrics_on": "parsed",
    }
    point = _regression_rows(x[None, :], y[None, :]) if keep else {}
    for key in ("mae", "rmse", "pearson", "spearman"):
        out[key] = finite_or_none(point[key][0]) if keep else None
    cis = _bootstrap(len(keep), lambda idx: _regression_rows(x[idx], y[idx]),
                     n_bootstrap, seed, confidence)
    for key in ("mae", "rmse", "pearson", "spearman"):
        out[f"{key}_ci"] = cis.get(f"{key}_ci") if out[key] is not None else None
    out["bootstrap"] = {"n_resamples": n_bootstrap, "seed": seed, "confidence": confidence}
    return out
