"""Headless capture with the bpy module (no Blender UI):

    python -m tools.headless render-controls SCENE.blend --control render|depth|normal|pose|tracks|canny|mask
        --out DIR [--width W --height H --frames N --frame-start S --scene NAME
        --track OBJ_OR_ARMATURE:BONE ... --camera-anchors N --anchor-spacing PX --no-anchor-reseed
        --mask OBJ ... --mask-collection NAME
        --rig-preset auto|metarig|rigify|mixamo --depth-engine AUTO|BLENDER_WORKBENCH|CYCLES
        --rgb-engine BLENDER_WORKBENCH|CYCLES --render-engine SCENE|BLENDER_WORKBENCH|CYCLES
        --depth-size reference|full]
    python -m tools.headless build-demo OUT.blend [--frames N --width W --height H]

render-controls writes DIR/control.npz (the ControlPackage) and DIR/frames/frame_00000.png ...:
the control video as lossless 8-bit RGB PNG frames at the generation size (names sort in frame
order). For canny the frames are the RGB render; the edges are made by the backend (OpenCV), which
`ltx-scene render-controls` does.

Tracks without --track follow the objects that carry a custom property `ltx_track`, else every
visible object that moves over the range. `--camera-anchors N` adds up to N anchor tracks on the
static geometry the camera sees (the camera's move as tracks; `shared/camera_anchors.py`); with it,
a scene where nothing moves gives anchor tracks only.

Machine-readable lines on stdout (for `ltx-scene render-controls`): `LTX_PROGRESS <fraction>
<message>`, `LTX_NOTE <text>`, `LTX_RESULT <json>`; a user error prints `LTX_ERROR <message>` on
stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from tools.render_controls_args import add_render_controls_arguments
from blender_addon.shared import child_messages as msg
from blender_addon.shared.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.headless", description="Capture LTX control signals from a .blend without the UI."
    )
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render-controls", help="capture a ControlPackage and its control video frames")
    add_render_controls_arguments(r)
    r.add_argument("--no-frames", action="store_true", help="write only control.npz")
    d = sub.add_parser("build-demo", help="write the procedural demo scene to a .blend")
    d.add_argument("out_file", metavar="OUT.blend")
    d.add_argument("--frames", type=int, default=121)
    d.add_argument("--width", type=int, default=1024)
    d.add_argument("--height", type=int, default=576)
    return p


def open_scene(path: str, name: str | None):
    """Open the .blend at `path` and make its scene `name` (default: the file's current one) the active one."""
    import bpy

    if not os.path.isfile(path):
        raise UserError(f"scene: no such file: {path}; give the path of a .blend file", "scene")
    bpy.ops.wm.open_mainfile(filepath=os.path.abspath(path), load_ui=False)
    scene = bpy.data.scenes.get(name) if name else bpy.context.scene
    if scene is None:
        raise UserError(
            f"scene: '{name}' is not in {path}; scenes: {', '.join(s.name for s in bpy.data.scenes)}", "scene"
        )
    if scene != bpy.context.scene:
        bpy.context.window.scene = scene
    return scene


def capture_options(args) -> dict:
    """The CaptureSettings fields the control options set (the same for render-controls and export-training)."""
    return dict(
        kind=args.control,
        depth_engine=args.depth_engine,
        rgb_engine=args.rgb_engine,
        rig_preset=args.rig_preset,
        hands=not args.no_hands,
        face=not args.no_face,
        face_occlusion=args.face_occlusion,
        canny=args.canny,
        mask_objects=tuple(args.mask),
        mask_collection=args.mask_collection,
        track_targets=tuple(args.track),
        camera_anchors=args.camera_anchors,
        anchor_spacing=args.anchor_spacing,
        anchor_reseed=not args.no_anchor_reseed,
    )


def default_tracks_or_error(scene, frames, camera_anchors: int) -> tuple[str, ...]:
    """Tracks without --track: default_track_targets, noted on stdout; a clear error when there is nothing
    to track and no camera anchors either."""
    targets = default_track_targets(scene, frames)
    if not targets and not camera_anchors:
        raise UserError(
            "tracks: nothing to track: no object is marked 'ltx_track' and none moves; name targets with "
            "--track OBJECT or --track ARMATURE:BONE, or show the camera's move with --camera-anchors N",
            "track",
        )
    if targets:
        msg.emit(msg.NOTE, f"tracking {', '.join(targets)}")
    return targets


def default_track_targets(scene, frames) -> tuple[str, ...]:
    """Objects marked `ltx_track`, else the visible objects that move over `frames`."""
    marked = sorted(ob.name for ob in scene.objects if ob.get("ltx_track"))
    if marked:
        return tuple(marked)
    candidates = [
        ob
        for ob in scene.objects
        if ob.type in {"MESH", "EMPTY", "CURVE", "ARMATURE"} and ob != scene.camera and ob.visible_get()
    ]
    first = {}
    moving = set()
    saved = scene.frame_current
    for f in (frames[0], frames[len(frames) // 2], frames[-1]):
        scene.frame_set(f)
        for ob in candidates:
            pos = tuple(round(v, 5) for v in ob.matrix_world.translation)
            if first.setdefault(ob.name, pos) != pos:
                moving.add(ob.name)
    scene.frame_set(saved)
    return tuple(sorted(moving))


def render_controls(args) -> dict:
    from blender_addon.capture import CaptureSettings
    from blender_addon.capture.package import capture_package, plan_capture

    t0 = time.perf_counter()
    scene = open_scene(args.scene_file, args.scene)
    settings = CaptureSettings(
        width=args.width,
        height=args.height,
        frame_count=args.frames,
        frame_start=args.frame_start,
        render_engine=args.render_engine,
        depth_size=args.depth_size,
        **capture_options(args),
    )
    if args.control == "tracks" and not settings.track_targets:
        frames = list(
            plan_capture(
                scene,
                CaptureSettings(
                    kind="depth",
                    width=args.width,
                    height=args.height,
                    frame_count=args.frames,
                    frame_start=args.frame_start,
                ),
            ).frames
        )
        settings.track_targets = default_tracks_or_error(scene, frames, settings.camera_anchors)
    plan = plan_capture(scene, settings)
    for note in plan.notes:
        msg.emit(msg.NOTE, note)

    def progress(fraction, message):
        msg.emit(msg.PROGRESS, msg.progress_payload(0.9 * fraction, message))

    pkg = capture_package(scene, settings, progress)
    anchors = pkg.source.get("camera_anchors")
    if anchors:
        msg.emit(
            msg.NOTE,
            f"camera anchors: {anchors['tracks']} tracks (up to {anchors['count']} at a time, "
            f"{anchors['spacing_px']:g} px apart) on {anchors['static_objects']} static objects",
        )
    os.makedirs(args.out, exist_ok=True)
    npz = pkg.save(os.path.join(args.out, "control.npz"))
    result = {
        "package": os.path.abspath(npz),
        "kind": pkg.kind,
        "width": pkg.width,
        "height": pkg.height,
        "frames": pkg.frame_count,
        "frame_start": pkg.frame_start,
        "fps": f"{pkg.fps.numerator}/{pkg.fps.denominator}",
        "notes": list(plan.notes),
    }
    if not args.no_frames:
        from blender_addon.shared.png import write_png_frames

        video = control_video(pkg)
        folder = os.path.join(args.out, "frames")
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                if name.startswith("frame_") and name.endswith(".png"):
                    os.remove(os.path.join(folder, name))
        write_png_frames(
            folder,
            video,
            on_frame=lambda i, n: (
                msg.emit(msg.PROGRESS, msg.progress_payload(0.9 + 0.1 * i / n, f"writing frame {i}/{n}"))
                if i % 8 == 0 or i == n
                else None
            ),
        )
        result["frames_dir"] = os.path.abspath(folder)
        if pkg.kind == "canny":
            result["frames_are"] = "rgb"
            msg.emit(
                msg.NOTE,
                "canny: the frames are the RGB render; the edges are made by the backend "
                "(ltx-scene render-controls, or the server from control.npz)",
            )
    result["seconds"] = round(time.perf_counter() - t0, 3)
    msg.emit(msg.RESULT, json.dumps(result, sort_keys=True))
    return result


def control_video(pkg):
    """The package's control video (F, H, W, 3) uint8 at the generation size; canny: the RGB render
    (edges need OpenCV and are made by the backend)."""
    if pkg.kind == "canny":
        return pkg.rgb
    from blender_addon.shared.raster import rasterize

    return rasterize(pkg)


def build_demo(args) -> dict:
    import bpy

    from tools.scenes import build_demo_scene

    bpy.ops.wm.read_factory_settings(use_empty=True)
    build_demo_scene(frames=args.frames, width=args.width, height=args.height)
    path = os.path.abspath(args.out_file)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=path)
    result = {"scene_file": path}
    msg.emit(msg.RESULT, json.dumps(result))
    return result


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return msg.run_main(lambda: (render_controls if args.command == "render-controls" else build_demo)(args))


if __name__ == "__main__":
    sys.exit(main())
