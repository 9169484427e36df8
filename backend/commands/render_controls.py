"""`ltx-scene render-controls SCENE.blend --control K --out DIR`: headless capture from a .blend.

Runs `python -m blender_addon.headless render-controls ...` in a subprocess with this interpreter
(which has the bpy module), so bpy never enters backend/. Streams the child's progress lines into a
progress bar, forwards its notes (what was snapped) and maps its failures to one clear message:
a user error (exit 2) keeps the child's own message; a crash says what died and shows the tail of
its output. For canny the child writes the RGB render; this side turns it into edges with the
trainer's Canny (backend/video/canny.py) and keeps the render under DIR/rgb_frames/.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections import deque
from pathlib import Path

NAME = "render-controls"
HELP = "capture a control (depth, pose, tracks, canny) from a .blend headlessly: control.npz + PNG frames"

REPO_ROOT = Path(__file__).resolve().parents[2]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scene_file", metavar="SCENE.blend", type=Path)
    parser.add_argument("--control", required=True, choices=("depth", "pose", "tracks", "canny"))
    parser.add_argument("--out", required=True, type=Path, metavar="DIR")
    parser.add_argument("--width", type=int, help="generation width (default: the scene's, snapped)")
    parser.add_argument("--height", type=int, help="generation height (default: the scene's, snapped)")
    parser.add_argument("--frames", type=int, help="frame count, snapped to 8k+1 (default: the scene range)")
    parser.add_argument("--frame-start", type=int)
    parser.add_argument("--scene", help="scene name inside the file (default: its active scene)")
    parser.add_argument("--track", action="append", default=[], metavar="TARGET",
                        help="object or 'Armature:Bone' to track (repeatable; default: marked or moving objects)")
    parser.add_argument("--mask", action="append", default=[], metavar="OBJECT",
                        help="object whose silhouette becomes the attention mask (repeatable)")
    parser.add_argument("--mask-collection")
    parser.add_argument("--rig-preset", default="auto", choices=("auto", "metarig", "rigify", "mixamo"))
    parser.add_argument("--depth-engine", default="AUTO", choices=("AUTO", "BLENDER_WORKBENCH", "CYCLES"))
    parser.add_argument("--rgb-engine", default="BLENDER_WORKBENCH", choices=("BLENDER_WORKBENCH", "CYCLES"))
    parser.add_argument("--depth-size", default="reference", choices=("reference", "full"))
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def child_command(args) -> list[str]:
    cmd = [sys.executable, "-m", "blender_addon.headless", "render-controls",
           str(Path(args.scene_file).resolve()), "--control", args.control, "--out", str(Path(args.out).resolve()),
           "--rig-preset", args.rig_preset, "--depth-engine", args.depth_engine,
           "--rgb-engine", args.rgb_engine, "--depth-size", args.depth_size]
    for flag in ("width", "height", "frames", "frame_start", "scene", "mask_collection"):
        value = getattr(args, flag)
        if value is not None:
            cmd += [f"--{flag.replace('_', '-')}", str(value)]
    for t in args.track:
        cmd += ["--track", t]
    for m in args.mask:
        cmd += ["--mask", m]
    return cmd


def run(args: argparse.Namespace) -> int:
    from shared.errors import UserError

    if not Path(args.scene_file).is_file():
        raise UserError(f"render-controls: no such file: {args.scene_file}; give a .blend file", "scene")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    env.setdefault("PYTHONUNBUFFERED", "1")
    bar = None
    if not args.quiet:
        try:
            from tqdm import tqdm
            bar = tqdm(total=1000, desc=f"capture {args.control}", unit="‰", file=sys.stderr,
                       bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}")
        except ImportError:
            bar = None
    result = None
    tail = deque(maxlen=40)
    err_lines: list[str] = []
    proc = subprocess.Popen(child_command(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=str(REPO_ROOT), env=env)
    import threading
    def drain_err():
        for line in proc.stderr:
            err_lines.append(line.rstrip("\n"))
    t = threading.Thread(target=drain_err, daemon=True)
    t.start()
    done = 0
    try:
        for line in proc.stdout:
            line = line.rstrip("\n")
            if line.startswith("LTX_PROGRESS "):
                _, fraction, *msg = line.split(" ", 2)
                target = int(float(fraction) * 1000)
                if bar is not None and target > done:
                    bar.update(target - done)
                    bar.set_postfix_str(msg[0] if msg else "")
                done = max(done, target)
            elif line.startswith("LTX_NOTE "):
                print(f"note: {line[9:]}", file=sys.stderr)
            elif line.startswith("LTX_RESULT "):
                result = json.loads(line[11:])
            else:
                tail.append(line)
        proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        raise
    finally:
        t.join(timeout=5)
        if bar is not None:
            bar.close()
    errors = [ln[10:] for ln in err_lines if ln.startswith("LTX_ERROR ")]
    if proc.returncode == 2 and errors:
        raise UserError(errors[-1])
    if proc.returncode != 0 or result is None:
        raise UserError(describe_failure(proc.returncode, list(tail) + err_lines))
    if result["kind"] == "canny" and "frames_dir" in result:
        edges_from_rgb(Path(result["frames_dir"]), Path(args.out))
    print(f"wrote {result['package']} and {result['frames']} frames ({result['width']}x{result['height']}, "
          f"{result['fps']} fps) in {result.get('frames_dir', '-')}  [{result['seconds']:.1f} s]")
    return 0


def describe_failure(code: int, lines: list[str]) -> str:
    text = "\n".join(lines[-15:])
    if "No module named 'bpy'" in text or "No module named bpy" in text:
        return ("render-controls: this Python has no bpy module; install the dev extras "
                "(`make setup`, which installs bpy==5.0.1) and run again")
    if code in (-6, 134):
        what = ("Blender aborted (exit 134): usually a render engine without a working OpenGL/EGL "
                "driver; try --depth-engine CYCLES --rgb-engine CYCLES")
    elif code in (-9, 137):
        what = "Blender was killed (out of memory?); try a smaller --width/--height or fewer --frames"
    else:
        what = f"Blender capture failed (exit {code})"
    return f"render-controls: {what}. Last output:\n{text}"


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
    print("note: canny frames are edges of the RGB render (Canny 100/200, the trainer's); "
          f"the render itself is in {rgb_dir}", file=sys.stderr)
