"""Fixtures of the engine tests (the bundles and resident engines are in tests/backend/conftest.py): a guard for the stock pipeline's unconditional
`torch.cuda.synchronize()` on a machine without a GPU (it raises there)."""

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
