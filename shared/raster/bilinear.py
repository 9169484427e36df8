"""Bilinear resize with the numerics of torch's CPU `F.interpolate(mode="bilinear",
align_corners=False)` (no antialias) on float32, in pure numpy.

Per axis (float32, as ATen's CPU kernel): scale = in / out; src = scale * (dst + 0.5) - 0.5 (one
fused multiply-add), clamped at 0; i0 = min(floor(src), in - 1); i1 = i0 + 1 unless i0 is the last
index; w1 = clamp(src - i0, 0, 1); w0 = 1 - w1. Equal sizes copy.

ATen has two CPU kernels for this call, with different rounding (the float32 results differ in the
last bit, far below the node's float16 output and 8-bit quantization):
- the generic kernel (what a multi-threaded torch picks for 3-channel images when out_h + out_w > 128):
  width first, then height, each step fma(x0, w0, x1 * w1);
- the channels-last kernel (out_h + out_w <= 128; also every size when torch runs on one thread):
  w00 = h0*w0 ..., value = fma(x11, w11, fma(x10, w10, fma(x00, w00, x01 * w01))).
This module follows the multi-threaded choice. The fused multiply-adds are emulated in float64
and rounded to float32 (a double rounding that can differ from a true FMA in about 1 case in
2^29); measured bit-identical to torch 2.11 (2 threads) on the test sizes.

Because a zero term adds exactly nothing, a sparse image can be resized only where it has content
and still be bit-identical to resizing the whole image (raster/tracks.py relies on this).
"""

from __future__ import annotations

import numpy as np


def fma32(a, b, c) -> np.ndarray:
    """float32 a * b + c with a single rounding (emulated through float64)."""
    return (np.asarray(a, np.float64) * np.asarray(b, np.float64) + np.asarray(c, np.float64)).astype(np.float32)


def bilinear_taps(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(i0, i1, w0, w1) for each output index: two source indices (int64) and float32 weights."""
    dst = np.arange(out_size)
    if in_size == out_size:
        return dst.copy(), dst.copy(), np.ones(out_size, np.float32), np.zeros(out_size, np.float32)
    scale = np.float32(in_size) / np.float32(out_size)
    src = fma32(scale, dst.astype(np.float32) + np.float32(0.5), np.float32(-0.5))
    src = np.maximum(src, np.float32(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    w1 = np.clip(src - i0.astype(np.float32), np.float32(0), np.float32(1)).astype(np.float32)
    i1 = i0 + (i0 < in_size - 1)
    w0 = (np.float32(1) - w1).astype(np.float32)
    return i0, i1, w0, w1


def lerp_pair(x0: np.ndarray, w0: np.ndarray, x1: np.ndarray, w1: np.ndarray) -> np.ndarray:
    """One interpolation step exactly as the kernel: fma(x0, w0, x1 * w1), float32."""
    return fma32(x0, w0, (x1 * w1).astype(np.float32))


def small_output(out_h: int, out_w: int) -> bool:
    """True where torch uses its channels-last kernel for 3-channel float images (see above)."""
    return out_h + out_w <= 128


def bilinear_2x2(x00, x01, x10, x11, w0, w1, h0, h1, small: bool) -> np.ndarray:
    """The value from the four taps (x[y0, x0], x[y0, x1], x[y1, x0], x[y1, x1]), kernel-exact."""
    if not small:
        return lerp_pair(lerp_pair(x00, w0, x01, w1), h0, lerp_pair(x10, w0, x11, w1), h1)
    w00, w01, w10, w11 = h0 * w0, h0 * w1, h1 * w0, h1 * w1
    inner = fma32(x00, w00, (x01 * w01).astype(np.float32))
    return fma32(x11, w11, fma32(x10, w10, inner))


def resize_bilinear(images: np.ndarray, height: int, width: int, exact: bool = True) -> np.ndarray:
    """Resize float32 (F, H, W, C) or (F, H, W) images to (height, width); returns float32.

    `exact=False` uses the same taps with plain float32 arithmetic (about 4x faster, results within
    a few float32 ulps of torch): enough for depth and masks, which are not pixel-matched.
    """
    x = np.asarray(images, np.float32)
    has_channels = x.ndim == 4
    if not has_channels:
        x = x[..., None]
    f, h, w, c = x.shape
    if (h, w) == (height, width):
        out = x.copy()
    elif not exact:
        yi0, yi1, h0, h1 = bilinear_taps(h, height)
        xi0, xi1, w0, w1 = bilinear_taps(w, width)
        out = np.empty((f, height, width, c), np.float32)
        wa, wb = w0[:, None], w1[:, None]
        ha, hb = h0[:, None, None], h1[:, None, None]
        for i in range(f):
            rows = x[i][:, xi0] * wa
            rows += x[i][:, xi1] * wb
            frame = rows[yi0] * ha
            frame += rows[yi1] * hb
            out[i] = frame
    elif small_output(height, width):
        yi0, yi1, h0, h1 = bilinear_taps(h, height)
        xi0, xi1, w0, w1 = bilinear_taps(w, width)
        out = np.empty((f, height, width, c), np.float32)
        for i in range(f):
            top, bottom = x[i][yi0], x[i][yi1]
            out[i] = bilinear_2x2(
                top[:, xi0],
                top[:, xi1],
                bottom[:, xi0],
                bottom[:, xi1],
                w0[None, :, None],
                w1[None, :, None],
                h0[:, None, None],
                h1[:, None, None],
                small=True,
            )
    else:
        yi0, yi1, h0, h1 = bilinear_taps(h, height)
        xi0, xi1, w0, w1 = bilinear_taps(w, width)
        out = np.empty((f, height, width, c), np.float32)
        wa, wb = w0[:, None], w1[:, None]
        ha, hb = h0[:, None, None], h1[:, None, None]
        for i in range(f):  # frame by frame keeps the temporaries small
            rows = lerp_pair(x[i][:, xi0], wa, x[i][:, xi1], wb)  # (h, width, c)
            out[i] = lerp_pair(rows[yi0], ha, rows[yi1], hb)
    return out if has_channels else out[..., 0]
