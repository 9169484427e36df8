"""The Blender half of `ltx-scene demo`, run with the bpy module in its own process:

    python -m tools.demo_session --out DIR --url http://127.0.0.1:PORT --token-file FILE
        [--control pose] [--width 384 --height 256 --frames 49] [--prompt TEXT] [--seed 0]
        [--camera-anchors 64]

1. enables this package as an add-on (so its preferences hold the backend URL and token),
2. builds the procedural demo scene (`scenes.build_demo_scene`: moving camera, walking rigged
   character, a ball on a path),
3. captures every control kind with `capture.capture_package` and writes, per kind,
   DIR/controls/<kind>/control.npz and DIR/controls/<kind>/frames/frame_00000.png ... (lossless
   8-bit RGB at the generation size; for canny the frames are the RGB render, the backend makes the
   edges with OpenCV), plus DIR/controls/camera_anchors/: tracks with camera anchors only (the
   camera's move as anchor tracks on the static set; capture only, nothing is generated from it),
4. runs `bpy.ops.ltx_scene.generate()` for one control (synchronous in background mode), so the
   result lands in the sequencer as a movie and a sound strip, with its files under DIR/generated/,
5. saves DIR/demo.blend.

Like `tools/headless.py` it speaks in lines on stdout: `LTX_STEP <name> <text>` when a step starts,
`LTX_PROGRESS <fraction> <message>` within it, `LTX_NOTE <text>`, and at the end `LTX_RESULT <json>`
with every path; a user error prints `LTX_ERROR <step>: <message>` on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from blender_addon.shared import child_messages as msg
from blender_addon.shared.control_kinds import CONTROL_KINDS
from blender_addon.shared.errors import UserError

KINDS = CONTROL_KINDS
ADDON_MODULE = "blender_addon"  # the repository's package, enabled as an add-on
DEFAULT_PROMPT = (
    "A person in a grey jacket walks across a sunlit courtyard while a red ball rolls "
    "around them; the camera glides sideways, following the walker."
)
SCENE_NAME = "LTX Demo"
# The extra capture the contact sheet shows as "camera anchors": tracks of camera anchors alone.
ANCHORS_ENTRY = "camera_anchors"
CAMERA_ANCHORS = 64


class StepFailed(UserError):
    """A user error, tagged with the step it happened in."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.demo_session", description="Build the demo scene, capture every control, generate, save."
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--url", required=True, help="the backend, e.g. http://127.0.0.1:8765")
    p.add_argument("--token-file", required=True, help="file holding the backend's token")
    p.add_argument("--control", default="pose", choices=KINDS, help="control used to generate")
    p.add_argument("--width", type=int, default=384)
    p.add_argument("--height", type=int, default=256)
    p.add_argument("--frames", type=int, default=49)
    p.add_argument(
        "--reference-factor",
        type=int,
        default=2,
        help="the IC-LoRA's reference_downscale_factor (sizes: multiples of 64 x factor)",
    )
    p.add_argument("--prompt", default=DEFAULT_PROMPT)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--capture", default=",".join(KINDS), help="comma-separated control kinds to capture (default: all four)"
    )
    p.add_argument(
        "--camera-anchors",
        type=int,
        default=CAMERA_ANCHORS,
        metavar="N",
        help=f"also capture tracks of N camera anchors, controls/{ANCHORS_ENTRY}/ (0: skip; default {CAMERA_ANCHORS})",
    )
    return p


# ------------------------------------------------------------------------------------- steps
def enable_addon():
    """Enable this package through the add-on system so `preferences.get()` finds its settings."""
    import addon_utils
    import bpy

    mod = addon_utils.enable(ADDON_MODULE, default_set=True, handle_error=_raise)
    if mod is None or ADDON_MODULE not in bpy.context.preferences.addons:
        raise UserError(f"could not enable the add-on '{ADDON_MODULE}'", "addon")
    return bpy.context.preferences.addons[ADDON_MODULE].preferences


def _raise(exc):
    raise exc


def build_scene(args):
    import bpy

    from tools.scenes import build_demo_scene

    scene = build_demo_scene(frames=args.frames, width=args.width, height=args.height)
    scene.name = SCENE_NAME
    objects = {ob.name: ob.type for ob in scene.objects}
    msg.emit(msg.NOTE, "scene: " + ", ".join(f"{n} ({t.lower()})" for n, t in sorted(objects.items())))
    return bpy.context.scene


def capture_kind(scene, kind: str, args, camera_anchors: int = 0, folder_name: str | None = None) -> dict:
    """Capture one control kind into DIR/controls/<kind>/ (package + PNG frames).

    With `camera_anchors`, a tracks capture of that many camera anchors and no object (into
    DIR/controls/<folder_name>/)."""
    from blender_addon.capture import CaptureSettings, capture_package
    from tools.headless import control_video, default_track_targets
    from blender_addon.capture.package import plan_capture
    from blender_addon.shared.png import write_png_frames

    settings = CaptureSettings(
        kind=kind,
        width=args.width,
        height=args.height,
        frame_count=args.frames,
        reference_downscale_factor=args.reference_factor,
        snap=False,
        depth_size="full",
    )
    if camera_anchors:
        settings.camera_anchors = camera_anchors
    elif kind == "tracks":
        frames = list(
            plan_capture(
                scene,
                CaptureSettings(
                    kind="depth",
                    width=args.width,
                    height=args.height,
                    frame_count=args.frames,
                    reference_downscale_factor=args.reference_factor,
                    snap=False,
                ),
            ).frames
        )
        settings.track_targets = default_track_targets(scene, frames)
        msg.emit(msg.NOTE, f"tracks follow {', '.join(settings.track_targets)}")

    def progress(fraction, message):
        msg.emit(msg.PROGRESS, msg.progress_payload(0.85 * float(fraction), message))

    pkg = capture_package(scene, settings, progress)
    folder = os.path.join(args.out, "controls", folder_name or kind)
    os.makedirs(folder, exist_ok=True)
    package_path = pkg.save(os.path.join(folder, "control.npz"))
    video = control_video(pkg)
    frames_dir = os.path.join(folder, "frames")
    n = len(video)
    write_png_frames(
        frames_dir,
        video,
        on_frame=lambda i, total: (
            msg.emit(msg.PROGRESS, msg.progress_payload(0.85 + 0.15 * i / total, f"writing frame {i}/{total}"))
            if i % 8 == 0 or i == total
            else None
        ),
    )
    return {
        "package": os.path.abspath(str(package_path)),
        "frames_dir": os.path.abspath(frames_dir),
        "frames": n,
        "width": int(video.shape[2]),
        "height": int(video.shape[1]),
        "frames_are": "rgb" if kind == "canny" else "control",
    }


def configure_generation(scene, prefs, args) -> None:
    """The panel's settings and the preferences, as a user would set them."""
    props = scene.ltx_scene
    props.control_kind = args.control
    props.prompt = args.prompt
    props.seed = args.seed
    props.size_preset = "CUSTOM"
    props.width, props.height = args.width, args.height
    props.reference_factor = args.reference_factor
    props.snap = False
    props.first_frame_source = "NONE"
    if args.control == "tracks":
        from tools.headless import default_track_targets
        from blender_addon.capture.package import plan_capture
        from blender_addon.capture import CaptureSettings

        frames = list(
            plan_capture(
                scene,
                CaptureSettings(
                    kind="depth",
                    width=args.width,
                    height=args.height,
                    frame_count=args.frames,
                    reference_downscale_factor=args.reference_factor,
                    snap=False,
                ),
            ).frames
        )
        props.track_targets.clear()
        for name in default_track_targets(scene, frames):
            ob_name, _, bone = name.partition(":")
            item = props.track_targets.add()
            item.object = scene.objects[ob_name]
            item.bone = bone
    with open(args.token_file, encoding="utf-8") as fh:
        token = fh.read().strip()
    prefs.backend_url = args.url
    prefs.token = token
    prefs.output_dir = os.path.join(os.path.abspath(args.out), "generated")
    prefs.read_timeout = 120.0


def generate(scene) -> dict:
    """Run the add-on's Generate operator (inline in background mode) and check the strips."""
    import bpy

    from blender_addon import compat, vse

    try:
        result = bpy.ops.ltx_scene.generate()
    except RuntimeError as exc:  # the operator reported an error
        text = str(exc).strip().removeprefix("Error:").strip()
        raise UserError(text or "the Generate operator failed", "generate") from None
    state = bpy.context.window_manager.ltx_scene_job
    if result != {"FINISHED"} or state.status != "succeeded":
        raise UserError(
            f"the Generate operator ended with {sorted(result)}, job status "
            f"'{state.status}': {state.error or state.message}",
            "generate",
        )
    strips = [s for s in compat.strips(scene.sequence_editor) if vse.parameters_of(s) is not None]
    movie = [s for s in strips if s.type == "MOVIE"]
    sound = [s for s in strips if s.type == "SOUND"]
    if not movie:
        raise UserError("generation succeeded but no movie strip was imported", "generate")
    params = vse.parameters_of(movie[0])
    return {
        "video": os.path.abspath(params["video"]),
        "job_id": params.get("job_id"),
        "control": params.get("control"),
        "sidecar": params.get("sidecar"),
        "strips": [
            {
                "name": s.name,
                "type": s.type,
                "channel": s.channel,
                "frame_start": s.frame_final_start,
                "frames": s.frame_final_duration,
            }
            for s in movie + sound
        ],
    }


def save_blend(args) -> str:
    import bpy

    path = os.path.join(os.path.abspath(args.out), "demo.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path, relative_remap=True)
    return path


def shutdown_addon() -> None:
    import addon_utils

    try:
        from blender_addon.operators import job

        job.shutdown()
        addon_utils.disable(ADDON_MODULE, default_set=True)
    except Exception as exc:  # leaving Blender: nothing to restore, but say it
        msg.emit(msg.NOTE, f"add-on shutdown: {exc!r}")


# -------------------------------------------------------------------------------------- main
def run(args) -> dict:
    import bpy

    kinds = [k.strip() for k in args.capture.split(",") if k.strip()]
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise StepFailed(f"setup: unknown control kind(s) {', '.join(bad)}; use {', '.join(KINDS)}")
    os.makedirs(args.out, exist_ok=True)
    result = {"controls": {}, "timings": {}}
    step = "setup"
    t_all = time.perf_counter()

    def begin(name: str, text: str) -> float:
        nonlocal step
        step = name
        msg.emit(msg.STEP, f"{name} {text}")
        return time.perf_counter()

    try:
        t = begin("scene", "building the demo scene (camera move, walking rigged character, ball on a path)")
        bpy.ops.wm.read_factory_settings(use_empty=True)
        prefs = enable_addon()
        scene = build_scene(args)
        result["timings"]["scene"] = round(time.perf_counter() - t, 2)
        for kind in kinds:
            t = begin(f"capture-{kind}", f"capturing {kind}")
            result["controls"][kind] = capture_kind(scene, kind, args)
            result["timings"][f"capture-{kind}"] = round(time.perf_counter() - t, 2)
        if args.camera_anchors:
            t = begin(f"capture-{ANCHORS_ENTRY}", f"capturing tracks of {args.camera_anchors} camera anchors")
            result["controls"][ANCHORS_ENTRY] = capture_kind(
                scene, "tracks", args, camera_anchors=args.camera_anchors, folder_name=ANCHORS_ENTRY
            )
            result["timings"][f"capture-{ANCHORS_ENTRY}"] = round(time.perf_counter() - t, 2)
        t = begin("generate", f"generating from the {args.control} control with the add-on's Generate operator")
        configure_generation(scene, prefs, args)
        result["generation"] = generate(scene)
        result["timings"]["generate"] = round(time.perf_counter() - t, 2)
        t = begin("save", "saving demo.blend")
        result["blend"] = save_blend(args)
        result["timings"]["save"] = round(time.perf_counter() - t, 2)
    except UserError as exc:
        raise StepFailed(f"{step}: {exc}", getattr(exc, "field", None)) from None
    finally:
        shutdown_addon()
    result["timings"]["total"] = round(time.perf_counter() - t_all, 2)
    result["blender"] = bpy.app.version_string
    result["generated_from"] = args.control
    msg.emit(msg.RESULT, json.dumps(result, sort_keys=True))
    return result


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return msg.run_main(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
