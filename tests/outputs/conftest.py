"""Shared fixtures of the output-handler tests: real ICLR 2017 rows and fresh handlers."""

from __future__ import annotations

import pytest

from paperpred.data import Submission, load_sample
from paperpred.outputs import (
    BinaryAcceptRejectHandler,
    CitationPercentileHandler,
    MeanRatingHandler,
    MultiClassDecisionHandler,
)


@pytest.fixture(scope="session")
def sample() -> list[Submission]:
    # strict=False: the bundled file has one row with an empty title that strict mode rejects;
    # these tests only need the labelled rows.
    return load_sample(strict=False)


@pytest.fixture(scope="session")
def by_decision(sample: list[Submission]) -> dict[str, Submission]:
    """The first real row of each raw 2017 decision: Oral, Poster, Workshop, Reject."""
    out: dict[str, Submission] = {}
    for sub in sample:
        out.setdefault(sub.decision, sub)
    return out


@pytest.fixture
def binary() -> BinaryAcceptRejectHandler:
    return BinaryAcceptRejectHandler()


@pytest.fixture
def multiclass() -> MultiClassDecisionHandler:
    return MultiClassDecisionHandler()


@pytest.fixture
def citation() -> CitationPercentileHandler:
    return CitationPercentileHandler()


@pytest.fixture
def rating() -> MeanRatingHandler:
    return MeanRatingHandler()


HANDLER_CONFIGS = [
    ("binary", {}),
    ("binary", {"include_reasoning": True}),
    ("multiclass", {}),
    ("multiclass", {"include_reasoning": True}),
    ("citation_percentile", {}),
    ("citation_percentile", {"include_reasoning": True, "discretize": True}),
    ("mean_rating", {}),
    ("mean_rating", {"as_percentile": True, "include_reasoning": True}),
]


@pytest.fixture(params=HANDLER_CONFIGS,
                ids=[f"{n}-{'-'.join(kw) or 'default'}" for n, kw in HANDLER_CONFIGS])
def any_handler(request: pytest.FixtureRequest):
    """Every built-in handler in its main configurations (contract tests)."""
    from paperpred.outputs import get_output_handler

    name, kwargs = request.param
    return get_output_handler(name, **kwargs)
