"""Faces from rigs: the 68 landmarks (and the nose, eyes, ears of rigs without face bones) lie inside
the head's projected silhouette on every frame, for Mixamo-named, Rigify and meta-rig characters with
a skinned head; the profile rule. The scenes are built here (own armatures, own head meshes)."""

from __future__ import annotations

import math

import bmesh
import bpy
import numpy as np
import pytest
from bpy_extras.object_utils import world_to_camera_view

from blender_addon.capture import CaptureSettings, capture_package
from blender_addon.capture.rigs import BODY_KEYPOINTS

W = H = 320
FRAMES = 17
FACE_KEYS = [BODY_KEYPOINTS.index(k) for k in ("nose", "r_eye", "l_eye", "r_ear", "l_ear")]

# bone layout (armature space, metres; the character faces -Y, its left is +X); the Mixamo head bone
# is long (0.233 m, like the Mixamo FBX in three.js' examples) and rolled, the others are not
BONES = {
    "spine": ((0.0, 0.0, 1.0), (0.0, 0.0, 1.42)),
    "upper_arm.L": ((0.18, 0.0, 1.42), (0.3, 0.0, 1.15)),
    "upper_arm.R": ((-0.18, 0.0, 1.42), (-0.3, 0.0, 1.15)),
    "forearm.L": ((0.3, 0.0, 1.15), (0.36, 0.0, 0.9)),
    "forearm.R": ((-0.3, 0.0, 1.15), (-0.36, 0.0, 0.9)),
    "spine.006": ((0.0, 0.0, 1.55), (0.0, 0.0, 1.74)),
}
NAMES = {
    "metarig": {n: n for n in BONES},
    "rigify": {n: "DEF-" + n for n in BONES},
    "mixamo": {
        "spine": "mixamorig:Spine",
        "upper_arm.L": "mixamorig:LeftArm",
        "upper_arm.R": "mixamorig:RightArm",
        "forearm.L": "mixamorig:LeftForeArm",
        "forearm.R": "mixamorig:RightForeArm",
        "spine.006": "mixamorig:Head",
    },
}


def _character(scene, family):
    names = NAMES[family]
    data = bpy.data.armatures.new(family)
    arm = bpy.data.objects.new(family, data)
    scene.collection.objects.link(arm)
    view_layer = scene.view_layers[0]
    view_layer.objects.active = arm
    with bpy.context.temp_override(scene=scene, view_layer=view_layer, active_object=arm, object=arm):
        bpy.ops.object.mode_set(mode="EDIT")
        for n, (head, tail) in BONES.items():
            eb = data.edit_bones.new(names[n])
            eb.head, eb.tail = head, tail
            if n == "spine.006" and family == "mixamo":
                eb.tail = (0.0, 0.0, 1.55 + 0.233)
                eb.roll = 1.2
        for n in BONES:
            if n != "spine":
                data.edit_bones[names[n]].parent = data.edit_bones[names["spine"]]
        bpy.ops.object.mode_set(mode="OBJECT")
    for pb in arm.pose.bones:
        pb.rotation_mode = "XYZ"
    # the skinned head: an egg 15 cm wide, 19 deep, 24 tall, weighted to the head bone; a torso box
    bm = bmesh.new()
    bmesh.ops.create_uvsphere(bm, u_segments=24, v_segments=14, radius=1.0)
    for v in bm.verts:
        v.co = (v.co.x * 0.075, v.co.y * 0.095 - 0.012, v.co.z * 0.12 + 1.665)
    head_verts = len(bm.verts)
    torso = [
        bm.verts.new(p)
        for p in (
            (-0.15, -0.1, 1.0),
            (0.15, -0.1, 1.0),
            (0.15, 0.1, 1.0),
            (-0.15, 0.1, 1.0),
            (-0.15, -0.1, 1.45),
            (0.15, -0.1, 1.45),
            (0.15, 0.1, 1.45),
            (-0.15, 0.1, 1.45),
        )
    ]
    for quad in ((0, 1, 2, 3), (4, 7, 6, 5), (0, 4, 5, 1), (1, 5, 6, 2), (2, 6, 7, 3), (3, 7, 4, 0)):
        bm.faces.new([torso[i] for i in quad])
    mesh = bpy.data.meshes.new(family + "_body")
    bm.to_mesh(mesh)
    bm.free()
    body = bpy.data.objects.new(family + "_Body", mesh)
    scene.collection.objects.link(body)
    head = [v.index for v in mesh.vertices if v.co.z > 1.5]  # (to_mesh does not keep the creation order)
    assert len(head) == head_verts
    body.vertex_groups.new(name=names["spine.006"]).add(head, 1.0, "REPLACE")
    body.vertex_groups.new(name=names["spine"]).add([v.index for v in mesh.vertices if v.co.z <= 1.5], 1.0, "REPLACE")
    body.modifiers.new("Armature", "ARMATURE").object = arm
    body.parent = arm
    return arm, body, names["spine.006"]


def _scene(family, head_yaw_deg, body_yaw_deg=(0.0, 0.0), pitch_deg=0.0):
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = W, H, 100
    scene.frame_start, scene.frame_end = 1, FRAMES
    cam_data = bpy.data.cameras.new("Camera")
    cam_data.lens = 50
    cam = bpy.data.objects.new("Camera", cam_data)
    cam.location, cam.rotation_euler = (0.0, -1.6, 1.62), (math.pi / 2, 0.0, 0.0)
    scene.collection.objects.link(cam)
    scene.camera = cam
    arm, body, head = _character(scene, family)
    pb = arm.pose.bones[head]
    for frame, t in ((1, 0.0), (FRAMES, 1.0)):
        pb.rotation_euler = (
            math.radians(pitch_deg) * t,
            math.radians(head_yaw_deg[0] + t * (head_yaw_deg[1] - head_yaw_deg[0])),
            0.0,
        )
        pb.keyframe_insert("rotation_euler", frame=frame)
        arm.rotation_euler = (0.0, 0.0, math.radians(body_yaw_deg[0] + t * (body_yaw_deg[1] - body_yaw_deg[0])))
        arm.keyframe_insert("rotation_euler", frame=frame)
    for fc in _fcurves(arm):
        for kp in fc.keyframe_points:
            kp.interpolation = "LINEAR"
    return scene, cam, body


def _fcurves(ob):
    action = ob.animation_data.action
    if hasattr(action, "fcurves") and len(action.fcurves):
        return list(action.fcurves)
    return [fc for layer in action.layers for strip in layer.strips for bag in strip.channelbags for fc in bag.fcurves]


def _head_triangles(scene, cam, body, head_group):
    """The head mesh's triangles projected to output pixels (T, 3, 2), for the current frame."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    ev = body.evaluated_get(depsgraph)
    mesh = ev.to_mesh()
    gi = body.vertex_groups[head_group].index
    head = {v.index for v in body.data.vertices if any(g.group == gi for g in v.groups)}
    mesh.calc_loop_triangles()
    mw = ev.matrix_world
    px = []
    for v in mesh.vertices:
        u, vv, _ = world_to_camera_view(scene, cam, mw @ v.co)
        px.append((u * W, (1 - vv) * H))
    px = np.array(px)
    tris = np.array([px[list(t.vertices)] for t in mesh.loop_triangles if set(t.vertices) <= head])
    ev.to_mesh_clear()
    return tris


def _inside(tris, point, tol=0.5):
    """Is `point` inside (or within tol px of) any of the projected triangles?"""
    a, b, c = tris[:, 0], tris[:, 1], tris[:, 2]

    def side(p0, p1, q):
        edge = p1 - p0
        n = np.linalg.norm(edge, axis=1) + 1e-12
        return (edge[:, 0] * (q[1] - p0[:, 1]) - edge[:, 1] * (q[0] - p0[:, 0])) / n

    s1, s2, s3 = side(a, b, point), side(b, c, point), side(c, a, point)
    return bool((((s1 >= -tol) & (s2 >= -tol) & (s3 >= -tol)) | ((s1 <= tol) & (s2 <= tol) & (s3 <= tol))).any())


@pytest.mark.parametrize("family", ["mixamo", "rigify", "metarig"])
def test_face_points_stay_inside_the_head_silhouette(empty_scene, family):
    scene, cam, body = _scene(family, head_yaw_deg=(-60.0, 55.0), body_yaw_deg=(-20.0, 30.0), pitch_deg=25.0)
    pkg = capture_package(scene, CaptureSettings(kind="pose"))
    assert pkg.pose_face is not None and pkg.pose_face.shape == (FRAMES, 1, 68, 3)
    head_group = NAMES[family]["spine.006"]
    checked = 0
    for i, frame in enumerate(range(1, FRAMES + 1)):
        scene.frame_set(frame)
        tris = _head_triangles(scene, cam, body, head_group)
        points = [p for p in pkg.pose_face[i, 0] if p[2] > 0]
        points += [pkg.pose_body[i, 0, k] for k in FACE_KEYS if pkg.pose_body[i, 0, k, 2] > 0]
        assert len(points) >= 25, (family, frame)
        for p in points:
            assert _inside(tris, p[:2]), (family, frame, p)
        checked += len(points)
    assert checked > 600


def _visible(pkg, i):
    names = ("nose", "r_eye", "l_eye", "r_ear", "l_ear")
    body = {n: bool(pkg.pose_body[i, 0, BODY_KEYPOINTS.index(n), 2]) for n in names}
    return body, pkg.pose_face[i, 0, :, 2] > 0


@pytest.mark.parametrize("family", ["mixamo", "metarig"])
def test_profile_shows_one_eye_and_one_ear(empty_scene, family):
    """Head yaw 0 -> 180 degrees over 17 frames (11.25 degrees a frame), the camera in front."""
    scene, _, _ = _scene(family, head_yaw_deg=(0.0, 180.0))
    pkg = capture_package(scene, CaptureSettings(kind="pose"))
    for i in range(FRAMES):
        yaw = 11.25 * i
        body, marks = _visible(pkg, i)
        if yaw <= 45:  # frontal to three-quarter: both eyes, both ears, most of the face
            assert all(body.values()), (yaw, body)
            assert marks.sum() >= 50
        elif yaw < 60:
            assert body["l_eye"] and body["r_eye"]
        elif yaw < 105:  # profile: the character's left side turned away
            assert body == {"nose": True, "r_eye": True, "l_eye": False, "r_ear": True, "l_ear": False}, yaw
            assert not marks[42:48].any() and marks[36:42].all() and marks[30]
            assert not marks[16] and marks[0]  # the far cheek's jaw end is hidden
        else:  # facing away: no face, the ears stay
            assert not marks.any() and not body["nose"] and not body["l_eye"] and not body["r_eye"]
            assert body["r_ear"] and body["l_ear"]


def _occluder(scene, arm, bone):
    """A box (a raised hand) between the camera and the mouth, skinned to `bone` of the character."""
    verts = [(x, y, z) for z in (1.57, 1.63) for y in (-0.3, -0.26) for x in (-0.05, 0.05)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh = bpy.data.meshes.new("Hand")
    mesh.from_pydata(verts, [], faces)
    ob = bpy.data.objects.new("Hand", mesh)
    scene.collection.objects.link(ob)
    ob.vertex_groups.new(name=bone).add(list(range(8)), 1.0, "REPLACE")
    ob.modifiers.new("Armature", "ARMATURE").object = arm
    return ob


def test_points_behind_the_characters_own_mesh_are_dropped_when_asked(empty_scene):
    scene, cam, body = _scene("metarig", head_yaw_deg=(0.0, 0.0))
    _occluder(scene, body.parent, "spine")
    plain = capture_package(scene, CaptureSettings(kind="pose"))
    settings = CaptureSettings(kind="pose")
    settings.face_occlusion = True  # the capture option (a panel toggle sets it)
    occluded = capture_package(scene, settings)
    mouth = slice(48, 68)
    assert (plain.pose_face[:, 0, mouth, 2] == 1).all()
    assert (occluded.pose_face[:, 0, mouth, 2] == 0).all()
    eyes = list(range(36, 48))
    assert (occluded.pose_face[:, 0, eyes, 2] == 1).all()  # above the hand: still seen
    assert (occluded.pose_body[:, 0, FACE_KEYS, 2] == plain.pose_body[:, 0, FACE_KEYS, 2]).all()
