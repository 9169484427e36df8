"""Pose: every chosen armature as OpenPose-18 body keypoints (+ 21-point hands) per frame.

Keypoints come from the rig map (`rigs.py`), are projected through the camera, and are kept (x, y,
confidence 1) only when in front of the camera and on the frame; otherwise (0, 0, 0). The neck is the
mean of the two shoulders and exists only when both do (as OpenPose/DWPose compute it). The face
follows what a detector would see:
- facing away: when the face's forward direction (nose minus the middle of the ears, or of the eyes)
  points more than ~105 degrees away from the view ray (a profile still shows the nose), nose and
  eyes are dropped;
- profile: with the head turned more than 60 degrees from the camera, the far-side eye and ear are
  dropped (cos of the angle between left-right axis of the head and the view ray beyond +-0.5).
"""
from __future__ import annotations

import numpy as np
from mathutils import Vector

from ..shared.errors import UserError
from .rigs import BODY_KEYPOINTS, NECK, RigMap, resolve_rig

K = {name: i for i, name in enumerate(BODY_KEYPOINTS)}
PROFILE_COS = 0.5
FACING_AWAY_COS = -0.25   # the face points more than ~105 degrees away from the camera


def visible_armatures(scene, names=None):
    """The armatures to capture: the named ones, or every armature visible in the render."""
    if names is not None:
        out = []
        for n in names:
            ob = scene.objects.get(n)
            if ob is None or ob.type != 'ARMATURE':
                raise UserError(f"armatures: '{n}' is not an armature in scene '{scene.name}'", "armatures")
            out.append(ob)
        return out
    obs = [ob for ob in scene.objects if ob.type == 'ARMATURE' and not ob.hide_render
           and _visible(ob, scene)]
    return sorted(obs, key=lambda ob: ob.name)


def _visible(ob, scene) -> bool:
    try:
        return ob.visible_get(view_layer=scene.view_layers[0]) or ob.visible_get()
    except (RuntimeError, TypeError):
        return not ob.hide_get()


def resolve_people(scene, settings) -> list[tuple[object, RigMap]]:
    """(armature, rig map) for every person; unknown rigs are skipped unless named explicitly."""
    people = []
    explicit = settings.armatures is not None
    for ob in visible_armatures(scene, settings.armatures):
        try:
            people.append((ob, resolve_rig(ob, settings.rig_preset, settings.custom_mapping)))
        except UserError:
            if explicit or settings.rig_preset != "auto":
                raise
    return people


def _joint_world(ob_eval, joint) -> Vector:
    pb = ob_eval.pose.bones[joint.bone]
    if joint.where == "tail":
        local = pb.tail
    elif joint.where == "offset":
        local = pb.matrix @ (Vector(joint.offset) * pb.length)
    else:
        local = pb.head
    return ob_eval.matrix_world @ local


class PoseRecorder:
    def __init__(self, people, frame_count: int, hands: bool = True):
        self.people = people
        p = len(people)
        self.body = np.zeros((frame_count, p, 18, 3), dtype=np.float32)
        self.with_hands = hands and any(rm.hands is not None for _, rm in people)
        self.hands = np.zeros((frame_count, p, 2, 21, 3), dtype=np.float32) if self.with_hands else None

    def record(self, index: int, projector, depsgraph) -> None:
        for pi, (ob, rig) in enumerate(self.people):
            ob_eval = ob.evaluated_get(depsgraph)
            joints = list(rig.body)
            if self.with_hands and rig.hands is not None:
                joints += rig.hands[0] + rig.hands[1]
            mapped = [i for i, j in enumerate(joints) if j is not None]
            world = np.zeros((len(joints), 3))
            for i in mapped:
                world[i] = _joint_world(ob_eval, joints[i])
            px, in_front = projector.project(world)
            ok = np.zeros(len(joints), dtype=bool)
            ok[mapped] = True
            ok &= in_front & projector.on_canvas(px)
            self._face_rules(ok, world, rig, projector)
            body_ok = ok[:18]
            out = self.body[index, pi]
            out[:, :2] = np.where(body_ok[:, None], px[:18], 0.0)
            out[:, 2] = body_ok
            rs, ls = K["r_shoulder"], K["l_shoulder"]
            if body_ok[rs] and body_ok[ls]:
                out[NECK] = [(out[rs, 0] + out[ls, 0]) / 2, (out[rs, 1] + out[ls, 1]) / 2, 1.0]
            else:
                out[NECK] = 0.0
            if self.with_hands and rig.hands is not None:
                hand_ok = ok[18:].reshape(2, 21)
                hpx = px[18:].reshape(2, 21, 2)
                self.hands[index, pi, :, :, :2] = np.where(hand_ok[..., None], hpx, 0.0)
                self.hands[index, pi, :, :, 2] = hand_ok

    @staticmethod
    def _face_rules(ok, world, rig: RigMap, projector) -> None:
        m = {name: rig.body[i] is not None for name, i in K.items()}
        pt = {name: world[i] for name, i in K.items()}

        def to_camera(p):
            if projector.ortho:
                return projector.camera_back
            v = projector.camera_position - p
            return v / max(np.linalg.norm(v), 1e-12)

        if m["l_ear"] and m["r_ear"]:
            center, lateral = (pt["l_ear"] + pt["r_ear"]) / 2, pt["l_ear"] - pt["r_ear"]
        elif m["l_eye"] and m["r_eye"]:
            center, lateral = (pt["l_eye"] + pt["r_eye"]) / 2, pt["l_eye"] - pt["r_eye"]
        else:
            return
        if m["nose"]:
            forward = pt["nose"] - center
            fn = np.linalg.norm(forward)
            if fn > 1e-12 and np.dot(forward / fn, to_camera(pt["nose"])) < FACING_AWAY_COS:
                for name in ("nose", "l_eye", "r_eye"):
                    ok[K[name]] = False
        norm = np.linalg.norm(lateral)
        if norm < 1e-12:
            return
        c = float(np.dot(lateral / norm, to_camera(center)))
        if c < -PROFILE_COS:      # the left side faces away
            ok[K["l_eye"]] = ok[K["l_ear"]] = False
        elif c > PROFILE_COS:
            ok[K["r_eye"]] = ok[K["r_ear"]] = False
