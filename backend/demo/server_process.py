"""The real `ltx-scene serve` as a child process on a free loopback port, for the demo.

`ServerProcess(bundle_path, data_dir, log_path).start(on_wait)` launches it with this interpreter,
waits until `/v1/health` says the engine is `ready` (the models load in the background after the
server is up) and reads the token it created. `stop()` ends it (terminate, then kill). Failures say
what happened and show the end of the server's log.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from shared.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback_session() -> requests.Session:
    """A session that ignores proxy variables: the server is on this machine."""
    session = requests.Session()
    session.trust_env = False
    return session


class ServerProcess:
    def __init__(
        self, bundle_path: Path, data_dir: Path, log_path: Path, port: int | None = None, device: str = "auto"
    ):
        self.bundle_path = Path(bundle_path)
        self.data_dir = Path(data_dir)
        self.log_path = Path(log_path)
        self.port = port or free_port()
        self.device = device
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = ""
        self.health: dict = {}
        self.proc: subprocess.Popen | None = None
        self.http = loopback_session()
        self._log = None

    @property
    def token_file(self) -> Path:
        return self.data_dir / "token"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "backend.cli",
            "serve",
            "--model",
            str(self.bundle_path),
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--device",
            self.device,
            "--log-level",
            "warning",
        ]

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def start(self, timeout_s: float, on_wait=None) -> "ServerProcess":
        """Start and wait for the engine to be ready; on_wait(elapsed_s, engine_state) while waiting."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
        self.proc = subprocess.Popen(
            self.command(),
            cwd=str(REPO_ROOT),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        started = time.monotonic()
        state = "starting"
        while True:
            elapsed = time.monotonic() - started
            code = self.proc.poll()
            if code is not None:
                raise UserError(
                    f"the server exited with status {code} before it was ready. "
                    f"Its log ({self.log_path}) ends with:\n{self.log_tail()}",
                    "server",
                )
            try:
                # With the token (once the server wrote it) health also says the device and versions.
                token = self.token_file.read_text().strip() if self.token_file.is_file() else ""
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                reply = self.http.get(f"{self.url}/v1/health", timeout=2, headers=headers)
                if reply.status_code == 200:
                    self.health = reply.json()
                    state = self.health.get("engine", "ready")
            except requests.RequestException:
                pass
            if state == "failed":
                raise UserError(
                    f"the server could not load the model bundle: "
                    f"{self.health.get('engine_error')}. Log: {self.log_path}",
                    "server",
                )
            if state == "ready" and self.token_file.is_file() and self.health.get("authenticated"):
                self.token = self.token_file.read_text().strip()
                return self
            if elapsed > timeout_s:
                raise UserError(
                    f"the server was not ready after {timeout_s:.0f} s (engine: {state}). "
                    f"Its log ({self.log_path}) ends with:\n{self.log_tail()}",
                    "server",
                )
            if on_wait is not None:
                on_wait(elapsed, state)
            time.sleep(0.5)

    def jobs(self) -> list[dict]:
        reply = self.http.get(f"{self.url}/v1/jobs", headers={"Authorization": f"Bearer {self.token}"}, timeout=5)
        reply.raise_for_status()
        return reply.json().get("jobs", [])

    def stop(self) -> int | None:
        """End the server (SIGTERM, then SIGKILL after 20 s); its exit status."""
        code = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                code = self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait()
        elif self.proc is not None:
            code = self.proc.returncode
        if self._log is not None:
            self._log.close()
            self._log = None
        self.http.close()
        return code

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
