"""Summaries of a data file: what ``paperpred data inspect`` prints."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from paperpred.data.records import is_derived_id
from paperpred.data.report import LoadReport
from paperpred.data.submission import Submission
from paperpred.data.venue_decisions import Decision

DECISION_ORDER = [d.value for d in Decision]
FIELDS = (
    "abstract",
    "reviews",
    "review text",
    "ratings",
    "meta_review",
    "full text (markdown)",
    "keywords",
    "mean_rating",
    "rating_percentile",
    "citation_percentile",
    "page images",
    "submission_id (derived)",
)


def _present(sub: Submission) -> dict[str, bool]:
    return {
        "abstract": bool(sub.abstract.strip()),
        "reviews": bool(sub.reviews),
        "review text": any(r.has_text for r in sub.reviews),
        "ratings": bool(sub.ratings),
        "meta_review": bool(sub.meta_review),
        "full text (markdown)": sub.has_full_text,
        "keywords": bool(sub.keywords),
        "mean_rating": "mean_rating" in sub.labels,
        "rating_percentile": "rating_percentile" in sub.labels,
        "citation_percentile": "citation_percentile" in sub.labels,
        "page images": bool(sub.page_images) if sub.image_dir or sub._page_images else False,
        "submission_id (derived)": is_derived_id(sub),
    }


@dataclass
class DataSummary:
    """Counts over loaded submissions, plus the rows the loader rejected."""

    report: LoadReport
    by_year_decision: Counter = field(default_factory=Counter)
    labelled: Counter = field(default_factory=Counter)
    unlabelled: Counter = field(default_factory=Counter)
    reviews_per_paper: Counter = field(default_factory=Counter)
    present: Counter = field(default_factory=Counter)
    n: int = 0

    @classmethod
    def build(cls, submissions: Iterable[Submission], report: LoadReport) -> DataSummary:
        summary = cls(report=report)
        for sub in submissions:  # the loader fills ``report`` as this runs
            summary.n += 1
            summary.by_year_decision[(sub.year, sub.normalized_decision.value)] += 1
            (summary.labelled if sub.has_label else summary.unlabelled)[sub.year] += 1
            summary.reviews_per_paper[len(sub.reviews)] += 1
            for name, ok in _present(sub).items():
                summary.present[name] += ok
        return summary

    @property
    def years(self) -> list[int]:
        found = {y for y, _ in self.by_year_decision}
        found |= {y for y, _ in self.report.skipped_groups if y is not None}
        return sorted(found)

    def to_dict(self) -> dict[str, Any]:
        return {
            "loaded": self.n,
            "by_year_decision": {
                str(y): {d: self.by_year_decision[(y, d)] for d in DECISION_ORDER
                         if self.by_year_decision[(y, d)]}
                for y in self.years
            },
            "labelled": {str(y): self.labelled[y] for y in self.years},
            "unlabelled": {str(y): self.unlabelled[y] for y in self.years},
            "reviews_per_paper": {str(k): v for k, v in sorted(self.reviews_per_paper.items())},
            "fields_present": {name: self.present[name] for name in FIELDS},
            "report": self.report.to_dict(),
        }

    def _files(self) -> list[str]:
        """Files the rows name (markdown, page images): found, and not opened by reason."""
        report = self.report
        if not report.found_files and not report.missing_files:
            return []
        lines = ["Files named by the rows (papers):"]
        columns = sorted(set(report.found_files) | {c for c, _ in report.missing_files})
        for column in columns:
            lines.append(f"  {column:<26} {report.found_files[column]:>7} found")
        for (column, reason), n in report.missing_files.most_common():
            lines.append(f"  {column:<26} {n:>7} files not opened: {reason}")
            lines += [f"    e.g. {x}" for x in report.missing_examples[f"{column}: {reason}"]]
        return [*lines, ""]

    def render(self) -> str:
        """A plain-text report: year x decision table, labels, reviews, fields, rejections."""
        decisions = [d for d in DECISION_ORDER
                     if any(self.by_year_decision[(y, d)] for y in self.years)
                     or any(g[1] == d for g in self.report.skipped_groups)]
        head = ["year"] + decisions + ["loaded", "labelled", "unlabelled", "rejected"]
        rows = []
        for year in self.years:
            rejected = {d: self.report.skipped_groups[(year, d)] for d in decisions}
            cells = [str(year)]
            for d in decisions:
                n = self.by_year_decision[(year, d)]
                cells.append(f"{n}+{rejected[d]}r" if rejected[d] else str(n or "-"))
            loaded = sum(self.by_year_decision[(year, d)] for d in decisions)
            cells += [str(loaded), str(self.labelled[year]), str(self.unlabelled[year]),
                      str(sum(rejected.values()))]
            rows.append(cells)
        widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
        fmt = lambda r: "  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True))  # noqa: E731
        lines = [self.report.summary(), "", "Submissions per year and decision "
                 "(N+Mr: N loaded, M rejected rows of that year and decision):",
                 fmt(head), *map(fmt, rows), ""]
        total = sum(self.reviews_per_paper.values()) or 1
        dist = ", ".join(f"{k}: {v}" for k, v in sorted(self.reviews_per_paper.items()))
        mean = sum(k * v for k, v in self.reviews_per_paper.items()) / total
        lines += [f"Reviews per paper: mean {mean:.2f} ({dist})", "",
                  "Fields present / missing (of loaded rows):"]
        for name in FIELDS:
            have = self.present[name]
            lines.append(f"  {name:<26} {have:>7} present {self.n - have:>7} missing")
        lines.append("")
        lines += self._files()
        if self.report.skipped:
            lines.append(f"Rows rejected: {self.report.n_skipped}")
            for reason, n in self.report.skipped.most_common():
                lines.append(f"  {reason}: {n}")
                lines += [f"    e.g. {example}" for example in self.report.examples[reason]]
        else:
            lines.append("Rows rejected: 0")
        return "\n".join(lines)
