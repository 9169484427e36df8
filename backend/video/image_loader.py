"""A first-frame image (PNG/JPEG path or upload) at exactly the generation size."""

from __future__ import annotations

import numpy as np

from .errors import VideoError
from .pil_rgb import read_image_rgb
from .resize import resize_cover_crop


def check_target_size(width, height, field: str) -> tuple[int, int]:
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise VideoError(f"{field}: the target {name} must be a positive integer, got {value!r}", field)
    return int(width), int(height)


def load_image(src, width: int, height: int, field: str = "image") -> np.ndarray:
    """(height, width, 3) uint8 RGB: decoded (EXIF rotation applied, alpha over black), then
    cover-resized and center-cropped like the official pipeline (see resize.py)."""
    width, height = check_target_size(width, height, field)
    return resize_cover_crop(read_image_rgb(src, field), width, height)
