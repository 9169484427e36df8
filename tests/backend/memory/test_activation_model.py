"""The plan's activation peaks come from a stated model (backend/memory/activations.py); here it is checked
against the peaks measured on the tiny model: every byte of tensor storage allocated during a
denoising stage, alive at once (`live_bytes.LiveBytes`). The model must never be below a measurement,
and not so far above that it means nothing (within 3x, the fixed allowance aside)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from backend.engine import ControlInput, JobCancelled
from backend.memory.activations import FIXED_BYTES, JobShape, transformer_step_bytes
from shared.job_spec import GenerationSpec

from .live_bytes import LiveBytes

pytestmark = pytest.mark.slow

# masked and unmasked, two and three latent frames. Kept small: a 512x384x17 job took four minutes on a
# 2-core CPU and checks the same formula at more tokens
SIZES = [(384, 256, 9, 0.5), (384, 256, 17, 1.0)]


@pytest.mark.parametrize("width, height, frames, strength", SIZES)
def test_transformer_step_model_bounds_the_measured_peaks(engine23, width, height, frames, strength):
    sizes = engine23.memory_plan.sizes
    video = np.random.default_rng(0).integers(0, 255, (frames, height // 4, width // 4, 3), dtype=np.uint8)
    spec = GenerationSpec(
        prompt="activations",
        seed=1,
        width=width,
        height=height,
        frames=frames,
        fps="24",
        control_kind="depth",
        attention_strength=strength,
    )
    live = LiveBytes()
    stop = threading.Event()  # after the last stage-2 step: the VAE decode is not what is measured

    def on_progress(event):
        live.on_progress(event)
        if event.stage == "stage2" and event.step == event.total:
            stop.set()

    try:
        with pytest.raises(JobCancelled):
            engine23.generate(spec, ControlInput(video=video), on_progress=on_progress, cancel=stop)
    finally:
        live.finish()
    job = JobShape(width, height, frames, 24.0, 2, masked=strength < 1.0)
    predicted = {
        "stage1": transformer_step_bytes(
            job.stage1_tokens, job.audio_tokens, sizes.video_dim, sizes.audio_dim, job.masked
        )
        - FIXED_BYTES,
        "stage2": transformer_step_bytes(job.stage2_tokens, job.audio_tokens, sizes.video_dim, sizes.audio_dim, False)
        - FIXED_BYTES,
    }
    for stage, model in predicted.items():
        measured = live.stage_peak[stage]
        assert measured > 0
        assert measured <= model <= 3 * measured, (stage, measured, model)
