"""A tiny, randomly initialized LTX-2 / LTX-2.3 model bundle in the official file format.

Tests and the demo run the real loading and sampling code on it, on a CPU, in seconds. Its output
is noise. See README.md in this folder.
"""
from .builder import BUNDLE_FILE, CONTROL_KINDS, REFERENCE_DOWNSCALE_FACTOR, file_names, make_tiny_model
from .configs import ARCHITECTURES, DEFAULT_ARCHITECTURE
from .gemma import apply_gemma_config, is_tiny_gemma_root, prepare_gemma_config, restore_official_gemma_config

__all__ = [
    "ARCHITECTURES",
    "BUNDLE_FILE",
    "CONTROL_KINDS",
    "DEFAULT_ARCHITECTURE",
    "REFERENCE_DOWNSCALE_FACTOR",
    "apply_gemma_config",
    "file_names",
    "is_tiny_gemma_root",
    "make_tiny_model",
    "prepare_gemma_config",
    "restore_official_gemma_config",
]
