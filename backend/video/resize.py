"""Cover-resize + center crop: the rule the official pipeline applies to controls and images.

`ltx_pipelines.utils.media_io.resize_and_center_crop` scales by max(H/h, W/w) so the target is
covered, rounds the scaled size up (ceil), resizes bilinearly (half-pixel centres, no antialias)
and crops the centre ((new - target) // 2 from the top/left). Applying the same rule here means an
image or mask prepared by us lands on exactly the pixels the official code would have used.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def cover_crop_geometry(src_w: int, src_h: int, width: int, height: int) -> tuple[int, int, int, int]:
    """(scaled_w, scaled_h, crop_left, crop_top) for covering (width, height) from (src_w, src_h)."""
    scale = max(height / src_h, width / src_w)
    new_w, new_h = math.ceil(src_w * scale), math.ceil(src_h * scale)
    return new_w, new_h, (new_w - width) // 2, (new_h - height) // 2


def resize_cover_crop(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H, W) or (H, W, C) uint8/float32 -> (height, width[, C]) of the same dtype.

    uint8 is resized in float and rounded, so the only difference to the official float result
    is the final 8-bit rounding. Same-size input is returned unchanged (a copy).
    """
    src_h, src_w = image.shape[:2]
    if (src_w, src_h) == (width, height):
        return image.copy()
    new_w, new_h, left, top = cover_crop_geometry(src_w, src_h, width, height)
    resized = cv2.resize(image.astype(np.float32, copy=False), (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    if resized.ndim < image.ndim:  # cv2 drops a trailing channel axis of size 1
        resized = resized[..., None]
    cropped = resized[top : top + height, left : left + width]
    if image.dtype == np.uint8:
        return np.clip(np.rint(cropped), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(cropped.astype(image.dtype, copy=False))
