"""Fixtures of the training tests: real 2017 rows, formatted for SFT."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def balanced_rows(iclr2017):
    """Eight real 2017 submissions, four accepted and four rejected, with reviews."""
    accept = [s for s in iclr2017 if s.get_binary_label() == "Accept" and s.reviews][:4]
    reject = [s for s in iclr2017 if s.get_binary_label() == "Reject" and s.reviews][:4]
    return [row for pair in zip(accept, reject) for row in pair]
