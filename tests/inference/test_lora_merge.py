"""merge_lora: the merged copy computes what the PEFT model computes (tiny Qwen2, a LoRA with
random non-zero weights on every linear layer), and adapters it cannot merge are refused."""

from __future__ import annotations

import json

import pytest
import torch

from paperpred.errors import ModelNotAvailableError
from paperpred.inference.lora_merge import check_adapter, merge_lora, merged_dir


@pytest.fixture(scope="module")
def adapter(tiny_qwen2_dir, tmp_path_factory):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_qwen2_dir, dtype=torch.float32)
    config = LoraConfig(r=8, lora_alpha=16, init_lora_weights=False, target_modules=[
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    peft_model = get_peft_model(model, config)
    out = tmp_path_factory.mktemp("adapter")
    peft_model.save_pretrained(out)
    return out


def test_the_merged_copy_equals_the_peft_model(tiny_qwen2_dir, adapter, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    merged = merge_lora(tiny_qwen2_dir, adapter, tmp_path / "merged")
    assert json.loads((merged / ".paperpred-merged").read_text())["modules"] == 14
    ids = torch.tensor([[151644, 872, 198, 9707, 11, 1879, 0, 151645]])
    base = AutoModelForCausalLM.from_pretrained(tiny_qwen2_dir, dtype=torch.float32)
    with torch.inference_mode():
        plain = base(ids).logits
        want = PeftModel.from_pretrained(base, adapter)(ids).logits
        got = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32)(ids).logits
    assert (want - plain).abs().max() > 1e-2  # the adapter matters
    assert (got - want).abs().max() < 1e-4
    assert merge_lora(tiny_qwen2_dir, adapter, tmp_path / "merged") == merged  # reused
    assert merged_dir(tiny_qwen2_dir, adapter, tmp_path) == merged_dir(tiny_qwen2_dir, adapter,
                                                                       tmp_path)


def test_adapters_it_cannot_merge_are_refused(tmp_path):
    for bad, word in (({"use_dora": True}, "DoRA"), ({"modules_to_save": ["lm_head"]},
                                                      "modules_to_save"),
                      ({"peft_type": "IA3"}, "IA3")):
        with pytest.raises(ModelNotAvailableError, match=word):
            check_adapter({"r": 8, **bad}, tmp_path)
