"""Plain-text metrics tables for the terminal and a run's report.md."""

from __future__ import annotations

from typing import Any

HEADLINE = (
    ("accuracy", "accuracy"),
    ("balanced_accuracy", "balanced accuracy"),
    ("f1", "F1 (Accept)"),
    ("macro_f1", "macro-F1"),
    ("auc", "AUC"),
    ("accept_auc", "AUC (accept vs reject)"),
    ("mae", "MAE"),
    ("rmse", "RMSE"),
    ("pearson", "Pearson r"),
    ("spearman", "Spearman rho"),
)


def _number(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def render_metrics(metrics: dict[str, Any], title: str = "metrics") -> str:
    """Headline metrics with 95% bootstrap intervals, recall per class, parse failures and
    counts, as an aligned text table."""
    rows: list[tuple[str, str, str]] = []
    for key, label in HEADLINE:
        if key in metrics:
            ci = metrics.get(f"{key}_ci")
            interval = f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
            rows.append((label, _number(metrics[key]), interval))
    for name, scores in (metrics.get("per_class") or {}).items():
        if scores.get("support"):
            rows.append((f"recall {name}", _number(scores.get("recall")),
                         f"n={scores['support']}"))
    rows.append(("parse failure rate", _number(metrics.get("parse_failure_rate")),
                 f"{metrics.get('parse_failures', 0)} of {metrics.get('n', 0)}"))
    rows.append(("papers scored", str(metrics.get("n", 0)), ""))
    rows.append(("excluded (no label)", str(metrics.get("n_excluded_no_label", 0)), ""))
    if metrics.get("readings"):
        rows.append(("reading", ", ".join(f"{k}: {v}" for k, v in metrics["readings"].items()),
                     ""))
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    lines = [title, "-" * len(title)]
    lines += [f"{a:<{width}}  {b:>{value_width}}  {c}".rstrip() for a, b, c in rows]
    return "\n".join(lines)


COMPARED = {
    "classification": (("balanced_accuracy", "bal. acc."), ("auc", "AUC"),
                       ("accuracy", "accuracy"), ("macro_f1", "macro-F1")),
    "score": (("mae", "MAE"), ("rmse", "RMSE"), ("spearman", "Spearman"),
              ("pearson", "Pearson")),
}


def _cell(metrics: dict[str, Any], key: str) -> str:
    value = metrics.get(key)
    if value is None:
        return "n/a"
    ci = metrics.get(f"{key}_ci")
    return f"{value:.3f} [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else f"{value:.3f}"


def render_comparison(rows: list[tuple[str, dict[str, Any]]], title: str = "compared") -> str:
    """The model's metrics beside its baselines, one row each, with 95% intervals."""
    kind = "score" if any("mae" in m for _, m in rows) else "classification"
    columns = [(k, label) for k, label in COMPARED[kind] if any(k in m for _, m in rows)]
    table = [["", *[label for _, label in columns]]]
    table += [[name, *[_cell(m, k) for k, _ in columns]] for name, m in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = [title, "-" * len(title)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table]
    return "\n".join(lines)


def summary_lines(metrics: dict[str, Any]) -> str:
    """The analysis in a few terminal lines: warnings, the threshold story, the baselines on
    the test half."""
    analysis = metrics.get("analysis") or {}
    lines = [f"WARNING: {w}" for w in analysis.get("warnings", [])]
    threshold = analysis.get("threshold")
    if threshold:
        lines.append(f"threshold: default {threshold['default']:.3f} -> balanced accuracy "
                     f"{_number(threshold['balanced_accuracy_default'])}; chosen on the "
                     f"calibration half {threshold['calibrated']:.3f} -> "
                     f"{_number(threshold['balanced_accuracy_calibrated'])} (test half)")
    compared = analysis.get("compared") or []
    if compared:
        lines.append(render_comparison([(e["name"], e["metrics"]) for e in compared],
                                       title=f"test half ({analysis['halves']['test']} papers):"
                                             " model vs baselines (fitted on "
                                             f"{analysis.get('baselines_fitted_on')})"))
    return "\n".join(lines)
