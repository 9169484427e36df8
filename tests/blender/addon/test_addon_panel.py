"""The N-panel draws every control the issue asks for, and Cancel + progress while a job runs.

Background Blender has no windows to draw into, so each panel's `draw` runs against a layout that
records the calls (the panel code itself is the real one, with the real scene properties).
"""

from __future__ import annotations

import pytest

from .panel_recorder import draw_all


pytestmark = pytest.mark.bpy_compat  # also run under bpy 4.2 and 4.5 LTS (panel drawing API)


def test_panel_draws_the_controls(fresh_scene, installed_addon):
    import bpy

    scene = fresh_scene
    scene.frame_start, scene.frame_end = 1, 20
    state = bpy.context.window_manager.ltx_scene_job
    state.status, state.error = "idle", "no LTX Scene backend is running at http://127.0.0.1:1"
    props, ops, labels = draw_all(installed_addon, bpy.context)
    assert {
        "control_kind",
        "prompt",
        "seed",
        "size_preset",
        "attention_strength",
        "mask_source",
        "first_frame_source",
        "ic_lora_strength",
        "conditioning_strength",
    } <= props
    assert {
        "ltx_scene.generate",
        "ltx_scene.preview_controls",
        "ltx_scene.export_controls",
        "ltx_scene.export_training",
        "ltx_scene.check_backend",
        "ltx_scene.fix_frame_range",
    } <= ops
    assert "ltx_scene.cancel" not in ops
    assert any(t.startswith("Frames 1-20 at 24 fps") for t in labels), labels
    assert "Generates 17 frames at 768x512" in labels
    text = " ".join(labels)
    assert "no LTX Scene backend is running" in text  # the last error shows in the panel
    state.error = ""


def test_panel_while_running_shows_progress_and_cancel(fresh_scene, installed_addon):
    import bpy

    state = bpy.context.window_manager.ltx_scene_job
    state.status, state.message, state.progress = "running", "stage1 3/8", 0.4
    try:
        _, ops, labels = draw_all(installed_addon, bpy.context)
    finally:
        state.status, state.message, state.progress = "idle", "", 0.0
    assert "ltx_scene.cancel" in ops and "ltx_scene.generate" not in ops
    assert "running: stage1 3/8" in labels
