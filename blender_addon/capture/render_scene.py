"""A temporary scene that shows the user's objects, for the renders capture needs.

Depth, masks and the RGB render are rendered in a scene created for the purpose: it links the user's
collections and objects (no copies), the same camera and world, and carries its own engine, size,
passes and compositor, so the user's render settings, compositor, output path and sequencer are
never changed (nothing to restore, nothing to forget on an error). It is removed afterwards.
With `only` (objects and/or one collection) it links just those, plus the camera: the silhouettes
the masks are made of.

`scene_as_is` is the other way, for the `render` pass in the scene's own look: the user's scene
renders itself, with its engine, samples, world, view transform and compositor; only the size, the
output path and format, the frame range, the sequencer switch and the render border are set for
the capture, and every one of them is put back afterwards (also on an error).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile

import bpy
import numpy as np

from ..shared.errors import UserError

TEMP_SCENE_NAME = "ltx_capture_temp"


def _copy_layer_flags(src_lc, dst_lc) -> None:
    """Carry the view layer's exclude / hide flags over, so hidden collections stay hidden."""
    by_name = {c.name: c for c in src_lc.children}
    for child in dst_lc.children:
        s = by_name.get(child.name)
        if s is None:
            continue
        child.exclude = s.exclude
        child.holdout = s.holdout
        child.indirect_only = s.indirect_only
        child.hide_viewport = s.hide_viewport
        _copy_layer_flags(s, child)


@contextlib.contextmanager
def temporary_scene(src, width: int, height: int, engine: str, only_objects=(), only_collection=None):
    had_result = {img.name for img in bpy.data.images if img.type == "RENDER_RESULT"}
    tmp = bpy.data.scenes.new(TEMP_SCENE_NAME)
    folder = tempfile.mkdtemp(prefix="ltx-capture-")
    try:
        if only_objects or only_collection:
            for name in only_objects:
                ob = src.objects.get(name)
                if ob is None:
                    raise UserError(f"mask_objects: no object named '{name}' in scene '{src.name}'", "mask_objects")
                tmp.collection.objects.link(ob)
            if only_collection:
                coll = bpy.data.collections.get(only_collection)
                if coll is None:
                    raise UserError(f"mask_collection: no collection named '{only_collection}'", "mask_collection")
                tmp.collection.children.link(coll)
            if src.camera.name not in tmp.objects:
                tmp.collection.objects.link(src.camera)
        else:
            for child in src.collection.children:
                tmp.collection.children.link(child)
            for ob in src.collection.objects:
                tmp.collection.objects.link(ob)
            _copy_layer_flags(src.view_layers[0].layer_collection, tmp.view_layers[0].layer_collection)
            tmp.world = src.world
        tmp.camera = src.camera
        r = tmp.render
        r.engine = engine
        r.resolution_x, r.resolution_y = int(width), int(height)
        r.resolution_percentage = 100
        r.pixel_aspect_x = r.pixel_aspect_y = 1.0
        r.use_sequencer = False
        r.use_compositing = False
        r.filepath = os.path.join(folder, "frame_")
        r.image_settings.file_format = "BMP"  # the cheapest image an animation render must write
        r.image_settings.color_mode = "RGB"
        tmp.view_settings.view_transform = "Standard"
        tmp.frame_start, tmp.frame_end = src.frame_start, src.frame_end
        if engine == "CYCLES":
            c = tmp.cycles
            c.device = "CPU"
            c.samples = 1
            c.use_denoising = False
            c.use_adaptive_sampling = False
        elif engine == "BLENDER_WORKBENCH":
            tmp.display.render_aa = "OFF"
        yield tmp, folder
    finally:
        from .compositor import remove_pass_output

        remove_pass_output(tmp)
        bpy.data.scenes.remove(tmp)
        shutil.rmtree(folder, ignore_errors=True)
        # Rendering creates the "Render Result" image; drop it unless the user already had one.
        for img in [i for i in bpy.data.images if i.type == "RENDER_RESULT" and i.name not in had_result]:
            bpy.data.images.remove(img)


# (owner path, attribute) of every render setting scene_as_is sets; restored in reverse order, so the
# file format comes back before its colour mode and depth (valid values depend on the format)
_AS_IS_SETTINGS = (
    ("render", "resolution_x"),
    ("render", "resolution_y"),
    ("render", "resolution_percentage"),
    ("render", "pixel_aspect_x"),
    ("render", "pixel_aspect_y"),
    ("render", "use_border"),
    ("render", "use_crop_to_border"),
    ("render", "use_sequencer"),
    ("render", "filepath"),
    ("render", "use_file_extension"),
    ("render", "use_overwrite"),
    ("render", "use_placeholder"),
    ("render.image_settings", "color_depth"),
    ("render.image_settings", "color_mode"),
    ("render.image_settings", "file_format"),
    ("render.image_settings", "media_type"),
    ("", "frame_start"),
    ("", "frame_end"),
)


def _owner(scene, path: str):
    owner = scene
    for part in filter(None, path.split(".")):
        owner = getattr(owner, part)
    return owner


@contextlib.contextmanager
def user_settings_restored(src, settings, prefix: str):
    """Yields a new temporary folder for a render of the user's scene `src`; afterwards every
    (owner path, attribute) of `settings` the Blender version has gets its value back, in reverse
    order (list a format before the options whose valid values depend on it), then the current frame
    and subframe; any "Render Result" image the render made is removed and the folder deleted."""
    had_result = {img.name for img in bpy.data.images if img.type == "RENDER_RESULT"}
    saved = []
    for path, name in settings:
        owner = _owner(src, path)
        if hasattr(owner, name):
            saved.append((path, name, getattr(owner, name)))
    frame = (src.frame_current, src.frame_subframe)
    folder = tempfile.mkdtemp(prefix=prefix)
    try:
        yield folder
    finally:
        for path, name, value in reversed(saved):
            try:
                setattr(_owner(src, path), name, value)
            except (TypeError, ValueError, AttributeError):  # a value the restored format refuses: keep going
                pass
        if (src.frame_current, src.frame_subframe) != frame:
            src.frame_set(frame[0], subframe=frame[1])
        shutil.rmtree(folder, ignore_errors=True)
        for img in [i for i in bpy.data.images if i.type == "RENDER_RESULT" and i.name not in had_result]:
            bpy.data.images.remove(img)


@contextlib.contextmanager
def scene_as_is(src, width: int, height: int):
    """The user's scene itself, set up to render `width x height` 8-bit BMP frames into a temporary
    folder; yields (scene, folder) like `temporary_scene` and restores every setting it changed."""
    with user_settings_restored(src, _AS_IS_SETTINGS, "ltx-capture-") as folder:
        r = src.render
        r.resolution_x, r.resolution_y = int(width), int(height)
        r.resolution_percentage = 100
        r.pixel_aspect_x = r.pixel_aspect_y = 1.0
        r.use_border = False
        r.use_sequencer = False
        r.filepath = os.path.join(folder, "frame_")
        r.use_file_extension = True
        r.use_overwrite = True
        r.use_placeholder = False
        fmt = r.image_settings
        if hasattr(fmt, "media_type"):
            fmt.media_type = "IMAGE"
        fmt.file_format = "BMP"
        fmt.color_mode = "RGB"
        yield src, folder


def render_frame(tmp, frame: int) -> None:
    """Render one frame of the temporary scene; its File Output node and `render.filepath` receive
    the result.

    A still render of a scene other than the window's renders the *window scene's* frame (measured
    on 4.5 and 5.0), so each frame is rendered as a one-frame animation, which takes its frame from
    the arguments and leaves the user's current frame alone.
    """
    tmp.frame_start = tmp.frame_end = frame  # 4.5's operator has no frame_start/frame_end
    bpy.ops.render.render(animation=True, scene=tmp.name)


def take_single_file(folder: str, pattern: str) -> str:
    files = sorted(glob.glob(os.path.join(folder, pattern)))
    if len(files) != 1:
        raise RuntimeError(f"capture: expected one rendered file in {folder}, found {files}")
    return files[0]


def read_image_pixels(path: str) -> np.ndarray:
    """(H, W, 4) float32, top row first, via `bpy.data.images.load` (works headless everywhere)."""
    img = bpy.data.images.load(path, check_existing=False)
    try:
        w, h = img.size
        buf = np.empty(w * h * 4, dtype=np.float32)
        img.pixels.foreach_get(buf)
    finally:
        bpy.data.images.remove(img)
    return buf.reshape(h, w, 4)[::-1]
