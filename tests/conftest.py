"""Session-wide test setup.

- `import bpy` writes into ~/.config/blender: point Blender's user resources at a temporary folder
  before anything imports bpy, so tests neither pollute nor depend on the user's Blender settings.
- Fixtures shared by several test folders live here; folder-specific ones live beside their tests.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_BLENDER_HOME = tempfile.mkdtemp(prefix="ltx-scene-blender-user-")
os.environ.setdefault("BLENDER_USER_RESOURCES", _BLENDER_HOME)

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
