"""The engine's view of a model bundle (`backend.bundle.Bundle`): paths, LoRAs, options.

Kept in one place so the engine reads the bundle through a few named fields and the sidecar can
record exactly which files (and hashes) a job used.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from shared.errors import UserError

from .lora import read_reference_downscale_factor


@dataclass(frozen=True)
class LoraRef:
    name: str
    path: str
    reference_downscale_factor: int
    strength: float = 1.0       # the bundle's default strength (extra LoRAs without one in the spec)


@dataclass
class BundleInfo:
    bundle: object
    checkpoint: str
    upsampler: str
    gemma_root: str
    ic_loras: dict[str, LoraRef]
    loras: dict[str, LoraRef]
    architecture: str
    quantization: str | None
    tiny: bool
    description_path: str | None = None
    _hashes: dict[str, str] = field(default_factory=dict)

    def files(self) -> dict[str, str]:
        """role -> path of every file a job may read."""
        out = {"checkpoint": self.checkpoint, "spatial_upsampler": self.upsampler}
        out.update({f"ic_lora:{k}": v.path for k, v in self.ic_loras.items()})
        out.update({f"lora:{k}": v.path for k, v in self.loras.items()})
        for p in sorted(Path(self.gemma_root).rglob("*.safetensors")):
            out[f"gemma:{p.name}"] = str(p)
        return out

    def sha256(self, path: str) -> str:
        """SHA-256 of a file, computed once per engine (the files of a loaded bundle do not change)."""
        if path not in self._hashes:
            recorded = _recorded_hash(self.bundle, path)
            if recorded:
                self._hashes[path] = recorded
            else:
                h = hashlib.sha256()
                with open(path, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 24), b""):
                        h.update(chunk)
                self._hashes[path] = h.hexdigest()
        return self._hashes[path]


def _recorded_hash(bundle, path: str) -> str | None:
    hashes = getattr(bundle, "sha256", None)
    if isinstance(hashes, dict):
        value = hashes.get(path) or hashes.get(Path(path).name)
        return value if isinstance(value, str) else None
    return None


def _lora_ref(name: str, obj) -> LoraRef:
    path = str(getattr(obj, "path", obj))
    factor = getattr(obj, "reference_downscale_factor", None)
    if factor is None:
        factor = read_reference_downscale_factor(path)
    return LoraRef(name=name, path=path, reference_downscale_factor=int(factor),
                   strength=float(getattr(obj, "strength", 1.0)))


def bundle_info(bundle) -> BundleInfo:
    """Read the fields the engine needs from a Bundle and check its files exist."""
    def get(*names, default=None):
        for n in names:
            if hasattr(bundle, n) and getattr(bundle, n) is not None:
                return getattr(bundle, n)
        return default

    ic = get("ic_loras", default={}) or {}
    extras = get("loras", "extra_loras", default={}) or {}
    if isinstance(extras, list):
        extras = {getattr(e, "name"): e for e in extras}
    info = BundleInfo(
        bundle=bundle,
        checkpoint=str(get("checkpoint", "checkpoint_path")),
        upsampler=str(get("spatial_upsampler", "upsampler", "spatial_upsampler_path")),
        gemma_root=str(get("gemma_root", "gemma_root_path")),
        ic_loras={k: _lora_ref(k, v) for k, v in dict(ic).items()},
        loras={k: _lora_ref(k, v) for k, v in dict(extras).items()},
        architecture=str(get("architecture", default="unknown")),
        quantization=None if get("quantization", default="none") == "none" else get("quantization"),
        tiny=bool(get("tiny", default=False)),
        description_path=str(get("description_path", "path", default="")) or None,
    )
    missing = [f"{role}: {p}" for role, p in info.files().items() if not Path(p).is_file()]
    if not Path(info.gemma_root).is_dir():
        missing.append(f"gemma_root: {info.gemma_root}")
    if missing:
        raise UserError("model bundle: missing file(s): " + "; ".join(missing) +
                        ". Re-download the weights (`ltx-scene models download`) or fix bundle.json",
                        field="model")
    if not info.ic_loras:
        raise UserError("model bundle: it lists no IC-LoRA; the engine needs at least one", field="model")
    return info


def transformer_weight_shapes(checkpoint: str) -> dict[str, tuple[int, ...]]:
    """Transformer weight key -> shape, from the checkpoint's safetensors header (no tensor read)."""
    from backend.bundle import read_safetensors_header

    header, _ = read_safetensors_header(Path(checkpoint))
    prefix = "model.diffusion_model."
    return {k[len(prefix):]: tuple(v.get("shape", ())) for k, v in header.items()
            if k.startswith(prefix) and isinstance(v, dict)}


def precheck_loras(info: BundleInfo) -> None:
    """Refuse, before any model loads, LoRAs that match none of the transformer's weights."""
    from .lora import precheck_lora

    shapes = transformer_weight_shapes(info.checkpoint)
    seen = set()
    for name, ref in [*info.ic_loras.items(), *info.loras.items()]:
        if ref.path not in seen:
            seen.add(ref.path)
            precheck_lora(name, ref.path, shapes)

