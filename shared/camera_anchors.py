"""Camera motion as motion tracks: anchor points on static geometry, tracked while the camera moves.

The motion-track IC-LoRA follows circle trails, and a camera move reads to it as the image-space
motion of static things. So "camera anchors" are points on the static geometry the camera sees:
seeded where rays from the camera over a pixel grid hit static objects, projected every frame, and
kept as tracks in the tracks format (`tracks_json.py`, `raster/tracks.py`). This file holds the
bookkeeping, numpy only; casting the rays and projecting the points is the caller's (in Blender:
`blender_addon/capture/camera_anchors.py`).

Rules:
- A track lives on a contiguous run of frames. It **ends** at the first frame where its point
  leaves the frame (outside 0 <= x < W, 0 <= y < H), goes behind the camera, or is hidden by
  something in front of it, and never resumes (a new anchor may be seeded there later). Frames
  before its start and after its end are written the tracks format's way: not visible, at
  `OFF_CANVAS` (the Draw Tracks node has no visibility flag; a shorter track just stops).
- **Count** N: at most N anchors are live at any frame. **Spacing** s (pixels): a new anchor is
  at least s from every live anchor and from the other new ones. 0 picks it from N and the frame:
  `AUTO_SPACING * sqrt(W * H / N)`, which gives a grid of about 2N candidate cells, so that N
  anchors fit even where part of the frame shows no static geometry (sky, moving objects).
- **Seeding**: candidates are the centres of a grid of cells at least s wide covering the frame.
  A cell is open (the frame has emptied there) when no live anchor is within s of its centre. The
  caller casts rays through the open cells' centres; of those that hit static geometry, seeds are
  picked greedily farthest-first (each next seed is the candidate farthest from every live anchor
  and every seed picked so far, ties to the earlier cell in row-major order) until N are live.
  Frame 0 always seeds; later frames seed only with **reseeding** on (the default), so that
  anchors come in where the move uncovers new ground.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from .errors import UserError
from .tracks_json import OFF_CANVAS

DEFAULT_COUNT = 64  # anchors when the option is switched on without a count
MAX_COUNT = 4096
AUTO_SPACING = 0.7  # auto spacing = AUTO_SPACING * sqrt(W * H / N): about 2N grid cells
MIN_SPACING = 4.0  # pixels: a finer grid would cast a ray every few pixels for no visible gain
MAX_CELLS = 65536


@dataclass(frozen=True)
class AnchorRules:
    """The resolved settings for one capture: count, spacing in pixels, reseeding."""

    count: int
    spacing: float
    reseed: bool


def anchor_rules(count, spacing, reseed: bool, width: int, height: int) -> AnchorRules:
    """Check the user's settings and resolve the automatic spacing (0) for a `width x height` frame."""
    if isinstance(count, bool) or not isinstance(count, numbers.Integral) or not 1 <= count <= MAX_COUNT:
        raise UserError(
            f"camera_anchors: expected a whole number of anchors from 1 to {MAX_COUNT} (0 switches them off), "
            f"got {count!r}",
            "camera_anchors",
        )
    if isinstance(spacing, bool) or not isinstance(spacing, numbers.Real) or not math.isfinite(spacing):
        raise UserError(
            f"anchor_spacing: expected a number of pixels (0: automatic), got {spacing!r}", "anchor_spacing"
        )
    spacing = float(spacing)
    if spacing == 0.0:
        spacing = max(MIN_SPACING, AUTO_SPACING * math.sqrt(width * height / int(count)))
    elif spacing < MIN_SPACING:
        raise UserError(
            f"anchor_spacing: {spacing:g} px is below the minimum of {MIN_SPACING:g} px; "
            "use a larger spacing, or 0 for the automatic one",
            "anchor_spacing",
        )
    cells = _cells(width, spacing) * _cells(height, spacing)
    if cells > MAX_CELLS:  # only reachable for huge frames: MIN_SPACING bounds it for ordinary sizes
        raise UserError(
            f"anchor_spacing: {spacing:g} px makes {cells} grid cells over {width}x{height} (at most {MAX_CELLS}); "
            "use a larger spacing",
            "anchor_spacing",
        )
    return AnchorRules(int(count), spacing, bool(reseed))


def _cells(size: int, spacing: float) -> int:
    return max(1, int(size // spacing))


def candidate_grid(width: int, height: int, spacing: float) -> np.ndarray:
    """(K, 2) float64 pixel centres of a grid of cells at least `spacing` wide covering the frame,
    row-major (top row first, left to right)."""
    nx, ny = _cells(width, spacing), _cells(height, spacing)
    xs = (np.arange(nx) + 0.5) * (width / nx)
    ys = (np.arange(ny) + 0.5) * (height / ny)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def on_frame(px, width: int, height: int) -> np.ndarray:
    """(N,) bool: the (N, 2) pixels lie on the frame (0 <= x < W, 0 <= y < H)."""
    px = np.asarray(px, np.float64).reshape(-1, 2)
    return (px[:, 0] >= 0) & (px[:, 0] < width) & (px[:, 1] >= 0) & (px[:, 1] < height)


def _nearest(points: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Distance from each of `points` (K, 2) to its nearest of `others` (M, 2); inf when M = 0."""
    if not len(others):
        return np.full(len(points), np.inf)
    d = points[:, None, :] - others[None, :, :]
    return np.sqrt((d * d).sum(axis=2)).min(axis=1)


def open_cells(grid: np.ndarray, live_px: np.ndarray, spacing: float) -> np.ndarray:
    """Indices of the grid cells where the frame has emptied: no live anchor within `spacing` of the
    centre. In row-major order."""
    live_px = np.asarray(live_px, np.float64).reshape(-1, 2)
    return np.flatnonzero(_nearest(np.asarray(grid, np.float64), live_px) >= spacing)


def pick_seeds(seed_px, live_px, quota: int, spacing: float) -> np.ndarray:
    """Indices into `seed_px` (K, 2) of at most `quota` new anchors: farthest-first from the live
    anchors and the seeds already picked, each at least `spacing` from all of them (ties: lower index)."""
    seed_px = np.asarray(seed_px, np.float64).reshape(-1, 2)
    live_px = np.asarray(live_px, np.float64).reshape(-1, 2)
    gap = _nearest(seed_px, live_px)
    picked: list[int] = []
    while len(picked) < quota and len(seed_px):
        best = int(np.argmax(gap))  # the first maximum: ties go to the lower index
        if not gap[best] >= spacing:
            break
        picked.append(best)
        d = seed_px - seed_px[best]
        gap = np.minimum(gap, np.sqrt((d * d).sum(axis=1)))
        gap[best] = -np.inf
    return np.asarray(picked, np.int64)


class _Track:
    __slots__ = ("serial", "world", "start", "px")

    def __init__(self, serial: int, world: np.ndarray, start: int, px: np.ndarray):
        self.serial = serial  # creation order
        self.world = world
        self.start = start
        self.px = [px]


class AnchorTracker:
    """The anchors of one capture, frame by frame. Per frame index i, in this order:

        live = tracker.live_world()                    # (L, 3) world points of the live anchors
        tracker.observe(i, px, in_front, seen)         # their pixels and visibility at frame i
        if tracker.wants_seeds(i):
            centres = tracker.seed_candidates()        # (K, 2) pixels of the open cells
            ...cast rays through them: world hits on static geometry, their pixels...
            tracker.add_seeds(i, world, px, ok)

    then `result()`. World points are whatever 3D coordinates the caller uses; the tracker only
    stores them (the points are static, so a point's world position is fixed).
    """

    def __init__(self, rules: AnchorRules, width: int, height: int, frame_count: int):
        self.rules = rules
        self.width, self.height = int(width), int(height)
        self.frame_count = int(frame_count)
        self.grid = candidate_grid(self.width, self.height, rules.spacing)
        self.live: list[_Track] = []
        self.ended: list[_Track] = []
        self._frame = -1  # the last frame observed
        self._started = 0  # anchors started so far

    def live_world(self) -> np.ndarray:
        return np.array([t.world for t in self.live], np.float64).reshape(-1, 3)

    def live_px(self) -> np.ndarray:
        """(L, 2) pixels of the live anchors at the last observed (or seeded) frame."""
        return np.array([t.px[-1] for t in self.live], np.float64).reshape(-1, 2)

    def observe(self, index: int, px, in_front, seen) -> None:
        """Record frame `index` of every live anchor; end those off the frame, behind the camera or hidden.

        `px` (L, 2) pixels, `in_front` (L,) bool, `seen` (L,) bool (not hidden by anything), for the
        live anchors in the order of `live_world()`.
        """
        if index != self._frame + 1:
            raise ValueError(f"frames must be observed in order: expected {self._frame + 1}, got {index}")
        self._frame = index
        n = len(self.live)
        px = np.asarray(px, np.float64).reshape(-1, 2)
        in_front = np.asarray(in_front, bool).reshape(-1)
        seen = np.asarray(seen, bool).reshape(-1)
        if not (len(px) == len(in_front) == len(seen) == n):
            raise ValueError(f"observe: expected {n} live anchors, got {len(px)}, {len(in_front)}, {len(seen)}")
        keep = in_front & seen & on_frame(px, self.width, self.height) if n else np.zeros(0, bool)
        still = []
        for track, p, ok in zip(self.live, px, keep):
            if ok:
                track.px.append(p.copy())
                still.append(track)
            else:
                self.ended.append(track)
        self.live = still

    def wants_seeds(self, index: int) -> bool:
        return (index == 0 or self.rules.reseed) and len(self.live) < self.rules.count

    def seed_candidates(self) -> np.ndarray:
        """(K, 2) pixel centres of the open cells, where rays should be cast for new anchors."""
        return self.grid[open_cells(self.grid, self.live_px(), self.rules.spacing)]

    def add_seeds(self, index: int, world, px, ok) -> int:
        """Start anchors at frame `index` from ray hits: `world` (K, 3) hit points, `px` (K, 2) their
        projected pixels, `ok` (K,) the ray hit static geometry in front of the camera. Hits off the
        frame are dropped; the rest are picked by `pick_seeds`. Returns how many started."""
        if index != self._frame:
            raise ValueError(f"add_seeds: frame {index} has not been observed (last observed: {self._frame})")
        world = np.asarray(world, np.float64).reshape(-1, 3)
        px = np.asarray(px, np.float64).reshape(-1, 2)
        ok = np.asarray(ok, bool).reshape(-1)
        if not (len(world) == len(px) == len(ok)):
            raise ValueError(f"add_seeds: {len(world)} points, {len(px)} pixels, {len(ok)} flags")
        usable = ok & on_frame(px, self.width, self.height)
        usable &= np.isfinite(world).all(axis=1) & np.isfinite(px).all(axis=1)
        where = np.flatnonzero(usable)
        quota = self.rules.count - len(self.live)
        chosen = where[pick_seeds(px[where], self.live_px(), quota, self.rules.spacing)]
        for k in chosen:
            self.live.append(_Track(self._started, world[k].copy(), index, px[k].copy()))
            self._started += 1
        return len(chosen)

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(world (T, 3) float64, points (T, F, 2) float32, visible (T, F) bool), tracks in the order
        they started (then by seed order). Hidden frames hold `OFF_CANVAS`."""
        tracks = sorted(self.ended + self.live, key=lambda t: t.serial)
        f = self.frame_count
        world = np.array([t.world for t in tracks], np.float64).reshape(-1, 3)
        points = np.full((len(tracks), f, 2), OFF_CANVAS, np.float32)
        visible = np.zeros((len(tracks), f), bool)
        for i, t in enumerate(tracks):
            run = np.array(t.px, np.float64)[: f - t.start]
            points[i, t.start : t.start + len(run)] = run
            visible[i, t.start : t.start + len(run)] = True
        return world, points, visible
