"""Samples: a submission formatted for a model, with its label when training."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from paperpred.data.submission import Submission
from paperpred.inputs.base import FormattedPrompt


@dataclass
class Sample(FormattedPrompt):
    """One formatted submission: a :class:`FormattedPrompt` (messages: system and user turns,
    plus the assistant's label when ``label`` is set; images; what the formatter reported in
    ``meta``) and, as keywords:

    Attributes:
        submission_id: the paper.
        label: the handler's training target (``"Answer: Accept"``), when asked for.
        ground_truth: the raw label value for metrics (``"Accept"``, ``0.73``) or None.
    """

    submission_id: str = field(kw_only=True)
    label: str | None = field(default=None, kw_only=True)
    ground_truth: Any = field(default=None, kw_only=True)


@dataclass
class FormatReport:
    """How many submissions became samples, and why the others did not."""

    formatted: int = 0
    skipped: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        text = f"formatted {self.formatted} samples"
        if self.skipped:
            text += "; skipped " + ", ".join(f"{k}: {v}" for k, v in self.skipped.items())
        return text


def format_samples(
    formatter: Any,
    handler: Any,
    submissions: Iterable[Submission],
    include_label: bool = False,
    report: FormatReport | None = None,
) -> list[Sample]:
    """Format ``submissions`` with ``formatter`` and the ``handler``'s instruction.

    With ``include_label=True`` (training data) a submission without this handler's label is
    skipped and counted in ``report``; without it every submission is formatted and its
    ground truth (possibly None) kept for metrics.
    """
    report = report if report is not None else FormatReport()
    instruction = handler.get_instruction()
    samples = []
    for sub in submissions:
        label = handler.format_label(sub) if include_label else None
        if include_label and label is None:
            report.skipped["no label for this output type"] += 1
            continue
        prompt = formatter.build(sub, instruction=instruction, label=label)
        samples.append(Sample(
            submission_id=sub.submission_id,
            messages=prompt.messages,
            images=list(prompt.images),
            label=label,
            ground_truth=handler.label_value(sub),
            meta=dict(prompt.meta),
        ))
        report.formatted += 1
    return samples
