"""Fixtures of the engine tests (the bundles and resident engines are in tests/backend/conftest.py): a guard for the stock pipeline's unconditional
`torch.cuda.synchronize()` on a machine without a GPU (it raises there), a control video, and the stock
ICLoraPipeline run the parity tests compare the engine with."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture
def no_cuda_sync(monkeypatch):
    if not torch.cuda.is_available():
        monkeypatch.setattr(torch.cuda, "synchronize", lambda *a, **k: None)


def control_video(frames: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """A deterministic, structured control video: moving bright blobs on black."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    out = np.zeros((frames, height, width, 3), np.uint8)
    centres = rng.uniform(0, 1, size=(3, 2)) * (width, height)
    for f in range(frames):
        for i, (cx, cy) in enumerate(centres):
            r2 = (xx - cx - 2 * f) ** 2 + (yy - cy) ** 2
            out[f][r2 < (width / 6) ** 2] = (80 * (i + 1), 255 - 60 * i, 40 * i)
    return out


def stock_ic_lora(bundle, tmp_path, spec, video: np.ndarray, mask, images=(), quantization=None):
    """(frames, waveform) of the stock `ltx_pipelines.ic_lora.ICLoraPipeline` on the same inputs: the control
    video written losslessly (asserted to decode to the same pixels), `images` as (uint8 image, frame,
    strength) saved as PNGs into its `images` list, the mask as its attention mask, stage 1 only for a
    preview spec."""
    from ltx_core.loader import LTXV_LORA_COMFY_RENAMING_MAP, LoraPathStrengthAndSDOps
    from ltx_core.model.video_vae import TilingConfig
    from ltx_pipelines.ic_lora import ICLoraPipeline
    from ltx_pipelines.utils.args import ImageConditioningInput
    from PIL import Image

    from backend.gemma_config import prepare_gemma_config
    from backend.video import read_video, write_lossless_video

    control_path = write_lossless_video(tmp_path / "control.mkv", video, spec.fps)
    back, _ = read_video(control_path)
    assert np.array_equal(back, video), "the lossless control file must decode to the same pixels"
    stock_images = []
    for i, (image, frame, strength) in enumerate(images):
        path = tmp_path / f"image{i}.png"
        Image.fromarray(image).save(path)
        stock_images.append(ImageConditioningInput(str(path), frame, strength))
    prepare_gemma_config(bundle)
    ic = bundle.ic_loras[spec.control_kind]
    pipe = ICLoraPipeline(
        str(bundle.checkpoint),
        str(bundle.upsampler),
        str(bundle.gemma_root),
        [LoraPathStrengthAndSDOps(str(ic.path), spec.ic_lora_strength, LTXV_LORA_COMFY_RENAMING_MAP)],
        device=torch.device("cpu"),
        quantization=quantization,
    )
    with torch.inference_mode():
        frames, audio = pipe(
            prompt=spec.prompt,
            seed=spec.seed,
            height=spec.height,
            width=spec.width,
            num_frames=spec.frames,
            frame_rate=24.0,
            images=stock_images,
            video_conditioning=[(str(control_path), spec.conditioning_strength)],
            tiling_config=TilingConfig.default(),
            conditioning_attention_strength=spec.attention_strength,
            conditioning_attention_mask=None if mask is None else torch.from_numpy(mask)[None, None],
            skip_stage_2=spec.preview,
        )
        frames = torch.cat(list(frames), dim=0).numpy()
    return frames, audio.waveform.float().numpy()
