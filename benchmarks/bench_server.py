"""The server's overhead on a job: submit-to-result through `ltx-scene serve` versus calling the
engine directly on the same job, and how soon the first progress event reaches a client.

Goals (backend/README.md, "Server and HTTP API"): under 5 % extra time per job, and the first
progress event within 200 ms of the submit when the queue is empty.

Runs on the tiny bundle (made in a temp dir unless --model is given), CPU unless --device says
otherwise. Direct and server runs alternate so that machine load affects both alike.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _package_bytes(frames: int, size: int) -> bytes:
    from shared.package import ControlPackage

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    depth = np.stack([2.0 + (xx + yy + 4 * f) / (2 * size) for f in range(frames)]).astype(np.float32)
    return ControlPackage(kind="depth", width=size, height=size, fps=Fraction(24), frame_count=frames,
                          depth=depth).to_bytes()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sse(response):
    event = None
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            yield event, json.loads(line[5:]), time.perf_counter()


def _direct(engine, spec_json: dict, package: bytes, out_dir: Path) -> float:
    from backend.engine import ControlInput
    from shared.job_spec import GenerationSpec
    from shared.package import ControlPackage

    t0 = time.perf_counter()
    control = ControlInput(package=ControlPackage.load(package))
    engine.run(GenerationSpec.from_json(spec_json), control, out_dir)
    return time.perf_counter() - t0


def _through_server(session, base: str, spec_json: dict, package: bytes) -> tuple[float, float, float, float]:
    """(submit -> result downloaded, submit -> first status event, submit -> first progress event,
    the job's own running time on the server: finished - started)"""
    t0 = time.perf_counter()
    r = session.post(base + "/jobs", data={"spec": json.dumps(spec_json)},
                     files={"control": ("scene.npz", package)}, timeout=60)
    r.raise_for_status()
    job = r.json()["id"]
    first_status = first_progress = None
    _through_server.events = 0
    with session.get(f"{base}/jobs/{job}/events", stream=True, timeout=600) as ev:
        for kind, data, t in _sse(ev):
            if first_status is None:
                first_status = t - t0
            if kind == "progress":
                _through_server.events += 1
                if first_progress is None:
                    first_progress = t - t0
            if data["status"] in ("succeeded", "failed", "cancelled", "interrupted"):
                if data["status"] != "succeeded":
                    raise RuntimeError(data["error"])
                break
    video = session.get(f"{base}/jobs/{job}/result", timeout=60)
    video.raise_for_status()
    total = time.perf_counter() - t0
    status = session.get(f"{base}/jobs/{job}", timeout=30).json()
    return total, first_status, first_progress, status["finished"] - status["started"]


def _progress_bookkeeping_ms(tmp: Path, updates: int = 500) -> float:
    """Cost of one progress update inside a job (job.json rewrite + listener fan-out), in ms."""
    from backend.server.events import EventBroker
    from backend.server.jobs import JobStore

    store, _ = JobStore.open(tmp / "bookkeeping")
    store.add_listener(EventBroker().publish)
    upload = tmp / "bookkeeping-upload"
    upload.write_bytes(b"x")
    job = store.create({"prompt": "p"}, {"control": (upload, "control.npz")})
    t0 = time.perf_counter()
    for i in range(updates):
        store.update(job.id, progress=i / updates, stage="stage1", step=i, total=updates, eta_s=1.0,
                     message="denoising")
    return 1000 * (time.perf_counter() - t0) / updates


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None, help="bundle.json (default: a fresh tiny bundle)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--frames", type=int, default=9)
    ap.add_argument("--size", type=int, default=128)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 2)))
    from backend.engine import Engine

    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        tmp = Path(tmp)
        bundle = args.model
        if bundle is None:
            from backend.tiny_model import make_tiny_model

            bundle = make_tiny_model(tmp / "tiny", architecture="ltx-2.3", seed=0)
        package = _package_bytes(args.frames, args.size)
        spec = {"prompt": "a red cube slides across a table", "seed": 5}

        port = _free_port()
        data_dir = tmp / "data"
        log = open(tmp / "serve.log", "wb")
        script = Path(sys.executable).with_name("ltx-scene")
        cmd = ([str(script)] if script.exists() else [sys.executable, "-m", "backend.cli"]) + [
            "serve", "--model", str(bundle), "--port", str(port), "--data-dir", str(data_dir),
            "--device", args.device, "--log-level", "warning"]
        server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        try:
            base = f"http://127.0.0.1:{port}/v1"
            session = requests.Session()
            session.trust_env = False
            deadline = time.monotonic() + 300
            while True:
                try:
                    if session.get(base + "/health", timeout=2).json()["engine"] == "ready":
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError((tmp / "serve.log").read_text()[-3000:])
                time.sleep(0.2)
            session.headers["Authorization"] = "Bearer " + (data_dir / "token").read_text().strip()

            engine = Engine(bundle, device=args.device)
            engine.load()
            # warm-up both (prompt cache, first-call allocations), not timed
            _direct(engine, spec, package, tmp / "direct-warm")
            _through_server(session, base, spec, package)

            direct, served, first_status, first_progress, outside = [], [], [], [], []
            for i in range(args.runs):
                direct.append(_direct(engine, spec, package, tmp / f"direct-{i}"))
                total, fs, fp, running = _through_server(session, base, spec, package)
                served.append(total)
                first_status.append(fs)
                first_progress.append(fp)
                outside.append(total - running)
            events_per_job = _through_server.events
            per_update_ms = _progress_bookkeeping_ms(tmp)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
            log.close()

    d, s = statistics.median(direct), statistics.median(served)
    print(f"server overhead, tiny bundle, {args.frames} frames {args.size}x{args.size}, device "
          f"{args.device}, {args.runs} runs each (median; direct and served runs alternate)")
    print(f"{'measure':48s} {'value':>12s} {'goal':>10s}")
    print(f"{'engine.run directly (s)':48s} {d:12.3f} {'':>10s}")
    print(f"{'submit -> result downloaded via server (s)':48s} {s:12.3f} {'':>10s}")
    print(f"{'server overhead, medians compared (%)':48s} {100 * (s - d) / d:12.1f} {'< 5':>10s}")
    print(f"{'server overhead (ms per job)':48s} {1000 * (s - d):12.0f} {'':>10s}")
    print(f"{'time outside the engine run per job (ms)':48s} {1000 * statistics.median(outside):12.0f} {'':>10s}")
    print(f"{'  as % of the served job':48s} {100 * statistics.median(o / t for o, t in zip(outside, served)):12.2f} {'< 5':>10s}")
    inside = per_update_ms * events_per_job
    print(f"{'progress bookkeeping inside the run (ms per job)':48s} {inside:12.1f} {'':>10s}")
    total_overhead = 1000 * statistics.median(outside) + inside
    print(f"{'server overhead, measured parts (% of fastest direct)':48s} {100 * total_overhead / (1000 * min(direct)):12.2f} {'< 5':>10s}")
    print(f"{'fastest served vs fastest direct (%)':48s} {100 * (min(served) - min(direct)) / min(direct):12.1f} {'':>10s}")
    print(f"{'submit -> first SSE status event (ms)':48s} {1000 * statistics.median(first_status):12.0f} {'':>10s}")
    print(f"{'submit -> first progress event (ms)':48s} {1000 * statistics.median(first_progress):12.0f} {'< 200':>10s}")
    print(f"{'per-run direct (s)':48s} {' '.join(f'{x:.2f}' for x in direct):>12s}")
    print(f"{'per-run served (s)':48s} {' '.join(f'{x:.2f}' for x in served):>12s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
