"""One interface for every inference engine: generation and label scoring.

A request is a chat (``messages``: system/user turns; a user turn's text holds one literal
``<image>`` marker per image, in order, LlamaFactory's convention) plus its ordered ``images``
(PIL images or file paths). Each backend turns markers into its own image parts.

Label scoring: ``score(requests, continuations)`` returns, for every request, the total
log-probability of each continuation string as the assistant's reply (after the chat template's
generation prompt). The prompt is encoded once per request and every continuation is scored
from it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from paperpred.inputs.base import Prompt
from paperpred.inputs.render import IMAGE_TOKEN  # one marker across the project


@dataclass
class ChatRequest(Prompt):
    """One prompt sent to an engine (a :class:`~paperpred.inputs.base.Prompt` whose markers
    and images are checked to match)."""

    def __post_init__(self) -> None:
        markers = sum(str(m.get("content", "")).count(IMAGE_TOKEN) for m in self.messages)
        if markers != len(self.images):
            raise ValueError(
                f"the messages hold {markers} {IMAGE_TOKEN} markers but {len(self.images)} "
                "images were given; give one marker per image"
            )


@dataclass
class GenerationParams:
    max_tokens: int = 512
    temperature: float = 0.0
    seed: int = 42


class InferenceBackend(ABC):
    """Generation and label scoring over batches of chat requests."""

    name: str = "base"
    supports_images: bool = False

    @abstractmethod
    def generate(self, requests: list[ChatRequest], params: GenerationParams) -> list[str]:
        """The assistant's reply to each request, in order."""

    @abstractmethod
    def score(self, requests: list[ChatRequest], continuations: list[str]) -> list[list[float]]:
        """Total log-probability of each continuation (as the reply) for each request:
        ``result[i][j]`` for request i and continuation j."""

    def count_tokens(self, request: ChatRequest) -> int | None:
        """Prompt length in tokens, where the backend can tell (for throughput reports)."""
        return None

    def close(self) -> None:  # noqa: B027 (optional hook: backends without resources keep it)
        """Free the engine's resources."""

    def __enter__(self) -> InferenceBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
