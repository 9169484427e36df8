"""Pose: every chosen armature as OpenPose-18 body keypoints (+ 21-point hands, + 68 face points).

Keypoints come from the rig map (`rigs.py`), are projected through the camera, and are kept (x, y,
confidence 1) only when in front of the camera and on the frame; otherwise (0, 0, 0). The neck is the
mean of the two shoulders and exists only when both do (as OpenPose/DWPose compute it). Rigs with a
head bone get a canonical face fitted to the head (`face.py`): its 68 landmarks, and the nose, eyes
and ears of rigs without face bones. What a detector would see of the face follows the head's
orientation relative to the camera (the rules in `face.py`): facing away (> 105 degrees) drops the
landmarks, nose and eyes; a profile (> 60 degrees of yaw) drops the far eye and ear, so a profile
shows one eye and one ear; landmarks on a part of the face turned from the camera are dropped.
Custom mappings without a head bone keep the older rule: facing away measured with the nose against
the middle of the ears (or eyes), profile with the ear-to-ear (or eye-to-eye) axis, same angles.
"""

from __future__ import annotations

import numpy as np
from mathutils import Vector

from ..shared.errors import UserError
from . import face as face_mod
from .rigs import BODY_KEYPOINTS, NECK, RigMap, resolve_rig

K = {name: i for i, name in enumerate(BODY_KEYPOINTS)}
PROFILE_COS = 0.5  # custom rigs: the ear-to-ear axis within 60 degrees of the view ray
FACING_AWAY_COS = -0.25  # the face points more than ~105 degrees away from the camera
_FIT_KEYS = [K[k] for k in ("nose", "r_eye", "l_eye", "r_ear", "l_ear")]  # rigs.FIT_* order


def visible_armatures(scene, names=None):
    """The armatures to capture: the named ones, or every armature visible in the render."""
    if names is not None:
        out = []
        for n in names:
            ob = scene.objects.get(n)
            if ob is None or ob.type != "ARMATURE":
                raise UserError(f"armatures: '{n}' is not an armature in scene '{scene.name}'", "armatures")
            out.append(ob)
        return out
    obs = [ob for ob in scene.objects if ob.type == "ARMATURE" and not ob.hide_render and _visible(ob, scene)]
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


def _joint_world(ob_eval, joint, fit_points=None) -> Vector:
    if joint.where == "fit":
        return Vector(tuple(fit_points[68 + int(joint.offset[0])]))
    pb = ob_eval.pose.bones[joint.bone]
    if joint.where == "tail":
        local = pb.tail
    elif joint.where == "mid":
        local = (pb.head + pb.tail) / 2
    else:
        local = pb.head
    return ob_eval.matrix_world @ local


class PoseRecorder:
    def __init__(self, people, frame_count: int, hands: bool = True, face: bool = True, face_occlusion: bool = False):
        self.people = people
        p = len(people)
        self.body = np.zeros((frame_count, p, 18, 3), dtype=np.float32)
        self.with_hands = hands and any(rm.hands is not None for _, rm in people)
        self.hands = np.zeros((frame_count, p, 2, 21, 3), dtype=np.float32) if self.with_hands else None
        self.fits = [face_mod.fit_face(ob, rig) for ob, rig in people]  # once, from the rest pose
        self.with_face = face and any(f is not None for f in self.fits)
        self.face = np.zeros((frame_count, p, 68, 3), dtype=np.float32) if self.with_face else None
        self.occluders = [
            face_mod.Occluders(ob, rig.head) if face_occlusion and fit is not None else None
            for (ob, rig), fit in zip(people, self.fits)
        ]

    def record(self, index: int, projector, depsgraph) -> None:
        for pi, (ob, rig) in enumerate(self.people):
            ob_eval = ob.evaluated_get(depsgraph)
            fit = self.fits[pi]
            fit_world = fit.world(ob_eval) if fit is not None else None
            joints = list(rig.body)
            if self.with_hands and rig.hands is not None:
                joints += rig.hands[0] + rig.hands[1]
            mapped = [i for i, j in enumerate(joints) if j is not None]
            world = np.zeros((len(joints), 3))
            for i in mapped:
                world[i] = _joint_world(ob_eval, joints[i], None if fit_world is None else fit_world[0])
            px, in_front = projector.project(world)
            ok = np.zeros(len(joints), dtype=bool)
            ok[mapped] = True
            ok &= in_front & projector.on_canvas(px)
            if fit_world is None:
                self._face_rules(ok, world, rig, projector)
            else:
                self._fitted_face(index, pi, ok, fit_world, projector, depsgraph)
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

    def _fitted_face(self, index, pi, ok, fit_world, projector, depsgraph) -> None:
        """Face visibility from the fitted head (`face.visible`, and the character's own meshes when
        `face_occlusion`); the 68 landmarks when recorded."""
        points, frame, centre = fit_world
        to_camera = projector.camera_back if projector.ortho else projector.camera_position - centre
        marks, body = face_mod.visible(frame, to_camera / max(np.linalg.norm(to_camera), 1e-12))
        occluders = self.occluders[pi]
        if occluders is not None:
            # the body's face points where they come from the fit, else their own (bone) positions
            hidden = occluders.hidden(
                points[:68], None if projector.ortho else projector.camera_position, projector.camera_back, depsgraph
            )
            marks &= ~hidden
            ob, rig = self.people[pi]
            ob_eval = ob.evaluated_get(depsgraph)
            mapped = [j for j, k in enumerate(_FIT_KEYS) if rig.body[k] is not None]
            body_pts = np.array([np.array(_joint_world(ob_eval, rig.body[_FIT_KEYS[j]], points)) for j in mapped])
            if len(body_pts):
                body_hidden = occluders.hidden(
                    body_pts, None if projector.ortho else projector.camera_position, projector.camera_back, depsgraph
                )
                for j, h in zip(mapped, body_hidden):
                    body[j] &= not h
        for k, keep in zip(_FIT_KEYS, body):
            ok[k] &= bool(keep)
        if self.face is None:
            return
        px, in_front = projector.project(points[:68])
        keep = marks & in_front & projector.on_canvas(px)
        out = self.face[index, pi]
        out[:, :2] = np.where(keep[:, None], px, 0.0)
        out[:, 2] = keep

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
        if c < -PROFILE_COS:  # the left side faces away
            ok[K["l_eye"]] = ok[K["l_ear"]] = False
        elif c > PROFILE_COS:
            ok[K["r_eye"]] = ok[K["r_ear"]] = False
