"""Camera anchors, the Blender side: rays from the camera, static objects, per-frame visibility.

The bookkeeping (which cells have emptied, where to seed, when a track ends, spacing and count)
is `shared/camera_anchors.py`; this file only asks the scene:
- **Which objects are static**, decided by evaluation over the capture's frames rather than from
  animation data (parents, constraints, drivers and modifiers move things without keys of their
  own): an object with geometry is static when its evaluated world matrix is the same (within
  1e-6) at every frame of the range, it has no Armature modifier (an armature-deformed mesh is a
  character, not set dressing) and, where it has other modifiers, shape keys or animated data, its
  evaluated vertices are the same at up to `MESH_SAMPLES` evenly spaced frames. Objects hidden
  from the render never hold anchors. This is one extra `frame_set` pass over the range.
- **Seeds**: `scene.ray_cast` from the near clip plane through the centres of the open grid cells
  (the camera's own rays, `Projector.rays`); a hit counts when the first object hit is static.
- **Visibility**, every frame: a ray from the near clip plane through the anchor's pixel towards
  the anchor. It is hidden when the ray hits anything (static or moving) more than the tolerance
  before the anchor, or nothing up to it (its surface was hidden or removed).
- **Projection**: the capture's `Projector`, the same camera math as every other track.
"""

from __future__ import annotations

import numpy as np
from mathutils import Vector

from ..shared.camera_anchors import AnchorRules, AnchorTracker

GEOMETRY_TYPES = {"MESH", "CURVE", "SURFACE", "META", "FONT"}
MATRIX_TOLERANCE = 1e-6
MESH_SAMPLES = 9
# A visibility ray that hits something within this of the anchor has hit the anchor's own surface
# (Blender casts in single precision): relative to the distance, plus an absolute floor in metres.
RELATIVE_TOLERANCE = 1e-3
ABSOLUTE_TOLERANCE = 1e-4


def _may_deform(ob) -> bool:
    data = ob.data
    return bool(
        len(ob.modifiers)
        or getattr(data, "shape_keys", None) is not None
        or (getattr(data, "animation_data", None) is not None and data.animation_data.action is not None)
    )


def _vertices(ob_eval) -> np.ndarray | None:
    try:
        mesh = ob_eval.to_mesh()
    except RuntimeError:
        return None
    try:
        co = np.empty(len(mesh.vertices) * 3, np.float64)
        mesh.vertices.foreach_get("co", co)
        return co
    finally:
        ob_eval.to_mesh_clear()


def static_objects(scene, frames, depsgraph_of) -> set[str]:
    """Names of the objects with geometry that neither move nor deform over `frames` (see above).

    Leaves the scene at the last frame of `frames`: the caller restores the current frame.
    """
    frames = list(frames)
    candidates = [
        ob
        for ob in scene.objects
        if ob.type in GEOMETRY_TYPES and not ob.hide_render and not any(m.type == "ARMATURE" for m in ob.modifiers)
    ]
    deformable = [ob for ob in candidates if _may_deform(ob)]
    picks = np.unique(np.rint(np.linspace(0, len(frames) - 1, min(MESH_SAMPLES, len(frames)))).astype(int))
    sampled = {frames[i] for i in picks}
    matrices: dict[str, np.ndarray] = {}
    shapes: dict[str, np.ndarray | None] = {}
    moving: set[str] = set()
    for f in frames:
        scene.frame_set(f)
        dg = depsgraph_of(scene)
        for ob in candidates:
            if ob.name in moving:
                continue
            m = np.array(ob.evaluated_get(dg).matrix_world, np.float64)
            first = matrices.setdefault(ob.name, m)
            if np.abs(m - first).max() > MATRIX_TOLERANCE:
                moving.add(ob.name)
        if f in sampled:
            for ob in deformable:
                if ob.name in moving:
                    continue
                co = _vertices(ob.evaluated_get(dg))
                first = shapes.setdefault(ob.name, co)
                if (
                    co is None
                    or first is None
                    or co.shape != first.shape
                    or np.abs(co - first).max() > MATRIX_TOLERANCE
                ):
                    moving.add(ob.name)  # could not read it, or it changed: not an anchor surface
    return {ob.name for ob in candidates} - moving


class CameraAnchorRecorder:
    """Anchor tracks over a capture: build it before the frame loop (it runs the static-object pass),
    `record` after every frame_set (with the projector updated), `result()` at the end."""

    def __init__(self, scene, plan, rules: AnchorRules, depsgraph_of):
        self.scene = scene
        self.rules = rules
        self.static = static_objects(scene, plan.frames, depsgraph_of)
        self.tracker = AnchorTracker(rules, plan.width, plan.height, plan.frame_count)

    def record(self, index: int, projector, depsgraph) -> None:
        tracker = self.tracker
        world = tracker.live_world()
        px, in_front = projector.project(world)
        seen = np.zeros(len(world), bool)
        check = np.flatnonzero(in_front & projector.on_canvas(px))
        if len(check):
            seen[check] = self._visible(depsgraph, world[check], px[check], projector)
        tracker.observe(index, px, in_front, seen)
        if tracker.wants_seeds(index):
            centres = tracker.seed_candidates()
            if len(centres):
                hits, ok = self._cast(depsgraph, centres, projector)
                hit_px, hit_in_front = projector.project(hits)
                tracker.add_seeds(index, hits, hit_px, ok & hit_in_front)

    def _cast(self, depsgraph, centres, projector) -> tuple[np.ndarray, np.ndarray]:
        """First hits of the camera rays through `centres`: (points (K, 3), hit a static object (K,))."""
        origins, directions = projector.rays(centres)
        hits = np.zeros((len(centres), 3), np.float64)
        ok = np.zeros(len(centres), bool)
        for k, (o, d) in enumerate(zip(origins, directions)):
            hit, location, _normal, _index, obj, _matrix = self.scene.ray_cast(depsgraph, Vector(o), Vector(d))
            if hit and obj is not None and obj.name in self.static:
                hits[k] = location
                ok[k] = True
        return hits, ok

    def _visible(self, depsgraph, world, px, projector) -> np.ndarray:
        """(L,) bool: nothing hides the anchors `world` (L, 3) seen at pixels `px` (L, 2)."""
        origins, _ = projector.rays(px)
        out = np.zeros(len(world), bool)
        for k, (o, p) in enumerate(zip(origins, world)):
            v = p - o
            dist = float(np.linalg.norm(v))
            if dist <= 0.0:
                continue
            tol = RELATIVE_TOLERANCE * dist + ABSOLUTE_TOLERANCE
            hit, location, *_ = self.scene.ray_cast(depsgraph, Vector(o), Vector(v / dist), distance=dist + tol)
            out[k] = bool(hit) and float(np.linalg.norm(np.array(location) - o)) >= dist - tol
        return out

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(world points (T, 3), pixels (T, F, 2) float32, visible (T, F) bool): see AnchorTracker."""
        return self.tracker.result()
