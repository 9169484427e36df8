"""Face landmarks from a rig: a canonical 3D face fitted to the head, in the 68-point order DWPose draws.

Union Control's pose data has DWPose's 68 face landmarks on every visible face; a rig has no face
points, so a canonical face is fitted to the head once per capture and then moves rigidly with the
head bone (it turns with the head and stays on it):
- the face frame, in the head bone's own space: up = along the head bone; left = the character's
  left (the left shoulder minus the right one at rest, made perpendicular to up); forward = left x up.
  No assumption about bone roll (Mixamo, Rigify and the meta-rig differ);
- its size: from the skinned head mesh where there is one (the vertices weighted >= 0.5 to the head
  bone, their extent in the face frame), else from the head bone's length (a head about that tall,
  0.66 of it wide, 0.84 deep);
- `TEMPLATE` is a canonical face (x left, y up, z forward; units of the head's half extents, origin
  at the head's centre, eyes on y = 0) in iBUG-68 order: jaw 0-16 from the character's right ear
  round the chin to the left, brows 17-26, nose bridge 27-30 (30 = the tip), nostrils 31-35, right
  eye 36-41, left eye 42-47, outer lips 48-59, inner lips 60-67. With a mesh, every point is pulled
  in to 90 % of the distance from the head's centre to the mesh surface along its direction, so
  the points lie inside the head and project inside its silhouette from any view.
Visibility (`visible`), with v = the direction to the camera in the face frame and yaw = its angle
from forward around the up axis:
- facing away (the angle between forward and v above 105 degrees): no landmark, no nose, no eyes
  (the ears stay, as DWPose finds them on the back of a head);
- profile: past 60 degrees of yaw the far eye (its body point, its 6 landmarks and its brow) and the
  far ear are dropped, so a profile shows one eye and one ear;
- every other landmark is dropped when the face surface there turns more than 105 degrees from the
  camera (the same angle as the whole face; its outward normal in `TEMPLATE_NORMALS` against v): the
  far cheek's jaw points go first when the head turns, the nose tip lasts as long as the nose.
When asked (`Occluders`, the capture setting `face_occlusion`), points hidden by the character's
own meshes are dropped too: a ray from the point towards the camera that hits a polygon of a mesh
skinned to the armature, other than the head's own (the points lie just inside the head), means a
hand or an arm is in front of the face. This costs a BVH of the posed meshes per frame. Off-frame
and behind-camera points are dropped by the caller like every keypoint.
"""

from __future__ import annotations

import math

import bpy
import numpy as np

FACING_AWAY_DEG = 105.0
PROFILE_DEG = 60.0
INSIDE = 0.9  # landmarks at this fraction of the centre-to-surface distance


def _template():
    pts = []
    for i in range(17):  # jaw: right ear -> chin -> left ear
        a = math.radians(-85 + 170 * i / 16)
        pts.append((0.92 * math.sin(a), 0.05 - 1.0 * math.cos(a) ** 1.2, 0.3 + 0.6 * math.cos(a)))
    for sign, order in ((-1, (0.62, 0.5, 0.38, 0.26, 0.14)), (1, (0.14, 0.26, 0.38, 0.5, 0.62))):
        for x in order:  # brows, outer -> inner on the right
            pts.append((sign * x, 0.24 + 0.06 * math.sin(math.pi * (x - 0.1) / 0.55), 0.95 - 0.3 * x))
    for k in range(4):  # nose bridge down to the tip
        pts.append((0.0, 0.08 - 0.13 * k, 1.0 + 0.08 * k))
    for x in (-0.17, -0.09, 0.0, 0.09, 0.17):  # nostrils
        pts.append((x, -0.42 + 0.04 * (abs(x) < 0.01), 1.08 - 0.5 * abs(x)))
    for cx, corners in ((-0.33, (-0.46, -0.2)), (0.33, (0.2, 0.46))):
        outer_first = corners  # right eye: 36 outer corner; left: 42 inner
        x0, x3 = outer_first
        lid = [
            (x0, 0.0),
            (x0 + (x3 - x0) / 3, 0.05),
            (x0 + 2 * (x3 - x0) / 3, 0.05),
            (x3, 0.0),
            (x0 + 2 * (x3 - x0) / 3, -0.045),
            (x0 + (x3 - x0) / 3, -0.045),
        ]
        for x, y in lid:
            pts.append((x, y, 0.9 - 0.35 * abs(x - cx) - 0.15 * abs(cx)))
    for k in range(12):  # outer lips from the right corner, upper first
        a = math.pi - 2 * math.pi * k / 12
        pts.append((0.3 * math.cos(a), -0.62 + 0.1 * math.sin(a), 0.98 - 0.35 * abs(math.cos(a))))
    for k in range(8):  # inner lips
        a = math.pi - 2 * math.pi * k / 8
        pts.append((0.2 * math.cos(a), -0.62 + 0.03 * math.sin(a), 0.96 - 0.3 * abs(math.cos(a))))
    return np.array(pts, np.float64)


TEMPLATE = _template()
assert TEMPLATE.shape == (68, 3)
R_EYE_POINTS, L_EYE_POINTS = list(range(36, 42)), list(range(42, 48))
R_BROW_POINTS, L_BROW_POINTS = list(range(17, 22)), list(range(22, 27))
# body points a fit provides, in rigs.FIT_* order: nose tip, right eye, left eye, right ear, left ear
BODY_POINTS = np.array(
    [
        TEMPLATE[30],
        TEMPLATE[R_EYE_POINTS].mean(0),
        TEMPLATE[L_EYE_POINTS].mean(0),
        (-1.0, 0.0, -0.05),
        (1.0, 0.0, -0.05),
    ],
    np.float64,
)


def _normals(points):
    """Outward directions of the face surface: from an axis behind the face, flattened vertically."""
    n = points - np.array([0.0, -0.2, -0.2])
    n[:, 1] *= 0.4
    return n / np.linalg.norm(n, axis=1, keepdims=True)


TEMPLATE_NORMALS = _normals(TEMPLATE)


class FaceFit:
    """A fitted face in the head bone's space: `local` (73, 3) points (68 landmarks, then the 5
    `BODY_POINTS`), `frame` (3 x 3, columns left, up, forward), `centre` (the head's centre)."""

    def __init__(self, bone: str, local: np.ndarray, frame: np.ndarray, centre: np.ndarray):
        self.bone, self.local, self.frame, self.centre = bone, local, frame, centre

    def world(self, ob_eval) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(points (73, 3), face frame (3, 3), head centre) in world space for the evaluated armature."""
        m = np.array(ob_eval.matrix_world, np.float64) @ np.array(ob_eval.pose.bones[self.bone].matrix, np.float64)
        pts = self.local @ m[:3, :3].T + m[:3, 3]
        frame = m[:3, :3] @ self.frame
        frame /= np.linalg.norm(frame, axis=0, keepdims=True)
        return pts, frame, m[:3, :3] @ self.centre + m[:3, 3]


def _face_frame(arm_ob, rig, bone) -> np.ndarray:
    """Columns left, up, forward of the face in the head bone's rest space."""
    from .rigs import BODY_KEYPOINTS

    to_local = np.array(bone.matrix_local, np.float64)[:3, :3].T
    up = np.array([0.0, 1.0, 0.0])
    shoulders = [rig.body[BODY_KEYPOINTS.index(k)] for k in ("l_shoulder", "r_shoulder")]
    if all(j is not None and j.bone in arm_ob.data.bones for j in shoulders):
        left = np.array(arm_ob.data.bones[shoulders[0].bone].head_local, np.float64) - np.array(
            arm_ob.data.bones[shoulders[1].bone].head_local, np.float64
        )
        left = to_local @ left
    else:
        left = np.array([1.0, 0.0, 0.0])  # the meta-rig convention
    left -= up * np.dot(left, up)
    if np.linalg.norm(left) < 1e-9:
        left = np.array([1.0, 0.0, 0.0])
    left /= np.linalg.norm(left)
    forward = np.cross(left, up)
    return np.stack([left, up, forward], axis=1)


def _head_mesh(arm_ob, bone_name):
    """(vertices in armature rest space (N, 3), polygons, head vertex mask) of the meshes skinned to
    the armature with a vertex group for the head bone, or None."""
    arm_inv = np.linalg.inv(np.array(arm_ob.matrix_world, np.float64))
    verts, polys, head = [], [], []
    for ob in bpy.data.objects:
        if ob.type != "MESH" or bone_name not in ob.vertex_groups:
            continue
        if not any(m.type == "ARMATURE" and m.object == arm_ob for m in ob.modifiers):
            continue
        gi = ob.vertex_groups[bone_name].index
        mesh = ob.data
        co = np.empty(len(mesh.vertices) * 3)
        mesh.vertices.foreach_get("co", co)
        m = arm_inv @ np.array(ob.matrix_world, np.float64)
        co = co.reshape(-1, 3) @ m[:3, :3].T + m[:3, 3]
        weights = np.array([next((g.weight for g in v.groups if g.group == gi), 0.0) for v in mesh.vertices])
        base = sum(len(v) for v in verts)
        verts.append(co)
        head.append(weights >= 0.5)
        polys += [[base + i for i in p.vertices] for p in mesh.polygons]
    if not verts or not np.concatenate(head).any():
        return None
    return np.concatenate(verts), polys, np.concatenate(head)


def fit_face(arm_ob, rig) -> FaceFit | None:
    """The canonical face fitted to `rig.head` of `arm_ob` (see the module docstring), or None."""
    if rig.head is None or rig.head not in arm_ob.data.bones:
        return None
    bone = arm_ob.data.bones[rig.head]
    frame = _face_frame(arm_ob, rig, bone)
    rest = np.array(bone.matrix_local, np.float64)
    rest_inv = np.linalg.inv(rest)
    found = _head_mesh(arm_ob, rig.head)
    if found is not None:
        verts, polys, head = found
        local = verts @ rest_inv[:3, :3].T + rest_inv[:3, 3]  # head bone rest space
        f = local[head] @ frame  # face-frame coordinates
        lo, hi = f.min(0), f.max(0)
        centre_f, half = (lo + hi) / 2, (hi - lo) / 2
    else:
        length = bone.length
        local = polys = None
        centre_f = np.array([0.0, 0.5 * length, 0.0])
        half = np.array([0.33, 0.5, 0.42]) * length
    pts_f = centre_f + np.concatenate([TEMPLATE, BODY_POINTS]) * half
    centre = frame @ centre_f
    pts = pts_f @ frame.T
    if local is not None:
        pts = _pull_inside(pts, centre, local, polys)
    return FaceFit(rig.head, pts, frame, centre)


def _pull_inside(pts, centre, verts, polys):
    """Move points to at most INSIDE x the centre-to-surface distance along their direction."""
    from mathutils import Vector
    from mathutils.bvhtree import BVHTree

    tree = BVHTree.FromPolygons([tuple(v) for v in verts], polys)
    out = pts.copy()
    c = Vector(tuple(centre))
    for i, p in enumerate(pts):
        d = p - centre
        dist = float(np.linalg.norm(d))
        if dist < 1e-9:
            continue
        hit = tree.ray_cast(c, Vector(tuple(d / dist)))
        if hit[0] is not None and dist > INSIDE * hit[3]:
            out[i] = centre + d / dist * INSIDE * hit[3]
    return out


def visible(frame_world: np.ndarray, to_camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(landmarks (68,) bool, body points (5,) bool [nose, r_eye, l_eye, r_ear, l_ear]) by the rules
    of the module docstring; to_camera: unit vector from the head towards the camera."""
    v = frame_world.T @ to_camera  # (left, up, forward) components
    v = v / max(np.linalg.norm(v), 1e-12)
    marks = np.ones(68, bool)
    body = np.ones(5, bool)
    if v[2] < math.cos(math.radians(FACING_AWAY_DEG)):
        marks[:] = False
        body[:3] = False
        return marks, body
    marks &= TEMPLATE_NORMALS @ v >= math.cos(math.radians(FACING_AWAY_DEG))
    yaw = math.degrees(math.atan2(v[0], v[2]))  # > 0: the camera is on the character's left
    if yaw > PROFILE_DEG:  # the right side faces away
        marks[R_EYE_POINTS + R_BROW_POINTS] = False
        body[[1, 3]] = False
    elif yaw < -PROFILE_DEG:
        marks[L_EYE_POINTS + L_BROW_POINTS] = False
        body[[2, 4]] = False
    return marks, body


class Occluders:
    """The meshes skinned to an armature, for ray casts against their posed shape (see above)."""

    def __init__(self, arm_ob, head_bone: str):
        self.meshes = []
        for ob in bpy.data.objects:
            if ob.type != "MESH" or not any(m.type == "ARMATURE" and m.object == arm_ob for m in ob.modifiers):
                continue
            head_polys = None
            if head_bone in ob.vertex_groups:
                gi = ob.vertex_groups[head_bone].index
                head = np.array([any(g.group == gi and g.weight >= 0.5 for g in v.groups) for v in ob.data.vertices])
                head_polys = np.array([head[list(p.vertices)].all() for p in ob.data.polygons], bool)
            self.meshes.append((ob, head_polys))

    def hidden(
        self, points: np.ndarray, camera_position: np.ndarray | None, camera_back: np.ndarray, depsgraph
    ) -> np.ndarray:
        """(N,) bool: the ray from each world point towards the camera hits a non-head polygon."""
        from mathutils import Matrix, Vector
        from mathutils.bvhtree import BVHTree

        out = np.zeros(len(points), bool)
        for ob, head_polys in self.meshes:
            ev = ob.evaluated_get(depsgraph)
            mesh = ev.to_mesh()  # object space, the modifiers applied
            co = np.empty(len(mesh.vertices) * 3)
            mesh.vertices.foreach_get("co", co)
            # polygon indices of this tree are the mesh's polygon indices (head_polys' order)
            tree = BVHTree.FromPolygons(
                [tuple(v) for v in co.reshape(-1, 3)], [tuple(poly.vertices) for poly in mesh.polygons]
            )
            ev.to_mesh_clear()
            to_obj = Matrix(ev.matrix_world).inverted()
            for i, p in enumerate(points):
                if out[i]:
                    continue
                target = camera_back * 1e3 + p if camera_position is None else camera_position
                origin, end = to_obj @ Vector(tuple(p)), to_obj @ Vector(tuple(target))
                direction = end - origin
                remaining = direction.length
                direction.normalize()
                while remaining > 1e-6:
                    loc, _normal, index, dist = tree.ray_cast(origin, direction, remaining)
                    if loc is None:
                        break
                    if head_polys is None or index >= len(head_polys) or not head_polys[index]:
                        out[i] = True
                        break
                    origin = loc + direction * 1e-5  # through the head's own surface
                    remaining -= dist + 1e-5
        return out
