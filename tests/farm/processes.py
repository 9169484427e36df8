"""The real processes of a farm for the tests and the benchmark: Debian's `redis-server` on a free
loopback port in a temporary folder, `ltx-scene serve --broker` (the front door) and
`ltx-scene worker`s (through `gated_worker.py`, whose jobs pause while a hold file exists).

Each process logs to a file beside its data; `log_tail()` is printed when a test fails."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.server.helpers import Client, LoggedProcess, free_port, serve_command

HANG_GUARD_S = 900.0  # only against hangs: a loaded 2-core machine starts a worker in about a minute
HEARTBEAT_S = 0.5
# Silence that counts as a lost worker. Generous on purpose: a heartbeat delayed on a busy machine must
# not be taken for a death (the 10-job test asserts every job ran once); only the kill tests wait it out.
WORKER_TIMEOUT_S = 20.0


def redis_server_binary() -> str:
    path = shutil.which("redis-server")
    if path is None:
        raise RuntimeError(
            "redis-server is not installed: the studio-farm tests need Debian's redis-server. "
            "Run `make setup-redis` (apt-get install redis-server)"
        )
    return path


class RedisServer(LoggedProcess):
    """`redis-server` on 127.0.0.1:<free port>, data in `folder` (snapshots on: a restart keeps the queue).
    `stop` is SIGTERM: redis saves its snapshot and exits (what a service manager's restart does)."""

    def __init__(self, folder: Path, port: int | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = self.folder / "redis.log"

    def start(self) -> "RedisServer":
        binary = redis_server_binary()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
                 "--save", "60 1", "--appendonly", "no", "--protected-mode", "yes"],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if client.ping():
                    return self
            except redis.RedisError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not answer")


class FrontDoor(LoggedProcess):
    """`ltx-scene serve --broker` on a loopback port; its data dir holds the worker token the workers read."""

    def __init__(self, bundle: Path, data_dir: Path, broker: str, port: int | None = None, *extra: str):
        self.bundle, self.data_dir, self.broker = bundle, Path(data_dir), broker
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.extra = extra
        self.log_path = self.data_dir.parent / f"front-door-{self.port}.log"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        token_file = self.data_dir / "worker-token"
        if not token_file.exists():  # made here so workers can start before the front door first runs
            fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(32) + "\n")

    @property
    def worker_token_file(self) -> Path:
        return self.data_dir / "worker-token"

    def start(self) -> "FrontDoor":
        cmd = serve_command() + [
            "serve", "--model", str(self.bundle), "--port", str(self.port), "--data-dir", str(self.data_dir),
            "--broker", self.broker, "--worker-timeout-s", str(WORKER_TIMEOUT_S), *self.extra,
        ]  # fmt: skip
        self.popen(cmd)
        deadline = time.monotonic() + HANG_GUARD_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"front door exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                requests.get(self.base + "/v1/health", timeout=2, proxies={"http": None, "https": None})
                return self
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"front door did not answer:\n{self.log_tail()}")

    @property
    def token(self) -> str:
        return (self.data_dir / "token").read_text().strip()

    def client(self) -> Client:
        return Client(self.base, self.token)

    def health(self) -> dict:
        return self.client().get("/health").json()

    def wait_workers(self, names: set[str], timeout: float = HANG_GUARD_S) -> dict:
        """Until exactly `names` are the live idle-or-busy workers of this model."""
        deadline = time.monotonic() + timeout
        health = {}
        while time.monotonic() < deadline:
            health = self.health()
            live = {w["name"] for w in health.get("workers") or [] if w["state"] != "loading"}
            if live == names and (not names or health["engine"] == "ready"):
                return health
            time.sleep(0.2)
        raise TimeoutError(f"workers {names} not seen: {health}\n{self.log_tail()}")


class Worker(LoggedProcess):
    """`ltx-scene worker` (gated by `hold`) on the CPU, with a short heartbeat."""

    stop_wait_s = 60.0
    tail_chars = 3000

    def __init__(
        self, name: str, bundle: Path, broker: str, token_file: Path, hold: Path, log_dir: Path, env: dict | None = None
    ):
        """env: extra environment (the benchmark gives each worker its share of the CPU's threads)."""
        self.name, self.bundle, self.broker, self.token_file, self.hold = name, bundle, broker, token_file, hold
        self.env = env or {}
        self.log_path = Path(log_dir) / f"worker-{name}.log"

    def start(self) -> "Worker":
        cmd = [sys.executable, "-m", "tests.farm.gated_worker", str(self.hold), "worker",
               "--broker", self.broker, "--model", str(self.bundle), "--token-file", str(self.token_file),
               "--device", "cpu", "--name", self.name, "--heartbeat-s", str(HEARTBEAT_S)]  # fmt: skip
        self.popen(cmd, self.env)
        return self
