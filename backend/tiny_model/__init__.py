"""A tiny, randomly initialized LTX-2 / LTX-2.3 model bundle in the official file format.

Tests and the demo run the real loading and sampling code on it, on a CPU, in seconds. Its output
is noise. See README.md in this folder.
"""

from .builder import BUNDLE_FILE, REFERENCE_DOWNSCALE_FACTOR, file_names, make_tiny_model
from .configs import ARCHITECTURES, DEFAULT_ARCHITECTURE
from .gemma import is_tiny_gemma_root

__all__ = [
    "ARCHITECTURES",
    "BUNDLE_FILE",
    "DEFAULT_ARCHITECTURE",
    "REFERENCE_DOWNSCALE_FACTOR",
    "file_names",
    "is_tiny_gemma_root",
    "make_tiny_model",
]
