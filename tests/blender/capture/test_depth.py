"""Depth of a plane at a known distance: planar Z, background +inf, at the reference size."""

from __future__ import annotations

import numpy as np
import pytest

from blender_addon.capture import CaptureSettings, capture_package
from blender_addon.capture.depth import render_z
from blender_addon.capture.engine_probe import engine_available
from tools.scenes.basic import CAMERA_LOCATION, PLANE_SIZE, analytic_projection, build_plane_scene

DIST = 4.0


def _plane_rect(width, height):
    """Pixel rectangle (u0, v0, u1, v1) of the 4 m plane of build_plane_scene at the given size."""
    y = CAMERA_LOCATION[1] + DIST
    h = PLANE_SIZE / 2
    u0, v0 = analytic_projection((-h, y, CAMERA_LOCATION[2] + h), width, height)
    u1, v1 = analytic_projection((h, y, CAMERA_LOCATION[2] - h), width, height)
    return u0, v0, u1, v1


def _check_plane(z, width, height):
    assert z.shape == (height, width) and z.dtype == np.float32
    u0, v0, u1, v1 = _plane_rect(width, height)
    uc = np.arange(width) + 0.5
    vc = np.arange(height) + 0.5
    inside = (uc[None, :] > u0 + 1) & (uc[None, :] < u1 - 1) & (vc[:, None] > v0 + 1) & (vc[:, None] < v1 - 1)
    outside = (uc[None, :] < u0 - 1) | (uc[None, :] > u1 + 1) | (vc[:, None] < v0 - 1) | (vc[:, None] > v1 + 1)
    assert inside.sum() > 50 and outside.sum() > 500
    # Planar Z: the same value across the plane (radial distance would grow towards the edges).
    np.testing.assert_allclose(z[inside], DIST, atol=2e-4)
    assert np.isposinf(z[outside]).all()


@pytest.mark.bpy_compat
@pytest.mark.parametrize("engine", ["CYCLES", "BLENDER_WORKBENCH"])
def test_plane_depth_per_engine(empty_scene, engine):
    if engine != "CYCLES" and not engine_available(engine):
        pytest.skip("no EGL driver here: Workbench cannot render (Cycles covers depth)")
    scene = build_plane_scene(DIST, 128, 64, frames=9)
    z = render_z(scene, [1, 5], 128, 64, engine)
    for frame in z:
        _check_plane(frame, 128, 64)


@pytest.mark.bpy_compat
def test_package_depth_at_reference_size_without_egl(empty_scene, monkeypatch):
    """With the probe forced off (as on a machine without EGL) capture falls back to Cycles."""
    monkeypatch.setenv("LTX_SCENE_RENDER_PROBE", "off")
    scene = build_plane_scene(DIST, 256, 128, frames=9)
    messages = []
    pkg = capture_package(scene, CaptureSettings(kind="depth"), lambda f, m: messages.append((f, m)))
    assert (pkg.width, pkg.height, pkg.frame_count) == (256, 128, 9)
    assert pkg.depth.shape == (9, 64, 128)  # stage-1 half size: what the model sees
    for frame in pkg.depth:
        _check_plane(frame, 128, 64)
    assert any("cycles frame" in m for _, m in messages)
    fractions = [f for f, _ in messages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


@pytest.mark.bpy_compat
def test_full_size_depth_on_request(empty_scene, monkeypatch):
    monkeypatch.setenv("LTX_SCENE_RENDER_PROBE", "off")
    scene = build_plane_scene(DIST, 128, 64, frames=9)
    pkg = capture_package(scene, CaptureSettings(kind="depth", depth_size="full", frame_count=9))
    assert pkg.depth.shape == (9, 64, 128)
    _check_plane(pkg.depth[4], 128, 64)
