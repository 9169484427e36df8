"""Keyframed objects, empties and bones -> per-frame 2D points matching the analytic projection."""

from __future__ import annotations

import numpy as np
import pytest

from blender_addon.capture import CaptureSettings, capture_package
from blender_addon.capture.tracks import OFF_CANVAS
from tools.scenes.basic import analytic_projection, build_track_scene, track_position
from tools.scenes.humanoid import REST, add_humanoid
from blender_addon.shared.errors import UserError

pytestmark = pytest.mark.bpy_compat  # also run under bpy 4.2 and 4.5 LTS

W, H = 128, 64


def test_object_and_empty_tracks_match(empty_scene):
    scene = build_track_scene(W, H, frames=9)
    pkg = capture_package(scene, CaptureSettings(kind="tracks", track_targets=("Marker", "Cube")))
    assert pkg.tracks.shape == (2, 9, 2) and pkg.tracks.dtype == np.float32
    assert pkg.tracks_visible.all()
    for n, name in enumerate(("Marker", "Cube")):
        for i, frame in enumerate(range(1, 10)):
            expected = analytic_projection(track_position(name, frame), W, H)
            assert np.abs(pkg.tracks[n, i] - expected).max() < 0.01, (name, frame)
    # the cube comes towards the camera on the right: it ends off the canvas but keeps real coords
    assert pkg.tracks[1, -1, 0] > W


def test_point_behind_the_camera_is_parked_off_canvas(empty_scene):
    scene = build_track_scene(W, H, frames=9)
    pkg = capture_package(scene, CaptureSettings(kind="tracks", track_targets=("Ghost",)))
    for i, frame in enumerate(range(1, 10)):
        y = track_position("Ghost", frame)[1]
        in_front = y > -6.0
        assert pkg.tracks_visible[0, i] == in_front
        if not in_front:
            assert (pkg.tracks[0, i] == OFF_CANVAS).all()


def test_bone_track(empty_scene):
    scene = build_track_scene(W, H, frames=9)
    arm = add_humanoid(scene, "Rig", with_mesh=False)
    arm.location = (0.5, 1.0, 0.0)
    pkg = capture_package(scene, CaptureSettings(kind="tracks", track_targets=("Rig:hand.L",)))
    head = np.array(REST["hand.L"][0]) + (0.5, 1.0, 0.0)
    np.testing.assert_allclose(pkg.tracks[0, 0], analytic_projection(head, W, H), atol=0.01)


def test_unknown_targets_are_refused(empty_scene):
    scene = build_track_scene(W, H, frames=9)
    with pytest.raises(UserError, match="no object named 'Nope'"):
        capture_package(scene, CaptureSettings(kind="tracks", track_targets=("Nope",)))
    with pytest.raises(UserError, match="no pose bone"):
        capture_package(scene, CaptureSettings(kind="tracks", track_targets=("Cube:hand.L",)))
