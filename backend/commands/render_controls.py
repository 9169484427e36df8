"""`ltx-scene render-controls SCENE.blend --control K --out DIR`: headless capture from a .blend.

Runs `python -m tools.headless render-controls ...` in a subprocess with this interpreter
(which has the bpy module), so bpy never enters backend/. Streams the child's progress lines into a
progress bar, forwards its notes (what was snapped) and maps its failures to one clear message:
a user error (exit 2) keeps the child's own message; a crash says what died and shows the tail of
its output. For canny the child writes the RGB render; this side turns it into edges with the
trainer's Canny (backend/video/canny.py) and keeps the render under DIR/rgb_frames/.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

NAME = "render-controls"
HELP = "capture a scene pass (render, depth, normal, pose, tracks, canny, mask) from a .blend: control.npz + PNG frames"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tools.render_controls_args import add_render_controls_arguments

    add_render_controls_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def child_command(args) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "tools.headless",
        "render-controls",
        str(Path(args.scene_file).resolve()),
        "--control",
        args.control,
        "--out",
        str(Path(args.out).resolve()),
        "--rig-preset",
        args.rig_preset,
        "--depth-engine",
        args.depth_engine,
        "--rgb-engine",
        args.rgb_engine,
        "--depth-size",
        args.depth_size,
        "--render-engine",
        args.render_engine,
        "--canny",
        args.canny,
    ]
    for flag in ("no_hands", "no_face", "face_occlusion"):
        if getattr(args, flag):
            cmd.append(f"--{flag.replace('_', '-')}")
    for flag in ("width", "height", "frames", "frame_start", "scene", "mask_collection"):
        value = getattr(args, flag)
        if value is not None:
            cmd += [f"--{flag.replace('_', '-')}", str(value)]
    for t in args.track:
        cmd += ["--track", t]
    if args.camera_anchors:
        cmd += ["--camera-anchors", str(args.camera_anchors), "--anchor-spacing", repr(float(args.anchor_spacing))]
        if args.no_anchor_reseed:
            cmd.append("--no-anchor-reseed")
    for m in args.mask:
        cmd += ["--mask", m]
    return cmd


def run(args: argparse.Namespace) -> int:
    from backend.blender_child import run_capture_child
    from shared.errors import UserError

    if not Path(args.scene_file).is_file():
        raise UserError(f"render-controls: no such file: {args.scene_file}; give a .blend file", "scene")
    result = run_capture_child(child_command(args), command=NAME, desc=f"capture {args.control}", quiet=args.quiet)
    if result["kind"] == "canny" and "frames_dir" in result:
        edges_from_rgb(Path(result["frames_dir"]), Path(args.out))
    print(
        f"wrote {result['package']} and {result['frames']} frames ({result['width']}x{result['height']}, "
        f"{result['fps']} fps) in {result.get('frames_dir', '-')}  [{result['seconds']:.1f} s]"
    )
    return 0


def edges_from_rgb(frames_dir: Path, out: Path) -> None:
    """Replace the RGB frames by the trainer's Canny edges; keep the RGB in out/rgb_frames."""
    from backend.video.canny import canny_video
    from shared.png import read_png, write_png_frames

    rgb_dir = out / "rgb_frames"
    if rgb_dir.exists():
        shutil.rmtree(rgb_dir)
    frames_dir.rename(rgb_dir)
    import numpy as np

    files = sorted(rgb_dir.glob("frame_*.png"))
    rgb = np.stack([read_png(p) for p in files])
    write_png_frames(frames_dir, canny_video(rgb))
    print(
        "note: canny frames are edges of the RGB render (Canny 100/200, the trainer's); "
        f"the render itself is in {rgb_dir}",
        file=sys.stderr,
    )
