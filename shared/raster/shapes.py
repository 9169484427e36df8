"""Integer drawing with OpenCV's pixel rules, in pure numpy (shared/ runs inside Blender: no OpenCV).

The DWPose drawer that made Union Control's pose training data draws with OpenCV's integer
primitives; a skeleton only looks like the training data when the same pixels light up. The rules
reproduced here (from OpenCV's documented algorithms; the tests compare them with `cv2`):

- lines (`line_pixels`): 8-connected Bresenham between integer end points, walked from the left
  end point; step k along the major axis moves ceil(k * minor / major - 1/2) along the minor axis.
- sub-pixel lines (`subpixel_line_pixels`, end points in 16.16 fixed point): from the end with the
  smaller major coordinate, one pixel per whole major step, each pixel the position rounded half
  up, the minor coordinate stepping by the slope rounded towards zero to 1/65536.
- convex polygons (`convex_polygon_pixels`): the outline (lines between the vertices) plus, on every
  row, everything between the outline and the scanline crossings: each non-horizontal edge crosses
  the rows from its upper vertex's row (rounded half up) to the row before its lower vertex's row,
  starting at the upper vertex's x and stepping by its slope in 16.16; a crossing x becomes the
  pixel floor(x + 1/2). The bottom row is outline only.
- ellipse polygons (`ellipse_polygons`): integer centre, integer semi-axes, angle in whole degrees;
  one vertex per degree from 0 to 360 from a float32 sine table (cos k = sin(90 + k)), each vertex
  centre + rotated point rounded half to even, repeated consecutive vertices dropped.
- filled circles (`disc_pixels`) of integer radius r around an integer centre: every pixel with
  dx^2 + dy^2 <= r^2 (what OpenCV's midpoint circle gives for the radii drawn here, 1 to 4).
- 2 px lines (`thick_line_pixels`, `cv2.line(..., thickness=2)`): the rectangle of the end points
  +- the unit normal (rounded to 1/65536) filled as a convex polygon with sub-pixel corners, plus a
  radius-1 circle (a plus sign) on each end point.

Every function takes many shapes at once and returns (xs, ys, shape index) of their pixels, so a
whole frame is a handful of numpy expressions; `paint` then writes them in draw order (a later
shape covers an earlier one, no blending) and drops what is off the canvas.
"""

from __future__ import annotations

import numpy as np

ONE, HALF = 1 << 16, 1 << 15  # 16.16 fixed point
# float32 sin(k degrees), k = 0..450, as OpenCV's table holds it
_SIN_TABLE = np.sin(np.deg2rad(np.arange(451, dtype=np.float64))).astype(np.float32).astype(np.float64)
_DEGREES = np.arange(361)
_I64 = np.int64


def _ints(*arrays):
    return tuple(np.atleast_1d(np.asarray(a, _I64)).ravel() for a in arrays)


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For items with `counts`: (item index, step within the item) of every step."""
    counts = np.asarray(counts, _I64)
    item = np.repeat(np.arange(len(counts)), counts)
    step = np.arange(int(counts.sum()), dtype=_I64) - np.repeat(np.cumsum(counts) - counts, counts)
    return item, step


def _cdiv(a, b):
    """C integer division (rounds towards zero), b > 0."""
    return np.sign(a) * (np.abs(a) // b)


def line_pixels(x0, y0, x1, y1):
    """8-connected pixels of segments between integer points: (xs, ys, segment index)."""
    x0, y0, x1, y1 = _ints(x0, y0, x1, y1)
    swap = x1 < x0  # walk from the left end point
    sx, sy = np.where(swap, x1, x0), np.where(swap, y1, y0)
    dx = np.abs(x1 - x0)
    dy = np.where(swap, y0 - y1, y1 - y0)
    ady, ysign = np.abs(dy), np.where(dy < 0, -1, 1)
    y_major = ady > dx
    major, minor = np.where(y_major, ady, dx), np.where(y_major, dx, ady)
    seg, k = _expand(major + 1)
    n = -((major[seg] - 2 * minor[seg] * k) // (2 * np.maximum(major[seg], 1)))  # ceil(k m/M - 1/2)
    ym = y_major[seg]
    return sx[seg] + np.where(ym, n, k), sy[seg] + ysign[seg] * np.where(ym, k, n), seg


def subpixel_line_pixels(x0, y0, x1, y1):
    """Pixels of segments between 16.16 fixed-point end points: (xs, ys, segment index)."""
    x0, y0, x1, y1 = _ints(x0, y0, x1, y1)
    x_major = np.abs(x1 - x0) > np.abs(y1 - y0)
    a0, a1 = np.where(x_major, x0, y0), np.where(x_major, x1, y1)  # major axis
    b0, b1 = np.where(x_major, y0, x0), np.where(x_major, y1, x1)  # minor axis
    swap = a1 < a0
    a0, a1, b0, b1 = np.where(swap, a1, a0), np.where(swap, a0, a1), np.where(swap, b1, b0), np.where(swap, b0, b1)
    slope = _cdiv((b1 - b0) * ONE, (a1 - a0) | 1)
    seg, k = _expand(((a1 - a0) >> 16) + 1)
    a = (a0[seg] + HALF + k * ONE) >> 16
    b = (b0[seg] + HALF + k * slope[seg]) >> 16
    xm = x_major[seg]
    return np.where(xm, a, b), np.where(xm, b, a), seg


def ellipse_polygons(cx, cy, semi_major, semi_minor, angle_deg):
    """Vertices of OpenCV's ellipse polygons: (vx, vy, polygon index), integers, grouped by polygon."""
    cx, cy, semi_major, semi_minor, angle = _ints(cx, cy, semi_major, semi_minor, angle_deg)
    angle = angle % 360
    cos_a, sin_a = _SIN_TABLE[450 - angle][:, None], _SIN_TABLE[angle][:, None]
    x = semi_major[:, None] * _SIN_TABLE[450 - _DEGREES][None, :]
    y = semi_minor[:, None] * _SIN_TABLE[_DEGREES][None, :]
    px = np.rint(cx[:, None] + x * cos_a - y * sin_a).astype(_I64)
    py = np.rint(cy[:, None] + x * sin_a + y * cos_a).astype(_I64)
    keep = np.ones(px.shape, bool)
    keep[:, 1:] = (px[:, 1:] != px[:, :-1]) | (py[:, 1:] != py[:, :-1])
    poly = np.broadcast_to(np.arange(len(cx))[:, None], px.shape)
    return px[keep], py[keep], poly[keep]


def _previous_vertex(poly: np.ndarray) -> np.ndarray:
    """Index of each vertex's predecessor in its (closed) polygon; vertices grouped by polygon."""
    prev = np.arange(len(poly)) - 1
    starts = np.flatnonzero(np.r_[True, poly[1:] != poly[:-1]])
    ends = np.r_[starts[1:], len(poly)] - 1
    prev[starts] = ends
    return prev


def _scanline_crossings(vx, vy, poly):
    """(rows, x pixels, polygon) where the polygons' edges cross rows; vertices in 16.16."""
    prev = _previous_vertex(poly)
    wx, wy = vx[prev], vy[prev]
    down = vy >= wy
    top_x, bot_x = np.where(down, wx, vx), np.where(down, vx, wx)
    top_r = (np.where(down, wy, vy) + HALF) >> 16
    n = ((np.where(down, vy, wy) + HALF) >> 16) - top_r
    keep = n > 0
    top_x, bot_x, top_r, n, poly = top_x[keep], bot_x[keep], top_r[keep], n[keep], poly[keep]
    step = _cdiv((bot_x - top_x) * 2 + n, 2 * n)
    edge, k = _expand(n)
    return top_r[edge] + k, (top_x[edge] + k * step[edge] + HALF) >> 16, poly[edge]


def convex_polygon_pixels(vx, vy, poly, outline_x, outline_y, outline_poly):
    """Filled convex polygons: vertices (16.16) grouped by polygon, and their outline pixels.

    Returns (xs, ys, polygon index): on every row of a polygon, every pixel from the leftmost to
    the rightmost of its outline pixels and scanline crossings.
    """
    rows, cols, cpoly = _scanline_crossings(vx, vy, poly)
    xs, ys = np.concatenate([outline_x, cols]), np.concatenate([outline_y, rows])
    ps = np.concatenate([outline_poly, cpoly])
    if not len(xs):
        return xs, ys, ps
    y_lo = ys.min()
    key = ps * (int(ys.max() - y_lo) + 1) + (ys - y_lo)
    uniq, inverse = np.unique(key, return_inverse=True)
    left = np.full(len(uniq), np.iinfo(_I64).max)
    right = np.full(len(uniq), np.iinfo(_I64).min)
    np.minimum.at(left, inverse, xs)
    np.maximum.at(right, inverse, xs)
    span, k = _expand(right - left + 1)
    height = int(ys.max() - y_lo) + 1
    return left[span] + k, uniq[span] % height + y_lo, uniq[span] // height


def limb_pixels(cx, cy, semi_major, semi_minor, angle_deg):
    """Ellipse polygons filled with their outline (DWPose limbs): (xs, ys, limb index)."""
    vx, vy, poly = ellipse_polygons(cx, cy, semi_major, semi_minor, angle_deg)
    prev = _previous_vertex(poly)
    ox, oy, seg = line_pixels(vx[prev], vy[prev], vx, vy)
    return convex_polygon_pixels(vx << 16, vy << 16, poly, ox, oy, poly[seg])


def disc_pixels(cx, cy, radius: int):
    """Filled circles of one integer radius around integer centres: (xs, ys, circle index)."""
    cx, cy = _ints(cx, cy)
    r = int(radius)
    d = np.arange(-r, r + 1)
    dy, dx = np.meshgrid(d, d, indexing="ij")
    inside = dx * dx + dy * dy <= r * r
    dx, dy = dx[inside], dy[inside]
    idx = np.repeat(np.arange(len(cx)), len(dx))
    return (cx[:, None] + dx).ravel(), (cy[:, None] + dy).ravel(), idx


def thick_line_pixels(x0, y0, x1, y1):
    """`cv2.line(..., thickness=2)` between integer points: (xs, ys, line index)."""
    x0, y0, x1, y1 = _ints(x0, y0, x1, y1)
    vx, vy = (x0 - x1).astype(np.float64), (y1 - y0).astype(np.float64)
    length_sq = vx * vx + vy * vy
    has_body = length_sq > 0
    r = np.where(has_body, ONE / np.sqrt(np.where(has_body, length_sq, 1.0)), 0.0)
    px, py = np.rint(vy * r).astype(_I64), np.rint(vx * r).astype(_I64)
    fx0, fy0, fx1, fy1 = x0 << 16, y0 << 16, x1 << 16, y1 << 16
    lines = np.flatnonzero(has_body)
    # corners per line: p0 + n, p0 - n, p1 - n, p1 + n
    cx = np.stack([fx0 + px, fx0 - px, fx1 - px, fx1 + px], 1)[lines].ravel()
    cy = np.stack([fy0 + py, fy0 - py, fy1 - py, fy1 + py], 1)[lines].ravel()
    cpoly = np.repeat(lines, 4)
    prev = _previous_vertex(cpoly)
    ox, oy, seg = subpixel_line_pixels(cx[prev], cy[prev], cx, cy)
    rx, ry, rp = convex_polygon_pixels(cx, cy, cpoly, ox, oy, cpoly[seg])
    n = len(x0)
    ex, ey, ep = disc_pixels(np.r_[x0, x1], np.r_[y0, y1], 1)
    return np.r_[rx, ex], np.r_[ry, ey], np.r_[rp, ep % n]


def paint(canvas: np.ndarray, xs, ys, order, colours, labels: np.ndarray | None = None) -> None:
    """Write pixels onto an (H, W, C) canvas in increasing `order` (a later shape covers an earlier
    one); pixels of one order value must share one colour.

    The pixels are sorted by order (stably) and their order values written into a label image with
    one 1-D assignment, which numpy performs in index order, so the last (highest) order stays.
    `labels`: an int array of H * W values to reuse between frames (its contents do not matter).
    """
    if not canvas.flags.c_contiguous:
        raise ValueError("paint: the canvas must be C-contiguous (it is written through a flat view)")
    h, w = canvas.shape[:2]
    ok = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
    order = np.asarray(order, _I64)[ok]
    if not len(order):
        return
    # 16-bit keys let numpy's stable sort use radix sort (about 4x faster for these sizes)
    keys = order.astype(np.uint16) if order.min() >= 0 and order.max() < 1 << 16 else order
    by_order = np.argsort(keys, kind="stable")
    flat = (ys[ok] * w + xs[ok])[by_order]
    order = order[by_order]
    first = np.flatnonzero(np.r_[True, order[1:] != order[:-1]])  # one pixel per order value
    lut = np.zeros((int(order[-1]) + 1, canvas.shape[-1]), canvas.dtype)
    lut[order[first]] = np.asarray(colours)[ok][by_order[first]]
    if labels is None:
        labels = np.empty(h * w, _I64)
    labels[flat] = order
    winner = lut[labels[flat]]
    pixels = canvas.reshape(-1)  # channel by channel: 1-D writes are fastest
    channels = canvas.shape[-1]
    for c in range(channels):
        pixels[flat * channels + c] = winner[:, c]
