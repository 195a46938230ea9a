"""The review_scores formatter: ratings and confidences on the year's scale, no review text."""

from __future__ import annotations

import dataclasses

from paperpred.data.reviews import Review
from paperpred.inputs import INPUT_FORMATTERS, ReviewScoresFormatter, get_input_formatter


def test_registered_and_listed():
    assert INPUT_FORMATTERS.get("review_scores") is ReviewScoresFormatter
    assert get_input_formatter("review_scores").name == "review_scores"


def test_shows_each_rating_and_confidence_and_no_text(iclr2017):
    sub = next(s for s in iclr2017 if len(s.reviews) == 3 and s.reviews[0].text)
    user = get_input_formatter("review_scores").build(sub).user
    assert user.startswith(f"Title: {sub.title}")
    for i, review in enumerate(sub.reviews, 1):
        assert f"Review {i}: rating {review.rating:g}, confidence {review.confidence:g}" in user
    mean = sum(sub.ratings) / len(sub.ratings)
    assert f"Mean rating: {mean:.2f}" in user
    assert sub.reviews[0].text[:60] not in user and sub.abstract[:60] not in user
    assert (sub.meta_review or "x" * 80)[:60] not in user


def test_states_the_years_scale_and_missing_confidence(iclr2017):
    sub = dataclasses.replace(iclr2017[0], year=2020, reviews=[
        Review(rating=6.0, confidence=None), Review(rating=3.0, confidence=None)])
    user = get_input_formatter("review_scores", include_title=False,
                               include_mean=False).build(sub).user
    assert "ICLR 2020 ratings on {1, 3, 6, 8}" in user
    assert "Review 2: rating 3, confidence n/a" in user
    assert "Mean rating" not in user and "Title:" not in user


def test_a_paper_without_scores_says_so(iclr2017):
    sub = dataclasses.replace(iclr2017[0], reviews=[])
    assert "Review scores: none available." in get_input_formatter("review_scores").build(
        sub).user
