"""The depth compositor recipe for the running Blender (4.x scene.node_tree / 5.0 node group)."""

from __future__ import annotations

import bpy
import pytest

from blender_addon.capture.compositor import install_pass_output, uses_node_groups
from blender_addon.capture.render_scene import TEMP_SCENE_NAME, temporary_scene
from tools.scenes.basic import build_plane_scene


@pytest.mark.bpy_compat
def test_recipe_matches_the_running_version_and_leaves_nothing_behind(empty_scene, tmp_path):
    scene = build_plane_scene(4.0, 64, 32)
    groups_before = set(bpy.data.node_groups.keys())
    with temporary_scene(scene, 64, 32, "CYCLES") as (tmp, folder):
        install_pass_output(tmp, str(tmp_path))
        assert tmp.render.use_compositing and not tmp.render.use_sequencer
        if bpy.app.version >= (5, 0, 0):
            assert uses_node_groups()
            tree = tmp.compositing_node_group
            out = next(n for n in tree.nodes if n.bl_idname == "CompositorNodeOutputFile")
            assert out.directory == str(tmp_path) and out.format.media_type == "IMAGE"
            assert [i.name for i in out.file_output_items] == ["Depth"]
            assert any(n.bl_idname == "NodeGroupOutput" for n in tree.nodes)
        else:
            assert not uses_node_groups() and tmp.use_nodes
            tree = tmp.node_tree
            out = next(n for n in tree.nodes if n.bl_idname == "CompositorNodeOutputFile")
            assert out.base_path == str(tmp_path)
            assert any(n.bl_idname == "CompositorNodeComposite" for n in tree.nodes)
        assert (out.format.file_format, out.format.color_depth) == ("OPEN_EXR", "32")
        link = next(lk for lk in tree.links if lk.to_node == out)
        assert link.from_socket.name == "Depth"
        assert tmp.name in bpy.data.scenes and scene.camera.name in tmp.objects
    assert TEMP_SCENE_NAME not in bpy.data.scenes
    assert set(bpy.data.node_groups.keys()) == groups_before
    assert [s.name for s in bpy.data.scenes] == [scene.name]
