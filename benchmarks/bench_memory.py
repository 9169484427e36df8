"""Memory tiers: the plan for the cards artists own, and what each tier costs in time on the tiny bundle.

1. The plan of the official LTX-2.3 (22B) model, fp8-cast and bf16, for a 768x512x121 job on
   12, 16, 24, 32, 48 and 80 GB cards with 64 GB of RAM (`ltx-scene memory-plan`, no weights needed).
   This is the table README.md shows.
2. The tiny bundle on this machine's CPU: the same warm job (128x128, 9 frames) in every tier,
   engines side by side in one process, jobs interleaved round by round; the median seconds per job
   and the ratio to the resident tier. On a CPU "copying a block into a slot" is a memcpy, so this
   measures the streamer's bookkeeping and copies, not PCIe: the GPU figure comes from
   `benchmarks/gpu_memory_tiers.py`.

    python benchmarks/bench_memory.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CARDS = (12, 16, 24, 32, 48, 80)
GIB = 1024**3


def plan_table(ram_gb: float = 64) -> str:
    import ltx_pipelines  # noqa: F401

    from backend.memory import Budgets, MemoryPlanError, plan_memory, preset_sizes
    from backend.memory.activations import JobShape

    job = JobShape(768, 512, 121)
    lines = [
        "| card | quantization | tier | transformer blocks resident | peak device GB | pinned GB | peak host GB |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for quantization in ("fp8-cast", "none"):
        sizes = preset_sizes("ltx-2.3", quantization)
        for card in CARDS:
            try:
                plan = plan_memory(sizes, job, Budgets(int(card * GIB), int(ram_gb * GIB)))
            except MemoryPlanError:
                lines.append(f"| {card} GB | {quantization} | does not fit | - | - | - | - |")
                continue
            lines.append(
                f"| {card} GB | {quantization} | {plan.tier} | {len(plan.resident_blocks)} of {plan.blocks} | "
                f"{plan.peak_device_bytes / GIB:.1f} | {plan.pinned_bytes / GIB:.1f} | "
                f"{plan.peak_host_bytes / GIB:.1f} |"
            )
    return "\n".join(lines)


def tier_times(rounds: int) -> str:
    import numpy as np
    import torch

    from backend.bundle import Bundle
    from backend.engine import ControlInput, Engine, MemoryOptions
    from backend.tiny_model import make_tiny_model
    from shared.job_spec import GenerationSpec

    torch.set_num_threads(1)
    folder = Path(tempfile.mkdtemp(prefix="ltx-scene-bench-memory-"))
    bundle = Bundle.load(make_tiny_model(folder / "tiny"))
    tiers = {
        "resident": MemoryOptions(),
        "text encoder on demand": MemoryOptions(tier="text-encoder-on-demand"),
        "streamed, 1 of 2 blocks resident": MemoryOptions(tier="streamed", resident_blocks=1),
        "streamed, every block": MemoryOptions(tier="streamed", resident_blocks=0),
        "disk, every block": MemoryOptions(tier="disk", resident_blocks=0, disk_dir=folder / "maps"),
    }
    engines = {name: Engine(bundle, device="cpu", memory=opts) for name, opts in tiers.items()}
    video = np.random.default_rng(0).integers(0, 255, (9, 32, 32, 3), dtype=np.uint8)
    spec = GenerationSpec(prompt="bench", seed=1, width=128, height=128, frames=9, fps="24", control_kind="depth")
    control = ControlInput(video=video)
    for engine in engines.values():
        engine.generate(spec, control)  # cold: build + first job, not timed
    times = {name: [] for name in engines}
    for _ in range(rounds):
        for name, engine in engines.items():
            t0 = time.perf_counter()
            engine.generate(spec, control)  # warm, cached prompt
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["resident"])
    lines = ["| tier (tiny bundle, CPU, 128x128x9) | s / warm job (median) | x resident |", "| --- | --- | --- |"]
    for name, values in times.items():
        median = statistics.median(values)
        lines.append(f"| {name} | {median:.3f} | {median / base:.2f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ram", type=float, default=64, help="host RAM of the plan table, GB")
    args = parser.parse_args()
    print(f"LTX-2.3 (22B) memory plan, 768x512x121, {args.ram:g} GB RAM (`ltx-scene memory-plan --preset ltx-2.3`):")
    print(plan_table(args.ram))
    print()
    print(tier_times(args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
