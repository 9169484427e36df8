"""Decode an image file (PNG, JPEG, ...) with Pillow into an RGB or grey uint8 array.

Rules shared by load_image, PNG-folder videos and masks:
- EXIF orientation is applied (phone photos are stored sideways with a rotation tag).
- Transparency is composited over black (controls have black backgrounds; "nothing" is black).
- 16-bit greyscale PNGs (a common depth export) are scaled to 8 bits by the top byte.
- Images over MAX_PIXELS are refused before decoding (decompression bombs); only the formats in
  IMAGE_FORMATS are decoded.
"""

from __future__ import annotations

import io
import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import VideoError
from .sources import check_file, describe, is_bytes

MAX_PIXELS = 64 * 1024 * 1024  # 64 MP: far above any generation size, far below a bomb
# Pillow plugins allowed to decode our inputs (EPS would run Ghostscript, for one).
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF")


def open_image(src, field: str = "image") -> Image.Image:
    """A Pillow image from a path or bytes, size-checked, not yet decoded."""
    if is_bytes(src):
        if len(src) == 0:
            raise VideoError(f"{field}: the uploaded image is empty (0 bytes); send a PNG or JPEG", field)
        fp = io.BytesIO(bytes(src))
    else:
        fp = str(check_file(src, field))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(fp, formats=IMAGE_FORMATS)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise VideoError(f"{describe(src)}: not a readable image; send a PNG or JPEG file", field) from None
    if image.width * image.height > MAX_PIXELS:
        raise VideoError(
            f"{describe(src)}: the image is {image.width}x{image.height}, more than "
            f"{MAX_PIXELS // (1024 * 1024)} megapixels; scale it down first",
            field,
        )
    return image


def image_to_rgb(image: Image.Image, name: str = "image", field: str = "image") -> np.ndarray:
    """(H, W, 3) uint8 RGB from any Pillow mode, following the module rules."""
    try:
        image = ImageOps.exif_transpose(image)
        if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
            grey = np.asarray(image, dtype=np.int64)
            scale = 256 if grey.max(initial=0) > 255 or image.mode.startswith("I;16") else 1
            grey = np.clip(grey // scale, 0, 255).astype(np.uint8)
            return np.repeat(grey[..., None], 3, axis=2)
        if image.mode == "F":
            grey = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
            grey = np.round(grey * 255).astype(np.uint8)
            return np.repeat(grey[..., None], 3, axis=2)
        if image.mode == "P" or image.mode == "PA":
            image = image.convert("RGBA")
        if image.mode in ("RGBA", "LA", "La", "RGBa"):
            rgba = np.asarray(image.convert("RGBA"), dtype=np.uint16)
            rgb = (rgba[..., :3] * rgba[..., 3:4] + 127) // 255
            return rgb.astype(np.uint8)
        return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
    except (OSError, ValueError, SyntaxError) as exc:
        raise VideoError(f"{name}: the image data is corrupt or truncated ({exc}); re-export it", field) from None


def read_image_rgb(src, field: str = "image") -> np.ndarray:
    """(H, W, 3) uint8 from a path or bytes."""
    name = describe(src) if is_bytes(src) else os.fspath(src)
    with open_image(src, field) as image:
        return image_to_rgb(image, str(name), field)
