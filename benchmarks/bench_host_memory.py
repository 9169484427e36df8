"""Page faults per warm CPU job on a server-style worker thread, with and without the malloc settings.

`backend/engine/host_memory.py` sets glibc's malloc to keep freed memory (one arena, fixed mmap and
trim thresholds) when a CPU engine is made with `tune_host_malloc=True` (what `ltx-scene serve` does
unless `--default-malloc`). This benchmark runs the same three jobs in two fresh processes, with and
without, and prints the minor page faults of each job: the warm jobs are what the settings are for.
Measured on the 2-core VM (17 frames 256x256): with the settings 20-1100 faults per warm job, without
them 5k-14k (it depends on what glibc's dynamic threshold learnt in that process).

    python benchmarks/bench_host_memory.py [--model BUNDLE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

_JOBS_ON_A_WORKER_THREAD = r"""
import json, resource, sys, tempfile, threading
from fractions import Fraction
from pathlib import Path
import numpy as np
from backend.engine import ControlInput, Engine
from shared.job_spec import GenerationSpec
from shared.package import ControlPackage

engine = Engine(Path(sys.argv[1]), device="cpu", tune_host_malloc=sys.argv[2] == "tuned")
depth = np.stack([np.full((256, 256), 2.0 + f, np.float32) for f in range(17)])
package = ControlPackage(kind="depth", width=256, height=256, fps=Fraction(24), frame_count=17, depth=depth)
out = Path(tempfile.mkdtemp())
faults = []

def worker():
    engine.load()
    for i in range(3):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        engine.run(GenerationSpec.from_json({"prompt": "p", "seed": 1}), ControlInput(package=package), out / str(i))
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)

thread = threading.Thread(target=worker)
thread.start()
thread.join()
print(json.dumps(faults))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="a bundle (default: a tiny one made now)")
    args = parser.parse_args()
    bundle = args.model
    if bundle is None:
        from backend.tiny_model import make_tiny_model

        bundle = make_tiny_model(Path(tempfile.mkdtemp()) / "tiny")
    rows = []
    for mode in ("tuned", "default"):
        done = subprocess.run(
            [sys.executable, "-c", _JOBS_ON_A_WORKER_THREAD, str(bundle), mode],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            return 1
        rows.append((mode, json.loads(done.stdout.strip().splitlines()[-1])))
    print("| malloc | job 1 (cold) faults | job 2 faults | job 3 faults |")
    print("| --- | --- | --- | --- |")
    for mode, faults in rows:
        print(f"| {mode} | {faults[0]} | {faults[1]} | {faults[2]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
