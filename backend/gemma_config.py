"""Make ltx-core build the Gemma text encoder a bundle holds: part of loading a bundle.

ltx-core 1.0.0 ignores a Gemma root's config.json: the architecture is the hard-coded
`ltx_core.text_encoders.gemma.config.GEMMA3_CONFIG_FOR_LTX` (Gemma-3-12B), read when the text
encoder and the embeddings processor are built. The tiny test bundle's Gemma folder holds an ordinary
Hugging Face `config.json` with tiny sizes (and `"ltx_scene_tiny": true`), so that shared instance
must be patched in every process before every build from a tiny bundle, and restored for a real one.

`prepare_gemma_config(bundle)` does exactly that: call it before anything builds a text encoder or an
embeddings processor (the engine and the memory planner do; the stock-pipeline test does before
calling `ICLoraPipeline`). It is idempotent and cheap, and a process that loads a tiny bundle and then
a real one builds each correctly.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
from pathlib import Path


def _official_config():
    from ltx_core.text_encoders.gemma.config import GEMMA3_CONFIG_FOR_LTX

    return GEMMA3_CONFIG_FOR_LTX


_OFFICIAL_SNAPSHOT = None


def _snapshot():
    global _OFFICIAL_SNAPSHOT
    if _OFFICIAL_SNAPSHOT is None:
        _OFFICIAL_SNAPSHOT = copy.deepcopy(_official_config())
    return _OFFICIAL_SNAPSHOT


def _assign(target, values: dict) -> None:
    """Set the dataclass fields of `target` present in `values` (nested dataclasses recursively)."""
    for field in dataclasses.fields(target):
        if field.name not in values:
            continue
        current = getattr(target, field.name)
        value = values[field.name]
        if dataclasses.is_dataclass(current) and isinstance(value, dict):
            _assign(current, value)
        else:
            setattr(target, field.name, copy.deepcopy(value))


def apply_gemma_config(gemma_root: Path) -> None:
    """Patch ltx-core's GEMMA3_CONFIG_FOR_LTX in place from `gemma_root/config.json`."""
    _snapshot()
    path = Path(gemma_root) / "config.json"
    values = json.loads(path.read_text())
    official = _official_config()
    _assign(official, copy.deepcopy(dataclasses.asdict(_snapshot())))  # start from the official values
    _assign(official, values)


@contextlib.contextmanager
def patched_gemma_config(values: dict):
    """GEMMA3_CONFIG_FOR_LTX with `values` applied inside the block, whatever it was restored after."""
    official = _official_config()
    saved = copy.deepcopy(dataclasses.asdict(official))
    _assign(official, copy.deepcopy(values))
    try:
        yield official
    finally:
        _assign(official, saved)


def restore_official_gemma_config() -> None:
    """Put the official Gemma-3-12B values back into GEMMA3_CONFIG_FOR_LTX."""
    _assign(_official_config(), copy.deepcopy(dataclasses.asdict(_snapshot())))


def prepare_gemma_config(bundle) -> None:
    """Call before building a text encoder / embeddings processor from `bundle` (a backend.bundle.Bundle
    or anything with `.tiny` and `.gemma_root`): tiny bundles get their folder's sizes, real ones the
    official sizes."""
    if getattr(bundle, "tiny", False):
        apply_gemma_config(Path(bundle.gemma_root))
    else:
        restore_official_gemma_config()
