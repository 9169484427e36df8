"""End to end: keyframe looks from two timeline markers, rendered with the scene's own engine,
sent by the installed add-on to the real `ltx-scene serve` (tiny bundle, loopback) and recorded
in the job's spec and sidecar at the job frames the markers map to.

The server and the installed add-on are test_addon_generate.py's fixtures (the same scene: 17
frames, 128x128, motion tracks); the run is a Quick Preview (stage 1 only: keyframes condition
stage 1 like the stock pipeline, the tiny model's output is noise)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import requests

from tests.e2e.test_addon_generate import FRAMES, _ltx_strips, _prefs, addon, build_scene, server  # noqa: F401

pytestmark = pytest.mark.slow


def test_two_markers_reach_the_server_and_the_sidecar(server, addon, tmp_path):  # noqa: F811
    import bpy

    url, token = server
    _prefs(addon, url, token, tmp_path / "results")
    scene = build_scene()  # frames 1-17
    scene.render.engine = "CYCLES"  # the artist's look: Cycles at 1 sample, an orange world
    scene.cycles.samples, scene.cycles.device = 1, "CPU"
    scene.render.resolution_x = scene.render.resolution_y = 300
    scene.timeline_markers.new("Dawn", frame=2)
    scene.timeline_markers.new("Dusk", frame=10)
    scene.timeline_markers.new("Next shot", frame=40)
    props = scene.ltx_scene
    props.keyframe_source = "MARKERS"
    props.keyframe_strength = 0.9
    props.preview = True

    assert bpy.ops.ltx_scene.generate() == {"FINISHED"}
    state = bpy.context.window_manager.ltx_scene_job
    assert state.status == "succeeded", state.error

    movie = [s for s in _ltx_strips(scene, addon.module("vse")) if s.type == "MOVIE"][0]
    params = addon.module("vse").parameters_of(movie)
    assert params["spec"]["keyframes"] == [{"frame": 1, "strength": 0.9}, {"frame": 9, "strength": 0.9}]
    assert [(k["scene_frame"], k["label"]) for k in params["keyframes"]] == [(2, "Dawn"), (10, "Dusk")]
    images = [Path(k["image"]) for k in params["keyframes"]]
    assert [p.name for p in images] == ["keyframe_0002.png", "keyframe_0010.png"]
    assert all(p.parent == Path(params["video"]).parent for p in images)

    # the server ran the job with both keyframes, and its sidecar names them by frame and hash
    job = requests.get(
        f"{url}/v1/jobs/{params['job_id']}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).json()
    assert job["spec"]["keyframes"] == params["spec"]["keyframes"]
    sidecar_text = Path(params["sidecar"]).read_text()
    record = json.loads(sidecar_text)["control"]["keyframes"]
    assert [(k["frame"], k["strength"]) for k in record] == [(1, 0.9), (9, 0.9)]
    assert [k["image_sha256"] for k in record] == [hashlib.sha256(p.read_bytes()).hexdigest() for p in images]
    assert all(k["pixels_shape"] == [128, 128, 3] and k["conditioning"].startswith("keyframe index") for k in record)
    assert "/inputs/" not in sidecar_text and "keyframe_0" not in json.dumps(record)  # no server paths

    # the user's scene is as it was: its engine, size and output untouched by the look renders
    assert scene.render.engine == "CYCLES" and scene.render.resolution_x == 300
    assert (scene.frame_start, scene.frame_end) == (1, FRAMES)
