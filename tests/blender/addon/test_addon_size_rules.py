"""The size rule comes from the backend's /v1/models when known, the panel's factor otherwise."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def scene_704(fresh_scene):
    import bpy

    scene = fresh_scene
    scene.frame_start, scene.frame_end = 1, 17
    props = scene.ltx_scene
    props.control_kind = "depth"
    props.size_preset = "CUSTOM"
    props.width, props.height = 704, 448
    props.snap = True
    props.preview = False
    props.reference_factor = 2
    state = bpy.context.window_manager.ltx_scene_job
    state.backend_rules = ""
    yield scene, props, state
    state.backend_rules = ""


def test_size_rules_from_models_answer(installed_addon):
    http = installed_addon.module("client.http")
    models = {
        "control_kinds": ["depth", "pose"],
        "ic_loras": {
            "depth": {"reference_downscale_factor": 1, "size_multiple": 64},
            "pose": {"reference_downscale_factor": 2, "size_multiple": 128},
        },
    }
    assert http.size_rules(models) == {  # a server before named IC-LoRAs: each name is its own pass
        "depth": {"factor": 1, "multiple": 64, "pass": "depth", "description": ""},
        "pose": {"factor": 2, "multiple": 128, "pass": "pose", "description": ""},
    }
    assert http.size_rules({}) == {}


def test_snapping_uses_manual_factor_without_backend(scene_704, installed_addon):
    scene, props, state = scene_704
    settings = installed_addon.module("settings")
    assert settings.backend_rules() is None
    capture, plan = settings.plan_for(props, scene)
    assert capture.reference_downscale_factor == 2
    assert (plan.width, plan.height) == (768, 512)  # multiple 128
    props.reference_factor = 1
    _, plan = settings.plan_for(props, scene)
    assert (plan.width, plan.height) == (704, 448)  # multiple 64


def test_snapping_uses_backend_multiple_when_known(scene_704, installed_addon):
    scene, props, state = scene_704
    settings = installed_addon.module("settings")
    state.backend_rules = json.dumps({"depth": {"factor": 1, "multiple": 64}})
    capture, plan = settings.plan_for(props, scene)  # the property says 2; the backend wins
    assert capture.reference_downscale_factor == 1
    assert (plan.width, plan.height) == (704, 448)
    state.backend_rules = json.dumps({"depth": {"factor": 2, "multiple": 128}})
    props.reference_factor = 1
    _, plan = settings.plan_for(props, scene)
    assert (plan.width, plan.height) == (768, 512)


def test_unsupported_kind_refused_before_capture(scene_704, installed_addon):

    scene, props, state = scene_704
    settings = installed_addon.module("settings")
    errors = installed_addon.module("shared.errors")
    state.backend_rules = json.dumps({"depth": {"factor": 1, "multiple": 64}, "pose": {"factor": 1, "multiple": 64}})
    with pytest.raises(TypeError, match="canny"):  # the dropdown offers only the backend's IC-LoRAs
        props.control_kind = "canny"
    props.ic_lora = "canny"  # e.g. a .blend saved against another backend
    assert props.control_kind == "canny"  # still shown (marked), not silently swapped
    with pytest.raises(errors.UserError) as info:
        settings.plan_for(props, scene)
    assert str(info.value) == (
        "IC-LoRA 'canny': the backend's model bundle has no IC-LoRA of that name "
        "(it offers: depth (depth), pose (pose)); pick one of those or serve a bundle that has it"
    )
    assert info.value.field == "control_kind"


def test_async_check_records_the_rules_then_calls_back(scene_704, installed_addon, monkeypatch):
    """The UI path of Generate: the backend is asked on a worker thread; the add-on's one timer
    keeps ticking until the answer is in, then records the rules and calls back on the main thread.
    Timers never fire headless, so the ticks are driven by hand."""
    import threading

    import bpy

    scene, props, state = scene_704
    backend_ops = installed_addon.module("operators.backend")
    main_thread = installed_addon.module("operators.main_thread")
    status_mod = installed_addon.module("client.backend_status")
    settings = installed_addon.module("settings")
    release = threading.Event()
    rules = {"depth": {"factor": 1, "multiple": 64}}

    def slow_ask(_backend):
        release.wait(30)
        return status_mod.BackendStatus(True, "cpu, version test", rules)

    monkeypatch.setattr(status_mod, "ask", slow_ask)
    called = []
    task = backend_ops.refresh_rules_async(
        settings.backend_settings(bpy.context), then=lambda ok, line: called.append((ok, line))
    )
    assert main_thread.tick() == main_thread.TICK_S  # no answer yet: keep ticking
    assert called == [] and state.backend_rules == ""
    release.set()
    task.worker.join(30)
    assert main_thread.tick() is None  # answered: the timer ends
    assert called == [(True, "cpu, version test")]
    assert json.loads(state.backend_rules) == rules
    capture, _ = settings.plan_for(props, scene)
    assert capture.reference_downscale_factor == 1  # the backend's rule is in use
