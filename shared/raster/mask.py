"""Attention mask: where (and how strongly, per frame) the IC-LoRA control applies.

White (1) = full control, black (0) = none; the engine multiplies it by the attention strength.
A mask is spatial (H, W: the same every frame) or spatio-temporal (F, H, W); the per-frame
strength (F,) scales each frame (e.g. a fade-in of the control over the first 8 frames).

Order of operations: resize to (height, width) (bilinear), dilate (grow white by `dilate_px`,
a square max filter), feather (soften edges over about `feather_px`: three box blurs whose
combined width is 2 * feather_px + 1, a close approximation of a Gaussian), multiply by strength,
clip to [0, 1].
"""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import UserError
from .bilinear import resize_bilinear


def _slice(x: np.ndarray, axis: int, start: int, stop: int) -> np.ndarray:
    index = [slice(None)] * x.ndim
    index[axis] = slice(start, stop)
    return x[tuple(index)]


def _max_filter_axis(x: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """Running max over a window of 2*radius + 1 along `axis` (edges replicate), O(log r) passes."""
    if radius <= 0:
        return x
    n = x.shape[axis]
    pad = [(0, 0)] * x.ndim
    pad[axis] = (radius, radius)
    m = np.pad(x, pad, mode="edge")
    window, span = 2 * radius + 1, 1
    # m[i] holds the max over the `span` values starting at i
    while span * 2 <= window:
        length = m.shape[axis]
        m = np.maximum(_slice(m, axis, 0, length - span), _slice(m, axis, span, length))
        span *= 2
    # two overlapping power-of-two windows cover exactly `window`
    return np.maximum(_slice(m, axis, 0, n), _slice(m, axis, window - span, window - span + n))


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Grey dilation of (..., H, W) by a (2r+1) x (2r+1) square."""
    return _max_filter_axis(_max_filter_axis(mask, radius, -1), radius, -2)


def _box_blur_axis(x: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """Mean over a window of 2*radius + 1 along `axis` (edges replicate).

    Window sums are built from power-of-two partial sums (O(log r) float32 additions per value),
    much faster than a cumulative sum along rows and free of its drift.
    """
    if radius <= 0:
        return x
    n = x.shape[axis]
    pad = [(0, 0)] * x.ndim
    pad[axis] = (radius, radius)
    m = np.pad(x, pad, mode="edge").astype(np.float32)
    window = 2 * radius + 1
    total, offset, span = None, 0, 1
    while span <= window:
        if window & span:
            part = _slice(m, axis, offset, offset + n)
            total = part.copy() if total is None else total + part
            offset += span
        length = m.shape[axis]
        if span * 2 <= window:
            m = _slice(m, axis, 0, length - span) + _slice(m, axis, span, length)
        span *= 2
    return total / np.float32(window)


def feather(mask: np.ndarray, feather_px: int) -> np.ndarray:
    """Soften edges over about `feather_px` pixels: three box blurs (radius ~feather_px / 3 each)."""
    if feather_px <= 0:
        return mask
    radii = [feather_px // 3 + (1 if i < feather_px % 3 else 0) for i in range(3)]
    out = mask
    for r in radii:
        out = _box_blur_axis(_box_blur_axis(out, r, -1), r, -2)
    return out


def _int(name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not lo <= value <= hi:
        raise UserError(f"{name}: expected an integer from {lo} to {hi}, got {value!r}", name)
    return int(value)


def attention_mask(
    mask, strength, frames: int, width: int, height: int, dilate_px: int = 0, feather_px: int = 0
) -> np.ndarray:
    """Combine a spatial (H, W) or spatio-temporal (F, H, W) mask in [0, 1] (or None = everywhere)
    with a per-frame strength (F,) (a number, or None = 1) -> (F, height, width) float32 in [0, 1]."""
    frames = _int("frames", frames, 1, 100_000)
    width = _int("width", width, 1, 16384)
    height = _int("height", height, 1, 16384)
    dilate_px = _int("dilate_px", dilate_px, 0, 1024)
    feather_px = _int("feather_px", feather_px, 0, 1024)
    if strength is None:
        s = np.ones(frames, np.float32)
    elif np.ndim(strength) == 0:
        s = np.full(frames, float(strength), np.float32)
    else:
        s = np.asarray(strength, np.float32)
        if s.shape != (frames,):
            raise UserError(
                f"attention_strength: expected shape ({frames},) (one value per frame), got {s.shape}",
                "attention_strength",
            )
    if np.isnan(s).any() or (s < 0).any() or (s > 1).any():
        raise UserError("attention_strength: values must be numbers in [0, 1]", "attention_strength")
    if mask is None:
        m = np.ones((1, height, width), np.float32)
    else:
        m = np.asarray(mask, np.float32)
        if m.ndim == 2:
            m = m[None]
        if m.ndim != 3 or m.shape[0] not in (1, frames) or m.shape[1] < 1 or m.shape[2] < 1:
            raise UserError(f"mask: expected (H, W) or (F, H, W) with F = {frames}, got {np.shape(mask)}", "mask")
        if np.isnan(m).any() or (m < 0).any() or (m > 1).any():
            raise UserError("mask: values must be in [0, 1] (white = full control)", "mask")
    out = np.empty((frames, height, width), np.float32)
    shaped = {}  # a spatial mask is resized / dilated / feathered once
    for f in range(frames):
        src = 0 if m.shape[0] == 1 else f
        if src not in shaped:
            frame = m[src : src + 1]
            if mask is not None:
                if frame.shape[1:] != (height, width):
                    frame = resize_bilinear(frame, height, width, exact=False)
                frame = feather(dilate(frame, dilate_px), feather_px)
            shaped = {src: frame[0]}
        np.multiply(shaped[src], s[f], out=out[f])
    return np.clip(out, 0, 1, out=out)
