"""A folder of numbered image frames read as a video (`--control DIR`, PNG-frame exports).

Files ending in .png, .jpg or .jpeg are taken in natural order (frame_2 before frame_10; plain
zero-padded names sort the same either way); other files (a tracks.json, .DS_Store) are ignored.
A folder carries no frame rate: the caller supplies it (the spec's or the package's fps).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .errors import VideoError
from .pil_rgb import read_image_rgb

FRAME_SUFFIXES = (".png", ".jpg", ".jpeg")


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def list_frame_files(folder) -> list[Path]:
    """The frame files of `folder` in playback order; refuses a folder with none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VideoError(f"{folder}: not a folder of frames", "video")
    files = sorted(
        (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FRAME_SUFFIXES), key=_natural_key
    )
    if not files:
        raise VideoError(
            f"{folder}: holds no frames; expected image files named in order, e.g. "
            f"frame_00000.png, frame_00001.png, ... ({', '.join(FRAME_SUFFIXES)})",
            "video",
        )
    return files


def read_frame_folder(folder, max_frames: int | None = None, max_decoded_bytes: int | None = None) -> np.ndarray:
    """(F, H, W, 3) uint8 of the first `max_frames` frames of a folder; all the same size."""
    files = list_frame_files(folder)
    if max_frames is not None:
        files = files[:max_frames]
    frames: list[np.ndarray] = []
    for file in files:
        rgb = read_image_rgb(file, "video")
        if frames and rgb.shape != frames[0].shape:
            h0, w0 = frames[0].shape[:2]
            raise VideoError(
                f"{file.name}: is {rgb.shape[1]}x{rgb.shape[0]} but {files[0].name} is {w0}x{h0}; "
                f"every frame of a folder must have the same size",
                "video",
            )
        if max_decoded_bytes is not None and rgb.nbytes * len(files) > max_decoded_bytes:
            raise VideoError(
                f"{Path(folder).name}: {len(files)} frames of {rgb.shape[1]}x{rgb.shape[0]} need "
                f"{rgb.nbytes * len(files) / 2**30:.1f} GiB decoded, more than the "
                f"{max_decoded_bytes / 2**30:.1f} GiB limit; use fewer or smaller frames",
                "video",
            )
        frames.append(rgb)
    return np.stack(frames)
