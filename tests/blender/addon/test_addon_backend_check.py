"""Check Backend: what the panel shows from /v1/health and /v1/models (the memory summary
included), and the threaded path, one worker and the add-on's one timer. Timers never fire in
background mode, so the tests drive `main_thread.tick()` by hand."""

from __future__ import annotations

import dataclasses
import threading


from .panel_recorder import draw_all

SUMMARY = "24 GB: 31 of 48 blocks resident, about 20.6 GB peak"
HEALTH = {
    "status": "ok",
    "device": "cuda:0",
    "version": "0.1.0",
    "memory": {"tier": "stream-blocks", "summary": SUMMARY, "peak_device_bytes": 22_119_000_000},
}
MODELS = {
    "control_kinds": ["depth", "pose"],
    "ic_loras": {
        "depth": {"reference_downscale_factor": 2, "size_multiple": 128},
        "pose": {"reference_downscale_factor": 2, "size_multiple": 128},
    },
}


def test_status_of_a_health_answer_with_and_without_memory():
    from blender_addon.client.backend_status import BackendStatus, status_of

    rules = {
        "depth": {"factor": 2, "multiple": 128, "pass": "depth", "description": ""},
        "pose": {"factor": 2, "multiple": 128, "pass": "pose", "description": ""},
    }
    assert status_of(HEALTH, MODELS) == BackendStatus(
        True, "cuda:0, version 0.1.0, controls: depth, pose", rules, SUMMARY
    )
    assert status_of(dict(HEALTH, memory=None), MODELS).memory == ""  # not known yet
    old_server = {k: v for k, v in HEALTH.items() if k != "memory"}
    assert status_of(old_server, MODELS).memory == ""
    assert status_of(dict(HEALTH, memory="24 GB"), MODELS).memory.startswith(
        "memory: the backend's answer is not understood"
    )


def test_check_backend_puts_the_memory_summary_in_the_panel(backend_state, installed_addon, monkeypatch):
    import bpy

    http = installed_addon.module("client.http")
    answer = {"health": HEALTH}
    monkeypatch.setattr(http.BackendClient, "health", lambda self: answer["health"])
    monkeypatch.setattr(http.BackendClient, "models", lambda self: MODELS)

    assert bpy.ops.ltx_scene.check_backend() == {"FINISHED"}  # inline: background mode
    assert backend_state.backend_ok is True
    assert backend_state.backend_memory == SUMMARY
    _, _, labels = draw_all(installed_addon, bpy.context)
    assert SUMMARY in " ".join(labels)

    answer["health"] = dict(HEALTH, memory=None)  # e.g. the models are still loading
    assert bpy.ops.ltx_scene.check_backend() == {"FINISHED"}
    assert backend_state.backend_memory == ""
    _, _, labels = draw_all(installed_addon, bpy.context)
    assert "blocks resident" not in " ".join(labels)


def _gated_ask(installed_addon, monkeypatch):
    """Replace the network question by one that answers when its URL's gate opens."""
    status_mod = installed_addon.module("client.backend_status")
    gates, asked = {}, []

    def ask(backend):
        asked.append(backend.url)
        gates.setdefault(backend.url, threading.Event()).wait(30)
        return status_mod.BackendStatus(True, f"answer from {backend.url}", None, f"memory of {backend.url}")

    monkeypatch.setattr(status_mod, "ask", ask)
    return gates, asked


def test_two_quick_clicks_share_one_question_and_one_answer(backend_state, installed_addon, monkeypatch):
    import bpy

    ops = installed_addon.module("operators.backend")
    main_thread = installed_addon.module("operators.main_thread")
    gates, asked = _gated_ask(installed_addon, monkeypatch)
    backend = installed_addon.module("settings").backend_settings(bpy.context)
    gates[backend.url] = threading.Event()
    called = []

    first = ops.refresh_rules_async(backend, then=lambda ok, line: called.append(("first", ok, line)))
    second = ops.refresh_rules_async(backend, then=lambda ok, line: called.append(("second", ok, line)))
    assert second is first and main_thread.running(first)
    assert bpy.app.timers.is_registered(main_thread.tick)
    assert main_thread.tick() == main_thread.TICK_S  # no answer yet: keep ticking
    assert called == [] and backend_state.backend_status == "not checked"

    gates[backend.url].set()
    first.worker.join(30)
    assert main_thread.tick() is None  # answered, nothing left to follow
    line = f"answer from {backend.url}"
    assert asked == [backend.url]  # the backend was asked once
    assert called == [("first", True, line), ("second", True, line)]
    assert (backend_state.backend_ok, backend_state.backend_status) == (True, line)
    assert backend_state.backend_memory == f"memory of {backend.url}"


def test_a_check_with_new_settings_replaces_the_one_in_flight(backend_state, installed_addon, monkeypatch):
    import bpy

    ops = installed_addon.module("operators.backend")
    main_thread = installed_addon.module("operators.main_thread")
    gates, asked = _gated_ask(installed_addon, monkeypatch)
    old = installed_addon.module("settings").backend_settings(bpy.context)
    new = dataclasses.replace(old, url="http://127.0.0.1:9")
    gates[old.url], gates[new.url] = threading.Event(), threading.Event()
    called = []

    stale = ops.refresh_rules_async(old, then=lambda ok, line: called.append(line))
    fresh = ops.refresh_rules_async(new)
    assert fresh is not stale

    gates[new.url].set()
    fresh.worker.join(30)
    main_thread.tick()
    assert backend_state.backend_status == f"answer from {new.url}"
    assert called == [f"answer from {new.url}"]  # the waiting Generate gets the new answer

    gates[old.url].set()
    stale.worker.join(30)
    assert main_thread.tick() is None
    assert sorted(asked) == sorted([old.url, new.url])
    assert backend_state.backend_status == f"answer from {new.url}"  # the stale answer is dropped
    assert called == [f"answer from {new.url}"]
