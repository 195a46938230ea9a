"""Review normalisation across review-form generations."""

import pytest

from paperpred.data.reviews import Review, normalize_review, parse_score, reviews_from_scores


def test_2017_shape():
    review = normalize_review(
        {"review_title": "Nice idea", "text": "The paper...", "rating": "7", "confidence": "4"},
        2017,
    )
    assert (review.title, review.text, review.rating, review.confidence) == (
        "Nice idea", "The paper...", 7.0, 4.0)
    assert review.extra == {}


def test_spec_standardized_shape():
    review = normalize_review({"summary": "S", "strengths": "A", "weaknesses": "B",
                               "questions": "Q?", "rating": 6, "confidence": 3}, 2024)
    assert (review.summary, review.strengths, review.weaknesses, review.questions) == (
        "S", "A", "B", "Q?")
    assert review.rating == 6.0 and "off_scale" not in review.extra


def test_openreview_v2_shape_keeps_raw_rating_text():
    raw = {"id": "abc", "content": {
        "summary": {"value": "Sum"}, "strengths": {"value": "Str"},
        "weaknesses": {"value": "Weak"}, "questions": {"value": "Why?"},
        "rating": {"value": "8: accept, good paper"}, "confidence": {"value": "4: confident"},
        "soundness": {"value": "3 good"}}}
    review = normalize_review(raw, 2024)
    assert review.rating == 8.0 and review.confidence == 4.0
    assert review.extra["rating_raw"] == "8: accept, good paper"
    assert review.extra["soundness"] == "3 good"  # unknown fields are kept, not dropped


def test_2022_combined_sections_go_to_text():
    review = normalize_review({"summary_of_the_paper": "P", "main_review": "M",
                               "strength_and_weaknesses": "SW", "recommendation": "6"}, 2022)
    assert review.summary == "P"
    assert review.text.startswith("M") and "Strengths and weaknesses: SW" in review.text
    assert review.rating == 6.0


@pytest.mark.parametrize("year,rating,off", [
    (2020, 1, False), (2020, 3, False), (2020, 6, False), (2020, 8, False), (2020, 5, True),
    (2022, 5, False), (2022, 10, False), (2022, 7, True), (2023, 4, True), (2017, 7, False),
])
def test_rating_scales_of_each_year(year, rating, off):
    review = normalize_review({"rating": rating}, year)
    assert review.rating == float(rating)
    assert review.extra.get("off_scale", False) is off


def test_rating_outside_1_to_10_is_an_error():
    with pytest.raises(ValueError, match="outside the 1-10 scale"):
        normalize_review({"rating": 11})


def test_not_an_object_is_an_error():
    with pytest.raises(ValueError, match="JSON object"):
        normalize_review(["a", "list"])


@pytest.mark.parametrize("value,expected", [
    (7, 7.0), ("7", 7.0), (" 6: marginally above", 6.0), ("5.5", 5.5), (None, None),
    ("n/a", None), (True, None), ("", None),
])
def test_parse_score(value, expected):
    assert parse_score(value) == expected


def test_reviews_from_score_lists():
    reviews = reviews_from_scores([3, 6, 8], [4, 3], 2020)
    assert [r.rating for r in reviews] == [3.0, 6.0, 8.0]
    assert [r.confidence for r in reviews] == [4.0, 3.0, None]
    assert not any(r.has_text for r in reviews)


def test_round_trip_through_dict():
    review = normalize_review({"summary": "S", "rating": "8: accept", "confidence": 2}, 2023)
    again = normalize_review(review.to_dict(), 2023)
    assert again == review
    assert isinstance(Review.from_dict(review.to_dict()), Review)
