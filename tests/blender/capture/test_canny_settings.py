"""A canny capture records its edge settings in the package: the Union 2.3 workflow's by default,
whatever the capture settings ask for otherwise (a `canny` preset name or settings dict)."""

from __future__ import annotations

import math

import bpy

from blender_addon.capture import CaptureSettings, capture_package
from blender_addon.shared.raster.canny import canny_settings


def _scene():
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 64, 64, 100
    scene.frame_start, scene.frame_end = 1, 9
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    cam.location, cam.rotation_euler = (0.0, -4.0, 0.0), (math.pi / 2, 0.0, 0.0)
    scene.collection.objects.link(cam)
    scene.camera = cam
    return scene


def test_canny_packages_record_their_settings(empty_scene):
    scene = _scene()
    pkg = capture_package(scene, CaptureSettings(kind="canny", rgb_engine="CYCLES", rgb_samples=1))
    assert pkg.canny == canny_settings() == {"preset": "union-2.3", "low": 92, "high": 200, "short_side": 512}
    assert pkg.manifest()["canny"] == pkg.canny
    settings = CaptureSettings(kind="canny", rgb_engine="CYCLES", rgb_samples=1)
    settings.canny = "trainer"  # what a panel option sets
    assert capture_package(scene, settings).canny["preset"] == "trainer"
    assert capture_package(scene, CaptureSettings(kind="tracks", track_targets=("Camera",))).canny is None
