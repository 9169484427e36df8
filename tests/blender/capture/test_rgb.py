"""The canny source: an 8-bit RGB render at the generation size (Workbench or Cycles)."""

from __future__ import annotations

import numpy as np
import pytest

from blender_addon.capture import CaptureSettings, capture_package
from blender_addon.capture.engine_probe import engine_available
from tools.scenes.basic import CAMERA_LOCATION, PLANE_SIZE, analytic_projection, build_plane_scene

pytestmark = pytest.mark.bpy_compat  # also run under bpy 4.2 and 4.5 LTS

W, H = 128, 64


@pytest.mark.parametrize("engine", ["CYCLES", "BLENDER_WORKBENCH"])
def test_rgb_render_shows_the_plane_where_it_projects(empty_scene, engine):
    if engine != "CYCLES" and not engine_available(engine):
        pytest.skip("no EGL driver here: Workbench cannot render")
    scene = build_plane_scene(4.0, W, H, frames=9)
    if engine == "CYCLES":  # Cycles needs light to show anything
        import bpy

        world = bpy.data.worlds.new("W")
        world.color = (0.0, 0.0, 0.0)
        scene.world = world
        sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
        sun.rotation_euler = (1.5707963, 0.0, 0.0)  # shining along +Y onto the plane
        scene.collection.objects.link(sun)
    pkg = capture_package(scene, CaptureSettings(kind="canny", rgb_engine=engine, rgb_samples=2, first_frame=True))
    assert pkg.rgb.shape == (9, H, W, 3) and pkg.rgb.dtype == np.uint8
    np.testing.assert_array_equal(pkg.first_frame, pkg.rgb[0])
    h = PLANE_SIZE / 2
    y = CAMERA_LOCATION[1] + 4.0
    u0, v0 = analytic_projection((-h, y, CAMERA_LOCATION[2] + h), W, H)
    u1, v1 = analytic_projection((h, y, CAMERA_LOCATION[2] - h), W, H)
    frame = pkg.rgb[4].astype(int)
    inside = frame[int(v0) + 2 : int(v1) - 1, int(u0) + 2 : int(u1) - 1].reshape(-1, 3)
    outside = np.concatenate([frame[:, : int(u0) - 2].reshape(-1, 3), frame[:, int(u1) + 3 :].reshape(-1, 3)])
    assert np.ptp(inside, axis=0).max() <= 16 and np.ptp(outside, axis=0).max() <= 16  # smooth regions
    assert np.abs(inside.mean(0) - outside.mean(0)).max() > 20  # the plane stands out
