"""The server's overhead on a job: submit-to-result through `ltx-scene serve` versus calling the
engine directly on the same job, and how soon the first progress event reaches a client.

Goals (backend/README.md, "Server and HTTP API"): under 5 % extra time per job, and the first
progress event within 200 ms of the submit when the queue is empty.

Runs on the tiny bundle (made in a temp dir unless --model is given), CPU unless --device says
otherwise. Direct and server runs alternate so that machine load affects both alike, and both run
in processes of their own that are started afresh for each of `--rounds` rounds: on this 2-core VM
the same engine is up to ±10 % faster or slower in one process than in another (memory layout,
thread placement), which a single pair of processes mistakes for server overhead.
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


class DirectRunner:
    """The engine called directly, in a process of its own (this script with --direct-worker):
    one JSON line per job on stdin, the job's seconds on stdout."""

    def __init__(self, bundle: Path, device: str, threads: int):
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--direct-worker", str(bundle), "--device", device,
             "--threads", str(threads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
            env={**os.environ, "OMP_NUM_THREADS": str(threads)})
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the direct runner did not start")

    def run(self, spec_json: dict, package_path: Path, out_dir: Path) -> float:
        self.proc.stdin.write(json.dumps({"spec": spec_json, "package": str(package_path),
                                          "out": str(out_dir)}) + "\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(60)


def _direct_worker(bundle: Path, device: str) -> int:
    from backend.engine import Engine

    engine = Engine(bundle, device=device)
    engine.load()
    print("ready", flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        seconds = _direct(engine, job["spec"], Path(job["package"]).read_bytes(), Path(job["out"]))
        print(seconds, flush=True)
    return 0


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


def _start_server(bundle: Path, data_dir: Path, device: str, threads: int, log_path: Path):
    port = _free_port()
    script = Path(sys.executable).with_name("ltx-scene")
    cmd = ([str(script)] if script.exists() else [sys.executable, "-m", "backend.cli"]) + [
        "serve", "--model", str(bundle), "--port", str(port), "--data-dir", str(data_dir),
        "--device", device, "--log-level", "warning"]
    log = open(log_path, "ab")
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
                              env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    log.close()
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
            server.kill()
            raise RuntimeError(log_path.read_text()[-3000:])
        time.sleep(0.2)
    session.headers["Authorization"] = "Bearer " + (data_dir / "token").read_text().strip()
    return server, session, base


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None, help="bundle.json (default: a fresh tiny bundle)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--rounds", type=int, default=3, help="fresh server + direct processes per round")
    ap.add_argument("--runs", type=int, default=8, help="direct/served job pairs per round")
    ap.add_argument("--frames", type=int, default=9)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2,
                    help="torch CPU threads in both the server and the direct engine (OMP_NUM_THREADS)")
    ap.add_argument("--direct-worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(max(1, args.threads))
    if args.direct_worker is not None:
        return _direct_worker(args.direct_worker, args.device)

    direct, served, first_status, first_progress, outside, events = [], [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        tmp = Path(tmp)
        bundle = args.model
        if bundle is None:
            from backend.tiny_model import make_tiny_model

            bundle = make_tiny_model(tmp / "tiny", architecture="ltx-2.3", seed=0)
        package = _package_bytes(args.frames, args.size)
        package_path = tmp / "package.npz"
        package_path.write_bytes(package)
        spec = {"prompt": "a red cube slides across a table", "seed": 5}

        for round_ in range(args.rounds):
            server, session, base = _start_server(bundle, tmp / f"data-{round_}", args.device,
                                                  args.threads, tmp / "serve.log")
            runner = DirectRunner(bundle, args.device, args.threads)
            try:
                # warm-up both (prompt cache, first-call allocations), not timed
                runner.run(spec, package_path, tmp / "direct-warm")
                _through_server(session, base, spec, package)
                for i in range(args.runs):
                    direct.append(runner.run(spec, package_path, tmp / f"direct-{round_}-{i}"))
                    total, fs, fp, running = _through_server(session, base, spec, package)
                    served.append(total)
                    first_status.append(fs)
                    first_progress.append(fp)
                    outside.append(total - running)
                    events.append(_through_server.events)
            finally:
                runner.close()
                server.send_signal(signal.SIGTERM)
                server.wait(30)
        per_update_ms = _progress_bookkeeping_ms(tmp)

    d, s = statistics.median(direct), statistics.median(served)
    paired = [100 * (sv - dr) / dr for dr, sv in zip(direct, served)]
    q1, _, q3 = statistics.quantiles(paired, n=4)
    print(f"server overhead, tiny bundle, {args.frames} frames {args.size}x{args.size}, device {args.device}, "
          f"{args.threads} torch threads; {args.rounds} rounds of fresh processes x {args.runs} job pairs "
          "(direct and served alternate; medians)")
    print(f"{'measure':48s} {'value':>12s} {'goal':>10s}")
    print(f"{'engine.run directly (s)':48s} {d:12.3f} {'':>10s}")
    print(f"{'submit -> result downloaded via server (s)':48s} {s:12.3f} {'':>10s}")
    print(f"{'server overhead, paired runs (%)':48s} {statistics.median(paired):12.1f} {'< 5':>10s}")
    print(f"{'  interquartile range of the pairs (%)':48s} {f'{q1:.1f}..{q3:.1f}':>12s} {'':>10s}")
    print(f"{'server overhead, medians compared (ms per job)':48s} {1000 * (s - d):12.0f} {'':>10s}")
    print(f"{'time outside the engine run per job (ms)':48s} {1000 * statistics.median(outside):12.0f} {'':>10s}")
    print(f"{'progress bookkeeping inside the run (ms per job)':48s} "
          f"{per_update_ms * statistics.median(events):12.1f} {'':>10s}")
    print(f"{'progress events streamed per job':48s} {statistics.median(events):12.0f} {'':>10s}")
    print(f"{'submit -> first SSE status event (ms)':48s} {1000 * statistics.median(first_status):12.0f} {'':>10s}")
    print(f"{'submit -> first progress event (ms)':48s} {1000 * statistics.median(first_progress):12.0f} {'< 200':>10s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
