"""A run's report: ``report.md`` and a self-contained ``report.html`` (every figure embedded as
a PNG data URI; it opens offline in any browser), built from the run folder's metrics.json (its
``analysis`` and ``provenance``) and predictions.json only, so every number in the report is a
number of metrics.json.

Several runs: :func:`write_comparison` puts their models side by side (one table, overlaid ROC
curves of the test half).
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paperpred.report import plots

CLASS_COLUMNS = (("balanced_accuracy", "bal. acc."), ("auc", "AUC"), ("accept_auc", "AUC acc."),
                 ("accuracy", "accuracy"), ("macro_f1", "macro-F1"))
SCORE_COLUMNS = (("mae", "MAE"), ("rmse", "RMSE"), ("spearman", "Spearman"),
                 ("pearson", "Pearson"))


def fmt(value: Any) -> str:
    """A number as the report prints it (3 decimals), ``n/a`` for None."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def cell(metrics: dict[str, Any], key: str) -> str:
    """``value [low, high]`` with the 95% interval where metrics.json has one."""
    value = metrics.get(key)
    ci = metrics.get(f"{key}_ci")
    if value is None:
        return "n/a"
    return f"{fmt(value)} [{fmt(ci[0])}, {fmt(ci[1])}]" if ci else fmt(value)


def load_run(run_dir: str | Path) -> dict[str, Any]:
    """A run folder's metrics.json and prediction rows (the folder may be a training run's
    ``eval/``)."""
    folder = Path(run_dir)
    if not (folder / "metrics.json").exists() and (folder / "eval" / "metrics.json").exists():
        folder = folder / "eval"
    metrics_path = folder / "metrics.json"
    if not metrics_path.exists():
        raise FileNotFoundError(f"{run_dir}: no metrics.json (is it a finished paperpred run "
                                "folder?)")
    metrics = json.loads(metrics_path.read_text())
    rows: list[dict[str, Any]] = []
    if (folder / "predictions.json").exists():
        rows = json.loads((folder / "predictions.json").read_text()).get("predictions", [])
    return {"dir": folder, "name": metrics.get("provenance", {}).get("run") or folder.name,
            "metrics": metrics, "predictions": rows}


def _columns(entries: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    kind = "score" if any("mae" in e for e in entries) else "class"
    columns = SCORE_COLUMNS if kind == "score" else CLASS_COLUMNS
    return [(k, label) for k, label in columns if any(e.get(k) is not None for e in entries)]


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _figures(run: dict[str, Any]) -> list[tuple[str, bytes]]:
    analysis = run["metrics"].get("analysis") or {}
    metrics = run["metrics"]
    found: list[tuple[str, bytes | None]] = []
    kind = analysis.get("kind")
    if analysis.get("roc"):
        found.append(("ROC curves of the model and its baselines (test half)",
                      plots.roc_curves(analysis["roc"])))
    if analysis.get("calibration"):
        found.append(("Reliability diagram (all evaluated papers)",
                      plots.reliability_diagram(analysis["calibration"])))
    if kind in ("binary", "multiclass"):
        by_class: dict[str, list[float]] = {}
        for row in run["predictions"]:
            if row.get("score") is not None and row.get("ground_truth") is not None:
                by_class.setdefault(str(row["ground_truth"]), []).append(float(row["score"]))
        threshold = analysis.get("threshold") or {}
        found.append(("Score per true class", plots.score_histograms(
            by_class, threshold.get("default"), threshold.get("calibrated"))))
        found.append(("Confusion matrix (default rule, all papers)",
                      plots.confusion_matrix(metrics.get("confusion_matrix") or {})))
    if kind == "score":
        pairs = [(float(r["score"]), float(r["ground_truth"])) for r in run["predictions"]
                 if isinstance(r.get("score"), (int, float))
                 and isinstance(r.get("ground_truth"), (int, float))]
        found.append(("Predicted against true", plots.score_scatter(
            [p for p, _ in pairs], [t for _, t in pairs], "value")))
    return [(title, png) for title, png in found if png]


def markdown(run: dict[str, Any]) -> str:
    """report.md of one run."""
    metrics = run["metrics"]
    analysis = metrics.get("analysis") or {}
    provenance = metrics.get("provenance") or {}
    out = [f"# paperpred report: {run['name']}", ""]
    for warning in analysis.get("warnings", []):
        out.append(f"> **WARNING** {warning}")
    if analysis.get("warnings"):
        out.append("")
    out += ["## Headline (all evaluated papers, default rule)", ""]
    columns = _columns([metrics])
    out.append(_table(["", "n", *[label for _, label in columns]],
                      [["model", fmt(metrics.get("n")), *[cell(metrics, k) for k, _ in columns]]]))
    prior = analysis.get("prior") or {}
    if prior:
        total = sum(prior.values())
        out += ["", "Class prior: " + ", ".join(f"{k} {v} ({v / total:.1%})"
                                                for k, v in prior.items())]
        shares = analysis.get("prediction_shares") or {}
        out.append("Predicted: " + ", ".join(f"{k} {v:.1%}" for k, v in shares.items()))
    compared = analysis.get("compared") or []
    if compared:
        columns = _columns([e["metrics"] for e in compared])
        halves = analysis.get("halves", {})
        out += ["", f"## Compared on the test half ({halves.get('test', 0)} papers; "
                    f"baselines fitted on {analysis.get('baselines_fitted_on')})", ""]
        out.append(_table(["", "n", *[label for _, label in columns]],
                          [[e["name"], fmt(e["metrics"].get("n")),
                            *[cell(e["metrics"], k) for k, _ in columns]] for e in compared]))
        out.append("")
        out += [f"- **{e['name']}**: {e['description']}" for e in compared]
        out += [f"- **{name}**: not fitted ({reason})"
                for name, reason in (analysis.get("baselines_skipped") or {}).items()]
    threshold = analysis.get("threshold")
    if threshold:
        out += ["", "## Threshold", "",
                f"Default rule: Accept when score >= {fmt(threshold['default'])}: balanced "
                f"accuracy {fmt(threshold['balanced_accuracy_default'])} on the test half. "
                f"Threshold chosen on the calibration half: {fmt(threshold['calibrated'])}: "
                f"balanced accuracy {fmt(threshold['balanced_accuracy_calibrated'])} on the "
                "test half."]
    calibration = analysis.get("calibration")
    if calibration:
        out += ["", "## Calibration", "", f"ECE {fmt(calibration.get('ece'))} (10 bins of "
                f"equal width, {len(calibration.get('bins', []))} of them non-empty)."]
    if analysis.get("ordinal"):
        ordinal = analysis["ordinal"]
        out += ["", "## Ordinal check", "", "Mean expected class index per true class: "
                + ", ".join(f"{k} {fmt(v)}" for k, v in ordinal["mean_expected_index"].items())
                + f"; increasing Reject < Poster < Spotlight < Oral: "
                f"{fmt(ordinal['increasing'])}."]
    if analysis.get("score_vs_mean_rating_spearman") is not None:
        out += ["", "Spearman between the model's score and the mean reviewer rating: "
                f"{fmt(analysis['score_vs_mean_rating_spearman'])}."]
    if analysis.get("ndcg_at_10pct"):
        ndcg = analysis["ndcg_at_10pct"]
        out += ["", f"NDCG@{ndcg['k']} (top 10%): {fmt(ndcg['ndcg'])}."]
    per_year = analysis.get("per_year") or []
    if per_year:
        keys = [k for k in per_year[0] if k != "year"]
        out += ["", "## Per year", "", _table(["year", *keys], [
            [fmt(r["year"]), *[fmt(r.get(k)) for k in keys]] for r in per_year])]
    if provenance:
        out += ["", "## Data provenance", ""]
        out += [f"- {k}: {fmt(v) if not isinstance(v, (dict, list)) else json.dumps(v)}"
                for k, v in provenance.items()]
    if analysis.get("protocol"):
        out += ["", f"Protocol: {analysis['protocol']}."]
    return "\n".join(out) + "\n"


def _markdown_to_html(text: str) -> str:
    """The small markdown subset :func:`markdown` writes: headings, tables, lists, quotes."""
    lines, out, table = text.splitlines(), [], []  # type: list[str], list[str], list[str]

    def flush() -> None:
        if table:
            head, *body = [r.strip("|").split("|") for r in table if not r.startswith("|---")]
            out.append("<table><tr>" + "".join(f"<th>{html.escape(c.strip())}</th>"
                                               for c in head) + "</tr>")
            out.extend("<tr>" + "".join(f"<td>{html.escape(c.strip())}</td>" for c in row)
                       + "</tr>" for row in body)
            out.append("</table>")
            table.clear()

    def inline(s: str) -> str:
        s = html.escape(s)
        while s.count("**") >= 2:
            s = s.replace("**", "<b>", 1).replace("**", "</b>", 1)
        return s

    for line in lines:
        if line.startswith("|"):
            table.append(line)
            continue
        flush()
        if line.startswith("## "):
            out.append(f"<h2>{inline(line[3:])}</h2>")
        elif line.startswith("# "):
            out.append(f"<h1>{inline(line[2:])}</h1>")
        elif line.startswith("> "):
            out.append(f"<p class='warning'>{inline(line[2:])}</p>")
        elif line.startswith("- "):
            out.append(f"<li>{inline(line[2:])}</li>")
        elif line.strip():
            out.append(f"<p>{inline(line)}</p>")
    flush()
    return "\n".join(out)


STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;
font-size:13px;text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}
.warning{background:#fff0e0;border-left:4px solid #e07000;padding:.5em 1em}
figure{display:inline-block;margin:.5em}figcaption{font-size:12px;color:#555}"""


def _html_page(title: str, body_md: str, figures: list[tuple[str, bytes]]) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{STYLE}</style></head><body>", _markdown_to_html(body_md),
             "<h2>Figures</h2>" if figures else ""]
    for caption, png in figures:
        data = base64.b64encode(png).decode("ascii")
        parts.append(f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,"
                     f"{data}'><figcaption>{html.escape(caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(run_dir: str | Path) -> tuple[Path, Path]:
    """Write report.md and report.html into a run folder; returns both paths."""
    run = load_run(run_dir)
    text = markdown(run)
    md_path, html_path = run["dir"] / "report.md", run["dir"] / "report.html"
    md_path.write_text(text)
    html_path.write_text(_html_page(f"paperpred report: {run['name']}", text, _figures(run)))
    return md_path, html_path


def comparison_markdown(runs: Sequence[dict[str, Any]]) -> str:
    """One row per run: its model on the test half (and all papers' n), with intervals."""
    entries = [(r["name"], _model_entry(r)) for r in runs]
    columns = _columns([m for _, m in entries])
    out = ["# paperpred comparison", "",
           "Each run's model at its default rule on its test half (see each run's report).", "",
           _table(["run", "n", *[label for _, label in columns], "warnings"],
                  [[name, fmt(m.get("n")), *[cell(m, k) for k, _ in columns],
                    str(len((r["metrics"].get("analysis") or {}).get("warnings", [])))]
                   for (name, m), r in zip(entries, runs, strict=True)])]
    return "\n".join(out) + "\n"


def _model_entry(run: dict[str, Any]) -> dict[str, Any]:
    compared = (run["metrics"].get("analysis") or {}).get("compared") or []
    return next((e["metrics"] for e in compared if e["name"] == "model"), run["metrics"])


def write_comparison(run_dirs: Sequence[str | Path], out_dir: str | Path) -> tuple[Path, Path]:
    """comparison.md and comparison.html for several runs in ``out_dir``."""
    runs = [load_run(d) for d in run_dirs]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = comparison_markdown(runs)
    curves = {r["name"]: ((r["metrics"].get("analysis") or {}).get("roc") or {}).get("model")
              for r in runs}
    png = plots.roc_curves({k: v for k, v in curves.items() if v},
                           title="ROC of each run's model (test half)")
    md_path, html_path = out / "comparison.md", out / "comparison.html"
    md_path.write_text(text)
    html_path.write_text(_html_page("paperpred comparison", text,
                                    [("ROC of each run's model", png)] if png else []))
    return md_path, html_path
