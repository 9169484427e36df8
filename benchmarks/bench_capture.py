"""Capture time per control kind: the demo scene, 121 frames at 1024x576, real bpy.

Goal: depth, pose and tracks together under 10 s on a 2-core CPU machine. Depth uses the default
path (Workbench without AA at the reference size 512x288 where an EGL driver works, else Cycles);
the last rows compare with Cycles depth at the reference size and at full size.

    .venv/bin/python benchmarks/bench_capture.py [--frames 121] [--no-cycles-full]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="bench-blender-"))


@contextlib.contextmanager
def _blender_output_to(log_path: str):
    """Blender prints two "Saved: ..." lines per rendered frame from C (about 1000 for this
    benchmark); send file descriptors 1 and 2 to a log so the table stays readable."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=121)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--height", type=int, default=576)
    ap.add_argument("--no-cycles-full", action="store_true", help="skip the slow full-size Cycles row")
    args = ap.parse_args()

    import bpy

    from blender_addon.capture import CaptureSettings
    from blender_addon.capture.engine_probe import engine_available, pick_engine
    from blender_addon.capture.package import capture_package
    from tools.scenes import build_demo_scene

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = build_demo_scene(frames=args.frames, width=args.width, height=args.height)
    t = time.perf_counter()
    workbench = engine_available("BLENDER_WORKBENCH")
    probe_s = time.perf_counter() - t
    auto = pick_engine("AUTO")

    common = dict(width=args.width, height=args.height, frame_count=args.frames)
    rows = []

    log_path = os.path.join(tempfile.gettempdir(), "bench_capture_blender.log")
    open(log_path, "wb").close()

    def measure(label, engine, size, settings):
        with _blender_output_to(log_path):
            t0 = time.perf_counter()
            pkg = capture_package(scene, settings)
            dt = time.perf_counter() - t0
        rows.append((label, engine, size, pkg.frame_count, dt))
        return dt

    ref = f"{args.width // 2}x{args.height // 2}"
    full = f"{args.width}x{args.height}"
    together = measure(
        "tracks", "-", full, CaptureSettings(kind="tracks", track_targets=("Ball", "Armature:hand.L"), **common)
    )
    together += measure("pose", "-", full, CaptureSettings(kind="pose", **common))
    together += measure("depth", auto.lower().replace("blender_", ""), ref, CaptureSettings(kind="depth", **common))
    measure(
        "canny source (rgb)",
        pick_engine("BLENDER_WORKBENCH").lower().replace("blender_", ""),
        full,
        CaptureSettings(kind="canny", **common),
    )
    measure(
        "mask (Armature_Body)",
        auto.lower().replace("blender_", ""),
        ref,
        CaptureSettings(kind="tracks", track_targets=("Ball",), mask_objects=("Armature_Body",), **common),
    )
    measure("depth", "cycles", ref, CaptureSettings(kind="depth", depth_engine="CYCLES", **common))
    if not args.no_cycles_full:
        measure(
            "depth", "cycles", full, CaptureSettings(kind="depth", depth_engine="CYCLES", depth_size="full", **common)
        )

    print(
        f"\nBlender {bpy.app.version_string}, {os.cpu_count()} CPU cores, demo scene, {args.frames} frames; "
        f"EGL probe: Workbench {'works' if workbench else 'unavailable'} ({probe_s:.1f} s, once per process)\n"
    )
    print(f"| {'control':<22} | {'engine':<9} | {'size':<9} | frames | total s | s/frame |")
    print(f"|{'-' * 24}|{'-' * 11}|{'-' * 11}|--------|---------|---------|")
    for label, engine, size, frames, dt in rows:
        print(f"| {label:<22} | {engine:<9} | {size:<9} | {frames:>6} | {dt:>7.2f} | {dt / frames:>7.3f} |")
    print(f"\ndepth + pose + tracks together: {together:.2f} s (goal < 10 s)")
    print(f"(Blender's render log: {log_path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
