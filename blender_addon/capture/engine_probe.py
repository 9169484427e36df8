"""Can this Blender render with Workbench/EEVEE? Asked in a subprocess, answered once.

Workbench and EEVEE need an OpenGL context; headless that means an EGL driver. Without one Blender
aborts the whole process (exit 134, not catchable), so the probe renders a tiny frame in a child
process and the answer is cached for the life of this process. With a UI (not background) the
context exists and no probe is needed. Cycles on the CPU always works and is the fallback.

`LTX_SCENE_RENDER_PROBE=off` skips the probe and reports "not available" (forces Cycles).
"""

from __future__ import annotations

import os
import subprocess
import sys

_CACHE: dict[str, bool] = {}
PROBE_TIMEOUT_S = 120

_PROBE_SCRIPT = r"""
import bpy, sys, tempfile, os
bpy.ops.wm.read_factory_settings(use_empty=False)
s = bpy.context.scene
s.render.engine = sys.argv[-1]
s.render.resolution_x, s.render.resolution_y = 16, 16
path = os.path.join(tempfile.mkdtemp(), "probe.png")
s.render.filepath = path
bpy.ops.render.render(write_still=True)
print("LTX_PROBE_OK" if os.path.exists(path) else "LTX_PROBE_NO_FILE")
"""


def probe_command(engine: str) -> list[str]:
    """The child process: Blender's binary in background mode, or this Python importing bpy."""
    import bpy

    binary = bpy.app.binary_path
    if binary and os.path.basename(binary).lower().startswith("blender") and os.path.exists(binary):
        return [binary, "-b", "--factory-startup", "--python-expr", _PROBE_SCRIPT, "--", engine]
    return [sys.executable, "-c", _PROBE_SCRIPT, engine]


def run_probe(command: list[str], timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True when `command` exits 0 and prints the OK marker; crashes, aborts and timeouts are False."""
    env = dict(os.environ)
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and "LTX_PROBE_OK" in proc.stdout


def engine_available(engine: str) -> bool:
    """Whether `engine` ('BLENDER_WORKBENCH', 'BLENDER_EEVEE_NEXT'/'BLENDER_EEVEE') can render here."""
    import bpy

    if engine == "CYCLES":
        return True
    if os.environ.get("LTX_SCENE_RENDER_PROBE", "").lower() == "off":
        return False
    if not bpy.app.background:
        return True
    if engine not in _CACHE:
        _CACHE[engine] = run_probe(probe_command(engine))
    return _CACHE[engine]


def pick_engine(requested: str = "AUTO") -> str:
    """AUTO: Workbench where it can render, else Cycles on the CPU. An engine that cannot render
    here (no EGL driver) also falls back to Cycles rather than abort the process."""
    wanted = "BLENDER_WORKBENCH" if requested == "AUTO" else requested
    return wanted if engine_available(wanted) else "CYCLES"
