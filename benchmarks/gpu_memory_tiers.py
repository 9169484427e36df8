"""The memory tiers on a real GPU: one warm 768x512x121 IC-LoRA job per tier, full-size random weights.

Prepared for an H100 / H200-class machine with no network (about 8 minutes, 64 GB of disk):
1. writes a full-size LTX-2.3 (22B) bundle with random weights in the official file format, made on
   that machine (transformer block linears stored in float8 for `fp8-cast`, everything else bf16;
   Gemma-3-12B random weights with the tiny test tokenizer), about 50 GB;
2. for each tier: caps this process's CUDA allocator with `torch.cuda.set_per_process_memory_fraction`
   to emulate the card (none for the resident tier), builds the engine with the plan for that card,
   runs a small warm-up job and then the measured 768x512x121 job;
3. records the plan's tier and peak, `torch.cuda.max_memory_allocated()`, the engine ledger's peak,
   seconds per step in stage 1 and stage 2, the whole job's time and the ratio to the resident tier,
   into `OUT/gpu_memory_tiers.json` and a markdown table on stdout.

Goals (issue "memory tiers"): 24 GB within 1.5x the resident time, 16 GB within 2.5x.

    python benchmarks/gpu_memory_tiers.py --out /tmp/gpu [--tiers resident,24,16] [--ram 100]
    python benchmarks/gpu_memory_tiers.py --out /tmp/cpu --scale tiny --device cpu   # the CPU dry run

`--scale tiny` runs the very same code on the tiny configs (on the CPU the tiers are forced, since a
CPU has no card to emulate): what this repository's CI-free checks can run.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

GIB = 1024**3


# --- a random bundle at full size, written tensor by tensor -----------------------------------------


def _std(key: str, shape) -> float:
    import math

    if len(shape) < 2:
        return 0.02
    return 1.0 / math.sqrt(max(1, math.prod(shape[1:])))


class _StreamingWriter:
    """safetensors written one tensor at a time (the header first, from shapes and dtypes)."""

    _NAMES = {
        "torch.bfloat16": "BF16",
        "torch.float32": "F32",
        "torch.float8_e4m3fn": "F8_E4M3",
        "torch.int64": "I64",
        "torch.bool": "BOOL",
        "torch.float16": "F16",
    }

    def __init__(self, path: Path, entries: list[tuple[str, object, tuple]], metadata: dict[str, str]):
        import math

        self.path = path
        header, offset = {"__metadata__": metadata}, 0
        for key, dtype, shape in entries:
            n = math.prod(shape) * dtype.itemsize
            header[key] = {"dtype": self._NAMES[str(dtype)], "shape": list(shape), "data_offsets": [offset, offset + n]}
            offset += n
        text = json.dumps(header, separators=(",", ":")).encode()
        text += b" " * (-len(text) % 8)
        self.fh = path.open("wb")
        self.fh.write(len(text).to_bytes(8, "little"))
        self.fh.write(text)

    def write(self, tensor) -> None:
        import torch

        self.fh.write(tensor.detach().contiguous().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())

    def close(self) -> None:
        self.fh.close()


def _random_tensor(key: str, shape, dtype, device):
    import torch

    t = torch.empty(shape, dtype=torch.float32, device=device).normal_(0.0, _std(key, shape))
    return t.to(dtype)


def make_random_bundle(out: Path, full_size: bool, device: str, say=print) -> Path:
    """A random LTX-2.3 bundle (fp8-cast) at full size (or at the tiny model's sizes, for a dry run)."""
    import torch

    import ltx_pipelines  # noqa: F401
    from ltx_core.quantization.fp8_cast import TRANSFORMER_LINEAR_DOWNCAST_MAP

    from backend.gemma_config import patched_gemma_config, restore_official_gemma_config
    from backend.memory.sizes import preset_config
    from backend.tiny_model import configs
    from backend.tiny_model.builder import _build, _stft_buffers, checkpoint_parts, ic_lora_tensors
    from backend.tiny_model.gemma import write_gemma_folder
    from backend.tiny_model.safetensors_io import write_safetensors
    from backend.tiny_model.weights import module_tensors

    out.mkdir(parents=True, exist_ok=True)
    config, up_config = (
        preset_config("ltx-2.3") if full_size else (configs.checkpoint_config("ltx-2.3"), configs.upsampler_config())
    )
    t0 = time.perf_counter()
    # Gemma first: its tokenizer files come from the tiny writer; the weights and config are replaced
    # by the official Gemma-3-12B's at full size.
    gemma = out / "gemma"
    write_gemma_folder(gemma, seed=3)
    if full_size:
        restore_official_gemma_config()
        _write_full_gemma(gemma, device)
    say(f"  gemma written ({time.perf_counter() - t0:.0f} s)")

    entries, sources, seen = [], [], set()
    gemma_values = configs.gemma_hf_config() if not full_size else None
    import contextlib

    ctx = patched_gemma_config(gemma_values) if gemma_values else contextlib.nullcontext()
    with ctx:
        for configurator, mapping in checkpoint_parts():
            big = configurator.__name__ in ("LTXModelConfigurator", "EmbeddingsProcessorConfigurator")
            if big:
                with torch.device("meta"):
                    module = configurator.from_config(config)
                for name, tensor in module.state_dict().items():
                    key = mapping(name)
                    if key is None or key in seen:
                        continue
                    seen.add(key)
                    dtype = torch.bfloat16
                    bare = key[len("model.diffusion_model.") :] if key.startswith("model.diffusion_model.") else ""
                    if (
                        bare
                        and TRANSFORMER_LINEAR_DOWNCAST_MAP.apply_to_key_value(
                            bare, torch.empty((), dtype=torch.bfloat16, device="meta")
                        )[0].new_value.dtype
                        == torch.float8_e4m3fn
                    ):
                        dtype = torch.float8_e4m3fn
                    entries.append((key, dtype, tuple(tensor.shape)))
                    sources.append(("random", key, dtype, tuple(tensor.shape)))
            else:
                module = _build(configurator, config, 0)
                for key, value in module_tensors(module, mapping, 0, special=_stft_buffers).items():
                    if key in seen:
                        continue
                    seen.add(key)
                    entries.append((key, value.dtype, tuple(value.shape)))
                    sources.append(("value", key, value, None))
    order = sorted(range(len(entries)), key=lambda i: entries[i][0])
    meta = {"config": json.dumps(config, sort_keys=True), "model_version": "2.3.0-random"}
    writer = _StreamingWriter(out / "checkpoint.safetensors", [entries[i] for i in order], meta)
    for i in order:
        kind, key, a, b = sources[i]
        writer.write(_random_tensor(key, b, a, device) if kind == "random" else a)
    writer.close()
    say(f"  checkpoint written ({time.perf_counter() - t0:.0f} s)")

    from ltx_core.model.upsampler import LatentUpsamplerConfigurator

    upsampler = _build(LatentUpsamplerConfigurator, up_config, 1)
    write_safetensors(
        out / "upsampler.safetensors",
        module_tensors(upsampler, lambda k: k, 1),
        {"config": json.dumps(up_config, sort_keys=True)},
    )
    keys = [(k, s) for k, _, s in entries if k.startswith("model.diffusion_model.transformer_blocks.")]
    write_safetensors(out / "ic-lora.safetensors", ic_lora_tensors(keys, 2), {"reference_downscale_factor": "2"})
    bundle = {
        "format": "ltx-scene-bundle",
        "version": 1,
        "name": "random-ltx-2.3" + ("" if full_size else "-tiny"),
        "architecture": "ltx-2.3",
        "tiny": not full_size,
        "checkpoint": "checkpoint.safetensors",
        "upsampler": "upsampler.safetensors",
        "gemma_root": "gemma",
        "ic_loras": {"depth": {"path": "ic-lora.safetensors", "strength": 1.0}},
        "quantization": "fp8-cast",
        "note": "random weights for the memory benchmark: output is noise",
    }
    (out / "bundle.json").write_text(json.dumps(bundle, indent=2))
    say(f"  bundle ready in {time.perf_counter() - t0:.0f} s")
    return out / "bundle.json"


def _write_full_gemma(folder: Path, device: str) -> None:
    import torch
    from ltx_core.text_encoders.gemma.config import GEMMA3_CONFIG_FOR_LTX
    from transformers import Gemma3Config
    from transformers.models.gemma3 import Gemma3ForConditionalGeneration

    from backend.tiny_model.gemma import GEMMA_WEIGHTS_FILE, _gemma_file_key

    hf = Gemma3Config.from_dict(GEMMA3_CONFIG_FOR_LTX.to_dict())
    with torch.device("meta"):
        model = Gemma3ForConditionalGeneration(hf)
    entries = []
    for name, tensor in model.state_dict().items():
        key = _gemma_file_key(name)
        if key is not None and key not in {k for k, _, _ in entries}:
            entries.append((key, torch.bfloat16, tuple(tensor.shape)))
    entries.sort()
    writer = _StreamingWriter(folder / GEMMA_WEIGHTS_FILE, entries, {"format": "pt"})
    for key, dtype, shape in entries:
        writer.write(_random_tensor(key, shape, dtype, device))
    writer.close()
    cfg = GEMMA3_CONFIG_FOR_LTX.to_dict()
    (folder / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True))


# --- the tiers ---------------------------------------------------------------------------------------


def run_tier(bundle_path: Path, label: str, vram: float | None, args) -> dict:
    import numpy as np
    import torch

    from backend.engine import ControlInput, Engine, MemoryOptions
    from shared.job_spec import GenerationSpec

    cuda = args.device.startswith("cuda")
    if cuda:
        total = torch.cuda.get_device_properties(0).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, vram * GIB / total) if vram else 1.0)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    W, H, F = args.width, args.height, args.frames
    if cuda:
        opts = MemoryOptions(vram_gb=vram, ram_gb=args.ram, width=W, height=H, frames=F)
    else:  # a CPU has no card to emulate: force the tier the label names
        forced = {
            "resident": MemoryOptions(),
            "streamed": MemoryOptions(tier="streamed", resident_blocks=1),
            "disk": MemoryOptions(tier="disk", resident_blocks=0),
        }
        opts = forced[label]
    t0 = time.perf_counter()
    engine = Engine(bundle_path, device=args.device, memory=opts)
    engine.load()
    load_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    warm = GenerationSpec(prompt="warm up", seed=1, width=256, height=256, frames=17, fps="24", control_kind="depth")
    engine.generate(warm, ControlInput(video=rng.integers(0, 255, (17, 64, 64, 3), dtype=np.uint8)))
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    engine._models.ledger.reset_peak()
    spec = GenerationSpec(
        prompt="a person walks across a courtyard",
        seed=2,
        width=W,
        height=H,
        frames=F,
        fps="24",
        control_kind="depth",
        attention_strength=0.8,
    )
    control = ControlInput(video=rng.integers(0, 255, (F, H // 4, W // 4, 3), dtype=np.uint8))
    steps: dict[str, list[float]] = {"stage1": [], "stage2": []}
    last = [time.perf_counter()]

    def on_progress(event):
        now = time.perf_counter()
        if event.stage in steps and event.step > 0:
            steps[event.stage].append(now - last[0])
        last[0] = now

    t0 = time.perf_counter()
    engine.generate(spec, control, on_progress=on_progress)
    job_s = time.perf_counter() - t0
    plan = engine.memory_plan
    row = {
        "label": label,
        "card_gb": vram,
        "tier": plan.tier,
        "summary": plan.summary(),
        "plan_peak_gib": plan.peak_device_bytes / GIB,
        "max_allocated_gib": torch.cuda.max_memory_allocated() / GIB if cuda else None,
        "ledger_peak_gib": engine._models.ledger.peak / GIB,
        "stage1_s_per_step": statistics.median(steps["stage1"]) if steps["stage1"] else None,
        "stage2_s_per_step": statistics.median(steps["stage2"]) if steps["stage2"] else None,
        "job_s": job_s,
        "load_s": load_s,
    }
    del engine
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--scale", choices=("full", "tiny"), default="full")
    parser.add_argument("--device", default="cuda")
    parser.add_argument(
        "--tiers",
        default="resident,24,16",
        help="comma-separated: 'resident' and card sizes in GB (CPU: resident,streamed,disk)",
    )
    parser.add_argument("--ram", type=float, default=None, help="host RAM to plan with, GB (default: available)")
    parser.add_argument("--width", type=int, default=768)
    parser.add_argument("--height", type=int, default=512)
    parser.add_argument("--frames", type=int, default=121)
    parser.add_argument("--bundle", type=Path, default=None, help="reuse a bundle made by an earlier run")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    bundle = args.bundle
    if bundle is None:
        bundle = make_random_bundle(
            args.out / "bundle", args.scale == "full", args.device if args.device.startswith("cuda") else "cpu"
        )
    rows = []
    for item in args.tiers.split(","):
        label = item.strip()
        vram = None if not label[:1].isdigit() else float(label)
        rows.append(run_tier(bundle, label, vram, args))
        print(json.dumps(rows[-1]), flush=True)
        (args.out / "gpu_memory_tiers.json").write_text(json.dumps(rows, indent=2))
    base = rows[0]["job_s"]
    print(
        "| tier | card | blocks resident | plan peak GiB | max allocated GiB | s/step stage 1 | s/step stage 2 | "
        "job s | x resident |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        fmt = lambda v, f=".2f": "-" if v is None else format(v, f)  # noqa: E731
        print(
            f"| {r['tier']} | {r['label']} | {r['summary']} | {r['plan_peak_gib']:.1f} | {fmt(r['max_allocated_gib'])} | "
            f"{fmt(r['stage1_s_per_step'])} | {fmt(r['stage2_s_per_step'])} | {r['job_s']:.1f} | "
            f"{r['job_s'] / base:.2f} |"
        )
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
