"""The tiny model bundle: build time, size, and one job through the stock ICLoraPipeline on the CPU.

Goal: the bundle builds in seconds (tens of MB) and one 128x128 x 17-frame job of the unmodified
`ltx_pipelines.ic_lora.ICLoraPipeline` (which rebuilds every model from disk per job) takes a few
seconds on a 2-core CPU, so tests and the demo can afford it.

    .venv/bin/python benchmarks/bench_tiny_model.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _control(path: Path) -> Path:
    import av
    import numpy as np

    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=24)
        stream.width = stream.height = 128
        stream.pix_fmt = "yuv444p"
        for i in range(17):
            img = np.zeros((128, 128, 3), np.uint8)
            img[:, i * 6 : i * 6 + 24] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2, help="stock-pipeline jobs per architecture (best is shown)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    import torch

    import ltx_pipelines  # noqa: F401
    from ltx_core.loader import LTXV_LORA_COMFY_RENAMING_MAP, LoraPathStrengthAndSDOps
    from ltx_pipelines.ic_lora import ICLoraPipeline

    from backend.bundle import Bundle
    from backend.gemma_config import prepare_gemma_config
    from backend.tiny_model import make_tiny_model

    import_s = time.perf_counter() - t0
    if not torch.cuda.is_available():
        torch.cuda.synchronize = lambda *a, **k: None  # the stock pipeline calls it unconditionally

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        control = _control(Path(tmp) / "control.mkv")
        for arch in ("ltx-2.3", "ltx-2"):
            t, c = time.perf_counter(), time.process_time()
            bundle_path = make_tiny_model(Path(tmp) / arch, architecture=arch, seed=0)
            build_s, build_cpu = time.perf_counter() - t, time.process_time() - c
            folder = bundle_path.parent
            size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            bundle = Bundle.load(bundle_path)
            ckpt = bundle.checkpoint.stat().st_size
            jobs, cpus = [], []
            for _ in range(args.repeats):
                t, c = time.perf_counter(), time.process_time()
                prepare_gemma_config(bundle)
                lora = LoraPathStrengthAndSDOps(str(bundle.ic_lora("depth").path), 1.0, LTXV_LORA_COMFY_RENAMING_MAP)
                pipe = ICLoraPipeline(
                    str(bundle.checkpoint),
                    str(bundle.upsampler),
                    str(bundle.gemma_root),
                    [lora],
                    device=torch.device("cpu"),
                )
                with torch.inference_mode():
                    video, audio = pipe(
                        prompt="a red ball",
                        seed=0,
                        height=128,
                        width=128,
                        num_frames=17,
                        frame_rate=24.0,
                        images=[],
                        video_conditioning=[(str(control), 1.0)],
                    )
                    frames = torch.cat(list(video), dim=0)
                jobs.append(time.perf_counter() - t)
                cpus.append(time.process_time() - c)
            rows.append(
                (
                    arch,
                    build_s,
                    build_cpu,
                    size / 1e6,
                    ckpt / 1e6,
                    min(jobs),
                    min(cpus),
                    tuple(frames.shape),
                    f"{audio.waveform.shape[1]} @ {audio.sampling_rate}",
                )
            )

    load = os.getloadavg()[0]
    print(
        f"imports (torch, ltx-pipelines): {import_s:.1f} s; torch threads {torch.get_num_threads()}; "
        f"load average {load:.1f} on {os.cpu_count()} CPUs (wall times grow with the load, CPU times less)"
    )
    header = (
        "architecture",
        "build s",
        "build CPU s",
        "bundle MB",
        "checkpoint MB",
        "stock job s (best)",
        "job CPU s (best)",
        "frames",
        "audio samples",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for arch, build_s, build_cpu, size, ckpt, job, cpu, shape, audio in rows:
        print(
            f"| {arch} | {build_s:.2f} | {build_cpu:.2f} | {size:.1f} | {ckpt:.1f} | {job:.2f} | {cpu:.2f} | "
            f"{shape} | {audio} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
