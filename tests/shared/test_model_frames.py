"""reference_frames: a package -> exactly the control frames the model is given (engine and preview)."""

from fractions import Fraction

import numpy as np
import pytest

from shared.errors import UserError
from shared.package import ControlPackage
from shared.raster.canny import canny_edges
from shared.raster.depth import depth_to_video
from shared.raster.model_frames import attention_weights, cover_crop_geometry, cover_resize, reference_frames
from shared.raster.pose import draw_pose
from shared.raster.tracks import draw_tracks
from shared.video_rules import reference_size

F, W, H = 9, 1024, 576


def pose_package():
    body = np.zeros((F, 1, 18, 3), np.float32)
    body[:, 0, 2] = (400, 200, 1)
    body[:, 0, 3] = (600, 260, 1)
    body[:, 0, 3, 0] += np.arange(F) * 7
    return ControlPackage(kind="pose", width=W, height=H, fps=Fraction(24), frame_count=F, pose_body=body)


def test_pose_is_drawn_at_the_package_size_then_resized():
    pkg = pose_package()
    rw, rh = reference_size(W, H, 1)
    frames = reference_frames(pkg, rw, rh)
    assert frames.shape == (F, rh, rw, 3) and frames.dtype == np.uint8
    assert (frames == cover_resize(draw_pose(pkg.pose_body, None, None, W, H), rw, rh)).all()
    # drawing at the small size would give DWPose's 4 px limbs there: twice as thick as the model saw
    small = draw_pose(pkg.pose_body * np.array([0.5, 0.5, 1], np.float32), None, None, rw, rh)
    assert (small.any(-1)).sum() > 1.3 * (frames > 40).any(-1).sum()
    assert reference_frames(pkg, rw, rh, frames=5).shape[0] == 5


def test_tracks_and_canny_follow_the_same_rule():
    pts = np.stack([np.linspace(100, 900, F), np.linspace(100, 500, F)], 1)[None].astype(np.float32)
    pkg = ControlPackage(
        kind="tracks",
        width=W,
        height=H,
        fps=Fraction(24),
        frame_count=F,
        tracks=pts,
        tracks_visible=np.ones((1, F), bool),
    )
    assert (reference_frames(pkg, 256, 144) == cover_resize(draw_tracks(pts, pkg.tracks_visible, W, H), 256, 144)).all()
    rgb = np.zeros((F, H, W, 3), np.uint8)
    for f in range(F):
        rgb[f, 100 + 10 * f : 300 + 10 * f, 200:500] = (220, 200, 90)
    for setting in (None, "trainer"):
        pkg = ControlPackage(kind="canny", width=W, height=H, fps=Fraction(24), frame_count=F, rgb=rgb, canny=setting)
        expected = cover_resize(canny_edges(rgb, setting), 512, 288)
        assert (reference_frames(pkg, 512, 288) == expected).all()
        assert expected.max() > 0


def test_depth_is_normalized_over_the_whole_package():
    z = np.full((F, 144, 256), np.inf, np.float32)
    for f in range(F):
        z[f, 40:100, 60:200] = 2.0 + f  # moves away: the last frame is the farthest
    pkg = ControlPackage(kind="depth", width=W, height=H, fps=Fraction(24), frame_count=F, depth=z)
    full = depth_to_video(z, 256, 144)
    assert (reference_frames(pkg, 256, 144, frames=3) == full[:3]).all()


def test_cover_rule_and_resize():
    assert cover_crop_geometry(96, 96, 64, 32) == (64, 64, 0, 16)
    assert cover_crop_geometry(1024, 576, 512, 288) == (512, 288, 0, 0)
    img = np.random.default_rng(0).integers(0, 256, (1, 96, 96, 3), dtype=np.uint8)
    out = cover_resize(img, 64, 32)
    assert out.shape == (1, 32, 64, 3)
    torch = pytest.importorskip("torch")
    t = torch.nn.functional.interpolate(
        torch.tensor(img, dtype=torch.float32).permute(0, 3, 1, 2), size=(64, 64), mode="bilinear", align_corners=False
    )
    expected = t.permute(0, 2, 3, 1)[:, 16:48].round().clamp(0, 255).to(torch.uint8).numpy()
    assert np.abs(out.astype(int) - expected).max() <= 1


def test_refusals():
    pkg = pose_package()
    with pytest.raises(UserError, match="frames"):
        reference_frames(pkg, 512, 288, frames=F + 8)
    with pytest.raises(UserError, match="rgb"):
        reference_frames(pkg, 512, 288, kind="canny")


def test_attention_weights():
    pkg = pose_package()
    assert attention_weights(pkg, F, 64, 36) is None  # nothing to weigh: unmasked
    pkg.attention_strength = np.linspace(0, 1, F, dtype=np.float32)
    w = attention_weights(pkg, 5, 64, 36)
    assert w.shape == (5, 36, 64) and np.allclose(w[:, 0, 0], np.linspace(0, 1, F)[:5])
    job_mask = np.zeros((36, 64), np.float32)
    job_mask[:, 32:] = 1
    w = attention_weights(pkg, F, 64, 36, mask=job_mask)
    assert (w[:, :, :32] == 0).all() and np.allclose(w[-1, :, 40:], 1)
    with pytest.raises(UserError, match="attention_strength"):
        attention_weights(pkg, F + 8, 64, 36)
