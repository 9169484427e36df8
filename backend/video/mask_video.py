"""An attention mask from a grey/RGB video, a folder of frames or a single image.

White = full control, black = none (the LTX-2 pipelines' attention-mask convention); the values
multiply the attention strength. Colour is reduced to luma (BT.601 weights; grey input is
unchanged). A single image or a one-frame video is a spatial mask repeated over time. Longer sources
keep their first `frames` frames (frame k of the mask is frame k of the output); shorter ones are
refused. Frames are cover-resized and center-cropped to (width, height) like the control.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import VideoError
from .image_loader import check_target_size
from .pil_rgb import image_to_rgb, open_image
from .reader import read_video
from .resize import resize_cover_crop
from .sources import describe, is_bytes

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def _is_image(src) -> bool:
    """True when Pillow recognizes the input as a still image (PNG, JPEG, ...)."""
    try:
        with open_image(src, "mask") as image:
            return getattr(image, "n_frames", 1) == 1
    except VideoError:
        return False


def load_mask_video(src, frames: int, width: int, height: int) -> np.ndarray:
    """(frames, height, width) float32 in [0, 1] from a mask video, frame folder or image."""
    width, height = check_target_size(width, height, "mask")
    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or frames < 1:
        raise VideoError(f"mask: the frame count must be a positive integer, got {frames!r}", "mask")
    is_dir = not is_bytes(src) and Path(os.fspath(src)).is_dir()
    if not is_dir and _is_image(src):
        with open_image(src, "mask") as image:
            rgb = image_to_rgb(image, describe(src), "mask")[None]
    else:
        rgb, _ = read_video(src, max_frames=frames, field="mask")
    if rgb.shape[0] not in (1, frames):
        raise VideoError(
            f"{describe(src)}: the mask has {rgb.shape[0]} frames but the video has {frames}; "
            f"give at least {frames} frames, or a single image for a mask that does not change "
            f"over time",
            "mask",
        )
    grey = (rgb.astype(np.float32) @ _LUMA) / 255.0
    out = np.empty((rgb.shape[0], height, width), np.float32)
    for i, frame in enumerate(grey):
        out[i] = resize_cover_crop(frame, width, height)
    if out.shape[0] == 1 and frames > 1:
        out = np.repeat(out, frames, axis=0)
    return np.clip(out, 0.0, 1.0)
