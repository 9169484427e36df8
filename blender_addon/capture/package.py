"""Scene -> ControlPackage: the one entry point of capture.

    plan = plan_capture(scene, settings)          # exact range and sizes + notes, nothing runs
    pkg = capture_package(scene, settings, progress=None)   # progress(fraction, message)

One pass of `frame_set` over the range records the cheap per-frame data (camera, pose, tracks,
camera anchors, attention strength; camera anchors first run one pass of their own to find the
static objects); depth, normals, masks and the quick RGB renders are rendered in a temporary scene
that links the user's objects (`render_scene.py`), so the user's scene, its render settings and its
compositor are never touched; the `render` pass in the scene's own look renders the user's scene
itself with only size, output and frame range set and restored (`render_scene.scene_as_is`). The
current frame is restored at the end.
"""

from __future__ import annotations

import time

import bpy
import numpy as np

from ..shared.camera_anchors import anchor_rules
from ..shared.errors import UserError
from ..shared.raster.canny import canny_settings
from .camera import Projector, describe_camera, scene_camera
from .pose import PoseRecorder, resolve_people
from .settings import CapturePlan, CaptureSettings, fps_of, resolve_plan
from .strength import StrengthRecorder
from .tracks import TrackRecorder, resolve_targets


def plan_capture(scene, settings: CaptureSettings) -> CapturePlan:
    """The exact frames and sizes a capture of `scene` with `settings` will produce."""
    r = scene.render
    pct = r.resolution_percentage / 100.0
    return resolve_plan(
        settings,
        round(r.resolution_x * pct),
        round(r.resolution_y * pct),
        scene.frame_start,
        scene.frame_end,
        fps_of(r.fps, r.fps_base),
    )


def _depsgraph(scene):
    if bpy.context.scene == scene:
        return bpy.context.evaluated_depsgraph_get()
    return scene.view_layers[0].depsgraph


def capture_package(scene, settings: CaptureSettings, progress=None):
    """Capture `settings.kind` (plus mask, attention strength, first frame) as a ControlPackage."""
    from ..shared.package import ControlPackage

    report = progress or (lambda fraction, message: None)
    plan = plan_capture(scene, settings)
    scene_camera(scene)
    kind = settings.kind
    people = resolve_people(scene, settings) if kind == "pose" else []
    if kind == "pose" and not people:
        raise UserError(
            f"pose: scene '{scene.name}' has no visible armature with a known rig "
            "(Rigify, Mixamo, meta-rig); add one, or name it and use a custom mapping",
            "armatures",
        )
    targets = resolve_targets(scene, settings.track_targets) if kind == "tracks" else []
    masked = bool(settings.mask_objects or settings.mask_collection)
    renders = [
        k
        for k, on in (
            ("depth", kind == "depth"),
            ("rgb", kind == "canny"),
            ("render", kind == "render"),
            ("normal", kind == "normal"),
            ("mask", masked or kind == "mask"),
            ("first_frame", settings.first_frame),
        )
        if on
    ]
    # Progress budget: the frame_set pass is cheap; renders share the rest.
    pass_share = 0.1 if renders else 1.0
    render_share = (1.0 - pass_share) / max(1, len(renders))

    saved_frame = (scene.frame_current, scene.frame_subframe)
    arrays = {}
    anchor_info = None
    t0 = time.perf_counter()
    try:
        report(0.0, f"capturing {kind}: {plan.frame_count} frames at {plan.width}x{plan.height}")
        projector = Projector(scene, plan.width, plan.height)
        pose = (
            PoseRecorder(
                people,
                plan.frame_count,
                settings.hands,
                settings.face,
                settings.face_occlusion,
            )
            if people
            else None
        )
        tracks = TrackRecorder(targets, plan.frame_count) if targets else None
        anchors = None
        if kind == "tracks" and settings.camera_anchors:
            from .camera_anchors import CameraAnchorRecorder

            rules = anchor_rules(
                settings.camera_anchors, settings.anchor_spacing, settings.anchor_reseed, plan.width, plan.height
            )
            report(0.0, "camera anchors: finding the static objects")
            anchors = CameraAnchorRecorder(scene, plan, rules, _depsgraph)
        strength = StrengthRecorder(plan.frame_count)
        camera_info = None
        for i, frame in enumerate(plan.frames):
            scene.frame_set(frame)
            dg = _depsgraph(scene)
            projector.update(dg)
            if camera_info is None:
                camera_info = describe_camera(scene)
            if pose is not None:
                pose.record(i, projector, dg)
            if tracks is not None:
                tracks.record(i, projector, dg)
            if anchors is not None:
                anchors.record(i, projector, dg)
            strength.record(i, scene)
            if i % 8 == 0:
                report(pass_share * (i + 1) / plan.frame_count, f"frame {frame}")
        if pose is not None:
            arrays["pose_body"] = pose.body
            if pose.hands is not None:
                arrays["pose_hands"] = pose.hands
            if pose.face is not None:
                arrays["pose_face"] = pose.face
        if tracks is not None or anchors is not None:
            arrays["tracks"], arrays["tracks_visible"], anchor_info = _combine_tracks(tracks, anchors, scene, plan)
        arrays["attention_strength"] = strength.values

        done = pass_share
        for name in renders:

            def sub(fraction, message, _base=done):
                report(_base + render_share * fraction, message)

            if name == "depth":
                from .depth import capture_depth

                arrays["depth"] = capture_depth(scene, plan, settings, sub)
            elif name == "rgb":
                from .rgb import capture_rgb

                arrays["rgb"] = capture_rgb(scene, plan, settings, sub)
            elif name == "render":
                from .rgb import capture_render

                arrays["rgb"] = capture_render(scene, plan, settings, sub)
            elif name == "normal":
                from .normal import capture_normals

                arrays["normal"] = capture_normals(scene, plan, settings, sub)
            elif name == "mask":
                from .masks import capture_mask

                arrays["mask"] = capture_mask(scene, plan, settings, sub)
            elif name == "first_frame":
                from .rgb import capture_rgb

                arrays["first_frame"] = capture_rgb(scene, plan, settings, sub, frames=[plan.frame_start])[0]
            done += render_share
    finally:
        scene.frame_set(saved_frame[0], subframe=saved_frame[1])

    pkg = ControlPackage(
        kind=kind,
        width=plan.width,
        height=plan.height,
        fps=plan.fps,
        frame_count=plan.frame_count,
        frame_start=plan.frame_start,
        camera=camera_info,
        source={
            "app": f"Blender {bpy.app.version_string}",
            "file": bpy.data.filepath or None,
            "scene": scene.name,
            "capture_s": round(time.perf_counter() - t0, 3),
            "notes": list(plan.notes),
            **({"camera_anchors": anchor_info} if anchor_info else {}),
        },
        depth_units="m",
        canny=(canny_settings(settings.canny) if kind == "canny" else None),
        **arrays,
    )
    pkg.validate()
    report(1.0, f"captured {kind}: {plan.frame_count} frames")
    return pkg


def _combine_tracks(tracks, anchors, scene, plan):
    """The user's object and bone tracks first, then the camera anchors: (points, visible, the
    anchors' entry for the package's `source`, or None)."""
    parts = [(tracks.points, tracks.visible)] if tracks is not None else []
    info = None
    if anchors is not None:
        _world, points, visible = anchors.result()
        if not len(points) and tracks is None:
            last = plan.frame_start + plan.frame_count - 1
            raise UserError(
                f"camera_anchors: no camera ray over frames {plan.frame_start}-{last} "
                f"hit a static object in scene '{scene.name}' (objects that move or deform, or are hidden from the "
                "render, hold no anchors); point the camera at static geometry, or track objects instead",
                "camera_anchors",
            )
        info = {
            "first_track": sum(len(p) for p, _ in parts),
            "tracks": int(len(points)),
            "count": anchors.rules.count,
            "spacing_px": round(anchors.rules.spacing, 3),
            "reseed": anchors.rules.reseed,
            "static_objects": len(anchors.static),
        }
        parts.append((points, visible))
    points = np.concatenate([p for p, _ in parts]).astype(np.float32)
    visible = np.concatenate([v for _, v in parts]).astype(bool)
    return points, visible, info
