"""The pass recipe for both compositor APIs: Render Layers' Depth (or Normal) -> File Output, 32-bit
float, single-layer OpenEXR: the only headless readback that works on 4.2, 4.5 and 5.0 (the Viewer node's
image is empty on 4.5 and gone in 5.0, the "Render Result" image has no pixels in background mode,
and a multilayer EXR loads without pixels through `bpy.data.images.load`).

- 4.x: the scene's embedded `scene.node_tree` (after `use_nodes = True`), a Composite node for the
  image output, File Output with `base_path` and a file slot path.
- 5.0: `scene.node_tree` is gone; a `CompositorNodeTree` node group assigned to
  `scene.compositing_node_group`, a Group Output with an Image socket instead of Composite, and File
  Output with `directory`, `file_name`, `file_output_items.new('FLOAT', ...)`; `format.media_type`
  must be set before `file_format`.
Only ever applied to capture's temporary scene (`render_scene.py`).
"""

from __future__ import annotations

import bpy

FILE_PREFIX = "depth_"


def uses_node_groups() -> bool:
    """True on Blender 5.0+, whose compositor is a node group on the scene."""
    return bpy.app.version >= (5, 0, 0)


# pass -> (the view layer flag that makes Render Layers offer it, channels, 5.0 File Output socket type)
PASSES = {"Depth": ("use_pass_z", 1, "FLOAT"), "Normal": ("use_pass_normal", 3, "VECTOR")}


def install_pass_output(scene, directory: str, pass_name: str = "Depth") -> None:
    """Route the render's `pass_name` (Depth: planar Z; Normal: world-space normals, Cycles) to 32-bit
    EXR files in `directory` (one per frame)."""
    flag = PASSES[pass_name][0]
    for view_layer in scene.view_layers:
        setattr(view_layer, flag, True)  # the Render Layers node has no such socket without it
    if uses_node_groups():
        _install_5x(scene, directory, pass_name)
    else:
        _install_4x(scene, directory, pass_name)
    scene.render.use_compositing = True


def _exr_32(fmt, channels: int = 1) -> None:
    if hasattr(fmt, "media_type"):
        fmt.media_type = "IMAGE"
    fmt.file_format = "OPEN_EXR"
    fmt.color_depth = "32"
    fmt.exr_codec = "ZIP"
    if channels == 3:
        fmt.color_mode = "RGB"
        return
    try:
        fmt.color_mode = "BW"  # one channel; the readback takes channel 0 either way
    except TypeError:
        # 4.2 lists BW among the enum's static items but refuses it for OpenEXR (its items
        # depend on the format: only RGB/RGBA), so asking the RNA enum is not enough.
        fmt.color_mode = "RGB"


def _install_4x(scene, directory, pass_name) -> None:
    scene.use_nodes = True
    tree = scene.node_tree
    tree.nodes.clear()
    rl = tree.nodes.new("CompositorNodeRLayers")
    rl.scene = scene
    comp = tree.nodes.new("CompositorNodeComposite")
    tree.links.new(rl.outputs["Image"], comp.inputs["Image"])
    out = tree.nodes.new("CompositorNodeOutputFile")
    out.base_path = directory
    _exr_32(out.format, PASSES[pass_name][1])
    out.file_slots[0].path = FILE_PREFIX
    tree.links.new(rl.outputs[pass_name], out.inputs[0])


def _install_5x(scene, directory, pass_name) -> None:
    tree = bpy.data.node_groups.new("ltx_capture_compositor", "CompositorNodeTree")
    tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
    scene.compositing_node_group = tree
    rl = tree.nodes.new("CompositorNodeRLayers")
    rl.scene = scene
    group_out = tree.nodes.new("NodeGroupOutput")
    tree.links.new(rl.outputs["Image"], group_out.inputs[0])
    out = tree.nodes.new("CompositorNodeOutputFile")
    out.directory = directory
    out.file_name = FILE_PREFIX
    _exr_32(out.format, PASSES[pass_name][1])
    out.file_output_items.new(PASSES[pass_name][2], pass_name)
    tree.links.new(rl.outputs[pass_name], out.inputs[pass_name])


def remove_pass_output(scene) -> None:
    """Drop the node group capture created (5.0); the 4.x tree goes with its temporary scene."""
    if uses_node_groups():
        tree = scene.compositing_node_group
        scene.compositing_node_group = None
        if tree is not None and tree.name.startswith("ltx_capture_compositor") and tree.users == 0:
            bpy.data.node_groups.remove(tree)
