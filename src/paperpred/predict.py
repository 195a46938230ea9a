"""UnifiedPredictor: one object that composes formatter x handler x mode and predicts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from paperpred.config import (
    InputModality,
    OutputType,
    PredictorConfig,
    TrainingMode,
    adapter_problem,
    vision_problem,
)
from paperpred.config import training_mode as training_mode_of
from paperpred.data.submission import Submission
from paperpred.errors import ConfigError, PaperpredError
from paperpred.inputs import get_input_formatter
from paperpred.modes.zero_shot import ZeroShotMode
from paperpred.outputs import get_output_handler


class UnifiedPredictor:
    """Predict paper outcomes with any input modality, output type and training mode.

    Build one with :meth:`create`. Zero-shot uses the model as it is; a model trained with
    SFT or GRPO predicts the same way with ``config.adapter_path`` set to its LoRA adapter.
    """

    def __init__(self, input_formatter: Any, output_handler: Any, mode: ZeroShotMode,
                 config: PredictorConfig, training_mode: TrainingMode) -> None:
        self.input_formatter = input_formatter
        self.output_handler = output_handler
        self.mode = mode
        self.config = config
        self.training_mode = training_mode

    @classmethod
    def create(
        cls,
        input_modality: InputModality | str,
        output_type: OutputType | str,
        training_mode: TrainingMode | str = TrainingMode.ZERO_SHOT,
        config: PredictorConfig | None = None,
        input_kwargs: dict[str, Any] | None = None,
        output_kwargs: dict[str, Any] | None = None,
    ) -> UnifiedPredictor:
        """Compose a predictor.

        Args:
            input_modality: an InputModality (its default formatter) or a formatter name
                (``"abstract_only"``).
            output_type: an OutputType (its default handler) or a handler name.
            training_mode: ZERO_SHOT; SFT_LORA and GRPO predict through their LoRA adapter
                (``config.adapter_path`` is then required).
            config: model and inference settings.
            input_kwargs, output_kwargs: keywords of the formatter and the handler.
        """
        if config is None:
            raise PaperpredError("UnifiedPredictor.create needs config=PredictorConfig(...)")
        training_mode = training_mode_of(training_mode)
        problem = adapter_problem(training_mode, config.adapter_path)
        if problem:
            raise ConfigError(problem)
        formatter = get_input_formatter(input_modality, **(input_kwargs or {}))
        handler = get_output_handler(output_type, **(output_kwargs or {}))
        problem = vision_problem(formatter, config.model_type)
        if problem:
            raise ConfigError(problem)
        mode = ZeroShotMode(config, formatter, handler)
        return cls(formatter, handler, mode, config, training_mode)

    def predict(self, submissions: Iterable[Submission]) -> list[dict[str, Any]]:
        """One result dict per submission, in order (see :meth:`ZeroShotMode.predict`)."""
        samples = self.mode.format_samples(list(submissions), include_label=False)
        return self.mode.predict(samples, self.config.inference())

    def evaluate(self, predictions: list[dict[str, Any]]) -> dict[str, Any]:
        """Metrics of ``predictions`` against their ground truths. Submissions without a
        label (withdrawn, desk-rejected, unknown) were predicted but are left out, and
        counted in ``n_excluded_no_label``."""
        metrics = self.output_handler.compute_metrics(
            predictions, [p["ground_truth"] for p in predictions]
        )
        metrics.setdefault("n_excluded_no_label",
                           sum(p["ground_truth"] is None for p in predictions))
        metrics["readings"] = dict(Counter(p.get("reading", "?") for p in predictions))
        return metrics

    def predict_with_evaluation(self, submissions: Iterable[Submission]) -> dict[str, Any]:
        """``{"predictions": [...], "metrics": {...}}``."""
        predictions = self.predict(submissions)
        return {"predictions": predictions, "metrics": self.evaluate(predictions)}

    def describe(self) -> dict[str, Any]:
        """What rebuilds this predictor: component names, their keywords, the config."""
        from dataclasses import asdict

        config = asdict(self.config)
        config["model_type"] = self.config.model_type.value
        config.pop("api_key", None)  # never write secrets into a run folder
        return {"input": self.input_formatter.describe(), "output": self.output_handler.describe(),
                "training_mode": self.training_mode.value, "config": config}

    def close(self) -> None:
        self.mode.close()
