"""The control frames the IC-LoRA sees: one function for the engine and the add-on's preview.

`reference_frames(pkg, ref_width, ref_height)` turns a ControlPackage into the uint8 control video at
the reference size (`video_rules.reference_size`: stage-1 size / reference_downscale_factor), made
the way the official workflows make their control videos and the official pipeline resizes them:
- pose / tracks: drawn at the package's (generation) size, as DWPose and the Draw Tracks node draw
  on the video they get, then resized to the reference size with the pipeline's rule (`cover_resize`);
  drawing straight at the small size would give limbs and trails of the wrong thickness;
- canny: edges of the package's render by its recorded settings (`canny.py`: the Union 2.3
  workflow's by default), then the same resize;
- depth: normalized over the whole package (never over a shorter job's frames) and rasterized at
  the reference size (depth is usually captured at that size; resizing never blends geometry with
  background, `depth.py`);
- render: the package's render (`rgb`) as it is, then the same resize;
- normal: camera-space normals encoded as RGB (`normal.py`) at the reference size (captured at that
  size like depth);
- mask: the package's `mask` as grey (white = the chosen objects), then the same resize; a mask
  package's mask is its control, so it is not also applied as an attention mask.
`attention_weights(pkg, frames, width, height)` is the per-pixel attention the job applies (at the
stage-1 size): the package's mask times its per-frame strength, or None when it has neither.
The pipeline resizes in float and never rounds; these frames are rounded to 8 bits once, at the end
(at most 0.5 / 255 away). The engine encodes them as they are; Preview Controls shows the same
arrays, so what the user previews is what the model is given.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import UserError
from .bilinear import resize_bilinear
from .canny import canny_edges
from .depth import depth_to_video
from .mask import attention_mask
from .normal import normal_to_video
from .pose import draw_pose
from .tracks import draw_tracks


def cover_crop_geometry(src_w: int, src_h: int, width: int, height: int) -> tuple[int, int, int, int]:
    """(scaled_w, scaled_h, left, top): the pipeline's cover rule (ltx_pipelines' resize_and_center_crop):
    scale by max(height / src_h, width / src_w), round the scaled size up, crop the centre."""
    scale = max(height / src_h, width / src_w)
    new_w, new_h = math.ceil(src_w * scale), math.ceil(src_h * scale)
    return new_w, new_h, (new_w - width) // 2, (new_h - height) // 2


def cover_resize(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """uint8 (F, H, W, 3) -> uint8 (F, height, width, 3): bilinear with torch's taps (half-pixel
    centres, no antialias; plain float32 sums, a few ulps from torch's, which 8-bit rounding hides) to
    the covering size, centre crop, rounded to 8 bits."""
    f, h, w = frames.shape[:3]
    if (w, h) == (width, height):
        return np.ascontiguousarray(frames)
    new_w, new_h, left, top = cover_crop_geometry(w, h, width, height)
    out = np.empty((f, height, width, frames.shape[-1]), np.uint8)
    for i in range(f):  # frame by frame: the float temporaries stay small
        v = resize_bilinear(frames[i : i + 1].astype(np.float32), new_h, new_w, exact=False)[
            0, top : top + height, left : left + width
        ]
        out[i] = np.clip(np.rint(v), 0, 255).astype(np.uint8)
    return out


def reference_frames(
    pkg, ref_width: int, ref_height: int, frames: int | None = None, kind: str | None = None
) -> np.ndarray:
    """(frames, ref_height, ref_width, 3) uint8: the package's control as the model sees it.

    frames: the job's frame count (default: the package's); kind: the control kind to make
    (default: the package's; a canny job needs the package's `rgb`).
    """
    pkg.validate()
    n = pkg.frame_count if frames is None else int(frames)
    if not 1 <= n <= pkg.frame_count:
        raise UserError(f"frames: the package has {pkg.frame_count} frames, {n} were asked for", "frames")
    kind = pkg.kind if kind is None else kind
    if kind == "depth":
        if pkg.depth is None:
            raise UserError("control package: kind 'depth' needs the 'depth' array", "control_kind")
        return depth_to_video(pkg.depth, ref_width, ref_height)[:n]
    if kind == "pose":
        if pkg.pose_body is None:
            raise UserError("control package: kind 'pose' needs the 'pose_body' array", "control_kind")
        hands = None if pkg.pose_hands is None else pkg.pose_hands[:n]
        face = None if pkg.pose_face is None else pkg.pose_face[:n]
        drawn = draw_pose(pkg.pose_body[:n], hands, face, pkg.width, pkg.height)
    elif kind == "tracks":
        if pkg.tracks is None:
            raise UserError("control package: kind 'tracks' needs the 'tracks' array", "control_kind")
        drawn = draw_tracks(pkg.tracks[:, :n], pkg.tracks_visible[:, :n], pkg.width, pkg.height)
    elif kind == "canny":
        if pkg.rgb is None:
            raise UserError(
                "control package: kind 'canny' needs the 'rgb' array (a render to find edges in)", "control_kind"
            )
        drawn = canny_edges(pkg.rgb[:n], pkg.canny)
    elif kind == "render":
        if pkg.rgb is None:
            raise UserError("control package: kind 'render' needs the 'rgb' array (the render)", "control_kind")
        drawn = pkg.rgb[:n]
    elif kind == "normal":
        if pkg.normal is None:
            raise UserError("control package: kind 'normal' needs the 'normal' array", "control_kind")
        return normal_to_video(pkg.normal[:n], ref_width, ref_height)
    elif kind == "mask":
        if pkg.mask is None:
            raise UserError("control package: kind 'mask' needs the 'mask' array (silhouettes)", "control_kind")
        drawn = mask_to_video(pkg.mask[:n])
    else:
        raise UserError(f"kind: no control frames for {kind!r}", "kind")
    return cover_resize(drawn, ref_width, ref_height)


def mask_to_video(mask: np.ndarray) -> np.ndarray:
    """(F, H, W) float in [0, 1] -> (F, H, W, 3) uint8 grey, white = 1."""
    grey = np.clip(np.rint(np.asarray(mask, np.float32) * np.float32(255)), 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def attention_weights(pkg, frames: int, width: int, height: int, mask=None) -> np.ndarray | None:
    """(frames, height, width) float32 in [0, 1], or None (no mask, no per-frame strength: attention
    stays unmasked, exactly the stock pipeline's path).

    `mask` (the job's own, (H, W) or (F, H, W)) replaces the package's `mask`; either is multiplied
    by the package's per-frame `attention_strength` (`mask.attention_mask`). A `mask` package's mask
    is its control video, not an attention mask. The job's scalar attention strength is applied
    later by the official code.
    """
    own = getattr(pkg, "mask", None) if pkg is not None and getattr(pkg, "kind", None) != "mask" else None
    mask = mask if mask is not None else own
    per_frame = getattr(pkg, "attention_strength", None) if pkg is not None else None
    if mask is None and per_frame is None:
        return None
    if mask is not None and np.ndim(mask) == 3:
        if mask.shape[0] < frames:
            raise UserError(f"mask: has {mask.shape[0]} frames but the job needs {frames}", "mask")
        mask = mask[:frames]
    if per_frame is not None:
        if per_frame.shape[0] < frames:
            raise UserError(
                f"attention_strength: has {per_frame.shape[0]} values but the job needs {frames}", "attention_strength"
            )
        per_frame = per_frame[:frames]
    return np.ascontiguousarray(attention_mask(mask, per_frame, frames, width, height), dtype=np.float32)
