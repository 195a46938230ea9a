"""Prediction targets that need the whole population: rating and citation percentiles.

Percentiles are mid-rank percentiles in [0, 1] within a group: (papers below + half of the
other papers tied) / (group size - 1); a group of one gets 0.5. Rating percentiles are taken
within one year. Citation percentiles are taken within one year *and one source*, because the
sources (Google Scholar, Semantic Scholar, ...) and their snapshot dates count differently: one
source is used per year, and a paper without a count from that source gets no citation label.
Per year the source is the first of ``CITATION_SOURCES`` (latest, broadest snapshots first)
that covers at least 90% as many papers as the best-covering source of that year.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Raw citation-count fields of the known dumps, in order of preference.
CITATION_SOURCES: tuple[str, ...] = (
    "s2_citations",
    "s2_citations_2020",
    "gs_citation",
    "gs_citation_papercopilot",
    "gs_citations_published",  # technical_indicators.citations of the published dataset
    "citations_2018_karpathy_list",
    "citation_count",
    "citations",
)

MIN_COVERAGE = 0.9


def parse_count(value: Any) -> float | None:
    """A citation count from an int, float or numeric string; None when absent or garbage."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip().replace(",", ""))
    except ValueError:
        return None
    # Negative counts (-1) mark "not found" in the dumps.
    return number if math.isfinite(number) and number >= 0 else None


def mean_rating(ratings: Iterable[float]) -> float | None:
    values = [float(r) for r in ratings if r is not None]
    return sum(values) / len(values) if values else None


class _Ranks:
    """Sorted values of one group, for mid-rank percentiles."""

    def __init__(self, values: list[float]) -> None:
        self.values = sorted(values)

    def percentile(self, value: float) -> float:
        n = len(self.values)
        if n <= 1:
            return 0.5
        below = bisect.bisect_left(self.values, value)
        tied = bisect.bisect_right(self.values, value) - below
        return (below + 0.5 * max(tied - 1, 0)) / (n - 1)


@dataclass
class PercentileTable:
    """Populations gathered in one pass, then used to label each submission."""

    ratings: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    counts: dict[tuple[int, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    _rating_ranks: dict[int, _Ranks] = field(default_factory=dict)
    _count_ranks: dict[tuple[int, str], _Ranks] = field(default_factory=dict)
    _source_of_year: dict[int, str] = field(default_factory=dict)

    def add(self, year: int, mean: float | None, raw_counts: dict[str, Any]) -> None:
        if mean is not None:
            self.ratings[year].append(mean)
        for source in CITATION_SOURCES:
            count = parse_count(raw_counts.get(source))
            if count is not None:
                self.counts[(year, source)].append(count)

    def freeze(self) -> PercentileTable:
        self._rating_ranks = {y: _Ranks(v) for y, v in self.ratings.items()}
        self._count_ranks = {k: _Ranks(v) for k, v in self.counts.items()}
        coverage: dict[int, Counter] = defaultdict(Counter)
        for (year, source), values in self.counts.items():
            coverage[year][source] = len(values)
        for year, by_source in coverage.items():
            best = max(by_source.values())
            self._source_of_year[year] = next(
                s for s in CITATION_SOURCES if by_source.get(s, 0) >= MIN_COVERAGE * best
            )
        return self

    def citation_source(self, year: int) -> str | None:
        return self._source_of_year.get(year)

    def labels_for(self, year: int, mean: float | None, raw_counts: dict[str, Any]) -> dict:
        """The percentile labels of one paper (only those that can be computed)."""
        labels: dict[str, Any] = {}
        if mean is not None and year in self._rating_ranks:
            labels["rating_percentile"] = self._rating_ranks[year].percentile(mean)
        source = self._source_of_year.get(year)
        count = parse_count(raw_counts.get(source)) if source else None
        if source and count is not None:  # a count implies a source
            labels["citation_percentile"] = self._count_ranks[(year, source)].percentile(count)
            labels["citation_source"] = source
        return labels


def merge_labels(labels: dict[str, Any], computed: dict[str, Any]) -> dict[str, Any]:
    """Add computed labels without overriding given ones (a given citation percentile keeps
    its own source, so the computed source is not added beside it)."""
    if "citation_percentile" in labels:
        computed = {k: v for k, v in computed.items() if not k.startswith("citation_")}
    for key, value in computed.items():
        labels.setdefault(key, value)
    return labels
