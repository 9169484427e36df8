"""The panel lists the connected backend's IC-LoRAs (from /v1/models, recorded by Check Backend on the
main thread) instead of a fixed list of kinds, the built-in ones before any backend answered; picking
one sets the scene pass capture makes and the IC-LoRA the spec names."""

from __future__ import annotations

import json

import pytest

from .panel_recorder import draw_all

pytestmark = pytest.mark.bpy_compat

MODELS = {  # what /v1/models says for a bundle with a studio IC-LoRA on the render pass
    "control_kinds": ["depth", "tracks", "blockout"],
    "ic_loras": {
        "depth": {"pass": "depth", "reference_downscale_factor": 2, "size_multiple": 128},
        "tracks": {"pass": "tracks", "reference_downscale_factor": 2, "size_multiple": 128},
        "blockout": {
            "pass": "render",
            "description": "our blockout look",
            "reference_downscale_factor": 1,
            "size_multiple": 64,
        },
    },
}


@pytest.fixture
def panel(fresh_scene):
    import bpy

    state = bpy.context.window_manager.ltx_scene_job
    state.backend_rules = ""
    props = fresh_scene.ltx_scene
    props.control_kind = "depth"
    props.size_preset = "CUSTOM"
    props.width, props.height = 704, 448
    fresh_scene.frame_start, fresh_scene.frame_end = 1, 9
    yield fresh_scene, props, state
    state.backend_rules = ""
    props.ic_lora = "depth"


def _offered(installed_addon, props):
    import bpy

    items = installed_addon.module("properties")._ic_lora_items(props, bpy.context)
    return [(identifier, name) for identifier, name, _, _ in items]


def test_builtin_ic_loras_before_any_backend(panel, installed_addon):
    _, props, _ = panel
    assert _offered(installed_addon, props) == [
        ("depth", "Depth"),
        ("pose", "Pose"),
        ("tracks", "Motion Tracks"),
        ("canny", "Canny Edges"),
    ]


def test_the_backends_ic_loras_are_listed_and_choosing_one_sets_the_pass(panel, installed_addon):
    import bpy

    scene, props, state = panel
    http = installed_addon.module("client.http")
    state.backend_rules = json.dumps(http.size_rules(MODELS))  # what Check Backend records
    assert _offered(installed_addon, props) == [
        ("depth", "Depth"),
        ("tracks", "Motion Tracks"),
        ("blockout", "blockout (Render)"),
    ]
    props.control_kind = "blockout"
    assert props.ic_lora == "blockout" and props.control_kind == "blockout"
    settings = installed_addon.module("settings")
    capture, plan = settings.plan_for(props, scene)
    assert capture.kind == "render" and capture.render_engine == "SCENE"
    assert capture.reference_downscale_factor == 1  # the blockout IC-LoRA's own factor
    assert (plan.width, plan.height) == (704, 448)  # multiple 64
    props.prompt = "a castle at dusk"
    snap = settings.snapshot(bpy.context)
    assert (snap.spec["ic_lora"], snap.spec["control_kind"]) == ("blockout", "render")
    assert snap.parameters()["ic_lora"] == "blockout"
    drawn, _, labels = draw_all(installed_addon, bpy.context)
    assert "render_engine" in drawn and "depth_engine" not in drawn
    assert "Captures the render pass" in labels


def test_mask_pass_needs_objects(panel, installed_addon):
    scene, props, state = panel
    http = installed_addon.module("client.http")
    models = {"ic_loras": {"matte": {"pass": "mask", "reference_downscale_factor": 2, "size_multiple": 128}}}
    state.backend_rules = json.dumps(http.size_rules(models))
    props.control_kind = "matte"
    props.mask_source = "NONE"
    errors = installed_addon.module("shared.errors")
    with pytest.raises(errors.UserError, match="follows the mask pass"):
        installed_addon.module("settings").plan_for(props, scene)
