"""An independent, deliberately plain torch re-implementation of the Draw Tracks raster (the steps
listed in shared/raster/tracks.py's docstring), used only by the tests: whole 1080p canvases, one
circle at a time, the real `torch.nn.functional.interpolate` for the resize."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def reference_tracks(points: np.ndarray, visible: np.ndarray, width: int, height: int) -> np.ndarray:
    """(N, F, 2) points, (N, F) visibility -> (F, H, W, 3) float32 in the node's final BGR order."""
    n, frames = points.shape[:2]
    if height <= width:
        rw, rh = int(width * 1080 / height), 1080
    else:
        rw, rh = 1080, int(height * 1080 / width)
    sx, sy = rw / width, rh / height
    xy = torch.tensor(np.asarray(points, np.float64) * np.array([sx, sy]), dtype=torch.float32)
    centres = xy.round().long()
    canvas = torch.zeros(frames, rh, rw, 3)
    yy, xx = torch.meshgrid(torch.arange(-9, 10), torch.arange(-9, 10), indexing="ij")
    d2 = yy.float() ** 2 + xx.float() ** 2
    for t in range(frames):
        for age in range(min(t, 50), -1, -1):  # oldest first: newer circles overwrite
            s = torch.tensor(1.0) - torch.tensor(float(age)) / 50
            r = 2 + 6 * s
            if s <= 1 / 3:
                colour = torch.stack([torch.tensor(0.0), s * 3, 1 - s * 3])
            elif s <= 2 / 3:
                colour = torch.stack([(s - 1 / 3) * 3, torch.tensor(1.0), torch.tensor(0.0)])
            else:
                colour = torch.stack([torch.tensor(1.0), 1 - (s - 2 / 3) * 3, torch.tensor(0.0)])
            inside = d2 <= r * r
            for i in range(n):
                if not visible[i, t - age]:
                    continue
                cx, cy = int(centres[i, t - age, 0]), int(centres[i, t - age, 1])
                py, px = cy + yy[inside], cx + xx[inside]
                ok = (py >= 0) & (py < rh) & (px >= 0) & (px < rw)
                canvas[t, py[ok], px[ok]] = colour
    out = F.interpolate(canvas.permute(0, 3, 1, 2), size=(height, width), mode="bilinear", align_corners=False).permute(
        0, 2, 3, 1
    )
    return out[..., [2, 1, 0]].numpy()
