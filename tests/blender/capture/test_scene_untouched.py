"""Capture leaves the user's scene as it was: render settings, passes, compositor, output path,
current frame, sequencer, data-blocks."""

from __future__ import annotations

import bpy
import pytest

from blender_addon.capture import CaptureSettings, capture_package, plan_capture
from tools.scenes.demo import build_demo_scene


def _snapshot(scene):
    r, vl = scene.render, scene.view_layers[0]
    snap = {
        "engine": r.engine,
        "res": (r.resolution_x, r.resolution_y, r.resolution_percentage),
        "filepath": r.filepath,
        "format": (r.image_settings.file_format, r.image_settings.color_mode),
        "use_sequencer": r.use_sequencer,
        "use_compositing": r.use_compositing,
        "pixel_aspect": (r.pixel_aspect_x, r.pixel_aspect_y),
        "fps": (r.fps, r.fps_base),
        "frame": (scene.frame_current, scene.frame_start, scene.frame_end),
        "camera": scene.camera.name,
        "world": scene.world.name if scene.world else None,
        "pass_z": vl.use_pass_z,
        "view_transform": scene.view_settings.view_transform,
        "cycles": (scene.cycles.samples, scene.cycles.max_bounces, scene.cycles.use_denoising, scene.cycles.device),
        "display_aa": scene.display.render_aa,
        "scenes": sorted(s.name for s in bpy.data.scenes),
        "node_groups": sorted(g.name for g in bpy.data.node_groups),
        "images": sorted(i.name for i in bpy.data.images),
        "objects": sorted(o.name for o in bpy.data.objects),
        "collections": sorted(c.name for c in bpy.data.collections),
        "users": {o.name: o.users for o in bpy.data.objects},
        "matrices": {o.name: tuple(map(tuple, o.matrix_world)) for o in scene.objects},
    }
    if bpy.app.version >= (5, 0, 0):
        g = scene.compositing_node_group
        snap["compositor"] = (g.name, sorted(n.bl_idname for n in g.nodes)) if g else None
    else:
        snap["compositor"] = (
            scene.use_nodes,
            sorted(n.bl_idname for n in scene.node_tree.nodes) if scene.node_tree else None,
        )
    return snap


def _user_settings(scene):
    """Settings a user might have that capture must not disturb."""
    r = scene.render
    r.engine = "CYCLES"
    scene.cycles.samples = 77
    scene.cycles.max_bounces = 5
    r.resolution_percentage = 50
    r.filepath = "//my_renders/shot_"
    r.image_settings.file_format = "JPEG"
    scene.view_settings.view_transform = "AgX"
    scene.display.render_aa = "16"
    scene.view_layers[0].use_pass_z = False
    scene.frame_set(7)
    world = bpy.data.worlds.new("UserWorld")
    scene.world = world
    if bpy.app.version >= (5, 0, 0):
        g = bpy.data.node_groups.new("UserComp", "CompositorNodeTree")
        g.nodes.new("CompositorNodeRLayers")
        scene.compositing_node_group = g
    else:
        scene.use_nodes = True
        scene.node_tree.nodes.new("CompositorNodeBlur")
    ed = scene.sequence_editor_create()
    r.use_sequencer = True
    return ed


@pytest.mark.bpy_compat
def test_user_scene_unchanged_after_every_kind(empty_scene, monkeypatch):
    scene = build_demo_scene(frames=9, width=128, height=64)
    _user_settings(scene)
    before = _snapshot(scene)
    kinds = [
        CaptureSettings(kind="depth", mask_objects=("Armature_Body",), first_frame=True, width=128, height=64),
        CaptureSettings(kind="canny", width=128, height=64, rgb_engine="CYCLES", rgb_samples=1),
        CaptureSettings(kind="pose", width=128, height=64),
        CaptureSettings(kind="tracks", track_targets=("Ball",), width=128, height=64),
    ]
    for settings in kinds:
        pkg = capture_package(scene, settings)
        assert pkg.frame_count == 9
        assert _snapshot(scene) == before, settings.kind
    assert pkg.source["scene"] == scene.name


@pytest.mark.bpy_compat
def test_scene_unchanged_when_capture_fails(empty_scene, monkeypatch):
    scene = build_demo_scene(frames=9, width=128, height=64)
    _user_settings(scene)
    before = _snapshot(scene)
    from blender_addon.shared.errors import UserError

    with pytest.raises(UserError):
        capture_package(scene, CaptureSettings(kind="depth", mask_objects=("NoSuchObject",)))
    assert _snapshot(scene) == before


def test_plan_reports_snapping_before_anything_runs(empty_scene):
    scene = build_demo_scene(frames=120, width=1000, height=560)
    before = _snapshot(scene)
    plan = plan_capture(scene, CaptureSettings(kind="pose"))
    assert (plan.width, plan.height, plan.frame_count) == (1024, 576, 121)
    assert "120 frames snapped to 121 (8k+1): frames 1-121" in plan.notes
    assert _snapshot(scene) == before
