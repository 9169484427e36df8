"""`make_tiny_model`: a tiny, randomly initialized model bundle in the official file format.

Files (names like the official ones, with a `-tiny` tag so nobody mistakes them for real weights):

    bundle.json                                   the bundle description (backend/bundle.py)
    ltx-2.3-22b-distilled-tiny.safetensors        one checkpoint: `config` + `model_version`
                                                  metadata, every component under its official
                                                  prefix (model.diffusion_model., vae.encoder.,
                                                  vae.decoder., vae.per_channel_statistics.,
                                                  audio_vae.*, vocoder., text_embedding_projection.)
    ltx-2.3-spatial-upscaler-x2-tiny.safetensors  the latent upsampler, flat keys, `config` metadata
    ltx-2.3-22b-ic-lora-union-control-ref0.5-tiny.safetensors
                                                  an IC-LoRA in ComfyUI key format
                                                  (`diffusion_model.<weight>.lora_A/B.weight`),
                                                  `reference_downscale_factor` = "2"
    gemma/                                        the tiny Gemma-3 root (see gemma.py)
    ltx-2.3-22b-ic-lora-<name>-tiny.safetensors   one more IC-LoRA per `extra_ic_loras` entry (a
                                                  studio's own IC-LoRA on any scene pass), same format,
                                                  its own seed and reference_downscale_factor

Every module is built by the official configurator from the config written into the file, so the
names and shapes are exactly what the official loaders expect; the values are seeded per tensor
(weights.py) and the files are written deterministically (safetensors_io.py): the same seed gives
the same bytes. Its output is noise.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from pathlib import Path

import torch

from shared.control_kinds import BUILTIN_IC_LORAS, SCENE_PASSES, is_scene_pass
from shared.errors import UserError

from . import configs
from .gemma import patched_gemma_config, write_gemma_folder
from .safetensors_io import write_safetensors
from .weights import DTYPE, key_generator, module_tensors

BUNDLE_FILE = "bundle.json"
GEMMA_DIR = "gemma"
LORA_RANK = 4
REFERENCE_DOWNSCALE_FACTOR = 2


def file_names(architecture: str) -> dict[str, str]:
    if architecture == "ltx-2":
        return {
            "checkpoint": "ltx-2-19b-distilled-tiny.safetensors",
            "upsampler": "ltx-2-spatial-upscaler-x2-tiny.safetensors",
            "ic_lora": "ltx-2-19b-ic-lora-union-control-ref0.5-tiny.safetensors",
        }
    return {
        "checkpoint": "ltx-2.3-22b-distilled-tiny.safetensors",
        "upsampler": "ltx-2.3-spatial-upscaler-x2-tiny.safetensors",
        "ic_lora": "ltx-2.3-22b-ic-lora-union-control-ref0.5-tiny.safetensors",
    }


def _prefixed(prefix: str, shared: dict[str, str] | None = None) -> Callable[[str], str | None]:
    """Module key -> checkpoint key: `prefix + key`, except keys starting with a `shared` prefix."""
    shared = shared or {}

    def mapping(key: str) -> str | None:
        for ours, theirs in shared.items():
            if key.startswith(ours):
                return theirs + key[len(ours) :]
        return prefix + key

    return mapping


def _build(configurator, config: dict, seed: int) -> torch.nn.Module:
    """Instantiate a module on the CPU with the official configurator, RNG isolated and seeded."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return configurator.from_config(config)


def _stft_buffers(key: str, reference: torch.Tensor) -> torch.Tensor | None:
    """Meaningful values for the BWE's STFT bases and mel filterbank (a real checkpoint stores the
    bases it was trained with): a Hann-windowed DFT and a triangular mel filterbank."""
    leaf = key.rsplit(".", 1)[-1]
    if "mel_stft" not in key or leaf not in ("forward_basis", "inverse_basis", "mel_basis"):
        return None
    if leaf == "mel_basis":
        import warnings

        import torchaudio

        n_mels, n_freqs = reference.shape
        with warnings.catch_warnings():  # a few of 64 filters are empty at this tiny FFT size: harmless
            warnings.simplefilter("ignore", UserWarning)
            return torchaudio.functional.melscale_fbanks(
                n_freqs=n_freqs, f_min=0.0, f_max=8000.0, n_mels=n_mels, sample_rate=16000
            ).T.contiguous()
    rows, _, n_fft = reference.shape
    n_freqs = rows // 2
    n = torch.arange(n_fft, dtype=torch.float64)
    k = torch.arange(n_freqs, dtype=torch.float64)[:, None]
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
    angle = 2 * math.pi * k * n / n_fft
    basis = torch.cat([torch.cos(angle), -torch.sin(angle)], dim=0) * window
    if leaf == "inverse_basis":
        basis = basis / n_fft
    return basis[:, None, :].to(torch.float32)


def checkpoint_parts() -> list[tuple[object, Callable[[str], str | None]]]:
    """(official configurator, module key -> checkpoint key) of every component in the single-file
    checkpoint, in the official key layout (also used to write full-size random checkpoints)."""
    from ltx_core.model.audio_vae import (
        AudioDecoderConfigurator,
        AudioEncoderConfigurator,
        VocoderConfigurator,
    )
    from ltx_core.model.transformer import LTXModelConfigurator
    from ltx_core.model.video_vae import VideoDecoderConfigurator, VideoEncoderConfigurator
    from ltx_core.text_encoders.gemma import EmbeddingsProcessorConfigurator

    return [
        (LTXModelConfigurator, _prefixed("model.diffusion_model.")),
        (
            EmbeddingsProcessorConfigurator,
            _prefixed(
                "",
                {
                    "feature_extractor.": "text_embedding_projection.",
                    "video_connector.": "model.diffusion_model.video_embeddings_connector.",
                    "audio_connector.": "model.diffusion_model.audio_embeddings_connector.",
                },
            ),
        ),
        (
            VideoEncoderConfigurator,
            _prefixed("vae.encoder.", {"per_channel_statistics.": "vae.per_channel_statistics."}),
        ),
        (
            VideoDecoderConfigurator,
            _prefixed("vae.decoder.", {"per_channel_statistics.": "vae.per_channel_statistics."}),
        ),
        (
            AudioEncoderConfigurator,
            _prefixed("audio_vae.encoder.", {"per_channel_statistics.": "audio_vae.per_channel_statistics."}),
        ),
        (
            AudioDecoderConfigurator,
            _prefixed("audio_vae.decoder.", {"per_channel_statistics.": "audio_vae.per_channel_statistics."}),
        ),
        (VocoderConfigurator, _prefixed("vocoder.")),
    ]


def checkpoint_tensors(config: dict, seed: int) -> dict[str, torch.Tensor]:
    parts = checkpoint_parts()
    tensors: dict[str, torch.Tensor] = {}
    for configurator, mapping in parts:
        module = _build(configurator, config, seed)
        for key, value in module_tensors(module, mapping, seed, special=_stft_buffers).items():
            tensors.setdefault(key, value)  # the VAE statistics are shared by encoder and decoder
    return tensors


def ic_lora_tensors(transformer_keys: list[tuple[str, tuple[int, ...]]], seed: int) -> dict[str, torch.Tensor]:
    """A rank-4 LoRA on every video attention / feed-forward matrix of every block, both factors
    non-zero, in the ComfyUI key format LTXV_LORA_COMFY_RENAMING_MAP maps onto the transformer."""
    targets = []
    for key, shape in transformer_keys:
        name = key[len("model.diffusion_model.") :]
        if not name.startswith("transformer_blocks.") or not name.endswith(".weight") or len(shape) != 2:
            continue
        module = name.split(".")[2]
        if module in ("attn1", "attn2", "ff"):
            targets.append((name[: -len(".weight")], shape))
    out: dict[str, torch.Tensor] = {}
    for name, (rows, cols) in targets:
        a_key = f"diffusion_model.{name}.lora_A.weight"
        b_key = f"diffusion_model.{name}.lora_B.weight"
        a = torch.randn((LORA_RANK, cols), generator=key_generator(seed, a_key)) / math.sqrt(cols)
        b = torch.randn((rows, LORA_RANK), generator=key_generator(seed, b_key)) * (0.5 / math.sqrt(LORA_RANK))
        out[a_key] = a.to(DTYPE)
        out[b_key] = b.to(DTYPE)
    if not out:
        raise RuntimeError("tiny model: no transformer weight for the IC-LoRA to target")
    return out


def extra_ic_lora_file(architecture: str, name: str) -> str:
    prefix = "ltx-2-19b" if architecture == "ltx-2" else "ltx-2.3-22b"
    return f"{prefix}-ic-lora-{name}-tiny.safetensors"


def check_extra_ic_loras(extra_ic_loras) -> list[tuple[str, str, int]]:
    """(name, pass, reference factor) of each extra IC-LoRA, checked: `{name: pass}` or
    `{name: (pass, factor)}`; names are file-name safe and not the built-in ones."""
    out = []
    for name, value in dict(extra_ic_loras or {}).items():
        scene_pass, factor = (value, REFERENCE_DOWNSCALE_FACTOR) if isinstance(value, str) else tuple(value)
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
            raise UserError(
                f"extra IC-LoRA name {name!r}: use letters, digits, '-', '_' or '.' (it becomes a file name)",
                "extra_ic_lora",
            )
        if name in BUILTIN_IC_LORAS:
            raise UserError(
                f"extra IC-LoRA {name!r}: the tiny bundle already has the built-in IC-LoRA of that name; pick another",
                "extra_ic_lora",
            )
        if not is_scene_pass(scene_pass):
            raise UserError(
                f"extra IC-LoRA {name!r}: pass {scene_pass!r} is not a scene pass; use one of {', '.join(SCENE_PASSES)}",
                "extra_ic_lora",
            )
        if isinstance(factor, bool) or not isinstance(factor, int) or not 1 <= factor <= 8:
            raise UserError(
                f"extra IC-LoRA {name!r}: reference factor must be an integer 1..8, got {factor!r}", "extra_ic_lora"
            )
        out.append((name, scene_pass, factor))
    return out


def _refuse_overwriting_real_bundle(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir} is a file; give make-tiny-model a folder (it is created if missing)", "dir")
    existing = out_dir / BUNDLE_FILE
    if existing.is_file():
        try:
            tiny = json.loads(existing.read_text()).get("tiny") is True
        except (OSError, ValueError, AttributeError):
            tiny = False
        if not tiny:
            raise UserError(
                f"{out_dir} already holds a model bundle that is not a tiny test model ({existing}); "
                f"the tiny model would overwrite its bundle.json. Choose an empty folder",
                "dir",
            )


def make_tiny_model(
    out_dir: Path,
    architecture: str = configs.DEFAULT_ARCHITECTURE,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    extra_ic_loras: dict | None = None,
) -> Path:
    """Write the tiny bundle into `out_dir` and return the path of its `bundle.json`.

    extra_ic_loras: {name: pass} or {name: (pass, reference factor)}: more random IC-LoRAs, each
    bound to a scene pass (e.g. {"blockout": "render"}), as a studio adds its own to a bundle.
    """
    import ltx_pipelines  # noqa: F401  (ltx_core.loader before ltx_core.quantization, or a circular import)

    if architecture not in configs.ARCHITECTURES:
        raise UserError(
            f"architecture: {architecture!r} is not known; choose one of {', '.join(configs.ARCHITECTURES)}",
            "architecture",
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UserError(f"seed: expected a non-negative integer, got {seed!r}", "seed")
    say = progress or (lambda message: None)
    extras = check_extra_ic_loras(extra_ic_loras)
    out_dir = Path(out_dir)
    _refuse_overwriting_real_bundle(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {out_dir}: {exc}; choose another folder", "dir") from None
    names = file_names(architecture)
    started = time.perf_counter()

    config = configs.checkpoint_config(architecture)
    with patched_gemma_config(configs.gemma_hf_config()):  # the text projection widths follow Gemma
        tensors = checkpoint_tensors(config, seed)
    metadata = {
        "config": json.dumps(config, sort_keys=True),
        "model_version": configs.MODEL_VERSIONS[architecture],
        "ltx_scene_tiny": "true",
    }
    write_safetensors(out_dir / names["checkpoint"], tensors, metadata)
    say(f"wrote {names['checkpoint']} ({len(tensors)} tensors)")

    from ltx_core.model.upsampler import LatentUpsamplerConfigurator

    up_config = configs.upsampler_config()
    upsampler = _build(LatentUpsamplerConfigurator, up_config, seed)
    up_tensors = module_tensors(upsampler, lambda k: k, seed + 1)
    write_safetensors(
        out_dir / names["upsampler"],
        up_tensors,
        {"config": json.dumps(up_config, sort_keys=True), "ltx_scene_tiny": "true"},
    )
    say(f"wrote {names['upsampler']}")

    transformer_keys = [
        (k, tuple(v.shape))
        for k, v in sorted(tensors.items())
        if k.startswith("model.diffusion_model.transformer_blocks.")
    ]
    lora = ic_lora_tensors(transformer_keys, seed + 2)
    write_safetensors(
        out_dir / names["ic_lora"],
        lora,
        {
            "reference_downscale_factor": str(REFERENCE_DOWNSCALE_FACTOR),
            "ltx_scene_tiny": "true",
            "rank": str(LORA_RANK),
        },
    )
    say(f"wrote {names['ic_lora']} ({len(lora) // 2} LoRA pairs)")
    ic_loras: dict[str, dict] = {kind: {"path": names["ic_lora"], "strength": 1.0} for kind in BUILTIN_IC_LORAS}
    for i, (name, scene_pass, factor) in enumerate(extras):
        file_name = extra_ic_lora_file(architecture, name)
        write_safetensors(
            out_dir / file_name,
            ic_lora_tensors(transformer_keys, seed + 10 + i),
            {"reference_downscale_factor": str(factor), "ltx_scene_tiny": "true", "rank": str(LORA_RANK)},
        )
        ic_loras[name] = {
            "path": file_name,
            "pass": scene_pass,
            "strength": 1.0,
            "description": f"tiny random IC-LoRA on the {scene_pass} pass (test model: noise)",
        }
        say(f"wrote {file_name} (IC-LoRA {name!r} on the {scene_pass} pass, reference factor {factor})")

    write_gemma_folder(out_dir / GEMMA_DIR, seed + 3)
    say(f"wrote {GEMMA_DIR}/")

    bundle = {
        "format": "ltx-scene-bundle",
        "version": 1,
        "name": f"tiny-{architecture}",
        "architecture": architecture,
        "tiny": True,
        "checkpoint": names["checkpoint"],
        "upsampler": names["upsampler"],
        "gemma_root": GEMMA_DIR,
        "ic_loras": ic_loras,
        "loras": {},
        "quantization": "none",
        "seed": seed,
        "note": "Randomly initialized tiny model for tests and the demo: its output is noise.",
    }
    bundle_path = out_dir / BUNDLE_FILE
    bundle_path.write_text(json.dumps(bundle, indent=2) + "\n")
    say(f"done in {time.perf_counter() - started:.1f} s")
    return bundle_path
