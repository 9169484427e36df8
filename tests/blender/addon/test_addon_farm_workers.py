"""The Backend panel lists a studio farm's workers (`/v1/health`'s `workers`, `ltx-scene serve
--broker`): one line each with host, device, memory tier and busy / idle; a single machine's answer
has no such list and shows no worker line."""

from __future__ import annotations


from .panel_recorder import draw_all
from .test_addon_backend_check import HEALTH, MODELS

WORKERS = [
    {"name": "w1", "host": "box3", "gpu": "cuda:0 (NVIDIA L40S)", "memory_tier": "resident", "state": "busy",
     "job": "20260101-120000-0a1b2c3d", "model": "ltx-2.3", "model_hash": "ab" * 32, "serves_this_model": True},
    {"name": "w2", "host": "box4", "gpu": "cuda:1 (NVIDIA L40S)", "memory_tier": "streamed", "state": "idle",
     "job": None, "model": "ltx-2.3", "model_hash": "ab" * 32, "serves_this_model": True},
    {"name": "old", "host": "box5", "gpu": "cuda:0", "memory_tier": None, "state": "loading",
     "job": None, "model": "ltx-2", "model_hash": "cd" * 32, "serves_this_model": False},
]  # fmt: skip
FARM_HEALTH = dict(HEALTH, device="Celery workers (studio farm)", memory=None, workers=WORKERS)


def test_one_line_per_worker_and_none_for_a_single_machine():
    from blender_addon.client.backend_status import status_of, workers_of

    assert workers_of(FARM_HEALTH) == (
        "w1 on box3: cuda:0 (NVIDIA L40S), resident, busy (20260101-120000-0a1b2c3d)",
        "w2 on box4: cuda:1 (NVIDIA L40S), streamed, idle",
        "old on box5: cuda:0, loading, another model",
    )
    assert status_of(FARM_HEALTH, MODELS).workers == workers_of(FARM_HEALTH)
    assert status_of(HEALTH, MODELS).workers == ()  # one machine: no list
    assert workers_of(dict(HEALTH, workers=[])) == (
        "farm: no worker is running; jobs wait in the queue until one starts",
    )


def test_check_backend_lists_the_farms_workers_in_the_backend_panel(backend_state, installed_addon, monkeypatch):
    import bpy

    http = installed_addon.module("client.http")
    answer = {"health": FARM_HEALTH}
    monkeypatch.setattr(http.BackendClient, "health", lambda self: answer["health"])
    monkeypatch.setattr(http.BackendClient, "models", lambda self: MODELS)

    assert bpy.ops.ltx_scene.check_backend() == {"FINISHED"}
    _, _, labels = draw_all(installed_addon, bpy.context)
    text = " ".join(labels)
    assert "w1 on box3: cuda:0 (NVIDIA L40S), resident, busy" in text and "w2 on box4" in text

    answer["health"] = HEALTH  # the same add-on against one machine: no worker lines
    assert bpy.ops.ltx_scene.check_backend() == {"FINISHED"}
    _, _, labels = draw_all(installed_addon, bpy.context)
    assert "box3" not in " ".join(labels) and backend_state.backend_workers == ""
