"""The motion-track raster: pinned colours, radii and rules, and bit-equality with an independent
torch implementation that uses the real F.interpolate."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from shared.errors import UserError
from shared.raster.bilinear import resize_bilinear
from shared.raster.tracks import draw_tracks, draw_tracks_float, iter_track_frames, render_size

from .torch_reference import reference_tracks

S = 1080  # a 1080x1080 output is the node's canvas itself: no resize, so pixels show the raster directly


@pytest.fixture(autouse=True)
def torch_two_threads():
    """torch picks its 3-channel bilinear kernel by thread count; pin the multi-threaded choice."""
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(old)


def frame_at(points, visible, t, w=S, h=S):
    for i, frame in enumerate(iter_track_frames(points, visible, w, h)):
        if i == t:
            return frame
    raise AssertionError("no such frame")


def moving_point(frames=51, x0=40, step=20, y=500):
    pts = np.zeros((1, frames, 2), np.float32)
    pts[0, :, 0] = x0 + step * np.arange(frames)
    pts[0, :, 1] = y
    return pts


def test_render_size_rules():
    assert render_size(1024, 576)[:2] == (1920, 1080)
    assert render_size(960, 544)[:2] == (int(960 * 1080 / 544), 1080) == (1905, 1080)
    assert render_size(1024, 1536)[:2] == (1080, 1620)
    rw, rh, sx, sy = render_size(768, 512)
    assert (rw, rh, sx, sy) == (1620, 1080, 1620 / 768, 1080 / 512)


def test_colours_by_age_after_bgr_swap():
    pts = moving_point()  # 20 px apart: trail circles do not touch
    frame = frame_at(pts, None, 50)

    def centre(age):
        return frame[500, 40 + 20 * (50 - age)]

    assert tuple(centre(0)) == (0, 0, 255)  # newest: pure blue
    assert tuple(centre(10)) == (0, 153, 255)
    assert tuple(centre(25)) == (0, 255, 127)
    assert tuple(centre(34)) == (10, 245, 0)
    assert tuple(centre(40)) == (102, 153, 0)
    assert tuple(centre(50)) == (255, 0, 0)  # age 50: red


def test_radii_by_age():
    pts = moving_point()
    frame = frame_at(pts, None, 50)

    def lit(x, y):
        return frame[y, x].any()

    cx0 = 40 + 20 * 50  # age 0, r = 8
    assert lit(cx0 + 8, 500) and not lit(cx0 + 9, 500)
    assert lit(cx0 + 5, 506) and not lit(cx0 + 6, 506)  # 25+36 <= 64 < 36+36
    assert frame[500 - 9 : 500 + 10, cx0 - 9 : cx0 + 10].any(axis=2).sum() == 197
    cx50 = 40  # age 50, r = 2
    assert lit(cx50 + 2, 500) and not lit(cx50 + 3, 500) and not lit(cx50 + 2, 502)
    assert frame[500 - 9 : 500 + 10, cx50 - 9 : cx50 + 10].any(axis=2).sum() == 13
    # the window is 51 positions: at frame 51 the first position (age 51) is gone
    assert not frame_at(moving_point(52), None, 51)[490:511, 30:51].any()


def test_newest_wins_where_circles_overlap():
    pts = np.zeros((2, 11, 2), np.float32)
    pts[0, :, 0], pts[0, :, 1] = 500, 500  # track 0 sits still: its head is newest
    pts[1, :, 0] = 500 + np.arange(11) * 2  # track 1 passed over the same spot earlier
    pts[1, :, 1] = 500
    pts[1, 10] = (900, 900)
    frame = frame_at(pts, None, 10)
    assert tuple(frame[500, 500]) == (0, 0, 255)
    # within one track: the newer, bigger circle covers the older ones at the same place
    still = np.full((1, 5, 2), 300, np.float32)
    assert tuple(frame_at(still, None, 4)[300, 300 + 8]) == (0, 0, 255)


def test_clipping_at_canvas_edges_and_off_canvas_points():
    pts = np.array([[[0, 0]], [[S - 1, 5]], [[-10000, -10000]], [[-5, 300]]], np.float32)
    frame = frame_at(pts, None, 0)
    assert tuple(frame[0, 0]) == (0, 0, 255) and frame[0, 8].any() and not frame[0, 9].any()
    assert not frame[S - 1, 0].any() and not frame[0, S // 2].any()  # no wrap-around
    assert frame[5, S - 1].any() and frame[5, S - 9].any() and not frame[5, S - 10].any()
    # x = -5: only offsets -9..+3 reach column >= 0 ... the columns 0..3 are lit on row 300
    assert frame[300, 3].any() and not frame[300, 4].any()
    lit = frame.any(axis=2)
    assert lit.sum() == lit[:20].sum() + lit[290:311, :4].sum()  # nothing else drawn


def test_track_that_ends_keeps_ageing_without_head():
    long = moving_point(40)
    short = np.zeros((1, 40, 2), np.float32)
    short[0, :, 0] = 40 + 20 * np.arange(40)
    short[0, :, 1] = 800
    visible = np.ones((2, 40), bool)
    visible[1, 10:] = False  # the short track stops after frame 9
    pts = np.concatenate([long, short])
    frame = frame_at(pts, visible, 20)
    last = 40 + 20 * 9  # its last point, now age 11
    assert tuple(frame[800, last]) == tuple(frame[500, 40 + 20 * 9])  # same age, same colour
    assert not frame[790:811, last + 11 :].any()  # no head, nothing after its end
    assert frame[800, 40].any()  # position 0 is age 20: still drawn
    quiet = frame_at(pts, visible, 39)
    assert tuple(quiet[800, last]) == tuple(quiet[500, 40 + 20 * 9])


def test_invisible_points_are_not_drawn():
    pts = moving_point(5)
    visible = np.array([[True, True, False, True, True]])
    frame = frame_at(pts, visible, 4)
    assert not frame[490:511, 40 + 40 - 9 : 40 + 40 + 10].any()
    assert frame[500, 40 + 60].any()


def test_uint8_is_rounded_float():
    rng = np.random.default_rng(5)
    pts = (np.cumsum(rng.normal(0, 3, (3, 12, 2)), axis=1) + [150, 80]).astype(np.float32)
    f = draw_tracks_float(pts, None, 320, 192)
    u = draw_tracks(pts, None, 320, 192)
    assert f.dtype == np.float32 and u.dtype == np.uint8 and u.shape == (12, 192, 320, 3)
    np.testing.assert_array_equal(u, np.rint(f * np.float32(255)).astype(np.uint8))


@pytest.mark.parametrize(
    "seed, w, h, n, frames",
    [
        (0, 320, 192, 3, 56),
        (1, 192, 320, 2, 20),
        (2, 200, 120, 4, 8),
        (3, 64, 64, 3, 20),
        (4, 130, 70, 3, 20),
        (5, 512, 288, 2, 12),
        (6, 1024, 576, 12, 4),
        (7, 2048, 1152, 3, 3),
        (8, 1536, 1024, 4, 3),
    ],
)
def test_bit_identical_to_torch_reference(seed, w, h, n, frames):
    rng = np.random.default_rng(seed)
    pts = (np.cumsum(rng.normal(0, 4, (n, frames, 2)), axis=1) + rng.uniform([0, 0], [w, h], (n, 1, 2))).astype(
        np.float32
    )
    pts[0, :, 0] -= 30  # part of a track leaves the canvas
    visible = rng.random((n, frames)) > 0.1
    ours = draw_tracks_float(pts, visible, w, h)
    ref = reference_tracks(pts, visible, w, h)
    assert ref.any()
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize(
    "src, dst",
    [
        ((1080, 1920), (576, 1024)),
        ((1080, 1905), (544, 960)),
        ((1620, 1080), (1536, 1024)),
        ((37, 53), (80, 70)),
        ((200, 200), (64, 64)),
        ((100, 100), (7, 100)),
        ((10, 10), (10, 10)),
    ],
)
def test_bilinear_resize_matches_torch_interpolate(src, dst):
    rng = np.random.default_rng(0)
    x = rng.random((2, *src, 3), dtype=np.float32)
    x[x < 0.6] = 0
    ref = (
        F.interpolate(torch.from_numpy(x).permute(0, 3, 1, 2), size=dst, mode="bilinear", align_corners=False)
        .permute(0, 2, 3, 1)
        .numpy()
    )
    np.testing.assert_array_equal(resize_bilinear(x, *dst), ref)


def test_refusals():
    with pytest.raises(UserError, match="width"):
        draw_tracks(np.zeros((1, 2, 2)), None, 0, 64)
    with pytest.raises(UserError, match="tracks_visible"):
        draw_tracks(np.zeros((1, 2, 2)), np.ones((2, 2), bool), 64, 64)
    with pytest.raises(UserError, match="finite"):
        draw_tracks(np.full((1, 2, 2), np.nan), None, 64, 64)
    hidden_nan = np.full((1, 2, 2), np.nan)
    assert not draw_tracks(hidden_nan, np.zeros((1, 2), bool), 64, 64).any()


def test_absurd_coordinates_draw_nothing():
    pts = np.array([[[1e30, -1e30], [3e38, 5.0]]], np.float32)
    assert not draw_tracks(pts, None, 128, 64).any()
