"""Rasterizers: ControlPackage arrays -> the control video the IC-LoRAs were trained on.

All are pure numpy and deterministic; they return (F, H, W, 3) uint8 RGB unless noted.
`rasterize(pkg)` picks the one for the package's kind.
"""

from __future__ import annotations

import numpy as np

from ..errors import UserError
from .depth import depth_to_video
from .mask import attention_mask
from .normal import normal_to_video
from .pose import draw_pose
from .tracks import draw_tracks, draw_tracks_float

__all__ = [
    "rasterize",
    "depth_to_video",
    "normal_to_video",
    "attention_mask",
    "draw_pose",
    "draw_tracks",
    "draw_tracks_float",
]


def rasterize(pkg, width: int | None = None, height: int | None = None) -> np.ndarray:
    """The package's control video at (height, width) (default: the package's size).

    Pose and track coordinates are package pixels; they are scaled to the requested size.
    """
    pkg.validate()
    width = pkg.width if width is None else width
    height = pkg.height if height is None else height
    sx, sy = width / pkg.width, height / pkg.height
    if pkg.kind == "depth":
        return depth_to_video(pkg.depth, width, height)
    if pkg.kind == "pose":

        def scaled(arr):
            if arr is None or (sx, sy) == (1.0, 1.0):
                return arr
            out = np.array(arr, np.float64)
            out[..., 0] *= sx
            out[..., 1] *= sy
            return out

        return draw_pose(scaled(pkg.pose_body), scaled(pkg.pose_hands), scaled(pkg.pose_face), width, height)
    if pkg.kind == "tracks":
        points = pkg.tracks
        if (sx, sy) != (1.0, 1.0):
            points = pkg.tracks.astype(np.float64) * np.array([sx, sy])
        return draw_tracks(points, pkg.tracks_visible, width, height)
    if pkg.kind == "normal":
        return normal_to_video(pkg.normal, width, height)
    if pkg.kind in ("render", "mask"):
        from .model_frames import cover_resize, mask_to_video

        frames = pkg.rgb if pkg.kind == "render" else mask_to_video(pkg.mask)
        return cover_resize(frames, width, height)
    if pkg.kind == "canny":
        raise UserError(
            "kind: canny packages hold a render, not a control video; their edges are made by "
            "model_frames.reference_frames (canny.canny_edges with the package's canny settings)",
            "kind",
        )
    raise UserError(f"kind: no rasterizer for {pkg.kind!r}", "kind")
