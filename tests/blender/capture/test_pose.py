"""Rig -> OpenPose-18 (+ hands): keypoints within 0.5 px of the analytic projection of the known
bone positions; off-frame, behind-camera and turned-away rules; presets and custom mappings."""

from __future__ import annotations

import math

import bpy
import numpy as np
import pytest

from blender_addon.capture import CaptureSettings, capture_package
from blender_addon.capture.rigs import BODY_KEYPOINTS, detect_preset
from tools.scenes.basic import add_camera, analytic_projection, setup_render
from tools.scenes.humanoid import REST, _linear, add_humanoid
from blender_addon.shared.errors import UserError

pytestmark = pytest.mark.bpy_compat  # also run under bpy 4.2 and 4.5 LTS

W, H = 320, 192
# keypoint -> (bone, 0 head / 1 tail / 0.5 middle) in the humanoid's meta-rig layout: the nose tip is
# the nose bone's tail, an eye its bone's tail (the front of the eyeball), an ear its bone's middle
BODY_BONES = {
    "nose": ("nose", 1),
    "r_shoulder": ("upper_arm.R", 0),
    "r_elbow": ("forearm.R", 0),
    "r_wrist": ("hand.R", 0),
    "l_shoulder": ("upper_arm.L", 0),
    "l_elbow": ("forearm.L", 0),
    "l_wrist": ("hand.L", 0),
    "r_hip": ("thigh.R", 0),
    "r_knee": ("shin.R", 0),
    "r_ankle": ("foot.R", 0),
    "l_hip": ("thigh.L", 0),
    "l_knee": ("shin.L", 0),
    "l_ankle": ("foot.L", 0),
    "r_eye": ("eye.R", 1),
    "l_eye": ("eye.L", 1),
    "r_ear": ("ear.R", 0.5),
    "l_ear": ("ear.L", 0.5),
}


def _hand_bones(side):
    pts = [(f"hand.{side}", 0)]
    for f in ("thumb", "f_index", "f_middle", "f_ring", "f_pinky"):
        pts += [(f"{f}.01.{side}", 0), (f"{f}.02.{side}", 0), (f"{f}.03.{side}", 0), (f"{f}.03.{side}", 1)]
    return pts


def _world(bone, end, loc, angle):
    p = (1 - end) * np.array(REST[bone][0]) + end * np.array(REST[bone][1])
    c, s = math.cos(angle), math.sin(angle)
    return (c * p[0] - s * p[1] + loc[0], s * p[0] + c * p[1] + loc[1], p[2] + loc[2])


def _expected(bone_end, loc, angle):
    return np.array(analytic_projection(_world(*bone_end, loc, angle), W, H))


def _rig_scene(keys, frames=9, **kw):
    """The humanoid with armature-level keys {frame: (location, z angle)} before the test camera."""
    scene = bpy.context.scene
    setup_render(scene, W, H, 1, frames)
    add_camera(scene)
    arm = add_humanoid(scene, **kw)
    for frame, (loc, angle) in keys.items():
        arm.location = loc
        arm.rotation_euler = (0.0, 0.0, angle)
        arm.keyframe_insert("location", frame=frame)
        arm.keyframe_insert("rotation_euler", frame=frame)
    _linear(arm)
    return scene, arm


def _lerp_key(keys, frame):
    (f0, (l0, a0)), (f1, (l1, a1)) = sorted(keys.items())
    t = (frame - f0) / (f1 - f0)
    return tuple(a + (b - a) * t for a, b in zip(l0, l1)), a0 + (a1 - a0) * t


def test_keypoints_match_the_analytic_projection(empty_scene):
    keys = {1: ((0.3, 0.0, 0.0), 0.0), 9: ((-0.4, 1.0, 0.1), math.radians(24))}
    scene, _ = _rig_scene(keys)
    pkg = capture_package(scene, CaptureSettings(kind="pose"))
    assert pkg.pose_body.shape == (9, 1, 18, 3) and pkg.pose_hands.shape == (9, 1, 2, 21, 3)
    for i, frame in enumerate(range(1, 10)):
        loc, angle = _lerp_key(keys, frame)
        body = pkg.pose_body[i, 0]
        for name, bone_end in BODY_BONES.items():
            k = BODY_KEYPOINTS.index(name)
            assert body[k, 2] == 1.0, (frame, name)
            err = np.abs(body[k, :2] - _expected(bone_end, loc, angle)).max()
            assert err < 0.5, (frame, name, err)
        # neck: the mean of the shoulders, as OpenPose computes it
        np.testing.assert_allclose(body[1, :2], (body[2, :2] + body[5, :2]) / 2, atol=1e-4)
        assert body[1, 2] == 1.0
        for h, side in enumerate("LR"):
            for j, bone_end in enumerate(_hand_bones(side)):
                pt = pkg.pose_hands[i, 0, h, j]
                assert pt[2] == 1.0
                assert np.abs(pt[:2] - _expected(bone_end, loc, angle)).max() < 0.5, (frame, side, j)


def test_off_frame_and_behind_camera_keypoints_are_dropped(empty_scene):
    # frame 1: shifted right so the left arm leaves the frame; frame 9: behind the camera.
    keys = {1: ((2.0, 0.0, 0.0), 0.0), 9: ((2.0, -16.0, 0.0), 0.0)}
    scene, _ = _rig_scene(keys)
    pkg = capture_package(scene, CaptureSettings(kind="pose"))
    body = pkg.pose_body[0, 0]
    dropped = []
    for name, bone_end in BODY_BONES.items():
        u, v = _expected(bone_end, (2.0, 0.0, 0.0), 0.0)
        on = 0 <= u < W and 0 <= v < H
        k = BODY_KEYPOINTS.index(name)
        assert body[k, 2] == float(on), name
        if not on:
            dropped.append(name)
            assert (body[k, :2] == 0).all()
    assert "l_wrist" in dropped and "r_shoulder" not in dropped
    assert body[1, 2] == float(body[2, 2] and body[5, 2])  # no neck without both shoulders
    assert (pkg.pose_body[-1, 0, :, 2] == 0).all()  # behind the camera: nothing
    assert (pkg.pose_hands[-1, 0, :, :, 2] == 0).all()


def _conf(pkg, i):
    return {name: pkg.pose_body[i, 0, k, 2] for k, name in enumerate(BODY_KEYPOINTS)}


def test_face_turned_away_drops_nose_and_eyes_profile_drops_far_side(empty_scene):
    keys = {1: ((0.0, 0.0, 0.0), 0.0), 9: ((0.0, 0.0, 0.0), math.radians(180))}
    scene, _ = _rig_scene(keys)
    pkg = capture_package(scene, CaptureSettings(kind="pose"))
    front, profile, back = _conf(pkg, 0), _conf(pkg, 4), _conf(pkg, 8)  # 0, 90, 180 degrees
    assert all(front[k] == 1 for k in ("nose", "l_eye", "r_eye", "l_ear", "r_ear"))
    # 90 degrees: facing +X, the character's left side points away from the camera.
    assert profile["nose"] == 1 and profile["r_eye"] == 1 and profile["r_ear"] == 1
    assert profile["l_eye"] == 0 and profile["l_ear"] == 0
    # 180 degrees: seen from behind; the ears stay, nose and eyes go.
    assert back["nose"] == 0 and back["l_eye"] == 0 and back["r_eye"] == 0
    assert back["l_ear"] == 1 and back["r_ear"] == 1 and back["l_shoulder"] == 1


def _rename(arm, mapping):
    for old, new in mapping.items():
        arm.data.bones[old].name = new


def test_presets_rigify_mixamo_and_custom(empty_scene):
    keys = {1: ((0.0, 0.0, 0.0), 0.0), 9: ((0.0, 0.0, 0.0), 0.0)}
    scene, arm = _rig_scene(keys, with_mesh=False)
    ref = capture_package(scene, CaptureSettings(kind="pose", frame_count=9)).pose_body
    # Rigify: DEF- copies of the meta-rig names
    _rename(arm, {b.name: "DEF-" + b.name for b in list(arm.data.bones)})
    assert detect_preset([b.name for b in arm.pose.bones]) == "rigify"
    got = capture_package(scene, CaptureSettings(kind="pose", frame_count=9)).pose_body
    np.testing.assert_allclose(got, ref, atol=1e-4)
    # Mixamo names with a prefix (nose/eyes/ears come from the fitted face, no hands)
    mix = {
        "DEF-upper_arm.L": "mixamorig:LeftArm",
        "DEF-forearm.L": "mixamorig:LeftForeArm",
        "DEF-hand.L": "mixamorig:LeftHand",
        "DEF-thigh.L": "mixamorig:LeftUpLeg",
        "DEF-shin.L": "mixamorig:LeftLeg",
        "DEF-foot.L": "mixamorig:LeftFoot",
        "DEF-upper_arm.R": "mixamorig:RightArm",
        "DEF-forearm.R": "mixamorig:RightForeArm",
        "DEF-hand.R": "mixamorig:RightHand",
        "DEF-thigh.R": "mixamorig:RightUpLeg",
        "DEF-shin.R": "mixamorig:RightLeg",
        "DEF-foot.R": "mixamorig:RightFoot",
        "DEF-spine.006": "mixamorig:Head",
        "DEF-eye.L": "mixamorig:LeftEye",
        "DEF-eye.R": "mixamorig:RightEye",
    }
    _rename(arm, mix)
    assert detect_preset([b.name for b in arm.pose.bones]) == "mixamo"
    got = capture_package(scene, CaptureSettings(kind="pose", frame_count=9, hands=False)).pose_body
    face_keys = ("nose", "r_ear", "l_ear", "r_eye", "l_eye")
    limbs = [BODY_KEYPOINTS.index(k) for k in BODY_BONES if k not in face_keys]
    np.testing.assert_allclose(got[:, :, limbs], ref[:, :, limbs], atol=1e-4)
    assert (got[:, 0, [BODY_KEYPOINTS.index(k) for k in face_keys], 2] == 1).all()  # from the fitted face
    # Custom: map two keypoints by hand; the rest stay absent
    custom = {"l_wrist": "mixamorig:LeftHand", "r_wrist": "mixamorig:RightForeArm@tail"}
    got = capture_package(
        scene, CaptureSettings(kind="pose", frame_count=9, rig_preset="custom", custom_mapping=custom)
    ).pose_body
    lw, rw = BODY_KEYPOINTS.index("l_wrist"), BODY_KEYPOINTS.index("r_wrist")
    np.testing.assert_allclose(got[:, 0, [lw, rw]], ref[:, 0, [lw, rw]], atol=1e-4)
    assert got[:, 0, :, 2].sum() == 2 * 9
    with pytest.raises(UserError, match="has no bone named 'Nope'"):
        capture_package(scene, CaptureSettings(kind="pose", rig_preset="custom", custom_mapping={"nose": "Nope"}))
    with pytest.raises(UserError, match="unknown keypoint"):
        capture_package(
            scene, CaptureSettings(kind="pose", rig_preset="custom", custom_mapping={"tail": "mixamorig:Head"})
        )


def test_no_rig_is_a_clear_error(empty_scene):
    scene = bpy.context.scene
    setup_render(scene, W, H, 1, 9)
    add_camera(scene)
    with pytest.raises(UserError, match="no visible armature"):
        capture_package(scene, CaptureSettings(kind="pose"))


def test_hidden_armature_is_not_captured_and_two_people_are(empty_scene):
    keys = {1: ((-0.6, 0.0, 0.0), 0.0), 9: ((-0.6, 0.0, 0.0), 0.0)}
    scene, a = _rig_scene(keys, with_mesh=False)
    b = add_humanoid(scene, "Second", with_mesh=False)
    b.location = (0.6, 0.0, 0.0)
    pkg = capture_package(scene, CaptureSettings(kind="pose", frame_count=9))
    assert pkg.pose_body.shape[1] == 2
    assert pkg.pose_body[0, 0, 2, 0] < pkg.pose_body[0, 1, 2, 0]  # sorted by name: Armature, Second
    b.hide_render = True
    pkg = capture_package(scene, CaptureSettings(kind="pose", frame_count=9))
    assert pkg.pose_body.shape[1] == 1
