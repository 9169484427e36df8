"""Motion tracks: objects, empties or armature bones as per-frame 2D points.

A target is an object name ("Ball") or an armature bone ("Armature:hand.L", the bone's head). The
point is the object's world origin / the bone's head, projected through the camera. Conventions of
the official Draw Tracks node (ComfyUI-LTXVideo; its raster is described in
`shared/raster/tracks.py`): a point that is in front of the camera but off
the frame keeps its real (off-canvas) coordinates, whose circles the rasterizer clips; a point behind
the camera has no meaningful projection and is parked far off the canvas (OFF_CANVAS) and marked not
visible.
"""

from __future__ import annotations

import numpy as np

from ..shared.errors import UserError

OFF_CANVAS = -10000.0


class TrackTarget:
    def __init__(self, scene, spec: str):
        self.spec = spec
        name, bone = split_target(scene, spec)
        obj = scene.objects.get(name)
        if obj is None:
            raise UserError(
                f"track_targets: no object named '{name}' in scene '{scene.name}'; pick an object or 'Armature:Bone'",
                "track_targets",
            )
        if bone:
            if obj.type != "ARMATURE" or obj.pose is None or bone not in obj.pose.bones:
                raise UserError(
                    f"track_targets: '{name}' has no pose bone '{bone}'; name a bone of an armature as 'Armature:Bone'",
                    "track_targets",
                )
        self.obj = obj
        self.bone = bone or None

    def world_point(self, depsgraph) -> np.ndarray:
        ob = self.obj.evaluated_get(depsgraph)
        if self.bone:
            pb = ob.pose.bones[self.bone]
            return np.array(ob.matrix_world @ pb.head, dtype=np.float64)
        return np.array(ob.matrix_world.translation, dtype=np.float64)


def split_target(scene, spec: str) -> tuple[str, str]:
    """("Object", "") or ("Armature", "Bone"); names may themselves hold ':' (Mixamo bones do)."""
    if spec in scene.objects:
        return spec, ""
    parts = spec.split(":")
    for i in range(1, len(parts)):
        left = ":".join(parts[:i])
        if left in scene.objects:
            return left, ":".join(parts[i:])
    return spec, ""


def resolve_targets(scene, specs) -> list[TrackTarget]:
    return [TrackTarget(scene, s) for s in specs]


class TrackRecorder:
    """Collects one point per target per frame; `record` after every frame_set."""

    def __init__(self, targets: list[TrackTarget], frame_count: int):
        self.targets = targets
        self.points = np.full((len(targets), frame_count, 2), OFF_CANVAS, dtype=np.float32)
        self.visible = np.zeros((len(targets), frame_count), dtype=bool)

    def record(self, index: int, projector, depsgraph) -> None:
        if not self.targets:
            return
        world = np.stack([t.world_point(depsgraph) for t in self.targets])
        px, in_front = projector.project(world)
        self.points[:, index] = np.where(in_front[:, None], px, OFF_CANVAS).astype(np.float32)
        self.visible[:, index] = in_front
