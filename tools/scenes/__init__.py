"""Procedural scenes: the demo scene and small scenes with known geometry for tests."""

from .demo import build_demo_scene  # noqa: F401
