"""The transformers backend on real models: the embedded SmolLM2-135M-Instruct (text) and the
tiny Qwen2.5-VL with its real processor (page images). No mocks."""

from __future__ import annotations

import math

import pytest
import torch

from paperpred.inference.base import ChatRequest, GenerationParams
from paperpred.inference.transformers_backend import TransformersBackend

SYSTEM = {"role": "system", "content": "You predict whether ICLR papers are accepted."}
ABSTRACT = ("Title: Scaling Sparse Mixture-of-Experts Transformers. Abstract: We study routing "
            "in sparse mixture-of-experts models and show gains on language modelling. ")
CANDIDATES = ["Answer: Accept", "Answer: Reject", "Answer: Accept (Spotlight)"]


def chat(text: str, system: bool = False) -> ChatRequest:
    return ChatRequest(([SYSTEM] if system else []) + [{"role": "user", "content": text}])


REQUESTS = [
    chat("What is the capital of France?"),
    chat(ABSTRACT * 2 + "Will it be accepted? Reply with Answer: Accept or Answer: Reject.", True),
    chat("Say hi."),
    chat(ABSTRACT + "Accept or reject?", True),
]


def reference_logprob(model, tokenizer, prompt_text: str, continuation: str,
                      end_ids: list[int], **images) -> float:
    """Log-probability of continuation + end of turn from ONE plain forward over the whole
    sequence (no cache): the definition the cached scoring must reproduce."""
    prompt = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    full = tokenizer(prompt_text + continuation, add_special_tokens=False)["input_ids"]
    common = next((i for i, (a, b) in enumerate(zip(prompt, full)) if a != b),
                  min(len(prompt), len(full)))
    scored = len(full) - common + len(end_ids)
    if images:  # expand the image placeholders with the processor, as the model sees them
        enc = images.pop("processor")(text=[prompt_text + continuation], return_tensors="pt",
                                      **images)
    else:
        enc = {"input_ids": torch.tensor([full])}
    ids = torch.cat([enc["input_ids"], torch.tensor([end_ids])], dim=1)
    inputs = {k: v for k, v in enc.items() if k not in ("input_ids", "attention_mask")}
    with torch.no_grad():
        logp = model(input_ids=ids, **inputs).logits[0].float().log_softmax(-1)
    return sum(float(logp[t - 1, ids[0, t]]) for t in range(ids.shape[1] - scored, ids.shape[1]))


# ----- text: the embedded model --------------------------------------------------------------
def test_generates_a_real_answer(smol):
    reply = smol.generate([REQUESTS[0]], GenerationParams(max_tokens=16))[0]
    assert "Paris" in reply
    assert "<|im_end|>" not in reply and "assistant" not in reply


def test_batched_generation_equals_one_at_a_time(smol):
    params = GenerationParams(max_tokens=8)
    assert smol.batch_size < len(REQUESTS)  # several batches, padded, reordered by length
    batched = smol.generate(REQUESTS, params)
    single = [smol.generate([r], params)[0] for r in REQUESTS]
    assert batched == single
    assert len(set(batched)) == len(batched)  # in input order, not length order


def test_seeded_sampling_is_reproducible(smol):
    request = [chat("Write a short poem about peer review.")]
    first = smol.generate(request, GenerationParams(max_tokens=10, temperature=1.0, seed=1))
    again = smol.generate(request, GenerationParams(max_tokens=10, temperature=1.0, seed=1))
    other = smol.generate(request, GenerationParams(max_tokens=10, temperature=1.0, seed=2))
    assert first == again and first != other


def test_cached_scores_equal_full_sequence_forward(smol, monkeypatch):
    monkeypatch.setattr(smol, "batch_size", 9)  # 3 prompts x 3 candidates: padded prompt batch
    scores = smol.score(REQUESTS, CANDIDATES)
    end_ids = [smol.tokenizer.convert_tokens_to_ids("<|im_end|>")]
    assert smol.end_of_turn_ids == end_ids
    for request, row in zip(REQUESTS, scores):
        text = smol.tokenizer.apply_chat_template(request.messages, tokenize=False,
                                                  add_generation_prompt=True)
        for candidate, value in zip(CANDIDATES, row):
            assert math.isfinite(value) and value < 0
            expected = reference_logprob(smol.model, smol.tokenizer, text, candidate, end_ids)
            assert value == pytest.approx(expected, abs=1e-3)


def test_boundary_merge_falls_back_to_the_full_sequence(smol):
    # the prompt ends with "\n", and "\n\n\nAnswer" tokenizes the first two newlines together
    request, candidates = REQUESTS[3], ["\n\nAnswer: Accept", "Answer: Reject"]
    text = smol.tokenizer.apply_chat_template(request.messages, tokenize=False,
                                              add_generation_prompt=True)
    prompt_ids = smol.tokenizer(text, add_special_tokens=False)["input_ids"]
    merged = smol.tokenizer(text + candidates[0], add_special_tokens=False)["input_ids"]
    assert merged[:len(prompt_ids)] != prompt_ids  # the case under test really occurs
    row = smol.score([request], candidates)[0]
    for candidate, value in zip(candidates, row):
        expected = reference_logprob(smol.model, smol.tokenizer, text, candidate,
                                     smol.end_of_turn_ids)
        assert value == pytest.approx(expected, abs=1e-3)


def test_scores_complete_answers_not_prefixes(smol):
    # "1" is a prefix of "10": with the end-of-turn token both are complete replies, so
    # P("1") no longer bounds P("10") from above, and the rows sum to at most 1
    row = smol.score([REQUESTS[1]], [f"Answer: {i}" for i in range(1, 11)])[0]
    assert all(math.isfinite(v) for v in row)
    assert sum(math.exp(v) for v in row) <= 1.0
    no_end = TransformersBackend(str(smol.model_path), device="cpu", score_end_of_turn=False)
    prefix_row = no_end.score([REQUESTS[1]], ["Answer: 1", "Answer: 10"])[0]
    assert prefix_row[0] >= prefix_row[1]  # without it the prefix always wins
    assert prefix_row[0] > row[0]


def test_token_count(smol):
    ids = smol.tokenizer.apply_chat_template(REQUESTS[1].messages, tokenize=True,
                                             add_generation_prompt=True)
    assert smol.count_tokens(REQUESTS[1]) == len(ids)


def test_images_for_a_text_model_are_refused(smol, page_images):
    request = ChatRequest([{"role": "user", "content": "<image> Accept?"}], page_images[:1])
    with pytest.raises(ValueError, match="text-only model"):
        smol.score([request], CANDIDATES)


def test_lora_adapter_changes_outputs(smol, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(smol.model_path)
    config = LoraConfig(r=8, lora_alpha=32, target_modules=["q_proj", "v_proj"],
                        init_lora_weights=False)  # random A and B: a non-zero update
    torch.manual_seed(0)
    get_peft_model(base, config).save_pretrained(tmp_path / "adapter")
    adapted = TransformersBackend(smol.model_path, adapter_path=str(tmp_path / "adapter"),
                                  device="cpu")
    merged = TransformersBackend(smol.model_path, adapter_path=str(tmp_path / "adapter"),
                                 device="cpu", merge_adapter=True)
    base_scores = smol.score(REQUESTS[:2], CANDIDATES[:2])
    lora_scores = adapted.score(REQUESTS[:2], CANDIDATES[:2])
    assert max(abs(a - b) for ra, rb in zip(base_scores, lora_scores)
               for a, b in zip(ra, rb)) > 0.1
    merged_scores = merged.score(REQUESTS[:2], CANDIDATES[:2])
    for ra, rb in zip(lora_scores, merged_scores):
        assert ra == pytest.approx(rb, abs=1e-3)
    params = GenerationParams(max_tokens=6)
    assert adapted.generate(REQUESTS[:1], params) != smol.generate(REQUESTS[:1], params)


# ----- vision-language: the tiny Qwen2.5-VL ----------------------------------------------------
@pytest.fixture(scope="module")
def vl(tiny_vl_dir):
    return TransformersBackend(str(tiny_vl_dir), batch_size=3, device="cpu")


def pages_request(images, text="Is this paper accepted?") -> ChatRequest:
    markers = "".join(f"Page {i + 1}:\n<image>\n" for i in range(len(images)))
    return ChatRequest([SYSTEM, {"role": "user", "content": markers + text}], list(images))


def test_vl_generates_batched_like_one_at_a_time(vl, page_images):
    assert vl.is_vision and vl.supports_images
    requests = [pages_request(page_images[:2]), pages_request(page_images[2:]),
                chat("No pages here."), pages_request(page_images[1:3], "Short?")]
    params = GenerationParams(max_tokens=6)
    batched = vl.generate(requests, params)
    assert batched == [vl.generate([r], params)[0] for r in requests]
    assert all(isinstance(text, str) for text in batched)


def test_vl_cached_scores_equal_full_sequence_forward(vl, page_images, monkeypatch):
    from PIL import Image

    monkeypatch.setattr(vl, "batch_size", 6)  # both prompts in one padded batch
    pages = [page_images[:2], page_images[2:]]
    scores = vl.score([pages_request(p) for p in pages], CANDIDATES)
    end_ids = [vl.tokenizer.convert_tokens_to_ids("<|im_end|>")]
    for images, row in zip(pages, scores):
        parts = []
        for i in range(len(images)):
            parts += [{"type": "text", "text": ("\n" if i else "") + f"Page {i + 1}:\n"},
                      {"type": "image"}]
        parts.append({"type": "text", "text": "\nIs this paper accepted?"})
        text = vl.processor.apply_chat_template([SYSTEM, {"role": "user", "content": parts}],
                                                tokenize=False, add_generation_prompt=True)
        loaded = [Image.open(p).convert("RGB") for p in images]
        for candidate, value in zip(CANDIDATES, row):
            expected = reference_logprob(vl.model, vl.tokenizer, text, candidate, end_ids,
                                         processor=vl.processor, images=loaded)
            assert value == pytest.approx(expected, abs=1e-3)
    assert scores[0] != scores[1]  # different pages, different scores: images reach the model


def test_vl_max_images_caps_what_reaches_the_model(tiny_vl_dir, vl, page_images):
    capped = TransformersBackend(str(tiny_vl_dir), device="cpu", max_images=1)
    two_pages = pages_request(page_images[:2])
    first_page_only = ChatRequest(
        [SYSTEM, {"role": "user", "content": "Page 1:\n<image>\nPage 2:\n\nIs this paper "
                                             "accepted?"}], page_images[:1])
    assert capped.count_tokens(two_pages) == vl.count_tokens(first_page_only)
    assert capped.count_tokens(two_pages) < vl.count_tokens(two_pages)
    assert capped.score([two_pages], CANDIDATES)[0] == pytest.approx(
        vl.score([first_page_only], CANDIDATES)[0], abs=1e-4)
    assert capped.generate([two_pages], GenerationParams(max_tokens=4)) == vl.generate(
        [first_page_only], GenerationParams(max_tokens=4))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_bfloat16_matches_cpu(tiny_vl_dir, vl, page_images, paperpred_cache):
    from paperpred.testing import tiny_models as tiny

    text_dir = str(tiny.build_tiny_qwen2(paperpred_cache / "models" / "tiny-qwen2"))
    requests = [pages_request(page_images[:2]), chat("No pages here."), chat(ABSTRACT)]
    for path, batch in [(str(tiny_vl_dir), requests), (text_dir, requests[1:])]:
        cpu = TransformersBackend(path, device="cpu", batch_size=4)
        gpu = TransformersBackend(path, device="auto", batch_size=4)
        assert gpu.device == "cuda" and gpu.dtype == torch.bfloat16
        assert next(gpu.model.parameters()).is_cuda
        for rc, rg in zip(cpu.score(batch, CANDIDATES), gpu.score(batch, CANDIDATES)):
            assert rg == pytest.approx(rc, rel=0.02, abs=0.2)
        replies = gpu.generate(batch, GenerationParams(max_tokens=4))
        assert len(replies) == len(batch) and all(isinstance(r, str) for r in replies)
        gpu.close()
