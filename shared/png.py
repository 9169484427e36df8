"""Lossless 8-bit PNG frames with the standard library only (zlib + struct), no Pillow / OpenCV.

Control videos must be written losslessly (a lossy codec smears the 2-8 px coloured dots of the
tracks and the skeleton colours), and this module runs inside Blender too, hence a tiny PNG codec.
The writer uses the "Up" filter on every row (vectorized, compresses gradients well); the reader
understands all five filters, 8-bit grey / grey+alpha / RGB / RGBA, non-interlaced.
"""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np

from .errors import UserError

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type -> channels
MAX_PIXELS = 1 << 28


class PngError(UserError):
    """A PNG that this reader does not understand, or an image that cannot be written as one."""


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(image: np.ndarray, level: int = 6) -> bytes:
    """PNG bytes of an 8-bit image: (H, W) grey, (H, W, 1) grey or (H, W, 3) RGB."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise PngError(
            f"image: expected a uint8 array, got {arr.dtype}; convert with (x * 255).round().astype(np.uint8)", "image"
        )
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        colour, channels = 0, 1
    elif arr.ndim == 3 and arr.shape[2] == 3:
        colour, channels = 2, 3
    else:
        raise PngError(f"image: expected shape (H, W), (H, W, 1) or (H, W, 3), got {arr.shape}", "image")
    h, w = arr.shape[:2]
    if h < 1 or w < 1:
        raise PngError(f"image: empty image of shape {arr.shape}", "image")
    rows = np.ascontiguousarray(arr).reshape(h, w * channels)
    filtered = np.empty((h, w * channels + 1), np.uint8)
    filtered[:, 0] = 2  # Up
    filtered[0, 1:] = rows[0]
    filtered[1:, 1:] = rows[1:] - rows[:-1]  # uint8 wraps modulo 256, as the filter wants
    header = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    return b"".join(
        (
            _SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(filtered.tobytes(), level)),
            _chunk(b"IEND", b""),
        )
    )


def write_png(path, image: np.ndarray) -> str:
    """Write an 8-bit grey or RGB image as PNG. Returns the path."""
    path = os.fspath(path)
    with open(path, "wb") as fh:
        fh.write(encode_png(image))
    return path


def decode_png(data: bytes) -> np.ndarray:
    """uint8 array (H, W) grey, (H, W, 2) grey+alpha, (H, W, 3) RGB or (H, W, 4) RGBA."""
    if not data.startswith(_SIGNATURE):
        raise PngError("png: not a PNG file (bad signature)", "png")
    pos = len(_SIGNATURE)
    header = None
    idat = []
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        crc = data[pos + 8 + length : pos + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise PngError("png: the file is truncated", "png")
        if struct.unpack(">I", crc)[0] != zlib.crc32(kind + body) & 0xFFFFFFFF:
            raise PngError(f"png: CRC mismatch in chunk {kind!r}; the file is damaged", "png")
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None or not idat:
        raise PngError("png: missing IHDR or IDAT chunk", "png")
    w, h, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in _CHANNELS:
        raise PngError(
            f"png: only 8-bit grey, grey+alpha, RGB and RGBA PNGs are supported (bit depth {depth}, "
            f"colour type {colour})",
            "png",
        )
    if interlace:
        raise PngError("png: interlaced PNGs are not supported; save without interlacing", "png")
    if w * h > MAX_PIXELS or w < 1 or h < 1:
        raise PngError(f"png: image size {w}x{h} is out of range", "png")
    channels = _CHANNELS[colour]
    stride = w * channels
    try:
        raw = zlib.decompressobj().decompress(b"".join(idat), h * (stride + 1) + 1)
    except zlib.error as exc:
        raise PngError(f"png: damaged image data ({exc})", "png") from None
    if len(raw) < h * (stride + 1):
        raise PngError("png: the image data is truncated", "png")
    rows = np.frombuffer(raw[: h * (stride + 1)], np.uint8).reshape(h, stride + 1)
    out = _unfilter(rows[:, 0], rows[:, 1:], channels)
    return out.reshape(h, w) if channels == 1 else out.reshape(h, w, channels)


def _unfilter(kinds: np.ndarray, rows: np.ndarray, bpp: int) -> np.ndarray:
    h, stride = rows.shape
    out = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.uint8)
    for y in range(h):
        kind, line = int(kinds[y]), rows[y]
        if kind == 0:
            cur = line.copy()
        elif kind == 1:  # Sub: running sum per channel
            cur = (np.cumsum(line.reshape(-1, bpp), axis=0, dtype=np.uint64) % 256).astype(np.uint8).reshape(-1)
        elif kind == 2:  # Up
            cur = line + prev
        elif kind in (3, 4):  # Average, Paeth: sequential along the row
            cur = _unfilter_sequential(kind, line, prev, bpp)
        else:
            raise PngError(f"png: unknown filter type {kind} in row {y}; the file is damaged", "png")
        out[y] = cur
        prev = cur
    return out


def _unfilter_sequential(kind: int, line: np.ndarray, prev: np.ndarray, bpp: int) -> np.ndarray:
    cur = bytearray(len(line))
    src, up = line.tolist(), prev.tolist()
    for i in range(len(src)):
        a = cur[i - bpp] if i >= bpp else 0
        b = up[i]
        if kind == 3:
            pred = (a + b) >> 1
        else:
            c = up[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
        cur[i] = (src[i] + pred) & 0xFF
    return np.frombuffer(bytes(cur), np.uint8)


def read_png(path) -> np.ndarray:
    """Read an 8-bit PNG file (see `decode_png` for the shapes)."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise PngError(f"png: file not found: {path}", "png") from None
    return decode_png(data)


def frame_name(index: int, prefix: str = "frame_", digits: int = 5) -> str:
    return f"{prefix}{index:0{digits}d}.png"


def write_png_frames(folder, frames, prefix: str = "frame_", on_frame=None) -> list[str]:
    """Write each frame of (F, H, W[, 3]) uint8 as `<prefix>00000.png`, ... (names sort in frame order).

    `on_frame(i, total)` is called after each frame is written (progress reporting).
    """
    folder = os.fspath(folder)
    os.makedirs(folder, exist_ok=True)
    total = len(frames)
    digits = max(5, len(str(max(total - 1, 0))))
    paths = []
    for i in range(total):
        path = os.path.join(folder, frame_name(i, prefix, digits))
        write_png(path, np.asarray(frames[i]))
        paths.append(path)
        if on_frame is not None:
            on_frame(i + 1, total)
    return paths
