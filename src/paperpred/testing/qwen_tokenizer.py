"""The real Qwen2.5 tokenizer, built offline from the BPE ranks that ``qwen-agent`` ships.

The Hub is unreachable here, but the pip package ``qwen-agent`` carries
``qwen_agent/utils/qwen.tiktoken``: Qwen's 151,643 byte-level BPE ranks (one base64 token and
its rank per line). This module turns it into a ``tokenizers`` byte-level BPE, the same shape as
the Hub's ``tokenizer.json`` for Qwen2.5: the Qwen2 pre-tokenizer regex, NFC normalisation,
one merge per multi-byte token (its split under BPE merge order, so the merge list reproduces
tiktoken's encoding), the 22 Qwen2.5 added tokens (ids 151643-151664) and the Qwen2.5 chat
template (or the Qwen2-VL one for vision-language processors).

``qwen_agent`` is located, never imported: its dependencies are not installed.

Example:
    >>> tok = load_qwen2_tokenizer(cache_dir=Path("/tmp/qwen-tok"))  # doctest: +SKIP
    >>> tok("Hello world").input_ids  # doctest: +SKIP
    [9707, 1879]
"""

from __future__ import annotations

import base64
import importlib.util
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
)

if TYPE_CHECKING:
    from transformers import Qwen2TokenizerFast

QWEN_VOCAB_PACKAGE = "qwen_agent"
QWEN_VOCAB_RELPATH = ("utils", "qwen.tiktoken")
QWEN_NUM_RANKS = 151_643

#: Qwen2's pre-tokenizer (tiktoken ``pat_str``): single digits, letters with one leading mark.
QWEN2_PRETOKENIZE_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

#: The 22 Qwen2.5 added tokens in id order from 151643, with the Hub's ``special`` flag.
QWEN2_5_ADDED_TOKENS: tuple[tuple[str, bool], ...] = (
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True),
    ("<|box_start|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_start|>", True),
    ("<|vision_end|>", True),
    ("<|vision_pad|>", True),
    ("<|image_pad|>", True),
    ("<|video_pad|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", False),
    ("<|fim_middle|>", False),
    ("<|fim_suffix|>", False),
    ("<|fim_pad|>", False),
    ("<|repo_name|>", False),
    ("<|file_sep|>", False),
)
QWEN2_5_SPECIAL_TOKEN_IDS: dict[str, int] = {
    content: QWEN_NUM_RANKS + i for i, (content, _) in enumerate(QWEN2_5_ADDED_TOKENS)
}
#: Total vocabulary (ranks plus added tokens): 151,665.
QWEN2_5_VOCAB_SIZE = QWEN_NUM_RANKS + len(QWEN2_5_ADDED_TOKENS)

#: Qwen2.5-Instruct's chat template, as in its ``tokenizer_config.json``.
QWEN2_5_CHAT_TEMPLATE = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

#: Qwen2-VL / Qwen2.5-VL's chat template (``chat_template.json``): image parts become
#: ``<|vision_start|><|image_pad|><|vision_end|>``, which the processor expands per image.
QWEN2_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}"
    "Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

TemplateName = Literal["qwen2.5", "qwen2-vl"]
_TEMPLATES: dict[str, str] = {"qwen2.5": QWEN2_5_CHAT_TEMPLATE, "qwen2-vl": QWEN2_VL_CHAT_TEMPLATE}
#: Bump when the built tokenizer.json would change, so stale caches are not reused.
TOKENIZER_BUILD_VERSION = 1


def qwen_vocab_file() -> Path:
    """Path of ``qwen.tiktoken`` inside the installed ``qwen-agent`` package.

    Raises:
        FileNotFoundError: ``qwen-agent`` is not installed or lacks the file.
    """
    spec = importlib.util.find_spec(QWEN_VOCAB_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the Qwen vocabulary comes from the pip package qwen-agent, which is not installed; "
            "install it with `pip install --no-deps qwen-agent` (only its qwen.tiktoken is used)"
        )
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*QWEN_VOCAB_RELPATH)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed qwen-agent package")
    return path


def load_qwen_ranks(path: Path | None = None) -> dict[bytes, int]:
    """Read the tiktoken ranks file: ``{token bytes: rank}``.

    Raises:
        ValueError: the file does not hold the 151,643 contiguous ranks Qwen2.5 expects.
    """
    path = path or qwen_vocab_file()
    ranks: dict[bytes, int] = {}
    with open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
    if len(ranks) != QWEN_NUM_RANKS or sorted(ranks.values()) != list(range(QWEN_NUM_RANKS)):
        raise ValueError(f"{path}: expected ranks 0..{QWEN_NUM_RANKS - 1}, got {len(ranks)}")
    return ranks


def bpe_split(ranks: dict[bytes, int], data: bytes, max_rank: int | None = None) -> list[bytes]:
    """tiktoken's byte-pair encoding of one pre-token: repeatedly merge the adjacent pair whose
    concatenation has the lowest rank (below ``max_rank`` when given).

    With ``max_rank`` set to a token's own rank it yields the two parts that BPE joins last to
    form that token, i.e. the token's merge.
    """
    parts = [data[i : i + 1] for i in range(len(data))]
    get = ranks.get
    while len(parts) > 1:
        best: int | None = None
        best_index = -1
        for i in range(len(parts) - 1):
            rank = get(parts[i] + parts[i + 1])
            if rank is not None and (max_rank is None or rank < max_rank):
                if best is None or rank < best:
                    best, best_index = rank, i
        if best is None:
            break
        parts[best_index : best_index + 2] = [parts[best_index] + parts[best_index + 1]]
    return parts


def _byte_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map used by byte-level BPE vocabularies."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def build_qwen2_tokenizer(ranks: dict[bytes, int] | None = None) -> Tokenizer:
    """Build the Qwen2.5 ``tokenizers.Tokenizer`` (about 2 s: one BPE replay per token).

    Raises:
        ValueError: a token does not split into exactly two lower-ranked tokens.
    """
    ranks = ranks if ranks is not None else load_qwen_ranks()
    byte_map = _byte_to_unicode()

    def to_str(token: bytes) -> str:
        return "".join(byte_map[b] for b in token)

    vocab: dict[str, int] = {}
    merges: list[tuple[str, str]] = []
    for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
        vocab[to_str(token)] = rank
        if len(token) == 1:
            continue
        parts = bpe_split(ranks, token, max_rank=rank)
        if len(parts) != 2:
            raise ValueError(f"token {token!r} (rank {rank}) has no two-part BPE merge: {parts}")
        merges.append((to_str(parts[0]), to_str(parts[1])))

    tokenizer = Tokenizer(
        models.BPE(vocab=vocab, merges=merges, dropout=None, unk_token=None,
                   continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False,
                   byte_fallback=False)
    )
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False,
                                           use_regex=False)
    tokenizer.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False,
                                                    use_regex=False)
    for content, special in QWEN2_5_ADDED_TOKENS:  # one at a time: ids follow this order
        token = AddedToken(content, single_word=False, lstrip=False, rstrip=False,
                           normalized=False, special=special)
        tokenizer.add_tokens([token])
    for content, token_id in QWEN2_5_SPECIAL_TOKEN_IDS.items():
        if tokenizer.token_to_id(content) != token_id:
            raise ValueError(f"{content} got id {tokenizer.token_to_id(content)}, not {token_id}")
    return tokenizer


def cached_qwen2_tokenizer_file(cache_dir: Path) -> Path:
    """``tokenizer.json`` for Qwen2.5 under ``cache_dir``, built on first use.

    The file is written to a temporary name and renamed, so an interrupted or concurrent build
    never leaves a truncated file.
    """
    target = Path(cache_dir) / f"qwen2.5-tokenizer-v{TOKENIZER_BUILD_VERSION}" / "tokenizer.json"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tokenizer = build_qwen2_tokenizer()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tokenizer-", suffix=".json.tmp")
    os.close(fd)
    try:
        tokenizer.save(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def load_qwen2_tokenizer(cache_dir: Path | None = None, chat_template: TemplateName | str =
                         "qwen2.5") -> Qwen2TokenizerFast:
    """A ``Qwen2TokenizerFast`` configured as Qwen2.5-Instruct's (eos ``<|im_end|>``, pad
    ``<|endoftext|>``, no bos).

    Args:
        cache_dir: where the built ``tokenizer.json`` is kept; ``None`` builds it in memory.
        chat_template: ``"qwen2.5"``, ``"qwen2-vl"`` or a Jinja template string.
    """
    from transformers import Qwen2TokenizerFast

    if cache_dir is None:
        backend = build_qwen2_tokenizer()
    else:
        backend = Tokenizer.from_file(str(cached_qwen2_tokenizer_file(cache_dir)))
    # As on the Hub: every special added token but <|endoftext|> (the pad token).
    extra_special = [content for content, special in QWEN2_5_ADDED_TOKENS[1:] if special]
    return Qwen2TokenizerFast(
        tokenizer_object=backend,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        additional_special_tokens=extra_special,
        errors="replace",
        clean_up_tokenization_spaces=False,
        split_special_tokens=False,
        model_max_length=131_072,
        chat_template=_TEMPLATES.get(chat_template, chat_template),
    )
