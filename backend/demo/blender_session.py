"""Run the demo's Blender half (`python -m blender_addon.demo_session`) in a child process.

bpy never enters backend/: the child is this interpreter importing the bpy module. Its lines
(`LTX_STEP`, `LTX_PROGRESS`, `LTX_NOTE`, `LTX_RESULT`, `LTX_ERROR`; see blender_addon/demo_session.py)
become one printed line per step and a progress bar per step. While the child's Generate operator
waits on the server (synchronously, in background mode it reports nothing), a thread polls the
server's job list and drives the bar with the job's stage, step and ETA.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import deque
from pathlib import Path

from shared.errors import UserError

from .progress_bar import ProgressBar

REPO_ROOT = Path(__file__).resolve().parents[2]


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


def session_command(out_dir: Path, server, control: str, width: int, height: int, frames: int,
                    reference_factor: int, prompt: str | None, seed: int) -> list[str]:
    cmd = [sys.executable, "-m", "blender_addon.demo_session", "--out", str(out_dir),
           "--url", server.url, "--token-file", str(server.token_file), "--control", control,
           "--width", str(width), "--height", str(height), "--frames", str(frames),
           "--reference-factor", str(reference_factor), "--seed", str(seed)]
    if prompt:
        cmd += ["--prompt", prompt]
    return cmd


def run_session(cmd: list[str], server, log_path: Path, say=print) -> dict:
    """Run the child; returns its LTX_RESULT. Raises UserError naming the failed step."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    # `import bpy` writes Blender's user settings: keep them out of the user's ~/.config/blender.
    own_home = None
    if not env.get("BLENDER_USER_RESOURCES"):
        own_home = tempfile.mkdtemp(prefix="ltx-scene-demo-blender-")
        env["BLENDER_USER_RESOURCES"] = own_home
    tail: deque[str] = deque(maxlen=60)
    err_lines: list[str] = []
    result = None
    bar: ProgressBar | None = None
    monitor: JobMonitor | None = None
    step = "start"
    log = open(log_path, "w", encoding="utf-8")
    proc = subprocess.Popen(cmd, cwd=str(REPO_ROOT), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)

    def drain_err():
        for line in proc.stderr:
            err_lines.append(line.rstrip("\n"))
            log.write("[stderr] " + line)
    err_thread = threading.Thread(target=drain_err, daemon=True)
    err_thread.start()

    def close_step():
        nonlocal bar, monitor
        if monitor is not None:
            monitor.stop()
            monitor = None
        if bar is not None:
            bar.close()
            bar = None

    try:
        for line in proc.stdout:
            log.write(line)
            line = line.rstrip("\n")
            if line.startswith("LTX_STEP "):
                close_step()
                step, _, text = line[9:].partition(" ")
                say(f"    - {text}")
                bar = ProgressBar(step)
                if step == "generate":
                    monitor = JobMonitor(server, bar)
                    monitor.start()
            elif line.startswith("LTX_PROGRESS "):
                _, fraction, *msg = line.split(" ", 2)
                if bar is not None and monitor is None:
                    bar.update(float(fraction), msg[0] if msg else "")
            elif line.startswith("LTX_NOTE "):
                if bar is not None:
                    bar.write(f"      note: {line[9:]}")
                else:
                    say(f"      note: {line[9:]}")
            elif line.startswith("LTX_RESULT "):
                result = json.loads(line[11:])
            else:
                tail.append(line)
        proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        raise
    finally:
        close_step()
        err_thread.join(timeout=5)
        log.close()
        if own_home:
            shutil.rmtree(own_home, ignore_errors=True)
    errors = [ln[10:] for ln in err_lines if ln.startswith("LTX_ERROR ")]
    if proc.returncode == 2 and errors:
        raise UserError(errors[-1], "blender")
    if proc.returncode != 0 or result is None:
        text = "\n".join((list(tail) + err_lines)[-20:])
        if "No module named 'bpy'" in text:
            raise UserError("this Python has no bpy module: run `make setup` (it installs bpy==5.0.1) "
                            "and try again", "blender")
        why = {-9: "was killed (out of memory?)", 137: "was killed (out of memory?)",
               -6: "aborted (a render engine without an OpenGL/EGL driver?)",
               134: "aborted (a render engine without an OpenGL/EGL driver?)"}.get(
                   proc.returncode, f"exited with status {proc.returncode}")
        raise UserError(f"{step}: the Blender process {why} during step '{step}'. Its full output is in "
                        f"{log_path}; the end:\n{text}", "blender")
    return result
