"""contact_sheet: grid size = rows x columns of thumbnails, right frames in the right cells."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from backend.video import VideoError, contact_sheet, evenly_spaced, render_contact_sheet
from backend.video.contact_sheet import BACKGROUND


def _coded_clip(row: int, frames: int, height: int, width: int) -> np.ndarray:
    """Each frame one flat colour that encodes (row, frame)."""
    clip = np.empty((frames, height, width, 3), np.uint8)
    for i in range(frames):
        clip[i] = (40 + 60 * row, 10 + 20 * i, 200)
    return clip


def test_grid_geometry_and_contents(tmp_path):
    rows = [
        ("depth", _coded_clip(0, 9, 32, 64)),
        ("pose", _coded_clip(1, 9, 32, 64)),
        ("output", _coded_clip(2, 9, 32, 64)),
    ]
    indices = [0, 3, 8, 5]
    sheet = render_contact_sheet(rows, indices, thumb_height=24)
    assert len(sheet.cells) == 3 * 4
    for (r, c), (x, y, w, h) in sheet.cells.items():
        assert (w, h) == (48, 24)  # 64x32 at 24 px high
        assert sheet.image[y + h // 2, x + w // 2].tolist() == [40 + 60 * r, 10 + 20 * indices[c], 200]
    xs = sorted({x for x, _, _, _ in sheet.cells.values()})
    ys = sorted({y for _, y, _, _ in sheet.cells.values()})
    assert len(xs) == 4 and len(ys) == 3
    assert all(b - a == 48 + 4 for a, b in zip(xs, xs[1:]))  # columns one thumb + gap apart
    assert all(b - a == 24 + 4 for a, b in zip(ys, ys[1:]))
    height, width = sheet.image.shape[:2]
    assert width == xs[-1] + 48 + 4 and height == ys[-1] + 24 + 4
    # labels were drawn: text pixels left of the grid and above it
    assert (sheet.image[ys[0] :, : xs[0]] != BACKGROUND).any()
    assert (sheet.image[: ys[0], xs[0] :] != BACKGROUND).any()

    out = contact_sheet(rows, indices, tmp_path / "sheet.png", thumb_height=24)
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), sheet.image)


def test_rows_of_another_aspect_are_centred():
    sheet = render_contact_sheet(
        [("wide", _coded_clip(0, 3, 16, 64)), ("square", _coded_clip(1, 3, 16, 16))], [0, 2], thumb_height=16
    )
    wide, square = sheet.cells[(0, 0)], sheet.cells[(1, 0)]
    assert wide[2:] == (64, 16) and square[2:] == (16, 16)
    assert square[0] == wide[0] + 24  # centred in a 64 px cell


def test_default_indices_and_refusals():
    assert evenly_spaced(121, 6) == [0, 24, 48, 72, 96, 120]
    assert evenly_spaced(3, 6) == [0, 1, 2]
    with pytest.raises(VideoError, match="outside 0..8"):
        render_contact_sheet([("a", _coded_clip(0, 9, 8, 8))], [9])
    with pytest.raises(VideoError, match="must be frames"):
        render_contact_sheet([("a", np.zeros((2, 8, 8, 3), np.int16))], [0])
    with pytest.raises(VideoError, match="no rows"):
        render_contact_sheet([], [0])


def test_grey_and_float_mask_rows():
    mask = np.zeros((3, 16, 16), np.float32)
    mask[:, :, :8] = 1.0
    grey = np.full((3, 16, 16), 77, np.uint8)
    sheet = render_contact_sheet([("mask", mask), ("grey", grey)], [1], thumb_height=16)
    x, y, w, h = sheet.cells[(0, 0)]
    assert sheet.image[y + 8, x + 2].tolist() == [255, 255, 255]
    assert sheet.image[y + 8, x + 13].tolist() == [0, 0, 0]
    x, y, w, h = sheet.cells[(1, 0)]
    assert sheet.image[y + 8, x + 8].tolist() == [77, 77, 77]
