"""The folder an export operator writes to: chosen in Blender's file browser, default under output_root."""

from __future__ import annotations

import os

import bpy

from .. import settings as settings_mod


def browse_for_folder(operator, context, sub: str) -> set[str]:
    """Open the file browser on `operator.directory`, which starts at <output root>/<sub>/ when unset."""
    if not operator.directory:
        operator.directory = os.path.join(settings_mod.output_root(context), sub, "")
    context.window_manager.fileselect_add(operator)
    return {"RUNNING_MODAL"}


def chosen_folder(operator, context, sub: str) -> str:
    """The absolute folder chosen (`//` is relative to the .blend), else <output root>/<sub>."""
    if operator.directory:
        return bpy.path.abspath(operator.directory)
    return os.path.join(settings_mod.output_root(context), sub)
