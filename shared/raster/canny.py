"""Canny settings: which edges a canny package asks for (recorded in the package and the sidecar).

Two conventions exist, and the IC-LoRA saw each somewhere:
- `union-2.3` (the default): the official LTX-2.3 Union Control ComfyUI workflow, what users run:
  the frame is resized to 512 px on its short side, then Canny with thresholds 92 / 200; the edge
  image is then resized to the reference size like any control video.
- `trainer`: the LTX-2 trainer's reference script: Canny 100 / 200 at the frame's own size (the
  generation size), then the same resize to the reference size.
Edges are made from the package's `rgb` render (greyscale first); the detector lives in the
backend (OpenCV). A package without settings (written before they were recorded) gets the default.
"""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np

from ..errors import UserError

CANNY_PRESETS = {
    "union-2.3": {"low": 92, "high": 200, "short_side": 512},
    "trainer": {"low": 100, "high": 200, "short_side": None},
}
DEFAULT_CANNY_PRESET = "union-2.3"
_KEYS = ("preset", "low", "high", "short_side")


def _number(name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not lo <= value <= hi:
        raise UserError(f"canny: {name} must be a number in {lo}..{hi}, got {value!r}", "canny")
    return int(value) if float(value).is_integer() else float(value)


def canny_settings(value=None) -> dict:
    """The full settings dict {preset, low, high, short_side} from None (the default preset), a preset
    name, or a dict (a preset name and/or explicit thresholds; explicit values win, preset "custom")."""
    if value is None:
        value = DEFAULT_CANNY_PRESET
    if isinstance(value, str):
        if value not in CANNY_PRESETS:
            raise UserError(f"canny: unknown preset {value!r}; use one of {', '.join(CANNY_PRESETS)}", "canny")
        return {"preset": value, **CANNY_PRESETS[value]}
    if not isinstance(value, dict):
        raise UserError(f"canny: expected a preset name or a settings object, got {type(value).__name__}", "canny")
    unknown = sorted(set(value) - set(_KEYS))
    if unknown:
        raise UserError(f"canny: unknown setting(s) {unknown}; allowed: {list(_KEYS)}", "canny")
    preset = value.get("preset", "custom")
    if preset != "custom" and preset not in CANNY_PRESETS:
        raise UserError(f"canny: unknown preset {preset!r}; use one of {', '.join(CANNY_PRESETS)} or 'custom'", "canny")
    base = dict(CANNY_PRESETS.get(preset, CANNY_PRESETS[DEFAULT_CANNY_PRESET]))
    explicit = {k: value[k] for k in ("low", "high", "short_side") if k in value}
    if preset == "custom" and set(explicit) != {"low", "high", "short_side"}:
        raise UserError("canny: custom settings need low, high and short_side (null: the frame's own size)", "canny")
    out = {**base, **explicit}
    out["low"] = _number("low", out["low"], 0, 1020)
    out["high"] = _number("high", out["high"], 0, 1020)
    if out["low"] > out["high"]:
        raise UserError(
            f"canny: the low threshold ({out['low']}) must not exceed the high one ({out['high']})", "canny"
        )
    if out["short_side"] is not None:
        out["short_side"] = int(_number("short_side", out["short_side"], 8, 16384))
    if preset != "custom" and out != {**CANNY_PRESETS[preset]}:
        preset = "custom"
    return {"preset": preset, **out}


# ------------------------------------------------------------------------------------ edge images
# OpenCV's algorithms, reproduced in numpy so the add-on's preview (no OpenCV in Blender) and the
# engine make the same edges; tests/shared/test_raster_canny.py compares them with cv2.


def rgb_to_grey(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB -> uint8 grey, OpenCV's fixed point: (9798 R + 19235 G + 3735 B + 2^14) >> 15."""
    x = rgb.astype(np.int32)
    return ((x[..., 0] * 9798 + x[..., 1] * 19235 + x[..., 2] * 3735 + (1 << 14)) >> 15).astype(np.uint8)


@functools.lru_cache(maxsize=32)
def _area_taps(src: int, dst: int) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV's area-resize taps for one axis (src > dst): (dst, K) source indices and float32
    weights, the taps of each output in OpenCV's order (absent taps: weight 0, adding nothing)."""
    scale = src / dst
    taps = []
    for d in range(dst):
        f1 = d * scale
        f2 = f1 + scale
        cell = min(scale, src - f1)
        s1, s2 = math.ceil(f1), math.floor(f2)
        s2 = min(s2, src - 1)
        s1 = min(s1, s2)
        row = []
        if s1 - f1 > 1e-3:
            row.append((s1 - 1, (s1 - f1) / cell))
        row += [(s, 1.0 / cell) for s in range(s1, s2)]
        if f2 - s2 > 1e-3:
            row.append((s2, min(min(f2 - s2, 1.0), cell) / cell))
        taps.append(row)
    k = max(len(row) for row in taps)
    index = np.zeros((dst, k), np.int64)
    weight = np.zeros((dst, k), np.float32)
    for d, row in enumerate(taps):
        for j, (si, wi) in enumerate(row):
            index[d, j], weight[d, j] = si, wi
    return index, weight


def _weighted_sum(values: np.ndarray, index: np.ndarray, weight: np.ndarray, axis: int) -> np.ndarray:
    """sum_j values[index[:, j]] * weight[:, j] along `axis`, added tap by tap in float32."""
    shape = [1] * values.ndim
    shape[axis] = -1
    out = np.take(values, index[:, 0], axis=axis) * weight[:, 0].reshape(shape)
    for j in range(1, index.shape[1]):
        out += np.take(values, index[:, j], axis=axis) * weight[:, j].reshape(shape)
    return out


def resize_area(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """uint8 (H, W[, C]) downscale as cv2.resize(..., INTER_AREA): integer factors average the block
    (2x: (sum + 2) >> 2), other factors weigh partial source pixels by their covered area."""
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image.copy()
    sx, sy = w / width, h / height
    if sx.is_integer() and sy.is_integer():
        kx, ky = int(sx), int(sy)
        block = image[: height * ky, : width * kx].astype(np.int32)
        block = block.reshape(height, ky, width, kx, *image.shape[2:]).sum(axis=(1, 3))
        if (kx, ky) == (2, 2):
            return ((block + 2) >> 2).astype(np.uint8)
        return np.clip(np.rint(block.astype(np.float32) * np.float32(1.0 / (kx * ky))), 0, 255).astype(np.uint8)
    rows = _weighted_sum(image.astype(np.float32), *_area_taps(w, width), axis=1)  # (H, width[, C])
    out = _weighted_sum(rows, *_area_taps(h, height), axis=0)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _cubic_taps(src: int, dst: int):
    """OpenCV's bicubic taps (A = -0.75) for one axis: (4 source indices, clamped) and the weights
    in 11-bit fixed point, per output index."""
    scale = src / dst
    f = ((np.arange(dst) + 0.5) * scale - 0.5).astype(np.float32)
    base = np.floor(f).astype(np.int64)
    x = (f - base).astype(np.float32)
    a = np.float32(-0.75)
    one = np.float32(1)
    c0 = ((a * (x + one) - np.float32(5) * a) * (x + one) + np.float32(8) * a) * (x + one) - np.float32(4) * a
    c1 = ((a + np.float32(2)) * x - (a + np.float32(3))) * x * x + one
    c2 = ((a + np.float32(2)) * (one - x) - (a + np.float32(3))) * (one - x) * (one - x) + one
    c3 = one - c0 - c1 - c2
    weights = np.rint(np.stack([c0, c1, c2, c3], 1).astype(np.float32) * np.float32(2048)).astype(np.int64)
    taps = np.clip(base[:, None] + np.arange(-1, 3)[None, :], 0, src - 1)
    return taps, weights


def resize_cubic(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """uint8 (H, W[, C]) as OpenCV's own cv2.resize(..., INTER_CUBIC): separable 4-tap bicubic, the
    horizontal pass in 11-bit fixed point, the vertical one in float32, borders replicated.

    Within a few pixels of OpenCV without IPP; opencv-python's default IPP path rounds differently
    (about 10 % of the pixels differ by 1), which moves a few Canny edges (measured in the tests)."""
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image.copy()
    xt, xw = _cubic_taps(w, width)
    yt, yw = _cubic_taps(h, height)
    x = image.astype(np.int64)
    extra = (None,) * (image.ndim - 2)
    rows = sum(x[:, xt[:, k]] * xw[(None, slice(None), k) + extra] for k in range(4))  # (H, width[, C])
    rows = rows.astype(np.float32)
    beta = yw.astype(np.float32) * np.float32(1.0 / (1 << 22))
    out = rows[yt[:, 0]] * beta[(slice(None), 0, None) + extra]
    for k in range(1, 4):
        out += rows[yt[:, k]] * beta[(slice(None), k, None) + extra]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _sobel(img: np.ndarray):
    """3x3 Sobel dx, dy (int32) with replicated borders, per channel."""
    p = np.pad(img.astype(np.int32), [(1, 1), (1, 1)] + [(0, 0)] * (img.ndim - 2), mode="edge")
    smooth_y = p[:-2] + 2 * p[1:-1] + p[2:]  # vertical [1 2 1]
    dx = smooth_y[:, 2:] - smooth_y[:, :-2]
    smooth_x = p[:, :-2] + 2 * p[:, 1:-1] + p[:, 2:]
    dy = smooth_x[2:] - smooth_x[:-2]
    return dx, dy


def _components_with_seeds(candidates: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Pixels of the 8-connected components of `candidates` that contain a `seeds` pixel."""
    h, w = candidates.shape
    flat = np.flatnonzero(candidates)
    if not len(flat):
        return np.zeros_like(candidates)
    ids = np.full(h * w, -1, np.int64)
    ids[flat] = np.arange(len(flat))
    y, x = np.divmod(flat, w)
    a_list, b_list = [], []
    for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):
        ny, nx = y + dy, x + dx
        ok = (ny < h) & (nx >= 0) & (nx < w)
        nb = np.full(len(flat), -1, np.int64)
        nb[ok] = ids[ny[ok] * w + nx[ok]]
        ok &= nb >= 0
        a_list.append(np.flatnonzero(ok))
        b_list.append(nb[ok])
    a, b = np.concatenate(a_list), np.concatenate(b_list)
    parent = np.arange(len(flat))
    while True:
        pa, pb = parent[a], parent[b]
        differ = pa != pb
        if not differ.any():
            break
        np.minimum.at(parent, np.maximum(pa, pb)[differ], np.minimum(pa, pb)[differ])
        while True:  # path compression
            grand = parent[parent]
            if (grand == parent).all():
                break
            parent = grand
    seeded = np.zeros(len(flat), bool)
    seeded[parent[ids[np.flatnonzero(seeds & candidates)]]] = True
    out = np.zeros(h * w, bool)
    out[flat[seeded[parent]]] = True
    return out.reshape(h, w)


def canny(image: np.ndarray, low: float, high: float) -> np.ndarray:
    """uint8 (H, W) or (H, W, C) -> bool edges, as cv2.Canny(image, low, high) (3x3 Sobel, L1).

    Per pixel the channel with the largest |dx| + |dy| (the first on ties) gives the gradient.
    Non-maximum suppression along the gradient's octant (tan 22.5 deg in 15-bit fixed point:
    horizontal neighbours for |dy| < 0.4142 |dx|, vertical ones above 2.4142 |dx|, else the
    diagonal the signs point along), magnitude above floor(low) to be a candidate, above
    floor(high) to seed; the edges are the candidates 8-connected to a seed.
    """
    low, high = sorted((low, high))
    low, high = math.floor(low), math.floor(high)
    dx, dy = _sobel(image)
    mag = np.abs(dx) + np.abs(dy)
    if image.ndim == 3:
        best = np.argmax(mag, axis=2)[..., None]  # the first channel on ties
        dx = np.take_along_axis(dx, best, 2)[..., 0]
        dy = np.take_along_axis(dy, best, 2)[..., 0]
        mag = np.take_along_axis(mag, best, 2)[..., 0]
    h, w = mag.shape
    m = np.pad(mag, 1)  # magnitude outside the image: 0
    y, x = np.nonzero(mag > low)  # only these can be edges
    y1, x1 = y + 1, x + 1  # in the padded image
    centre = m[y1, x1]
    gx, gy = dx[y, x].astype(np.int64), dy[y, x].astype(np.int64)
    ax, ay = np.abs(gx), np.abs(gy) << 15
    tg22 = ax * 13573
    horizontal = ay < tg22
    vertical = ~horizontal & (ay > tg22 + (ax << 16))
    s = np.where((gx ^ gy) < 0, -1, 1)
    # neighbours before / after along the octant: (row, column) offsets
    oy = np.where(horizontal, 0, -1)
    ox = np.where(horizontal, -1, np.where(vertical, 0, -s))
    before, after = m[y1 + oy, x1 + ox], m[y1 - oy, x1 - ox]
    diagonal = ~horizontal & ~vertical
    local_max = (centre > before) & np.where(diagonal, centre > after, centre >= after)
    candidates = np.zeros((h, w), bool)
    seeds = np.zeros((h, w), bool)
    candidates[y[local_max], x[local_max]] = True
    seeds[y[local_max], x[local_max]] = centre[local_max] > high
    return _components_with_seeds(candidates, seeds)


def _short_side_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """(w, h) with the short side `short_side`, the other rounded (numpy's round: half to even)."""
    k = short_side / min(width, height)
    return int(np.round(width * k)), int(np.round(height * k))


def canny_edges(rgb: np.ndarray, settings=None) -> np.ndarray:
    """uint8 RGB frames (F, H, W, 3) -> uint8 edge frames (F, h, w, 3), 255 on 0, by `settings`.

    With a `short_side` (the Union 2.3 preset, comfyui_controlnet_aux's Canny preprocessor): each RGB
    frame is resized so its short side is that (area averaging down, bicubic up, the other side
    rounded), padded right and bottom to multiples of 64 by repeating the edge pixels, Canny runs
    on the colour image (per pixel the channel with the strongest gradient), and the padding is cut
    off again: the result has the resized size. Without one (the trainer): Canny of the greyscale
    frame at its own size.
    """
    cfg = canny_settings(settings)
    frames = np.asarray(rgb)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise UserError(f"rgb: expected uint8 frames (F, H, W, 3), got {frames.dtype} {frames.shape}", "rgb")
    f, h, w = frames.shape[:3]
    size = (w, h) if cfg["short_side"] is None else _short_side_size(w, h, cfg["short_side"])
    out = np.zeros((f, size[1], size[0], 3), np.uint8)
    for i in range(f):
        if cfg["short_side"] is None:
            edges = canny(rgb_to_grey(frames[i]), cfg["low"], cfg["high"])
        else:
            resize = resize_area if size[0] * size[1] < w * h else resize_cubic
            img = resize(frames[i], *size)
            pad_h, pad_w = -size[1] % 64, -size[0] % 64
            img = np.pad(img, [(0, pad_h), (0, pad_w), (0, 0)], mode="edge")
            edges = canny(img, cfg["low"], cfg["high"])[: size[1], : size[0]]
        out[i][edges] = 255
    return out
