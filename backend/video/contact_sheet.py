"""A PNG grid showing each control next to the output: one row per named video, one column per
chosen frame, row names on the left and frame numbers on top (Pillow's default font).

Rows are RGB (F, H, W, 3) or grey (F, H, W), uint8 or float in [0, 1] (an attention mask).

Every row is scaled to the same thumbnail height (area averaging, so 1 px edges and track dots stay
visible); rows of a different aspect are centred in cells as wide as the widest thumbnail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .atomic_output import atomic_output
from .errors import VideoError
from .frame_chunks import to_numpy

BACKGROUND = (24, 24, 24)
TEXT = (235, 235, 235)
GAP = 4  # px between cells and around the grid
PAD = 4  # px around label text


@dataclass(frozen=True)
class ContactSheet:
    image: np.ndarray  # (H, W, 3) uint8
    cells: dict[tuple[int, int], tuple[int, int, int, int]]  # (row, col) -> (x, y, w, h) of a thumb


def evenly_spaced(frame_count: int, columns: int = 6) -> list[int]:
    """`columns` frame indices from the first to the last frame (fewer if the clip is shorter)."""
    if frame_count < 1:
        raise VideoError("contact sheet: the clip has no frames", "frames")
    columns = max(1, min(columns, frame_count))
    if columns == 1:
        return [0]
    return sorted({round(i * (frame_count - 1) / (columns - 1)) for i in range(columns)})


def _check_rows(rows) -> list[tuple[str, np.ndarray]]:
    if not rows:
        raise VideoError("contact sheet: no rows given; pass [(name, frames), ...]", "rows")
    checked = []
    for entry in rows:
        try:
            name, frames = entry
        except (TypeError, ValueError):
            raise VideoError("contact sheet: each row must be (name, frames)", "rows") from None
        arr = to_numpy(frames)
        if np.issubdtype(arr.dtype, np.floating):  # a mask or depth in [0, 1]
            arr = np.rint(np.clip(np.nan_to_num(arr), 0.0, 1.0) * 255).astype(np.uint8)
        if arr.ndim == 3 and arr.dtype == np.uint8:
            arr = np.repeat(arr[..., None], 3, axis=3)  # grey (F, H, W)
        if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3 or arr.shape[0] == 0:
            raise VideoError(
                f"contact sheet: row {name!r} must be frames (F, H, W, 3) or grey "
                f"(F, H, W), uint8 or float in [0, 1], got {arr.dtype} "
                f"{tuple(arr.shape)}",
                "rows",
            )
        checked.append((str(name), arr))
    return checked


def _thumb(frame: np.ndarray, thumb_w: int, thumb_h: int) -> np.ndarray:
    h, w = frame.shape[:2]
    shrink = thumb_w < w or thumb_h < h
    return cv2.resize(frame, (thumb_w, thumb_h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_NEAREST)


def render_contact_sheet(
    rows: Sequence[tuple[str, np.ndarray]], frame_indices: Sequence[int] | None = None, thumb_height: int = 128
) -> ContactSheet:
    """The grid as an array plus where each thumbnail went (for tests and for cropping)."""
    checked = _check_rows(rows)
    if (
        isinstance(thumb_height, bool)
        or not isinstance(thumb_height, (int, np.integer))
        or not 8 <= thumb_height <= 2048
    ):
        raise VideoError(
            f"contact sheet: thumb_height must be an integer in 8..2048, got {thumb_height!r}", "thumb_height"
        )
    shortest = min(arr.shape[0] for _, arr in checked)
    if frame_indices is None:
        frame_indices = evenly_spaced(shortest)
    indices = list(frame_indices)
    if not indices:
        raise VideoError("contact sheet: no frame indices given", "frame_indices")
    for index in indices:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < shortest:
            raise VideoError(
                f"contact sheet: frame index {index!r} is outside 0..{shortest - 1} "
                f"(the shortest row has {shortest} frames)",
                "frame_indices",
            )

    sizes = [max(1, round(arr.shape[2] * thumb_height / arr.shape[1])) for _, arr in checked]
    cell_w = max(sizes)
    font = ImageFont.load_default(size=max(10, thumb_height // 8))
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    def text_size(text: str) -> tuple[int, int]:
        left, top, right, bottom = probe.textbbox((0, 0), text, font=font)
        return right - left, bottom - top

    label_w = max(text_size(name)[0] for name, _ in checked) + 2 * PAD
    header_h = max(text_size(f"frame {i}")[1] for i in indices) + 2 * PAD
    width = GAP + label_w + GAP + len(indices) * (cell_w + GAP)
    height = GAP + header_h + GAP + len(checked) * (thumb_height + GAP)

    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    x0, y0 = GAP + label_w + GAP, GAP + header_h + GAP
    cells: dict[tuple[int, int], tuple[int, int, int, int]] = {}
    for c, index in enumerate(indices):
        text = f"frame {index}"
        tw, _ = text_size(text)
        draw.text((x0 + c * (cell_w + GAP) + (cell_w - tw) // 2, GAP + PAD), text, fill=TEXT, font=font, anchor="la")
    for r, (name, arr) in enumerate(checked):
        y = y0 + r * (thumb_height + GAP)
        _, th = text_size(name)
        draw.text((GAP + PAD, y + (thumb_height - th) // 2), name, fill=TEXT, font=font)
        for c, index in enumerate(indices):
            x = x0 + c * (cell_w + GAP) + (cell_w - sizes[r]) // 2
            sheet.paste(Image.fromarray(_thumb(arr[index], sizes[r], thumb_height)), (x, y))
            cells[(r, c)] = (x, y, sizes[r], thumb_height)
    return ContactSheet(np.asarray(sheet), cells)


def contact_sheet(
    rows: Sequence[tuple[str, np.ndarray]], frame_indices: Sequence[int] | None, out_path, thumb_height: int = 128
) -> Path:
    """Write the grid as a PNG; `frame_indices=None` picks up to 6 evenly spaced frames."""
    sheet = render_contact_sheet(rows, frame_indices, thumb_height)
    out_path = Path(out_path)
    with atomic_output(out_path, ".png") as tmp:
        Image.fromarray(sheet.image).save(tmp, format="PNG")
    return out_path
