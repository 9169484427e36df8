"""The add-on's user interface: the sidebar panels."""

from __future__ import annotations

import bpy

from . import panel


def register() -> None:
    for cls in panel.CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(panel.CLASSES):
        bpy.utils.unregister_class(cls)
