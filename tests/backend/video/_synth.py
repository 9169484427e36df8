"""Small synthetic clips and sounds for the video tests (deterministic, a few KB each)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np


def smooth_clip(frames: int, height: int, width: int) -> np.ndarray:
    """Gradients that move per frame: compress well and survive yuv420 within a few levels."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.empty((frames, height, width, 3), np.uint8)
    for i in range(frames):
        out[i, ..., 0] = (xx / max(width - 1, 1) * 200 + 20 + i).astype(np.uint8)
        out[i, ..., 1] = (yy / max(height - 1, 1) * 180 + 30).astype(np.uint8)
        out[i, ..., 2] = 90 + 3 * i
    return out


def noise_clip(frames: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (frames, height, width, 3), dtype=np.uint8)


def stereo_tone(frames: int, fps: Fraction, rate: int, channels: int = 2) -> np.ndarray:
    """float32 [channels, samples] lasting exactly frames / fps (rounded to a sample)."""
    n = int(round(Fraction(frames) / fps * rate))
    t = np.arange(n) / rate
    waves = [np.sin(2 * np.pi * (440 + 220 * c) * t) * 0.5 for c in range(channels)]
    return np.stack(waves).astype(np.float32)
