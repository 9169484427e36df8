"""The built zip is self-contained, passes Blender's validator, installs, registers and unregisters."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from backend.commands.build_addon import blender_validator
from tests.conftest import REPO_ROOT

from .addon_install import install, remove

pytestmark = pytest.mark.bpy_compat  # also run under bpy 4.2 and 4.5 LTS (extension install API)


OPERATORS = {
    "generate",
    "cancel",
    "preview_controls",
    "export_controls",
    "export_training",
    "regenerate",
    "check_backend",
    "start_backend",
    "fix_frame_range",
}
PANELS = (
    "VIEW3D_PT_ltx_scene",
    "VIEW3D_PT_ltx_scene_control",
    "VIEW3D_PT_ltx_scene_first_frame",
    "VIEW3D_PT_ltx_scene_loras",
    "VIEW3D_PT_ltx_scene_backend",
    "SEQUENCER_PT_ltx_scene_strip",
)


def test_zip_contents(addon_zip):
    assert addon_zip.name == "ltx_scene_control-0.1.0.zip"
    with zipfile.ZipFile(addon_zip) as zf:
        names = set(zf.namelist())
        assert zf.read("blender_manifest.toml") == (REPO_ROOT / "blender_manifest.toml").read_bytes()
        # shared/ is copied in as real files, byte for byte
        for path in (REPO_ROOT / "shared").rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            rel = path.relative_to(REPO_ROOT).as_posix()
            assert zf.read(rel) == path.read_bytes(), rel
        for info in zf.infolist():  # no symlinks stored
            assert (info.external_attr >> 16) & 0o170000 != 0o120000, info.filename
    for required in (
        "__init__.py",
        "properties.py",
        "preferences.py",
        "compat.py",
        "settings.py",
        "vse.py",
        "client/http.py",
        "client/worker.py",
        "operators/generate.py",
        "ui/panel.py",
        "shared/__init__.py",
        "shared/package.py",
    ):
        assert required in names, required
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # exactly the add-on's own files and the shared/ copy: nothing of tools/, tests or the backend
    assert names == {"blender_manifest.toml"} | _source_files(REPO_ROOT / "blender_addon")
    assert {n.split("/")[0] for n in names if "/" in n} == {
        "capture",
        "client",
        "operators",
        "ui",
        "shared",
        "training",
    }
    assert {n for n in names if "/" not in n} == {
        "blender_manifest.toml",
        "README.md",
        "__init__.py",
        "compat.py",
        "preferences.py",
        "properties.py",
        "settings.py",
        "ic_lora_choices.py",
        "vse.py",
    }


def _source_files(folder):
    """Every file under `folder` (symlinks followed), relative, without what Python leaves behind."""
    found = set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        found.update((Path(root) / name).relative_to(folder).as_posix() for name in files if not name.endswith(".pyc"))
    return found


def test_blender_validator_accepts_zip(addon_zip):
    tool = blender_validator()
    assert tool is not None, "the bpy module ships blender_ext.py"
    result = subprocess.run(
        [sys.executable, str(tool), "validate", str(addon_zip)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


def test_install_register_unregister(addon_zip):
    import bpy

    import addon_utils

    # another installed copy (the folder's shared fixture) would share the class names: park it
    others = [m for m in bpy.context.preferences.addons.keys() if m.endswith(".ltx_scene_control")]
    for module in others:
        addon_utils.disable(module, default_set=True)
    try:
        _install_register_unregister(bpy, addon_zip)
    finally:
        for module in others:
            addon_utils.enable(module, default_set=True)


def _install_register_unregister(bpy, addon_zip):
    installed = install(addon_zip, repo_name="ltx_build_test")
    try:
        assert OPERATORS <= set(dir(bpy.ops.ltx_scene))
        for name in PANELS:
            panel = getattr(bpy.types, name)
            assert panel.bl_category == "LTX"
        assert bpy.types.VIEW3D_PT_ltx_scene.bl_space_type == "VIEW_3D"
        assert bpy.types.VIEW3D_PT_ltx_scene.bl_region_type == "UI"
        scene = bpy.context.scene
        assert scene.ltx_scene.attention_strength == 1.0
        # keyframable, as the capture reads it per frame
        assert scene.ltx_scene.keyframe_insert("attention_strength", frame=1)
        assert bpy.context.window_manager.ltx_scene_job.status == "idle"
        prefs = bpy.context.preferences.addons[installed.module_name].preferences
        assert prefs.backend_url == "http://127.0.0.1:8765"
        assert type(prefs).bl_idname == installed.module_name
    finally:
        remove(installed)
    assert not hasattr(bpy.types.Scene, "ltx_scene")
    assert not hasattr(bpy.types.WindowManager, "ltx_scene_job")
    for name in PANELS:
        assert not hasattr(bpy.types, name), name
    assert "generate" not in dir(bpy.ops.ltx_scene)
    assert installed.module_name not in bpy.context.preferences.addons
    scene.animation_data_clear()


def test_build_addon_command(tmp_path, capsys):
    from backend.cli import main

    assert main(["build-addon", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    target = tmp_path / "ltx_scene_control-0.1.0.zip"
    assert target.is_file() and f"wrote {target}" in out
    assert "Blender's validator: Success" in out
    with zipfile.ZipFile(target) as zf:
        assert zf.testzip() is None
