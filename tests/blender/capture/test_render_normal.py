"""The `render`, `normal` and `mask` scene passes from small scenes with known geometry: camera-space
normals of a plane facing the camera encode to (128, 128, 255), a turned plane to its turned colour, a
turning camera changes the normals per frame; the render shows the scene in its own look and puts
every setting back; a mask package's silhouette is its control, not an attention mask."""

from __future__ import annotations

import math

import bpy
import numpy as np
import pytest

from blender_addon.capture import CaptureSettings, capture_package
from blender_addon.capture.engine_probe import engine_available
from blender_addon.capture.rgb import render_frames
from blender_addon.shared.raster.model_frames import attention_weights, reference_frames
from blender_addon.shared.raster.normal import encode_normals
from tests.blender.capture.test_scene_untouched import _snapshot, _user_settings
from tools.scenes.basic import CAMERA_LOCATION, PLANE_SIZE, add_plane, analytic_projection, build_plane_scene
from tools.scenes.demo import build_demo_scene

W, H = 128, 64
DIST = 4.0


def _plane_pixels(width, height, margin=2):
    """Boolean masks (inside, outside) of the plane of build_plane_scene at that size."""
    h = PLANE_SIZE / 2
    y = CAMERA_LOCATION[1] + DIST
    u0, v0 = analytic_projection((-h, y, CAMERA_LOCATION[2] + h), width, height)
    u1, v1 = analytic_projection((h, y, CAMERA_LOCATION[2] - h), width, height)
    uc, vc = np.arange(width) + 0.5, np.arange(height) + 0.5
    inside = (
        (uc[None] > u0 + margin) & (uc[None] < u1 - margin) & (vc[:, None] > v0 + margin) & (vc[:, None] < v1 - margin)
    )
    outside = (
        (uc[None] < u0 - margin) | (uc[None] > u1 + margin) | (vc[:, None] < v0 - margin) | (vc[:, None] > v1 + margin)
    )
    return inside, outside


def _light(scene):
    world = bpy.data.worlds.new("W")
    world.color = (0.0, 0.0, 0.0)
    scene.world = world
    sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
    sun.rotation_euler = (math.pi / 2, 0.0, 0.0)  # shining along +Y onto the plane
    scene.collection.objects.link(sun)


@pytest.mark.bpy_compat
def test_plane_facing_the_camera_has_the_normal_colour_128_128_255(empty_scene):
    scene = build_plane_scene(DIST, W, H, frames=9)
    pkg = capture_package(scene, CaptureSettings(kind="normal", reference_downscale_factor=1))
    assert pkg.kind == "normal" and pkg.normal.shape == (9, H // 2, W // 2, 3)  # the size the model sees
    inside, outside = _plane_pixels(W // 2, H // 2)
    for frame in pkg.normal:
        np.testing.assert_allclose(frame[inside], np.tile([0.0, 0.0, 1.0], (inside.sum(), 1)), atol=1e-4)
        assert (frame[outside] == 0).all()  # background: the zero vector
    video = reference_frames(pkg, W // 2, H // 2)
    assert (video[:, inside] == [128, 128, 255]).all() and (video[:, outside] == 0).all()


@pytest.mark.bpy_compat
def test_turned_plane_and_turning_camera(empty_scene):
    """A plane turned 30 degrees to the right shows red > 128 (x right); a camera yawing to the left by
    0.1 rad over the clip sees the facing plane's normal turn to -x, frame by frame."""
    scene = build_plane_scene(DIST, W, H, frames=9)
    turned = add_plane(scene, "Turned", 0.24, (0.0, CAMERA_LOCATION[1] + 2.0, CAMERA_LOCATION[2] - 0.18))
    turned.rotation_euler = (0.0, 0.0, math.radians(30))
    cam = scene.camera
    bpy.context.preferences.edit.keyframe_new_interpolation_type = "LINEAR"
    for frame, yaw in ((1, 0.0), (9, 0.1)):
        cam.rotation_euler = (math.pi / 2, 0.0, yaw)
        cam.keyframe_insert("rotation_euler", frame=frame)
    scene.frame_set(3)
    pkg = capture_package(scene, CaptureSettings(kind="normal", reference_downscale_factor=1, depth_size="full"))
    assert scene.frame_current == 3  # put back
    n = pkg.normal
    assert n.shape == (9, H, W, 3)
    centre = n[:, H // 2 - 6, W // 2]  # the facing plane, above the turned one
    np.testing.assert_allclose(centre[0], [0.0, 0.0, 1.0], atol=1e-4)
    np.testing.assert_allclose(centre[-1], [-math.sin(0.1), 0.0, math.cos(0.1)], atol=1e-3)
    assert (np.diff(centre[:, 0]) < 0).all()  # turning a little more every frame
    # the turned plane at frame 1: (sin 30, 0, cos 30) -> RGB (191, 128, 238)
    u, v = analytic_projection((0.0, CAMERA_LOCATION[1] + 2.0, CAMERA_LOCATION[2] - 0.18), W, H)
    np.testing.assert_allclose(n[0, int(v), int(u)], [0.5, 0.0, math.cos(math.radians(30))], atol=2e-3)
    assert tuple(encode_normals(n[0, int(v), int(u)])) == (191, 128, 238)


@pytest.mark.bpy_compat
def test_render_pass_in_the_scenes_own_look(empty_scene):
    scene = build_plane_scene(DIST, W, H, frames=9)
    _light(scene)
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 2
    scene.render.resolution_percentage = 50
    before = (scene.render.resolution_x, scene.render.resolution_percentage, scene.render.filepath)
    pkg = capture_package(scene, CaptureSettings(kind="render", width=W, height=H, render_engine="SCENE"))
    assert pkg.kind == "render" and pkg.rgb.shape == (9, H, W, 3) and pkg.rgb.dtype == np.uint8
    assert (scene.render.resolution_x, scene.render.resolution_percentage, scene.render.filepath) == before
    inside, outside = _plane_pixels(W, H)
    frame = pkg.rgb[4].astype(int)
    assert np.abs(frame[inside].mean(0) - frame[outside].mean(0)).max() > 20  # the lit plane stands out
    assert (reference_frames(pkg, W // 2, H // 2) == reference_frames(pkg, W // 2, H // 2)).all()
    assert reference_frames(pkg, W // 2, H // 2).shape == (9, H // 2, W // 2, 3)


@pytest.mark.bpy_compat
def test_render_pass_leaves_the_users_settings_as_they_were(empty_scene):
    scene = build_demo_scene(frames=9, width=128, height=64)
    _user_settings(scene)
    scene.cycles.samples = 1  # the user's own samples are what SCENE renders with: keep the test quick
    before = _snapshot(scene)
    rgb = render_frames(scene, [1, 5], 64, 32, engine="SCENE")
    assert rgb.shape == (2, 32, 64, 3) and rgb.max() > 0
    assert _snapshot(scene) == before
    for settings in (
        CaptureSettings(kind="normal", width=128, height=64),
        CaptureSettings(kind="mask", mask_objects=("Armature_Body",), width=128, height=64),
    ):
        capture_package(scene, settings)
        assert _snapshot(scene) == before, settings.kind


@pytest.mark.bpy_compat
def test_scene_engine_that_cannot_render_here_falls_back_to_cycles(empty_scene, monkeypatch):
    monkeypatch.setenv("LTX_SCENE_RENDER_PROBE", "off")  # as on a machine without an EGL driver
    scene = build_plane_scene(DIST, W, H, frames=9)
    _light(scene)
    scene.render.engine = "BLENDER_WORKBENCH"
    messages = []
    rgb = render_frames(scene, [1], W, H, engine="SCENE", samples=1, progress=lambda f, m: messages.append(m))
    assert rgb.shape == (1, H, W, 3)
    assert scene.render.engine == "BLENDER_WORKBENCH"
    assert any("cannot render here" in m and "cycles" in m for m in messages)


def test_workbench_playblast_look(empty_scene):
    if not engine_available("BLENDER_WORKBENCH"):
        pytest.skip("no EGL driver here: Workbench cannot render")
    scene = build_plane_scene(DIST, W, H, frames=9)
    pkg = capture_package(scene, CaptureSettings(kind="render", render_engine="BLENDER_WORKBENCH"))
    inside, outside = _plane_pixels(W, H)
    frame = pkg.rgb[0].astype(int)
    assert np.abs(frame[inside].mean(0) - frame[outside].mean(0)).max() > 20


@pytest.mark.bpy_compat
def test_mask_pass_is_the_control_not_an_attention_mask(empty_scene):
    scene = build_plane_scene(DIST, W, H, frames=9)
    pkg = capture_package(scene, CaptureSettings(kind="mask", mask_objects=("Plane",), reference_downscale_factor=1))
    assert pkg.kind == "mask" and pkg.mask.shape == (9, H // 2, W // 2)
    video = reference_frames(pkg, W // 2, H // 2)
    inside, outside = _plane_pixels(W // 2, H // 2)
    assert (video[:, inside] == 255).all() and (video[:, outside] == 0).all()
    weights = attention_weights(pkg, 9, W // 2, H // 2)  # the silhouette is not also an attention mask
    assert weights is None or (weights == 1).all()
    from blender_addon.shared.errors import UserError

    with pytest.raises(UserError, match="mask pass is the silhouettes"):
        capture_package(scene, CaptureSettings(kind="mask"))


def test_headless_render_controls_normal_frames(empty_scene, tmp_path):
    """`python -m tools.headless render-controls --control normal`: the package and PNG frames at the
    generation size, the plane facing the camera in (128, 128, 255)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from blender_addon.shared.package import ControlPackage
    from blender_addon.shared.png import read_png

    build_plane_scene(DIST, W, H, frames=9)
    blend = tmp_path / "plane.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    repo = Path(__file__).resolve().parents[3]
    env = dict(os.environ, PYTHONPATH=str(repo), LTX_SCENE_RENDER_PROBE="off")
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.headless",
            "render-controls",
            str(blend),
            "--control",
            "normal",
            "--out",
            str(out),
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    pkg = ControlPackage.load(out / "control.npz")
    assert pkg.kind == "normal" and pkg.normal.shape[0] == 9
    frame = read_png(out / "frames" / "frame_00004.png")
    assert frame.shape == (H, W, 3)
    inside, outside = _plane_pixels(W, H, margin=3)
    assert (frame[inside] == [128, 128, 255]).all() and (frame[outside] == 0).all()
