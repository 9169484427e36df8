from fractions import Fraction

import numpy as np
import pytest

from shared.errors import UserError
from shared.package import ControlPackage
from shared.raster import attention_mask, depth_to_video, rasterize
from shared.raster.tracks import draw_tracks


# ---------------------------------------------------------------------------------------- depth
def test_clip_global_normalization_near_white_far_frame_not_stretched():
    z = np.full((2, 4, 6), 10.0, np.float32)
    z[0, :, :3] = 1.0  # frame 0: near object + far wall; frame 1: far wall only
    v = depth_to_video(z)
    assert v.shape == (2, 4, 6, 3) and v.dtype == np.uint8
    assert (v[0, :, :3] == 255).all()  # nearest in the clip: white
    assert (v[0, :, 3:] == 0).all()  # farthest in the clip: black
    assert (v[1] == 0).all()  # per-frame normalization would have made this white


def test_background_black_and_inverse_depth_values():
    z = np.array([[[1.0, 2.0, np.inf, 4.0]]], np.float32)
    v = depth_to_video(z)
    # d = 1, .5, 0, .25 over [0, 1] -> 255, 127.5 -> 128 (half to even), 0, 63.75 -> 64
    np.testing.assert_array_equal(v[0, 0, :, 0], [255, 128, 0, 64])
    assert (v[..., 0] == v[..., 1]).all() and (v[..., 1] == v[..., 2]).all()  # grey


def test_depth_resize_and_constant_clip():
    z = np.full((3, 9, 16), 5.0, np.float32)
    v = depth_to_video(z, 32, 18)
    assert v.shape == (3, 18, 32, 3) and (v == 255).all()  # one depth everywhere: geometry white
    z[:, :, :8] = np.inf
    v = depth_to_video(z, 32, 18)
    assert (v[:, :, :14] == 0).all() and (v[:, :, 18:] == 255).all()
    with pytest.raises(UserError, match="depth"):
        depth_to_video(np.ones((4, 4), np.float32))


# ----------------------------------------------------------------------------------------- mask
def test_no_mask_is_strength_per_frame():
    m = attention_mask(None, np.array([0, 0.5, 1], np.float32), 3, 8, 4)
    assert m.shape == (3, 4, 8) and m.dtype == np.float32
    assert (m[0] == 0).all() and (m[1] == 0.5).all() and (m[2] == 1).all()
    assert (attention_mask(None, None, 2, 8, 4) == 1).all()
    assert (attention_mask(None, 0.25, 2, 8, 4) == 0.25).all()


def test_spatial_and_spatiotemporal_masks():
    spatial = np.zeros((4, 8), np.float32)
    spatial[1:3, 2:5] = 1
    m = attention_mask(spatial, np.array([1, 0.5], np.float32), 2, 8, 4)
    np.testing.assert_array_equal(m[0], spatial)
    np.testing.assert_array_equal(m[1], spatial * 0.5)
    temporal = np.stack([spatial, 1 - spatial])
    m = attention_mask(temporal, None, 2, 8, 4)
    np.testing.assert_array_equal(m[1], 1 - spatial)


def test_dilate_and_feather():
    dot = np.zeros((21, 21), np.float32)
    dot[10, 10] = 1
    m = attention_mask(dot, None, 1, 21, 21, dilate_px=3)[0]
    assert m.sum() == 49 and (m[7:14, 7:14] == 1).all()
    block = np.zeros((41, 41), np.float32)
    block[10:31, 10:31] = 1
    soft = attention_mask(block, None, 1, 41, 41, feather_px=6)[0]
    assert soft[20, 20] == pytest.approx(1.0) and soft[0, 0] == 0
    assert 0 < soft[20, 9] < 0.5 < soft[20, 10] < 1  # the edge is soft on both sides
    assert soft[20, 3] == 0 and soft[20, 17] == pytest.approx(1.0)
    assert np.all(np.diff(soft[20, :21]) >= -1e-6)  # rises monotonically into the block


def test_mask_resize_and_refusals():
    m = attention_mask(np.ones((2, 4), np.float32), None, 3, 16, 8)
    assert m.shape == (3, 8, 16) and (m == 1).all()
    with pytest.raises(UserError) as err:
        attention_mask(np.ones((2, 4, 8), np.float32), None, 3, 8, 4)
    assert err.value.field == "mask"
    with pytest.raises(UserError):
        attention_mask(np.full((4, 8), 2.0), None, 3, 8, 4)
    with pytest.raises(UserError) as err:
        attention_mask(None, np.ones(2), 3, 8, 4)
    assert err.value.field == "attention_strength"


# ------------------------------------------------------------------------------------ rasterize
def test_rasterize_dispatches_on_kind():
    depth = np.full((9, 18, 32), 3.0, np.float32)
    depth[:, :, :16] = 6.0
    pkg = ControlPackage("depth", 64, 36, Fraction(24), 9, depth=depth)
    np.testing.assert_array_equal(rasterize(pkg), depth_to_video(depth, 64, 36))
    pts = np.zeros((1, 9, 2), np.float32)
    pts[0, :, 0] = np.arange(9) * 20 + 50
    pts[0, :, 1] = 100
    tracks = ControlPackage("tracks", 320, 192, Fraction(24), 9, tracks=pts, tracks_visible=np.ones((1, 9), bool))
    np.testing.assert_array_equal(rasterize(tracks), draw_tracks(pts, None, 320, 192))
    # another size: coordinates scale with it
    np.testing.assert_array_equal(rasterize(tracks, 640, 384), draw_tracks(pts * 2, None, 640, 384))
    body = np.zeros((9, 1, 18, 3), np.float32)
    body[:, 0, 0] = (32, 18, 1)
    pose = ControlPackage("pose", 64, 36, Fraction(24), 9, pose_body=body)
    frames = rasterize(pose)
    assert tuple(frames[4, 18, 32]) == (255, 0, 0)
    canny = ControlPackage("canny", 64, 36, Fraction(24), 9, rgb=np.zeros((9, 36, 64, 3), np.uint8))
    with pytest.raises(UserError, match="reference_frames"):  # edges: shared.raster.model_frames
        rasterize(canny)


@pytest.mark.parametrize("radius", [1, 2, 3, 5, 13])
def test_box_blur_is_the_window_mean_with_replicated_edges(radius):
    from shared.raster.mask import _box_blur_axis

    x = np.random.default_rng(radius).random((2, 17, 40), dtype=np.float32)
    for axis in (-1, -2):
        pad = [(0, 0)] * 3
        pad[axis] = (radius, radius)
        padded = np.pad(x, pad, mode="edge").astype(np.float64)
        windows = [
            np.take(padded, np.arange(i, i + 2 * radius + 1), axis=axis).mean(axis=axis) for i in range(x.shape[axis])
        ]
        np.testing.assert_allclose(_box_blur_axis(x, radius, axis), np.stack(windows, axis=axis), atol=1e-5)
