"""Motion-track control video: colour-ramped circle trails, pixel-exact to ComfyUI-LTXVideo's
Draw Tracks node (the convention the Motion-Track-Control IC-LoRA was trained on).

Per output frame t (as the node's source code does it):
1. Canvas with a 1080 px short side: h <= w -> (rw, rh) = (int(w*1080/h), 1080), else
   (1080, int(h*1080/w)). Points are scaled by sx = rw/w, sy = rh/h (the product taken in float64,
   then stored as float32, as the node does) and rounded half to even to the circle centres.
2. Fresh black canvas. For each track the positions tau = max(0, t-50) .. t, age a = t - tau,
   s = 1 - a/50 (float32), radius r = 2 + 6s: 8 px for the newest point, 2 px at age 50.
3. Colour (RGB, float32): s <= 1/3: (0, 3s, 1-3s); s <= 2/3: (3(s-1/3), 1, 0); else (1, 1-3(s-2/3), 0).
4. Filled aliased circles: offsets (dx, dy) in -9..9 with dx^2 + dy^2 <= r^2, clipped to the canvas;
   where circles overlap the newest (smallest age) wins, no blending. Points whose `visible` is
   False are not drawn (a track that ends keeps ageing its trail, without a head).
5. Bilinear resize to (H, W), align_corners=False, no antialias (torch's F.interpolate, see
   raster/bilinear.py), 6. channel swap RGB -> BGR: the newest point is pure blue (0, 0, 1) in the
   final image, the trail runs cyan, green, yellow to red at age 50.

Speed: the 1080p canvas is never resized whole. Circles cover a small part of it, and an output
pixel reads only 2 source rows and 2 source columns, so each frame is resized only where its
4 source taps can hold content (bands of output rows, the touched columns inside each band).
Zero taps add exactly nothing, so this is bit-identical to resizing the whole canvas.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator

import numpy as np

from ..errors import UserError
from .bilinear import bilinear_2x2, bilinear_taps, small_output

REF_SHORT_SIDE = 1080
MIN_RADIUS = 2
MAX_RADIUS = 8
MAX_TRAIL = 50  # ages 0..50: up to 51 positions per track
HALF_WINDOW = MAX_RADIUS + 1  # circle offsets -9..9 (a 19 x 19 template)
MAX_CANVAS_PIXELS = 64 * 1024 * 1024
_EMPTY = MAX_TRAIL + 1  # label of an empty canvas pixel (colour 0)
_BAND = 64  # output rows per band of the sparse resize


def render_size(width: int, height: int, short_side: int = REF_SHORT_SIDE) -> tuple[int, int, float, float]:
    """(rw, rh, sx, sy): the canvas the node draws on and the point scale factors."""
    if height <= width:
        rw, rh = int(width * short_side / height), short_side
    else:
        rw, rh = short_side, int(height * short_side / width)
    return rw, rh, rw / width, rh / height


def age_ramp() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(s, radius, rgb) per age 0..50, float32, before the BGR swap."""
    ages = np.arange(MAX_TRAIL + 1, dtype=np.float32)
    s = (np.float32(1) - ages / np.float32(MAX_TRAIL)).astype(np.float32)
    radius = (np.float32(MIN_RADIUS) + np.float32(MAX_RADIUS - MIN_RADIUS) * s).astype(np.float32)
    third, two_thirds, three = np.float32(1 / 3), np.float32(2 / 3), np.float32(3)
    rgb = np.zeros((len(s), 3), np.float32)
    m1 = s <= third
    m2 = (s > third) & (s <= two_thirds)
    m3 = s > two_thirds
    rgb[m1, 1] = s[m1] * three
    rgb[m1, 2] = np.float32(1) - s[m1] * three
    rgb[m2, 0] = (s[m2] - third) * three
    rgb[m2, 1] = 1
    rgb[m3, 0] = 1
    rgb[m3, 1] = np.float32(1) - (s[m3] - two_thirds) * three
    return s, radius, rgb


def circle_offsets(radius: np.float32) -> tuple[np.ndarray, np.ndarray]:
    """(dy, dx) int64 offsets of a filled circle: dx^2 + dy^2 <= r^2 in float32, |d| <= 9."""
    d = np.arange(-HALF_WINDOW, HALF_WINDOW + 1)
    dy, dx = np.meshgrid(d, d, indexing="ij")
    dist_sq = (dy.astype(np.float32) ** 2 + dx.astype(np.float32) ** 2).astype(np.float32)
    r = np.float32(radius)
    inside = dist_sq <= r * r
    return dy[inside], dx[inside]


def _check_inputs(points, visible, width, height):
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= 8192:
            raise UserError(f"{name}: expected an integer from 1 to 8192 pixels, got {value!r}", name)
    points = np.asarray(points)
    if points.ndim != 3 or points.shape[2] != 2 or not np.issubdtype(points.dtype, np.number):
        raise UserError(f"tracks: expected points of shape (N, F, 2), got {points.shape} {points.dtype}", "tracks")
    n, f = points.shape[:2]
    if visible is None:
        visible = np.ones((n, f), bool)
    visible = np.asarray(visible)
    if visible.shape != (n, f) or visible.dtype != bool:
        raise UserError(
            f"tracks_visible: expected a bool array of shape ({n}, {f}), got {visible.shape} {visible.dtype}",
            "tracks_visible",
        )
    pts = points.astype(np.float64)
    if not np.isfinite(pts[visible]).all():
        raise UserError("tracks: visible points must be finite numbers (pixels)", "tracks")
    rw, rh, _, _ = render_size(int(width), int(height))
    if rw * rh > MAX_CANVAS_PIXELS:
        raise UserError(
            f"size: {width}x{height} is too elongated for the 1080 px track canvas ({rw}x{rh}); "
            f"keep the aspect ratio within about 50:1",
            "size",
        )
    return pts, visible


def _reader_ranges(in_size: int, i0: np.ndarray, i1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each source index y: (first output index reading any source >= y, last reading any <= y).

    The output indices that read a source interval [a, b] lie within [first[a], last[b]] (empty
    when first > last), because the taps grow monotonically with the output index.
    """
    out = np.arange(len(i0))
    first = np.full(in_size, len(i0), np.int64)
    last = np.full(in_size, -1, np.int64)
    for taps in (i0, i1):
        np.minimum.at(first, taps, out)
        np.maximum.at(last, taps, out)
    first = np.minimum.accumulate(first[::-1])[::-1]
    last = np.maximum.accumulate(last)
    return first, last


def _cover(lo: np.ndarray, hi: np.ndarray, size: int) -> np.ndarray:
    """Boolean mask of length `size`: True inside any closed interval [lo_i, hi_i]."""
    ok = lo <= hi
    diff = np.bincount(lo[ok], minlength=size + 1) - np.bincount(hi[ok] + 1, minlength=size + 1)
    return np.cumsum(diff[:size]) > 0


class _TrackRenderer:
    """Draws one frame at a time; holds the canvas label map and the resize taps."""

    def __init__(self, points: np.ndarray, visible: np.ndarray, width: int, height: int):
        self.width, self.height = width, height
        self.rw, self.rh, sx, sy = render_size(width, height)
        self.frames = points.shape[1]
        # centres as the node computes them: float64 product -> float32 -> round half to even
        scaled = np.empty(points.shape, np.float32)
        with np.errstate(over="ignore"):  # beyond float32: inf, clamped below
            scaled[..., 0] = points[..., 0] * sx
            scaled[..., 1] = points[..., 1] * sy
        # (clamped far off the canvas first so absurd coordinates cannot overflow int64)
        scaled = np.clip(np.where(visible[..., None], scaled, 0), -1e9, 1e9)
        centres = np.rint(scaled).astype(np.int64)
        self.centres = [centres[visible[:, tau], tau] for tau in range(self.frames)]  # (M, 2) x, y
        _, radius, rgb = age_ramp()
        self.offsets = [circle_offsets(r) for r in radius]
        self.extent = [int(np.abs(dx).max()) for _, dx in self.offsets]
        table = np.zeros((_EMPTY + 1, 3), np.float32)
        table[:_EMPTY] = rgb[:, ::-1]  # BGR, as the node's final channel swap
        self.table = table
        self.labels = np.full((self.rh, self.rw), _EMPTY, np.uint8)
        self.y0, self.y1, self.h0, self.h1 = bilinear_taps(self.rh, height)
        self.x0, self.x1, self.w0, self.w1 = bilinear_taps(self.rw, width)
        self.small = small_output(height, width)
        self.row_first, self.row_last = _reader_ranges(self.rh, self.y0, self.y1)
        self.col_first, self.col_last = _reader_ranges(self.rw, self.x0, self.x1)

    def stamp(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Draw frame t's circles into the label map (oldest first); return their (cy, cx, extent)."""
        cys, cxs, exts = [], [], []
        for age in range(min(t, MAX_TRAIL), -1, -1):
            c = self.centres[t - age]
            if not len(c):
                continue
            dy, dx = self.offsets[age]
            py = (c[:, 1:2] + dy).ravel()
            px = (c[:, 0:1] + dx).ravel()
            keep = (py >= 0) & (py < self.rh) & (px >= 0) & (px < self.rw)
            self.labels[py[keep], px[keep]] = age  # newer ages are written later and win
            cys.append(c[:, 1])
            cxs.append(c[:, 0])
            exts.append(np.full(len(c), self.extent[age]))
        if not cys:
            return (np.zeros(0, np.int64),) * 3
        return np.concatenate(cys), np.concatenate(cxs), np.concatenate(exts)

    def patches(self, t: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Yield (row indices, column indices, values (K, 3) float32): every non-zero pixel of frame t.

        Works on the circles' bounding boxes: the output rows / columns whose taps can read a box
        (a superset of the exact set; computing extra pixels is still exact), per band of rows.
        """
        cy, cx, ext = self.stamp(t)
        on = (cy + ext >= 0) & (cy - ext < self.rh) & (cx + ext >= 0) & (cx - ext < self.rw)
        if not on.any():
            return
        cy, cx, ext = cy[on], cx[on], ext[on]
        y_a = np.clip(cy - ext, 0, self.rh - 1)
        y_b = np.clip(cy + ext, 0, self.rh - 1)
        try:
            r_lo, r_hi = self.row_first[y_a], self.row_last[y_b]
            c_lo = self.col_first[np.clip(cx - ext, 0, self.rw - 1)]
            c_hi = self.col_last[np.clip(cx + ext, 0, self.rw - 1)]
            read = (r_lo <= r_hi) & (c_lo <= c_hi)
            r_lo, r_hi, c_lo, c_hi = r_lo[read], r_hi[read], c_lo[read], c_hi[read]
            if not len(r_lo):
                return
            b_lo, b_hi = r_lo // _BAND, r_hi // _BAND
            for b in np.flatnonzero(_cover(b_lo, b_hi, int(b_hi.max()) + 1)):
                sel = (b_lo <= b) & (b_hi >= b)
                rows = np.flatnonzero(_cover(r_lo[sel], r_hi[sel], self.height))
                rows = rows[(rows >= b * _BAND) & (rows < (b + 1) * _BAND)]
                cols = np.flatnonzero(_cover(c_lo[sel], c_hi[sel], self.width))
                if len(rows) and len(cols):
                    yield self._resize_patch(rows, cols)
        finally:
            self.labels[y_a.min() : y_b.max() + 1] = _EMPTY  # a clean canvas for the next frame

    def _resize_patch(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Resize the canvas at output pixels rows x cols, computing only pixels with a non-empty tap.

        Returns (row index, column index, values (K, 3) float32) of those pixels.
        """
        top = self.labels[self.y0[rows]]
        bottom = self.labels[self.y1[rows]]
        x0, x1 = self.x0[cols], self.x1[cols]
        l00, l01, l10, l11 = top[:, x0], top[:, x1], bottom[:, x0], bottom[:, x1]
        ri, ci = np.nonzero(np.minimum(np.minimum(l00, l01), np.minimum(l10, l11)) != _EMPTY)
        t = self.table
        values = bilinear_2x2(
            t[l00[ri, ci]],
            t[l01[ri, ci]],
            t[l10[ri, ci]],
            t[l11[ri, ci]],
            self.w0[cols][ci, None],
            self.w1[cols][ci, None],
            self.h0[rows][ri, None],
            self.h1[rows][ri, None],
            self.small,
        )
        return rows[ri], cols[ci], values


def _render(points, visible, width: int, height: int, out_frames, as_uint8: bool) -> None:
    pts, vis = _check_inputs(points, visible, width, height)
    renderer = _TrackRenderer(pts, vis, int(width), int(height))
    for t in range(renderer.frames):
        frame = out_frames(t)
        for rows, cols, values in renderer.patches(t):
            frame[rows, cols] = _to_uint8(values) if as_uint8 else values


def iter_track_frames(points, visible, width: int, height: int, as_uint8: bool = True) -> Iterator[np.ndarray]:
    """Yield the F frames one by one ((H, W, 3) uint8, or float32 in [0, 1] if not as_uint8)."""
    pts, vis = _check_inputs(points, visible, width, height)
    renderer = _TrackRenderer(pts, vis, int(width), int(height))
    for t in range(renderer.frames):
        frame = np.zeros((height, width, 3), np.uint8 if as_uint8 else np.float32)
        for rows, cols, values in renderer.patches(t):
            frame[rows, cols] = _to_uint8(values) if as_uint8 else values
        yield frame


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values * np.float32(255)), 0, 255).astype(np.uint8)


def draw_tracks_float(points, visible, width: int, height: int) -> np.ndarray:
    """(N, F, 2) points in output pixels (+ (N, F) visibility or None) -> (F, H, W, 3) float32 in [0, 1].

    The official node's values (before its float16 cast), in its final channel order: the newest
    point is (0, 0, 1). Memory: F * H * W * 12 bytes; use `iter_track_frames` to stream.
    """
    frames = np.asarray(points).shape[1] if np.ndim(points) == 3 else 0
    out = np.zeros((frames, height, width, 3), np.float32)
    _render(points, visible, width, height, out.__getitem__, as_uint8=False)
    return out


def draw_tracks(points, visible, width: int, height: int) -> np.ndarray:
    """Like `draw_tracks_float`, quantized to uint8 (round to nearest): (F, H, W, 3) uint8."""
    frames = np.asarray(points).shape[1] if np.ndim(points) == 3 else 0
    out = np.zeros((frames, height, width, 3), np.uint8)
    _render(points, visible, width, height, out.__getitem__, as_uint8=True)
    return out
