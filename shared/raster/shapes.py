"""Filled, aliased shapes on an (H, W, 3) uint8 canvas, in pure numpy (no OpenCV inside Blender).

Pixel (ix, iy) is the point (ix, iy): a keypoint at x = 10.0 lies on the centre of column 10, as
in OpenCV's integer drawing and in the track raster. A pixel is painted when its centre is inside
the shape; shapes are clipped to the canvas and overwrite what is below them (no blending).
"""
from __future__ import annotations

import math

import numpy as np


def _box(canvas: np.ndarray, x0: float, y0: float, x1: float, y1: float):
    """Integer pixel ranges covering [x0, x1] x [y0, y1] clipped to the canvas, or None."""
    h, w = canvas.shape[:2]
    ix0, iy0 = max(0, math.floor(x0)), max(0, math.floor(y0))
    ix1, iy1 = min(w - 1, math.ceil(x1)), min(h - 1, math.ceil(y1))
    if ix0 > ix1 or iy0 > iy1:
        return None
    xs = np.arange(ix0, ix1 + 1, dtype=np.float64)[None, :]
    ys = np.arange(iy0, iy1 + 1, dtype=np.float64)[:, None]
    return iy0, iy1, ix0, ix1, xs, ys


def _paint(canvas, box, inside, colour) -> None:
    iy0, iy1, ix0, ix1 = box[:4]
    canvas[iy0:iy1 + 1, ix0:ix1 + 1][inside] = colour


def fill_disc(canvas: np.ndarray, cx: float, cy: float, radius: float, colour) -> None:
    """Pixels with (x-cx)^2 + (y-cy)^2 <= r^2."""
    box = _box(canvas, cx - radius, cy - radius, cx + radius, cy + radius)
    if box is None:
        return
    xs, ys = box[4], box[5]
    _paint(canvas, box, (xs - cx) ** 2 + (ys - cy) ** 2 <= radius * radius, colour)


def _paint_spans(canvas: np.ndarray, y0: int, xl: np.ndarray, xr: np.ndarray, colour) -> None:
    """Paint, for rows y0, y0+1, ..., the pixel centres x with xl[i] <= x <= xr[i] (clipped)."""
    h, w = canvas.shape[:2]
    rows = np.arange(y0, y0 + len(xl))
    lo = np.maximum(np.ceil(xl - 1e-9), 0).astype(np.int64)
    hi = np.minimum(np.floor(xr + 1e-9), w - 1).astype(np.int64)
    keep = (rows >= 0) & (rows < h) & (hi >= lo)
    rows, lo, hi = rows[keep], lo[keep], hi[keep]
    if not len(rows):
        return
    counts = hi - lo + 1
    starts = np.repeat(lo - np.cumsum(counts) + counts, counts)
    cols = np.arange(int(counts.sum())) + starts
    canvas[np.repeat(rows, counts), cols] = colour


def fill_discs(canvas: np.ndarray, centres: np.ndarray, radius: float, colour) -> None:
    """Many discs of one radius and colour at once (their order does not matter)."""
    centres = np.asarray(centres, np.float64).reshape(-1, 2)
    if not len(centres):
        return
    h, w = canvas.shape[:2]
    reach = int(math.ceil(radius)) + 1
    d = np.arange(-reach, reach + 1)
    base = np.floor(centres).astype(np.int64)
    px = base[:, 0, None, None] + d[None, None, :]       # (K, 1, S)
    py = base[:, 1, None, None] + d[None, :, None]       # (K, S, 1)
    inside = (px - centres[:, 0, None, None]) ** 2 + (py - centres[:, 1, None, None]) ** 2 <= radius * radius
    inside &= (px >= 0) & (px < w) & (py >= 0) & (py < h)
    k, iy, ix = np.nonzero(inside)
    canvas[py[k, iy, 0], px[k, 0, ix]] = colour


def fill_ellipse(canvas: np.ndarray, cx: float, cy: float, semi_major: float, semi_minor: float,
                 angle: float, colour) -> None:
    """Ellipse centred at (cx, cy), major axis along `angle` (radians, x towards y).

    Filled row by row: on each row the ellipse is one interval of x, from a quadratic.
    """
    a, b = max(semi_major, 0.5), max(semi_minor, 0.5)
    c, s = math.cos(angle), math.sin(angle)
    reach_y = math.sqrt((a * s) ** 2 + (b * c) ** 2)
    y0 = math.ceil(cy - reach_y)
    dy = np.arange(y0, math.floor(cy + reach_y) + 1, dtype=np.float64) - cy
    if not len(dy):
        return
    qa = (c / a) ** 2 + (s / b) ** 2
    qb = 2 * dy * c * s * (1 / a ** 2 - 1 / b ** 2)
    qc = dy ** 2 * ((s / a) ** 2 + (c / b) ** 2) - 1
    disc = qb * qb - 4 * qa * qc
    inside = disc >= 0
    root = np.sqrt(np.where(inside, disc, 0))
    xl = np.where(inside, (-qb - root) / (2 * qa) + cx, np.inf)
    xr = np.where(inside, (-qb + root) / (2 * qa) + cx, -np.inf)
    _paint_spans(canvas, y0, xl, xr, colour)


def fill_capsule(canvas: np.ndarray, x0: float, y0: float, x1: float, y1: float, half_width: float, colour) -> None:
    """A thick line: pixels within `half_width` of the segment (x0, y0)-(x1, y1)."""
    hw = max(half_width, 0.5)
    box = _box(canvas, min(x0, x1) - hw, min(y0, y1) - hw, max(x0, x1) + hw, max(y0, y1) + hw)
    if box is None:
        return
    px, py = box[4] - x0, box[5] - y0
    vx, vy = x1 - x0, y1 - y0
    length_sq = vx * vx + vy * vy
    t = np.clip((px * vx + py * vy) / length_sq, 0.0, 1.0) if length_sq > 0 else 0.0
    dist_sq = (px - t * vx) ** 2 + (py - t * vy) ** 2
    _paint(canvas, box, dist_sq <= hw * hw, colour)
