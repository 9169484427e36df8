"""A humanoid armature with Blender meta-rig bone names (and face + finger bones), built from data.

`REST` holds every bone's (head, tail) in armature space, metres, character facing -Y with its left
on +X (the meta-rig convention), so tests know the exact joint positions. `add_humanoid` creates the
armature and optionally a box-per-bone mesh bound to it with an Armature modifier.
"""

from __future__ import annotations

import math

import bpy


def _side(name, rest, parent, head, tail):
    for s, sign in (("L", 1.0), ("R", -1.0)):
        rest[f"{name}.{s}"] = (
            (sign * head[0], head[1], head[2]),
            (sign * tail[0], tail[1], tail[2]),
            parent.replace("@", s) if parent else None,
        )


def _build_rest():
    rest = {}
    spine = [0.95, 1.10, 1.25, 1.38, 1.50, 1.58, 1.64, 1.86]
    names = ["spine", "spine.001", "spine.002", "spine.003", "spine.004", "spine.005", "spine.006"]
    for i, n in enumerate(names):
        rest[n] = ((0.0, 0.0, spine[i]), (0.0, 0.0, spine[i + 1]), names[i - 1] if i else None)
    _side("shoulder", rest, "spine.003", (0.02, 0.0, 1.46), (0.17, 0.0, 1.46))
    _side("upper_arm", rest, "shoulder.@", (0.18, 0.0, 1.45), (0.24, 0.0, 1.17))
    _side("forearm", rest, "upper_arm.@", (0.24, 0.0, 1.17), (0.28, -0.02, 0.92))
    _side("hand", rest, "forearm.@", (0.28, -0.02, 0.92), (0.29, -0.02, 0.84))
    fingers = {
        "thumb": (0.28, -0.05, 0.88),
        "f_index": (0.29, -0.04, 0.84),
        "f_middle": (0.295, -0.02, 0.835),
        "f_ring": (0.29, 0.0, 0.84),
        "f_pinky": (0.285, 0.02, 0.845),
    }
    for f, (x, y, z) in fingers.items():
        parent = "hand.@"
        for k in range(1, 4):
            _side(f"{f}.0{k}", rest, parent, (x, y, z - 0.025 * (k - 1)), (x, y, z - 0.025 * k))
            parent = f"{f}.0{k}.@"
    _side("thigh", rest, "spine", (0.10, 0.0, 0.95), (0.10, 0.0, 0.52))
    _side("shin", rest, "thigh.@", (0.10, 0.0, 0.52), (0.10, 0.01, 0.10))
    _side("foot", rest, "shin.@", (0.10, 0.01, 0.10), (0.10, -0.12, 0.03))
    _side("toe", rest, "foot.@", (0.10, -0.12, 0.03), (0.10, -0.18, 0.03))
    _side("eye", rest, "spine.006", (0.035, -0.09, 1.78), (0.035, -0.11, 1.78))
    _side("ear", rest, "spine.006", (0.085, 0.0, 1.76), (0.095, 0.01, 1.79))
    rest["nose"] = ((0.0, -0.09, 1.79), (0.0, -0.115, 1.75), "spine.006")
    return rest


REST = _build_rest()


def add_humanoid(scene, name: str = "Armature", with_mesh: bool = True, face: bool = True, fingers: bool = True):
    """Create the armature (and its bound mesh) in `scene`; returns the armature object."""
    data = bpy.data.armatures.new(name)
    arm = bpy.data.objects.new(name, data)
    scene.collection.objects.link(arm)
    view_layer = scene.view_layers[0]
    prev_active = view_layer.objects.active
    view_layer.objects.active = arm
    bones = {
        n: v
        for n, v in REST.items()
        if (face or n.split(".")[0] not in ("eye", "ear", "nose")) and (fingers or not n.startswith(("thumb", "f_")))
    }
    with bpy.context.temp_override(scene=scene, view_layer=view_layer, active_object=arm, object=arm):
        bpy.ops.object.mode_set(mode="EDIT")
        for n, (head, tail, _parent) in bones.items():
            eb = data.edit_bones.new(n)
            eb.head, eb.tail = head, tail
            eb.roll = 0.0
        for n, (_h, _t, parent) in bones.items():
            if parent:
                data.edit_bones[n].parent = data.edit_bones[parent]
        bpy.ops.object.mode_set(mode="OBJECT")
    view_layer.objects.active = prev_active
    for pb in arm.pose.bones:
        pb.rotation_mode = "XYZ"
    if with_mesh:
        _add_body(scene, arm, bones)
    return arm


def _add_body(scene, arm, bones):
    """A box around every bone, weighted 1 to it, deformed by an Armature modifier."""
    verts, faces, groups = [], [], {}
    for n, (head, tail, _p) in bones.items():
        if n.split(".")[0] in ("eye", "ear", "nose") or n.startswith(("thumb", "f_")):
            continue
        r = 0.09 if n.startswith(("spine", "thigh")) else 0.05
        if n == "spine.006":
            r = 0.10
        base = len(verts)
        hx, hy, hz = head
        tx, ty, tz = tail
        for x, y, z in ((hx, hy, hz), (tx, ty, tz)):
            for dx, dy in ((-r, -r), (r, -r), (r, r), (-r, r)):
                verts.append((x + dx, y + dy, z))
        faces += [
            (base + a, base + b, base + c, base + d)
            for a, b, c, d in ((0, 1, 2, 3), (4, 7, 6, 5), (0, 4, 5, 1), (1, 5, 6, 2), (2, 6, 7, 3), (3, 7, 4, 0))
        ]
        groups[n] = list(range(base, base + 8))
    mesh = bpy.data.meshes.new(arm.name + "_body")
    mesh.from_pydata(verts, [], faces)
    body = bpy.data.objects.new(arm.name + "_Body", mesh)
    scene.collection.objects.link(body)
    for n, idx in groups.items():
        body.vertex_groups.new(name=n).add(idx, 1.0, "REPLACE")
    mod = body.modifiers.new("Armature", "ARMATURE")
    mod.object = arm
    body.parent = arm
    return body


def key_walk(arm, frame_start: int, frame_end: int, speed: float = 0.8, fps: float = 24.0, step_frames: int = 24):
    """A walk cycle towards -Y: legs and arms swing, the armature moves forward."""
    pb = arm.pose.bones
    for f in range(frame_start, frame_end + 1, 4):
        phase = 2 * math.pi * (f - frame_start) / step_frames
        swing = 0.45 * math.sin(phase)
        for bone, value in (
            ("thigh.L", swing),
            ("thigh.R", -swing),
            ("shin.L", -0.4 * max(0.0, -math.sin(phase))),
            ("shin.R", -0.4 * max(0.0, math.sin(phase))),
            ("upper_arm.L", -0.6 * swing),
            ("upper_arm.R", 0.6 * swing),
        ):
            pb[bone].rotation_euler = (value, 0.0, 0.0)
            pb[bone].keyframe_insert("rotation_euler", frame=f)
        pb["spine.006"].rotation_euler = (0.0, 0.0, 0.25 * math.sin(phase / 2))
        pb["spine.006"].keyframe_insert("rotation_euler", frame=f)
    arm.location = (0.0, 0.0, 0.0)
    arm.keyframe_insert("location", frame=frame_start)
    arm.location = (0.0, -speed * (frame_end - frame_start) / fps, 0.0)
    arm.keyframe_insert("location", frame=frame_end)
    _linear(arm)


def _linear(ob):
    """Linear interpolation for all of an object's keys (so tests can compute positions exactly)."""
    ad = ob.animation_data
    if ad is None or ad.action is None:
        return
    for fc in _fcurves(ad.action):
        for kp in fc.keyframe_points:
            kp.interpolation = "LINEAR"


def _fcurves(action):
    """All F-curves of an action (5.0 keeps them in layers / slots / channelbags)."""
    if hasattr(action, "layers") and len(getattr(action, "layers", ())) > 0:
        out = []
        for layer in action.layers:
            for strip in layer.strips:
                for bag in strip.channelbags:
                    out.extend(bag.fcurves)
        return out
    return list(action.fcurves)
