"""Fixtures of the add-on tests: the built zip, the add-on installed into the bpy module."""

from __future__ import annotations

import pytest

from .addon_install import build_zip, install, remove


@pytest.fixture(scope="session")
def addon_zip(tmp_path_factory):
    return build_zip(tmp_path_factory.mktemp("addon-dist"))


@pytest.fixture(scope="package")
def installed_addon(addon_zip):
    """The extension installed and enabled for the tests of this folder; removed afterwards."""
    import bpy

    installed = install(addon_zip)
    yield installed
    remove(installed)
    bpy.ops.wm.read_homefile(use_empty=True)


@pytest.fixture
def fresh_scene(installed_addon):
    """An empty file with the add-on enabled; the scene is `bpy.context.scene`."""
    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    yield bpy.context.scene
    addon = installed_addon.module("operators.job")
    addon.shutdown()


@pytest.fixture
def backend_state(fresh_scene):
    """The Check Backend state (`window_manager.ltx_scene_job`), put back to "not checked" afterwards."""
    import bpy

    state = bpy.context.window_manager.ltx_scene_job
    yield state
    state.backend_ok, state.backend_status, state.backend_memory, state.backend_workers = False, "not checked", "", ""
    state.backend_rules = ""
