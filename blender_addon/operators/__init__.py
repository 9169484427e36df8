"""The add-on's operators (`bpy.ops.ltx_scene.*`), one concept per module."""

from __future__ import annotations

import bpy

from . import backend, edit, export, export_training, generate, job, preview, regenerate

CLASSES = (
    generate.CLASSES
    + regenerate.CLASSES
    + preview.CLASSES
    + export.CLASSES
    + export_training.CLASSES
    + backend.CLASSES
    + edit.CLASSES
)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    job.shutdown()
    backend.shutdown()
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
