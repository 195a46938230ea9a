"""The InputFormatter contract: a Submission becomes chat messages plus an ordered image list.

A formatter does no model I/O. Subclasses set :attr:`~InputFormatter.modality` and
:attr:`~InputFormatter.requires_vl_model` and define :meth:`~InputFormatter.format_content`
(and :meth:`~InputFormatter.get_images` for vision formatters); :meth:`InputFormatter.build`
does the rest: leakage scrubbing, few-shot examples, the instruction, the answer, the image
markers and the token budget.

Images are represented once for the whole project: the user text holds one literal
``<image>`` marker (:data:`IMAGE_TOKEN`, LlamaFactory's convention) per image, in the order of
``images``; backends turn markers into their own content parts.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from paperpred.config import InputModality
from paperpred.data.leakage import mask_header_band, scrub_submission
from paperpred.data.submission import Submission
from paperpred.errors import PaperpredError
from paperpred.inputs.budget import Budget, TokenCounter
from paperpred.inputs.fewshot import to_example
from paperpred.inputs.render import IMAGE_TOKEN, escape_markers

log = logging.getLogger(__name__)

DEFAULT_SYSTEM_PROMPT = (
    "You are an expert machine learning researcher and an experienced ICLR area chair. "
    "You read submissions to ICLR and predict their outcomes."
)
_PREPARED = "_paperpred_prepared"


@dataclass
class Prompt:
    """Chat messages and the images their ``<image>`` markers stand for, in order: the one
    "messages + images" type. A formatter's output (:class:`FormattedPrompt`), a training
    sample (:class:`~paperpred.inputs.samples.Sample`) and a request to an engine
    (:class:`~paperpred.inference.base.ChatRequest`) are all prompts.

    Attributes:
        messages: ``[{"role": "system", ...}, {"role": "user", ...}]`` plus
            ``{"role": "assistant", ...}`` when a label was given.
        images: page images in the order of the ``<image>`` markers in the user text.
    """

    messages: list[dict[str, Any]]
    images: list[Any] = field(default_factory=list)

    @property
    def prompt_messages(self) -> list[dict[str, Any]]:
        """The messages without the assistant's answer."""
        return [m for m in self.messages if m["role"] != "assistant"]

    def content(self, role: str) -> str | None:
        """The text of the first message with ``role``, or None."""
        return next((m["content"] for m in self.messages if m["role"] == role), None)

    @property
    def system(self) -> str | None:
        return self.content("system")

    @property
    def user(self) -> str:
        return self.content("user") or ""


@dataclass
class FormattedPrompt(Prompt):
    """What a formatter produces for one submission: a :class:`Prompt` and ``meta``
    (formatter name, submission id, image count, few-shot count and, under a token budget,
    ``tokens``, ``token_budget``, ``token_count_method``, ``sections_omitted``,
    ``paragraphs_omitted`` and ``over_budget``)."""

    meta: dict[str, Any] = field(default_factory=dict)


@cache
def _accepts_budget(method: Callable[..., Any]) -> bool:
    try:
        return "budget" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Submission):
        return value.to_dict()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return getattr(value, "name_or_path", None) or repr(value)


class InputFormatter:
    """Base class of every input formatter.

    Args:
        scrub_leakage: remove label-bearing text and mask page headers (see
            :mod:`paperpred.data.leakage`). Default True. ``False`` is **unsafe**: camera-ready
            headers, decision statements and acknowledgements then reach the model, and
            measured accuracy stops meaning anything. The ``meta_review`` field is never
            shown either way.
        system_prompt: the system message (default :data:`DEFAULT_SYSTEM_PROMPT`).
        few_shot_examples: labelled examples shown before the paper, rendered exactly like it
            (see :func:`paperpred.inputs.fewshot.to_example` for the accepted forms).
        few_shot_count: how many of ``few_shot_examples`` to show (default: all).
        few_shot_label: the label Submission examples show: ``"binary"``, ``"multiclass"`` or
            a key of ``Submission.labels``.

    Example (the spec's extension example)::

        @register_input_formatter(InputModality.TEXT_ONLY)
        class MyCustomFormatter(InputFormatter):
            modality = InputModality.TEXT_ONLY
            requires_vl_model = False

            def format_content(self, submission):
                return f"Title: {submission.title}\\nAbstract: {submission.abstract}"

            def get_images(self, submission):
                return None
    """

    modality: ClassVar[InputModality] = InputModality.TEXT_ONLY
    requires_vl_model: ClassVar[bool] = False
    #: Whether ``format_content`` may show the full text; when False, ``prepare`` drops it
    #: instead of scrubbing it. Unknown (custom) formatters keep it, scrubbed.
    shows_full_text: bool = True
    init_kwargs: dict[str, Any]

    def __new__(cls, *args: Any, **kwargs: Any) -> InputFormatter:
        self = super().__new__(cls)
        self.init_kwargs = dict(kwargs)  # recorded so a run folder can rebuild the formatter
        return self

    def __init__(
        self,
        *,
        scrub_leakage: bool = True,
        system_prompt: str | None = None,
        few_shot_examples: list[Any] | None = None,
        few_shot_count: int | None = None,
        few_shot_label: str = "binary",
    ) -> None:
        self.scrub_leakage = bool(scrub_leakage)
        self.system_prompt = DEFAULT_SYSTEM_PROMPT if system_prompt is None else system_prompt
        examples = list(few_shot_examples or [])
        if few_shot_count is not None and not 0 <= few_shot_count <= len(examples):
            raise ValueError(
                f"few_shot_count={few_shot_count} but {len(examples)} few_shot_examples were "
                "given; pass at most as many as there are examples"
            )
        count = len(examples) if few_shot_count is None else few_shot_count
        self.few_shot_examples = examples
        self.few_shot_count = count
        self.few_shot_label = few_shot_label
        self._examples = [
            to_example(x, i, few_shot_label) for i, x in enumerate(examples[:count], 1)
        ]

    # ----- the contract -------------------------------------------------------------------
    def format_content(self, submission: Submission) -> str:
        """The paper as the user-message text, with one ``<image>`` marker per image."""
        raise NotImplementedError(f"{type(self).__name__} must define format_content()")

    def get_images(self, submission: Submission) -> list[Any] | None:
        """Page images in marker order, or None for text-only formatters."""
        return None

    # ----- identity -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The registry name (the lower-cased class name for an unregistered class)."""
        return type(self).__dict__.get("registry_name") or type(self).__name__.lower()

    def to_config(self) -> dict[str, Any]:
        """``{"name", "kwargs"}``: enough to rebuild this formatter with
        :func:`get_input_formatter` (a tokenizer is recorded by its name or path), as an
        output handler's ``to_config``."""
        return {"name": self.name, "kwargs": _jsonable(self.init_kwargs)}

    def describe(self) -> dict[str, Any]:
        """What reports and run folders record: :meth:`to_config` (all a formatter needs)."""
        return self.to_config()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in _jsonable(self.init_kwargs).items())
        return f"{type(self).__name__}({args})"

    # ----- building a prompt --------------------------------------------------------------
    def prepare(self, submission: Submission) -> Submission:
        """A copy of ``submission`` fit to show: scrubbed (unless ``scrub_leakage=False``),
        without its meta-review, with literal ``<image>`` in its text escaped."""
        state = getattr(submission, _PREPARED, None)
        if state == "scrubbed" or (state == "raw" and not self.scrub_leakage):
            return submission
        if self.scrub_leakage:
            clean = scrub_submission(submission, keep_full_text=self.shows_full_text)
        else:
            text = submission.full_text() if self.shows_full_text else None
            clean = dataclasses.replace(submission, meta_review=None, markdown=text,
                                        markdown_path=None)
        texts = [clean.title, clean.abstract, clean.markdown or "", *clean.keywords]
        texts += [getattr(r, f) for r in clean.reviews for f in ("summary", "strengths",
                  "weaknesses", "questions", "text", "title")]
        if any(IMAGE_TOKEN in t for t in texts if t):
            clean = _escape_submission(clean)
        setattr(clean, _PREPARED, "scrubbed" if self.scrub_leakage else "raw")
        return clean

    def build(
        self, submission: Submission, instruction: str | None = None, label: str | None = None
    ) -> FormattedPrompt:
        """Chat messages and images for ``submission``.

        Args:
            submission: the paper.
            instruction: the task text (an OutputHandler's ``get_instruction()``); it follows
                the paper in the user message.
            label: the answer (``"Answer: Accept"``); adds an assistant message (training).

        Returns:
            A :class:`FormattedPrompt`.

        Raises:
            MissingPageImagesError: a vision formatter got no page images (see its
                ``on_missing_images``).
            PaperpredError: ``format_content`` wrote a different number of ``<image>`` markers
                than ``get_images`` returned images.
        """
        query = self.prepare(submission)
        blocks, images = [], []
        for example, answer in self._examples:
            example = self.prepare(example)
            blocks.append((self._content(example, None), answer))
            images += self._images(example)

        def compose(content: str) -> list[dict[str, str]]:
            return self._messages(self._user_text(blocks, content, instruction), label)

        budget = self._budget(compose)
        content = self._content(query, budget)
        query_images = self._images(query)
        if content.count(IMAGE_TOKEN) == 0 and query_images:
            content = "\n".join([IMAGE_TOKEN] * len(query_images) + [content])
        images += query_images
        messages = compose(content)
        markers = sum(m["content"].count(IMAGE_TOKEN) for m in messages)
        if markers != len(images):
            raise PaperpredError(
                f"formatter '{self.name}' wrote {markers} '{IMAGE_TOKEN}' markers for "
                f"{len(images)} images of submission {submission.submission_id}; "
                "format_content must write one marker per image, in get_images' order"
            )
        meta: dict[str, Any] = {
            "formatter": self.name,
            "submission_id": submission.submission_id,
            "n_images": len(images),
            "few_shot": len(blocks),
        }
        if budget is not None:
            if budget.tokens is None:
                budget.tokens = budget.measure(content)
            meta.update(tokens=budget.tokens, token_budget=budget.limit,
                        token_count_method=self._counter_method(),
                        sections_omitted=budget.sections_omitted,
                        paragraphs_omitted=budget.paragraphs_omitted,
                        over_budget=budget.over_budget)
            if budget.over_budget:
                log.warning("%s: %s needs %d tokens, over the budget of %d even without its "
                            "full text", self.name, submission.submission_id, budget.tokens,
                            budget.limit)
        return FormattedPrompt(messages=messages, images=images, meta=meta)

    # ----- hooks for the built-in formatters ----------------------------------------------
    def _budget(self, compose: Callable[[str], list[dict[str, str]]]) -> Budget | None:
        """A token budget for the whole prompt, or None (no limit)."""
        return None

    def _counter_method(self) -> str:
        return TokenCounter().method

    def _content(self, submission: Submission, budget: Budget | None) -> str:
        if budget is not None and _accepts_budget(type(self).format_content):
            return self.format_content(submission, budget=budget)  # type: ignore[call-arg]
        return self.format_content(submission)

    def _images(self, submission: Submission) -> list[Any]:
        images = list(self.get_images(submission) or [])
        return mask_header_band(images) if self.scrub_leakage and images else images

    def _user_text(self, blocks: list[tuple[str, str]], content: str,
                   instruction: str | None) -> str:
        if blocks:
            n = len(blocks)
            parts = [f"Here {'is' if n == 1 else 'are'} {n} example paper{'s' if n > 1 else ''} "
                     "with the correct answer."]
            parts += [f"=== Example {i} ===\n{text}\n\n{answer}"
                      for i, (text, answer) in enumerate(blocks, 1)]
            parts.append(f"=== Paper to assess ===\n{content}")
            content = "\n\n".join(parts)
        return f"{content}\n\n{instruction.strip()}" if instruction else content

    def _messages(self, user: str, label: str | None) -> list[dict[str, str]]:
        messages = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        messages.append({"role": "user", "content": user})
        if label is not None:
            messages.append({"role": "assistant", "content": label})
        return messages


def _escape_submission(sub: Submission) -> Submission:
    fields = ("summary", "strengths", "weaknesses", "questions", "text", "title")
    reviews = []
    for r in sub.reviews:
        changes: dict[str, Any] = {f: escape_markers(getattr(r, f)) for f in fields}
        reviews.append(dataclasses.replace(r, **changes))
    return dataclasses.replace(
        sub,
        title=escape_markers(sub.title),
        abstract=escape_markers(sub.abstract or ""),
        markdown=escape_markers(sub.markdown) if sub.markdown else sub.markdown,
        keywords=[escape_markers(k) for k in sub.keywords],
        reviews=reviews,
    )
