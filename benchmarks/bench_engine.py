"""Engine vs stock pipeline on the tiny bundle: time per job and peak memory.

    .venv/bin/python benchmarks/bench_engine.py [--model BUNDLE] [--jobs 3] [--size 128] [--frames 9]
                                                [--device auto]

Rows (each measured in its own subprocess, so peak memory is per configuration):
- stock: `ltx_pipelines.ic_lora.ICLoraPipeline`, constructed once, called per job (it rebuilds every
  model from disk on each call);
- engine cold: `Engine(bundle)` + its first job (models built inside the job);
- engine warm (same prompt): later jobs on the resident models, prompt encoding cached;
- engine warm (new prompt): later jobs with a prompt never seen (Gemma runs).
Goal: a warm job at most 0.3x the stock pipeline's time. CPU threads default to 1 in both workers
(`--threads`): the tiny model's tensors are too small to gain from more, and on a shared, busy
machine OpenMP threads spinning for each other inflate every op many times over (measured here:
a warm tiny job took ~17 s with 2 threads under load vs ~0.6 s with 1). Peak memory: the process's max RSS (CPU)
or torch's max allocated (CUDA). Without --model the tiny LTX-2.3 bundle is made in a temp folder.
Output: the tiny model's noise, which is all it can make.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _control(frames: int, size: int):
    import numpy as np

    rng = np.random.default_rng(0)
    ref = size // 4  # stage-1 size / reference factor 2
    return rng.integers(0, 256, (frames, ref, ref, 3), dtype=np.uint8)


def _peak(device) -> dict:
    import torch

    out = {"max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device.type == "cuda":
        out["cuda_peak_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return out


def _threads(args) -> None:
    import torch

    if args.threads > 0:
        torch.set_num_threads(args.threads)


def worker_stock(args) -> dict:
    import torch

    _threads(args)
    from backend.bundle import Bundle
    from backend.engine.device import resolve_device
    from backend.gemma_config import prepare_gemma_config
    from backend.video import write_lossless_video
    from ltx_core.loader import LTXV_LORA_COMFY_RENAMING_MAP, LoraPathStrengthAndSDOps
    from ltx_core.model.video_vae import TilingConfig
    from ltx_pipelines.ic_lora import ICLoraPipeline

    device = resolve_device(args.device)
    if device.type != "cuda":
        torch.cuda.synchronize = lambda *a, **k: None  # the stock code calls it unconditionally
    bundle = Bundle.load(args.model)
    prepare_gemma_config(bundle)
    tmp = Path(tempfile.mkdtemp(prefix="bench-stock-"))
    control = write_lossless_video(tmp / "control.mkv", _control(args.frames, args.size), 24)
    pipe = ICLoraPipeline(
        str(bundle.checkpoint),
        str(bundle.upsampler),
        str(bundle.gemma_root),
        [LoraPathStrengthAndSDOps(str(bundle.ic_loras["depth"].path), 1.0, LTXV_LORA_COMFY_RENAMING_MAP)],
        device=device,
    )
    times = []
    for i in range(args.jobs):
        t0 = time.perf_counter()
        with torch.inference_mode():
            video, audio = pipe(
                prompt="a bench prompt",
                seed=i,
                height=args.size,
                width=args.size,
                num_frames=args.frames,
                frame_rate=24.0,
                images=[],
                video_conditioning=[(str(control), 1.0)],
                tiling_config=TilingConfig.default(),
            )
            frames = torch.cat(list(video)).cpu()
        times.append(time.perf_counter() - t0)
        assert frames.shape[0] == args.frames and audio.waveform.numel() > 0
    return {"times": times, **_peak(device)}


def worker_engine(args) -> dict:
    _threads(args)

    from backend.bundle import Bundle
    from backend.engine import ControlInput, Engine
    from shared.job_spec import GenerationSpec

    bundle = Bundle.load(args.model)
    control = ControlInput(video=_control(args.frames, args.size))

    def spec(i, prompt):
        return GenerationSpec(
            prompt=prompt, seed=i, width=args.size, height=args.size, frames=args.frames, fps="24", control_kind="depth"
        )

    t0 = time.perf_counter()
    engine = Engine(bundle, device=args.device)
    media = engine.generate(spec(0, "a bench prompt"), control)
    cold = time.perf_counter() - t0
    stage1_with_lora = []
    same, new = [], []
    for i in range(args.jobs):
        t0 = time.perf_counter()
        media = engine.generate(spec(i + 1, "a bench prompt"), control)
        same.append(time.perf_counter() - t0)
        stage1_with_lora.append(media.stage_seconds.get("stage1", 0.0))
    for i in range(args.jobs):
        t0 = time.perf_counter()
        engine.generate(spec(i + 1, f"a new bench prompt number {i}"), control)
        new.append(time.perf_counter() - t0)
    # The runtime-LoRA cost: stage 1 with the IC-LoRA at strength 0 (no fusion at all) for comparison.
    stage1_without = []
    for i in range(args.jobs):
        s = spec(i + 1, "a bench prompt")
        s.ic_lora_strength = 0.0
        stage1_without.append(engine.generate(s, control).stage_seconds.get("stage1", 0.0))
    assert media.video.shape[0] == args.frames
    return {
        "cold": cold,
        "load": engine.load_seconds,
        "same": same,
        "new": new,
        "stage1_lora": stage1_with_lora,
        "stage1_no_lora": stage1_without,
        **_peak(engine.device),
        "device": str(engine.device),
    }


def _run_worker(kind: str, args) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        kind,
        "--model",
        str(args.model),
        "--jobs",
        str(args.jobs),
        "--size",
        str(args.size),
        "--frames",
        str(args.frames),
        "--device",
        args.device,
        "--threads",
        str(args.threads),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"{kind} worker failed ({proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--size", type=int, default=128, help="output width = height (multiple of 128)")
    parser.add_argument("--frames", type=int, default=9)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads per worker (0: torch's default)")
    parser.add_argument("--worker", choices=("stock", "engine"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        result = (worker_stock if args.worker == "stock" else worker_engine)(args)
        print(json.dumps(result))
        return 0

    if args.model is None:
        from backend.tiny_model import make_tiny_model

        args.model = make_tiny_model(Path(tempfile.mkdtemp(prefix="bench-tiny-")) / "tiny", "ltx-2.3", seed=0)
    stock = _run_worker("stock", args)
    eng = _run_worker("engine", args)

    def mean(xs):
        return sum(xs) / len(xs)

    s = mean(stock["times"])
    rows = [
        ("stock ICLoraPipeline, per job", s, stock),
        ("engine cold (build + 1st job)", eng["cold"], eng),
        ("engine warm, same prompt", mean(eng["same"]), eng),
        ("engine warm, new prompt", mean(eng["new"]), eng),
    ]
    print(
        f"tiny bundle {args.model}, {args.size}x{args.size}, {args.frames} frames, {args.jobs} jobs each, "
        f"device {eng['device']}, {args.threads or 'default'} CPU thread(s)"
    )
    mem = "cuda peak MB" if "cuda_peak_mb" in eng else "max RSS MB"
    print(f"{'configuration':34} {'s/job':>8} {'x stock':>8} {mem:>13}")
    for name, t, src in rows:
        m = src.get("cuda_peak_mb", src["max_rss_mb"])
        print(f"{name:34} {t:8.3f} {t / s:8.2f} {m:13.0f}")
    warm = mean(eng["same"]) / s
    print(f"warm job / stock job = {warm:.2f} (goal <= 0.30: {'met' if warm <= 0.30 else 'NOT met'})")
    print(f"model build inside the cold job: {eng['load']:.3f} s")
    print(
        f"stage 1 with the runtime IC-LoRA {mean(eng['stage1_lora']):.3f} s vs without "
        f"{mean(eng['stage1_no_lora']):.3f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
