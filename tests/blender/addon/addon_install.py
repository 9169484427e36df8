"""Build the extension zip and install / remove it in the bpy module, the way a user would.

`install(zip)` creates a temporary user extension repository, installs the zip into it with
`bpy.ops.extensions.package_install_files` and enables it; `remove(installed)` disables the add-on
and removes the repository. Used by the add-on tests and the end-to-end test.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO_ROOT

EXTENSION_ID = "ltx_scene_control"


@dataclass
class Installed:
    repo_module: str
    directory: str
    module_name: str  # bl_ext.<repo>.ltx_scene_control

    def module(self, sub: str = ""):
        return importlib.import_module(self.module_name + (f".{sub}" if sub else ""))


def build_zip(out_dir: Path) -> Path:
    from backend.commands.build_addon import build

    return build(Path(out_dir), REPO_ROOT)


def install(zip_path: Path, repo_name: str = "ltx_test") -> Installed:
    import bpy

    repo_module = f"{repo_name}_{os.getpid()}"
    directory = tempfile.mkdtemp(prefix="ltx-scene-ext-repo-")
    bpy.context.preferences.extensions.repos.new(
        name="LTX Scene Test", module=repo_module, custom_directory=directory, source="USER"
    )
    result = bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo=repo_module, enable_on_install=True)
    assert result == {"FINISHED"}, result
    installed = Installed(repo_module, directory, f"bl_ext.{repo_module}.{EXTENSION_ID}")
    assert installed.module_name in bpy.context.preferences.addons, list(bpy.context.preferences.addons.keys())
    return installed


def remove(installed: Installed) -> None:
    import addon_utils
    import bpy

    if installed.module_name in bpy.context.preferences.addons:
        addon_utils.disable(installed.module_name, default_set=True)
    repos = bpy.context.preferences.extensions.repos
    for repo in list(repos):
        if repo.module == installed.repo_module:
            repos.remove(repo)
