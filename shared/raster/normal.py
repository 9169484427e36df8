"""Normal control video: camera-space normals as RGB, the common normal-map convention.

Encoding (`encode_normals`): a unit normal n = (x, y, z) in the camera's own axes (Blender's camera
space: x to the right of the image, y up, z out of the screen towards the viewer; the camera looks
down -z) becomes RGB = n * 0.5 + 0.5, 8-bit by rounding to nearest: a surface facing the camera is
(128, 128, 255), one facing right (255, 128, 128), one facing up (128, 255, 128). This is the
OpenGL-style normal map most tools bake and view ("+Y up"); a DirectX-style map would flip green.
Background (no geometry, stored as the zero vector) is black (0, 0, 0), like every other control's
background; no unit normal encodes to black.

`decode_normals` inverts it (background -> zero vector) for tests and tools.

Resizing to (height, width) (normals are captured at the size the model sees, so usually there is
none) never blends geometry with background: where all four bilinear taps of an output pixel hit
geometry the encoded value is bilinear (torch's taps), elsewhere it is the nearest tap's, the rule
depth uses (`depth.py`), so no dark halo appears beside silhouettes.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import UserError
from .bilinear import bilinear_taps, resize_bilinear

BACKGROUND = (0, 0, 0)


def geometry_mask(normals: np.ndarray) -> np.ndarray:
    """(..., H, W) bool: pixels holding a normal (not the zero vector of the background)."""
    n = np.asarray(normals)
    return np.any(n != 0, axis=-1)


def encode_normals_float(normals: np.ndarray) -> np.ndarray:
    """(..., 3) unit normals -> (..., 3) float32 in [0, 1]: n * 0.5 + 0.5, background 0."""
    n = np.asarray(normals, np.float32)
    if n.shape[-1:] != (3,):
        raise UserError(f"normal: expected normals of shape (..., 3), got {n.shape}", "normal")
    out = np.clip(n * np.float32(0.5) + np.float32(0.5), 0.0, 1.0).astype(np.float32)
    out[~geometry_mask(n)] = 0.0
    return out


def _to_uint8(v: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(v * np.float32(255)), 0, 255).astype(np.uint8)


def encode_normals(normals: np.ndarray) -> np.ndarray:
    """(..., 3) camera-space unit normals -> (..., 3) uint8 RGB = round((n * 0.5 + 0.5) * 255), background black."""
    return _to_uint8(encode_normals_float(normals))


def decode_normals(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 RGB -> (..., 3) float32 unit normals (renormalized); black -> the zero vector."""
    c = np.asarray(rgb)
    if c.dtype != np.uint8 or c.shape[-1:] != (3,):
        raise UserError(f"normal: expected uint8 RGB (..., 3), got {c.dtype} {c.shape}", "normal")
    n = c.astype(np.float32) / np.float32(127.5) - np.float32(1)
    length = np.linalg.norm(n, axis=-1, keepdims=True)
    out = np.divide(n, length, out=np.zeros_like(n), where=length > 0)
    out[np.all(c == 0, axis=-1)] = 0.0
    return out


def normal_to_video(normals, width: int | None = None, height: int | None = None) -> np.ndarray:
    """(F, Hn, Wn, 3) camera-space normals -> (F, H, W, 3) uint8 RGB (the encoding above)."""
    n = np.asarray(normals)
    if n.ndim != 4 or n.shape[-1] != 3 or not np.issubdtype(n.dtype, np.floating):
        raise UserError(f"normal: expected a float array of shape (F, H, W, 3), got {n.dtype} {n.shape}", "normal")
    f, hn, wn, _ = n.shape
    width = wn if width is None else width
    height = hn if height is None else height
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= 16384:
            raise UserError(f"{name}: expected an integer from 1 to 16384 pixels, got {value!r}", name)
    if (hn, wn) == (height, width):
        return encode_normals(n)
    yi0, yi1, h0, h1 = bilinear_taps(hn, height)
    xi0, xi1, w0, w1 = bilinear_taps(wn, width)
    y_near, x_near = np.where(h0 >= h1, yi0, yi1), np.where(w0 >= w1, xi0, xi1)
    out = np.empty((f, height, width, 3), np.uint8)
    for i in range(f):  # frame by frame: the float temporaries stay small
        v = encode_normals_float(n[i])
        g = geometry_mask(n[i])
        smooth = resize_bilinear(v[None], height, width, exact=False)[0]
        all_geometry = g[yi0][:, xi0] & g[yi0][:, xi1] & g[yi1][:, xi0] & g[yi1][:, xi1]
        nearest = v[y_near][:, x_near]
        out[i] = _to_uint8(np.where(all_geometry[..., None], smooth, nearest))
    return out
