"""Runtime LoRA on the one resident transformer == the stock build-time fusion, bit for bit."""

from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import save_file

import ltx_pipelines  # noqa: F401  (import order: ltx_core.loader before ltx_core.quantization)
from ltx_core.loader import LTXV_LORA_COMFY_RENAMING_MAP, LoraPathStrengthAndSDOps
from ltx_core.quantization import QuantizationPolicy
from ltx_pipelines.utils import ModelLedger

from backend.engine.lora import LoraError, RuntimeLoras, load_lora

CPU = torch.device("cpu")


def _ledger(bundle, loras=(), quantization=None):
    return ModelLedger(
        dtype=torch.bfloat16,
        device=CPU,
        checkpoint_path=str(bundle.checkpoint),
        loras=tuple(loras),
        quantization=quantization,
    )


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Every weight as the forward pass sees it (through a parametrization when there is one)."""
    out = {}
    for name, module in model.named_modules():
        if "parametrizations" in name:
            continue
        w = getattr(module, "weight", None)
        if isinstance(w, torch.Tensor):
            out[name + ".weight"] = w.detach().clone()
    return out


def _second_lora(bundle, tmp_path):
    """Another valid LoRA for the same model: the IC-LoRA's factors permuted and scaled."""
    from safetensors.torch import load_file

    sd = load_file(str(bundle.ic_loras["depth"].path))
    gen = torch.Generator().manual_seed(5)
    out = {k: (v.float() * 0.7 + 0.01 * torch.randn(v.shape, generator=gen)).to(v.dtype) for k, v in sd.items()}
    path = tmp_path / "second.safetensors"
    save_file(out, str(path))
    return path


@pytest.mark.parametrize("quantized", [False, True], ids=["bf16", "fp8-cast"])
def test_runtime_lora_equals_stock_fusion(bundle23, tmp_path, quantized):
    policy = QuantizationPolicy.fp8_cast() if quantized else None
    ic = str(bundle23.ic_loras["depth"].path)
    second = str(_second_lora(bundle23, tmp_path))
    asked = [(ic, 0.8), (second, 0.5)]
    stock = (
        _ledger(bundle23, [LoraPathStrengthAndSDOps(p, s, LTXV_LORA_COMFY_RENAMING_MAP) for p, s in asked], policy)
        .transformer()
        .velocity_model
    )
    plain = _ledger(bundle23, (), policy).transformer().velocity_model
    base = _weights(plain)

    runtime = RuntimeLoras(plain, fuse_dtype=None if quantized else torch.bfloat16)
    loaded = [load_lora(f"l{i}", p, plain, CPU) for i, (p, _) in enumerate(asked)]
    for lora in loaded:
        runtime.add(lora)
    assert all(not lora.unmatched for lora in loaded)

    stock_w = _weights(stock)
    with runtime.enabled([("l0", 0.8), ("l1", 0.5)]):
        fused = _weights(plain)
    after = _weights(plain)

    targets = set(loaded[0].targets)
    assert len(targets) == 24  # every video attention / feed-forward matrix of the 2 tiny blocks
    changed = 0
    for key, w in stock_w.items():
        assert torch.equal(fused[key].view(torch.uint8), w.view(torch.uint8)), key
        assert torch.equal(after[key].view(torch.uint8), base[key].view(torch.uint8)), key
        changed += key in targets and not torch.equal(w.view(torch.uint8), base[key].view(torch.uint8))
    assert changed == len(targets)


def test_all_zero_strength_is_no_fusion(bundle23):
    plain = _ledger(bundle23).transformer().velocity_model
    base = _weights(plain)
    runtime = RuntimeLoras(plain, fuse_dtype=torch.bfloat16)
    runtime.add(load_lora("ic", str(bundle23.ic_loras["depth"].path), plain, CPU))
    with runtime.enabled([("ic", 0.0)]):
        same = _weights(plain)
    assert all(torch.equal(same[k], base[k]) for k in base)
    with pytest.raises(LoraError, match="not loaded"):
        with runtime.enabled([("nope", 1.0)]):
            pass
    with pytest.raises(LoraError, match="finite"):
        with runtime.enabled([("ic", math.nan)]):
            pass


def test_lora_matching_nothing_is_an_error(bundle23, tmp_path):
    plain = _ledger(bundle23).transformer().velocity_model
    bogus = tmp_path / "bogus.safetensors"
    save_file(
        {
            "diffusion_model.not_a_block.0.proj.lora_A.weight": torch.zeros(4, 64, dtype=torch.bfloat16),
            "diffusion_model.not_a_block.0.proj.lora_B.weight": torch.zeros(64, 4, dtype=torch.bfloat16),
        },
        str(bogus),
    )
    with pytest.raises(LoraError, match=r"none of its 1 LoRA pairs match a weight"):
        load_lora("bogus", bogus, plain, CPU)

    no_pairs = tmp_path / "nopairs.safetensors"
    save_file({"something.weight": torch.zeros(2, 2)}, str(no_pairs))
    with pytest.raises(LoraError, match="no '\\*.lora_A.weight'"):
        load_lora("np", no_pairs, plain, CPU)

    wrong_shape = tmp_path / "shape.safetensors"
    save_file(
        {
            "diffusion_model.transformer_blocks.0.attn1.to_q.lora_A.weight": torch.zeros(4, 7, dtype=torch.bfloat16),
            "diffusion_model.transformer_blocks.0.attn1.to_q.lora_B.weight": torch.zeros(5, 4, dtype=torch.bfloat16),
        },
        str(wrong_shape),
    )
    with pytest.raises(LoraError, match="different model"):
        load_lora("shape", wrong_shape, plain, CPU)

    with pytest.raises(LoraError, match="not found"):
        load_lora("missing", tmp_path / "missing.safetensors", plain, CPU)
    not_st = tmp_path / "text.safetensors"
    not_st.write_text("hello")
    with pytest.raises(LoraError, match="not a readable"):
        load_lora("text", not_st, plain, CPU)
