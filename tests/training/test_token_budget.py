"""Vision training samples that cannot fit are refused before training: the token count of
paperpred.modes.token_budget equals LlamaFactory's own (its Qwen2-VL plugin and template, on
the real Qwen2.5-VL processor), and SFT / GRPO refuse naming the paper, the count and the
fixes."""

from __future__ import annotations

import pytest
from PIL import Image
from training_helpers import with_pages

from paperpred import BinaryAcceptRejectHandler, TrainingConfig, get_input_formatter
from paperpred.config import ModelType
from paperpred.errors import PaperpredError
from paperpred.modes.grpo import GRPOMode
from paperpred.modes.sft import SFTLoRAMode
from paperpred.modes.token_budget import (
    VisionGeometry,
    image_tokens,
    load_tokenizer,
    measure,
    refuse_too_long,
)

QWEN25_VL = VisionGeometry(min_pixels=3136, max_pixels=12845056)  # its preprocessor_config


@pytest.fixture(scope="module")
def llamafactory(tiny_vl_dir):
    """LlamaFactory's qwen2_vl template (with its plugin) and the tiny model's processor."""
    from llamafactory.data import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_vl_dir)
    template = get_template_and_fix_tokenizer(processor.tokenizer,
                                              DataArguments(template="qwen2_vl"))
    return template, processor


def _processor_as(processor, geometry: VisionGeometry, image_max_pixels: int):
    processor.image_processor.min_pixels = geometry.min_pixels
    processor.image_processor.max_pixels = geometry.max_pixels
    processor.image_processor.size = {"shortest_edge": geometry.min_pixels,
                                      "longest_edge": geometry.max_pixels}
    processor.image_max_pixels, processor.image_min_pixels = image_max_pixels, 32 * 32
    return processor


@pytest.mark.parametrize("image_max_pixels", [512 * 512, 768 * 768, 12544])
@pytest.mark.parametrize("size", [(1275, 1650), (1700, 2200), (612, 792), (100, 3000),
                                  (31, 29), (3000, 40)])
def test_image_tokens_equal_llamafactory(llamafactory, size, image_max_pixels):
    template, processor = llamafactory
    for geometry in (QWEN25_VL, VisionGeometry.of_model(None)):
        _processor_as(processor, geometry, image_max_pixels)
        messages = [{"role": "user", "content": "<image>Is it good?"}]
        out = template.mm_plugin.process_messages(messages, [Image.new("RGB", size)], [], [],
                                                  processor)
        expected = out[0]["content"].count("<|image_pad|>")
        assert image_tokens(*size, geometry, image_max_pixels) == expected
    # TRL: the processor alone (no LlamaFactory shrink first)
    _processor_as(processor, QWEN25_VL, 10**9)
    got = processor.image_processor(images=[Image.new("RGB", size)])["image_grid_thw"]
    assert image_tokens(*size, QWEN25_VL, None) == int(got.prod()) // 4


def test_a_whole_sample_counts_as_llamafactory_encodes_it(llamafactory, tiny_vl_dir,
                                                          balanced_rows, page_images):
    template, processor = llamafactory
    geometry = VisionGeometry.of_model(tiny_vl_dir)
    _processor_as(processor, geometry, 512 * 512)
    formatter = get_input_formatter("abstract_with_page_images", max_images=3)
    mode = SFTLoRAMode(TrainingConfig(str(tiny_vl_dir), model_type=ModelType.VISION_LANGUAGE),
                       formatter, BinaryAcceptRejectHandler())
    samples = mode.format_samples(with_pages(balanced_rows[:3], page_images), include_label=True)
    lengths = measure(samples, lambda s: s.messages, geometry, load_tokenizer(tiny_vl_dir),
                      512 * 512)
    for sample, length in zip(samples, lengths, strict=True):
        system = "\n\n".join(m["content"] for m in sample.messages if m["role"] == "system")
        turns = [m for m in sample.messages if m["role"] != "system"]
        turns = template.mm_plugin.process_messages(
            turns, list(sample.images), [], [], processor)
        prompt, answer = template.encode_oneturn(processor.tokenizer, turns, system)
        assert length.pages == 3
        assert abs(length.total - (len(prompt) + len(answer))) <= 4, (length, len(prompt))


def _vision_config(tiny_vl_dir, max_length):
    return TrainingConfig(str(tiny_vl_dir), model_type=ModelType.VISION_LANGUAGE,
                          max_length=max_length, batch_size=2, grpo_group_size=2)


def test_sft_refuses_a_dataset_that_does_not_fit(tiny_vl_dir, balanced_rows, page_images,
                                                 tmp_path):
    subs = with_pages(balanced_rows[:4], page_images)
    formatter = get_input_formatter("abstract_with_page_images", max_images=3)
    mode = SFTLoRAMode(_vision_config(tiny_vl_dir, 1024), formatter,
                       BinaryAcceptRejectHandler())
    samples = mode.format_samples(subs, include_label=True)
    assert mode.prepare_data(samples, tmp_path / "fits")["n_images"] == 12
    lengths = measure(samples, lambda s: s.messages, VisionGeometry.of_model(tiny_vl_dir),
                      load_tokenizer(tiny_vl_dir), 512 * 512)
    worst = max(lengths, key=lambda s: s.total)
    per_page = worst.image_tokens // 3
    mode = SFTLoRAMode(_vision_config(tiny_vl_dir, worst.total - 1), formatter,
                       BinaryAcceptRejectHandler())
    with pytest.raises(PaperpredError) as info:
        mode.prepare_data(samples, tmp_path / "refused")
    message = str(info.value)
    assert (f"do not fit max_length (LlamaFactory cutoff_len) {worst.total - 1}: "
            f"{worst.submission_id} needs {worst.total} tokens (3 pages x about {per_page} "
            f"image tokens at image_max_pixels 262,144, + {worst.text_tokens} text tokens)"
            ) in message
    assert "max_images=2 fits" in message and f"(at least {worst.total})" in message
    assert not (tmp_path / "refused").exists()  # refused before anything was written


def test_grpo_refuses_prompts_that_do_not_fit(tiny_vl_dir, balanced_rows, page_images,
                                              tmp_path):
    mode = GRPOMode(_vision_config(tiny_vl_dir, 200),
                    get_input_formatter("abstract_with_page_images", max_images=3),
                    BinaryAcceptRejectHandler())
    samples = mode.format_samples(with_pages(balanced_rows[:2], page_images),
                                  include_label=True)
    with pytest.raises(PaperpredError, match="the prompt's share of max_length") as info:
        mode.prepare_data(samples, tmp_path / "grpo")
    assert "TRL does not cut vision prompts" in str(info.value)
    assert "smaller page images" in str(info.value)


def test_a_model_that_is_not_here_counts_the_pages_alone(balanced_rows, tmp_path):
    page = tmp_path / "page.png"
    Image.new("RGB", (1700, 2200), "white").save(page)
    mode = SFTLoRAMode(TrainingConfig("Qwen/Qwen2.5-VL-7B-Instruct"),
                       get_input_formatter("abstract_with_page_images", max_images=20),
                       BinaryAcceptRejectHandler())
    samples = mode.format_samples(with_pages(balanced_rows[:1], [page] * 20),
                                  include_label=True)
    with pytest.raises(PaperpredError) as info:
        refuse_too_long(samples, "Qwen/Qwen2.5-VL-7B-Instruct", 4096, "max_length", 512 * 512,
                        with_answer=True)
    message = str(info.value)
    # LlamaFactory shrinks 1700 x 2200 to 450 x 582; the processor rounds to 448 x 588:
    # 32 x 42 patches of 14 px, 4 merged per token -> 336 + 2 tokens a page, 20 pages
    assert "needs 6760 tokens (20 pages x about 338 image tokens at image_max_pixels 262,144" \
        in message
    assert "text not counted" in message
    assert "max_images=12 fits" in message and "image_max_pixels (147,456 fits)" in message
