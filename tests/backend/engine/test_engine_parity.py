"""Parity with the stock `ltx_pipelines.ic_lora.ICLoraPipeline`: same bundle, control, prompt, seed
-> bit-identical frames and audio, for both architectures, with and without an attention mask.

How the same control reaches both: the engine takes the control video as an array; the stock
pipeline reads it from a file, written losslessly (FFV1) by `write_lossless_video`, whose decoded
pixels are the same uint8 values (asserted below). The mask tensor and the first-frame image (a PNG
for the stock pipeline) are the same data too. Comparison is on the decoded uint8 frames and the
float waveform, before any mp4 encoding (lossy H.264/AAC would hide differences).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backend.engine import ControlInput
from shared.job_spec import GenerationSpec

from .conftest import control_video, stock_ic_lora

pytestmark = pytest.mark.slow

W = H = 128  # the smallest size a factor-2 IC-LoRA allows (stage 1 64 px, reference 32 px)
F = 9
FPS = "24"


CASES = {
    "plain": dict(mask=False, strength=1.0, image=False),
    "mask": dict(mask=True, strength=0.6, image=False),
    "scalar+image": dict(mask=False, strength=0.5, image=True),
}


@pytest.mark.parametrize("arch", ["ltx-2.3", "ltx-2"])
@pytest.mark.parametrize("case", ["plain", "mask"])
def test_parity_with_stock_pipeline(request, tmp_path, no_cuda_sync, arch, case):
    _check(request, tmp_path, arch, CASES[case], seed=11)


def test_parity_scalar_strength_and_first_frame(request, tmp_path, no_cuda_sync):
    _check(request, tmp_path, "ltx-2.3", CASES["scalar+image"], seed=5)


def _check(request, tmp_path, arch, case, seed):
    bundle = request.getfixturevalue("bundle23" if arch == "ltx-2.3" else "bundle2")
    engine = request.getfixturevalue("engine23" if arch == "ltx-2.3" else "engine2")
    rng = np.random.default_rng(seed)
    video = control_video(F, H // 4, W // 4, seed=seed)  # at the reference size, as the engine renders it
    # A spatio-temporal mask at stage-1 size (what the stock CLI loads): left half on, fading in over time.
    mask = None
    if case["mask"]:
        mask = np.zeros((F, H // 2, W // 2), np.float32)
        mask[:, :, : W // 4] = np.linspace(0.2, 1.0, F, dtype=np.float32)[:, None, None]
        mask[:, : H // 8] *= 0.5
    image = rng.integers(0, 256, (H, W, 3), dtype=np.uint8) if case["image"] else None
    spec = GenerationSpec(
        prompt=f"parity {arch}",
        seed=seed,
        width=W,
        height=H,
        frames=F,
        fps=FPS,
        control_kind="depth",
        attention_strength=case["strength"],
    )
    media = engine.generate(spec, ControlInput(video=video, mask=mask, first_frame=image))
    assert np.array_equal(media.control, video)
    stock_frames, stock_audio = stock_ic_lora(
        bundle, tmp_path, spec, video, mask, [] if image is None else [(image, 0, 1.0)]
    )

    assert media.video.shape == stock_frames.shape == (F, H, W, 3)
    assert media.audio.shape == stock_audio.shape
    assert media.has_mask == case["mask"] and media.has_first_frame == case["image"]
    # Bit-identical: the runtime LoRA computes the very fusion the stock builder does.
    assert np.array_equal(media.video, stock_frames), (
        f"max |diff| = {np.abs(media.video.astype(int) - stock_frames.astype(int)).max()}"
    )
    assert np.array_equal(media.audio, stock_audio), f"max |diff| = {np.abs(media.audio - stock_audio).max()}"


def test_preview_is_stock_stage1_only(request, tmp_path, no_cuda_sync, bundle23, engine23):
    video = control_video(F, H // 4, W // 4, seed=2)
    spec = GenerationSpec(
        prompt="preview", seed=2, width=W, height=H, frames=F, fps=FPS, control_kind="depth", preview=True
    )
    media = engine23.generate(spec, ControlInput(video=video))
    stock_frames, stock_audio = stock_ic_lora(bundle23, tmp_path, spec, video, None)
    assert media.video.shape == (F, H // 2, W // 2, 3)
    assert np.array_equal(media.video, stock_frames)
    assert np.array_equal(media.audio, stock_audio)


def test_parity_fp8_cast(tmp_path, no_cuda_sync, bundle23):
    """fp8-cast when asked: the engine's runtime IC-LoRA on float8 weights == the stock fp8 fusion."""
    from ltx_core.quantization import QuantizationPolicy

    from backend.engine import Engine

    engine = Engine(bundle23, device="cpu", quantization="fp8-cast")
    video = control_video(F, H // 4, W // 4, seed=4)
    spec = GenerationSpec(prompt="fp8", seed=4, width=W, height=H, frames=F, fps=FPS, control_kind="depth")
    media = engine.generate(spec, ControlInput(video=video))
    assert engine.describe()["quantization"] == "fp8-cast"
    assert (
        engine._models.transformer.velocity_model.transformer_blocks[0].attn1.to_k.weight.dtype == torch.float8_e4m3fn
    )
    stock_frames, stock_audio = stock_ic_lora(
        bundle23, tmp_path, spec, video, None, quantization=QuantizationPolicy.fp8_cast()
    )
    assert np.array_equal(media.video, stock_frames)
    assert np.array_equal(media.audio, stock_audio)


@pytest.mark.parametrize("tier, resident_blocks", [("streamed", 0), ("disk", 1)])
def test_parity_streamed_tiers_with_stock_pipeline(tmp_path, no_cuda_sync, bundle23, tier, resident_blocks):
    """The streamed and disk tiers (blocks through two slots, text encoder and VAEs brought in per
    stage) against the stock pipeline directly, with a mask: bit-identical."""
    from backend.engine import Engine, MemoryOptions

    engine = Engine(
        bundle23,
        device="cpu",
        memory=MemoryOptions(tier=tier, resident_blocks=resident_blocks, disk_dir=tmp_path / "maps"),
    )
    video = control_video(F, H // 4, W // 4, seed=8)
    mask = np.zeros((F, H // 2, W // 2), np.float32)
    mask[:, H // 4 :] = 0.7
    spec = GenerationSpec(
        prompt="streamed parity",
        seed=8,
        width=W,
        height=H,
        frames=F,
        fps=FPS,
        control_kind="depth",
        attention_strength=0.8,
    )
    media = engine.generate(spec, ControlInput(video=video, mask=mask))
    stock_frames, stock_audio = stock_ic_lora(bundle23, tmp_path, spec, video, mask)
    assert engine.memory_plan.tier == tier
    assert np.array_equal(media.video, stock_frames)
    assert np.array_equal(media.audio, stock_audio)
