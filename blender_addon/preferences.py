"""The add-on preferences: where the backend is, its token, how to start a local one.

`bl_idname = __package__` of the add-on: `bl_ext.<repo>.ltx_scene_control` when installed as an
extension, `blender_addon` when a script registers the repository's package directly. `get()` gives
the preferences, or None when the add-on was registered without the add-on system (then settings
fall back to the defaults below).
"""

from __future__ import annotations

import bpy
from bpy.props import FloatProperty, StringProperty
from bpy.types import AddonPreferences

ADDON_PACKAGE = __package__
DEFAULT_URL = "http://127.0.0.1:8765"


class LTXScenePreferences(AddonPreferences):
    bl_idname = ADDON_PACKAGE

    backend_url: StringProperty(
        name="Backend URL",
        default=DEFAULT_URL,
        description="The LTX Scene backend (`ltx-scene serve`); loopback by default",
    )
    token: StringProperty(
        name="Token",
        subtype="PASSWORD",
        default="",
        description="The server's token (<data-dir>/token). Empty: read the default token file "
        "of a backend on this machine",
    )
    start_command: StringProperty(
        name="Start Command",
        default="",
        description="Optional command that starts a local backend, e.g. "
        "'ltx-scene serve --model ~/ltx/bundle.json --port 8765'",
    )
    output_dir: StringProperty(
        name="Output Folder",
        subtype="DIR_PATH",
        default="",
        description="Where generated videos and controls go. Empty: '//ltx_scene/' beside the "
        ".blend file, or the extension's user folder for unsaved files",
    )
    connect_timeout: FloatProperty(name="Connect Timeout (s)", default=3.0, min=0.5, max=60.0)
    read_timeout: FloatProperty(name="Read Timeout (s)", default=30.0, min=1.0, max=600.0)

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "backend_url")
        layout.prop(self, "token")
        row = layout.row(align=True)
        row.prop(self, "start_command")
        row.operator("ltx_scene.start_backend", text="", icon="PLAY")
        layout.prop(self, "output_dir")
        row = layout.row()
        row.prop(self, "connect_timeout")
        row.prop(self, "read_timeout")
        layout.operator("ltx_scene.check_backend", icon="URL")


def get(context=None):
    """The add-on's preferences, or None when it was not enabled through the add-on system."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_PACKAGE)
    return addon.preferences if addon is not None else None


CLASSES = (LTXScenePreferences,)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
