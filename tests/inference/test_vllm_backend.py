"""The vLLM backend: what runs without vLLM (no wheel installs here; see the module docstring).

Message conversion, log-probability bookkeeping and the missing-engine error are tested; the
engine calls themselves are unverified on this machine. With vLLM and a GPU present, the last
test runs the real engine on the tiny Qwen2 text model.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import math
from dataclasses import dataclass

import pytest
from PIL import Image

from paperpred.errors import VLLMNotInstalledError
from paperpred.inference.base import ChatRequest, GenerationParams
from paperpred.inference.chat import cap_images, to_openai_messages, to_processor_messages
from paperpred.inference.scoring import (
    common_prefix_length,
    continuation_tail,
    fallback_scored_count,
    sum_prompt_logprobs,
)
from paperpred.inference.vllm_backend import VLLMBackend, import_vllm, lora_rank_limit

HAS_VLLM = importlib.util.find_spec("vllm") is not None


def image(colour: str) -> Image.Image:
    return Image.new("RGB", (28, 28), colour)


@pytest.mark.skipif(HAS_VLLM, reason="vLLM is installed here")
def test_missing_vllm_is_one_line_with_the_fix(tiny_vl_dir):
    with pytest.raises(VLLMNotInstalledError) as info:
        import_vllm()
    assert "pip install vllm" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ImportError, match="pip install vllm"):  # also an ImportError
        VLLMBackend(str(tiny_vl_dir))


def test_openai_messages_carry_images_in_marker_order():
    request = ChatRequest(
        [{"role": "system", "content": "Review."},
         {"role": "user", "content": "Page 1: <image> Page 2: <image>\nDecide."}],
        [image("red"), image("blue")])
    messages = to_openai_messages(request)
    assert messages[0] == {"role": "system", "content": "Review."}
    parts = messages[1]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "text", "image_url", "text"]
    assert parts[0]["text"] == "Page 1: " and parts[4]["text"] == "\nDecide."
    colours = []
    for part in (parts[1], parts[3]):
        header, data = part["image_url"]["url"].split(",", 1)
        assert header == "data:image/png;base64"
        colours.append(Image.open(io.BytesIO(base64.b64decode(data))).getpixel((0, 0)))
    assert colours == [(255, 0, 0), (0, 0, 255)]


def test_processor_messages_use_image_parts(tmp_path):
    path = tmp_path / "page.png"
    image("green").save(path)
    request = ChatRequest([{"role": "user", "content": "<image>Is it good?"}], [path])
    messages = to_processor_messages(request.messages)
    assert messages == [{"role": "user", "content": [{"type": "image"},
                                                     {"type": "text", "text": "Is it good?"}]}]
    original = [{"role": "user", "content": "No images."}]
    plain = to_processor_messages(original)
    assert plain[0]["content"] == [{"type": "text", "text": "No images."}]
    assert original == [{"role": "user", "content": "No images."}]  # not modified in place
    assert request.messages[0]["content"] == "<image>Is it good?"


def test_cap_images_keeps_the_first_and_drops_later_markers():
    request = ChatRequest(
        [{"role": "user", "content": "A <image> B <image>"},
         {"role": "user", "content": "C <image> D"}],
        [image("red"), image("green"), image("blue")])
    capped = cap_images(request, 2)
    assert [m["content"] for m in capped.messages] == ["A <image> B <image>", "C  D"]
    assert capped.images == request.images[:2]
    assert cap_images(request, 0).images == [] and cap_images(request, None) is request
    assert len(request.images) == 3  # the original is untouched


@dataclass
class Logprob:
    """The shape of vLLM's ``Logprob`` entries (``.logprob``)."""

    logprob: float
    rank: int = 1


def test_sum_prompt_logprobs_adds_the_trailing_tokens():
    token_ids = [5, 6, 7, 8]
    prompt_logprobs = [None, {6: Logprob(-0.5)}, {7: Logprob(-1.0), 9: Logprob(-0.1)},
                       {8: -2.0}]
    assert sum_prompt_logprobs(prompt_logprobs, token_ids, 2) == pytest.approx(-3.0)
    assert sum_prompt_logprobs(prompt_logprobs, token_ids, 0) == 0.0
    with pytest.raises(ValueError, match="first token"):
        sum_prompt_logprobs(prompt_logprobs, token_ids, 4)
    with pytest.raises(ValueError, match="no log-probability for token 7"):
        sum_prompt_logprobs([None, {6: -1.0}, {9: -1.0}, {8: -1.0}], token_ids, 2)


def test_continuation_tokens_and_boundary_fallback():
    assert continuation_tail([1, 2, 3], [1, 2, 3, 4, 5], [99]) == [4, 5, 99]
    assert continuation_tail([1, 2, 3], [1, 2, 7, 5], [99]) is None  # 3 merged into 7
    assert common_prefix_length([1, 2, 3], [1, 2, 7, 5]) == 2
    assert fallback_scored_count([1, 2, 3], [1, 2, 7, 5], [99]) == 3  # 7, 5, 99


def test_lora_rank_limit_rounds_up_to_a_supported_size(tmp_path):
    for rank, limit in [(4, 8), (8, 8), (12, 16), (64, 64), (100, 128)]:
        (tmp_path / "adapter_config.json").write_text(json.dumps({"r": rank}))
        assert lora_rank_limit(str(tmp_path)) == limit


@pytest.mark.skipif(not HAS_VLLM, reason="vLLM is not installed (no wheel for this machine)")
def test_real_engine_generates_and_scores(tmp_path):  # pragma: no cover - needs a GPU
    from paperpred.testing import tiny_models as tiny

    path = tiny.build_tiny_qwen2(tmp_path / "tiny-qwen2")
    backend = VLLMBackend(str(path), gpu_memory_utilization=0.3, max_model_len=512)
    request = ChatRequest([{"role": "user", "content": "Accept or reject?"}])
    assert len(backend.generate([request], GenerationParams(max_tokens=4))) == 1
    scores = backend.score([request], ["Accept", "Reject"])
    assert all(math.isfinite(v) for v in scores[0])
