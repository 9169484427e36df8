"""A studio farm on one machine: throughput of 1 vs 2 workers, and what the queue adds to the wait
for the first progress event, against the single-machine server.

Everything real: Debian's redis-server on a loopback port (`make setup-redis`), `ltx-scene serve
--broker` and `ltx-scene worker`s on the CPU with the tiny bundle, and `ltx-scene serve` alone for
the comparison. In one run, side by side:

- latency: `--probes` jobs one after another on an idle server, submit -> first `progress` event on
  the job's event stream, single machine vs front door + 1 worker (the farm adds the Celery hop,
  the worker's claim and input download, and the progress call back to the front door);
- throughput: `--jobs` jobs submitted at once, time until the last one succeeded, with one worker,
  then with a second one started on the same bundle.

On a CPU the workers would share the same cores (torch takes them all in each process), so each
worker gets its own share, `--threads-per-worker` (default: half the cores), in both runs: the
second worker adds compute as a second GPU would. Previews (stage 1 only) by default keep a tiny
job short on a CPU without AVX-512; `--full` runs both stages.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.farm.processes import FrontDoor, RedisServer, Worker  # noqa: E402
from tests.server.helpers import FRAMES, Client, ServerProcess, depth_package_bytes  # noqa: E402


def spec(i: int, full: bool) -> dict:
    return {"prompt": f"a cube number {i % 7}", "seed": i, "frames": FRAMES, "preview": not full}


def first_progress_s(client: Client, package: bytes, i: int, full: bool) -> float:
    """Submit -> the first event that shows progress: a `progress` event, or the stream's opening
    status when the job was already in a stage by then (its first progress came before the stream
    opened: then the client learns of it with that status)."""
    t0 = time.perf_counter()
    job = client.submit(spec(i, full), package, "scene.npz")
    first = None
    for event, data, at in client.events(job):
        if first is None and data["stage"] is not None:
            first = at - t0
        if data["status"] in ("succeeded", "failed", "cancelled", "interrupted"):
            assert data["status"] == "succeeded", data
    return first


def batch_s(client: Client, package: bytes, n: int, full: bool, offset: int) -> float:
    t0 = time.perf_counter()
    jobs = [client.submit(spec(offset + i, full), package, "scene.npz") for i in range(n)]
    done = []

    def follow(job):
        own = Client(client.base[: -len("/v1")], client.session.headers["Authorization"].split()[1])
        done.append(own.wait(job, timeout=3600)["status"])

    threads = [threading.Thread(target=follow, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert done == ["succeeded"] * n, done
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="bundle (default: a tiny one in a temp dir)")
    parser.add_argument("--jobs", type=int, default=6, help="jobs per throughput batch (default 6)")
    parser.add_argument("--probes", type=int, default=5, help="sequential jobs per latency sample (default 5)")
    parser.add_argument("--full", action="store_true", help="both stages instead of previews")
    parser.add_argument(
        "--threads-per-worker",
        type=int,
        default=max(1, (os.cpu_count() or 2) // 2),
        help="torch threads of each worker (default: half the cores, so two workers have a share each)",
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ltx-scene-bench-farm-"))
    bundle = args.model
    if bundle is None:
        from backend.tiny_model import make_tiny_model

        bundle = make_tiny_model(tmp / "tiny", architecture="ltx-2.3", seed=0)
    package = depth_package_bytes()
    redis = RedisServer(tmp / "redis").start()
    (tmp / "single").mkdir()
    single = ServerProcess(bundle, tmp / "single" / "data")
    front = FrontDoor(bundle, tmp / "farm" / "data", redis.url)
    hold = tmp / "never"  # the workers' test gate stays open
    workers = []
    try:
        print("starting the single-machine server, the front door and one worker ...", file=sys.stderr)
        single.start()
        front.start()
        threads = str(args.threads_per_worker)
        share = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        workers.append(Worker("w1", bundle, redis.url, front.worker_token_file, hold, tmp, share).start())
        front.wait_workers({"w1"})
        one, farm = single.client(), front.client()
        first_progress_s(one, package, 0, args.full)  # warm-up: prompt cache, first-job costs
        first_progress_s(farm, package, 0, args.full)
        single_lat, farm_lat = [], []
        for i in range(args.probes):  # alternate, so machine load affects both alike
            single_lat.append(first_progress_s(one, package, 100 + i, args.full))
            farm_lat.append(first_progress_s(farm, package, 100 + i, args.full))
        single.stop()  # the throughput runs get the machine to themselves

        t_one = batch_s(farm, package, args.jobs, args.full, 200)
        workers.append(Worker("w2", bundle, redis.url, front.worker_token_file, hold, tmp, share).start())
        front.wait_workers({"w1", "w2"})
        first_progress_s(farm, package, 1, args.full)  # lands on either worker; w2 warms on the batch
        t_two = batch_s(farm, package, args.jobs, args.full, 300)
    finally:
        for w in workers:
            w.stop()
        front.stop()
        single.stop()
        redis.stop()

    kind = "full" if args.full else "preview"
    print(
        f"\nstudio farm on this machine: tiny bundle, {FRAMES}x128x128 {kind} jobs, CPU, "
        f"{args.threads_per_worker} torch thread(s) per worker\n"
    )
    print("| submit -> first progress event | median | min | max |")
    print("| --- | --- | --- | --- |")
    for name, xs in (("single machine (`serve`)", single_lat), ("farm (front door + 1 worker)", farm_lat)):
        print(f"| {name} | {statistics.median(xs) * 1000:.0f} ms | {min(xs) * 1000:.0f} ms | {max(xs) * 1000:.0f} ms |")
    added = statistics.median(f - s for f, s in zip(farm_lat, single_lat))
    print(f"\nqueue latency added by the farm (median of {args.probes} alternating pairs): {added * 1000:.0f} ms\n")
    print(f"| workers | {args.jobs} jobs took | jobs per minute | vs 1 worker |")
    print("| --- | --- | --- | --- |")
    for n, t in ((1, t_one), (2, t_two)):
        print(f"| {n} | {t:.1f} s | {args.jobs * 60 / t:.2f} | {t_one / t:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
