"""Zero-shot prediction: no training, the model as it is (optionally with a LoRA adapter)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from paperpred.config import InferenceConfig, TrainingConfig
from paperpred.data.submission import Submission
from paperpred.inference.base import ChatRequest, GenerationParams, InferenceBackend
from paperpred.inference.factory import backend_for
from paperpred.inputs.samples import FormatReport, Sample, format_samples


def resolve_reading(reading: str, handler: Any) -> str:
    """``score`` (label scoring) or ``generate``. Auto scores the candidate answers unless the
    handler asks for reasoning, which only generation can give."""
    if reading != "auto":
        return reading
    return "generate" if getattr(handler, "include_reasoning", False) else "score"


class ZeroShotMode:
    """Predict with a model as it is.

    Args:
        config: the model (``model_name_or_path``) and, for the spec's signature, training
            hyper-parameters (unused here).
        input_formatter: how a paper is shown.
        output_handler: what is predicted and how answers are read.
        use_vllm: prefer the vLLM engine (``backend="vllm"``) when the inference config says
            ``backend="auto"``.
        engine: an inference backend that is already loaded, used for every prediction
            (whatever the inference config says; ``close`` leaves it to its owner): one engine
            shared by several formatters and handlers.
    """

    def __init__(self, config: TrainingConfig | Any, input_formatter: Any, output_handler: Any,
                 use_vllm: bool = False, engine: InferenceBackend | None = None) -> None:
        self.config = config
        self.input_formatter = input_formatter
        self.output_handler = output_handler
        self.use_vllm = use_vllm
        self.format_report = FormatReport()
        self._engine = engine
        self._backend: InferenceBackend | None = None
        self._backend_key: tuple | None = None

    def format_samples(self, submissions: Iterable[Submission],
                       include_label: bool = False) -> list[Sample]:
        """Chat messages and images for each submission (see :func:`format_samples`)."""
        return format_samples(self.input_formatter, self.output_handler, submissions,
                              include_label, self.format_report)

    def backend(self, config: InferenceConfig) -> InferenceBackend:
        """The inference engine for ``config``, created once and reused while it matches (or
        the ``engine`` this mode was given)."""
        if self._engine is not None:
            return self._engine
        kind = "vllm" if (self.use_vllm and config.backend == "auto") else config.backend
        key = (kind, config.model_name_or_path, config.adapter_path, tuple(config.base_urls),
               config.device, config.dtype, config.merge_adapter, config.tensor_parallel_size,
               repr(sorted(config.engine_options.items())))
        if self._backend is None or key != self._backend_key:
            self.close()
            self._backend = backend_for(config, kind)
            self._backend_key = key
        return self._backend

    def predict(self, samples: list[Sample], config: InferenceConfig) -> list[dict[str, Any]]:
        """Predict each sample: a dict per sample with the handler's keys (``prediction``,
        ``parse_success``, ``raw``; ``probabilities`` and ``score`` when scoring) plus
        ``submission_id`` and ``ground_truth``."""
        backend = self.backend(config)
        reading = resolve_reading(config.reading, self.output_handler)
        results: list[dict[str, Any]] = []
        size = max(1, config.batch_size)
        for start in range(0, len(samples), size):
            batch = samples[start:start + size]
            requests = [ChatRequest(s.prompt_messages, s.images) for s in batch]
            if reading == "score":
                candidates = self.output_handler.candidate_texts()
                outputs = [self.output_handler.score_candidates(row)
                           for row in backend.score(requests, candidates)]
            else:
                params = GenerationParams(config.max_tokens, config.temperature, config.seed)
                outputs = [self.output_handler.parse_prediction(text)
                           for text in backend.generate(requests, params)]
            for sample, output in zip(batch, outputs, strict=True):
                results.append({"submission_id": sample.submission_id, **output,
                                "ground_truth": sample.ground_truth, "reading": reading,
                                "n_images": len(sample.images)})
        return results

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
        self._backend = None
