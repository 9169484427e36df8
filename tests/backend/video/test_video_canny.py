"""canny_video: trainer-reference edges on synthetic shapes, thresholds, the short-side variant."""

from __future__ import annotations

import numpy as np
import pytest

from backend.video import VideoError, canny_video


def _square_frame(height, width, top, left, size_h, size_w, value=255):
    frame = np.zeros((height, width, 3), np.uint8)
    frame[top : top + size_h, left : left + size_w] = value
    return frame


def _boundary_band(inside: np.ndarray) -> np.ndarray:
    """Pixels on either side of the step: inside/outside differs from a 4-neighbour."""
    padded = np.pad(inside, 1, mode="edge")
    band = np.zeros_like(inside)
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        band |= padded[1 + dy : 1 + dy + inside.shape[0], 1 + dx : 1 + dx + inside.shape[1]] != inside
    return band


def test_white_square_edges_exactly_on_its_border():
    h, w, top, left, sh, sw = 32, 40, 8, 10, 16, 20
    edges = canny_video(_square_frame(h, w, top, left, sh, sw)[None])
    assert edges.shape == (1, h, w, 3) and edges.dtype == np.uint8
    e = edges[0]
    assert np.array_equal(e[..., 0], e[..., 1]) and np.array_equal(e[..., 0], e[..., 2])
    assert set(np.unique(e).tolist()) == {0, 255}
    on = e[..., 0] == 255

    inside = np.zeros((h, w), bool)
    inside[top : top + sh, left : left + sw] = True
    band = _boundary_band(inside)
    assert not (on & ~band).any(), "an edge pixel lies off the square's border"

    # each side: exactly one edge pixel across the 2-px step, all along (corners excepted)
    for x in range(left + 1, left + sw - 1):
        assert on[top - 1 : top + 1, x].sum() == 1  # top side
        assert on[top + sh - 1 : top + sh + 1, x].sum() == 1  # bottom side
    for y in range(top + 1, top + sh - 1):
        assert on[y, left - 1 : left + 1].sum() == 1  # left side
        assert on[y, left + sw - 1 : left + sw + 1].sum() == 1  # right side


def test_every_frame_is_processed_on_its_own():
    clip = np.stack([_square_frame(24, 24, 4 + i, 4 + i, 8, 8) for i in range(3)])
    edges = canny_video(clip)
    for i in range(3):
        inside = np.zeros((24, 24), bool)
        inside[4 + i : 12 + i, 4 + i : 12 + i] = True
        on = edges[i, ..., 0] == 255
        assert on.any() and not (on & ~_boundary_band(inside)).any()


def test_thresholds_are_used():
    frame = np.zeros((16, 16, 3), np.uint8)
    frame[6:10, :] = 40  # Sobel |g| = 160 along the band: weak for 100/200, strong for 100/150
    assert canny_video(frame).max() == 0
    strong = canny_video(frame, low=100, high=150)
    assert (strong[0, ..., 0] == 255).sum() == 32  # two full rows of 16
    with pytest.raises(VideoError, match="must not exceed"):
        canny_video(frame, low=200, high=100)


def test_short_side_variant_resizes_first():
    frame = _square_frame(64, 128, 16, 32, 32, 64)
    edges = canny_video(np.stack([frame, frame]), 92, 200, short_side=32)
    assert edges.shape == (2, 32, 64, 3)
    inside = np.zeros((32, 64), bool)
    inside[8:24, 16:48] = True
    on = edges[0, ..., 0] == 255
    assert on.sum() > 40 and not (on & ~_boundary_band(inside)).any()


@pytest.mark.parametrize(
    "bad", [np.zeros((2, 8, 8, 3), np.float32), np.zeros((2, 8, 8), np.uint8), np.zeros((0, 8, 8, 3), np.uint8)]
)
def test_bad_input_refused(bad):
    with pytest.raises(VideoError, match="expected uint8 RGB frames"):
        canny_video(bad)
