"""The ComfyUI "tracks" JSON that ComfyUI-LTXVideo's Draw Tracks node reads, and its spline sampler.

Format: a list of tracks, each a list of `{"x": .., "y": ..}` points, one per frame from frame 0,
in output pixels (origin top-left, y down). There is no visibility flag and no start frame: a
shorter track just stops (its trail keeps ageing with no head); a hidden point is written far off
the canvas (`OFF_CANVAS`), where its circle is clipped away.

What the official node's parser accepts, and so what `load_tracks_json` accepts:
- JSON text (or the already parsed value);
- a list of tracks, or a single track (a list of points);
- list items that are themselves JSON text (the Sparse Track Editor's output);
- tracks nested in further lists (they are collected depth-first; empty lists are skipped).
It ignores anything else silently; here anything else is refused with a message (a dict at the top,
points without numeric x and y, a track mixing points and other values). The node draws tracks in
an order that does not affect its image (circles of the same age have the same colour); tracks are
returned here in document order.

`catmull_rom` reproduces the Sparse Track Editor's sampling exactly: a uniform Catmull-Rom spline
through the keypoints, sampled evenly in keypoint-index units (details in its docstring).
"""

from __future__ import annotations

import json
import math
import numbers

import numpy as np

from .errors import UserError

OFF_CANVAS = -10000.0
# A point at or beyond this (x or y) is treated as hidden on load: it is off every canvas the node
# can draw (short side rendered at 1080 px, sizes up to 8192), so hiding it changes no pixel.
HIDDEN_LIMIT = -5000.0
MAX_JSON_CHARS = 256 * 1024 * 1024


class TracksJsonError(UserError):
    """Tracks JSON that the Draw Tracks node would not draw as intended."""

    def __init__(self, message: str):
        super().__init__(message, "tracks")


_FORMAT_HINT = 'expected a list of tracks, each a list of {"x": <pixels>, "y": <pixels>} points, one per frame'


def _is_point(obj) -> bool:
    return isinstance(obj, dict) and "x" in obj and "y" in obj


def _parse(raw) -> list[list[dict]]:
    if isinstance(raw, (bytes, bytearray)):
        raw = raw.decode("utf-8", errors="replace")
    if isinstance(raw, str):
        if len(raw) > MAX_JSON_CHARS:
            raise TracksJsonError(f"tracks: the JSON is {len(raw)} characters, above the limit of {MAX_JSON_CHARS}")
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise TracksJsonError(f"tracks: not valid JSON ({exc}); {_FORMAT_HINT}") from None
    if not isinstance(raw, list):
        raise TracksJsonError(f"tracks: the JSON is a {type(raw).__name__}; {_FORMAT_HINT}")
    items = []
    for i, item in enumerate(raw):  # list items may be JSON text (the Sparse Track Editor's output)
        if isinstance(item, str):
            try:
                item = json.loads(item)
            except json.JSONDecodeError as exc:
                raise TracksJsonError(f"tracks: item {i} is text but not valid JSON ({exc})") from None
        items.append(item)
    tracks: list[list[dict]] = []

    def collect(obj, where: str) -> None:
        if not isinstance(obj, list):
            raise TracksJsonError(f"tracks: {where} is a {type(obj).__name__}; {_FORMAT_HINT}")
        if not obj:
            return  # the node skips empty lists
        if _is_point(obj[0]):
            tracks.append(_check_track(obj, where, len(tracks)))
            return
        for j, sub in enumerate(obj):
            collect(sub, f"{where}[{j}]")

    collect(items, "the top level")
    return tracks


def _check_track(track: list, where: str, index: int) -> list:
    for f, p in enumerate(track):
        if not _is_point(p):
            raise TracksJsonError(
                f'tracks: track {index} ({where}) frame {f}: expected a point {{"x": .., "y": ..}}, got {p!r}'
            )
        for key in ("x", "y"):
            v = p[key]
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                raise TracksJsonError(
                    f"tracks: track {index} frame {f}: {key} must be a finite number of pixels, got {v!r}"
                )
    return track


def load_tracks_json(text) -> tuple[np.ndarray, np.ndarray]:
    """Parse tracks JSON -> (points (N, F, 2) float32, visible (N, F) bool).

    F is the longest track's length; frames past a track's end are not visible (points 0, 0), and
    points at or beyond `HIDDEN_LIMIT` (the off-canvas convention) are marked not visible.
    """
    tracks = _parse(text)
    n = len(tracks)
    f = max((len(t) for t in tracks), default=0)
    points = np.zeros((n, f, 2), np.float32)
    visible = np.zeros((n, f), bool)
    for i, track in enumerate(tracks):
        xy = np.array([[p["x"], p["y"]] for p in track], np.float64)
        points[i, : len(track)] = xy
        visible[i, : len(track)] = (xy > HIDDEN_LIMIT).all(axis=1)
    points[~visible] = 0.0
    return points, visible


def _number(v: np.float32):
    v = float(v)
    return int(v) if v.is_integer() and abs(v) < 2**53 else float(str(np.float32(v)))


def dump_tracks_json(points, visible=None) -> str:
    """(N, F, 2) points (+ (N, F) visibility) -> tracks JSON the Draw Tracks node draws identically.

    Hidden points are written at `OFF_CANVAS`; hidden frames at a track's end are dropped (the
    track just stops, its trail keeps ageing), except that the first track is kept at full length
    so that the node still sees all F frames; a track hidden throughout is one off-canvas point.
    """
    points = np.asarray(points, np.float32)
    if points.ndim != 3 or points.shape[2] != 2:
        raise TracksJsonError(f"tracks: expected points of shape (N, F, 2), got {points.shape}")
    n, f = points.shape[:2]
    if visible is None:
        visible = np.ones((n, f), bool)
    visible = np.asarray(visible)
    if visible.shape != (n, f) or visible.dtype != bool:
        raise TracksJsonError(f"tracks: expected visible of shape ({n}, {f}) bool, got {visible.shape} {visible.dtype}")
    if not np.isfinite(points[visible]).all():
        raise TracksJsonError("tracks: visible points must be finite numbers")
    out = []
    for i in range(n):
        shown = np.flatnonzero(visible[i])
        # an all-hidden track keeps one off-canvas point: the node skips empty lists, and the
        # track count should survive a round trip
        length = f if i == 0 else (int(shown[-1]) + 1 if shown.size else min(1, f))
        track = []
        for t in range(length):
            if visible[i, t]:
                track.append({"x": _number(points[i, t, 0]), "y": _number(points[i, t, 1])})
            else:
                track.append({"x": OFF_CANVAS, "y": OFF_CANVAS})
        out.append(track)
    return json.dumps(out, separators=(",", ":"))


def catmull_rom(keypoints, n: int) -> np.ndarray:
    """Sample `n` integer points along a uniform Catmull-Rom spline (the Sparse Track Editor's way).

    Ends padded by repeating the first and last keypoint; sample i sits at g = i/(n-1)*(k-1) in
    keypoint-index units (not arc length); results rounded half to even. One keypoint: repeated n
    times; two: linear. `keypoints`: (k, 2) array-like or a list of {"x", "y"} dicts.
    """
    if isinstance(keypoints, list) and keypoints and isinstance(keypoints[0], dict):
        keypoints = [[p["x"], p["y"]] for p in keypoints]
    kp = np.asarray(keypoints, np.float64)
    if kp.ndim != 2 or kp.shape[1] != 2 or kp.shape[0] < 1:
        raise TracksJsonError(f"keypoints: expected at least one (x, y) pair, shape (k, 2), got {kp.shape}")
    if not np.isfinite(kp).all():
        raise TracksJsonError("keypoints: must be finite numbers")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < (1 if len(kp) == 1 else 2):
        raise TracksJsonError(f"samples: need an integer of at least 2 samples, got {n!r}")
    n = int(n)
    k = len(kp)
    if k == 1:
        return np.repeat(np.rint(kp), n, axis=0).astype(np.int64)
    i = np.arange(n, dtype=np.float64)
    if k == 2:
        a, b = kp[0], kp[1]
        out = a + ((b - a) * i[:, None]) / (n - 1)
        return np.rint(out).astype(np.int64)
    pts = np.concatenate([kp[:1], kp, kp[-1:]])
    n_seg = k - 1
    g = (i / (n - 1)) * n_seg
    seg = np.minimum(np.floor(g).astype(np.int64), n_seg - 1)
    t = (g - seg)[:, None]
    p0, p1, p2, p3 = pts[seg], pts[seg + 1], pts[seg + 2], pts[seg + 3]
    t2 = t * t
    t3 = t2 * t
    out = 0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t3)
    return np.rint(out).astype(np.int64)
