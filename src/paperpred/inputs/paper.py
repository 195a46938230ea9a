"""PaperFormatter: the machinery the built-in formatters share.

A built-in formatter is a *layout*: an ordered list of parts (title, keywords, abstract,
reviews, full text, page images), each written by :mod:`paperpred.inputs.render`. The full
text is the only part a token budget may cut (see :mod:`paperpred.inputs.budget`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from paperpred.data.submission import Submission
from paperpred.inputs.base import InputFormatter
from paperpred.inputs.budget import Budget, TokenCounter, fit_full_text
from paperpred.inputs.render import (
    render_abstract,
    render_full_text,
    render_keywords,
    render_review_scores,
    render_reviews,
    render_title,
)

PARTS = ("title", "keywords", "abstract", "reviews", "review_scores", "full_text", "pages")


class PaperFormatter(InputFormatter):
    """Base of the built-in formatters.

    Args:
        include_keywords: show the authors' keywords after the title.
        use_normalized_reviews: True shows each review's universal fields labelled (Summary,
            Strengths, Weaknesses, Questions, Review, Rating x/10, Confidence y/5); False shows
            the review text as written and the scores as the form gave them.
        max_review_chars: cut each review's prose to this many characters (its rating and
            confidence stay), or None for whole reviews: a cheap way to fit several reviews
            into short contexts.
        max_tokens: token budget of the whole prompt (system, examples, paper, instruction
            and answer), or None for no limit. Only the full text is cut to fit; the prompt
            then says so.
        tokenizer: a Hugging Face tokenizer to count tokens with; without one, tokens are
            estimated (4 characters per token, see :mod:`paperpred.inputs.budget`).
        **kwargs: see :class:`InputFormatter` (``scrub_leakage``, ``few_shot_examples``, ...).
    """

    shows_full_text = False

    def __init__(
        self,
        *,
        include_keywords: bool = True,
        use_normalized_reviews: bool = True,
        max_review_chars: int | None = None,
        max_tokens: int | None = None,
        tokenizer: Any | None = None,
        **kwargs: Any,
    ) -> None:
        if max_review_chars is not None and (not isinstance(max_review_chars, int)
                                             or max_review_chars < 0):
            raise ValueError("max_review_chars must be a non-negative integer or None, got "
                             f"{max_review_chars!r}")
        self.max_review_chars = max_review_chars
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens <= 0):
            raise ValueError(f"max_tokens must be a positive integer or None, got {max_tokens!r}")
        self.include_keywords = include_keywords
        self.use_normalized_reviews = use_normalized_reviews
        self.max_tokens = max_tokens
        self.tokenizer = tokenizer
        self.counter = TokenCounter(tokenizer)
        super().__init__(**kwargs)

    # ----- layout -------------------------------------------------------------------------
    def layout(self, submission: Submission) -> list[str]:
        """The parts shown for ``submission``, in order (names from :data:`PARTS`)."""
        raise NotImplementedError

    def render_part(self, part: str, submission: Submission, full_text: str | None) -> str | None:
        """The text of one part (None leaves it out)."""
        if part == "title":
            return render_title(submission)
        if part == "keywords":
            return render_keywords(submission) if self.include_keywords else None
        if part == "abstract":
            return render_abstract(submission)
        if part == "reviews":
            return render_reviews(submission, self.use_normalized_reviews,
                                  self.max_review_chars)
        if part == "review_scores":
            return render_review_scores(submission)
        if part == "full_text":
            return render_full_text(full_text)
        raise ValueError(f"{type(self).__name__} cannot render part '{part}'")

    # ----- the contract -------------------------------------------------------------------
    def format_content(self, submission: Submission, *, budget: Budget | None = None) -> str:
        """The paper as user text (scrubbed unless ``scrub_leakage=False``).

        Args:
            submission: the paper.
            budget: the budget of the whole prompt (given by :meth:`build`); by default the
                content alone is held to ``max_tokens``.
        """
        sub = self.prepare(submission)
        parts = self.layout(sub)

        def render(full_text: str | None) -> str:
            texts = (self.render_part(p, sub, full_text) for p in parts)
            return "\n\n".join(t for t in texts if t)

        if budget is None and self.max_tokens is not None:
            budget = Budget(self.max_tokens, self.counter.count, self.counter.count_many)
        if budget is None or "full_text" not in parts or not (sub.markdown or "").strip():
            content = render(sub.markdown)
            if budget is not None:
                budget.tokens = budget.measure(content)
            return content
        return fit_full_text(sub.markdown or "", render, budget)

    # ----- hooks of InputFormatter --------------------------------------------------------
    def _budget(self, compose: Callable[[str], list[dict[str, str]]]) -> Budget | None:
        if self.max_tokens is None:
            return None
        return Budget(
            self.max_tokens,
            lambda c: self.counter.count_messages(compose(c)),
            self.counter.count_many,
        )

    def _counter_method(self) -> str:
        return self.counter.method
