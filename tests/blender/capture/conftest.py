"""Capture tests run the real bpy module on small procedural scenes (tiny sizes, few frames)."""

from __future__ import annotations

import pytest

bpy = pytest.importorskip("bpy")


@pytest.fixture
def empty_scene():
    """A factory-fresh, empty Blender; reset again afterwards so no test leaks into the next."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    yield bpy.context.scene
    bpy.ops.wm.read_factory_settings(use_empty=True)
