"""`paperpred list`: the registered input formatters, output handlers and modes."""

from __future__ import annotations

import inspect

from paperpred.config import TrainingMode
from paperpred.inference.factory import BACKEND_CLASSES
from paperpred.inputs import INPUT_FORMATTERS
from paperpred.modes import MODES
from paperpred.outputs import OUTPUT_HANDLERS


def add_parser(commands) -> None:
    parser = commands.add_parser("list", help="formatters, handlers and modes")
    parser.set_defaults(run=run_list)


def _first_line(obj) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.splitlines()[0] if doc else ""


def _keywords(cls) -> str:
    params = [p for p in inspect.signature(cls.__init__).parameters.values()
              if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return ", ".join(f"{p.name}={p.default!r}" if p.default is not p.empty else p.name
                     for p in params)


def run_list(args) -> int:
    for title, registry in (("Input formatters", INPUT_FORMATTERS),
                            ("Output handlers", OUTPUT_HANDLERS)):
        defaults = {name: enum for enum, name in registry.defaults().items()}
        print(f"{title}:")
        for name in registry.names():
            cls = registry.get(name)
            vision = " [vision]" if getattr(cls, "requires_vl_model", False) else ""
            default = f" (default for {defaults[name]})" if name in defaults else ""
            print(f"  {name:<28} {cls.__name__}{vision}{default}")
            print(f"  {'':<28} {_first_line(cls)}")
            print(f"  {'':<28} keywords: {_keywords(cls) or '-'}")
        print()
    modes = {
        TrainingMode.ZERO_SHOT: "the model as it is (transformers, vLLM or an OpenAI-compatible "
                                "server); `paperpred predict`",
        TrainingMode.SFT_LORA: "LoRA SFT through LlamaFactory: `paperpred train --mode sft`; "
                               "predict with --mode sft_lora --adapter-path RUN/checkpoints",
        TrainingMode.GRPO: "GRPO through TRL: `paperpred train --mode grpo`; predict with "
                           "--mode grpo --adapter-path RUN/checkpoints",
    }
    print("Modes:")
    for mode, text in modes.items():
        print(f"  {mode.value:<28} {MODES.get(mode)}")
        print(f"  {'':<28} {text}")
    print()
    print("Backends (--backend; auto: vllm with a GPU and vLLM, else transformers):")
    for name in BACKEND_CLASSES.names():
        print(f"  {name:<28} {BACKEND_CLASSES.get(name)}")
    return 0
