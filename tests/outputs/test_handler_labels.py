"""Training targets and ground truths on real ICLR 2017 rows."""

from __future__ import annotations

import pytest

from paperpred.data import Submission
from paperpred.outputs import (
    BinaryAcceptRejectHandler,
    CitationPercentileHandler,
    MeanRatingHandler,
    MultiClassDecisionHandler,
)


@pytest.mark.parametrize("decision,binary,multi", [
    ("Oral", "Answer: Accept", "Answer: Accept (Oral)"),
    ("Poster", "Answer: Accept", "Answer: Accept (Poster)"),
    ("Workshop", "Answer: Reject", "Answer: Reject"),  # a workshop invitation is a reject
    ("Reject", "Answer: Reject", "Answer: Reject"),
])
def test_decision_labels_on_real_rows(by_decision: dict[str, Submission], decision: str,
                                      binary: str, multi: str) -> None:
    sub = by_decision[decision]
    assert BinaryAcceptRejectHandler().format_label(sub) == binary
    assert MultiClassDecisionHandler().format_label(sub) == multi
    assert BinaryAcceptRejectHandler().label_value(sub) == binary.removeprefix("Answer: ")
    assert MultiClassDecisionHandler().label_value(sub) == multi.removeprefix("Answer: ")


def test_score_labels_on_a_real_row(by_decision: dict[str, Submission]) -> None:
    sub = by_decision["Poster"]
    cite = sub.labels["citation_percentile"]
    rating = sub.labels["mean_rating"]
    pct = sub.labels["rating_percentile"]
    assert CitationPercentileHandler().format_label(sub) == f"Answer: {cite:.2f}"
    assert CitationPercentileHandler(discretize=True).format_label(sub) == \
        f"Answer: {int(cite * 10 + 0.5) / 10:.1f}"
    assert MeanRatingHandler().format_label(sub) == f"Answer: {rating:.1f}"
    assert MeanRatingHandler(as_percentile=True).format_label(sub) == f"Answer: {pct:.2f}"
    # label_value is the unrounded truth used by the metrics
    assert CitationPercentileHandler(discretize=True).label_value(sub) == cite
    assert MeanRatingHandler().label_value(sub) == rating


def test_missing_labels_give_none(sample: list[Submission]) -> None:
    no_citation = next(s for s in sample if "citation_percentile" not in s.labels)
    assert CitationPercentileHandler().format_label(no_citation) is None
    assert CitationPercentileHandler().label_value(no_citation) is None
    withdrawn = Submission(submission_id="x", year=2025, title="t",
                           decision="ICLR 2025 Conference Withdrawn Submission",
                           labels={"mean_rating": float("nan")})
    assert BinaryAcceptRejectHandler().format_label(withdrawn) is None
    assert MultiClassDecisionHandler().format_label(withdrawn) is None
    assert MeanRatingHandler().format_label(withdrawn) is None


def test_untiered_accept_has_no_multiclass_label() -> None:
    sub = Submission(submission_id="x", year=2014, title="t", decision="Accept")
    assert BinaryAcceptRejectHandler().format_label(sub) == "Answer: Accept"
    assert MultiClassDecisionHandler().format_label(sub) is None


def test_every_labelled_row_has_a_parseable_label(sample: list[Submission]) -> None:
    handler = MultiClassDecisionHandler()
    labels = [handler.format_label(s) for s in sample]
    assert {lab for lab in labels if lab} == {"Answer: Reject", "Answer: Accept (Poster)",
                                               "Answer: Accept (Oral)"}
    assert sum(lab is not None for lab in labels) == len(sample)


@pytest.mark.parametrize("truth,expected", [
    ("Answer: Accept", "Accept"), ("accept", "Accept"), ("Reject", "Reject"),
    ("Workshop", "Reject"), ("Invite to Workshop Track", "Reject"), ("Oral", "Accept"),
    ("ICLR 2025 Poster", "Accept"), ("ICLR 2025 Conference Withdrawn Submission", None),
    (None, None), (float("nan"), None), ("", None),
])
def test_binary_read_truth(truth: object, expected: str | None) -> None:
    assert BinaryAcceptRejectHandler().read_truth(truth) == expected


def test_unreadable_truth_is_an_error() -> None:
    with pytest.raises(ValueError, match="not one of"):
        BinaryAcceptRejectHandler().read_truth("banana")
    with pytest.raises(ValueError, match="no number"):
        MeanRatingHandler().read_truth("banana")


def test_score_read_truth() -> None:
    handler = CitationPercentileHandler(discretize=True)
    assert handler.read_truth("Answer: 0.73") == 0.73  # exact: truths are never rounded
    assert handler.read_truth(0.5) == 0.5
    assert handler.read_truth(float("nan")) is None
    assert MeanRatingHandler().read_truth("Answer: 6.3") == 6.3
