"""Run a headless Blender child process (this interpreter with the bpy module) and read its lines.

bpy never enters backend/: `ltx-scene render-controls` and `ltx-scene demo` start
`python -m tools.<module>` in a child, which speaks the line protocol of
shared/child_messages.py. `run_child` streams the child's stdout, hands each tagged line to the
caller's callbacks (step, progress, note), keeps the LTX_RESULT, the LTX_ERROR messages of stderr and
the tail of all other output (to explain a crash), and terminates the child on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO

from shared import child_messages as msg

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class ChildRun:
    """What a finished child left: exit status, its LTX_RESULT (None if it printed none), the
    LTX_ERROR messages, the last other stdout lines and every stderr line."""

    returncode: int
    result: dict | None
    errors: list[str] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    @property
    def user_error(self) -> str | None:
        """The child's own message when it refused bad input (exit 2 with LTX_ERROR), else None."""
        if self.returncode == msg.USER_ERROR_EXIT and self.errors:
            return self.errors[-1]
        return None

    @property
    def failed(self) -> bool:
        return self.returncode != 0 or self.result is None

    def output(self, last: int) -> str:
        """The last `last` lines of other stdout, then stderr: for a crash report."""
        return "\n".join((self.tail + self.stderr)[-last:])


def child_env(extra: dict | None = None) -> dict:
    """This environment with the repository on PYTHONPATH (the child imports tools and blender_addon) and
    unbuffered output (lines arrive as they are printed)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    env.update(extra or {})
    return env


def run_child(
    cmd: list[str],
    *,
    env: dict | None = None,
    on_step: Callable[[str, str], None] | None = None,
    on_progress: Callable[[float, str], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    log: TextIO | None = None,
    tail_lines: int = 40,
) -> ChildRun:
    """Run `cmd` in the repository root until it exits; callbacks run on this thread, in line order.
    `log` receives every stdout line and every stderr line prefixed `[stderr] `."""
    tail: deque[str] = deque(maxlen=tail_lines)
    err_lines: list[str] = []
    result = None
    proc = subprocess.Popen(
        cmd,
        cwd=str(REPO_ROOT),
        env=env if env is not None else child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )

    def drain_err():
        for line in proc.stderr:
            err_lines.append(line.rstrip("\n"))
            if log is not None:
                log.write("[stderr] " + line)

    err_thread = threading.Thread(target=drain_err, daemon=True)
    err_thread.start()
    try:
        for line in proc.stdout:
            if log is not None:
                log.write(line)
            message = msg.parse(line)
            tag, payload = message if message else (None, "")
            if tag == msg.STEP:
                if on_step is not None:
                    on_step(*msg.parse_step(payload))
            elif tag == msg.PROGRESS:
                if on_progress is not None:
                    on_progress(*msg.parse_progress(payload))
            elif tag == msg.NOTE:
                if on_note is not None:
                    on_note(payload)
            elif tag == msg.RESULT:
                result = json.loads(payload)
            else:
                tail.append(line.rstrip("\n"))
        proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        raise
    finally:
        err_thread.join(timeout=5)
    errors = [m[1] for m in map(msg.parse, err_lines) if m and m[0] == msg.ERROR]
    return ChildRun(proc.returncode, result, errors, list(tail), err_lines)


def run_capture_child(cmd: list[str], *, command: str, desc: str, quiet: bool, postfix_chars: int = 0) -> dict:
    """A CLI command's capture child (`render-controls`, `export-training`): its progress as a tqdm bar on
    stderr (unless `quiet`, or tqdm is missing), its notes as `note:` lines, and its LTX_RESULT. A user error
    of the child, or a crash (explained by describe_failure), is raised as a UserError naming `command`.
    postfix_chars: how much of the progress message the bar shows (0: all of it)."""
    from shared.errors import UserError

    bar = None
    if not quiet:
        try:
            from tqdm import tqdm

            bar = tqdm(
                total=1000,
                desc=desc,
                unit="‰",
                file=sys.stderr,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}",
            )
        except ImportError:
            bar = None
    done = 0

    def on_progress(fraction: float, message: str) -> None:
        nonlocal done
        target = int(fraction * 1000)
        if bar is not None and target > done:
            bar.update(target - done)
            bar.set_postfix_str(message[-postfix_chars:] if postfix_chars else message)
        done = max(done, target)

    try:
        child = run_child(cmd, on_progress=on_progress, on_note=lambda text: print(f"note: {text}", file=sys.stderr))
    finally:
        if bar is not None:
            bar.close()
    if child.user_error is not None:
        raise UserError(child.user_error)
    if child.failed:
        raise UserError(describe_failure(child.returncode, child.tail + child.stderr, command))
    return child.result


def describe_failure(code: int, lines: list[str], command: str) -> str:
    """Why the capture child of `command` failed, in words, with its last output lines."""
    text = "\n".join(lines[-15:])
    if "No module named 'bpy'" in text or "No module named bpy" in text:
        return (
            f"{command}: this Python has no bpy module; install the dev extras "
            "(`make setup`, which installs bpy==5.0.1) and run again"
        )
    if code in (-6, 134):
        what = (
            "Blender aborted (exit 134): usually a render engine without a working OpenGL/EGL "
            "driver; try --depth-engine CYCLES --rgb-engine CYCLES"
        )
    elif code in (-9, 137):
        what = "Blender was killed (out of memory?); try a smaller --width/--height or fewer --frames"
    else:
        what = f"Blender capture failed (exit {code})"
    return f"{command}: {what}. Last output:\n{text}"
