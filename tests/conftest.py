"""Session-wide test setup.

- `XDG_DATA_HOME` points at a temporary folder: tests never read or write the user's data folder.
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
# The data folder (token, job store, model-file hash cache, models) of everything a test starts:
# never the user's own ~/.local/share/ltx-scene.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="ltx-scene-data-")

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


# --- the tiny model bundle (backend/tiny_model): built once per session -------------------------
@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory) -> Path:
    """Path of the bundle.json of a tiny LTX-2.3 bundle (seed 0). Its output is noise."""
    from backend.tiny_model import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-ltx-2.3"), architecture="ltx-2.3", seed=0)


@pytest.fixture(scope="session")
def tiny_bundle_ltx2(tmp_path_factory) -> Path:
    """Path of the bundle.json of a tiny LTX-2 (19B-style) bundle (seed 0)."""
    from backend.tiny_model import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-ltx-2"), architecture="ltx-2", seed=0)


@pytest.fixture(scope="session")
def tiny_bundle_render_lora(tmp_path_factory) -> Path:
    """A tiny LTX-2.3 bundle with one more IC-LoRA, "blockout", fed by the `render` scene pass (a stand-in
    for a studio's own IC-LoRA: `make-tiny-model --extra-ic-lora blockout=render`)."""
    from backend.tiny_model import make_tiny_model

    return make_tiny_model(
        tmp_path_factory.mktemp("tiny-render-lora"),
        architecture="ltx-2.3",
        seed=0,
        extra_ic_loras={"blockout": "render"},
    )


# --- the memory plan of in-process engines: a stated machine, not the free RAM of the moment --------
TEST_HOST_RAM_BYTES = 32 * 1024**3


@pytest.fixture(scope="session", autouse=True)
def _stated_host_ram():
    """Engines built in a test plan against 32 GiB of available RAM, whatever this machine has free now.

    A CPU engine's memory plan reads MemAvailable, and the tiny model's default plan shape
    (768x512x121, VAE decoded untiled) needs about 16 GiB to stay resident: on a machine kept busy by
    other processes the same test planned the streamed tier instead (found by running `make test`
    beside a parallel load). Every tier gives bit-identical frames, but a test must not depend on
    what else runs. Tests of the planner pass their budgets explicitly; subprocess servers measure.
    """
    try:
        from backend.memory import budget
    except ImportError:  # the Blender LTS environments have no torch: nothing to plan there
        yield
        return
    mp = pytest.MonkeyPatch()
    mp.setattr(budget, "host_available_bytes", lambda: TEST_HOST_RAM_BYTES)
    yield
    mp.undo()
