"""Run the demo's Blender half (`python -m tools.demo_session`) in a child process.

bpy never enters backend/: the child is this interpreter importing the bpy module, run by
backend/blender_child.py. Its lines (`LTX_STEP`, `LTX_PROGRESS`, `LTX_NOTE`, `LTX_RESULT`,
`LTX_ERROR`; shared/child_messages.py) become one printed line per step and a progress bar per step. While the child's Generate operator
waits on the server (synchronously, in background mode it reports nothing), a thread polls the
server's job list and drives the bar with the job's stage, step and ETA.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

from backend.blender_child import child_env, run_child
from shared.errors import UserError

from .progress_bar import ProgressBar


class JobMonitor(threading.Thread):
    """Polls the server's newest unfinished job into a progress bar until stopped."""

    def __init__(self, server, bar: ProgressBar, interval_s: float = 0.5):
        super().__init__(daemon=True, name="demo-job-monitor")
        self.server, self.bar, self.interval_s = server, bar, interval_s
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval_s):
            try:
                jobs = self.server.jobs()
            except Exception:
                continue
            if not jobs:
                continue
            job = max(jobs, key=lambda j: j.get("created") or 0)
            text = job.get("stage") or job.get("status") or ""
            if job.get("step") is not None and job.get("total"):
                text += f" {job['step']}/{job['total']}"
            eta = job.get("eta_s")
            if isinstance(eta, (int, float)) and eta > 0 and job.get("status") == "running":
                text += f", about {eta:.0f} s left"
            self.bar.update(float(job.get("progress") or 0.0), f"job {job['id'][:8]}: {text}")

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def session_command(
    out_dir: Path,
    server,
    control: str,
    width: int,
    height: int,
    frames: int,
    reference_factor: int,
    prompt: str | None,
    seed: int,
) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "tools.demo_session",
        "--out",
        str(out_dir),
        "--url",
        server.url,
        "--token-file",
        str(server.token_file),
        "--control",
        control,
        "--width",
        str(width),
        "--height",
        str(height),
        "--frames",
        str(frames),
        "--reference-factor",
        str(reference_factor),
        "--seed",
        str(seed),
    ]
    if prompt:
        cmd += ["--prompt", prompt]
    return cmd


def run_session(cmd: list[str], server, log_path: Path, say=print) -> dict:
    """Run the child; returns its LTX_RESULT. Raises UserError naming the failed step."""
    extra = {}
    # `import bpy` writes Blender's user settings: keep them out of the user's ~/.config/blender.
    own_home = None
    if not os.environ.get("BLENDER_USER_RESOURCES"):
        own_home = tempfile.mkdtemp(prefix="ltx-scene-demo-blender-")
        extra["BLENDER_USER_RESOURCES"] = own_home
    bar: ProgressBar | None = None
    monitor: JobMonitor | None = None
    step = "start"

    def close_step():
        nonlocal bar, monitor
        if monitor is not None:
            monitor.stop()
            monitor = None
        if bar is not None:
            bar.close()
            bar = None

    def on_step(name: str, text: str) -> None:
        nonlocal step, bar, monitor
        close_step()
        step = name
        say(f"    - {text}")
        bar = ProgressBar(step)
        if step == "generate":
            monitor = JobMonitor(server, bar)
            monitor.start()

    def on_progress(fraction: float, message: str) -> None:
        if bar is not None and monitor is None:
            bar.update(fraction, message)

    def on_note(text: str) -> None:
        if bar is not None:
            bar.write(f"      note: {text}")
        else:
            say(f"      note: {text}")

    try:
        with open(log_path, "w", encoding="utf-8") as log:
            child = run_child(
                cmd,
                env=child_env(extra),
                on_step=on_step,
                on_progress=on_progress,
                on_note=on_note,
                log=log,
                tail_lines=60,
            )
    finally:
        close_step()
        if own_home:
            shutil.rmtree(own_home, ignore_errors=True)
    if child.user_error is not None:
        raise UserError(child.user_error, "blender")
    if child.failed:
        text = child.output(20)
        if "No module named 'bpy'" in text:
            raise UserError(
                "this Python has no bpy module: run `make setup` (it installs bpy==5.0.1) and try again", "blender"
            )
        why = {
            -9: "was killed (out of memory?)",
            137: "was killed (out of memory?)",
            -6: "aborted (a render engine without an OpenGL/EGL driver?)",
            134: "aborted (a render engine without an OpenGL/EGL driver?)",
        }.get(child.returncode, f"exited with status {child.returncode}")
        raise UserError(
            f"{step}: the Blender process {why} during step '{step}'. Its full output is in "
            f"{log_path}; the end:\n{text}",
            "blender",
        )
    return child.result
