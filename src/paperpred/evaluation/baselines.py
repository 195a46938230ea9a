"""Baselines computed on the same train/test split as the model they stand beside.

A number means little alone: 0.60 balanced accuracy is good without reviews and poor with them,
since the mean reviewer rating alone separates ICLR decisions well. Every baseline is fitted on
the training part only and scored on the test part with the output handler's own
``compute_metrics``, so its numbers read exactly like the model's.

- ``majority``: the most frequent training label (its balanced accuracy is 0.5 by design; it
  shows the accuracy a degenerate predictor gets at this prior). For scores: the training mean.
- ``mean_rating_rule``: where the input shows reviews with ratings. Binary: Accept when the
  paper's mean rating is at least a threshold chosen on the training part (maximising balanced
  accuracy); its score is the mean rating. Four-way: cut points on the mean rating, one per
  class boundary, chosen on the training part. Scores: the mean rating itself (mean rating
  target) or its within-year percentile (citation percentile target).
- ``rating_features_logreg``: logistic (or ridge) regression on the ratings' summary: number of
  reviews, mean, min, max and spread of the ratings, mean confidence, and the year's scale.
- ``tfidf_logreg``: TF-IDF of the very text the model is shown (the formatter's user message,
  leakage-scrubbed), with logistic (or ridge) regression; classes weighted to balance.
- ``random_forest``: a random forest on simple features of the paper (the rating summary when
  the input has reviews, title and abstract lengths, keyword count).

scikit-learn is imported only when a learned baseline is fitted.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from paperpred.data.reviews import RATING_SCALES, Review
from paperpred.data.submission import Submission
from paperpred.outputs.metrics import choose_threshold

SEED = 0


@dataclass
class Baseline:
    """One baseline's predictions on the test part and their metrics."""

    name: str
    description: str
    predictions: list[dict[str, Any]]
    metrics: dict[str, Any] = field(default_factory=dict)
    fitted: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "metrics": self.metrics,
                "fitted": self.fitted}


def _pred(prediction: Any, score: float | None) -> dict[str, Any]:
    return {"prediction": prediction, "score": score, "parse_success": prediction is not None,
            "reasoning": "", "raw": None}


def rating_features(sub: Submission) -> list[float]:
    """Summary of a paper's review scores (zeros when it has none)."""
    ratings = [float(r) for r in sub.ratings]
    confidences = [float(r.confidence) for r in sub.reviews if r.confidence is not None]
    scale = RATING_SCALES.get(sub.year)
    top = float(max(scale)) if scale else 10.0
    if not ratings:
        return [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, top]
    return [float(len(ratings)), float(np.mean(ratings)), min(ratings), max(ratings),
            float(np.std(ratings)), float(np.mean(confidences)) if confidences else 0.0, top]


def simple_features(sub: Submission, with_reviews: bool) -> list[float]:
    text = [float(len(sub.title)), float(len(sub.abstract or "")), float(len(sub.keywords))]
    return (rating_features(sub) if with_reviews else []) + text


def _is_classification(handler: Any) -> bool:
    return bool(getattr(handler, "labels", ()))


def _fit_score(handler: Any, train_x: Any, train_y: list[Any], test_x: Any, model: str
               ) -> list[dict[str, Any]]:
    """Fit a classifier (or regressor) and return prediction dicts for the test rows."""
    if _is_classification(handler):
        if model == "forest":
            from sklearn.ensemble import RandomForestClassifier

            clf: Any = RandomForestClassifier(n_estimators=200, min_samples_leaf=2,
                                              class_weight="balanced", random_state=SEED)
        else:
            from sklearn.linear_model import LogisticRegression

            clf = LogisticRegression(max_iter=2000, class_weight="balanced", C=1.0)
        clf.fit(train_x, train_y)
        proba = clf.predict_proba(test_x)
        classes = list(clf.classes_)
        out = []
        for row in proba:
            label = classes[int(np.argmax(row))]
            score = _class_score(handler, classes, row)
            out.append({**_pred(label, score),
                        "probabilities": {c: float(p) for c, p in zip(classes, row, strict=True)}})
        return out
    if model == "forest":
        from sklearn.ensemble import RandomForestRegressor

        reg: Any = RandomForestRegressor(n_estimators=200, min_samples_leaf=2,
                                         random_state=SEED)
    else:
        from sklearn.linear_model import Ridge

        reg = Ridge(alpha=1.0)
    reg.fit(train_x, train_y)
    low, high = handler._range()
    return [_pred(float(np.clip(v, low, high)), float(np.clip(v, low, high)))
            for v in reg.predict(test_x)]


def _class_score(handler: Any, classes: list[Any], row: np.ndarray) -> float | None:
    """Binary: the log-odds of the positive class (as label scoring gives); four-way: the
    expected class index (for the ordering check Reject < Poster < Spotlight < Oral)."""
    positive = getattr(handler, "positive", None)
    if positive is not None and positive in classes and len(classes) == 2:
        p = float(np.clip(row[classes.index(positive)], 1e-9, 1 - 1e-9))
        return math.log(p / (1 - p))
    order = list(handler.labels)
    return float(sum(p * order.index(c) for c, p in zip(classes, row, strict=True) if c in order))


def _truths(handler: Any, subs: Sequence[Submission]) -> list[Any]:
    return [handler.label_value(s) for s in subs]


def _labelled(handler: Any, subs: Sequence[Submission]) -> list[Submission]:
    return [s for s in subs if handler.label_value(s) is not None]


def majority(handler: Any, train: Sequence[Submission], test: Sequence[Submission]) -> Baseline:
    truths = [t for t in _truths(handler, train) if t is not None]
    if _is_classification(handler):
        label, _ = Counter(truths).most_common(1)[0]
        preds = [_pred(label, None) for _ in test]
        return Baseline("majority", f"always '{label}' (the training majority)", preds,
                        fitted={"label": label})
    mean = float(np.mean(truths))
    return Baseline("majority", f"always {mean:.3f} (the training mean)",
                    [_pred(mean, mean) for _ in test], fitted={"value": mean})


def mean_rating_rule(handler: Any, train: Sequence[Submission], test: Sequence[Submission]
                     ) -> Baseline | None:
    """The rule on the mean reviewer rating (None when no paper has ratings)."""
    train = [s for s in _labelled(handler, train) if "mean_rating" in s.labels]
    if not train:
        return None

    def rating(s: Submission) -> Any:
        return s.labels.get("mean_rating")

    positive = getattr(handler, "positive", None)
    if positive is not None:
        threshold = float(choose_threshold([rating(s) for s in train],
                                           _truths(handler, train), positive=positive))
        negative = next(label for label in handler.labels if label != positive)
        preds = [_pred(None, None) if rating(s) is None else
                 _pred(positive if rating(s) >= threshold else negative, rating(s))
                 for s in test]
        return Baseline("mean_rating_rule", f"'{positive}' when the mean rating >= "
                        f"{threshold:.2f} (threshold fitted on the training part)", preds,
                        fitted={"threshold": threshold})
    if _is_classification(handler):
        cuts = _ordinal_cuts(handler, train, rating)
        order = list(handler.labels)
        preds = [_pred(None, None) if rating(s) is None else
                 _pred(order[sum(rating(s) >= c for c in cuts)], rating(s)) for s in test]
        text = ", ".join(f"{c:.2f}" for c in cuts)
        return Baseline("mean_rating_rule", f"class by mean-rating cut points {text} "
                        "(fitted on the training part)", preds, fitted={"cuts": cuts})
    key = "mean_rating" if getattr(handler, "label_key", "") == "mean_rating" else \
        "rating_percentile"
    preds = [_pred(s.labels.get(key), s.labels.get(key)) for s in test]
    return Baseline("mean_rating_rule", f"the paper's {key.replace('_', ' ')} itself", preds)


def _ordinal_cuts(handler: Any, train: list[Submission], rating: Callable) -> list[float]:
    """Increasing cut points on the mean rating between consecutive classes, each the midpoint
    that best separates the classes below from those above on the training part."""
    order = list(handler.labels)
    values = [(rating(s), order.index(handler.label_value(s))) for s in train]
    cuts = []
    for k in range(1, len(order)):
        below = [v for v, c in values if c < k]
        above = [v for v, c in values if c >= k]
        if not below or not above:
            cuts.append(float("inf"))
            continue
        candidates = sorted({v for v, _ in values})
        best = max(candidates, key=lambda t: np.mean([v < t for v in below])
                   + np.mean([v >= t for v in above]))
        cuts.append(float(max(best, cuts[-1] if cuts else -math.inf)))
    return cuts


def rating_features_logreg(handler: Any, train: Sequence[Submission],
                           test: Sequence[Submission]) -> Baseline | None:
    train = _labelled(handler, train)
    if not any(s.ratings for s in train):
        return None
    preds = _fit_score(handler, [rating_features(s) for s in train], _truths(handler, train),
                       [rating_features(s) for s in test], "logistic")
    kind = "logistic" if _is_classification(handler) else "ridge"
    return Baseline("rating_features_logreg", f"{kind} regression on the rating summary "
                    "(count, mean, min, max, spread, mean confidence, scale)", preds)


def tfidf_logreg(handler: Any, train_texts: Sequence[str], train: Sequence[Submission],
                 test_texts: Sequence[str]) -> Baseline:
    from sklearn.feature_extraction.text import TfidfVectorizer

    keep = [i for i, s in enumerate(train) if handler.label_value(s) is not None]
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=50000,
                                 sublinear_tf=True)
    train_x = vectorizer.fit_transform([train_texts[i] for i in keep])
    preds = _fit_score(handler, train_x, [handler.label_value(train[i]) for i in keep],
                       vectorizer.transform(list(test_texts)), "logistic")
    kind = "logistic" if _is_classification(handler) else "ridge"
    return Baseline("tfidf_logreg", f"TF-IDF (1-2 grams) of the prompt text + {kind} "
                    "regression", preds, fitted={"vocabulary": len(vectorizer.vocabulary_)})


def random_forest(handler: Any, train: Sequence[Submission], test: Sequence[Submission],
                  with_reviews: bool) -> Baseline:
    train = _labelled(handler, train)
    preds = _fit_score(handler, [simple_features(s, with_reviews) for s in train],
                       _truths(handler, train),
                       [simple_features(s, with_reviews) for s in test], "forest")
    what = "rating summary, " if with_reviews else ""
    return Baseline("random_forest", f"random forest on {what}title/abstract length and "
                    "keyword count", preds)


def shows_ratings(formatter: Any) -> bool:
    """Whether the formatter's prompts show review ratings (the rating baselines apply): its
    layout says so, or (a custom formatter) a probe paper's prompt shows its rating."""
    probe = Submission(submission_id="probe", year=2024, title="t", abstract="a",
                       reviews=[Review(text="x", rating=7.0, confidence=3.0)])
    layout = getattr(formatter, "base_layout", None) or getattr(formatter, "layout", None)
    if callable(layout):
        try:
            parts = layout() if layout.__name__ == "base_layout" else layout(probe)
        except Exception:  # noqa: BLE001 - a layout that needs more than the probe has
            parts = getattr(formatter, "text_parts", ())
        return bool({"reviews", "review_scores"} & set(parts))
    try:
        text = formatter.build(probe).user
    except Exception:  # noqa: BLE001 - a formatter that cannot show the probe
        return False
    return "rating 7" in text.lower() or "rating: 7" in text.lower()


def compute_baselines(handler: Any, formatter: Any, train: Sequence[Submission],
                      test: Sequence[Submission], *, text: bool = True,
                      forest: bool = False, skipped: dict[str, str] | None = None
                      ) -> list[Baseline]:
    """Every baseline that applies, fitted on ``train``, with metrics on ``test``.

    Args:
        handler: the output handler (its labels and ``compute_metrics``).
        formatter: the input formatter (its text for TF-IDF; whether it shows ratings).
        train, test: the two parts (unlabelled papers are left out of fitting and of metrics).
        text: include the TF-IDF baseline (needs the prompts' text).
        forest: include the random forest.
        skipped: filled with ``{name: reason}`` for each learned baseline that cannot be
            fitted on ``train`` (one class, too few papers, no terms); without it such a
            baseline raises.
    """

    def fitted(name: str, fit: Callable[[], Baseline | None]) -> Baseline | None:
        if skipped is None:
            return fit()
        try:
            return fit()
        except ValueError as exc:  # scikit-learn's message names what is missing
            skipped[name] = " ".join(str(exc).split())[:200]
            return None

    test = list(test)
    truths = _truths(handler, test)
    found: list[Baseline | None] = [majority(handler, train, test)]
    with_reviews = shows_ratings(formatter)
    if with_reviews:
        found += [mean_rating_rule(handler, train, test),
                  fitted("rating_features_logreg",
                         lambda: rating_features_logreg(handler, train, test))]
    if text:
        def texts(subs: Sequence[Submission]) -> list[str]:
            return [formatter.build(s).user for s in subs]

        found.append(fitted("tfidf_logreg", lambda: tfidf_logreg(
            handler, texts(train), list(train), texts(test))))
    if forest:
        found.append(fitted("random_forest",
                            lambda: random_forest(handler, train, test, with_reviews)))
    out = [b for b in found if b is not None]
    for baseline in out:
        baseline.metrics = handler.compute_metrics(baseline.predictions, truths)
    return out
