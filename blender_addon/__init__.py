"""LTX Scene Control: drive LTX-2 IC-LoRA video generation from the Blender scene.

The Blender extension (`blender_manifest.toml`; installed, this package is
`bl_ext.<repo>.ltx_scene_control`). This file only registers and unregisters. The sub-modules are
imported inside `register()` so that importing the package, e.g. for `blender_addon.client` (which
must run without bpy) or `blender_addon.shared`, never pulls in bpy.
"""

from __future__ import annotations

_MODULES = ("properties", "preferences", "operators", "ui")


def _modules():
    import importlib

    return [importlib.import_module(f".{name}", __package__) for name in _MODULES]


def register() -> None:
    done = []
    try:
        for module in _modules():
            module.register()
            done.append(module)
    except Exception:
        for module in reversed(done):  # leave Blender as it was
            try:
                module.unregister()
            except Exception:
                pass
        raise


def unregister() -> None:
    for module in reversed(_modules()):
        module.unregister()
