"""Deterministic random weights for a module, keyed by the checkpoint's tensor names.

Every value depends only on (seed, checkpoint key): a tensor's numbers do not change when other
tensors are added or reordered, and the same seed gives the same bytes on every run. The modules
are built by the official configurators (so the names and shapes are exactly what the loaders
expect); their constructors' own initial values are used only where they are constants (norm
scales, Snake alphas, resampling filters), never where they come from `torch.empty`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable

import torch

DTYPE = torch.bfloat16


def key_generator(seed: int, key: str) -> torch.Generator:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return torch.Generator(device="cpu").manual_seed(int.from_bytes(digest[:8], "little"))


def _normal(shape, std: float, gen: torch.Generator) -> torch.Tensor:
    return torch.randn(shape, generator=gen, dtype=torch.float32) * std


def random_value(key: str, reference: torch.Tensor, seed: int) -> torch.Tensor:
    """A seeded value for one parameter, scaled so that activations stay of order one."""
    gen = key_generator(seed, key)
    shape = tuple(reference.shape)
    leaf = key.rsplit(".", 1)[-1]
    if "scale_shift_table" in leaf:
        return _normal(shape, 0.1, gen)
    if leaf == "learnable_registers":
        return torch.rand(shape, generator=gen) * 2.0 - 1.0
    if leaf == "bias":
        return _normal(shape, 0.02, gen)
    if reference.ndim >= 2:
        if key.endswith("conv_post.weight"):
            # the vocoders' last conv: scaled so the noise waveform stays well inside [-1, 1]
            # (about 0.1 mean amplitude) instead of clipping; the BigVGAN stack (LTX-2.3) amplifies more.
            gain = 0.002 if key.startswith("vocoder.vocoder.") or key.startswith("vocoder.bwe_") else 0.3
            return _normal(shape, gain / math.sqrt(math.prod(shape[1:])), gen)
        fan_in = math.prod(shape[1:])
        if reference.ndim == 2 and ("embed_tokens" in key or "position_embedding" in key):
            fan_in = shape[-1]  # lookup tables: unit-scale rows after Gemma's sqrt(hidden) scaling
        return _normal(shape, 1.0 / math.sqrt(max(fan_in, 1)), gen)
    raise KeyError(key)  # 0-d / 1-d non-bias parameters keep their constructor constant


def per_channel_statistics(key: str, reference: torch.Tensor, seed: int) -> torch.Tensor:
    """Latent normalization statistics (a real VAE stores dataset statistics here)."""
    gen = key_generator(seed, key)
    if key.endswith("std-of-means"):
        return 0.5 + torch.rand(tuple(reference.shape), generator=gen)
    return _normal(tuple(reference.shape), 0.1, gen)


def module_tensors(
    module: torch.nn.Module,
    to_checkpoint_key: Callable[[str], str | None],
    seed: int,
    special: Callable[[str, torch.Tensor], torch.Tensor | None] | None = None,
) -> dict[str, torch.Tensor]:
    """The module's state dict under checkpoint keys, filled with seeded values, in bf16.

    `to_checkpoint_key` maps a module key to its checkpoint key (None drops it). `special` may
    return a value for a key (buffers with a meaning, e.g. STFT bases) or None.
    """
    params = dict(module.named_parameters())
    out: dict[str, torch.Tensor] = {}
    for name, tensor in module.state_dict().items():
        key = to_checkpoint_key(name)
        if key is None or key in out:
            continue
        value = special(key, tensor) if special is not None else None
        if value is None:
            if "per_channel_statistics" in key:
                value = per_channel_statistics(key, tensor, seed)
            elif name in params:
                try:
                    value = random_value(key, tensor, seed)
                except KeyError:
                    value = tensor.detach().clone()
            else:
                value = tensor.detach().clone()
        if not torch.isfinite(value.float()).all():
            raise RuntimeError(f"tiny model: non-finite initial value for {key}")
        out[key] = value.to(DTYPE).contiguous()
    return out
