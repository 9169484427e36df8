"""Depth control video: clip-normalized inverse depth, near = white (the Depth-Anything family's
polarity, which the Union Control depth training data used).

d = 1 / z for planar view-space Z (background, i.e. +inf / no geometry -> d = 0); then one min-max
over the whole clip (not per frame, which would flicker and stretch a frame holding only far
geometry to white): v = (d - min) / (max - min), with min and max over every pixel of every frame,
background included (so background is black). A clip with a single depth everywhere maps geometry
to white. Grey in all 3 channels, 8-bit (round to nearest).

Resizing to (height, width) (depth may be captured smaller than the video it is shown in) never
blends geometry with background: where all four bilinear taps of an output pixel hit geometry the
value is bilinear (torch's taps), elsewhere it is the nearest tap's (the tap with the larger weight
on each axis). A plain bilinear 2x upsample put 1-2 k pixels of grey (up to 98) per frame into the
background beside silhouettes: a halo the model never saw in training, where background is black.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import UserError
from .bilinear import bilinear_taps, resize_bilinear


def inverse_depth(depth: np.ndarray) -> np.ndarray:
    """1 / z as float32; background (+inf, NaN, z <= 0) -> 0."""
    z = np.asarray(depth, np.float32)
    d = np.zeros(z.shape, np.float32)
    geometry = np.isfinite(z) & (z > 0)
    d[geometry] = np.float32(1) / z[geometry]
    return d


def _normalize(d: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if hi - lo <= 0:
        return (d > 0).astype(np.float32)
    return ((d - np.float32(lo)) / np.float32(hi - lo)).astype(np.float32)


def depth_to_video(depth, width: int | None = None, height: int | None = None) -> np.ndarray:
    """(F, Hd, Wd) planar Z -> (F, H, W, 3) uint8 grey, near = white, background black."""
    z = np.asarray(depth)
    if z.ndim != 3 or not np.issubdtype(z.dtype, np.floating):
        raise UserError(f"depth: expected a float array of shape (F, H, W), got {z.dtype} {z.shape}", "depth")
    f, hd, wd = z.shape
    width = wd if width is None else width
    height = hd if height is None else height
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= 16384:
            raise UserError(f"{name}: expected an integer from 1 to 16384 pixels, got {value!r}", name)
    d = inverse_depth(z)
    lo, hi = (float(d.min()), float(d.max())) if d.size else (0.0, 0.0)
    out = np.empty((f, height, width, 3), np.uint8)
    resize = (hd, wd) != (height, width)
    if resize:
        yi0, yi1, h0, h1 = bilinear_taps(hd, height)
        xi0, xi1, w0, w1 = bilinear_taps(wd, width)
        y_near, x_near = np.where(h0 >= h1, yi0, yi1), np.where(w0 >= w1, xi0, xi1)
    for i in range(f):  # frame by frame: the float temporaries stay small
        v = _normalize(d[i], lo, hi)
        if resize:
            near_src = v
            v = resize_bilinear(v[None], height, width, exact=False)[0]
            # source 2x2 blocks holding geometry and background (taps are neighbours), then only the
            # output rows that read such a block
            g = np.pad(d[i] > 0, ((0, 1), (0, 1)), mode="edge")
            block_all = g[:-1, :-1] & g[:-1, 1:] & g[1:, :-1] & g[1:, 1:]
            block_any = g[:-1, :-1] | g[:-1, 1:] | g[1:, :-1] | g[1:, 1:]
            mixed_src = block_any & ~block_all
            out_rows = np.flatnonzero(mixed_src.any(axis=1)[yi0])
            if len(out_rows):
                ry, xs = np.nonzero(mixed_src[yi0[out_rows]][:, xi0])
                ys = out_rows[ry]
                v[ys, xs] = near_src[y_near[ys], x_near[xs]]
        v *= np.float32(255)
        np.rint(v, out=v)
        out[i] = np.clip(v, 0, 255).astype(np.uint8)[..., None]
    return out
