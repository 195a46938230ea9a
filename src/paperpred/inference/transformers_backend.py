"""The transformers backend: CPU or GPU, text or vision-language, generation and label scoring.

Generation: prompts rendered with the model's chat template (generation prompt added), sorted by
length, run in left-padded batches of ``batch_size`` and returned in input order. Temperature 0
is greedy; otherwise plain temperature sampling seeded with ``params.seed`` (top-p/top-k and the
model's own sampling defaults such as Qwen's repetition penalty are deliberately not applied, so
runs compare across backends).

Label scoring (``score``): each candidate is scored as the complete assistant reply: the total
log-probability of its tokens plus the chat template's end-of-turn token (``<|im_end|>`` for
Qwen and SmolLM2), so a candidate that is a prefix of another (``"1"`` and ``"10"``) is not
favoured. Each prompt is encoded once: one forward pass over a left-padded batch of prompts
keeps its KV cache; the cache is then indexed out to one row per (prompt, candidate) and one
batched forward scores every candidate's tokens. A batch holds at most ``batch_size`` such rows.
Tokenization at the boundary: ``prompt + candidate`` is tokenized whole and its first tokens
must be the prompt's; where they are not (a merge across the boundary), that candidate is scored
by a full-sequence forward pass instead, counting the tokens after the common prefix.
Vision-language models use the same cache path. Qwen2-VL-style models (M-RoPE, tested with
Qwen2.5-VL) take their 3-D prompt positions from the model and continue at the prompt's next text
position; other VL architectures get ordinary positions from the attention mask (untested).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from paperpred.errors import ModelNotAvailableError
from paperpred.inference.base import ChatRequest, GenerationParams, InferenceBackend
from paperpred.inference.chat import cap_images, load_image, to_processor_messages
from paperpred.inference.models import is_vision_model, resolve_adapter, resolve_model
from paperpred.inference.scoring import (
    continuation_tail,
    end_of_turn_ids,
    fallback_scored_count,
)

_DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
           "float16": "float16", "fp16": "float16", "half": "float16"}


@dataclass
class _Prompt:
    """A request rendered for this model: prompt text, images, plain token ids of the text."""

    text: str
    images: list[Any]
    ids: list[int]


def _chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def pick_device(device: str = "auto") -> str:
    """``"auto"``: ``"cuda"`` when a CUDA GPU is usable, else ``"cpu"``; others pass through."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelNotAvailableError(f"device {device!r} was asked for but no CUDA GPU is "
                                     "usable here; pass device='cpu' or 'auto'")
    return device


def pick_dtype(dtype: Any, device: str) -> Any:
    """``"auto"``: bfloat16 on CUDA GPUs that support it, else float16 there; float32 on the
    CPU and other devices."""
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        if not device.startswith("cuda"):
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if dtype not in _DTYPES:
        raise ValueError(f"dtype {dtype!r} is not one of auto, {', '.join(sorted(_DTYPES))}")
    return getattr(torch, _DTYPES[dtype])


class TransformersBackend(InferenceBackend):
    """Hugging Face transformers inference (see the module docstring for the algorithms).

    Args:
        model_name_or_path: a local folder, ``smollm2-135m-instruct`` or a Hub name.
        adapter_path: a LoRA adapter folder (peft ``save_pretrained``, e.g. LlamaFactory's
            output), applied on top of the model.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
        dtype: ``"auto"`` (float32 on CPU, bfloat16 on GPU), ``"bfloat16"``, ``"float16"``,
            ``"float32"`` or a ``torch.dtype``.
        attn_implementation: transformers' attention (``"sdpa"``, ``"eager"``, ...); None: its
            default (SDPA). On this CPU SDPA was both faster and closer to float32 than eager
            in bfloat16 (bench/bench_engines.py).
        batch_size: prompts per generation batch; (prompt, candidate) rows per scoring batch.
        max_images: at most this many images per request reach the model (the first ones).
        merge_adapter: merge the LoRA weights into the model (faster; no way back).
        score_end_of_turn: score each candidate with the end-of-turn token after it (a complete
            reply; the default). ``False`` scores the candidate's own tokens only.

    Example:
        >>> backend = TransformersBackend("smollm2-135m-instruct")  # doctest: +SKIP
        >>> backend.score([ChatRequest([{"role": "user", "content": "Accept?"}])],
        ...               ["Answer: Accept", "Answer: Reject"])  # doctest: +SKIP
        [[-9.1, -10.3]]
    """

    name = "transformers"

    def __init__(self, model_name_or_path: str, adapter_path: str | None = None,
                 device: str = "auto", dtype: Any = "auto", batch_size: int = 8,
                 max_images: int | None = None, merge_adapter: bool = False,
                 score_end_of_turn: bool = True, attn_implementation: str | None = None) -> None:
        import torch  # noqa: F401 - fail early and clearly if torch is missing
        from transformers import GenerationConfig

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model_name_or_path = str(model_name_or_path)
        self.model_path = resolve_model(model_name_or_path)
        self.adapter_path = resolve_adapter(adapter_path) if adapter_path else None
        self.is_vision = is_vision_model(self.model_path)
        self.supports_images = self.is_vision
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)
        self.batch_size = batch_size
        self.max_images = max_images
        self.attn_implementation = attn_implementation
        self.processor, self.tokenizer, model = self._load()
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token or self.tokenizer.unk_token
        base = model.generation_config
        eos = base.eos_token_id
        eos_ids = [eos] if isinstance(eos, int) else list(eos or [])
        self.end_of_turn_ids = self._end_of_turn_ids()
        self.score_suffix_ids = self.end_of_turn_ids if score_end_of_turn else []
        self.stop_ids = sorted(set(eos_ids) | set(self.end_of_turn_ids)
                               | {i for i in [self.tokenizer.eos_token_id] if i is not None})
        # A clean generation config: only our parameters apply (see the module docstring).
        model.generation_config = GenerationConfig(
            bos_token_id=base.bos_token_id, eos_token_id=self.stop_ids,
            pad_token_id=self.tokenizer.pad_token_id)
        # Keep only the last position's logits of a long prompt (a 150k vocabulary otherwise
        # costs 0.6 MB per prompt token), where the architecture supports it.
        self._last_logits_only = "logits_to_keep" in inspect.signature(model.forward).parameters
        # Qwen2-VL-style multimodal rotary positions (3-D, with per-prompt offsets).
        self._mrope = any(hasattr(m, "get_rope_index") for m in (model, getattr(model, "model",
                                                                                  None)))
        if self.adapter_path:
            model = self._apply_adapter(model, self.adapter_path, merge_adapter)
        self.model = model.eval()

    # ----- loading --------------------------------------------------------------------------
    def _load(self) -> tuple[Any, Any, Any]:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        kwargs: dict[str, Any] = {"dtype": self.dtype}
        if self.attn_implementation:
            kwargs["attn_implementation"] = self.attn_implementation
        if self.device != "cpu":
            kwargs["device_map"] = self.device
        if self.is_vision:
            from transformers import AutoModelForImageTextToText, AutoProcessor

            processor = AutoProcessor.from_pretrained(self.model_path)
            model = AutoModelForImageTextToText.from_pretrained(self.model_path, **kwargs)
            return processor, processor.tokenizer, model
        tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        model = AutoModelForCausalLM.from_pretrained(self.model_path, **kwargs)
        return None, tokenizer, model

    @staticmethod
    def _apply_adapter(model: Any, adapter_path: str, merge: bool) -> Any:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter_path)
        return model.merge_and_unload() if merge else model

    # ----- prompts --------------------------------------------------------------------------
    def _render(self, messages: list[dict[str, Any]], add_generation_prompt: bool = True) -> str:
        if self.is_vision:
            templ = self.processor if getattr(self.processor, "chat_template", None) else \
                self.tokenizer
            return templ.apply_chat_template(to_processor_messages(messages), tokenize=False,
                                             add_generation_prompt=add_generation_prompt)
        if not getattr(self.tokenizer, "chat_template", None):
            # A base model without a chat template: the turns' texts, one after another.
            text = "\n\n".join(str(m.get("content", "")) for m in messages)
            return text + ("\n" if add_generation_prompt else "")
        return self.tokenizer.apply_chat_template(messages, tokenize=False,
                                                  add_generation_prompt=add_generation_prompt)

    def _tokenize(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _end_of_turn_ids(self) -> list[int]:
        """The token that closes an assistant turn in the chat template."""
        specials = set(self.tokenizer.all_special_ids)
        specials |= set(self.tokenizer.get_added_vocab().values())
        return end_of_turn_ids(self._render, self._tokenize, specials,
                               self.tokenizer.eos_token_id)

    def _prepare(self, request: ChatRequest) -> _Prompt:
        if request.images and not self.is_vision:
            raise ValueError(f"{self.model_name_or_path} is a text-only model but the request "
                             f"has {len(request.images)} images; use a vision-language model "
                             "or a text-only input formatter")
        request = cap_images(request, self.max_images)
        text = self._render(request.messages)
        return _Prompt(text, [load_image(i) for i in request.images], self._tokenize(text))

    def _encode(self, prompts: Sequence[_Prompt]) -> Any:
        """Left-padded model inputs on the model's device."""
        texts = [p.text for p in prompts]
        if self.is_vision:
            images = [image for p in prompts for image in p.images]
            enc = self.processor(text=texts, images=images or None, padding=True,
                                 return_tensors="pt")
        else:
            enc = self.tokenizer(texts, add_special_tokens=False, padding=True,
                                 return_tensors="pt")
        enc = enc.to(self.model.device)
        if "pixel_values" in enc:
            enc["pixel_values"] = enc["pixel_values"].to(self.dtype)
        return enc

    @staticmethod
    def _order(prompts: Sequence[_Prompt]) -> list[int]:
        """Longest first (similar lengths share a batch; memory peaks show up at once)."""
        return sorted(range(len(prompts)), key=lambda i: (-len(prompts[i].images),
                                                          -len(prompts[i].ids)))

    def count_tokens(self, request: ChatRequest) -> int | None:
        """Prompt length in tokens, image tokens included."""
        prompt = self._prepare(request)
        if not self.is_vision:
            return len(prompt.ids)
        return int(self._encode([prompt])["input_ids"].shape[1])

    # ----- generation -----------------------------------------------------------------------
    def generate(self, requests: list[ChatRequest], params: GenerationParams) -> list[str]:
        """The assistant's reply to each request, in input order."""
        import torch
        from transformers import set_seed

        prompts = [self._prepare(r) for r in requests]
        sample = params.temperature > 0
        options: dict[str, Any] = {"max_new_tokens": params.max_tokens, "do_sample": sample}
        if sample:
            options.update(temperature=params.temperature, top_p=1.0, top_k=0)
            set_seed(params.seed)
        replies: list[str] = [""] * len(prompts)
        for chunk in _chunks(self._order(prompts), self.batch_size):
            enc = self._encode([prompts[i] for i in chunk])
            with torch.inference_mode():
                out = self.model.generate(**enc, **options)
            new = out[:, enc["input_ids"].shape[1]:]
            for index, text in zip(chunk, self.tokenizer.batch_decode(
                    new, skip_special_tokens=True), strict=True):
                replies[index] = text.strip()
        return replies

    # ----- label scoring --------------------------------------------------------------------
    def _tail(self, prompt: _Prompt, continuation: str) -> list[int] | None:
        return continuation_tail(prompt.ids, self._tokenize(prompt.text + continuation),
                                 self.score_suffix_ids)

    def score(self, requests: list[ChatRequest], continuations: list[str]) -> list[list[float]]:
        """Total log-probability of each continuation as the complete reply to each request."""
        if not continuations:
            return [[] for _ in requests]
        prompts = [self._prepare(r) for r in requests]
        tails = [[self._tail(p, c) for c in continuations] for p in prompts]
        results: list[list[float]] = [[0.0] * len(continuations) for _ in prompts]
        per_batch = max(1, self.batch_size // len(continuations))
        for chunk in _chunks(self._order(prompts), per_batch):
            cached = self._score_from_cache([prompts[i] for i in chunk], [tails[i] for i in chunk])
            for index, row in zip(chunk, cached, strict=True):
                results[index] = row
        for i, prompt in enumerate(prompts):
            for j, tail in enumerate(tails[i]):
                if tail is None:
                    results[i][j] = self._score_full(prompt, continuations[j])
        return results

    def _score_from_cache(self, prompts: list[_Prompt],
                          tails: list[list[list[int] | None]]) -> list[list[float]]:
        """One forward over the prompts, one over every (prompt, candidate) row from the cache."""
        import torch

        enc = self._encode(prompts)
        mask = enc["attention_mask"]
        length = mask.shape[1]
        inputs = dict(enc)
        if not self._mrope:  # an M-RoPE model derives its 3-D positions from the mask itself
            inputs["position_ids"] = (mask.long().cumsum(-1) - 1).clamp(min=0)
        if self._last_logits_only:
            inputs["logits_to_keep"] = 1
        with torch.inference_mode():
            out = self.model(**inputs, use_cache=True)
        first = out.logits[:, -1].float().log_softmax(-1)
        if self._mrope:
            next_pos = length + out.rope_deltas.view(-1).to(mask.device)
        else:
            next_pos = mask.long().sum(-1)
        scores = [[float("nan")] * len(row) for row in tails]
        rows = [(b, j, t) for b, row in enumerate(tails) for j, t in enumerate(row) if t]
        for b, j, tail in rows:
            scores[b][j] = float(first[b, tail[0]])
        for b, row in enumerate(tails):
            for j, ids_or_none in enumerate(row):
                if ids_or_none is not None and not ids_or_none:
                    scores[b][j] = 0.0  # nothing to score: an empty reply with no end token
        rows = [r for r in rows if len(r[2]) > 1]
        if not rows:
            return scores
        width = max(len(t) - 1 for _, _, t in rows)
        device = mask.device
        ids = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long)
        targets = torch.zeros((len(rows), width), dtype=torch.long)
        valid = torch.zeros((len(rows), width), dtype=torch.long)
        for r, (_, _, tail) in enumerate(rows):
            n = len(tail) - 1
            ids[r, :n] = torch.tensor(tail[:-1])
            targets[r, :n] = torch.tensor(tail[1:])
            valid[r, :n] = 1
        ids, targets, valid = ids.to(device), targets.to(device), valid.to(device)
        source = torch.tensor([b for b, _, _ in rows], device=device)
        cache = out.past_key_values
        cache.reorder_cache(source)  # one cache row per (prompt, candidate), shared prompt
        positions = next_pos[source].unsqueeze(1) + torch.arange(width, device=device)
        if self._mrope:
            positions = positions.unsqueeze(0).expand(3, -1, -1)
        with torch.inference_mode():
            logits = self.model(
                input_ids=ids, attention_mask=torch.cat([mask[source], valid], dim=1),
                position_ids=positions, past_key_values=cache, use_cache=True,
                cache_position=torch.arange(length, length + width, device=device)).logits
        picked = logits.float().log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        totals = (picked * valid).sum(-1)
        for r, (b, j, _) in enumerate(rows):
            scores[b][j] += float(totals[r])
        return scores

    def _score_full(self, prompt: _Prompt, continuation: str) -> float:
        """Fallback for a boundary merge: one forward over prompt + continuation + end of turn,
        summing the tokens after the prompt's common prefix."""
        import torch

        full = self._tokenize(prompt.text + continuation)
        scored = fallback_scored_count(prompt.ids, full, self.score_suffix_ids)
        enc = self._encode([_Prompt(prompt.text + continuation, prompt.images, full)])
        extra = torch.tensor([self.score_suffix_ids], dtype=torch.long,
                             device=self.model.device).view(1, -1)
        enc["input_ids"] = torch.cat([enc["input_ids"], extra], dim=1)
        enc["attention_mask"] = torch.cat([enc["attention_mask"], torch.ones_like(extra)], dim=1)
        with torch.inference_mode():
            logits = self.model(**enc).logits[0].float().log_softmax(-1)
        ids = enc["input_ids"][0]
        total = len(ids)
        return float(sum(logits[t - 1, ids[t]] for t in range(total - scored, total)))

    def close(self) -> None:
        """Drop the model and free GPU memory."""
        import gc

        import torch

        self.model = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
