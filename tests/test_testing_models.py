"""The offline Qwen2.5 tokenizer and the tiny Qwen2 / Qwen2.5-VL models built from configs."""

from __future__ import annotations

import gzip
import importlib.resources
import json
import unicodedata
from pathlib import Path

import pytest
import regex
import torch
from PIL import Image, ImageDraw

from paperpred.testing import tiny_models as tiny
from paperpred.testing.qwen_tokenizer import (
    QWEN2_5_ADDED_TOKENS,
    QWEN2_5_SPECIAL_TOKEN_IDS,
    QWEN2_PRETOKENIZE_REGEX,
    bpe_split,
    load_qwen_ranks,
)

EXPECTED_SPECIAL_IDS = {
    "<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645,
    "<|object_ref_start|>": 151646, "<|object_ref_end|>": 151647, "<|box_start|>": 151648,
    "<|box_end|>": 151649, "<|quad_start|>": 151650, "<|quad_end|>": 151651,
    "<|vision_start|>": 151652, "<|vision_end|>": 151653, "<|vision_pad|>": 151654,
    "<|image_pad|>": 151655, "<|video_pad|>": 151656, "<tool_call>": 151657,
    "</tool_call>": 151658, "<|fim_prefix|>": 151659, "<|fim_middle|>": 151660,
    "<|fim_suffix|>": 151661, "<|fim_pad|>": 151662, "<|repo_name|>": 151663,
    "<|file_sep|>": 151664,
}
MULTILINGUAL = (
    "Hello world! The café's naïve résumé costs $1234.56 (≈ 5%).\n\n"
    "中文分词测试：通义千问是阿里云研发的大语言模型。日本語のテキスト。한국어 텍스트.\n"
    "    def f(x):\n\treturn x ** 2  # a comment\r\n🙂🚀 “quotes” — dash… \u00a0nbsp  \n"
)


@pytest.fixture(scope="session")
def tiny_cache(paperpred_cache: Path) -> Path:
    """The session's cache (tests/conftest.py): nothing touches the home cache."""
    return paperpred_cache


@pytest.fixture(scope="session")
def qwen_tok(tiny_cache: Path):
    return tiny.qwen2_tokenizer()


@pytest.fixture(scope="session")
def ranks() -> dict[bytes, int]:
    return load_qwen_ranks()


@pytest.fixture(scope="session")
def tiny_qwen2_dir(tiny_cache: Path) -> Path:
    return tiny.tiny_qwen2_path()


@pytest.fixture(scope="session")
def tiny_vl_dir(tiny_cache: Path) -> Path:
    return tiny.tiny_qwen2_5_vl_path()


def reference_encode(ranks: dict[bytes, int], text: str) -> list[int]:
    """tiktoken's algorithm (regex split, then rank-ordered byte-pair merges), in Python."""
    pieces = regex.findall(QWEN2_PRETOKENIZE_REGEX, text)
    return [ranks[part] for piece in pieces for part in bpe_split(ranks, piece.encode("utf-8"))]


def sample_texts(limit: int = 40) -> list[str]:
    """Real text: raw lines of the bundled ICLR sample (titles, abstracts, reviews as JSON)."""
    bundled = importlib.resources.files("paperpred.data") / "bundled" / "iclr2017.jsonl.gz"
    with gzip.open(bundled.open("rb"), "rt", encoding="utf-8") as handle:
        lines = [line for _, line in zip(range(limit), handle)]
    assert lines, "the bundled sample is empty"
    return lines


# --- tokenizer -----------------------------------------------------------------------------


def test_ranks_file_is_the_qwen_vocabulary(ranks: dict[bytes, int]) -> None:
    assert len(ranks) == 151_643
    assert ranks[b"!"] == 0 and max(ranks.values()) == 151_642


def test_special_tokens_have_the_qwen2_5_ids(qwen_tok) -> None:
    assert QWEN2_5_SPECIAL_TOKEN_IDS == EXPECTED_SPECIAL_IDS
    assert len(QWEN2_5_ADDED_TOKENS) == 22
    assert len(qwen_tok) == 151_665
    for content, token_id in EXPECTED_SPECIAL_IDS.items():
        assert qwen_tok.convert_tokens_to_ids(content) == token_id
        assert qwen_tok(content, add_special_tokens=False).input_ids == [token_id]
    assert qwen_tok.eos_token == "<|im_end|>" and qwen_tok.eos_token_id == 151645
    assert qwen_tok.pad_token_id == 151643 and qwen_tok.bos_token is None


def test_well_known_ids_match_the_ranks_file(qwen_tok, ranks: dict[bytes, int]) -> None:
    assert qwen_tok("Hello", add_special_tokens=False).input_ids == [ranks[b"Hello"]]
    assert qwen_tok(" world", add_special_tokens=False).input_ids == [ranks[b" world"]]
    # Qwen2.5's published ids for these strings.
    assert qwen_tok("Hello world").input_ids == [9707, 1879]
    assert qwen_tok("<|im_start|>user\n").input_ids == [151644, 872, 198]
    # Qwen2's pre-tokenizer splits numbers into single digits.
    assert qwen_tok("2024").input_ids == [ranks[d.encode()] for d in "2024"]


def test_one_merge_per_multibyte_token(qwen_tok) -> None:
    model = json.loads(qwen_tok.backend_tokenizer.to_str())["model"]
    assert model["type"] == "BPE"
    assert len(model["merges"]) == 151_643 - 256


def test_encoding_matches_tiktoken_algorithm_and_round_trips(qwen_tok, ranks) -> None:
    texts = [unicodedata.normalize("NFC", t) for t in sample_texts() + [MULTILINGUAL]]
    for text in texts:
        ids = qwen_tok(text, add_special_tokens=False).input_ids
        assert ids == reference_encode(ranks, text)
        assert qwen_tok.decode(ids) == text


def test_text_chat_template_is_qwen2_5s(qwen_tok) -> None:
    rendered = qwen_tok.apply_chat_template(
        [{"role": "user", "content": "Accept or reject?"}], tokenize=False,
        add_generation_prompt=True,
    )
    assert rendered == (
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
        "assistant.<|im_end|>\n<|im_start|>user\nAccept or reject?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    with_system = qwen_tok.apply_chat_template(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
         {"role": "assistant", "content": "Accept"}], tokenize=False,
    )
    assert with_system == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nAccept<|im_end|>\n"
    )


# --- tiny Qwen2 ----------------------------------------------------------------------------


def test_tiny_qwen2_loads_and_generates_with_chat_template(tiny_qwen2_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert tiny_qwen2_dir == tiny.models_cache_dir() / tiny.TINY_QWEN2
    assert (tiny_qwen2_dir / "model.safetensors").stat().st_size < 50 * 2**20
    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen2_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_qwen2_dir)
    assert type(model).__name__ == "Qwen2ForCausalLM"
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 64
    assert model.generation_config.eos_token_id == [151645, 151643]
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Accept or reject this paper?"}],
        add_generation_prompt=True, return_tensors="pt", return_dict=True,
    )
    assert inputs["input_ids"][0, :3].tolist() == [151644, 8948, 198]  # <|im_start|>system\n
    out = model.generate(**inputs, max_new_tokens=6, do_sample=False)
    new = out[0, inputs["input_ids"].shape[1]:]
    assert 1 <= len(new) <= 6
    assert int(new.max()) < model.config.vocab_size
    again = model.generate(**inputs, max_new_tokens=6, do_sample=False)
    assert torch.equal(out, again)


# --- tiny Qwen2.5-VL -----------------------------------------------------------------------


def _pdf_page_image(folder: Path) -> Image.Image:
    """A page of a reportlab-written PDF, rendered with pypdfium2."""
    import pypdfium2
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    pdf_path = folder / "paper.pdf"
    pdf = canvas.Canvas(str(pdf_path), pagesize=letter)
    pdf.setFont("Helvetica-Bold", 20)
    pdf.drawString(72, 700, "Tiny Models for Offline Tests")
    pdf.setFont("Helvetica", 11)
    for row in range(30):
        pdf.drawString(72, 660 - 18 * row, f"Line {row}: we study paper acceptance prediction.")
    pdf.showPage()
    pdf.save()
    document = pypdfium2.PdfDocument(str(pdf_path))
    try:
        return document[0].render(scale=0.5).to_pil().convert("RGB")
    finally:
        document.close()


def _small_image(colour: str, size: tuple[int, int]) -> Image.Image:
    image = Image.new("RGB", size, colour)
    ImageDraw.Draw(image).rectangle([4, 4, size[0] // 2, size[1] // 2], fill="black")
    return image


@pytest.fixture(scope="session")
def vl_model_and_processor(tiny_vl_dir: Path):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_vl_dir)
    model = AutoModelForImageTextToText.from_pretrained(tiny_vl_dir)
    return model, processor


def _generate(model, processor, images: list[Image.Image]):
    content = [{"type": "image"} for _ in images] + [{"type": "text", "text": "Accept?"}]
    text = processor.apply_chat_template([{"role": "user", "content": content}],
                                         tokenize=False, add_generation_prompt=True)
    assert text.count("<|vision_start|><|image_pad|><|vision_end|>") == len(images)
    inputs = processor(text=[text], images=images, return_tensors="pt")
    out = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    return inputs, out


def test_tiny_vl_config_matches_tokenizer(vl_model_and_processor, tiny_vl_dir: Path) -> None:
    model, processor = vl_model_and_processor
    config = model.config
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert json.loads((tiny_vl_dir / "config.json").read_text())["architectures"] == [
        "Qwen2_5_VLForConditionalGeneration"]
    head_dim = config.text_config.hidden_size // config.text_config.num_attention_heads
    assert sum(config.text_config.rope_scaling["mrope_section"]) == head_dim // 2
    assert config.vision_config.out_hidden_size == config.text_config.hidden_size
    tokenizer = processor.tokenizer
    for attribute, token in (("image_token_id", "<|image_pad|>"),
                             ("video_token_id", "<|video_pad|>"),
                             ("vision_start_token_id", "<|vision_start|>"),
                             ("vision_end_token_id", "<|vision_end|>")):
        assert getattr(config, attribute) == tokenizer.convert_tokens_to_ids(token)
    assert processor.image_processor.max_pixels == tiny.VL_MAX_PIXELS


def test_tiny_vl_generates_from_two_images_with_a_pdf_page(
    vl_model_and_processor, tmp_path: Path
) -> None:
    model, processor = vl_model_and_processor
    page = _pdf_page_image(tmp_path)
    assert page.size[1] > page.size[0] > 200  # a real portrait page, larger than max_pixels
    inputs, out = _generate(model, processor, [_small_image("red", (96, 64)), page])
    grid = inputs["image_grid_thw"]
    assert grid.shape == (2, 3)
    merge = processor.image_processor.merge_size ** 2
    per_image = (grid.prod(dim=-1) // merge).tolist()
    assert int((inputs["input_ids"] == 151655).sum()) == sum(per_image)
    assert per_image[1] <= tiny.VL_MAX_PIXELS // (28 * 28)  # the page was scaled down
    assert out.shape[1] > inputs["input_ids"].shape[1]


@pytest.mark.parametrize("count", [1, 3])
def test_tiny_vl_generates_from_one_to_three_images(vl_model_and_processor, count: int) -> None:
    model, processor = vl_model_and_processor
    images = [_small_image(c, (56 + 28 * i, 84)) for i, c in enumerate(["red", "green", "blue"])]
    inputs, out = _generate(model, processor, images[:count])
    assert inputs["image_grid_thw"].shape[0] == count
    merge = processor.image_processor.merge_size ** 2
    expected = int((inputs["image_grid_thw"].prod(dim=-1) // merge).sum())
    assert int((inputs["input_ids"] == 151655).sum()) == expected
    assert out.shape[1] > inputs["input_ids"].shape[1]


# --- caching -------------------------------------------------------------------------------


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()}


def test_rebuilding_is_a_cache_hit(tiny_qwen2_dir: Path, tiny_vl_dir: Path) -> None:
    before = {d: _snapshot(d) for d in (tiny_qwen2_dir, tiny_vl_dir)}
    assert tiny.tiny_qwen2_path() == tiny_qwen2_dir
    assert tiny.build_tiny_qwen2(tiny_qwen2_dir) == tiny_qwen2_dir
    assert tiny.tiny_model_path(tiny.TINY_QWEN2_VL) == tiny_vl_dir
    assert tiny.tiny_model_path("tiny-qwen2") == tiny_qwen2_dir
    for folder, snapshot in before.items():
        assert _snapshot(folder) == snapshot
        marker = json.loads((folder / tiny.MARKER_FILE).read_text())
        assert marker["version"] == tiny.TINY_BUILD_VERSION and marker["seed"] == 0
    leftovers = [p.name for p in tiny.models_cache_dir().iterdir()
                 if p.name.startswith(".") and not p.name.endswith(".lock")]  # lock files stay
    assert leftovers == []


def test_unknown_alias_gives_none(tiny_cache: Path) -> None:
    assert tiny.tiny_model_path("Qwen/Qwen2.5-7B-Instruct") is None
    assert tiny.is_tiny_alias("tiny-qwen2.5-vl") and not tiny.is_tiny_alias("smollm2-135m")


def test_failed_build_leaves_nothing_behind(tmp_path: Path) -> None:
    def explode(folder: Path) -> None:
        (folder / "half-written.bin").write_bytes(b"\0" * 10)
        raise RuntimeError("killed mid-build")

    target = tmp_path / "model"
    with pytest.raises(RuntimeError, match="killed mid-build"):
        tiny._build_atomically(target, {"model": "x", "seed": 0, "version": 1}, explode)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_stale_build_is_replaced_and_foreign_folder_refused(tmp_path: Path,
                                                            tiny_cache: Path) -> None:
    stale = tmp_path / "stale"
    stale.mkdir()
    (stale / tiny.MARKER_FILE).write_text(json.dumps({"model": "tiny-qwen2", "version": 0}))
    (stale / "junk.bin").write_bytes(b"old")
    assert tiny.build_tiny_qwen2(stale) == stale.resolve()
    assert not (stale / "junk.bin").exists() and (stale / "config.json").is_file()
    assert json.loads((stale / tiny.MARKER_FILE).read_text())["version"] == tiny.TINY_BUILD_VERSION

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(FileExistsError, match="not a paperpred tiny model"):
        tiny.build_tiny_qwen2(foreign)
    assert (foreign / "thesis.tex").read_text() == "precious"
