"""How long the add-on's own steps take (no backend): build, install, settings, preview, VSE import.

    .venv/bin/python benchmarks/bench_addon.py

Runs the real bpy module on a temporary Blender user folder and prints one table (median of a few
runs per step). Generation time is the backend's (see bench_engine.py / bench_server.py).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # a benchmark script run from the checkout (not the add-on itself)
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="ltx-bench-blender-"))


def timed(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    import bpy

    from tests.blender.addon.addon_install import build_zip, install, remove
    from tests.blender.addon.mp4_fixture import write_mp4
    from tests.blender.addon.small_scene import build_tracks_scene

    work = Path(tempfile.mkdtemp(prefix="ltx-bench-addon-"))
    rows = []
    rows.append(("build the extension zip", timed(lambda: build_zip(work / "dist"))))
    zip_path = build_zip(work / "dist")
    installed = install(zip_path)
    remove(installed)
    rows.append(("install + enable + disable", timed(lambda: remove(install(zip_path)), 3)))
    installed = install(zip_path)
    try:
        prefs = bpy.context.preferences.addons[installed.module_name].preferences
        prefs.output_dir = str(work / "out")
        settings = installed.module("settings")
        for frames, size in ((17, 256), (121, 768)):
            build_tracks_scene(frames=frames, size=size)
            rows.append(
                (f"settings snapshot ({frames} frames, {size}px)", timed(lambda: settings.snapshot(bpy.context), 20))
            )
            rows.append(
                (
                    f"preview controls, tracks ({frames} frames, {size}px)",
                    timed(lambda: bpy.ops.ltx_scene.preview_controls(), 3),
                )
            )
        clip = write_mp4(work / "clip.mp4", frames=121, fps=24, width=256, height=256)
        vse = installed.module("vse")

        def import_once():
            vse.import_result(bpy.context.scene, str(clip), {"spec": {"seed": 1}})

        build_tracks_scene(frames=121, size=256)
        rows.append(("VSE import of a 121-frame mp4 (movie + sound)", timed(import_once, 5)))
    finally:
        installed.module("operators.job").shutdown()
        remove(installed)

    width = max(len(name) for name, _ in rows)
    print(f"{'step'.ljust(width)}  median")
    print(f"{'-' * width}  ------")
    for name, seconds in rows:
        print(f"{name.ljust(width)}  {seconds * 1000:7.1f} ms")
    print(f"(bpy {bpy.app.version_string}, {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
