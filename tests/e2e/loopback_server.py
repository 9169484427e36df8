"""`ltx-scene serve` as a real subprocess on a free loopback port for the add-on end-to-end tests."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import REPO_ROOT
from tests.server.helpers import free_port


@contextlib.contextmanager
def loopback_server(bundle: Path, data_dir: Path, env: dict, startup_s: float):
    """Yields (url, token) once /v1/health answers and the token is written (the engine may still be
    loading); the server's output goes to a log beside `data_dir`, whose tail a failure shows."""
    port = free_port()
    log_path = data_dir.parent / f"server-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "serve", "--model", str(bundle), "--port", str(port),
             "--data-dir", str(data_dir)],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + startup_s
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"the server exited ({proc.returncode}): {log_path.read_text()[-3000:]}")
                try:
                    ok = requests.get(f"{url}/v1/health", timeout=2).status_code == 200
                    if ok and (data_dir / "token").is_file():
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"the server did not come up: {log_path.read_text()[-3000:]}")
                time.sleep(0.3)
            yield url, (data_dir / "token").read_text().strip()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
