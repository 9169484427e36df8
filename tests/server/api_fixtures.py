"""The in-process server of the API tests: `create_app` around the stand-in engine, driven with
FastAPI's TestClient (the real routes, middleware, store, worker thread and event broker; no
socket and no model)."""

from __future__ import annotations

import io
import json
import time
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from backend.server.app import create_app
from backend.server.settings import ServerSettings

from .standin_engine import StandInEngine

FINAL = ("succeeded", "failed", "cancelled", "interrupted")
SPEC = {"prompt": "a red cube slides across a wooden table", "seed": 5}


@dataclass
class Api:
    client: TestClient
    engine: StandInEngine
    app: object
    settings: ServerSettings

    @property
    def state(self):
        return self.app.state.server

    def submit(self, spec=None, control: bytes | None = None, **files):
        from .helpers import depth_package_bytes

        parts = {"control": ("control.npz", depth_package_bytes() if control is None else control)}
        parts.update({k: (k, v) for k, v in files.items()})
        return self.client.post("/v1/jobs", data={"spec": json.dumps(SPEC if spec is None else spec)}, files=parts)

    def submit_ok(self, spec=None, control: bytes | None = None, **files) -> str:
        r = self.submit(spec, control, **files)
        assert r.status_code == 202, r.text
        return r.json()["id"]

    def wait(self, job_id: str, statuses=FINAL) -> dict:
        """Poll the store until the job reaches one of `statuses` (pytest-timeout bounds a hang)."""
        while True:
            record = self.state.store.get(job_id)
            if record is not None and record.status in statuses:
                return record.public()
            time.sleep(0.005)


def open_api(data_dir: Path, engine: StandInEngine | None = None, **settings) -> Api:
    """The app (not started: use `running(api)`)."""
    engine = engine or StandInEngine()
    config = ServerSettings(data_dir=data_dir, **settings)
    app = create_app(config, engine)
    client = TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {app.state.server.token}"
    return Api(client, engine, app, config)


@contextmanager
def running(api: Api):
    """The app started (lifespan: the worker thread) and stopped again, its data folder unlocked."""
    try:
        with api.client:
            try:
                api.state.worker.wait_engine(None)  # loaded (or failed) before the test asks
                yield api
            finally:
                api.engine.release()
    finally:
        api.app.state.data_lock.close()


# ------------------------------------------------------------------------------ hostile files
def npz_bytes(entries: dict[str, bytes]) -> bytes:
    """A zip of raw entries (name -> bytes), deflated, like numpy.savez_compressed writes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=False)
    return buf.getvalue()


def npy_header_only(shape: tuple, dtype: str = "<f4") -> bytes:
    """A .npy whose header declares `shape` but which holds no data (a forged size)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def package_with_manifest(manifest_text: str | bytes, depth: np.ndarray | None = None) -> bytes:
    """A depth ControlPackage whose manifest is the given JSON text (to forge manifests)."""
    raw = manifest_text.encode("utf-8", "surrogatepass") if isinstance(manifest_text, str) else manifest_text
    if depth is None:
        depth = np.full((9, 128, 128), 2.0, np.float32)
    return npz_bytes({"manifest.npy": npy_bytes(np.frombuffer(raw, np.uint8)), "depth.npy": npy_bytes(depth)})


def manifest_text(**overrides) -> str:
    manifest = {
        "format": "ltx-scene-control-package",
        "version": 1,
        "kind": "depth",
        "width": 128,
        "height": 128,
        "fps": "24",
        "frame_count": 9,
        "frame_start": 0,
        "camera": None,
        "source": {},
        "depth_units": "m",
        "arrays": ["depth"],
    }
    manifest.update(overrides)
    return json.dumps(manifest)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG declaring width x height in its header, with an empty IDAT (no pixels to decode)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")
