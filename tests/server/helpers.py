"""Helpers for the server tests: run `ltx-scene serve` as a real subprocess, a requests client,
an SSE reader, and small real job inputs (a depth ControlPackage, a lossless control video)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import requests

from tests.ports import free_port  # noqa: F401  (the servers' tests import it from here)

FRAMES, WIDTH, HEIGHT = 9, 128, 128  # the smallest valid job for the tiny bundle (factor-2 IC-LoRA)
STARTUP_TIMEOUT_S = 180.0
REPO = Path(__file__).resolve().parents[2]


def serve_command() -> list[str]:
    script = Path(sys.executable).with_name("ltx-scene")
    return [str(script)] if script.exists() else [sys.executable, "-m", "backend.cli"]


def gated_command(hold_file: Path) -> list[str]:
    """`serve` whose jobs pause at their second stage-1 step while `hold_file` exists (gated_serve.py)."""
    return [sys.executable, "-m", "tests.server.gated_serve", str(hold_file)]


class LoggedProcess:
    """A child process started with `popen` (output to `log_path`, unbuffered, in the repository root):
    `kill` is SIGKILL (no shutdown code runs, like a crash or the OOM killer), `stop` is SIGTERM and,
    after `stop_wait_s`, SIGKILL; `log_tail` is the end of its log."""

    log_path: Path
    proc: subprocess.Popen | None = None
    stop_wait_s = 30.0
    tail_chars = 4000

    def popen(self, cmd: list[str], env: dict | None = None) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                cwd=REPO,
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(self.stop_wait_s)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, n: int | None = None) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-(n or self.tail_chars) :]
        except OSError:
            return ""


class ServerProcess(LoggedProcess):
    """`ltx-scene serve` on a loopback port with its own data dir; stdout/stderr go to a log file."""

    def __init__(
        self, bundle: Path, data_dir: Path, *extra: str, port: int | None = None, command: list[str] | None = None
    ):
        """command: what runs `serve` (default `ltx-scene`; `gated_command(hold)` for a server whose
        jobs pause while a file exists)."""
        self.bundle, self.data_dir, self.extra = bundle, data_dir, extra
        self.command = command or serve_command()
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"serve-{self.port}.log"

    def start(self) -> "ServerProcess":
        cmd = self.command + [
            "serve",
            "--model",
            str(self.bundle),
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--device",
            "cpu",
            *self.extra,
        ]
        self.popen(cmd)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                token = (self.data_dir / "token").read_text().strip() if (self.data_dir / "token").is_file() else ""
                health = requests.get(
                    self.base + "/v1/health",
                    timeout=2,
                    proxies={"http": None, "https": None},
                    headers={"Authorization": f"Bearer {token}"} if token else {},
                ).json()
                if health["engine"] == "ready":
                    return self
                if health["engine"] == "failed":
                    raise RuntimeError(f"engine failed: {health['engine_error']}")
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not become ready in {STARTUP_TIMEOUT_S} s:\n{self.log_tail()}")

    @property
    def token(self) -> str:
        return (self.data_dir / "token").read_text().strip()

    def client(self, token: str | None = "") -> "Client":
        return Client(self.base, self.token if token == "" else token)


class Client:
    """A requests session against the server (proxies bypassed, like the add-on does for loopback)."""

    def __init__(self, base: str, token: str | None):
        self.base = base + "/v1"
        self.session = requests.Session()
        self.session.trust_env = False
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **kw):
        return self.session.get(self.base + path, timeout=kw.pop("timeout", 30), **kw)

    def post(self, path: str, **kw):
        return self.session.post(self.base + path, timeout=kw.pop("timeout", 60), **kw)

    def submit(self, spec: dict, control: bytes, name: str = "control.bin", **files) -> str:
        parts = {"control": (name, control)}
        parts.update({k: (k, v) for k, v in files.items()})
        r = self.post("/jobs", data={"spec": json.dumps(spec)}, files=parts)
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["status"] == "queued"
        return body["id"]

    def status(self, job_id: str) -> dict:
        r = self.get(f"/jobs/{job_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def wait(
        self,
        job_id: str,
        statuses=("succeeded", "failed", "cancelled", "interrupted"),
        timeout: float = 300.0,
        predicate=None,
    ) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status(job_id)
            if status["status"] in statuses and (predicate is None or predicate(status)):
                return status
            time.sleep(0.05)
        raise TimeoutError(f"job {job_id} stayed {status}")

    def events(self, job_id: str, timeout: float = 300.0):
        """Yield (event, data dict, arrival time) from the job's SSE stream until it ends."""
        with self.session.get(f"{self.base}/jobs/{job_id}/events", stream=True, timeout=timeout) as r:
            assert r.status_code == 200, r.text
            assert r.headers["content-type"].startswith("text/event-stream")
            yield from parse_sse(r.iter_lines(decode_unicode=True))


def parse_sse(lines):
    event, data = None, []
    for line in lines:
        if line == "":
            if data:
                yield event or "message", json.loads("\n".join(data)), time.perf_counter()
            event, data = None, []
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())


# ------------------------------------------------------------------------------- job inputs
def depth_package_bytes(frames: int = FRAMES, width: int = WIDTH, height: int = HEIGHT) -> bytes:
    from shared.package import ControlPackage

    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    depth = np.stack([2.0 + (xx + yy + 4 * f) / (width + height) for f in range(frames)])
    depth[:, : height // 8, :] = np.inf  # background rows (no geometry)
    pkg = ControlPackage(
        kind="depth", width=width, height=height, fps=Fraction(24), frame_count=frames, depth=depth.astype(np.float32)
    )
    return pkg.to_bytes()


def control_video_bytes(tmp_path: Path, frames: int = FRAMES, width: int = WIDTH, height: int = HEIGHT) -> bytes:
    from backend.video import write_lossless_video

    rng = np.random.default_rng(7)
    video = rng.integers(0, 256, (frames, height, width, 3), dtype=np.uint8)
    path = write_lossless_video(tmp_path / f"control-{frames}x{width}x{height}.mkv", video, 24)
    return Path(path).read_bytes()


def png_bytes(width: int = WIDTH, height: int = HEIGHT) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 200, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()
