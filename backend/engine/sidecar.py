"""The JSON written beside every result: every parameter needed to reproduce the job.

Recorded: the spec as sent and as resolved (sizes, frames, exact fps, seed), the control (source,
kind, reference size, whether a mask / first frame was used), the LoRAs and strengths actually
applied in stage 1, the attention settings, the model files with their SHA-256, the device, dtype,
quantization and the versions of the packages that produced it, the SHA-256 of the frames and audio
as decoded (before encoding), plus timings.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path

import numpy as np

from shared.atomic_write import atomic_write
from shared.control_kinds import ic_lora_name
from shared.video_rules import format_fps

SIDECAR_VERSION = 1
_PACKAGES = ("ltx-scene-control", "ltx-core", "ltx-pipelines", "torch", "torchaudio", "transformers", "av", "numpy")


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def build_sidecar(
    *,
    plan,
    bundle,
    hashes,
    device: str,
    dtype: str,
    has_mask: bool,
    has_first_frame: bool,
    audio_sample_rate: int,
    files: dict[str, str],
    stage_seconds: dict[str, float],
    lora_unmatched: dict[str, int],
    memory: dict | None = None,
    decoded_sha256: dict[str, str],
    keyframes: list[dict] | None = None,
) -> dict:
    """bundle: the engine's `Bundle`; hashes: a `backend.file_hashes.FileHashes`. Files are named, never
    given as server paths (a sidecar travels to clients). decoded_sha256: `decoded_digests(video, audio)`."""
    spec = plan.spec
    models = {role: {"file": Path(path).name, "sha256": hashes.sha256(path)} for role, path in bundle.files().items()}
    return {
        "sidecar_version": SIDECAR_VERSION,
        "tiny_model": bundle.tiny,
        "note": (
            "generated with the tiny random test model: the output is noise, not a video" if bundle.tiny else None
        ),
        "spec": spec.to_json(),
        "resolved": {
            "prompt": plan.prompt,
            "seed": plan.seed,
            "width": plan.width,
            "height": plan.height,
            "output_width": plan.out_width,
            "output_height": plan.out_height,
            "stage1_width": plan.stage1_width,
            "stage1_height": plan.stage1_height,
            "frames": plan.frames,
            "fps": format_fps(plan.fps),
            "preview": plan.preview,
            "pipeline": "stage 1 only (preview)" if plan.preview else "two-stage distilled IC-LoRA",
        },
        "control": {
            "source": plan.source,
            "kind": plan.kind,
            "ic_lora": plan.ic_lora_key,
            "reference_width": plan.ref_width,
            "reference_height": plan.ref_height,
            "reference_downscale_factor": plan.reference_downscale_factor,
            "conditioning_strength": plan.conditioning_strength,
            "first_frame_image": has_first_frame,
            "keyframes": keyframes or [],
            "canny": getattr(plan, "canny", None),
        },
        "attention": {
            "strength": plan.attention_strength,
            "mask": has_mask,
            "mode": "spatio-temporal mask x strength"
            if has_mask
            else ("scalar" if plan.attention_strength < 1.0 else "unmasked"),
        },
        "loras": {
            "stage1": [
                {
                    "name": name,
                    "file": Path(path).name,
                    "strength": strength,
                    "sha256": hashes.sha256(path),
                    "unmatched_pairs": lora_unmatched.get(name, 0),
                }
                for name, path, strength in _stage1_loras(plan)
            ],
            "stage2": [],
            "application": "runtime, bit-identical to build-time fusion (ltx_core.loader.apply_loras)",
        },
        "model": {
            "bundle": bundle.name,
            "architecture": bundle.architecture,
            "quantization": bundle.quantization,
            "files": models,
        },
        "runtime": {"device": device, "dtype": dtype, "memory": memory, "versions": package_versions()},
        "audio_sample_rate": audio_sample_rate,
        "outputs": files,
        "decoded_sha256": decoded_sha256,
        "timings_s": {k: round(v, 4) for k, v in stage_seconds.items()},
    }


def decoded_digests(video, audio) -> dict[str, str]:
    """SHA-256 of the frames (F, H, W, 3) uint8 and the waveform (C, n) float32 as the model decoded them,
    before H.264 / AAC. Two runs of the same job (any memory tier or farm worker) compare here, not on
    the mp4: libx264 is not bit-reproducible on a loaded machine (identical frames gave mp4s that decode
    to visibly different frames), and a last-bit pixel difference changes its output as much."""
    return {
        "video": hashlib.sha256(np.ascontiguousarray(video, dtype=np.uint8).tobytes()).hexdigest(),
        "audio": hashlib.sha256(np.ascontiguousarray(audio, dtype=np.float32).tobytes()).hexdigest(),
    }


def keyframe_record(entries: list[dict], images) -> list[dict]:
    """The sidecar's keyframes: frame, strength, how the official code conditions on it, and the
    SHA-256 of the image file (when it came from one) and of the pixels used (at the job's size)."""
    return [
        {
            "frame": entry["frame"],
            "strength": entry["strength"],
            "conditioning": "latent index (frame 0 replaced)"
            if entry["frame"] == 0
            else "keyframe index (tokens appended)",
            "image_sha256": key.sha256,
            "pixels_sha256": hashlib.sha256(key.image.tobytes()).hexdigest(),
            "pixels_shape": list(key.image.shape),
        }
        for entry, key in zip(entries, images)
    ]


def _stage1_loras(plan):
    yield ic_lora_name(plan.ic_lora_key), plan.ic_lora_path, plan.ic_lora_strength
    yield from plan.extra_loras


def write_sidecar(path: Path, record: dict) -> Path:
    return atomic_write(Path(path), json.dumps(record, indent=2, sort_keys=False) + "\n")
