"""LoRAs applied at run time on the one resident transformer.

The stock `ICLoraPipeline` builds two transformers: stage 1 with the IC-LoRA fused into the weights
(`ltx_core.loader.apply_loras` at build time), stage 2 without. Two resident copies of a 22B model
cost ~88 GB, so the engine keeps one plain transformer and attaches a `torch.nn.utils.parametrize`
parametrization to every weight a LoRA touches:

- disabled (stage 2, or no LoRA asked for): the parametrization returns the stored weight itself;
- enabled (stage 1): it returns `apply_loras(...)` of that one weight, i.e. the *same official
  function, on the same tensors, in the same order* the stock builder runs, computed just before the
  layer's forward and freed right after. The fused weight is therefore bit-identical to the stock
  pipeline's (bf16, and fp8-cast on CPU and CUDA alike), at the cost of one rank-r matmul per layer
  per step (about r/tokens of the layer's own work, ~1%) and one layer's weight of scratch memory.

The stored weights are never written, so there is nothing to "un-fuse" and a cancelled or failed
job cannot leave the model altered.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn.utils import parametrize

from ltx_core.loader import (
    LTXV_LORA_COMFY_RENAMING_MAP,
    LoraStateDictWithStrength,
    SafetensorsStateDictLoader,
    StateDict,
    apply_loras,
)
from shared.errors import UserError

_A_SUFFIX = ".lora_A.weight"
_B_SUFFIX = ".lora_B.weight"


class LoraError(UserError):
    """A LoRA file that cannot be used with this model."""


def _lora_header_shapes(name: str, path: str | Path) -> dict[str, tuple[int, ...]]:
    from backend.bundle import read_safetensors_header

    path = Path(path)
    if not path.is_file():
        raise LoraError(f"LoRA {name!r}: file not found: {path}; check the bundle or the --lora path", field="loras")
    try:
        header, _ = read_safetensors_header(path)
    except (OSError, ValueError) as exc:
        raise LoraError(
            f"LoRA {name!r}: {path} is not a readable .safetensors LoRA file ({exc})", field="loras"
        ) from None
    return header


def precheck_loras(bundle) -> None:
    """Refuse, before any model loads, LoRAs of a `Bundle` that match none of the transformer's weights."""
    from backend.bundle import read_safetensors_header

    header, _ = read_safetensors_header(Path(bundle.checkpoint))
    prefix = "model.diffusion_model."
    shapes = {
        k[len(prefix) :]: tuple(v.get("shape", ()))
        for k, v in header.items()
        if k.startswith(prefix) and isinstance(v, dict)
    }
    seen = set()
    for name, entry in [*bundle.ic_loras.items(), *bundle.loras.items()]:
        if entry.path not in seen:
            seen.add(entry.path)
            precheck_lora(name, entry.path, shapes)


def precheck_lora(name: str, path: str | Path, model_shapes: dict[str, tuple[int, ...]]) -> int:
    """Header-only version of `load_lora`'s matching (no tensor is read): run when the engine is made,
    so that a LoRA which fits nothing is refused before any model loads. Returns the matched count.

    model_shapes: transformer weight key ("transformer_blocks.0.attn1.to_q.weight") -> shape.
    """
    header = _lora_header_shapes(name, path)
    shapes = {}
    for key, entry in header.items():
        renamed = LTXV_LORA_COMFY_RENAMING_MAP.apply_to_key(key)
        if renamed is not None and isinstance(entry, dict):
            shapes[renamed] = tuple(entry.get("shape", ()))
    prefixes = sorted({k[: -len(suffix)] for k in shapes for suffix in (_A_SUFFIX, _B_SUFFIX) if k.endswith(suffix)})
    if not prefixes:
        raise LoraError(
            f"LoRA {name!r} ({path}) holds no '*.lora_A.weight' / '*.lora_B.weight' pairs; "
            "it is not a LoRA in the LTX/ComfyUI format",
            field="loras",
        )
    matched = 0
    for prefix in prefixes:
        a, b = shapes.get(prefix + _A_SUFFIX), shapes.get(prefix + _B_SUFFIX)
        weight = model_shapes.get(prefix + ".weight")
        if a is None or b is None or weight is None:
            continue
        if len(a) != 2 or len(b) != 2 or b[1] != a[0] or (b[0], a[1]) != tuple(weight):
            raise LoraError(
                f"LoRA {name!r}: {prefix} has A {a} / B {b} but the model's weight is {tuple(weight)}; "
                f"the LoRA was made for a different model (architecture)",
                field="loras",
            )
        matched += 1
    if not matched:
        raise LoraError(
            f"LoRA {name!r} ({path}): none of its {len(prefixes)} LoRA pairs match a weight of this transformer "
            f"(first: {prefixes[0]!r}); it was made for another model or uses an unknown key layout",
            field="loras",
        )
    return matched


@dataclass
class LoadedLora:
    """One LoRA file read with the official loader and key renaming, resident on the engine device."""

    name: str
    path: str
    state_dict: StateDict
    targets: list[str]  # weight keys of the transformer it changes ("transformer_blocks.0.attn1.to_q.weight")
    unmatched: list[str]  # its LoRA pairs that match no weight of this transformer

    def __post_init__(self) -> None:
        self.targets_set = frozenset(self.targets)


def load_lora(name: str, path: str | Path, model: torch.nn.Module, device: torch.device) -> LoadedLora:
    """Read a LoRA and match its A/B pairs to `model`'s weights (shape-checked).

    A LoRA that matches no weight at all is an error (the official loader would silently apply
    nothing, e.g. with the wrong sd_ops or a LoRA made for the other architecture).
    """
    _lora_header_shapes(name, path)
    sd = SafetensorsStateDictLoader().load(str(path), sd_ops=LTXV_LORA_COMFY_RENAMING_MAP, device=torch.device("cpu"))
    prefixes = sorted(
        {k[: -len(_A_SUFFIX)] for k in sd.sd if k.endswith(_A_SUFFIX)}
        | {k[: -len(_B_SUFFIX)] for k in sd.sd if k.endswith(_B_SUFFIX)}
    )
    if not prefixes:
        raise LoraError(
            f"LoRA {name!r} ({path}) holds no '*.lora_A.weight' / '*.lora_B.weight' pairs; "
            "it is not a LoRA in the LTX/ComfyUI format",
            field="loras",
        )
    targets: list[str] = []
    unmatched: list[str] = []
    for prefix in prefixes:
        a, b = sd.sd.get(prefix + _A_SUFFIX), sd.sd.get(prefix + _B_SUFFIX)
        weight = _stored_weight(model, prefix)
        if a is None or b is None or weight is None:
            unmatched.append(prefix)
            continue
        if a.ndim != 2 or b.ndim != 2 or b.shape[1] != a.shape[0] or (b.shape[0], a.shape[1]) != tuple(weight.shape):
            raise LoraError(
                f"LoRA {name!r}: {prefix} has A {tuple(a.shape)} / B {tuple(b.shape)} but the model's weight is "
                f"{tuple(weight.shape)}; the LoRA was made for a different model (architecture)",
                field="loras",
            )
        targets.append(prefix + ".weight")
    if not targets:
        raise LoraError(
            f"LoRA {name!r} ({path}): none of its {len(prefixes)} LoRA pairs match a weight of this transformer "
            f"(first: {prefixes[0]!r}); it was made for another model or uses an unknown key layout",
            field="loras",
        )
    moved = {k: v.to(device) for k, v in sd.sd.items()}
    state = StateDict(sd=moved, device=device, size=sd.size, dtype=sd.dtype)
    return LoadedLora(name=name, path=str(path), state_dict=state, targets=targets, unmatched=unmatched)


def _stored_weight(model: torch.nn.Module, module_name: str) -> torch.Tensor | None:
    """The stored `weight` of a submodule (the original under a parametrization), or None."""
    try:
        module = model.get_submodule(module_name)
    except AttributeError:
        return None
    if parametrize.is_parametrized(module, "weight"):
        return module.parametrizations.weight.original
    weight = getattr(module, "weight", None)
    return weight if isinstance(weight, torch.Tensor) else None


class _RuntimeLoraWeight(torch.nn.Module):
    """Parametrization of one weight: identity, or the official fusion with the active LoRAs."""

    def __init__(self, key: str, controller: "RuntimeLoras"):
        super().__init__()
        self.key = key
        self._controller = [controller]  # a list hides it from nn.Module registration

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        controller = self._controller[0]
        active = controller.active_for(self.key)
        if not active:
            return weight
        model_sd = StateDict(sd={self.key: weight}, device=weight.device, size=weight.nbytes, dtype={weight.dtype})
        fused = apply_loras(model_sd=model_sd, lora_sd_and_strengths=active, dtype=controller.fuse_dtype)
        return fused.sd[self.key]


class RuntimeLoras:
    """The LoRAs attached to one transformer and which of them are on.

    `fuse_dtype` mirrors what the stock builder passes to `apply_loras`: the model dtype (bf16) for a
    plain transformer, None (keep the stored fp8 dtype) under fp8-cast quantization.
    """

    def __init__(self, model: torch.nn.Module, fuse_dtype: torch.dtype | None):
        self.model = model
        self.fuse_dtype = fuse_dtype
        self.loras: dict[str, LoadedLora] = {}
        self._active: list[tuple[LoadedLora, float]] = []
        self._attached: set[str] = set()

    def add(self, lora: LoadedLora, name: str | None = None) -> None:
        """Attach `lora` under `name` (default its own); one file may serve several names."""
        self.loras[name or lora.name] = lora
        for key in lora.targets:
            if key in self._attached:
                continue
            module_name, _, param = key.rpartition(".")
            module = self.model.get_submodule(module_name)
            parametrize.register_parametrization(module, param, _RuntimeLoraWeight(key, self), unsafe=True)
            self._attached.add(key)

    def active_for(self, key: str) -> list[LoraStateDictWithStrength]:
        if not self._active:
            return []
        return [
            LoraStateDictWithStrength(lora.state_dict, strength)
            for lora, strength in self._active
            if key in lora.targets_set
        ]

    @contextlib.contextmanager
    def enabled(self, strengths: list[tuple[str, float]]):
        """Turn the named LoRAs on (in this order, as the stock ledger would list them) for the block.

        Like the stock builder, all-zero strengths mean no fusion at all.
        """
        chosen = []
        for name, strength in strengths:
            if name not in self.loras:
                raise LoraError(f"LoRA {name!r} is not loaded; loaded: {sorted(self.loras)}", field="loras")
            if not math.isfinite(strength):
                raise LoraError(f"LoRA {name!r}: strength must be a finite number, got {strength}", field="loras")
            chosen.append((self.loras[name], float(strength)))
        if chosen and all(s == 0 for _, s in chosen):
            chosen = []
        previous = self._active
        self._active = chosen
        try:
            yield
        finally:
            self._active = previous
