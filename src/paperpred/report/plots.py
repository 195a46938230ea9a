"""The report's figures, drawn with matplotlib (Agg, no screen) into PNG bytes.

Each function takes plain data (what :func:`paperpred.evaluation.analysis.analyse` wrote into
metrics.json, or the prediction rows) and returns PNG bytes, or None when there is nothing to
draw.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

SIZE = (5.2, 3.8)
DPI = 110


def _figure() -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=SIZE, dpi=DPI)
    return fig, ax


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def roc_curves(curves: dict[str, dict[str, Any]], title: str = "ROC (test half)"
               ) -> bytes | None:
    """ROC curves, one per entry (``fpr``, ``tpr``, ``auc``), overlaid, with the chance line."""
    drawn = {name: c for name, c in curves.items() if c.get("fpr")}
    if not drawn:
        return None
    fig, ax = _figure()
    for name, curve in drawn.items():
        auc = curve.get("auc")
        label = f"{name} (AUC {auc:.3f})" if auc is not None else name
        ax.plot(curve["fpr"], curve["tpr"], label=label, linewidth=1.4)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", linewidth=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title,
           xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(fontsize=7, loc="lower right")
    return _png(fig)


def reliability_diagram(calibration: dict[str, Any], positive: str = "Accept") -> bytes | None:
    """Observed rate against mean predicted probability per bin, sized by count; ECE in the
    title."""
    bins = calibration.get("bins") or []
    if not bins:
        return None
    fig, ax = _figure()
    xs = [b["mean_probability"] for b in bins]
    ys = [b["observed_rate"] for b in bins]
    sizes = [20 + 200 * b["n"] / max(c["n"] for c in bins) for b in bins]
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", linewidth=1)
    ax.plot(xs, ys, color="tab:blue", linewidth=1)
    ax.scatter(xs, ys, s=sizes, color="tab:blue", alpha=0.7)
    ece = calibration.get("ece")
    ax.set(xlabel=f"predicted P({positive})", ylabel=f"observed rate of {positive}",
           title=f"reliability (ECE {ece:.3f})" if ece is not None else "reliability",
           xlim=(0, 1), ylim=(0, 1))
    return _png(fig)


def score_histograms(scores_by_class: Mapping[str, Sequence[float]], threshold: float | None = None,
                     calibrated: float | None = None) -> bytes | None:
    """The model's score per true class, with the default and calibrated thresholds."""
    drawn = {k: list(v) for k, v in scores_by_class.items() if len(v)}
    if not drawn:
        return None
    fig, ax = _figure()
    for name, values in drawn.items():
        ax.hist(values, bins=30, alpha=0.55, label=f"{name} (n={len(values)})")
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", linewidth=1,
                   label=f"default threshold {threshold:.2f}")
    if calibrated is not None:
        ax.axvline(calibrated, color="tab:red", linestyle="-", linewidth=1,
                   label=f"calibrated threshold {calibrated:.2f}")
    ax.set(xlabel="score", ylabel="papers", title="score by true class")
    ax.legend(fontsize=7)
    return _png(fig)


def confusion_matrix(confusion: dict[str, Any]) -> bytes | None:
    """Counts, true class down, predicted class across (unparsed answers as a last column)."""
    labels = confusion.get("labels") or []
    matrix = confusion.get("matrix") or []
    if not labels or not matrix:
        return None
    rows = [list(r) + [u] for r, u in zip(matrix, confusion.get("unparsed") or [0] * len(matrix),
                                          strict=True)]
    fig, ax = _figure()
    ax.imshow(rows, cmap="Blues")
    columns = [*labels, "unparsed"]
    ax.set_xticks(range(len(columns)), columns, rotation=30, ha="right", fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    top = max(max(r) for r in rows) or 1
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            ax.text(j, i, str(value), ha="center", va="center", fontsize=8,
                    color="white" if value > top / 2 else "black")
    ax.set(xlabel="predicted", ylabel="true", title="confusion matrix")
    return _png(fig)


def score_scatter(predicted: Sequence[float], true: Sequence[float], name: str
                  ) -> bytes | None:
    """Predicted against true values of a score target, with the diagonal."""
    if not predicted:
        return None
    fig, ax = _figure()
    ax.scatter(true, predicted, s=8, alpha=0.5)
    low, high = min([*true, *predicted]), max([*true, *predicted])
    ax.plot([low, high], [low, high], linestyle=":", color="grey", linewidth=1)
    ax.set(xlabel=f"true {name}", ylabel=f"predicted {name}", title=f"{name}: predicted vs true")
    return _png(fig)
